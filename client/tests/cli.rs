//! The `x402-pay` binary: paying a 402 answer within a budget, and setting the payer's on-chain
//! spending policy directly or by signature (against the real contracts on anvil).

use std::process::{Command, Output};

use alloy::primitives::{keccak256, Address, U256};
use alloy::signers::local::PrivateKeySigner;
use x402_client::header::{PaymentPayload, HEADER_V2};
use x402_testkit::{AnvilRpc, DevChain};

fn x402_pay(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_x402-pay"));
    cmd.args(args)
        .env_remove("X402_PAYER_KEY")
        .env_remove("X402_RELAYER_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("running x402-pay")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "x402-pay failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn key_hex(k: &PrivateKeySigner) -> String {
    format!("0x{}", alloy::primitives::hex::encode(k.to_bytes()))
}

const REQUIRED: &str = r#"{
  "x402Version": 2,
  "resource": {"url": "https://provider.example/infer"},
  "accepts": [{
    "scheme": "exact", "network": "eip155:31337", "amount": "250000",
    "asset": "0x1111111111111111111111111111111111111111",
    "payTo": "0x2222222222222222222222222222222222222222",
    "maxTimeoutSeconds": 120,
    "extra": {
      "settlement": "0x3333333333333333333333333333333333333333",
      "permit2": "0x4444444444444444444444444444444444444444",
      "facilitator": "0x5555555555555555555555555555555555555555",
      "requestHash": "0x00000000000000000000000000000000000000000000000000000000000000aa",
      "maxFacilitatorFeeBps": 30
    }
  }]
}"#;

#[test]
fn pay_prints_a_header_the_payer_signed_and_respects_the_budget() {
    let payer = PrivateKeySigner::random();
    let out = x402_pay(
        &[
            "pay",
            "--requirements",
            REQUIRED,
            "--max-per-request",
            "300000",
        ],
        &[("X402_PAYER_KEY", key_hex(&payer))],
    );
    let line = stdout(&out);
    let (name, value) = line.split_once(": ").expect("HEADER: value");
    assert_eq!(name, HEADER_V2);
    let payload = PaymentPayload::decode(value).unwrap();
    let signed = payload
        .to_signed(
            31337,
            "0x4444444444444444444444444444444444444444"
                .parse()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(signed.recover_payer().unwrap(), payer.address());
    assert_eq!(signed.permit.amount, U256::from(250_000u64));
    assert_eq!(signed.permit.terms.request_hash.0[31], 0xaa);
    // The key never appears in the output.
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&key_hex(&payer)[2..]));

    let refused = x402_pay(
        &[
            "pay",
            "--requirements",
            REQUIRED,
            "--max-per-request",
            "200000",
        ],
        &[("X402_PAYER_KEY", key_hex(&payer))],
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("per-request maximum"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let other_facilitator = x402_pay(
        &[
            "pay",
            "--requirements",
            REQUIRED,
            "--max-per-request",
            "300000",
            "--facilitator",
            "0x6666666666666666666666666666666666666666",
        ],
        &[("X402_PAYER_KEY", key_hex(&payer))],
    );
    assert!(String::from_utf8_lossy(&other_facilitator.stderr).contains("facilitator"));

    let no_key = x402_pay(
        &[
            "pay",
            "--requirements",
            REQUIRED,
            "--max-per-request",
            "300000",
        ],
        &[],
    );
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("X402_PAYER_KEY"));
}

#[tokio::test]
async fn set_policy_directly_and_by_signature() {
    let chain = DevChain::start().await.unwrap();
    let rpc = AnvilRpc::new(chain.anvil.provider());
    let payer = x402_testkit::wallets::derived("x402-pay cli", 0);
    rpc.set_balance(payer.address(), U256::from(10u64).pow(U256::from(19u64)))
        .await
        .unwrap();
    let token = chain.deployment.token("USDC").unwrap().address.to_string();
    let settlement = chain.deployment.settlement.to_string();
    let url = chain.anvil.url();
    let payer_env = [("X402_PAYER_KEY", key_hex(&payer))];
    let remaining = |who: Address| {
        stdout(&x402_pay(
            &[
                "remaining",
                "--rpc-url",
                &url,
                "--settlement",
                &settlement,
                "--payer",
                &who.to_string(),
                "--token",
                &token,
            ],
            &[],
        ))
    };
    assert_eq!(remaining(payer.address()), "unlimited (no policy)");

    let tx = stdout(&x402_pay(
        &[
            "set-policy",
            "--rpc-url",
            &url,
            "--settlement",
            &settlement,
            "--token",
            &token,
            "--max-per-payment",
            "5000",
        ],
        &payer_env,
    ));
    assert!(tx.starts_with("0x") && tx.len() == 66, "{tx}");
    assert_eq!(remaining(payer.address()), "5000");

    // A gasless payer: the relayer submits the payer's signature.
    let gasless = PrivateKeySigner::from_bytes(&keccak256("gasless payer")).unwrap();
    let relayer = x402_testkit::wallets::deployer();
    let tx = stdout(&x402_pay(
        &[
            "set-policy",
            "--rpc-url",
            &url,
            "--settlement",
            &settlement,
            "--token",
            &token,
            "--max-per-period",
            "9000",
            "--period",
            "3600",
            "--by-sig",
        ],
        &[
            ("X402_PAYER_KEY", key_hex(&gasless)),
            ("X402_RELAYER_KEY", key_hex(&relayer)),
        ],
    ));
    assert!(tx.starts_with("0x"), "{tx}");
    assert_eq!(remaining(gasless.address()), "9000");

    // A period limit without a period is refused before anything is sent, naming the field.
    let bad = x402_pay(
        &[
            "set-policy",
            "--rpc-url",
            &url,
            "--settlement",
            &settlement,
            "--token",
            &token,
            "--max-per-period",
            "10",
        ],
        &payer_env,
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("period"));
}
