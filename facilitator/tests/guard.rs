//! Facing the internet, against the real binary: API keys sent the x402 SDK's way, a flood of
//! unauthenticated callers limited (429 + Retry-After) without starving a keyed customer, body
//! size limits, and RFC 9457 problem documents.

mod harness;

use harness::Env;
use serde_json::{json, Value};

#[tokio::test]
async fn keys_rate_limits_and_body_limits() {
    let env = Env::start(1, None).await;
    let scratch = x402_testkit::paths::scratch_dir("guard").unwrap();
    let keys = scratch.join("keys");
    let key = format!("customer-key-{}", x402_testkit::unique_suffix());
    std::fs::write(&keys, format!("customer:{key}\n")).unwrap();
    let f = env
        .facilitator(&[
            "--api-keys-file",
            keys.to_str().unwrap(),
            "--anonymous-rate",
            "0.01",
            "--anonymous-burst",
            "5",
            "--max-body-bytes",
            "4096",
        ])
        .await;
    let verify = format!("{}/verify", f.url);
    // A body every caller may send: answered 200 with a refusal (no payment in it).
    let empty = json!({"x402Version": 2});

    // An unauthenticated flood: the first few are served from the shared budget, the rest get 429.
    let flood =
        futures::future::join_all((0..40).map(|_| env.http.post(&verify).json(&empty).send()))
            .await;
    let statuses: Vec<u16> = flood
        .iter()
        .map(|r| r.as_ref().unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        35,
        "{statuses:?}"
    );
    let limited = flood
        .into_iter()
        .map(Result::unwrap)
        .find(|r| r.status() == 429)
        .unwrap();
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1, "Retry-After in whole seconds");
    assert_eq!(
        limited.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = limited.json().await.unwrap();
    assert_eq!(problem["status"], 429);
    assert_eq!(problem["type"], "rate-limited");

    // The keyed customer is not starved: its own budget, sent as the SDK's createAuthHeaders does.
    for _ in 0..20 {
        let r = env
            .http
            .post(&verify)
            .bearer_auth(&key)
            .json(&empty)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["isValid"], false);
        assert_eq!(v["invalidReason"], "invalid_payload");
    }
    let r = env
        .http
        .post(&verify)
        .header("x-api-key", &key)
        .json(&empty)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A wrong key is refused, not served as anonymous.
    let r = env
        .http
        .post(&verify)
        .bearer_auth("not-a-key")
        .json(&empty)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");

    // Bodies over the limit are refused before parsing; bad JSON is a 400 problem naming why.
    let big = json!({"x402Version": 2, "paymentPayload": "A".repeat(5000)});
    let r = env
        .http
        .post(format!("{}/settle", f.url))
        .bearer_auth(&key)
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["type"], "body-too-large");
    let r = env
        .http
        .post(&verify)
        .bearer_auth(&key)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let problem: Value = r.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("request body"),
        "{problem}"
    );

    // /supported stays open to everybody (the SDK reads it at start).
    let r = env
        .http
        .get(format!("{}/supported", f.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let metrics = env
        .http
        .get(format!("{}/metrics", f.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"x402_facilitator_refused_requests_total{status="429"} 35"#),
        "{metrics}"
    );
}
