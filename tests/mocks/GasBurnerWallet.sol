// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice A hostile EIP-1271 payer: it accepts its owner's signatures like `SmartWallet` while the
/// facilitator simulates a batch, then its owner flips `burning` before the batch lands and every
/// signature check burns all the gas it is given.
contract GasBurnerWallet is IERC1271 {
    address public immutable owner;
    bool public burning;

    constructor(address owner_) {
        owner = owner_;
    }

    /// @notice Switches between behaving (simulation) and burning gas (on-chain).
    function setBurning(bool value) external {
        require(msg.sender == owner, "not owner");
        burning = value;
    }

    /// @notice Approves `spender` (Permit2) for `amount` of `token`.
    function approve(IERC20 token, address spender, uint256 amount) external {
        require(msg.sender == owner, "not owner");
        token.approve(spender, amount);
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (burning) {
            assembly {
                for {} 1 {} {}
            }
        }
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(hash, signature);
        if (err == ECDSA.RecoverError.NoError && signer == owner) return IERC1271.isValidSignature.selector;
        return 0xffffffff;
    }
}
