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
    match format {
        Format::Json => Ok(Rendered {
            content_type: JSON,
            body: Bytes::from(
                serde_json::to_vec(value)
                    .map_err(|e| ApiError::Internal(format!("serializing response: {e}")))?,
            ),
        }),
        Format::Csv => {
            // Re-read the JSON into an order-keeping tree so columns follow the structs' field
            // order (`period` first, ...), not the alphabetical order of `serde_json::Value`.
            let bytes = serde_json::to_vec(value)
                .map_err(|e| ApiError::Internal(format!("serializing response: {e}")))?;
            let doc: Node = serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::Internal(format!("re-reading response: {e}")))?;
            let rows = match table.and_then(|t| doc.get(t)).and_then(Node::as_array) {
                Some(items) => items.iter().map(flatten).collect::<Vec<_>>(),
                None => flatten(&doc)
                    .into_iter()
                    .map(|(k, v)| vec![("field".to_string(), k), ("value".to_string(), v)])
                    .collect(),
            };
            Ok(Rendered {
                content_type: CSV,
                body: Bytes::from(to_csv(&rows)?),
            })
        }
    }
}

/// Sends a rendered body.
pub fn respond(r: &Rendered) -> Response {
    ([(CONTENT_TYPE, r.content_type)], r.body.clone()).into_response()
}

/// A JSON value whose objects keep their fields in document order.
#[derive(Debug, Clone)]
enum Node {
    Scalar(Value),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<&Vec<Node>> {
        match self {
            Node::Array(items) => Some(items),
            _ => None,
        }
    }

    fn is_container(&self) -> bool {
        !matches!(self, Node::Scalar(_))
    }
}

impl<'de> serde::Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Scalar(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Scalar(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
                Ok(Node::Scalar(Value::from(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Scalar(Value::from(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Scalar(Value::String(v.to_string())))
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Scalar(Value::Null))
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Scalar(Value::Null))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(n) = seq.next_element()? {
                    items.push(n);
                }
                Ok(Node::Array(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut fields = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Node>()? {
                    fields.push((k, v));
                }
                Ok(Node::Object(fields))
            }
        }
        d.deserialize_any(V)
    }
}

/// Flattens a JSON tree into (dotted path, text) pairs in document order.
fn flatten(v: &Node) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk("", v, &mut out);
    out
}

fn walk(prefix: &str, v: &Node, out: &mut Vec<(String, String)>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Node::Object(fields) => {
            for (k, child) in fields {
                walk(&key(k), child, out);
            }
        }
        // Lists of scalars (flags, versions) fit one cell; lists of objects get indexed columns.
        Node::Array(items) if items.iter().all(|i| !i.is_container()) => {
            let cells: Vec<String> = items
                .iter()
                .map(|i| {
                    if let Node::Scalar(s) = i {
                        scalar(s)
                    } else {
                        String::new()
                    }
                })
                .collect();
            out.push((prefix.to_string(), cells.join(";")));
        }
        Node::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(&key(&i.to_string()), child, out);
            }
        }
        Node::Scalar(s) => out.push((prefix.to_string(), scalar(s))),
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
        let record = header.iter().map(|h| {
            row.iter()
                .find(|(k, _)| k == h)
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        });
        w.write_record(record).map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| ApiError::Internal(format!("writing CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Serialize)]
    struct Row {
        day: &'static str,
        by_class: serde_json::Value,
        flags: Vec<&'static str>,
    }

    #[derive(Serialize)]
    struct Page {
        items: Vec<Row>,
    }

    #[test]
    fn table_rows_flatten_to_dotted_columns_in_field_order() {
        let v = Page {
            items: vec![
                Row {
                    day: "2026-01-01",
                    by_class: json!({"external": {"volume": "5"}}),
                    flags: vec!["a", "b"],
                },
                Row {
                    day: "2026-01-02",
                    by_class: json!({"external": {"volume": "7"}, "internal": {"volume": "1"}}),
                    flags: vec![],
                },
            ],
        };
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
        assert_eq!(
            String::from_utf8(r.body.to_vec()).unwrap(),
            "field,value\na.b,1\nc,\"x,y\"\n"
        );
    }
}
