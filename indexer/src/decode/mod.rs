//! Logs -> typed rows. Pure functions, no I/O.
//!
//! A log that cannot become a row (unknown event, data that does not match the ABI, a "Transfer"
//! that is not ERC-20 shaped) becomes a [`SkippedLog`] with the reason; decoding never fails.

mod permit2_proxy;
mod reason;
mod rows;

use std::collections::HashSet;

use alloy::primitives::{Address, Log as PrimitiveLog, U256};
use alloy::rpc::types::Log;
use alloy::sol_types::abi::AbiDecoderConfig;
use alloy::sol_types::{SolEvent, SolEventInterface};
use x402_bindings::{
    EcosystemRegistry::EcosystemRegistryEvents, X402Settlement::X402SettlementEvents, IERC20,
};

pub use permit2_proxy::{ProxySettlement, ProxyTransfer, Settled, SettledWithPermit};
pub use reason::decode_revert_reason;
pub use rows::*;

/// The stored name of registry role `role` (`x402_domain::Role`; `role_9` for a value outside
/// the enum, kept rather than dropped).
pub fn role_name(role: u8) -> String {
    x402_domain::Role::name_of_value(role)
}

alloy::sol! {
    /// EIP-3009 (`transferWithAuthorization`, as in Circle's FiatToken): emitted when an
    /// authorization is used, right before the Transfer it authorizes.
    #[derive(Debug)]
    event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce);
}

/// Turns logs of the watched contracts into rows.
#[derive(Debug, Clone)]
pub struct Decoder {
    settlement: Address,
    registry: Address,
    tokens: HashSet<Address>,
    eip3009: bool,
    proxies: HashSet<Address>,
}

impl Decoder {
    /// A decoder for one deployment.
    pub fn new(
        settlement: Address,
        registry: Address,
        tokens: impl IntoIterator<Item = Address>,
    ) -> Self {
        Self {
            settlement,
            registry,
            tokens: tokens.into_iter().collect(),
            eip3009: false,
            proxies: HashSet::new(),
        }
    }

    /// Also decode the tokens' EIP-3009 `AuthorizationUsed` events.
    pub fn with_eip3009(mut self, on: bool) -> Self {
        self.eip3009 = on;
        self
    }

    /// Also decode the `Settled()` / `SettledWithPermit()` logs of x402's Permit2 proxies at
    /// `proxies`.
    pub fn with_permit2_proxies(mut self, proxies: impl IntoIterator<Item = Address>) -> Self {
        self.proxies = proxies.into_iter().collect();
        self
    }

    /// Decodes `log` (already validated: it has block number/hash, tx hash and log index) of a block
    /// with timestamp `block_time` into `rows`.
    pub fn decode(&self, log: &Log, block_time: u64, rows: &mut Rows) {
        let meta = LogMeta {
            block_number: log.block_number.unwrap_or_default(),
            block_hash: log.block_hash.unwrap_or_default(),
            block_time,
            tx_hash: log.transaction_hash.unwrap_or_default(),
            log_index: log.log_index.unwrap_or_default(),
        };
        let inner = &log.inner;
        let outcome = if inner.address == self.settlement {
            self.settlement_event(meta, inner, rows)
        } else if inner.address == self.registry {
            self.registry_event(meta, inner, rows)
        } else if self.proxies.contains(&inner.address) {
            permit2_proxy::decode(meta, inner, rows)
        } else if self.tokens.contains(&inner.address) {
            self.token_event(meta, inner, rows)
        } else {
            Err(format!("log from unwatched address {}", inner.address))
        };
        if let Err(reason) = outcome {
            rows.skipped_logs.push(SkippedLog {
                meta,
                address: inner.address,
                topics: inner.data.topics().to_vec(),
                data: inner.data.data.clone(),
                reason,
            });
        }
    }

