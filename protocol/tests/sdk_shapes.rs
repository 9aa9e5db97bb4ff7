//! The wire types against JSON as the x402 SDK and our TypeScript SDK (`sdk/`) write it: each
//! recorded document reads into the Rust type and writes back as the same JSON.

use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use serde_json::{json, Value};
use x402_protocol::{
    PaymentMode, PaymentPayload, PaymentRequest, PaymentRequired, Permit2Authorization,
    SettleResponse, SupportedResponse, VerifyResponse,
};

/// Reads `json` as `T` and writes it back: the result must be the same JSON (hex strings
/// compared case-insensitively: addresses are written in lower case, the SDK checksums them).
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(json: &Value) -> T {
    let typed: T =
        serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{e} reading {json:#}"));
    assert_eq!(
        hex_lower(serde_json::to_value(&typed).unwrap()),
        hex_lower(json.clone())
    );
    typed
}

/// `json` with every `0x` string in lower case.
fn hex_lower(json: Value) -> Value {
    match json {
        Value::String(s) if s.starts_with("0x") => Value::String(s.to_lowercase()),
        Value::Array(a) => Value::Array(a.into_iter().map(hex_lower).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, hex_lower(v))).collect()),
        other => other,
    }
}

/// `sdk/test/fixtures/permit2-witness.json`: what `sdk/src/client.ts` signs and sends, with the
/// digest and signature viem computed.
fn sdk_fixture() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sdk/test/fixtures/permit2-witness.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The version 2 `PaymentPayload` the TypeScript SDK's client sends for `requirements`.
fn sdk_payload(fixture: &Value) -> Value {
    let a = &fixture["permit2Authorization"];
    json!({
        "x402Version": 2,
        "resource": {"url": "http://127.0.0.1:4021/infer", "description": "one inference", "mimeType": "application/json"},
        "accepted": {
            "scheme": "upto",
            "network": "eip155:8453",
            "amount": a["permitted"]["amount"],
            "asset": a["permitted"]["token"],
            "payTo": a["witness"]["payee"],
            "maxTimeoutSeconds": 300,
            "extra": {
                "settlement": a["spender"],
                "permit2": fixture["permit2"],
                "facilitator": a["witness"]["facilitator"],
                "requestHash": a["witness"]["requestHash"],
                "maxFacilitatorFeeBps": 50,
                "name": "USD Coin"
            }
        },
        "payload": {"signature": fixture["signature"], "permit2Authorization": a}
    })
}

#[test]
fn the_sdk_witness_fixture_round_trips_and_rebuilds_the_signed_digest() {
    let fixture = sdk_fixture();
    let auth: Permit2Authorization = round_trip(&fixture["permit2Authorization"]);
    assert_eq!(auth.witness.mode, PaymentMode::Upto as u8);
    assert_eq!(
        auth.nonce,
        "123456789012345678901234567890".parse::<U256>().unwrap()
    );

    let payload: PaymentPayload = round_trip(&sdk_payload(&fixture));
    assert_eq!(payload.scheme(), Some("upto"));
    assert_eq!(payload.signed_scheme(), Some("upto"));
    let permit2: Address = fixture["permit2"].as_str().unwrap().parse().unwrap();
    let signed = payload.to_signed(8453, permit2).unwrap();
    let digest: B256 = fixture["digest"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        signed.permit.signing_hash().unwrap(),
        digest,
        "viem's digest"
    );
    let key: PrivateKeySigner = fixture["privateKey"].as_str().unwrap().parse().unwrap();
    assert_eq!(signed.recover_payer().unwrap(), key.address());
    assert_eq!(signed.payer, key.address());

    // The header form decodes to the same payload.
    assert_eq!(PaymentPayload::decode(&payload.encode()).unwrap(), payload);
}

#[test]
fn a_version_1_payload_names_scheme_and_network_at_the_top() {
    let fixture = sdk_fixture();
    let v1 = json!({
        "x402Version": 1,
        "scheme": "upto",
        "network": "eip155:8453",
        "payload": {"signature": fixture["signature"], "permit2Authorization": fixture["permit2Authorization"]}
    });
    let p: PaymentPayload = round_trip(&v1);
    assert_eq!(
        (p.scheme(), p.network()),
        (Some("upto"), Some("eip155:8453"))
    );
}

#[test]
fn a_402_answer_round_trips() {
    let fixture = sdk_fixture();
    let accepted = sdk_payload(&fixture)["accepted"].clone();
    let doc = json!({
        "x402Version": 2,
        "error": "Payment required",
        "resource": {"url": "http://127.0.0.1:4021/infer"},
        "accepts": [accepted]
    });
    let typed: PaymentRequired = round_trip(&doc);
    assert_eq!(typed.accepts[0].mode(), Some(PaymentMode::Upto));
    assert_eq!(
        PaymentRequired::from_header(&typed.to_header()).unwrap(),
        typed
    );
}

#[test]
fn facilitator_answers_in_the_sdk_shapes_round_trip() {
    // `@x402/core`'s VerifyResponse and SettleResponse, success and refusal.
    let ok: VerifyResponse = round_trip(&json!({
        "isValid": true,
        "payer": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    }));
    assert!(ok.is_valid);
    let refused: VerifyResponse = round_trip(&json!({
        "isValid": false,
        "invalidReason": "invalid_exact_evm_payload_signature",
        "invalidMessage": "the signature recovers to 0x0000000000000000000000000000000000000001",
        "payer": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    }));
    assert_eq!(
        refused.invalid_reason.as_deref(),
        Some(x402_protocol::Reason::InvalidSignature.code())
    );
    let settled: SettleResponse = round_trip(&json!({
        "success": true,
        "payer": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "transaction": "0x0202020202020202020202020202020202020202020202020202020202020202",
        "network": "eip155:8453"
    }));
    assert_eq!(SettleResponse::decode(&settled.encode()).unwrap(), settled);
    round_trip::<SettleResponse>(&json!({
        "success": false,
        "errorReason": "settlement_pending",
        "transaction": "",
        "network": "eip155:8453"
    }));
    let supported: SupportedResponse = round_trip(&json!({
        "kinds": [
            {"x402Version": 2, "scheme": "exact", "network": "eip155:8453"},
            {"x402Version": 1, "scheme": "upto", "network": "eip155:8453", "extra": {"settlement": "0x5FbDB2315678afecb367f032d93F642f64180aa3"}}
        ],
        "extensions": ["evidence"],
        "signers": {"eip155:*": ["0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"]}
    }));
    assert_eq!(supported.kinds.len(), 2);
}

#[test]
fn a_settle_request_reads_the_evidence_from_either_place() {
    let fixture = sdk_fixture();
    let mut payload = sdk_payload(&fixture);
    let evidence = B256::repeat_byte(7);
    payload["extensions"] = json!({"evidence": {"info": {"evidenceHash": evidence}}});
    let body = json!({
        "x402Version": 2,
        "paymentPayload": payload,
        "paymentRequirements": payload["accepted"],
        "amount": "1000"
    });
    let req: PaymentRequest = round_trip(&body);
    assert_eq!(req.amount, Some(U256::from(1000u64)));
    let p = req.payload_json().unwrap();
    assert_eq!(req.evidence(&p).unwrap(), evidence);
    assert_eq!(
        x402_protocol::PayloadKind::of(&p),
        x402_protocol::PayloadKind::Settlement
    );
}
