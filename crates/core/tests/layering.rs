//! The store is the only layer that knows the two databases, and the only crate that knows
//! SQL is `roster-core`. This test reads the source tree and keeps it so.
//!
//! - No file of `roster-core` outside `src/store/` names a backend (`DbBackend`,
//!   `Backend::…`, `get_database_backend`, `.backend()`): what differs between SQLite and
//!   PostgreSQL is asked of the store by purpose.
//! - No crate but `roster-core` (and the entities and migrations themselves) depends on
//!   SeaORM or the entities; the integration tests may, to look at the database.
//! - No file of `roster-core` outside the store builds a query: none names an entity,
//!   names SeaORM beyond the handles and errors a service passes along ([`HANDLES`]), or
//!   writes SQL text for `db.raw`. Services ask the store's functions, in domain types.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

/// What a service may name of SeaORM: the handles it passes to the store (a connection,
/// a transaction) and the errors it maps. Anything else (entities, query builders,
/// `sea_query`, statements) is the store's.
const HANDLES: &[&str] = &[
    "ConnectionTrait",
    "DatabaseConnection",
    "DatabaseTransaction",
    "DbErr",
    "SqlErr",
    "TransactionError",
];

const BACKEND_NAMES: &[&str] = &[
    "DbBackend",
    "DatabaseBackend",
    "Backend::",
    "get_database_backend",
    ".backend()",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's code: comment lines dropped, and everything from a `#[cfg(test)]` on
/// (unit tests may build what they check any way they like).
fn code_of(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    code.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn core_files() -> Vec<(String, String)> {
    let src = workspace().join("crates/core/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut named: Vec<(String, String)> = files
        .iter()
        .map(|path| {
            let name = path
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (name, code_of(path))
        })
        .collect();
    named.sort();
    named
}

/// The names a file takes from SeaORM: every identifier after `sea_orm::`, in a path
/// (`sea_orm::DbErr`) or a group (`sea_orm::{ConnectionTrait, sea_query::Expr}`).
fn seaorm_names(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in code.match_indices("sea_orm::") {
        let rest = &code[at + "sea_orm::".len()..];
        let taken = if rest.starts_with('{') {
            let mut depth = 0;
            let end = rest
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(rest.len(), |(i, _)| i + 1);
            &rest[..end]
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            &rest[..end]
        };
        names.extend(
            taken
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|word| !word.is_empty() && *word != "self")
                .map(str::to_owned),
        );
    }
    names
}

/// Whether a file builds queries itself: it names an entity, anything of SeaORM but the
/// handles and errors, or writes SQL text for the store to run (`db.raw`, `raw_in`).
fn reaches_the_database(code: &str) -> bool {
    code.contains("roster_entity")
        || code.contains(".raw(")
        || code.contains("raw_in(")
        || seaorm_names(code)
            .iter()
            .any(|name| !HANDLES.contains(&name.as_str()))
}

#[test]
fn the_database_check_tells_handles_from_builders() {
    assert!(!reaches_the_database(
        "use sea_orm::{ConnectionTrait, DbErr};"
    ));
    assert!(!reaches_the_database("fn f(e: sea_orm::DbErr) {}"));
    assert!(reaches_the_database(
        "use sea_orm::{ConnectionTrait, sea_query::Expr};"
    ));
    assert!(reaches_the_database("use sea_orm::EntityTrait;"));
    assert!(reaches_the_database("use roster_entity::user;"));
    assert!(reaches_the_database("db.raw(\"SELECT 1\", [])"));
}

#[test]
fn no_file_outside_the_store_names_a_backend() {
    let offenders: Vec<String> = core_files()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("store/"))
        .flat_map(|(name, code)| {
            BACKEND_NAMES
                .iter()
                .filter(|needle| code.contains(**needle))
                .map(|needle| format!("{name} names `{needle}`"))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "ask the store (src/store/raw.rs) by purpose instead:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn no_file_outside_the_store_reaches_the_entities() {
    let reaching: Vec<String> = core_files()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("store/"))
        .filter(|(_, code)| reaches_the_database(code))
        .map(|(name, _)| name)
        .collect();
    assert!(
        reaching.is_empty(),
        "these files reach the entities or SeaORM outside the store; put their queries \
         in src/store/ and call them: {reaching:?}"
    );
}

#[test]
fn only_core_depends_on_seaorm_and_the_entities() {
    let root = workspace();
    for krate in ["scim", "web", "server", "bench", "testkit"] {
        let manifest =
            fs::read_to_string(root.join("crates").join(krate).join("Cargo.toml")).unwrap();
        let dependencies = manifest
            .split("[dev-dependencies]")
            .next()
            .unwrap_or_default();
        for forbidden in ["roster-entity", "sea-orm"] {
            // The test kit opens databases for tests; nothing it builds ships.
            if krate == "testkit" && forbidden == "sea-orm" {
                continue;
            }
            assert!(
                !dependencies.contains(forbidden),
                "crates/{krate} depends on {forbidden}; only roster-core may"
            );
        }
        let mut files = Vec::new();
        rust_files(&root.join("crates").join(krate).join("src"), &mut files);
        for file in files {
            let code = code_of(&file);
            if krate != "testkit" {
                assert!(
                    !code.contains("roster_entity") && !code.contains("sea_orm"),
                    "{} reaches the database's entities; ask roster-core",
                    file.display()
                );
            }
        }
    }
}
