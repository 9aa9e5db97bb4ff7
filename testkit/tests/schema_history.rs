//! The one migration history (`x402_domain::schema`) on real PostgreSQL: a fresh database gets
//! every migration once; a database migrated under the old per-crate histories is renumbered,
//! keeps its rows and gets only what it lacked; a database a newer binary migrated is refused.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::PgTypeInfo;
use sqlx::{Column, PgPool, TypeInfo};
use x402_domain::schema::{migrate, migrator, LEGACY_VERSIONS};
use x402_testkit::TestDb;

async fn versions(pool: &PgPool) -> Vec<i64> {
    sqlx::query_scalar("select version from _sqlx_migrations order by version")
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn tables(pool: &PgPool) -> BTreeSet<String> {
    sqlx::query_scalar(
        "select table_name::text from information_schema.tables
          where table_schema = 'public' and table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

fn all_versions() -> Vec<i64> {
    migrator().iter().map(|m| m.version).collect()
}

#[tokio::test]
async fn a_fresh_database_gets_every_migration_once() {
    let db = TestDb::create().await.unwrap();
    let pool = db.pool().await.unwrap();
    migrate(&pool).await.unwrap();
    let first = tables(&pool).await;
    assert_eq!(versions(&pool).await, all_versions());
    assert_eq!(
        all_versions(),
        (1..=all_versions().len() as i64).collect::<Vec<_>>()
    );
    for t in [
        "payments",
        "payment_classes",
        "api_daily_stats",
        "facilitator_settlements",
    ] {
        assert!(first.contains(t), "{t} missing after migrating: {first:?}");
    }
    // A second start (or another service) applies nothing more.
    migrate(&pool).await.unwrap();
    assert_eq!(versions(&pool).await, all_versions());
    assert_eq!(tables(&pool).await, first);
}

/// What the indexer and classifier of the previous release left: their migrations applied and
/// recorded under their old version numbers, nothing of the API's or the facilitator's.
#[tokio::test]
async fn a_database_of_the_per_crate_histories_is_adopted_without_loss() {
    let db = TestDb::create().await.unwrap();
    let pool = db.pool().await.unwrap();
    let old_of = |v: i64| {
        LEGACY_VERSIONS
            .iter()
            .find(|(_, new)| *new == v)
            .map_or(v, |(old, _)| *old)
    };
    let mut previous: Migrator = migrator();
    let indexer_and_classifier: Vec<_> = previous
        .iter()
        .filter(|m| {
            let d = m.description.as_ref();
            d.starts_with("indexer") || d.starts_with("classifier")
        })
        .cloned()
        .collect();
    previous.migrations = indexer_and_classifier.into();
    previous.run(&pool).await.unwrap();
    for m in previous.iter() {
        sqlx::query("update _sqlx_migrations set version = $1 where version = $2")
            .bind(old_of(m.version))
            .bind(m.version)
            .execute(&pool)
            .await
            .unwrap();
    }
    let recorded = versions(&pool).await;
    assert!(recorded.contains(&20261121500000) && recorded.contains(&20261203000000));
    sqlx::query(
        "insert into checkpoint (chain_id, block_number, block_hash, settlement_address,
                                 registry_address, start_block)
         values (31337, 42, $1, $2, $2, 0)",
    )
    .bind(vec![7u8; 32])
    .bind(vec![9u8; 20])
    .execute(&pool)
    .await
    .unwrap();

    migrate(&pool).await.unwrap();

    assert_eq!(versions(&pool).await, all_versions());
    let now = tables(&pool).await;
    assert!(now.contains("api_daily_stats") && now.contains("facilitator_settlements"));
    let kept: i64 =
        sqlx::query_scalar("select block_number from checkpoint where chain_id = 31337")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(kept, 42, "the checkpoint row survived the adoption");
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_binary_is_refused() {
    let db = TestDb::create().await.unwrap();
    let pool = db.pool().await.unwrap();
    migrate(&pool).await.unwrap();
    let newer = all_versions().len() as i64 + 1;
    sqlx::query(
        "insert into _sqlx_migrations (version, description, success, checksum, execution_time)
         values ($1, 'from the future', true, '\\x00'::bytea, 0)",
    )
    .bind(newer)
    .execute(&pool)
    .await
    .unwrap();
    match migrate(&pool).await {
        Err(MigrateError::VersionMissing(v)) => assert_eq!(v, newer),
        other => panic!("expected VersionMissing({newer}), got {other:?}"),
    }
}

/// The committed query data of the compile-time checked queries (`.sqlx/`, which the build reads
/// offline) still describes what PostgreSQL answers for each query on the migrated schema: a
/// migration that changes a column such a query reads fails here until
/// `script/sqlx-prepare.sh` is run (and then the build shows every query it broke).
#[tokio::test]
async fn the_checked_queries_data_matches_the_migrated_schema() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join(".sqlx");
    let db = TestDb::create().await.unwrap();
    let pool = db.pool().await.unwrap();
    migrate(&pool).await.unwrap();
    let mut checked = 0;
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let recorded: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let sql = recorded["query"].as_str().expect("a query");
        let now = match sqlx::Executor::describe(&pool, sql).await {
            Ok(d) => described(&d),
            Err(e) => serde_json::Value::String(format!("fails: {e}")),
        };
        let then = recorded_description(&recorded["describe"]);
        if now != then {
            stale.push(format!(
                "{}:\n  query: {sql}\n  recorded: {then}\n  now:      {now}",
                path.display(),
            ));
        }
        checked += 1;
    }
    assert!(
        stale.is_empty(),
        "the query data in .sqlx/ is stale (run script/sqlx-prepare.sh and commit .sqlx/):\n{}",
        stale.join("\n")
    );
    assert!(checked > 0, "no query data in {}", dir.display());
}

/// A type's name as the query data spells it (`PgType` variants: `Int8`, `Bytea`,
/// `TextArray`), lowercased.
fn type_name(t: &PgTypeInfo) -> String {
    t.name()
        .to_lowercase()
        .replace("[]", "array")
        .replace('_', "")
}

/// A recorded type: a `PgType` variant name, or a custom type's object (by its name).
fn recorded_type(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_lowercase(),
        Value::Object(m) => m
            .values()
            .find_map(|inner| inner.get("name").and_then(Value::as_str))
            .map_or_else(|| v.to_string(), str::to_lowercase),
        other => other.to_string(),
    }
}

/// What the compile-time check relies on: each column's name and type, each parameter's type,
/// each column's nullability.
fn described(d: &sqlx::Describe<sqlx::Postgres>) -> Value {
    let params: Vec<String> = d
        .parameters()
        .and_then(|p| p.left())
        .unwrap_or_default()
        .iter()
        .map(type_name)
        .collect();
    json!({
        "columns": d.columns().iter().map(|c| json!([c.name(), type_name(c.type_info())])).collect::<Vec<_>>(),
        "parameters": params,
        "nullable": d.nullable,
    })
}

/// The same, from the recorded query data.
fn recorded_description(d: &Value) -> Value {
    let columns: Vec<Value> = d["columns"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|c| json!([c["name"], recorded_type(&c["type_info"])]))
        .collect();
    let params: Vec<String> = d["parameters"]["Left"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(recorded_type)
        .collect();
    json!({ "columns": columns, "parameters": params, "nullable": d["nullable"] })
}
