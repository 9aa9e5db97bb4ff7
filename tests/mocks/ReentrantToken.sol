// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice ERC20 that, once armed, calls an arbitrary target (the settlement contract) in the middle
/// of a `transfer` or `transferFrom`, after balances moved, the way a token with transfer hooks
/// (ERC-777 style) or a malicious token could. The hook fires once per arming.
/// @dev The token records whether the re-entrant call succeeded and its return or revert data. With
/// `bubble` set it reverts with that data instead, failing the outer transfer.
contract ReentrantToken is ERC20 {
    enum Hook {
        None,
        OnTransfer,
        OnTransferFrom
    }

    Hook public hook;
    bool public bubble;
    address public target;
    bytes public callData;

    /// @notice Whether the hook has fired since it was armed.
    bool public fired;
    /// @notice Outcome of the last re-entrant (or `fire`d) call.
    bool public lastCallSucceeded;
    bytes public lastReturnData;

    constructor() ERC20("Reentrant", "REENTER") {}

    /// @notice Anyone may mint (test token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Arms the hook: the next `hook_` transfer calls `target_` with `callData_`.
    function arm(Hook hook_, address target_, bytes calldata callData_, bool bubble_) external {
        (hook, target, callData, bubble, fired) = (hook_, target_, callData_, bubble_, false);
    }

    /// @notice Makes the same call outside any transfer, as a control: shows the call itself is
    /// allowed and only the re-entrancy is refused.
    function fire() external returns (bool) {
        return _call();
    }

    function transfer(address to, uint256 amount) public override returns (bool) {
        bool ok = super.transfer(to, amount);
        if (hook == Hook.OnTransfer) _reenter();
        return ok;
    }

    function transferFrom(address from, address to, uint256 amount) public override returns (bool) {
        bool ok = super.transferFrom(from, to, amount);
        if (hook == Hook.OnTransferFrom) _reenter();
        return ok;
    }

    function _reenter() private {
        hook = Hook.None;
        fired = true;
        bool ok = _call();
        if (!ok && bubble) {
            bytes memory data = lastReturnData;
            assembly ("memory-safe") {
                revert(add(data, 0x20), mload(data))
            }
        }
    }

    function _call() private returns (bool ok) {
        bytes memory data;
        (ok, data) = target.call(callData);
        lastCallSucceeded = ok;
        lastReturnData = data;
    }
}
