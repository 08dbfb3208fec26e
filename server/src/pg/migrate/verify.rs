//! The migration's verification (`pg/migrate.rs`), reading both databases inside the copy's
//! transaction: per document, its heads, its snapshot's SHA-256, its change count and its
//! change rows' SHA-256 ([`verify_docs`]); per table of the reminders' outbox, its rows'
//! SHA-256 ([`verify_rows`]), so a reminder's delivery or a person's "seen" is the same on
//! both.

use std::collections::BTreeMap;

use rusqlite::Connection;
use sha2::{Digest, Sha256};

use super::MigrateError;
use crate::store::sql::{Sql, SqlRow, Value};
use crate::store::{StoreError, load_snapshot};

/// What the verification compares of one document.
#[derive(Debug, Default, PartialEq, Eq)]
struct DocFacts {
    heads: Vec<u8>,
    snapshot: [u8; 32],
    changes: u64,
    change_rows: Vec<u8>,
}

fn hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Per document: heads, the snapshot's hash, its change count and its change rows' hash.
fn doc_facts(
    docs: Vec<SqlRow>,
    changes: Vec<SqlRow>,
) -> Result<BTreeMap<String, DocFacts>, StoreError> {
    let mut facts = BTreeMap::new();
    for r in docs {
        facts.insert(
            r.text(0)?,
            DocFacts {
                heads: r.blob(2)?,
                snapshot: hash(&r.blob(1)?),
                ..DocFacts::default()
            },
        );
    }
    let mut rows: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for r in changes {
        let mut line = r.blob(1)?;
        line.extend(r.blob(2)?);
        line.extend(r.blob(3)?);
        line.extend(r.int(4)?.to_be_bytes());
        line.extend(r.int(5)?.to_be_bytes());
        rows.entry(r.text(0)?).or_default().push(line);
    }
    for (doc, mut lines) in rows {
        lines.sort();
        let f = facts.entry(doc).or_default();
        f.changes = lines.len() as u64;
        f.change_rows = hash(&lines.concat()).to_vec();
    }
    Ok(facts)
}

/// Compares every document's facts on both databases; the first that differs is the error.
pub(super) fn verify_docs(lite: &Connection, pg: &impl Sql) -> Result<(), MigrateError> {
    let changes = "SELECT doc_id, hash, actor, device, device_time, received_at FROM changes";
    let mut stmt = lite
        .prepare(
            "SELECT doc_id, snapshot, heads, inflated_size, dictionary FROM docs ORDER BY doc_id",
        )
        .map_err(StoreError::from)?;
    let mut lite_docs = Vec::new();
    let mut rows = stmt.query([]).map_err(StoreError::from)?;
    while let Some(r) = rows.next().map_err(StoreError::from)? {
        let doc_id: String = r.get(0).map_err(StoreError::from)?;
        let snapshot = load_snapshot(
            r.get(1).map_err(StoreError::from)?,
            r.get(3).map_err(StoreError::from)?,
            r.get(4).map_err(StoreError::from)?,
            &doc_id,
        )?;
        lite_docs.push(SqlRow(vec![
            Value::Text(doc_id),
            Value::Blob(snapshot),
            r.get(2).map_err(StoreError::from)?,
        ]));
    }
    let lite_facts = doc_facts(
        lite_docs,
        crate::store::sql::Lite(lite).query(changes, &[])?,
    )?;
    let pg_facts = doc_facts(
        pg.query("SELECT doc_id, snapshot, heads FROM docs", &[])?,
        pg.query(changes, &[])?,
    )?;
    for (doc, want) in &lite_facts {
        let got = pg_facts.get(doc);
        let what = match got {
            None => Some("missing"),
            Some(g) if g.heads != want.heads => Some("its heads differ"),
            Some(g) if g.snapshot != want.snapshot => Some("its snapshot's bytes differ"),
            Some(g) if g.changes != want.changes => Some("its change count differs"),
            Some(g) if g.change_rows != want.change_rows => Some("its change rows differ"),
            Some(_) => None,
        };
        if let Some(what) = what {
            return Err(MigrateError::Mismatch(format!("document {doc}: {what}")));
        }
    }
    if let Some(extra) = pg_facts.keys().find(|d| !lite_facts.contains_key(*d)) {
        return Err(MigrateError::Mismatch(format!(
            "document {extra} is only on PostgreSQL"
        )));
    }
    Ok(())
}

/// A value as bytes that cannot be mistaken for another's: a kind byte, then the value (text
/// and bytes preceded by their length).
fn encode(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(0),
        Value::Integer(n) => {
            out.push(1);
            out.extend(n.to_be_bytes());
        }
        Value::Real(x) => {
            out.push(2);
            out.extend(x.to_bits().to_be_bytes());
        }
        Value::Text(t) => {
            out.push(3);
            out.extend((t.len() as u64).to_be_bytes());
            out.extend(t.as_bytes());
        }
        Value::Blob(b) => {
            out.push(4);
            out.extend((b.len() as u64).to_be_bytes());
            out.extend(b);
        }
    }
}

/// The SHA-256 of a query's rows, whatever their order (each row encoded, the rows sorted).
fn rows_hash(rows: &[SqlRow]) -> [u8; 32] {
    let mut lines: Vec<Vec<u8>> = rows
        .iter()
        .map(|r| {
            let mut line = Vec::new();
            for v in &r.0 {
                encode(v, &mut line);
            }
            line
        })
        .collect();
    lines.sort();
    let mut all = Vec::new();
    for line in lines {
        all.extend((line.len() as u64).to_be_bytes());
        all.extend(line);
    }
    hash(&all)
}

/// Compares the rows of `table` (those `filter` keeps, `""` for all) on both databases,
/// `columns` as `(SQLite's name, PostgreSQL's name)` in one order: the same rows, or what
/// differs.
pub(super) fn verify_rows(
    lite: &impl Sql,
    pg: &impl Sql,
    table: &str,
    columns: &[(&str, &str)],
    filter: &str,
) -> Result<(), MigrateError> {
    let select = |names: Vec<&str>| {
        let names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        format!("SELECT {} FROM {table}{filter}", names.join(", "))
    };
    let on_lite = lite.query(&select(columns.iter().map(|c| c.0).collect()), &[])?;
    let on_pg = pg.query(&select(columns.iter().map(|c| c.1).collect()), &[])?;
    if rows_hash(&on_lite) != rows_hash(&on_pg) {
        return Err(MigrateError::Mismatch(format!(
            "{table}: the rows' SHA-256 differs"
        )));
    }
    Ok(())
}
