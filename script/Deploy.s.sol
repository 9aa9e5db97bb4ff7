// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Deploys x402-settle and writes what the off-chain services need to `deployments/<chainId>.json`.
///
///   forge script script/Deploy.s.sol --rpc-url $RPC_URL --broadcast --private-key $DEPLOYER_KEY
///   (or script/deploy-local.sh, which wraps exactly that for a local anvil)
///
/// On chain 31337 (anvil) it deploys Permit2 from source, the two demo tokens (Demo OPG, and USDC:
/// Circle's FiatToken v2.2 from the npm artifacts, see FiatTokenDeployer.sol; the deployer holds every
/// FiatToken role and mints both), X402Settlement and EcosystemRegistry. On any other chain it deploys
/// only X402Settlement and EcosystemRegistry, against an existing Permit2 and existing tokens.
///
/// Environment (all optional on 31337):
///   OWNER            owner of X402Settlement and EcosystemRegistry (default: the deployer)
///   PERMIT2          Permit2 address on non-local chains (default: the canonical
///                    0x000000000022D473030F116dDEE9F6B43aC78BA3)
///   PAYMENT_TOKENS   comma-separated ERC-20 addresses accepted for payment; required on
///                    non-local chains
///   DEPLOYMENTS_FILE where to write the JSON (default: deployments/<chainId>.json)
///
/// The JSON is written only under `--broadcast` (a dry run prints it instead). Its shape, which the
/// Rust indexer (crates reading deployments/) parses, is:
///
///   {
///     "chainId": 31337,                    // number
///     "deployer": "0x…",                   // EIP-55 address that sent the deployment transactions
///     "owner": "0x…",                      // owner of settlement and registry
///     "deployBlock": 0,                    // number: block.number when the script started; every
///                                          //   contract above was created in this block or later, so
///                                          //   the indexer backfills from here
///     "permit2": "0x…",
///     "settlement": "0x…",                 // X402Settlement
///     "registry": "0x…",                   // EcosystemRegistry
///     "tokens": [                          // payment tokens, in PAYMENT_TOKENS order (local: OPG, USDC)
///       { "address": "0x…", "symbol": "OPG", "decimals": 18, "stablecoin": false }
///                                          //   stablecoin: the token answers currency() = "USD"
///                                          //   (Circle's FiatToken), priced at par by the API
///     ],
///     "abi": {                             // ABI files (JSON arrays), relative to the repository root:
///                                          //   the committed bindings/abi/ copies, which `node script/abi.js
///                                          //   check` keeps equal to forge's artifacts (whose own file names
///                                          //   vary with the compiler profiles a build used)
///       "settlement": "bindings/abi/X402Settlement.json",
///       "registry": "bindings/abi/EcosystemRegistry.json",
///       "permit2": "bindings/abi/Permit2.json",
///       "token": "bindings/abi/IERC20.json"
///     }
///   }
///
/// Object keys come out sorted alphabetically (forge's JSON writer); readers must not rely on order.

import {Script, console} from "forge-std/Script.sol";
import {VmSafe} from "forge-std/Vm.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

import {EcosystemRegistry} from "../contracts/EcosystemRegistry.sol";
import {DemoOPG} from "../contracts/tokens/DemoOPG.sol";
import {FiatTokenDeployer, IFiatTokenV2_2} from "./FiatTokenDeployer.sol";

