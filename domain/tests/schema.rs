//! Holds `domain/migrations` to `x402_domain::schema` and the SQL and Solidity copies of names
//! to `Class` and `Role`: a table created by a crate that does not own it, a version out of
//! sequence in the one history, or a class missing from a `CHECK` fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use x402_domain::schema::{object, Owner, FOREIGN_INDEXES, OBJECTS};
use x402_domain::{Class, PaymentSource, Role};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// (file name, lowercased SQL with comments removed) of every migration, in version order.
fn all_migrations() -> Vec<(String, String)> {
    let dir = repo_root().join("domain/migrations");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|p| {
            let sql = std::fs::read_to_string(&p).unwrap();
            let code: Vec<&str> = sql.lines().map(|l| l.split("--").next().unwrap()).collect();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                code.join("\n").to_lowercase(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The owner a migration's file name gives (`NNNN_<tag>_<what>.sql`).
fn owner_of(file: &str) -> Option<Owner> {
    let tag = file.split('_').nth(1)?;
    Owner::ALL.into_iter().find(|o| o.tag() == Some(tag))
}

/// The migrations of `owner`.
fn migrations(owner: Owner) -> Vec<(String, String)> {
    all_migrations()
        .into_iter()
        .filter(|(file, _)| owner_of(file) == Some(owner))
        .collect()
}

/// The names following `create [or replace] [unlogged|materialized] table|view|function
/// [if not exists]` (or `create [unique] index [if not exists]` when `indexes`).
fn created(sql: &str, indexes: bool) -> Vec<String> {
    let words: Vec<&str> = sql.split_whitespace().collect();
    let mut names = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if *w != "create" {
            continue;
        }
        let mut j = i + 1;
        while j < words.len()
            && ["or", "replace", "unlogged", "materialized", "unique"].contains(&words[j])
        {
            j += 1;
        }
        let kind = words.get(j).copied().unwrap_or("");
        let wanted = if indexes {
            kind == "index"
        } else {
            ["table", "view", "function"].contains(&kind)
        };
        if !wanted {
            continue;
        }
        j += 1;
        if words.get(j) == Some(&"if") {
            j += 3;
        }
        if let Some(name) = words.get(j) {
            let name = name
                .split('(')
                .next()
                .unwrap()
                .trim_start_matches("public.");
            names.push(name.to_string());
        }
    }
    names
}

#[test]
fn every_object_is_created_by_its_declared_owner_only() {
    let mut created_by: BTreeMap<String, Owner> = BTreeMap::new();
    let mut problems = Vec::new();
    for owner in Owner::ALL {
        for (file, sql) in migrations(owner) {
            for name in created(&sql, false) {
                match object(&name) {
                    None => problems.push(format!(
                        "{file} creates `{name}`, which x402_domain::schema::OBJECTS does not declare"
                    )),
                    Some(o) if o.owner != owner => problems.push(format!(
                        "{file} ({owner:?}) creates `{name}`, which belongs to {:?}",
                        o.owner
                    )),
                    Some(_) => {
                        created_by.insert(name, owner);
                    }
                }
            }
        }
    }
    for o in OBJECTS {
        if o.owner.tag().is_some() && !created_by.contains_key(o.name) {
            problems.push(format!(
                "`{}` is declared for {:?} but no migration of it creates it",
                o.name, o.owner
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn indexes_on_other_owners_tables_are_declared() {
    let mut problems = Vec::new();
    for owner in Owner::ALL {
        for (file, sql) in migrations(owner) {
            // `create index NAME on TABLE`: the word after `on` is the table.
            for stmt in sql.split(';') {
                let Some(name) = created(stmt, true).into_iter().next() else {
                    continue;
                };
                let words: Vec<&str> = stmt.split_whitespace().collect();
                let Some(pos) = words.iter().position(|w| *w == "on") else {
                    continue;
                };
                let table = words[pos + 1].split('(').next().unwrap();
                let Some(table_owner) = object(table).map(|o| o.owner) else {
                    continue;
                };
                if table_owner != owner
                    && !FOREIGN_INDEXES
                        .iter()
                        .any(|(n, o, _)| *n == name && *o == owner)
                {
                    problems.push(format!(
                        "{file} ({owner:?}) indexes `{table}` of {table_owner:?} with `{name}`: declare it in FOREIGN_INDEXES or move it to the owner"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// One history: versions `1, 2, 3, ...` without gaps or repeats, each file named for its
/// owner, and every legacy version renumbered to one of them.
#[test]
fn the_history_is_one_sequence_of_owned_migrations() {
    let files = all_migrations();
    let mut problems = Vec::new();
    for (i, (file, _)) in files.iter().enumerate() {
        let version: Option<u64> = file.split('_').next().and_then(|v| v.parse().ok());
        if version != Some(i as u64 + 1) {
            problems.push(format!(
                "{file}: expected version {:04} (the versions run 1, 2, 3, ... in file order)",
                i + 1
            ));
        }
        if owner_of(file).is_none() {
            problems.push(format!(
                "{file}: name it NNNN_<owner>_<what>.sql with an owner of x402_domain::schema::Owner::tag"
            ));
        }
    }
    let versions = files.len() as i64;
    for (old, new) in x402_domain::schema::LEGACY_VERSIONS {
        if !(1..=versions).contains(&new) {
            problems.push(format!(
                "legacy version {old} maps to {new}, which is no migration"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        files.len() >= 21,
        "the history lost migrations: {}",
        files.len()
    );
}

/// Every `check (class in (...))` of the schema lists exactly the classes of `Class`.
#[test]
fn sql_class_checks_list_every_class() {
    let names: BTreeSet<String> = Class::ALL.iter().map(|c| c.as_str().to_string()).collect();
    let mut found = 0;
    for owner in Owner::ALL {
        for (file, sql) in migrations(owner) {
            for (pos, _) in sql.match_indices("check (class in (") {
                let rest = &sql[pos + "check (class in (".len()..];
                let list = &rest[..rest.find(')').unwrap()];
                let in_sql: BTreeSet<String> = list
                    .split(',')
                    .map(|s| s.trim().trim_matches('\'').to_string())
                    .collect();
                assert_eq!(
                    in_sql, names,
                    "{file}: its class CHECK differs from Class::ALL"
                );
                found += 1;
            }
        }
    }
    assert!(
        found >= 2,
        "expected the class CHECKs of payment_classes and payer_classes, found {found}"
    );
}

/// The latest `payments` source `CHECK` of the indexer's migrations lists exactly the sources of
/// `PaymentSource` (earlier ones are superseded by the migrations that replace them).
#[test]
fn the_payments_source_check_lists_every_source() {
    let names: BTreeSet<String> = PaymentSource::ALL
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    let needle = "check (source in (";
    let latest = migrations(Owner::Indexer)
        .into_iter()
        .filter_map(|(file, sql)| {
            let pos = sql.rfind(needle)?;
            let rest = &sql[pos + needle.len()..];
            let list: BTreeSet<String> = rest[..rest.find(')').unwrap()]
                .split(',')
                .map(|s| s.trim().trim_matches('\'').to_string())
                .collect();
            Some((file, list))
        })
        .next_back()
        .expect("a migration declares the payments source CHECK");
    assert_eq!(
        latest.1, names,
        "{}: the payments source CHECK differs from PaymentSource::ALL",
        latest.0
    );
}

/// `IEcosystemRegistry.Role` lists the roles of `Role`, in the same order.
#[test]
fn the_solidity_role_enum_matches_role() {
    let sol =
        std::fs::read_to_string(repo_root().join("contracts/interfaces/IEcosystemRegistry.sol"))
            .unwrap();
    let body = sol
        .split("enum Role {")
        .nth(1)
        .expect("enum Role in IEcosystemRegistry.sol");
    let members: Vec<String> = body[..body.find('}').unwrap()]
        .split(',')
        .map(|m| m.trim())
        .filter(|m| !m.is_empty())
        .map(|m| {
            // CamelCase -> snake_case, the stored spelling.
            let mut s = String::new();
            for (i, ch) in m.chars().enumerate() {
                if ch.is_uppercase() && i > 0 {
                    s.push('_');
                }
                s.push(ch.to_ascii_lowercase());
            }
            s
        })
        .collect();
    let ours: Vec<String> = Role::ALL.iter().map(|r| r.as_str().to_string()).collect();
    assert_eq!(members, ours);
}
