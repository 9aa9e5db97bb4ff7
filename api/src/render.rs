//! Turns a response value into JSON or CSV.
//!
//! CSV is derived from the same JSON value, so the two formats can never disagree: a list or
//! series becomes one row per item with nested fields flattened to dotted column names
//! (`by_class.external.volume`); any other document becomes `field,value` rows.

use axum::body::Bytes;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use crate::cache::Rendered;
use crate::error::{ApiError, ApiResult};
use crate::params::Format;

/// JSON media type.
pub const JSON: &str = "application/json";
/// CSV media type.
pub const CSV: &str = "text/csv; charset=utf-8";

/// Renders `value` in `format`. `table` names the array field that holds the rows of a list or
/// series (CSV renders that array only).
pub fn render<T: Serialize>(format: Format, value: &T, table: Option<&str>) -> ApiResult<Rendered> {
    let json = serde_json::to_value(value).map_err(|e| ApiError::Internal(format!("serializing response: {e}")))?;
    match format {
        Format::Json => Ok(Rendered {
            content_type: JSON,
            body: Bytes::from(serde_json::to_vec(&json).expect("a Value serializes")),
        }),
        Format::Csv => {
            let rows = match table.and_then(|t| json.get(t)).and_then(Value::as_array) {
                Some(items) => items.iter().map(flatten).collect::<Vec<_>>(),
                None => flatten(&json)
                    .into_iter()
                    .map(|(k, v)| vec![("field".to_string(), k), ("value".to_string(), v)])
                    .collect(),
            };
            Ok(Rendered { content_type: CSV, body: Bytes::from(to_csv(&rows)?) })
        }
    }
}

/// Sends a rendered body.
pub fn respond(r: &Rendered) -> Response {
    ([(CONTENT_TYPE, r.content_type)], r.body.clone()).into_response()
}

/// Flattens a JSON value into (dotted path, text) pairs in document order.
fn flatten(v: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk("", v, &mut out);
    out
}

fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    let key = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                walk(&key(k), child, out);
            }
        }
        // Lists of scalars (flags, versions) fit one cell; lists of objects get indexed columns.
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            out.push((prefix.to_string(), items.iter().map(scalar).collect::<Vec<_>>().join(";")));
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(&key(&i.to_string()), child, out);
            }
        }
        other => out.push((prefix.to_string(), scalar(other))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn to_csv(rows: &[Vec<(String, String)>]) -> ApiResult<Vec<u8>> {
    // Header: every column any row has, in first-seen order (rows may omit null-only branches).
    let mut header: Vec<&str> = Vec::new();
    for row in rows {
        for (k, _) in row {
            if !header.contains(&k.as_str()) {
                header.push(k);
            }
        }
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ApiError::Internal(format!("writing CSV: {e}"));
    w.write_record(&header).map_err(fail)?;
    for row in rows {
        let record = header.iter().map(|h| row.iter().find(|(k, _)| k == h).map(|(_, v)| v.as_str()).unwrap_or(""));
        w.write_record(record).map_err(fail)?;
    }
    w.into_inner().map_err(|e| ApiError::Internal(format!("writing CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_rows_flatten_to_dotted_columns() {
        let v = json!({"items": [
            {"day": "2026-01-01", "by_class": {"external": {"volume": "5"}}, "flags": ["a", "b"]},
            {"day": "2026-01-02", "by_class": {"external": {"volume": "7"}, "internal": {"volume": "1"}}, "flags": []}
        ]});
        let r = render(Format::Csv, &v, Some("items")).unwrap();
        let text = String::from_utf8(r.body.to_vec()).unwrap();
        assert_eq!(
            text,
            "day,by_class.external.volume,flags,by_class.internal.volume\n2026-01-01,5,a;b,\n2026-01-02,7,,1\n"
        );
    }

    #[test]
    fn documents_become_field_value_rows() {
        let r = render(Format::Csv, &json!({"a": {"b": 1}, "c": "x,y"}), None).unwrap();
        assert_eq!(String::from_utf8(r.body.to_vec()).unwrap(), "field,value\na.b,1\nc,\"x,y\"\n");
    }
}
