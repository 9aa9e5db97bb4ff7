// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {IX402Settlement} from "../interfaces/IX402Settlement.sol";

/// @title SpendingPolicies
/// @notice Payers' on-chain budgets per token: a per-payment limit and a rolling-period limit, set by
/// the payer's transaction or signature. Every change consumes the payer's policy nonce, so a policy
/// signed earlier can never be submitted after a later change. A tightening applies at once; a
/// loosening waits the `loosenDelay` the policy in force chose, so a leaked agent key cannot lift its
/// own budget at once.
/// @dev A new policy is a tightening when it is no looser in every respect than the policy in force:
/// per-payment limit set and not higher (or the old had none), period limit set with a budget not
/// higher over a period not shorter (or the old had none), and a `loosenDelay` not shorter. Removing a
/// policy is a loosening. Pending loosenings apply lazily: the first settlement or change at or after
/// `effectiveAt` promotes them, and the views already report them.
abstract contract SpendingPolicies is IX402Settlement, EIP712, ReentrancyGuardTransient {
    /// @notice Longest `loosenDelay` a policy may choose.
    uint32 public constant MAX_LOOSEN_DELAY = 30 days;

    /// @notice EIP-712 type hash of a spending policy signed by its payer.
    bytes32 public constant SET_SPENDING_POLICY_TYPEHASH = keccak256(
        "SetSpendingPolicy(address payer,address token,uint128 maxPerPayment,uint128 maxPerPeriod,uint32 period,uint32 loosenDelay,uint256 nonce,uint256 deadline)"
    );

    /// @dev A payer's policy, spending and pending loosening for one token. Slot 0 is zero exactly when
    /// the payer has no policy (a policy with a period limit always has `maxPerPeriod != 0`; a pending
    /// loosening only exists beside a policy in force), so payers without a policy cost one cold SLOAD.
    /// Spending is tracked in fixed buckets of `period` seconds: bucket index `block.timestamp / period`,
    /// the amount spent in that bucket and in the bucket before it.
    struct PolicyState {
        // slot 0
        uint128 maxPerPayment;
        uint128 maxPerPeriod;
        // slot 1
        uint32 period;
        uint32 loosenDelay;
        uint64 bucket;
        uint128 spentInBucket;
        // slot 2
        uint128 spentInPreviousBucket;
        uint48 pendingEffectiveAt;
        uint32 pendingPeriod;
        uint32 pendingLoosenDelay;
        // slot 3
        uint128 pendingMaxPerPayment;
        uint128 pendingMaxPerPeriod;
    }

    /// @notice Next policy nonce of each payer: the nonce a signed policy must carry; every policy
    /// change (transaction or signature) consumes it.
    mapping(address payer => uint256) public policyNonces;

    mapping(address payer => mapping(address token => PolicyState)) private _policies;

    // ---------------------------------------------------------------- setters

    /// @inheritdoc IX402Settlement
    /// @dev See `_setPolicy` for validation and timing.
    function setSpendingPolicy(address token, SpendingPolicy calldata policy) external nonReentrant {
        uint256 nonce = policyNonces[msg.sender]++;
        _setPolicy(msg.sender, token, policy, nonce, false);
    }

    /// @inheritdoc IX402Settlement
    /// @dev Reverts `SignatureExpired` once `block.timestamp > deadline`, `InvalidSignature` when the
    /// signature is not `payer`'s (ECDSA or EIP-1271) over the current nonce.
    function setSpendingPolicyBySig(
        address payer,
        address token,
        SpendingPolicy calldata policy,
        uint256 deadline,
        bytes calldata signature
    ) external nonReentrant {
        if (payer == address(0)) revert ZeroAddress();
        if (block.timestamp > deadline) revert SignatureExpired(deadline);
        uint256 nonce = policyNonces[payer];
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(
                    SET_SPENDING_POLICY_TYPEHASH,
                    payer,
                    token,
                    policy.maxPerPayment,
                    policy.maxPerPeriod,
                    policy.period,
                    policy.loosenDelay,
                    nonce,
                    deadline
                )
            )
        );
        if (!SignatureChecker.isValidSignatureNowCalldata(payer, digest, signature)) {
            revert InvalidSignature();
        }
        policyNonces[payer] = nonce + 1;
        _setPolicy(payer, token, policy, nonce, true);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IX402Settlement
    /// @dev `type(uint256).max` without a policy; otherwise the smaller of `maxPerPayment` (if set) and
    /// what the two-bucket period limit still allows (if set), under the policy in force now (a pending
    /// loosening counts once its time has come).
    function remainingBudget(address payer, address token) external view returns (uint256 remaining) {
        PolicyState storage state = _policies[payer][token];
        (SpendingPolicy memory policy, uint256 spent) = _effective(state);
        remaining = type(uint256).max;
        if (policy.maxPerPayment != 0) remaining = policy.maxPerPayment;
        if (policy.maxPerPeriod != 0) {
            uint256 periodLeft = spent >= policy.maxPerPeriod ? 0 : policy.maxPerPeriod - spent;
            if (periodLeft < remaining) remaining = periodLeft;
        }
    }

    /// @inheritdoc IX402Settlement
    function spendingPolicyOf(address payer, address token)
        external
        view
        returns (SpendingPolicy memory policy)
    {
        (policy,) = _effective(_policies[payer][token]);
    }

    /// @inheritdoc IX402Settlement
    function pendingSpendingPolicyOf(address payer, address token)
        external
        view
        returns (SpendingPolicy memory policy, uint48 effectiveAt)
    {
        PolicyState storage state = _policies[payer][token];
        effectiveAt = state.pendingEffectiveAt;
        if (effectiveAt != 0 && block.timestamp < effectiveAt) policy = _pending(state);
        else effectiveAt = 0;
    }

    // ---------------------------------------------------------------- internals

    /// @dev Charges `amount` to `payer`'s policy for `token`, reverting when it exceeds a limit.
    /// The period limit is enforced over two consecutive fixed buckets of `period` seconds (the current
    /// one and the one before): `spentInPreviousBucket + spentInBucket + amount <= maxPerPeriod`. Any
    /// window of `period` seconds overlaps at most two consecutive buckets, and whenever something is
    /// spent in bucket k the check covers all of bucket k-1 and bucket k so far, so no rolling window
    /// of `period` seconds ever holds more than `maxPerPeriod`. The rule is conservative: spending
    /// early in bucket k-1 still counts until bucket k ends, up to `2 * period` seconds later.
    function _spend(address payer, address token, uint256 amount) internal {
        PolicyState storage state = _policies[payer][token];
        uint256 maxPerPayment = state.maxPerPayment;
        uint256 maxPerPeriod = state.maxPerPeriod;
        if (maxPerPayment == 0 && maxPerPeriod == 0) return;
        uint48 pendingAt = state.pendingEffectiveAt;
        if (pendingAt != 0 && block.timestamp >= pendingAt) {
            _apply(state, _pending(state));
            maxPerPayment = state.maxPerPayment;
            maxPerPeriod = state.maxPerPeriod;
        }
        if (maxPerPayment != 0 && amount > maxPerPayment) {
            revert PerPaymentLimitExceeded(amount, maxPerPayment);
        }
        if (maxPerPeriod == 0) return;

        // forge-lint: disable-next-line(unsafe-typecast) -- timestamps fit in 64 bits
        uint64 bucket = uint64(block.timestamp / state.period);
        bool sameBucket = state.bucket == bucket;
        (uint256 current, uint256 previous) = _bucketSpending(state, bucket);
        uint256 spent = current + previous;
        if (spent + amount > maxPerPeriod) revert PeriodLimitExceeded(amount, spent, maxPerPeriod);
        // Both fit in uint128: they are bounded by maxPerPeriod.
        // forge-lint: disable-next-line(unsafe-typecast)
        state.spentInBucket = uint128(current + amount);
        if (!sameBucket) {
            state.bucket = bucket;
            // forge-lint: disable-next-line(unsafe-typecast)
            state.spentInPreviousBucket = uint128(previous);
        }
    }

    /// @dev Validates a policy and applies it now (tightening, or no delay in force) or schedules it
    /// (loosening). `InvalidPolicy` when exactly one of `maxPerPeriod` and `period` is zero, when
    /// `loosenDelay` exceeds `MAX_LOOSEN_DELAY`, or when a policy without limits has a delay.
    function _setPolicy(
        address payer,
        address token,
        SpendingPolicy calldata policy,
        uint256 nonce,
        bool bySignature
    ) private {
        if (token == address(0)) revert ZeroAddress();
        if ((policy.maxPerPeriod == 0) != (policy.period == 0)) revert InvalidPolicy();
        if (policy.loosenDelay > MAX_LOOSEN_DELAY) revert InvalidPolicy();
        if (policy.maxPerPayment == 0 && policy.maxPerPeriod == 0 && policy.loosenDelay != 0) {
            revert InvalidPolicy();
        }
        PolicyState storage state = _policies[payer][token];
        uint48 pendingAt = state.pendingEffectiveAt;
        if (pendingAt != 0 && block.timestamp >= pendingAt) _apply(state, _pending(state));

        SpendingPolicy memory current = _current(state);
        uint48 effectiveAt = uint48(block.timestamp);
        if (current.loosenDelay == 0 || _isTightening(current, policy)) {
            _apply(state, policy);
        } else {
            effectiveAt += current.loosenDelay;
            state.pendingEffectiveAt = effectiveAt;
            state.pendingPeriod = policy.period;
            state.pendingLoosenDelay = policy.loosenDelay;
            state.pendingMaxPerPayment = policy.maxPerPayment;
            state.pendingMaxPerPeriod = policy.maxPerPeriod;
        }
        emit SpendingPolicySet(payer, token, policy, nonce, bySignature, effectiveAt);
    }

    /// @dev Puts `policy` in force and drops any pending loosening. Spending recorded so far keeps
    /// counting: when the period changes, everything the old buckets still count (current and previous
    /// bucket) is carried into the new current bucket, so a new period never forgets recent spending
    /// (conservatively, it counts for up to two new periods). Without a period limit nothing is tracked.
    function _apply(PolicyState storage state, SpendingPolicy memory policy) private {
        if (policy.maxPerPayment == 0 && policy.maxPerPeriod == 0) {
            delete state.maxPerPayment;
            delete state.maxPerPeriod;
            delete state.period;
            delete state.loosenDelay;
            delete state.bucket;
            delete state.spentInBucket;
            delete state.spentInPreviousBucket;
            _clearPending(state);
            return;
        }
        uint32 oldPeriod = state.period;
        if (oldPeriod != policy.period) {
            uint256 carried;
            if (oldPeriod != 0) {
                // forge-lint: disable-next-line(unsafe-typecast) -- timestamps fit in 64 bits
                (uint256 current, uint256 previous) =
                    _bucketSpending(state, uint64(block.timestamp / oldPeriod));
                carried = current + previous;
            }
            // forge-lint: disable-next-line(unsafe-typecast) -- timestamps fit in 64 bits
            state.bucket = policy.period == 0 ? 0 : uint64(block.timestamp / policy.period);
            // Bounded by the old maxPerPeriod, a uint128.
            // forge-lint: disable-next-line(unsafe-typecast)
            state.spentInBucket = policy.period == 0 ? 0 : uint128(carried);
            state.spentInPreviousBucket = 0;
            state.period = policy.period;
        }
        state.maxPerPayment = policy.maxPerPayment;
        state.maxPerPeriod = policy.maxPerPeriod;
        state.loosenDelay = policy.loosenDelay;
        _clearPending(state);
    }

    /// @dev Drops a pending loosening.
    function _clearPending(PolicyState storage state) private {
        if (state.pendingEffectiveAt == 0) return;
        state.pendingEffectiveAt = 0;
        state.pendingPeriod = 0;
        state.pendingLoosenDelay = 0;
        state.pendingMaxPerPayment = 0;
        state.pendingMaxPerPeriod = 0;
    }

    /// @dev Whether `next` is no looser than `current` in any respect (see the contract's NatSpec).
    function _isTightening(SpendingPolicy memory current, SpendingPolicy calldata next)
        private
        pure
        returns (bool)
    {
        bool currentLimited = current.maxPerPayment != 0 || current.maxPerPeriod != 0;
        if (!currentLimited) return true;
        if (next.loosenDelay < current.loosenDelay) return false;
        if (
            current.maxPerPayment != 0
                && (next.maxPerPayment == 0 || next.maxPerPayment > current.maxPerPayment)
        ) {
            return false;
        }
        if (
            current.maxPerPeriod != 0
                && (next.maxPerPeriod == 0
                    || next.maxPerPeriod > current.maxPerPeriod
                    || next.period < current.period)
        ) return false;
        return true;
    }

    /// @dev The stored policy in force (ignoring a pending loosening).
    function _current(PolicyState storage state) private view returns (SpendingPolicy memory) {
        return SpendingPolicy({
            maxPerPayment: state.maxPerPayment,
            maxPerPeriod: state.maxPerPeriod,
            period: state.period,
            loosenDelay: state.loosenDelay
        });
    }

    /// @dev The stored pending loosening.
    function _pending(PolicyState storage state) private view returns (SpendingPolicy memory) {
        return SpendingPolicy({
            maxPerPayment: state.pendingMaxPerPayment,
            maxPerPeriod: state.pendingMaxPerPeriod,
            period: state.pendingPeriod,
            loosenDelay: state.pendingLoosenDelay
        });
    }

    /// @dev The policy in force now and what its period limit counts as spent now, as `_spend` would
    /// see them (promoting a due pending loosening the way `_apply` does).
    function _effective(PolicyState storage state)
        private
        view
        returns (SpendingPolicy memory policy, uint256 spent)
    {
        policy = _current(state);
        uint32 oldPeriod = policy.period;
        uint256 pendingAt = state.pendingEffectiveAt;
        if (pendingAt != 0 && block.timestamp >= pendingAt) policy = _pending(state);
        if (policy.maxPerPeriod == 0 || oldPeriod == 0) return (policy, 0);
        // forge-lint: disable-next-line(unsafe-typecast) -- timestamps fit in 64 bits
        (uint256 current, uint256 previous) = _bucketSpending(state, uint64(block.timestamp / oldPeriod));
        spent = current + previous;
        if (policy.period == oldPeriod) return (policy, spent);
        // A due pending policy with another period: `_apply` carries `spent` into its current bucket.
    }

    /// @dev Spending in bucket `bucket` and in the bucket before it, from the stored counters.
    function _bucketSpending(PolicyState storage state, uint64 bucket)
        private
        view
        returns (uint256 current, uint256 previous)
    {
        uint64 stored = state.bucket;
        if (stored == bucket) {
            current = state.spentInBucket;
            previous = state.spentInPreviousBucket;
        } else if (stored + 1 == bucket) {
            previous = state.spentInBucket;
        }
    }
}
