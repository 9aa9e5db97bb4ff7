// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IEcosystemRegistry
/// @notice Where the project publishes, transparently and on-chain, which wallets are its own, and
/// where payees declare the wallets they control. Analysts classify payments from these events.
interface IEcosystemRegistry {
    /// @notice What an ecosystem wallet is for. A wallet may hold several roles.
    enum Role {
        Treasury,
        Team,
        Operations,
        Faucet,
        Facilitator,
        Provider,
        MarketMaker,
        Test
    }

    /// @notice The owner labelled `wallet` with `role`.
    event WalletLabeled(address indexed wallet, uint8 indexed role, string note);

    /// @notice The owner removed `role` from `wallet`.
    event WalletUnlabeled(address indexed wallet, uint8 indexed role, string note);

    /// @notice `payee` declared (or, `declared` false, withdrew) that it controls `wallet`.
    event PayeeWalletDeclared(address indexed payee, address indexed wallet, bool declared, string note);

    error ZeroAddress();
    error UnknownRole(uint8 role);
    error AlreadyLabeled(address wallet, uint8 role);
    error NotLabeled(address wallet, uint8 role);
    error LengthMismatch(uint256 wallets, uint256 roles);

    /// @notice Labels `wallet` with `role`. Owner only.
    /// @param wallet The ecosystem wallet.
    /// @param role A `Role`, as uint8.
    /// @param note Free text shown to analysts (e.g. "ops hot wallet #2").
    function label(address wallet, uint8 role, string calldata note) external;

    /// @notice Labels many wallets in one transaction. Owner only.
    function labelMany(address[] calldata wallets, uint8[] calldata roles, string calldata note) external;

    /// @notice Removes `role` from `wallet`. Owner only.
    /// @param note Why the label is removed.
    function unlabel(address wallet, uint8 role, string calldata note) external;

    /// @notice The caller (a payee) declares that it controls `wallet`, or withdraws that declaration.
    function declareWallet(address wallet, bool declared, string calldata note) external;

    /// @notice Whether `wallet` currently holds `role`.
    function hasRole(address wallet, uint8 role) external view returns (bool);

    /// @notice Bitmap of the roles `wallet` holds (bit i = Role i).
    function rolesOf(address wallet) external view returns (uint256);

    /// @notice Whether `payee` currently declares `wallet` as its own.
    function isDeclaredWallet(address payee, address wallet) external view returns (bool);
}