contract Deploy is Script, FiatTokenDeployer {
    /// Permit2's address on every public chain.
    address internal constant CANONICAL_PERMIT2 = 0x000000000022D473030F116dDEE9F6B43aC78BA3;
    uint256 internal constant LOCAL_CHAIN_ID = 31337;

    // Forge artifacts the off-chain services load ABIs from (checked to exist before writing).
    string internal constant SETTLEMENT_ARTIFACT = "bindings/abi/X402Settlement.json";
    string internal constant REGISTRY_ARTIFACT = "bindings/abi/EcosystemRegistry.json";
    string internal constant PERMIT2_ARTIFACT = "bindings/abi/Permit2.json";
    string internal constant TOKEN_ARTIFACT = "bindings/abi/IERC20.json";

    /// @notice Everything one deployment produced; `run` returns it so tests can check it.
    struct Deployment {
        uint256 chainId;
        address deployer;
        address owner;
        uint256 deployBlock;
        address permit2;
        address settlement;
        address registry;
        address[] tokens;
    }

    /// @notice Deploys (see the file header) and writes the deployments JSON under `--broadcast`.
    /// @return d The addresses and block of this deployment.
    function run() external returns (Deployment memory d) {
        d.chainId = block.chainid;
        bool local = d.chainId == LOCAL_CHAIN_ID;
        // Read before broadcasting so a misconfiguration fails before anything is sent.
        address[] memory configuredTokens = local ? new address[](0) : _configuredTokens();

        vm.startBroadcast();
        (, d.deployer,) = vm.readCallers();
        d.owner = _envAddress("OWNER", d.deployer);
        require(d.owner != address(0), "OWNER must not be the zero address");
        // The simulation runs on top of the latest block; the first transaction lands in a later one.
        d.deployBlock = block.number;

        if (local) {
            d.permit2 = _create(vm.getCode("Permit2.sol:Permit2"));
            d.tokens = new address[](2);
            // Owned by the deployer, who funds the demo wallets.
            d.tokens[0] = address(new DemoOPG(d.deployer));
            // Circle's FiatToken v2.2, as USDC on Base: EIP-3009, EIP-2612, blocklisting. The deployer
            // holds every role and is its minter (it funds the demo wallets by minting).
            d.tokens[1] = _deployFiatToken(d.deployer);
            IFiatTokenV2_2(d.tokens[1]).configureMinter(d.deployer, type(uint256).max);
        } else {
            d.permit2 = _envAddress("PERMIT2", CANONICAL_PERMIT2);
            require(d.permit2.code.length > 0, string.concat("PERMIT2 ", vm.toString(d.permit2), " has no code"));
            d.tokens = configuredTokens;
        }

        d.settlement =
            _create(abi.encodePacked(vm.getCode("X402Settlement.sol:X402Settlement"), abi.encode(d.permit2, d.owner)));
        d.registry = address(new EcosystemRegistry(d.owner));
        vm.stopBroadcast();

        string memory json = _toJson(d);
        if (vm.isContext(VmSafe.ForgeContext.ScriptBroadcast) || vm.isContext(VmSafe.ForgeContext.ScriptResume)) {
            string memory path = vm.envOr("DEPLOYMENTS_FILE", string.concat("deployments/", vm.toString(d.chainId), ".json"));
            vm.writeJson(json, path);
            console.log("wrote", path);
        } else {
            console.log("dry run (no --broadcast): deployments file not written; it would be:");
            console.log(json);
        }
    }

    /// @dev PAYMENT_TOKENS, each checked to be a contract answering `symbol()` and `decimals()`.
    function _configuredTokens() internal view returns (address[] memory tokens) {
        string[] memory entries = vm.split(vm.trim(vm.envOr("PAYMENT_TOKENS", string(""))), ",");
        // An unset or empty PAYMENT_TOKENS splits into one empty entry.
        uint256 count = entries.length == 1 && bytes(vm.trim(entries[0])).length == 0 ? 0 : entries.length;
        tokens = new address[](count);
        for (uint256 i; i < count; ++i) {
            tokens[i] = _parseAddress("PAYMENT_TOKENS entry", vm.trim(entries[i]));
        }
        require(
            tokens.length > 0,
            string.concat(
                "PAYMENT_TOKENS is required on chain ",
                vm.toString(block.chainid),
                ": set it to the comma-separated addresses of the accepted ERC-20 tokens"
            )
        );
        for (uint256 i; i < tokens.length; ++i) {
            require(
                tokens[i].code.length > 0,
                string.concat("PAYMENT_TOKENS entry ", vm.toString(tokens[i]), " has no code on this chain")
            );
        }
    }

    /// @dev An address from the environment; unset or empty means `fallback_`.
    function _envAddress(string memory name, address fallback_) internal view returns (address) {
        string memory value = vm.trim(vm.envOr(name, string("")));
        return bytes(value).length == 0 ? fallback_ : _parseAddress(name, value);
    }

    function _parseAddress(string memory what, string memory value) internal pure returns (address) {
        try vm.parseAddress(value) returns (address parsed) {
            return parsed;
        } catch {
            revert(string.concat(what, " \"", value, "\" is not an address (expected 0x followed by 40 hex digits)"));
        }
    }

    /// @dev CREATE from the broadcaster: under `vm.startBroadcast` forge sends this as a deployment
    /// transaction, exactly as it does for `new`.
    function _create(bytes memory initCode) internal returns (address deployed) {
        assembly ("memory-safe") {
            deployed := create(0, add(initCode, 0x20), mload(initCode))
        }
        require(deployed != address(0), "contract creation failed");
    }

    /// @dev Whether the token says it is a USD stablecoin: Circle's FiatToken answers `currency()`
    /// with "USD". The API prices such tokens at par (`"stablecoin": true` in the file); any other
    /// token needs a configured price.
    function _isUsdStablecoin(address token) internal view returns (bool) {
        (bool ok, bytes memory ret) = token.staticcall(abi.encodeWithSignature("currency()"));
        if (!ok || ret.length < 96) return false;
        return keccak256(bytes(abi.decode(ret, (string)))) == keccak256("USD");
    }

    function _toJson(Deployment memory d) internal returns (string memory) {
        string memory tokens = "[";
        for (uint256 i; i < d.tokens.length; ++i) {
            IERC20Metadata token = IERC20Metadata(d.tokens[i]);
            string memory key = string.concat("token", vm.toString(i));
            vm.serializeAddress(key, "address", d.tokens[i]);
            vm.serializeString(key, "symbol", token.symbol());
            vm.serializeBool(key, "stablecoin", _isUsdStablecoin(d.tokens[i]));
            string memory obj = vm.serializeUint(key, "decimals", token.decimals());
            tokens = string.concat(tokens, i == 0 ? "" : ",", obj);
        }
        tokens = string.concat(tokens, "]");

        vm.serializeString("abi", "settlement", _artifact(SETTLEMENT_ARTIFACT));
        vm.serializeString("abi", "registry", _artifact(REGISTRY_ARTIFACT));
        vm.serializeString("abi", "permit2", _artifact(PERMIT2_ARTIFACT));
        string memory abiPaths = vm.serializeString("abi", "token", _artifact(TOKEN_ARTIFACT));

        // forge's serializers keep a string that holds an object as an object but not one that holds
        // an array, so the token array enters through serializeJson and the rest is added to it.
        string memory root = "deployment";
        vm.serializeJson(root, string.concat('{"tokens":', tokens, "}"));
        vm.serializeUint(root, "chainId", d.chainId);
        vm.serializeAddress(root, "deployer", d.deployer);
        vm.serializeAddress(root, "owner", d.owner);
        vm.serializeUint(root, "deployBlock", d.deployBlock);
        vm.serializeAddress(root, "permit2", d.permit2);
        vm.serializeAddress(root, "settlement", d.settlement);
        vm.serializeAddress(root, "registry", d.registry);
        return vm.serializeString(root, "abi", abiPaths);
    }

    function _artifact(string memory path) internal view returns (string memory) {
        require(vm.exists(path), string.concat("ABI file ", path, " is missing: run `node script/abi.js export`"));
        return path;
    }
}
