// SPDX-License-Identifier: MIT
// Makes forge compile Uniswap's Permit2 from source (0.8.17, via-IR) so tests and the
// local deploy script can `deployCode("Permit2.sol:Permit2")`. Our own contracts talk to
// it only through ISignatureTransfer, so 0.8.17 never shares a compilation unit with them.
pragma solidity 0.8.17;

import {Permit2} from "permit2/src/Permit2.sol";
