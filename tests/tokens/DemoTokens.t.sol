// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {DemoOPG} from "../../contracts/tokens/DemoOPG.sol";
import {DemoUSDC} from "../../contracts/tokens/DemoUSDC.sol";

contract DemoTokensTest is Test {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    address internal deployer = makeAddr("deployer");
    DemoOPG internal opg;
    DemoUSDC internal usdc;

    function setUp() public {
        opg = new DemoOPG(deployer);
        usdc = new DemoUSDC(deployer);
    }

    function test_metadata() public view {
        assertEq(opg.name(), "Demo OPG");
        assertEq(opg.symbol(), "OPG");
        assertEq(opg.decimals(), 18);
        assertEq(usdc.name(), "Demo USDC");
        assertEq(usdc.symbol(), "USDC");
        assertEq(usdc.decimals(), 6);
        assertEq(opg.totalSupply(), 0);
    }

    function testFuzz_mint_ownerOnly(address to, uint256 amount, address stranger) public {
        vm.assume(to != address(0) && stranger != deployer);
        vm.prank(deployer);
        usdc.mint(to, amount);
        assertEq(usdc.balanceOf(to), amount);

        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        opg.mint(to, amount);
    }

    function test_permit_eip2612() public {
        (address holder, uint256 key) = makeAddrAndKey("holder");
        address spender = makeAddr("spender");
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 digest = keccak256(
            abi.encodePacked(
                "\x19\x01",
                opg.DOMAIN_SEPARATOR(),
                keccak256(abi.encode(PERMIT_TYPEHASH, holder, spender, 5e18, opg.nonces(holder), deadline))
            )
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        opg.permit(holder, spender, 5e18, deadline, v, r, s);
        assertEq(opg.allowance(holder, spender), 5e18);
        assertEq(opg.nonces(holder), 1);
    }
}
