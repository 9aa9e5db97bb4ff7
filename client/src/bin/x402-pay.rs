//! `x402-pay`: pay an x402 402 answer from the command line, or manage the payer's on-chain
//! spending policy.
//!
//! The payer key comes from `X402_PAYER_KEY` or `--key-file`; it is never printed.

use std::path::PathBuf;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::ProviderBuilder;
use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use x402_client::budget::Budget;
use x402_client::pay::{pay, PayOptions};
use x402_client::policy::{self, Policy};
use x402_client::requirements::{amount, PaymentRequired};

#[derive(Parser)]
#[command(
    name = "x402-pay",
    version,
    about = "Pay x402 requirements with a Permit2 witness signature; manage spending policies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct KeyArgs {
    /// File holding the payer's private key (hex). Without it, `X402_PAYER_KEY` is read.
    #[arg(long)]
    key_file: Option<PathBuf>,
}

impl KeyArgs {
    fn signer(&self, env: &str) -> Result<PrivateKeySigner> {
        let raw = match &self.key_file {
            Some(p) => std::fs::read_to_string(p)
                .with_context(|| format!("reading key file {}", p.display()))?,
            None => std::env::var(env)
                .with_context(|| format!("no key: set {env} or pass --key-file"))?,
        };
        raw.trim()
            .parse::<PrivateKeySigner>()
            .map_err(|_| anyhow::anyhow!("the key is not a 32-byte hex private key"))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Sign a payment for a 402 answer and print the header to send.
    Pay {
        /// The 402 body or a single requirement: a JSON string, a file path, or `-` for stdin.
        #[arg(long)]
        requirements: String,
        /// Largest amount this payment may commit (token units).
        #[arg(long, value_parser = parse_amount)]
        max_per_request: U256,
        /// Total budget (defaults to the per-request maximum).
        #[arg(long, value_parser = parse_amount)]
        max_total: Option<U256>,
        /// Largest facilitator fee accepted, in basis points.
        #[arg(long, default_value_t = 10_000)]
        max_fee_bps: u16,
        /// Only pay through this facilitator (repeatable).
        #[arg(long = "facilitator")]
        facilitators: Vec<Address>,
        /// Permit2 nonce (default: fresh and unique).
        #[arg(long, value_parser = parse_amount)]
        nonce: Option<U256>,
        /// Print the whole payload JSON instead of `HEADER: value`.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Set the payer's on-chain spending policy for a token (all zero removes it).
    SetPolicy {
        #[command(flatten)]
        chain: ChainArgs,
        /// The token the budget is counted in.
        #[arg(long)]
        token: Address,
        /// Largest single settlement (0 = no limit).
        #[arg(long, default_value = "0")]
        max_per_payment: u128,
        /// Most spent over any `--period` seconds (0 = no limit).
        #[arg(long, default_value = "0")]
        max_per_period: u128,
        /// Rolling period in seconds.
        #[arg(long, default_value_t = 0)]
        period: u32,
        /// Seconds a later loosening of this policy waits before it applies (tightening is
        /// immediate; at most 30 days).
        #[arg(long, default_value_t = 0)]
        loosen_delay: u32,
        /// Sign the policy (EIP-712) and have the relayer (`X402_RELAYER_KEY`) submit it, so the
        /// payer needs no gas.
        #[arg(long)]
        by_sig: bool,
        /// Signature validity in seconds (with --by-sig).
        #[arg(long, default_value_t = 3600)]
        valid_for: u64,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Print how much the payer may still settle in a token under its policy.
    Remaining {
        #[command(flatten)]
        chain: ChainArgs,
        /// The payer.
        #[arg(long)]
        payer: Address,
        /// The token.
        #[arg(long)]
        token: Address,
    },
}

#[derive(Args)]
struct ChainArgs {
    /// JSON-RPC endpoint.
    #[arg(long, env = "RPC_URL", default_value = "http://127.0.0.1:8545")]
    rpc_url: String,
    /// The X402Settlement contract.
    #[arg(long, env = "SETTLEMENT")]
    settlement: Address,
}

fn parse_amount(s: &str) -> Result<U256, String> {
    amount::parse(s)
}

fn read_requirements(arg: &str) -> Result<PaymentRequired> {
    let text = if arg == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading requirements from stdin")?
    } else if arg.trim_start().starts_with('{') {
        arg.to_string()
    } else {
        std::fs::read_to_string(arg).with_context(|| format!("reading requirements file {arg}"))?
    };
    Ok(PaymentRequired::from_json(&text)?)
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Pay {
            requirements,
            max_per_request,
            max_total,
            max_fee_bps,
            facilitators,
            nonce,
            json,
            key,
        } => {
            let signer = key.signer("X402_PAYER_KEY")?;
            let required = read_requirements(&requirements)?;
            let mut budget = Budget::new(max_per_request, max_total.unwrap_or(max_per_request));
            budget.max_fee_bps = max_fee_bps;
            budget.facilitators = facilitators.into_iter().collect();
            let payment = pay(
                &signer,
                &required,
                &mut budget,
                &PayOptions {
                    nonce,
                    ..Default::default()
                },
            )
            .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&payment.payload)?);
            } else {
                let (name, value) = payment.payload.header();
                println!("{name}: {value}");
            }
            eprintln!(
                "payment id {} ({} {} to {})",
                payment.payment_id,
                payment.requirements.amount,
                payment.requirements.scheme,
                payment.requirements.pay_to
            );
        }
        Command::SetPolicy {
            chain,
            token,
            max_per_payment,
            max_per_period,
            period,
            loosen_delay,
            by_sig,
            valid_for,
            key,
        } => {
            let payer = key.signer("X402_PAYER_KEY")?;
            let policy = Policy {
                max_per_payment,
                max_per_period,
                period,
                loosen_delay,
            };
            let url = chain
                .rpc_url
                .parse()
                .with_context(|| format!("--rpc-url {} is not a URL", chain.rpc_url))?;
            let tx = if by_sig {
                let relayer = KeyArgs { key_file: None }.signer("X402_RELAYER_KEY")?;
                let provider = ProviderBuilder::new()
                    .wallet(EthereumWallet::from(relayer))
                    .connect_http(url);
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)?
                    .as_secs();
                let permit = policy::policy_permit(
                    &provider,
                    chain.settlement,
                    payer.address(),
                    token,
                    policy,
                    now + valid_for,
                )
                .await?;
                let signed = permit.sign(&payer).await?;
                policy::submit_policy_signature(&provider, &signed).await?
            } else {
                let provider = ProviderBuilder::new()
                    .wallet(EthereumWallet::from(payer))
                    .connect_http(url);
                policy::set_policy(&provider, chain.settlement, token, policy).await?
            };
            println!("{tx}");
        }
        Command::Remaining {
            chain,
            payer,
            token,
        } => {
            let url = chain
                .rpc_url
                .parse()
                .with_context(|| format!("--rpc-url {} is not a URL", chain.rpc_url))?;
            let provider = ProviderBuilder::new().connect_http(url);
            let left = policy::remaining_budget(&provider, chain.settlement, payer, token).await?;
            if left == U256::MAX {
                println!("unlimited (no policy)");
            } else {
                println!("{left}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn amounts_parse_in_both_bases() {
        assert_eq!(
            super::parse_amount("0x10").unwrap(),
            alloy::primitives::U256::from(16u64)
        );
        assert!(super::parse_amount("1e6").is_err());
    }
}