    fn settlement_event(
        &self,
        meta: LogMeta,
        log: &PrimitiveLog,
        rows: &mut Rows,
    ) -> Result<(), String> {
        let event = X402SettlementEvents::decode_log_with_config(log, strict())
            .map_err(|e| skip_reason("X402Settlement", X402SettlementEvents::SELECTORS, log, &e))?
            .data;
        #[allow(unreachable_patterns)]
        match event {
            X402SettlementEvents::PaymentCharged(e) => rows.charges.push(Charge {
                meta,
                payment_id: e.paymentId,
                payer: e.payer,
                payee: e.payee,
                token: e.token,
                facilitator: e.facilitator,
                nonce: e.nonce,
                mode: e.mode,
                amount: e.amount,
                max_amount: e.maxAmount,
                facilitator_fee: e.facilitatorFee,
                protocol_fee: e.protocolFee,
                request_hash: e.requestHash,
                evidence_hash: e.evidenceHash,
                batch_id: e.batchId,
            }),
            X402SettlementEvents::PaymentAuthorized(e) => {
                let (permit, terms) = (&e.escrow.permit, &e.escrow.terms);
                rows.authorizations.push(Authorization {
                    meta,
                    payment_id: e.paymentId,
                    payer: e.payer,
                    payee: e.payee,
                    token: permit.permitted.token,
                    facilitator: terms.facilitator,
                    amount: permit.permitted.amount,
                    max_facilitator_fee_bps: terms.maxFacilitatorFeeBps,
                    authorization_expiry: terms.authorizationExpiry.to::<u64>(),
                    refund_expiry: terms.refundExpiry.to::<u64>(),
                    request_hash: terms.requestHash,
                    nonce: permit.nonce,
                    deadline: permit.deadline,
                    valid_after: terms.validAfter.to::<u64>(),
                    protocol_fee_bps: e.protocolFeeBps,
                })
            }
            X402SettlementEvents::PaymentCaptured(e) => rows.captures.push(Capture {
                meta,
                payment_id: e.paymentId,
                payer: e.payer,
                payee: e.payee,
                token: e.token,
                facilitator: e.facilitator,
                nonce: e.nonce,
                amount: e.amount,
                facilitator_fee: e.facilitatorFee,
                protocol_fee: e.protocolFee,
                evidence_hash: e.evidenceHash,
            }),
            X402SettlementEvents::PaymentVoided(e) => rows.voids.push(Void {
                meta,
                payment_id: e.paymentId,
                payer: e.payer,
                voided_by: e.by,
                payee: e.payee,
                facilitator: e.facilitator,
                token: e.token,
                amount: e.amount,
            }),
            X402SettlementEvents::PaymentReclaimed(e) => rows.reclaims.push(Reclaim {
                meta,
                payment_id: e.paymentId,
                payer: e.payer,
                reclaimed_by: e.by,
                payee: e.payee,
                facilitator: e.facilitator,
                token: e.token,
                amount: e.amount,
            }),
            X402SettlementEvents::PaymentRefunded(e) => rows.refunds.push(Refund {
                meta,
                payment_id: e.paymentId,
                payer: e.payer,
                payee: e.payee,
                token: e.token,
                amount: e.amount,
            }),
            X402SettlementEvents::SplitPaid(e) => rows.split_payments.push(SplitPayment {
                meta,
                payment_id: e.paymentId,
                payee: e.payee,
                recipient: e.recipient,
                amount: e.amount,
            }),
            X402SettlementEvents::BatchItemFailed(e) => {
                let (error_name, error_detail) = match decode_revert_reason(&e.reason) {
                    Some((name, detail)) => (Some(name), Some(detail)),
                    None => (None, None),
                };
                rows.batch_failures.push(BatchFailure {
                    meta,
                    batch_id: e.batchId,
                    item_index: e.index,
                    payment_id: e.paymentId,
                    payer: e.payer,
                    reason: e.reason,
                    error_name,
                    error_detail,
                })
            }
            X402SettlementEvents::BatchSettled(e) => rows.batches.push(Batch {
                meta,
                batch_id: e.batchId,
                facilitator: e.facilitator,
                item_count: e.itemCount,
                attempted_count: e.attemptedCount,
                settled_count: e.settledCount,
                evidence_root: e.evidenceRoot,
            }),
            X402SettlementEvents::SpendingPolicySet(e) => {
                rows.spending_policies.push(SpendingPolicy {
                    meta,
                    payer: e.payer,
                    token: e.token,
                    max_per_payment: U256::from(e.policy.maxPerPayment),
                    max_per_period: U256::from(e.policy.maxPerPeriod),
                    period_seconds: e.policy.period,
                    loosen_delay_seconds: e.policy.loosenDelay,
                    nonce: e.nonce,
                    by_signature: e.bySignature,
                    effective_at: e.effectiveAt.to::<u64>(),
                })
            }
            X402SettlementEvents::SplitSet(e) => rows.splits.push(Split {
                meta,
                payee: e.payee,
                recipients: e.recipients,
                bps: e.bps,
            }),
            X402SettlementEvents::ProtocolFeeChanged(e) => {
                rows.protocol_fee_changes.push(ProtocolFeeChange {
                    meta,
                    old_bps: e.oldBps,
                    bps: e.newBps,
                    effective_at: e.effectiveAt.to::<u64>(),
                })
            }
            X402SettlementEvents::TreasuryChanged(e) => {
                rows.treasury_changes.push(TreasuryChange {
                    meta,
                    old_treasury: e.oldTreasury,
                    new_treasury: e.newTreasury,
                })
            }
            X402SettlementEvents::ProtocolFeesWithdrawn(e) => {
                rows.protocol_fee_withdrawals.push(ProtocolFeeWithdrawal {
                    meta,
                    token: e.token,
                    treasury: e.treasury,
                    to: e.to,
                    amount: e.amount,
                })
            }
            X402SettlementEvents::AuthorizationCharged(e) => {
                rows.authorization_charges.push(AuthorizationCharge {
                    meta,
                    payment_id: e.paymentId,
                    payer: e.payer,
                    payee: e.payee,
                    token: e.token,
                    facilitator: e.facilitator,
                    amount: e.amount,
                    authorization_nonce: e.authorizationNonce,
                    valid_after: e.validAfter,
                    valid_before: e.validBefore,
                    evidence_hash: e.evidenceHash,
                })
            }
            other => return Err(format!("event not indexed: {}", variant_name(&other))),
        }
        Ok(())
    }

