//! Drill-downs: one payment (with its lifecycle, classification evidence and, for batched
//! evidence, the Merkle inclusion proof) and one payer's profile (with the full explanation of its
//! class).

mod payer;
mod payment;

use serde_json::Value;

pub use payer::{payer, PayerProfile};
pub use payment::{payment, PaymentDetail};

/// Rewrites integer `cluster_id` values anywhere in an evidence tree as decimal strings: they are
/// int8 and a JSON number above 2^53 loses digits in JavaScript.
pub fn ids_as_strings(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| match v {
                    Value::Number(n) if k == "cluster_id" || k.ends_with("_cluster_id") => {
                        (k, Value::String(n.to_string()))
                    }
                    other => (k, ids_as_strings(other)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(ids_as_strings).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn cluster_ids_become_strings_at_any_depth() {
        let big = 9_007_199_254_740_993u64; // 2^53 + 1: not exact as a JavaScript number
        let v = json!({
            "cluster_id": big,
            "rules": [{"funder_cluster_id": 7, "payments": 3}],
            "other": {"cluster": 5, "cluster_id": null}
        });
        assert_eq!(
            ids_as_strings(v),
            json!({
                "cluster_id": "9007199254740993",
                "rules": [{"funder_cluster_id": "7", "payments": 3}],
                "other": {"cluster": 5, "cluster_id": null}
            })
        );
    }
}
