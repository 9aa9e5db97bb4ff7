use alloy::primitives::{address, b256, Address, Bytes, LogData, B256, U256};
use alloy::sol_types::{SolError, SolEvent};
use x402_bindings::{EcosystemRegistry, X402Settlement, IERC20};

use super::*;

const SETTLEMENT: Address = address!("0x5FbDB2315678afecb367f032d93F642f64180aa3");
const REGISTRY: Address = address!("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");
const TOKEN: Address = address!("0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0");
const PAYER: Address = address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
const PAYEE: Address = address!("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
const ID: B256 = b256!("0xabababababababababababababababababababababababababababababababab");

fn decoder() -> Decoder {
    Decoder::new(SETTLEMENT, REGISTRY, [TOKEN])
}

fn rpc_log(address: Address, data: LogData, index: u64) -> Log {
    Log {
        inner: alloy::primitives::Log { address, data },
        block_hash: Some(B256::repeat_byte(1)),
        block_number: Some(42),
        block_timestamp: None,
        transaction_hash: Some(B256::repeat_byte(2)),
        transaction_index: Some(0),
        log_index: Some(index),
        removed: false,
    }
}

fn decode_one(address: Address, data: LogData) -> Rows {
    let mut rows = Rows::default();
    decoder().decode(&rpc_log(address, data, 7), 1_700_000_000, &mut rows);
    rows
}

#[test]
fn payment_charged_becomes_a_charge_row() {
    let event = X402Settlement::PaymentCharged {
        paymentId: ID,
        payer: PAYER,
        payee: PAYEE,
        token: TOKEN,
        facilitator: PAYEE,
        nonce: U256::from(77),
        mode: 1,
        amount: U256::from(900),
        maxAmount: U256::from(1000),
        facilitatorFee: U256::from(9),
        protocolFee: U256::from(1),
        requestHash: B256::repeat_byte(3),
        evidenceHash: B256::repeat_byte(4),
        batchId: U256::from(5),
    };
    let rows = decode_one(SETTLEMENT, event.encode_log_data());
    assert_eq!(rows.len(), 1);
    let c = &rows.charges[0];
    assert_eq!(
        (c.meta.block_number, c.meta.log_index, c.meta.block_time),
        (42, 7, 1_700_000_000)
    );
    assert_eq!(
        (c.payer, c.payee, c.mode, c.nonce),
        (PAYER, PAYEE, 1, U256::from(77))
    );
    assert_eq!(
        (c.amount, c.max_amount, c.batch_id),
        (U256::from(900), U256::from(1000), U256::from(5))
    );
    assert_eq!(rows.touched_payment_ids(), vec![ID]);
}

fn u48(v: u64) -> alloy::primitives::aliases::U48 {
    alloy::primitives::aliases::U48::from(v)
}

const FACILITATOR: Address = address!("0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc");

#[test]
fn payment_authorized_reads_the_escrow_ref() {
    let event = X402Settlement::PaymentAuthorized {
        paymentId: ID,
        payer: PAYER,
        payee: PAYEE,
        escrow: x402_bindings::settlement::IX402Settlement::EscrowRef {
            permit: x402_bindings::ISignatureTransfer::PermitTransferFrom {
                permitted: x402_bindings::ISignatureTransfer::TokenPermissions {
                    token: TOKEN,
                    amount: U256::from(1000),
                },
                nonce: U256::from(12345),
                deadline: U256::from(1_750_000_000u64),
            },
            terms: x402_bindings::settlement::IX402Settlement::PaymentTerms {
                payer: PAYER,
                payee: PAYEE,
                facilitator: FACILITATOR,
                requestHash: B256::repeat_byte(3),
                maxFacilitatorFeeBps: 250,
                validAfter: u48(1_600_000_000),
                mode: 2,
                authorizationExpiry: u48(1_800_000_000),
                refundExpiry: u48(1_900_000_000),
            },
        },
        protocolFeeBps: 30,
    };
    let rows = decode_one(SETTLEMENT, event.encode_log_data());
    assert!(rows.skipped_logs.is_empty(), "{:?}", rows.skipped_logs);
    let a = &rows.authorizations[0];
    assert_eq!(
        (a.payer, a.payee, a.token, a.facilitator, a.amount),
        (PAYER, PAYEE, TOKEN, FACILITATOR, U256::from(1000))
    );
    assert_eq!(
        (
            a.max_facilitator_fee_bps,
            a.valid_after,
            a.authorization_expiry,
            a.refund_expiry
        ),
        (250, 1_600_000_000, 1_800_000_000, 1_900_000_000)
    );
    assert_eq!(
        (a.nonce, a.deadline, a.protocol_fee_bps, a.request_hash),
        (
            U256::from(12345),
            U256::from(1_750_000_000u64),
            30,
            B256::repeat_byte(3)
        )
    );
    assert_eq!(rows.touched_escrow_ids(), vec![ID]);
}

#[test]
fn capture_void_and_reclaim_carry_nonce_and_parties() {
    let other = address!("0x90F79bf6EB2c4f870365E785982E1f101E93b906");
    let capture = X402Settlement::PaymentCaptured {
        paymentId: ID,
        payer: PAYER,
        payee: PAYEE,
        token: TOKEN,
        facilitator: FACILITATOR,
        nonce: U256::from(9),
        amount: U256::from(400),
        facilitatorFee: U256::from(4),
        protocolFee: U256::from(1),
        evidenceHash: B256::repeat_byte(5),
    };
    let void = X402Settlement::PaymentVoided {
        paymentId: ID,
        payer: PAYER,
        by: FACILITATOR,
        payee: PAYEE,
        facilitator: FACILITATOR,
        token: TOKEN,
        amount: U256::from(600),
    };
    let reclaim = X402Settlement::PaymentReclaimed {
        paymentId: ID,
        payer: PAYER,
        by: other,
        payee: PAYEE,
        facilitator: FACILITATOR,
        token: TOKEN,
        amount: U256::from(600),
    };
    let mut rows = Rows::default();
    for (i, data) in [
        capture.encode_log_data(),
        void.encode_log_data(),
        reclaim.encode_log_data(),
    ]
    .into_iter()
    .enumerate()
    {
        decoder().decode(&rpc_log(SETTLEMENT, data, i as u64), 1, &mut rows);
    }
    assert!(rows.skipped_logs.is_empty(), "{:?}", rows.skipped_logs);
    let c = &rows.captures[0];
    assert_eq!(
        (c.nonce, c.amount, c.facilitator, c.evidence_hash),
        (
            U256::from(9),
            U256::from(400),
            FACILITATOR,
            B256::repeat_byte(5)
        )
    );
    let v = &rows.voids[0];
    assert_eq!(
        (v.voided_by, v.payee, v.facilitator, v.amount),
        (FACILITATOR, PAYEE, FACILITATOR, U256::from(600))
    );
    let r = &rows.reclaims[0];
    assert_eq!(
        (r.reclaimed_by, r.payee, r.facilitator, r.payer),
        (other, PAYEE, FACILITATOR, PAYER)
    );
    assert_eq!(rows.touched_escrow_ids(), vec![ID]);
}

#[test]
fn batch_settled_records_attempted_items() {
    let event = X402Settlement::BatchSettled {
        batchId: U256::from(3),
        facilitator: FACILITATOR,
        itemCount: U256::from(10),
        attemptedCount: U256::from(7),
        settledCount: U256::from(6),
        evidenceRoot: B256::repeat_byte(8),
    };
    let rows = decode_one(SETTLEMENT, event.encode_log_data());
    let b = &rows.batches[0];
    assert_eq!(
        (b.item_count, b.attempted_count, b.settled_count),
        (U256::from(10), U256::from(7), U256::from(6))
    );
    assert_eq!(
        (b.facilitator, b.evidence_root),
        (FACILITATOR, B256::repeat_byte(8))
    );
}

#[test]
fn spending_policy_set_records_delay_nonce_and_effective_time() {
    let event = X402Settlement::SpendingPolicySet {
        payer: PAYER,
        token: TOKEN,
        policy: x402_bindings::settlement::IX402Settlement::SpendingPolicy {
            maxPerPayment: 100,
            maxPerPeriod: u128::MAX,
            period: 86_400,
            loosenDelay: 3_600,
        },
        nonce: U256::from(2),
        bySignature: true,
        effectiveAt: u48(1_700_003_600),
    };
    let rows = decode_one(SETTLEMENT, event.encode_log_data());
    let p = &rows.spending_policies[0];
    assert_eq!(
        (p.max_per_payment, p.max_per_period, p.period_seconds),
        (U256::from(100), U256::from(u128::MAX), 86_400)
    );
    assert_eq!(
        (
            p.loosen_delay_seconds,
            p.nonce,
            p.by_signature,
            p.effective_at
        ),
        (3_600, U256::from(2), true, 1_700_003_600)
    );
}

#[test]
fn protocol_fee_treasury_and_withdrawal_events() {
    let treasury = address!("0x90F79bf6EB2c4f870365E785982E1f101E93b906");
    let mut rows = Rows::default();
    let logs = [
        X402Settlement::ProtocolFeeChanged {
            oldBps: 10,
            newBps: 25,
            effectiveAt: u48(1_700_086_400),
        }
        .encode_log_data(),
        X402Settlement::TreasuryChanged {
            oldTreasury: PAYEE,
            newTreasury: treasury,
        }
        .encode_log_data(),
        X402Settlement::ProtocolFeesWithdrawn {
            token: TOKEN,
            treasury,
            to: PAYER,
            amount: U256::from(31),
        }
        .encode_log_data(),
    ];
    for (i, data) in logs.into_iter().enumerate() {
        decoder().decode(&rpc_log(SETTLEMENT, data, i as u64), 1, &mut rows);
    }
    assert!(rows.skipped_logs.is_empty(), "{:?}", rows.skipped_logs);
    let f = &rows.protocol_fee_changes[0];
    assert_eq!((f.old_bps, f.bps, f.effective_at), (10, 25, 1_700_086_400));
    let t = &rows.treasury_changes[0];
    assert_eq!((t.old_treasury, t.new_treasury), (PAYEE, treasury));
    let w = &rows.protocol_fee_withdrawals[0];
    assert_eq!(
        (w.token, w.treasury, w.to, w.amount),
        (TOKEN, treasury, PAYER, U256::from(31))
    );
    assert!(rows.touched_payment_ids().is_empty());
}

fn authorization_charged(nonce: B256) -> X402Settlement::AuthorizationCharged {
    X402Settlement::AuthorizationCharged {
        paymentId: ID,
        payer: PAYER,
        payee: PAYEE,
        token: TOKEN,
        facilitator: FACILITATOR,
        amount: U256::from(500),
        authorizationNonce: nonce,
        validAfter: U256::from(1_600_000_000u64),
        validBefore: U256::from(1_800_000_000u64),
        evidenceHash: B256::repeat_byte(6),
    }
}

#[test]
fn authorization_charged_becomes_an_eip3009_charge() {
    let rows = decode_one(
        SETTLEMENT,
        authorization_charged(B256::repeat_byte(0xa1)).encode_log_data(),
    );
    assert!(rows.skipped_logs.is_empty(), "{:?}", rows.skipped_logs);
    let c = &rows.authorization_charges[0];
    assert_eq!(
        (
            c.payment_id,
            c.payer,
            c.payee,
            c.token,
            c.facilitator,
            c.amount
        ),
        (ID, PAYER, PAYEE, TOKEN, FACILITATOR, U256::from(500))
    );
    assert_eq!(
        (
            c.authorization_nonce,
            c.valid_after,
            c.valid_before,
            c.evidence_hash
        ),
        (
            B256::repeat_byte(0xa1),
            U256::from(1_600_000_000u64),
            U256::from(1_800_000_000u64),
            B256::repeat_byte(6)
        )
    );
    // No escrow lifecycle: folded on its own (fold_authorization_charges), not by recompute_payments.
    assert!(rows.touched_payment_ids().is_empty());
}

#[test]
fn token_side_of_an_authorization_charged_is_not_a_second_payment() {
    // One transaction (tx 5): the token's AuthorizationUsed + Transfer payer -> payee, then the
    // settlement's AuthorizationCharged; tx 6: the same payer's direct EIP-3009 payment.
    let d = decoder().with_eip3009(true);
    let mut rows = Rows::default();
    let mut charged = rpc_log(
        SETTLEMENT,
        authorization_charged(B256::repeat_byte(0xa1)).encode_log_data(),
        2,
    );
    charged.transaction_hash = Some(B256::repeat_byte(5));
    for log in [
        auth_log(PAYER, B256::repeat_byte(0xa1), 0, 5),
        transfer_log(PAYER, PAYEE, 500, 1, 5),
        charged,
        auth_log(PAYER, B256::repeat_byte(0xa2), 3, 6),
        transfer_log(PAYER, PAYEE, 500, 4, 6),
    ] {
        d.decode(&log, 1, &mut rows);
    }
    assert!(rows.skipped_logs.is_empty(), "{:?}", rows.skipped_logs);
    rows.pair_eip3009();
    let senders: std::collections::HashMap<B256, (Address, Option<Address>)> = [5u8, 6]
        .iter()
        .map(|t| (B256::repeat_byte(*t), (FACILITATOR, Some(SETTLEMENT))))
        .collect();
    assert!(rows
        .resolve_eip3009(&senders, &Default::default(), SETTLEMENT)
        .is_empty());
    let ids: Vec<_> = rows
        .eip3009_authorizations
        .iter()
        .map(|a| a.payment_id)
        .collect();
    assert_eq!(ids[0], None, "the AuthorizationCharged row is that payment");
    assert_eq!(
        ids[1],
        Some(Eip3009Authorization::payment_id_of(
            TOKEN,
            PAYER,
            B256::repeat_byte(0xa2)
        ))
    );
    assert_eq!(rows.eip3009_authorizations[0].tx_from, FACILITATOR);
}

#[test]
fn registry_label_and_unlabel_keep_history() {
    let labeled = EcosystemRegistry::WalletLabeled {
        wallet: PAYER,
        role: 3,
        note: "faucet".into(),
    };
    let unlabeled = EcosystemRegistry::WalletUnlabeled {
        wallet: PAYER,
        role: 3,
        note: "retired".into(),
    };
    let mut rows = Rows::default();
    decoder().decode(
        &rpc_log(REGISTRY, labeled.encode_log_data(), 0),
        1,
        &mut rows,
    );
    decoder().decode(
        &rpc_log(REGISTRY, unlabeled.encode_log_data(), 1),
        1,
        &mut rows,
    );
    assert_eq!(rows.registry_labels.len(), 2);
    assert!(rows.registry_labels[0].labeled && !rows.registry_labels[1].labeled);
    assert_eq!(rows.registry_labels[0].role_name, "faucet");
    assert_eq!(rows.registry_labels[1].note, "retired");
}

#[test]
fn erc20_transfer_becomes_a_token_transfer() {
    let event = IERC20::Transfer {
        from: PAYER,
        to: PAYEE,
        value: U256::from(123),
    };
    let rows = decode_one(TOKEN, event.encode_log_data());
    let t = &rows.token_transfers[0];
    assert_eq!(
        (t.token, t.from, t.to, t.amount),
        (TOKEN, PAYER, PAYEE, U256::from(123))
    );
}

#[test]
fn erc721_shaped_transfer_is_skipped_with_reason() {
    let topics = vec![
        IERC20::Transfer::SIGNATURE_HASH,
        PAYER.into_word(),
        PAYEE.into_word(),
        B256::from(U256::from(77)),
    ];
    let rows = decode_one(TOKEN, LogData::new_unchecked(topics.clone(), Bytes::new()));
    assert!(rows.token_transfers.is_empty());
    let s = &rows.skipped_logs[0];
    assert!(s.reason.contains("not ERC-20 shaped"), "{}", s.reason);
    assert_eq!(s.topics, topics);
}

#[test]
fn unknown_and_malformed_events_are_skipped_not_fatal() {
    let unknown = LogData::new_unchecked(vec![B256::repeat_byte(9)], Bytes::from(vec![1, 2, 3]));
    let rows = decode_one(SETTLEMENT, unknown);
    assert!(
        rows.skipped_logs[0]
            .reason
            .contains("unknown X402Settlement event"),
        "{}",
        rows.skipped_logs[0].reason
    );

    // A PaymentVoided whose data is cut short.
    let mut data = X402Settlement::PaymentVoided {
        paymentId: ID,
        payer: PAYER,
        by: PAYEE,
        payee: PAYEE,
        facilitator: PAYEE,
        token: TOKEN,
        amount: U256::from(1),
    }
    .encode_log_data();
    data.data = Bytes::from(data.data[..40].to_vec());
    let rows = decode_one(SETTLEMENT, data);
    assert!(rows.voids.is_empty());
    assert!(
        rows.skipped_logs[0]
            .reason
            .contains("malformed X402Settlement event"),
        "{}",
        rows.skipped_logs[0].reason
    );

    let rows = decode_one(REGISTRY, LogData::new_unchecked(vec![], Bytes::new()));
    assert!(
        rows.skipped_logs[0].reason.contains("anonymous"),
        "{}",
        rows.skipped_logs[0].reason
    );
}

#[test]
fn batch_failure_reason_is_decoded() {
    let reason = X402Settlement::AmountAboveMaximum {
        amount: U256::from(5),
        signedMaximum: U256::from(3),
    }
    .abi_encode();
    let event = X402Settlement::BatchItemFailed {
        batchId: U256::from(1),
        index: U256::from(2),
        paymentId: ID,
        payer: PAYER,
        reason: reason.into(),
    };
    let rows = decode_one(SETTLEMENT, event.encode_log_data());
    let f = &rows.batch_failures[0];
    assert_eq!(f.error_name.as_deref(), Some("AmountAboveMaximum"));
    let detail = f.error_detail.as_deref().unwrap();
    assert!(
        detail.contains("amount: 5") && detail.contains("signedMaximum: 3"),
        "{detail}"
    );
}

#[test]
fn standard_and_unknown_revert_reasons() {
    let revert = alloy::sol_types::Revert::from("TRANSFER_FROM_FAILED").abi_encode();
    let (name, detail) = decode_revert_reason(&revert).unwrap();
    assert_eq!(name, "Error");
    assert!(detail.contains("TRANSFER_FROM_FAILED"));
    assert_eq!(decode_revert_reason(&[0xde, 0xad, 0xbe, 0xef]), None);
    assert_eq!(decode_revert_reason(&[1]), None);
}

fn transfer_log(from: Address, to: Address, amount: u64, index: u64, tx: u8) -> Log {
    let e = IERC20::Transfer {
        from,
        to,
        value: U256::from(amount),
    };
    let mut l = rpc_log(TOKEN, e.encode_log_data(), index);
    l.transaction_hash = Some(B256::repeat_byte(tx));
    l
}

fn auth_log(authorizer: Address, nonce: B256, index: u64, tx: u8) -> Log {
    let e = AuthorizationUsed { authorizer, nonce };
    let mut l = rpc_log(TOKEN, e.encode_log_data(), index);
    l.transaction_hash = Some(B256::repeat_byte(tx));
    l
}

#[test]
fn eip3009_authorizations_pair_with_their_transfers_and_become_payments() {
    let d = decoder().with_eip3009(true);
    let mut rows = Rows::default();
    let other = address!("0x90F79bf6EB2c4f870365E785982E1f101E93b906");
    // tx 5: two authorizations of one payer in one transaction (a batching facilitator), each
    // followed by its Transfer; tx 6: an authorization whose Transfer goes into the settlement
    // contract; tx 7: an authorization without a Transfer.
    for log in [
        auth_log(PAYER, B256::repeat_byte(0xa1), 0, 5),
        transfer_log(PAYER, PAYEE, 100, 1, 5),
        auth_log(PAYER, B256::repeat_byte(0xa2), 2, 5),
        transfer_log(PAYER, other, 200, 3, 5),
        auth_log(PAYER, B256::repeat_byte(0xa3), 4, 6),
        transfer_log(PAYER, SETTLEMENT, 300, 5, 6),
        auth_log(other, B256::repeat_byte(0xa4), 6, 7),
    ] {
        d.decode(&log, 1_700_000_000, &mut rows);
    }
    assert!(rows.skipped_logs.is_empty(), "{:?}", rows.skipped_logs);
    assert_eq!(rows.eip3009_authorizations.len(), 4);
    assert_eq!(rows.token_transfers.len(), 3);
    rows.pair_eip3009();
    let transfers: Vec<_> = rows
        .eip3009_authorizations
        .iter()
        .map(|a| a.transfer)
        .collect();
    assert_eq!(
        transfers,
        vec![
            Some((1, PAYEE, U256::from(100))),
            Some((3, other, U256::from(200))),
            Some((5, SETTLEMENT, U256::from(300))),
            None
        ]
    );

    let facilitator = address!("0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc");
    let senders: std::collections::HashMap<B256, (Address, Option<Address>)> = [5u8, 6, 7]
        .iter()
        .map(|t| (B256::repeat_byte(*t), (facilitator, Some(TOKEN))))
        .collect();
    // Empty facilitator list: any sender, flagged as not listed.
    let missing = rows.resolve_eip3009(&senders, &Default::default(), SETTLEMENT);
    assert!(missing.is_empty());
    let ids: Vec<_> = rows
        .eip3009_authorizations
        .iter()
        .map(|a| a.payment_id)
        .collect();
    assert_eq!(
        ids[0],
        Some(Eip3009Authorization::payment_id_of(
            TOKEN,
            PAYER,
            B256::repeat_byte(0xa1)
        ))
    );
    assert!(ids[1].is_some() && ids[0] != ids[1]);
    assert_eq!(
        &ids[2..],
        &[None, None],
        "into the settlement contract, or without a Transfer: not an EIP-3009 payment"
    );
    assert!(rows
        .eip3009_authorizations
        .iter()
        .all(|a| !a.facilitator_listed && a.tx_from == facilitator));

    // A list that names the sender: listed; one that does not: no payments.
    rows.resolve_eip3009(&senders, &[facilitator].into_iter().collect(), SETTLEMENT);
    assert!(
        rows.eip3009_authorizations[0].facilitator_listed
            && rows.eip3009_authorizations[0].payment_id.is_some()
    );
    rows.resolve_eip3009(&senders, &[other].into_iter().collect(), SETTLEMENT);
    assert!(rows
        .eip3009_authorizations
        .iter()
        .all(|a| a.payment_id.is_none()));
    // A sender the caller could not find is reported.
    let missing = rows.resolve_eip3009(&Default::default(), &Default::default(), SETTLEMENT);
    assert_eq!(
        missing,
        vec![
            B256::repeat_byte(5),
            B256::repeat_byte(6),
            B256::repeat_byte(7)
        ]
    );
}

#[test]
fn authorization_used_is_skipped_when_eip3009_is_off() {
    let mut rows = Rows::default();
    decoder().decode(&auth_log(PAYER, B256::repeat_byte(1), 0, 5), 0, &mut rows);
    assert!(rows.eip3009_authorizations.is_empty());
    assert_eq!(rows.skipped_logs.len(), 1);
    assert!(
        rows.skipped_logs[0]
            .reason
            .contains("not an ERC-20 Transfer"),
        "{}",
        rows.skipped_logs[0].reason
    );
}