    fn registry_event(
        &self,
        meta: LogMeta,
        log: &PrimitiveLog,
        rows: &mut Rows,
    ) -> Result<(), String> {
        let event = EcosystemRegistryEvents::decode_log_with_config(log, strict())
            .map_err(|e| {
                skip_reason(
                    "EcosystemRegistry",
                    EcosystemRegistryEvents::SELECTORS,
                    log,
                    &e,
                )
            })?
            .data;
        #[allow(unreachable_patterns)]
        match event {
            EcosystemRegistryEvents::WalletLabeled(e) => rows.registry_labels.push(RegistryLabel {
                meta,
                wallet: e.wallet,
                role: e.role,
                role_name: role_name(e.role),
                labeled: true,
                note: e.note,
            }),
            EcosystemRegistryEvents::WalletUnlabeled(e) => {
                rows.registry_labels.push(RegistryLabel {
                    meta,
                    wallet: e.wallet,
                    role: e.role,
                    role_name: role_name(e.role),
                    labeled: false,
                    note: e.note,
                })
            }
            EcosystemRegistryEvents::PayeeWalletDeclared(e) => {
                rows.declared_wallets.push(DeclaredWallet {
                    meta,
                    payee: e.payee,
                    wallet: e.wallet,
                    declared: e.declared,
                    note: e.note,
                })
            }
            other => return Err(format!("event not indexed: {}", variant_name(&other))),
        }
        Ok(())
    }

    fn token_event(
        &self,
        meta: LogMeta,
        log: &PrimitiveLog,
        rows: &mut Rows,
    ) -> Result<(), String> {
        let topics = log.data.topics();
        if self.eip3009 && topics.first() == Some(&AuthorizationUsed::SIGNATURE_HASH) {
            let e = AuthorizationUsed::decode_log_data_validate(&log.data)
                .map_err(|e| format!("malformed EIP-3009 AuthorizationUsed: {e}"))?;
            rows.eip3009_authorizations.push(Eip3009Authorization {
                meta,
                token: log.address,
                authorizer: e.authorizer,
                nonce: e.nonce,
                transfer: None,
                tx_from: Address::ZERO,
                tx_to: None,
                facilitator_listed: false,
                payment_id: None,
            });
            return Ok(());
        }
        if topics.first() != Some(&IERC20::Transfer::SIGNATURE_HASH) {
            return Err("token log is not an ERC-20 Transfer".into());
        }
        // ERC-20: 3 topics (signature, from, to) and a 32-byte amount. ERC-721 puts the token id in
        // a 4th topic; anything else is not a fungible transfer we can account for.
        if topics.len() != 3 || log.data.data.len() != 32 {
            return Err(format!(
                "Transfer is not ERC-20 shaped: {} topics and {} data bytes (expected 3 and 32)",
                topics.len(),
                log.data.data.len()
            ));
        }
        let e = IERC20::Transfer::decode_log_data_validate(&log.data)
            .map_err(|e| format!("Transfer does not decode as ERC-20: {e}"))?;
        rows.token_transfers.push(TokenTransfer {
            meta,
            token: log.address,
            from: e.from,
            to: e.to,
            amount: e.value,
        });
        Ok(())
    }
}

/// Strict decoding: data that does not match the ABI exactly is malformed.
fn strict() -> AbiDecoderConfig {
    AbiDecoderConfig::new().validate(true)
}

fn skip_reason(
    contract: &str,
    known: &[[u8; 32]],
    log: &PrimitiveLog,
    err: &alloy::sol_types::Error,
) -> String {
    match log.data.topics().first() {
        None => format!("anonymous log from {contract} (no topic)"),
        Some(t) if !known.contains(&t.0) => format!("unknown {contract} event topic {t}"),
        Some(t) => format!("malformed {contract} event {t}: {err}"),
    }
}

/// The variant name of a decoded event enum, from its Debug form (`Name(…)`).
fn variant_name<T: std::fmt::Debug>(value: &T) -> String {
    let text = format!("{value:?}");
    text.split(['(', ' ', '{'])
        .next()
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests;
