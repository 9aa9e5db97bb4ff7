//! The OpenAPI document `/openapi.json` serves, derived from the handlers of [`crate::routes`] and
//! their response types: those Rust types own the wire format. The dashboard's TypeScript types
//! are generated from the copy committed at `dashboard/openapi.json` (printed by
//! `x402-api openapi`, rewritten by `make openapi`). `api/tests/openapi.rs` fails when that copy
//! differs from [`document`], and when an answer over its test economy does not fit the document.

use utoipa::openapi::{RefOr, Schema};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::error::Problem;
use crate::routes;

/// The OpenAPI document, generated from the handlers and their types.
#[derive(OpenApi)]
#[openapi(
    info(title = "x402-settle organic-demand API", version = "1",
         description = "Gross vs organic x402 payment volume, payer activity, retention, concentration and the evidence behind every classification. Every amount carries its unit: per token in exact raw units (decimal strings, with symbol and decimals) and in USD over the tokens the configured price source prices (stablecoins at par, configured prices); unpriced tokens are listed and left out of USD totals. Integer ids that may exceed 2^53 are strings. Days are UTC. Every field of a response is present; a value that is absent is null."),
    paths(routes::summary, routes::series, routes::daily, routes::weekly, routes::monthly, routes::retention,
          routes::payments, routes::payers, routes::payees, routes::payer, routes::payment, routes::tokens,
          routes::sources, routes::status),
    components(schemas(Problem)),
    modifiers(&EveryFieldPresent),
    tags((name = "metrics", description = "Aggregates"), (name = "lists", description = "Paginated lists"),
         (name = "drill-down", description = "One payer or payment"), (name = "meta", description = "Status"))
)]
pub struct ApiDoc;

/// Marks every property of the response schemas required. The API serializes every field of its
/// response types (none skips itself; an absent value is `null`), but utoipa leaves `Option`
/// fields out of `required`, as if a client could omit them in a request: generated clients would
/// then type them `field?: T | null` and handle a missing field the API never sends. The problem
/// document is the exception: its `param` and `rule` are left out when empty, and utoipa already
/// says so. `api/tests/openapi.rs` checks real answers against this, so a response field that
/// starts leaving itself out fails there.
struct EveryFieldPresent;

impl Modify for EveryFieldPresent {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let Some(components) = doc.components.as_mut() else {
            return;
        };
        let problem = Problem::name();
        for (name, schema) in components.schemas.iter_mut() {
            if *name == problem {
                continue;
            }
            if let RefOr::T(Schema::Object(object)) = schema {
                object.required = object.properties.keys().cloned().collect();
            }
        }
    }
}

/// The document as committed at `dashboard/openapi.json`: pretty JSON ending in a newline.
pub fn openapi_document() -> String {
    let mut json = ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serializes (it is plain data)");
    json.push('\n');
    json
}
