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
    assert_eq!((c.payer, c.payee, c.mode), (PAYER, PAYEE, 1));
    assert_eq!(
        (c.amount, c.max_amount, c.batch_id),
        (U256::from(900), U256::from(1000), U256::from(5))
    );
    assert_eq!(rows.touched_payment_ids(), vec![ID]);
}

#[test]
fn authorization_expiries_are_unix_seconds() {
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
                nonce: U256::from(77),
                deadline: U256::from(1_900_000_000u64),
            },
            terms: x402_bindings::settlement::IX402Settlement::PaymentTerms {
                payer: PAYER,
                payee: PAYEE,
                facilitator: PAYEE,
                requestHash: B256::repeat_byte(3),
                maxFacilitatorFeeBps: 250,
                validAfter: alloy::primitives::aliases::U48::ZERO,
                mode: 2,
                authorizationExpiry: alloy::primitives::aliases::U48::from(1_800_000_000u64),
                refundExpiry: alloy::primitives::aliases::U48::from(1_900_000_000u64),
            },
        },
        protocolFeeBps: 10,
    };
    let rows = decode_one(SETTLEMENT, event.encode_log_data());
    let a = &rows.authorizations[0];
    assert_eq!(
        (a.token, a.facilitator, a.amount, a.request_hash),
        (TOKEN, PAYEE, U256::from(1000), B256::repeat_byte(3)),
        "token, facilitator, amount and request hash come from the escrow's permit and terms"
    );
    assert_eq!(
        (
            a.max_facilitator_fee_bps,
            a.authorization_expiry,
            a.refund_expiry
        ),
        (250, 1_800_000_000, 1_900_000_000)
    );
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
    assert_eq!(rows.registry_labels[0].role_name, "Faucet");
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
    let s = &rows.skipped[0];
    assert!(s.reason.contains("not ERC-20 shaped"), "{}", s.reason);
    assert_eq!(s.topics, topics);
}

#[test]
fn unknown_and_malformed_events_are_skipped_not_fatal() {
    let unknown = LogData::new_unchecked(vec![B256::repeat_byte(9)], Bytes::from(vec![1, 2, 3]));
    let rows = decode_one(SETTLEMENT, unknown);
    assert!(
        rows.skipped[0]
            .reason
            .contains("unknown X402Settlement event"),
        "{}",
        rows.skipped[0].reason
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
        rows.skipped[0]
            .reason
            .contains("malformed X402Settlement event"),
        "{}",
        rows.skipped[0].reason
    );

    let rows = decode_one(REGISTRY, LogData::new_unchecked(vec![], Bytes::new()));
    assert!(
        rows.skipped[0].reason.contains("anonymous"),
        "{}",
        rows.skipped[0].reason
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
    assert!(rows.skipped.is_empty(), "{:?}", rows.skipped);
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
    assert_eq!(rows.skipped.len(), 1);
    assert!(
        rows.skipped[0].reason.contains("not an ERC-20 Transfer"),
        "{}",
        rows.skipped[0].reason
    );
}

#[test]
fn authorization_charged_becomes_a_payment_row_with_its_evidence() {
    let event = X402Settlement::AuthorizationCharged {
        paymentId: ID,
        payer: PAYER,
        payee: PAYEE,
        token: TOKEN,
        facilitator: SETTLEMENT,
        amount: U256::from(2_500_000u64),
        authorizationNonce: B256::repeat_byte(8),
        validAfter: U256::ZERO,
        validBefore: U256::from(1_900_000_000u64),
        evidenceHash: B256::repeat_byte(4),
    };
    let rows = decode_one(SETTLEMENT, event.encode_log_data());
    assert_eq!(rows.len(), 1, "{rows:?}");
    let c = &rows.authorization_charges[0];
    assert_eq!(
        (c.payment_id, c.payer, c.payee, c.token),
        (ID, PAYER, PAYEE, TOKEN)
    );
    assert_eq!(
        (c.amount, c.authorization_nonce, c.evidence_hash),
        (
            U256::from(2_500_000u64),
            B256::repeat_byte(8),
            B256::repeat_byte(4)
        )
    );
    assert!(
        rows.touched_payment_ids().contains(&ID),
        "a reorg must recompute (drop) the payment of a rolled-back authorization charge"
    );
}

#[test]
fn fee_and_treasury_events_keep_old_and_new_values() {
    let fee = X402Settlement::ProtocolFeeChanged {
        oldBps: 5,
        newBps: 20,
        effectiveAt: alloy::primitives::aliases::U48::from(1_800_000_000u64),
    };
    let rows = decode_one(SETTLEMENT, fee.encode_log_data());
    let f = &rows.protocol_fee_changes[0];
    assert_eq!((f.old_bps, f.bps, f.effective_at), (5, 20, 1_800_000_000));
    let treasury = X402Settlement::TreasuryChanged {
        oldTreasury: PAYER,
        newTreasury: PAYEE,
    };
    let rows = decode_one(SETTLEMENT, treasury.encode_log_data());
    assert_eq!(
        (
            rows.treasury_changes[0].old_treasury,
            rows.treasury_changes[0].new_treasury
        ),
        (PAYER, PAYEE)
    );
    let withdrawn = X402Settlement::ProtocolFeesWithdrawn {
        token: TOKEN,
        treasury: PAYEE,
        to: PAYER,
        amount: U256::from(12),
    };
    let rows = decode_one(SETTLEMENT, withdrawn.encode_log_data());
    let w = &rows.protocol_fee_withdrawals[0];
    assert_eq!(
        (w.token, w.treasury, w.to, w.amount),
        (TOKEN, PAYEE, PAYER, U256::from(12))
    );
}
