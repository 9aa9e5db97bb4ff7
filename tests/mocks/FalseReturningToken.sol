// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Hand-written ERC20 whose `transfer` and `transferFrom` can misbehave without reverting,
/// like tokens that predate the convention of reverting on failure (and worse):
/// - `Normal`: moves the tokens and returns true;
/// - `ReturnFalse`: moves nothing and returns false;
/// - `ReturnTrueWithoutTransfer`: moves nothing and claims success.
/// Approvals, balances and minting always behave, so the token can be set up first and switched later.
contract FalseReturningToken {
    enum Behavior {
        Normal,
        ReturnFalse,
        ReturnTrueWithoutTransfer
    }

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    string public constant name = "False Returning";
    string public constant symbol = "FALSE";
    uint8 public constant decimals = 18;

    Behavior public behavior;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    /// @notice Switches how transfers behave from now on.
    function setBehavior(Behavior behavior_) external {
        behavior = behavior_;
    }

    /// @notice Anyone may mint (test token).
    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        if (behavior != Behavior.Normal) return behavior == Behavior.ReturnTrueWithoutTransfer;
        _move(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        if (behavior != Behavior.Normal) return behavior == Behavior.ReturnTrueWithoutTransfer;
        uint256 allowed = allowance[from][msg.sender];
        // Insufficient allowance or balance also answer false instead of reverting.
        if (allowed < amount || balanceOf[from] < amount) return false;
        if (allowed != type(uint256).max) allowance[from][msg.sender] = allowed - amount;
        _move(from, to, amount);
        return true;
    }

    function _move(address from, address to, uint256 amount) private {
        require(balanceOf[from] >= amount, "balance");
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}
