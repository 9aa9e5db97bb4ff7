// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @dev Basis-point denominator shared by the fee and split parts of the settlement contract.
uint256 constant BPS = 10_000;
