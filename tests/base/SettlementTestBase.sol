// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {ISignatureTransfer} from "permit2/src/interfaces/ISignatureTransfer.sol";

import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";
import {ITestToken} from "../mocks/ITestToken.sol";
import {SmartWallet} from "../mocks/SmartWallet.sol";

/// @notice Shared fixture for every X402Settlement test: a real Permit2 compiled from source, a plain
/// ERC20, the settlement contract, funded actors, and helpers that sign Permit2 witness permits and
/// spending policies exactly as an off-chain client would.
/// @dev The EIP-712 hashing here is written out independently of `PaymentTermsHash`, so a mistake in
/// the contract's hashing makes signatures fail instead of passing silently. Helper names are stable:
/// other suites (invariant, adversarial) build on them.
abstract contract SettlementTestBase is Test {
    // ---------------------------------------------------------------- EIP-712 types, as a client spells them

    bytes32 internal constant TOKEN_PERMISSIONS_TYPEHASH =
        keccak256("TokenPermissions(address token,uint256 amount)");

    bytes32 internal constant PAYMENT_TERMS_TYPEHASH = keccak256(
        "PaymentTerms(address payer,address payee,address facilitator,bytes32 requestHash,uint16 maxFacilitatorFeeBps,uint48 validAfter,uint8 mode,uint48 authorizationExpiry,uint48 refundExpiry)"
    );

    bytes32 internal constant PERMIT_WITNESS_TRANSFER_TYPEHASH = keccak256(
        "PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,PaymentTerms witness)PaymentTerms(address payer,address payee,address facilitator,bytes32 requestHash,uint16 maxFacilitatorFeeBps,uint48 validAfter,uint8 mode,uint48 authorizationExpiry,uint48 refundExpiry)TokenPermissions(address token,uint256 amount)"
    );

    bytes32 internal constant SET_SPENDING_POLICY_TYPEHASH = keccak256(
        "SetSpendingPolicy(address payer,address token,uint128 maxPerPayment,uint128 maxPerPeriod,uint32 period,uint32 loosenDelay,uint256 nonce,uint256 deadline)"
    );

    bytes32 internal constant EIP712_DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    // Permit2 errors (its sources pin 0.8.17, so they are not imported).
    bytes4 internal constant PERMIT2_INVALID_SIGNER = bytes4(keccak256("InvalidSigner()"));
    bytes4 internal constant PERMIT2_INVALID_NONCE = bytes4(keccak256("InvalidNonce()"));
    bytes4 internal constant PERMIT2_SIGNATURE_EXPIRED = bytes4(keccak256("SignatureExpired(uint256)"));
    bytes4 internal constant PERMIT2_INVALID_CONTRACT_SIGNATURE =
        bytes4(keccak256("InvalidContractSignature()"));

    uint8 internal constant MODE_EXACT = uint8(IX402Settlement.PaymentMode.Exact);
    uint8 internal constant MODE_UPTO = uint8(IX402Settlement.PaymentMode.Upto);
    uint8 internal constant MODE_ESCROW = uint8(IX402Settlement.PaymentMode.Escrow);

    /// @dev Default amounts, in units of a 6-decimal stablecoin.
    uint256 internal constant PAYER_BALANCE = 1_000_000e6;
    uint256 internal constant AMOUNT = 10e6;
    uint16 internal constant MAX_FEE_BPS = 500;
    uint16 internal constant FEE_BPS = 100;
    uint48 internal constant AUTHORIZATION_PERIOD = 1 days;
    uint48 internal constant REFUND_PERIOD = 7 days;
    uint256 internal constant PERMIT_LIFETIME = 1 hours;
    /// @dev Per-item gas cap the tests' batches use (an EOA or simple-wallet item needs about 60k).
    uint32 internal constant ITEM_GAS = 300_000;
    bytes32 internal constant REQUEST_HASH = keccak256("inference request");
    bytes32 internal constant EVIDENCE_HASH = keccak256("inference evidence");

    // ---------------------------------------------------------------- fixture

    ISignatureTransfer internal permit2;
    ITestToken internal token;
    IX402Settlement internal settlement;

    address internal owner;
    address internal facilitator;
    address internal payee;
    address internal treasury;
    address internal payer;
    uint256 internal payerKey;

    /// @dev Next Permit2 nonce `nextNonce()` hands out.
    uint256 internal nonceCounter;

    function setUp() public virtual {
        vm.warp(1_750_000_000);
        owner = makeAddr("owner");
        facilitator = makeAddr("facilitator");
        payee = makeAddr("payee");
        treasury = makeAddr("treasury");
        (payer, payerKey) = makeAddrAndKey("payer");

        permit2 = ISignatureTransfer(deployCode("Permit2.sol:Permit2"));
        vm.label(address(permit2), "Permit2");
        token = deployTestToken("Test USD", "TUSD", 6);
        vm.label(address(token), "TUSD");
        settlement = deploySettlement();
        vm.label(address(settlement), "X402Settlement");

        fundPayer(payer, PAYER_BALANCE);
    }

    /// @notice Deploys a fresh settlement contract on the shared Permit2, owned by `owner`.
    /// @dev From its build artifact: tests talk to it through `IX402Settlement` and never import the
    /// implementation, so only the contract itself compiles under its via-IR profile (foundry.toml).
    function deploySettlement() internal returns (IX402Settlement) {
        return deploySettlement(permit2, owner);
    }

    /// @notice Deploys a settlement contract on `permit2_`, owned by `owner_`, from its build artifact.
    function deploySettlement(ISignatureTransfer permit2_, address owner_) internal returns (IX402Settlement) {
        return IX402Settlement(deployCode("X402Settlement.sol:X402Settlement", abi.encode(permit2_, owner_)));
    }

    /// @notice Deploys a `TestToken` (open mint) from its build artifact; see `ITestToken`.
    function deployTestToken(string memory name, string memory symbol, uint8 decimals)
        internal
        returns (ITestToken)
    {
        return ITestToken(deployCode("TestToken.sol:TestToken", abi.encode(name, symbol, decimals)));
    }

    /// @notice Mints `amount` test tokens to `who` and approves Permit2 for everything, as a wallet
    /// does once before its first Permit2 payment.
    function fundPayer(address who, uint256 amount) internal {
        token.mint(who, amount);
        vm.prank(who);
        token.approve(address(permit2), type(uint256).max);
    }

    /// @notice Deploys an EIP-1271 wallet controlled by `walletOwner` (fund it with `fundPayer`).
    function deploySmartWallet(address walletOwner) internal returns (address) {
        return address(new SmartWallet(walletOwner));
    }

    /// @notice A fresh Permit2 nonce (sequential, so consecutive payments share a bitmap word).
    function nextNonce() internal returns (uint256) {
        return nonceCounter++;
    }

    // ---------------------------------------------------------------- building payments

    /// @notice Default witness for `mode`, paid by the default payer: payee, facilitator, request hash,
    /// max fee 5%, valid now; escrow expiries are set only for mode Escrow.
    function defaultTerms(uint8 mode) internal view returns (IX402Settlement.PaymentTerms memory terms) {
        return defaultTerms(payer, mode);
    }

    /// @notice Default witness for `mode`, paid by `termsPayer`.
    function defaultTerms(address termsPayer, uint8 mode)
        internal
        view
        returns (IX402Settlement.PaymentTerms memory terms)
    {
        terms = IX402Settlement.PaymentTerms({
            payer: termsPayer,
            payee: payee,
            facilitator: facilitator,
            requestHash: REQUEST_HASH,
            maxFacilitatorFeeBps: MAX_FEE_BPS,
            validAfter: 0,
            mode: mode,
            authorizationExpiry: 0,
            refundExpiry: 0
        });
        if (mode == MODE_ESCROW) {
            terms.authorizationExpiry = uint48(block.timestamp) + AUTHORIZATION_PERIOD;
            terms.refundExpiry = uint48(block.timestamp) + REFUND_PERIOD;
        }
    }

    /// @notice Permit for `amount` of the test token with `nonce`, expiring in an hour.
    function defaultPermit(uint256 amount, uint256 nonce)
        internal
        view
        returns (ISignatureTransfer.PermitTransferFrom memory)
    {
        return ISignatureTransfer.PermitTransferFrom({
            permitted: ISignatureTransfer.TokenPermissions({token: address(token), amount: amount}),
            nonce: nonce,
            deadline: block.timestamp + PERMIT_LIFETIME
        });
    }

    /// @notice The default payer's signed payment of `amount` in `mode`, for `settlement`, with a fresh nonce.
    function makePayment(uint256 amount, uint8 mode) internal returns (IX402Settlement.SignedPayment memory) {
        return makePayment(payerKey, defaultPermit(amount, nextNonce()), defaultTerms(mode));
    }

    /// @notice A payment signed by `key` over `permit` and `terms` (which name the payer), for `settlement`.
    function makePayment(
        uint256 key,
        ISignatureTransfer.PermitTransferFrom memory permit,
        IX402Settlement.PaymentTerms memory terms
    ) internal view returns (IX402Settlement.SignedPayment memory) {
        return IX402Settlement.SignedPayment({
            permit: permit,
            terms: terms,
            signature: signPermitWitness(key, permit, address(settlement), terms)
        });
    }

    /// @notice A copy of `payment` with the same permit and signature whose witness names `otherPayer`:
    /// what a facilitator would submit to charge another account with one signature.
    function redirected(IX402Settlement.SignedPayment memory payment, address otherPayer)
        internal
        pure
        returns (IX402Settlement.SignedPayment memory copy)
    {
        IX402Settlement.PaymentTerms memory terms = payment.terms;
        copy = IX402Settlement.SignedPayment({
            permit: payment.permit,
            terms: IX402Settlement.PaymentTerms({
                payer: otherPayer,
                payee: terms.payee,
                facilitator: terms.facilitator,
                requestHash: terms.requestHash,
                maxFacilitatorFeeBps: terms.maxFacilitatorFeeBps,
                validAfter: terms.validAfter,
                mode: terms.mode,
                authorizationExpiry: terms.authorizationExpiry,
                refundExpiry: terms.refundExpiry
            }),
            signature: payment.signature
        });
    }

    /// @notice A batch item settling `payment` for `amount` with the default fee and evidence.
    function makeBatchItem(IX402Settlement.SignedPayment memory payment, uint256 amount)
        internal
        pure
        returns (IX402Settlement.BatchItem memory)
    {
        return IX402Settlement.BatchItem({
            payment: payment, amount: amount, facilitatorFeeBps: FEE_BPS, evidenceHash: EVIDENCE_HASH
        });
    }

    // ---------------------------------------------------------------- signing

    /// @notice EIP-712 struct hash of a witness, computed independently of the contract's library.
    function hashTerms(IX402Settlement.PaymentTerms memory terms) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                PAYMENT_TERMS_TYPEHASH,
                terms.payer,
                terms.payee,
                terms.facilitator,
                terms.requestHash,
                terms.maxFacilitatorFeeBps,
                terms.validAfter,
                terms.mode,
                terms.authorizationExpiry,
                terms.refundExpiry
            )
        );
    }

    /// @notice The digest a payer signs: Permit2's `PermitWitnessTransferFrom` under Permit2's domain.
    function permitWitnessDigest(
        ISignatureTransfer.PermitTransferFrom memory permit,
        address spender,
        IX402Settlement.PaymentTerms memory terms
    ) internal view returns (bytes32) {
        bytes32 tokenPermissions = keccak256(
            abi.encode(TOKEN_PERMISSIONS_TYPEHASH, permit.permitted.token, permit.permitted.amount)
        );
        bytes32 structHash = keccak256(
            abi.encode(
                PERMIT_WITNESS_TRANSFER_TYPEHASH,
                tokenPermissions,
                spender,
                permit.nonce,
                permit.deadline,
                hashTerms(terms)
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", permit2.DOMAIN_SEPARATOR(), structHash));
    }

    /// @notice `key`'s 65-byte signature (r, s, v) over the permit and witness for `spender`.
    function signPermitWitness(
        uint256 key,
        ISignatureTransfer.PermitTransferFrom memory permit,
        address spender,
        IX402Settlement.PaymentTerms memory terms
    ) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, permitWitnessDigest(permit, spender, terms));
        return abi.encodePacked(r, s, v);
    }

    /// @notice The settlement contract's EIP-712 domain separator, computed independently.
    function settlementDomainSeparator(address target) internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                EIP712_DOMAIN_TYPEHASH, keccak256("X402Settlement"), keccak256("1"), block.chainid, target
            )
        );
    }

    /// @notice The digest a payer signs for `setSpendingPolicyBySig` on `settlement`.
    function policyDigest(
        address policyPayer,
        address policyToken,
        IX402Settlement.SpendingPolicy memory policy,
        uint256 nonce,
        uint256 deadline
    ) internal view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                SET_SPENDING_POLICY_TYPEHASH,
                policyPayer,
                policyToken,
                policy.maxPerPayment,
                policy.maxPerPeriod,
                policy.period,
                policy.loosenDelay,
                nonce,
                deadline
            )
        );
        return
            keccak256(
                abi.encodePacked("\x19\x01", settlementDomainSeparator(address(settlement)), structHash)
            );
    }

    /// @notice `key`'s signature over a spending policy for `settlement`.
    function signPolicy(
        uint256 key,
        address policyToken,
        IX402Settlement.SpendingPolicy memory policy,
        uint256 nonce,
        uint256 deadline
    ) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, policyDigest(vm.addr(key), policyToken, policy, nonce, deadline));
        return abi.encodePacked(r, s, v);
    }

    // ---------------------------------------------------------------- ids, fees, evidence

    /// @notice Payment id, computed independently: keccak256(abi.encode(chainid, settlement, payer, nonce)).
    function paymentIdFor(address target, address paymentPayer, uint256 nonce)
        internal
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(block.chainid, target, paymentPayer, nonce));
    }

    /// @notice Evidence leaf, computed independently.
    function leafFor(bytes32 paymentId, bytes32 evidenceHash) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(paymentId, evidenceHash))));
    }

    /// @notice Sorted-pair hash, as OpenZeppelin's MerkleProof.
    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    /// @notice Builds the evidence root and the proof of `index` the way the contract documents it
    /// (pairs left to right, odd last node carried up unchanged).
    function merkleRootAndProof(bytes32[] memory leaves, uint256 index)
        internal
        pure
        returns (bytes32 root, bytes32[] memory proof)
    {
        uint256 count = leaves.length;
        bytes32[] memory level = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            level[i] = leaves[i];
        }
        bytes32[] memory siblings = new bytes32[](256);
        uint256 depth;
        while (count > 1) {
            uint256 sibling = index ^ 1;
            if (sibling < count) siblings[depth++] = level[sibling];
            uint256 next = (count + 1) / 2;
            for (uint256 i; i < next; ++i) {
                level[i] = 2 * i + 1 < count ? hashPair(level[2 * i], level[2 * i + 1]) : level[2 * i];
            }
            count = next;
            index >>= 1;
        }
        root = level[0];
        proof = new bytes32[](depth);
        for (uint256 i; i < depth; ++i) {
            proof[i] = siblings[i];
        }
    }

    /// @notice Gross amount split into facilitator fee (rounded down) and protocol fee (rounded up).
    function feesOf(uint256 amount, uint16 facilitatorFeeBps, uint16 protocolFeeBps)
        internal
        pure
        returns (uint256 facilitatorFee, uint256 protocolFee)
    {
        facilitatorFee = amount * facilitatorFeeBps / 10_000;
        protocolFee = (amount * protocolFeeBps + 9_999) / 10_000;
    }

    // ---------------------------------------------------------------- common actions

    /// @notice Has the facilitator charge `payment` for `amount` with `FEE_BPS` and `EVIDENCE_HASH`.
    function chargeAsFacilitator(IX402Settlement.SignedPayment memory payment, uint256 amount)
        internal
        returns (bytes32)
    {
        vm.prank(facilitator);
        return settlement.charge(payment, amount, FEE_BPS, EVIDENCE_HASH);
    }

    /// @notice Authorizes a default escrow of `amount` from the default payer; returns what later
    /// calls pass to name it.
    function authorizeEscrow(uint256 amount) internal returns (IX402Settlement.EscrowRef memory ref) {
        IX402Settlement.SignedPayment memory payment = makePayment(amount, MODE_ESCROW);
        vm.prank(facilitator);
        settlement.authorize(payment);
        ref = escrowRefOf(payment);
    }

    /// @notice The `EscrowRef` of a signed escrow payment: its permit and witness.
    function escrowRefOf(IX402Settlement.SignedPayment memory payment)
        internal
        pure
        returns (IX402Settlement.EscrowRef memory)
    {
        return IX402Settlement.EscrowRef({permit: payment.permit, terms: payment.terms});
    }

    /// @notice The payment id of an escrow, computed independently.
    function idOf(IX402Settlement.EscrowRef memory ref) internal view returns (bytes32) {
        return paymentIdFor(address(settlement), ref.terms.payer, ref.permit.nonce);
    }

    /// @notice The payment id of a signed payment, computed independently.
    function idOf(IX402Settlement.SignedPayment memory payment) internal view returns (bytes32) {
        return paymentIdFor(address(settlement), payment.terms.payer, payment.permit.nonce);
    }

    /// @notice Sets a spending policy without loosening delay for the default payer and token.
    function setPayerPolicy(uint128 maxPerPayment, uint128 maxPerPeriod, uint32 period) internal {
        setPayerPolicy(policyOf(maxPerPayment, maxPerPeriod, period, 0));
    }

    /// @notice Sets `policy` for the default payer and token, by transaction.
    function setPayerPolicy(IX402Settlement.SpendingPolicy memory policy) internal {
        vm.prank(payer);
        settlement.setSpendingPolicy(address(token), policy);
    }

    /// @notice A spending policy value.
    function policyOf(uint128 maxPerPayment, uint128 maxPerPeriod, uint32 period, uint32 loosenDelay)
        internal
        pure
        returns (IX402Settlement.SpendingPolicy memory)
    {
        return IX402Settlement.SpendingPolicy({
            maxPerPayment: maxPerPayment, maxPerPeriod: maxPerPeriod, period: period, loosenDelay: loosenDelay
        });
    }

    /// @notice Sets the protocol fee to `bps` at once: schedules it and waits out the increase delay.
    function setProtocolFeeNow(uint16 bps) internal {
        vm.prank(owner);
        settlement.setProtocolFee(bps);
        (uint16 current,,,) = settlement.protocolFee();
        if (current != bps) vm.warp(block.timestamp + settlement.PROTOCOL_FEE_INCREASE_DELAY());
    }
}
