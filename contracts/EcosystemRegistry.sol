// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

import {IEcosystemRegistry} from "./interfaces/IEcosystemRegistry.sol";

/// @title EcosystemRegistry
/// @notice The project's public, on-chain list of its own wallets (labelled with roles by the owner)
/// and of the wallets each payee declares it controls. The organic-demand classifier replays the
/// events to know, at every block, which payers are the project itself or the payee's own wallets.
/// @dev Roles are stored as one bitmap per wallet (bit i = `Role(i)`), so a wallet may hold several
/// roles and `rolesOf` answers in one read. Every state change emits exactly one event per
/// (wallet, role) or (payee, wallet) pair, and no-op changes revert, so the event log alone is the
/// complete, unambiguous history. Ownership moves in two steps (OpenZeppelin `Ownable2Step`).
contract EcosystemRegistry is IEcosystemRegistry, Ownable2Step {
    /// @notice A payee asked to set a declaration to the value it already has.
    error DeclarationUnchanged(address payee, address wallet, bool declared);

    /// @notice Number of defined roles; role ids are `0 .. ROLE_COUNT - 1`.
    uint8 public constant ROLE_COUNT = uint8(type(Role).max) + 1;

    mapping(address wallet => uint256 roleBits) private _roles;
    mapping(address payee => mapping(address wallet => bool)) private _declared;

    /// @param initialOwner The account allowed to label wallets (the project's multisig in production).
    constructor(address initialOwner) Ownable(initialOwner) {}

    // ---------------------------------------------------------------- owner: labels

    /// @inheritdoc IEcosystemRegistry
    /// @dev Reverts with `ZeroAddress` for the zero wallet, `UnknownRole` for a role outside `Role`,
    /// and `AlreadyLabeled` when the wallet already holds the role.
    function label(address wallet, uint8 role, string calldata note) external onlyOwner {
        _label(wallet, role, note);
    }

    /// @inheritdoc IEcosystemRegistry
    /// @dev `wallets[i]` gets `roles[i]`; all share `note`. Reverts with `LengthMismatch` when the
    /// arrays differ in length and otherwise exactly as `label` for the first bad pair (the whole
    /// call is undone).
    function labelMany(address[] calldata wallets, uint8[] calldata roles, string calldata note)
        external
        onlyOwner
    {
        if (wallets.length != roles.length) revert LengthMismatch(wallets.length, roles.length);
        for (uint256 i; i < wallets.length; ++i) {
            _label(wallets[i], roles[i], note);
        }
    }

    /// @inheritdoc IEcosystemRegistry
    /// @dev Reverts with `UnknownRole` for a role outside `Role` and `NotLabeled` when the wallet
    /// does not hold the role (including the zero wallet, which never holds one).
    function unlabel(address wallet, uint8 role, string calldata note) external onlyOwner {
        uint256 bit = _roleBit(role);
        uint256 bits = _roles[wallet];
        if (bits & bit == 0) revert NotLabeled(wallet, role);
        _roles[wallet] = bits & ~bit;
        emit WalletUnlabeled(wallet, role, note);
    }

    // ---------------------------------------------------------------- payees: declarations

    /// @inheritdoc IEcosystemRegistry
    /// @dev Anyone may call; the caller is the payee. Reverts with `ZeroAddress` for the zero wallet
    /// and `DeclarationUnchanged` when the declaration already has the requested value.
    function declareWallet(address wallet, bool declared, string calldata note) external {
        if (wallet == address(0)) revert ZeroAddress();
        if (_declared[msg.sender][wallet] == declared) revert DeclarationUnchanged(msg.sender, wallet, declared);
        _declared[msg.sender][wallet] = declared;
        emit PayeeWalletDeclared(msg.sender, wallet, declared, note);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IEcosystemRegistry
    /// @dev Returns false (does not revert) for a role outside `Role`.
    function hasRole(address wallet, uint8 role) external view returns (bool) {
        if (role >= ROLE_COUNT) return false;
        return _roles[wallet] & (uint256(1) << role) != 0;
    }

    /// @inheritdoc IEcosystemRegistry
    function rolesOf(address wallet) external view returns (uint256) {
        return _roles[wallet];
    }

    /// @inheritdoc IEcosystemRegistry
    function isDeclaredWallet(address payee, address wallet) external view returns (bool) {
        return _declared[payee][wallet];
    }

    // ---------------------------------------------------------------- internal

    function _label(address wallet, uint8 role, string calldata note) private {
        if (wallet == address(0)) revert ZeroAddress();
        uint256 bit = _roleBit(role);
        uint256 bits = _roles[wallet];
        if (bits & bit != 0) revert AlreadyLabeled(wallet, role);
        _roles[wallet] = bits | bit;
        emit WalletLabeled(wallet, role, note);
    }

    function _roleBit(uint8 role) private pure returns (uint256) {
        if (role >= ROLE_COUNT) revert UnknownRole(role);
        return uint256(1) << role;
    }
}
