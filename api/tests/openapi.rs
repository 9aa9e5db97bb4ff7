//! The OpenAPI document is true and the dashboard has it: the API's answers over the test economy
//! fit the document (every declared field present, none undeclared, every type as declared), and
//! the copy committed at `dashboard/openapi.json`, which the dashboard's TypeScript types are
//! generated from, is the one the API serves. A changed response type fails here until the copy
//! is regenerated, and then fails the dashboard's type check wherever the dashboard reads what
//! changed.

mod common;

use common::*;
use serde_json::Value;
use utoipa::OpenApi;

/// Where the dashboard keeps its copy, relative to this crate.
const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../dashboard/openapi.json");

/// How many differences the failure lists.
const SHOWN: usize = 12;

#[test]
fn committed_document_is_the_served_one() {
    let served = x402_api::openapi_document();
    let committed = match std::fs::read_to_string(COMMITTED) {
        Ok(text) => text,
        Err(e) => {
            panic!("cannot read {COMMITTED} ({e}): write it with `make openapi` and commit it")
        }
    };
    if committed == served {
        return;
    }
    let mut differences = Vec::new();
    match serde_json::from_str::<Value>(&committed) {
        Ok(old) => {
            let new: Value = serde_json::from_str(&served).expect("the served document is JSON");
            diff("", &old, &new, &mut differences);
        }
        Err(e) => differences.push(format!("the committed copy is not JSON ({e})")),
    }
    if differences.is_empty() {
        differences.push("same content, different layout".into());
    }
    let total = differences.len();
    differences.truncate(SHOWN);
    panic!(
        "dashboard/openapi.json is not the OpenAPI document x402-api serves ({total} difference(s)):\n  {}{}\n\
         The API's Rust types own the wire format and the dashboard's types are generated from this \
         copy: run `make openapi`, commit dashboard/openapi.json, then `script/build-dashboard.sh` \
         type-checks the dashboard against it.",
        differences.join("\n  "),
        if total > SHOWN { "\n  ..." } else { "" },
    );
}

/// Appends the JSON pointer of every place `old` (committed) and `new` (served) differ.
fn diff(at: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (k, v) in o {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match n.get(k) {
                    Some(w) => diff(&here, v, w, out),
                    None => out.push(format!("{here}: committed, no longer served")),
                }
            }
            for k in n.keys().filter(|k| !o.contains_key(*k)) {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(format!("{here}: served, not committed"));
            }
        }
        (Value::Array(o), Value::Array(n)) if o.len() == n.len() => {
            for (i, (v, w)) in o.iter().zip(n).enumerate() {
                diff(&format!("{at}/{i}"), v, w, out);
            }
        }
        _ if old != new => out.push(format!(
            "{at}: committed {}, served {}",
            short(old),
            short(new)
        )),
        _ => {}
    }
}

/// A value's JSON, cut to a readable length.
fn short(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

#[tokio::test]
async fn answers_fit_the_document() {
    let fx = Fixture::new().await;
    let doc: Value = serde_json::to_value(x402_api::ApiDoc::openapi()).unwrap();
    let t1 = lc(token_1());
    let mut calls: Vec<(&str, String)> = vec![
        ("/v1/metrics/summary", "/v1/metrics/summary".into()),
        (
            "/v1/metrics/summary",
            format!("/v1/metrics/summary?token={t1}"),
        ),
        (
            "/v1/metrics/series",
            "/v1/metrics/series?interval=week".into(),
        ),
        ("/v1/metrics/daily", "/v1/metrics/daily".into()),
        (
            "/v1/metrics/weekly",
            format!("/v1/metrics/weekly?token={t1}"),
        ),
        ("/v1/metrics/monthly", "/v1/metrics/monthly".into()),
        ("/v1/metrics/retention", "/v1/metrics/retention".into()),
        (
            "/v1/metrics/retention",
            format!("/v1/metrics/retention?token={t1}"),
        ),
        ("/v1/payments", "/v1/payments?limit=1000".into()),
        ("/v1/payers", "/v1/payers?limit=1000".into()),
        ("/v1/payees", "/v1/payees?limit=1000".into()),
        ("/v1/tokens", "/v1/tokens".into()),
        ("/v1/sources", "/v1/sources".into()),
        ("/v1/status", "/v1/status".into()),
    ];
    // Every payer's profile and every payment: verdicts and clusters present and absent, batched
    // and lone payments, classified and not.
    for p in fx.ok("/v1/payers?limit=1000").await["items"]
        .as_array()
        .unwrap()
    {
        let payer = p["payer"].as_str().unwrap();
        calls.push(("/v1/payers/{address}", format!("/v1/payers/{payer}")));
        calls.push((
            "/v1/payers/{address}",
            format!("/v1/payers/{payer}?token={t1}"),
        ));
    }
    for p in fx.ok("/v1/payments?limit=1000").await["items"]
        .as_array()
        .unwrap()
    {
        let id = p["payment_id"].as_str().unwrap();
        calls.push(("/v1/payments/{payment_id}", format!("/v1/payments/{id}")));
    }

    let mut misfits = Vec::new();
    for (path, uri) in &calls {
        let schema = &doc["paths"][*path]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"];
        assert!(schema.is_object(), "{path}: no JSON 200 answer documented");
        fit(&doc, schema, &fx.ok(uri).await, uri, &mut misfits);
    }
    assert!(
        misfits.is_empty(),
        "answers that do not fit the OpenAPI document: fix the response type or its schema \
         annotations (no field may leave itself out: see `x402_api::openapi`), then \
         `make openapi`:\n  {}",
        misfits.join("\n  ")
    );
}

/// Appends where `value` (found at `at`) does not fit `schema`: the subset of JSON Schema utoipa
/// writes (`$ref`, `oneOf`, `allOf`, `enum`, `type`, `properties` with `required`,
/// `additionalProperties`, `items`). An object's undeclared field is a misfit too: the document
/// must list everything the API sends.
fn fit(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        let target = &doc["components"]["schemas"][name];
        assert!(target.is_object(), "{r}: no such schema");
        return fit(doc, target, value, at, out);
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        all.iter().for_each(|s| fit(doc, s, value, at, out));
    }
    if let Some(alternatives) = schema.get("oneOf").and_then(Value::as_array) {
        let fitting = alternatives
            .iter()
            .filter(|s| {
                let mut misfits = Vec::new();
                fit(doc, s, value, at, &mut misfits);
                misfits.is_empty()
            })
            .count();
        if fitting != 1 {
            out.push(format!("{at}: {value} fits {fitting} of `oneOf`, not one"));
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            out.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return,
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    if !types
        .iter()
        .any(|t| *t == kind || (*t == "number" && kind == "integer"))
    {
        out.push(format!("{at}: {value} is {kind}, documented as {types:?}"));
        return;
    }
    match value {
        Value::Object(fields) => {
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().unwrap();
                if !fields.contains_key(name) {
                    out.push(format!("{at}.{name}: documented as required, not sent"));
                }
            }
            for (name, v) in fields {
                let here = format!("{at}.{name}");
                match schema["properties"].get(name) {
                    Some(s) => fit(doc, s, v, &here, out),
                    None => match &schema["additionalProperties"] {
                        Value::Bool(true) => {}
                        s @ Value::Object(_) => fit(doc, s, v, &here, out),
                        _ => out.push(format!("{here}: sent, not documented")),
                    },
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                fit(doc, &schema["items"], v, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}
