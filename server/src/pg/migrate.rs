//! `lianxin-server migrate --from lianxin.db --to postgres://…` (issue 16 item 2): copies a
//! district's SQLite database into an empty PostgreSQL database and verifies the copy.
//!
//! **What moves, and how.** Every table both databases have, row by row, each PostgreSQL
//! column filled from SQLite's column of the same name (`user` is `user_id` on PostgreSQL):
//! the directory (org units, people, devices, session tokens, assignments, enterprise
//! merges, the devices' sync marks and outbox reports), the audit log (its hash chain as it
//! is), bulletins (their ids kept), the documents and their changes, what each device is
//! known to have and its deliveries not yet acknowledged (so no device downloads its scope
//! again), the change feed's counter and the store's epoch, the query tables and the history
//! verdicts, and the blobs' bookkeeping (which records reference which photo, the tus uploads'
//! rows with what they charged to the daily budget, the orphans garbage collection noted), and
//! the reminders' outbox (below). Documents move as stored, never merged again: each
//! snapshot's Automerge bytes
//! (inflated from SQLite's dictionary deflate, `store/snapshot.rs`) and each change's row (its
//! hash, actor, device, the device's time and the server's receipt) stay identical, so the
//! history keeps every change's author and time and every device's heads still match. The
//! query tables are copied rather than projected again: their rows are what SQLite's commits
//! projected at the time (the KPI times clamped against each device's settling window as it
//! was then, `store/projection.rs`), which a projection now, against today's windows, might
//! not give back; a PostgreSQL commit writes the same rows (`db/conformance/sync_store/
//! query_tables.rs`). A SQLite note deflated (`store/packed_text.rs`) becomes its text.
//!
//! **The reminders' outbox** (PostgreSQL's `0012_reminders`) moves whole: every reminder row
//! (its id kept, the serial counter moved past it; attempts, next attempt, delivered or seen,
//! last error), the occasions already resolved to people, the watch times, the scan's cursor
//! (the feed's numbers being the same) and when the outbox started (SQLite's `0014_reminders`
//! applied, kept as `reminder_meta`'s `since` in place of the time PostgreSQL's migration
//! recorded). So the first scan on PostgreSQL owes nothing SQLite's already recorded (no
//! deadline, look-back or hand-out reminded twice), reminders waiting to be sent are sent
//! once, and a person's in-app reminders (`GET /api/notifications`) read the same, those seen
//! staying seen. **The 连心卡** (PostgreSQL's `0015_enterprise_cards`) moves as stored: live
//! cards with their tokens (printed cards keep working), retired ones as hashes (their links
//! still answer "no longer valid"), compared by count and rows' SHA-256. **The published
//! configurations** (PostgreSQL's `0016_published_configs`) move as stored, compared the same
//! way.
//!
//! **What does not move** is named in the report, never left out silently: tables PostgreSQL
//! does not have yet (none now; [`NOT_ON_POSTGRES`]) and columns it does not
//! have (a device's handover secret), each with how many rows or values stay behind.
//! Photos and signatures are files, never rows: those in the folder beside the SQLite file
//! (`<db>.blobs/`) are not copied; the report says to copy that folder's content into the one
//! every server names with `serve --blobs DIR` (its layout is the same: `sha256/`, `thumb/`,
//! `uploads/`, so unfinished uploads continue too).
//!
//! **Nothing half-done.** A target database holding anything (a person, a document, an
//! audit entry, a counter moved) is refused before anything is written. The copy and its
//! verification run in one transaction, committed only when the verification passes: on any
//! failure the target is left as it was, empty, and the command can be run again.
//!
//! **The verification** (`migrate/verify.rs`), inside that transaction, reads both databases
//! again: every copied table's row count; per document, its heads, the SHA-256 of its
//! snapshot's bytes, its change count and the SHA-256 of its change rows; per table of the
//! reminders' outbox, the SHA-256 of its rows, and the outbox's start.

use std::path::{Path, PathBuf};

use deadpool_postgres::Transaction;
use rusqlite::{Connection, OpenFlags};
use tokio::runtime::Handle;

use super::PgDb;
use super::sql::PgSql;
use crate::store::sql::{Sql, SqlRow, Value};
use crate::store::{SqliteStore, StoreError, load_snapshot, reminders_started, unpack_note};

mod verify;

/// The tables copied, in an order their references allow; `docs` is copied on its own.
const TABLES: &[&str] = &[
    "org_units",
    "users",
    "devices",
    "tokens",
    "assignments",
    "enterprise_merges",
    "device_sync",
    "device_outbox",
    "audit_log",
    "bulletins",
    "docs",
    "changes",
    "device_docs",
    "deliveries",
    "delivery_counters",
    "enterprises",
    "problems",
    "problem_units",
    "visits",
    "visit_officers",
    "progress",
    "problem_events",
    "ratings",
    "monitoring_power",
    "monitoring_prices",
    "monitoring_operation",
    "enterprise_positions",
    "blob_refs",
    "uploads",
    "blob_orphans",
    "history_verdicts",
    "reminders",
    "reminder_occasions",
    "reminder_watch",
    "reminder_meta",
    "enterprise_cards",
    "published_configs",
    "meta",
    "store_epoch",
];

/// SQLite tables not copied (PostgreSQL has no table for them yet), their rows counted in the
/// report.
const NOT_ON_POSTGRES: &[&str] = &[];

/// The reminders' outbox, the 连心卡 and the published configurations: besides its row count, each table's rows are compared by
/// their SHA-256 (`verify::verify_rows`), with the rows each compares (`reminder_meta`'s `since`,
/// which only PostgreSQL keeps as a row, is compared on its own: [`reminders_started`]).
const HASHED: &[(&str, &str)] = &[
    ("reminders", ""),
    ("reminder_occasions", ""),
    ("reminder_watch", ""),
    ("reminder_meta", " WHERE key <> 'since'"),
    ("enterprise_cards", ""),
    ("published_configs", ""),
];

/// SQLite columns that are not data PostgreSQL lacks: `docs`' deflate bookkeeping (the
/// snapshot is copied inflated) and the person columns PostgreSQL names `user_id`.
const NOT_DATA: &[(&str, &str)] = &[
    ("docs", "inflated_size"),
    ("docs", "dictionary"),
    ("devices", "user"),
    ("assignments", "user"),
    ("uploads", "user"),
];

/// The rows PostgreSQL's migrations seed, which an empty target holds.
const SEEDED: &[(&str, &str)] = &[
    (
        "meta",
        "SELECT COUNT(*) FROM meta WHERE NOT (key = 'seq' AND value = 0)",
    ),
    (
        "store_epoch",
        "SELECT COUNT(*) FROM store_epoch WHERE epoch <> 0",
    ),
    (
        "reminder_meta",
        "SELECT COUNT(*) FROM reminder_meta WHERE key <> 'since'",
    ),
];

/// Why a migration stopped; the target database is left as it was (empty).
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The SQLite file does not exist.
    #[error("no SQLite database at {0}")]
    NoSource(PathBuf),
    /// The target database holds rows of a table the copy fills.
    #[error(
        "the PostgreSQL database is not empty ({table} holds {rows} rows): migrate into a new, empty database"
    )]
    NotEmpty {
        /// The first such table.
        table: String,
        /// Its rows.
        rows: u64,
    },
    /// The verification found the copy differs from the SQLite database (what differs).
    #[error("the copy does not match the SQLite database ({0}); nothing was committed")]
    Mismatch(String),
    /// Either database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a migration copied and what it left behind.
#[derive(Debug, Default)]
pub struct MigrateReport {
    /// Every copied table with its row count (verified equal on both).
    pub tables: Vec<(String, u64)>,
    /// Documents copied and verified (heads, snapshot hash, change rows).
    pub documents: u64,
    /// What stayed behind, one line each.
    pub not_copied: Vec<String>,
}

/// Copies the SQLite database at `from` into the empty PostgreSQL database at `to` and
/// verifies the copy, telling `progress` (documents copied, total) as it goes.
///
/// # Errors
/// As [`MigrateError`]; the target database is then left empty.
pub async fn migrate(
    from: &Path,
    to: &str,
    progress: impl FnMut(u64, u64) + Send + 'static,
) -> Result<MigrateReport, MigrateError> {
    let target = PgDb::connect(to).await?;
    migrate_into(from, &target, progress, None).await
}

/// [`migrate`] into an open database; `tamper`, a statement run on the copy before it is
/// verified (a test's corruption).
pub(crate) async fn migrate_into(
    from: &Path,
    target: &PgDb,
    progress: impl FnMut(u64, u64) + Send + 'static,
    tamper: Option<String>,
) -> Result<MigrateReport, MigrateError> {
    if !from.is_file() {
        return Err(MigrateError::NoSource(from.to_path_buf()));
    }
    // Brings the file to this build's schema (refusing one from a newer server).
    drop(SqliteStore::open(from)?);
    let lite = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(StoreError::from)?;
    let mut client = target.client().await?;
    let runtime = Handle::current();
    let from = from.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let tx = runtime
            .block_on(client.transaction())
            .map_err(StoreError::from)?;
        // One read snapshot of the SQLite file for the copy and its verification.
        lite.execute_batch("BEGIN").map_err(StoreError::from)?;
        let report = copy_and_verify(&from, &lite, &tx, &runtime, progress, tamper)?;
        runtime.block_on(tx.commit()).map_err(StoreError::from)?;
        Ok::<_, MigrateError>(report)
    })
    .await
    .map_err(|e| StoreError::Invalid(format!("the migration's thread failed: {e}")))?
}

fn copy_and_verify(
    from: &Path,
    lite: &Connection,
    tx: &Transaction<'_>,
    runtime: &Handle,
    mut progress: impl FnMut(u64, u64),
    tamper: Option<String>,
) -> Result<MigrateReport, MigrateError> {
    let pg = PgSql {
        client: tx,
        runtime,
    };
    let lite_sql = crate::store::sql::Lite(lite);
    refuse_non_empty(&pg)?;
    let mut report = MigrateReport {
        not_copied: left_behind(lite, &pg, from)?,
        ..MigrateReport::default()
    };
    // The rows the migrations seeded are replaced by SQLite's.
    pg.execute("DELETE FROM meta", &[])?;
    pg.execute("DELETE FROM store_epoch", &[])?;
    pg.execute("DELETE FROM reminder_meta", &[])?;
    for table in TABLES {
        if *table == "docs" {
            report.documents = copy_docs(lite, &pg, &mut progress)?;
        } else {
            copy_table(&lite_sql, &pg, table)?;
        }
    }
    copy_outbox_start(&lite_sql, &pg)?;
    if let Some(statement) = tamper {
        pg.execute(&statement, &[])?;
    }
    for table in TABLES {
        let filter = HASHED
            .iter()
            .find(|(t, _)| t == table)
            .map_or("", |(_, filter)| *filter);
        let sql = format!("SELECT COUNT(*) FROM {table}{filter}");
        let (on_lite, on_pg) = (
            lite_sql.query_one(&sql, &[])?.count(0)?,
            pg.query_one(&sql, &[])?.count(0)?,
        );
        if on_lite != on_pg {
            return Err(MigrateError::Mismatch(format!(
                "{table}: {on_lite} rows on SQLite, {on_pg} on PostgreSQL"
            )));
        }
        report.tables.push(((*table).to_string(), on_pg));
    }
    verify::verify_docs(lite, &pg)?;
    for (table, filter) in HASHED {
        let columns: Vec<(String, String)> = pg_columns(&pg, table)?
            .into_iter()
            .map(|c| (lite_column(&c.name).to_string(), c.name))
            .collect();
        let columns: Vec<(&str, &str)> = columns
            .iter()
            .map(|(l, p)| (l.as_str(), p.as_str()))
            .collect();
        verify::verify_rows(&lite_sql, &pg, table, &columns, filter)?;
    }
    if reminders_started(&lite_sql)? != reminders_started(&pg)? {
        return Err(MigrateError::Mismatch(
            "reminder_meta: the outbox's start differs".into(),
        ));
    }
    Ok(report)
}

/// Records on PostgreSQL when SQLite's outbox started (when its `0014_reminders` was applied):
/// events from before it remind no one on either, and every occasion the SQLite outbox owed
/// since is in the copied `reminder_occasions`, so the first scan on PostgreSQL owes nothing
/// already recorded.
fn copy_outbox_start(lite: &impl Sql, pg: &impl Sql) -> Result<(), StoreError> {
    if reminders_started(pg)?.is_some() {
        return Ok(());
    }
    // SQLite's store applies `0014_reminders` on opening, so it has a start; else the copy's
    // time, as PostgreSQL's migration would have recorded.
    let since = reminders_started(lite)?.unwrap_or_else(crate::auth::now);
    pg.execute(
        "INSERT INTO reminder_meta (key, value) VALUES ('since', ?)",
        &[Value::Integer(since.0)],
    )?;
    Ok(())
}

/// Refuses a target holding any row of a copied table (beyond what its migrations seed).
fn refuse_non_empty(pg: &impl Sql) -> Result<(), MigrateError> {
    for table in TABLES {
        let sql = SEEDED
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, sql)| (*sql).to_string())
            .unwrap_or_else(|| format!("SELECT COUNT(*) FROM {table}"));
        let rows = pg.query_one(&sql, &[])?.count(0)?;
        if rows > 0 {
            return Err(MigrateError::NotEmpty {
                table: (*table).to_string(),
                rows,
            });
        }
    }
    Ok(())
}

/// A column of a PostgreSQL table: its name, type, whether it is an identity and whether a
/// sequence numbers it (an identity, or a `SERIAL`'s default).
struct PgColumn {
    name: String,
    data_type: String,
    identity: bool,
    numbered: bool,
}

fn pg_columns(pg: &impl Sql, table: &str) -> Result<Vec<PgColumn>, StoreError> {
    pg.query(
        "SELECT column_name::TEXT, data_type::TEXT, is_identity::TEXT, \
         coalesce(column_default::TEXT, '') FROM \
         information_schema.columns WHERE table_schema = current_schema() AND table_name::TEXT = ? \
         ORDER BY ordinal_position",
        &[Value::Text(table.to_string())],
    )?
    .iter()
    .map(|r| {
        let identity = r.text(2)? == "YES";
        Ok(PgColumn {
            name: r.text(0)?,
            data_type: r.text(1)?,
            identity,
            numbered: identity || r.text(3)?.starts_with("nextval("),
        })
    })
    .collect()
}

/// SQLite's name of PostgreSQL's column `name` of `table`.
fn lite_column(name: &str) -> &str {
    if name == "user_id" { "user" } else { name }
}

fn lite_columns(lite: &Connection, table: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = lite.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let names = stmt
        .query_map([table], |r| r.get::<_, String>(0))?
        .collect::<Result<_, _>>()?;
    Ok(names)
}

/// What stays behind: rows of tables PostgreSQL lacks, values of columns it lacks, photos.
fn left_behind(lite: &Connection, pg: &impl Sql, from: &Path) -> Result<Vec<String>, StoreError> {
    let mut lines = Vec::new();
    for table in NOT_ON_POSTGRES {
        if lite_columns(lite, table)?.is_empty() {
            continue;
        }
        let rows: i64 =
            lite.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
        if rows > 0 {
            lines.push(format!(
                "{table}: {rows} rows (PostgreSQL has no table for them yet)"
            ));
        }
    }
    for table in TABLES {
        let on_pg: Vec<String> = pg_columns(pg, table)?.into_iter().map(|c| c.name).collect();
        for column in lite_columns(lite, table)? {
            let known = on_pg.iter().any(|c| lite_column(c) == column)
                || NOT_DATA.iter().any(|(t, c)| t == table && *c == column);
            if known {
                continue;
            }
            let values: i64 = lite.query_row(
                &format!("SELECT COUNT(*) FROM {table} WHERE \"{column}\" IS NOT NULL"),
                [],
                |r| r.get(0),
            )?;
            if values > 0 {
                lines.push(format!(
                    "{table}.{column}: {values} values (PostgreSQL has no column for them yet)"
                ));
            }
        }
    }
    let folder = crate::blobs::blob_dir(from);
    if folder.is_dir() {
        lines.push(format!(
            "photos and signatures: the files in {} are not copied; copy its content into the \
             folder every server names with `serve --blobs DIR` (cp -a {}/. DIR/)",
            folder.display(),
            folder.display()
        ));
    }
    Ok(lines)
}

/// Copies every row of `table`; its identity or serial counter then continues after the
/// largest id.
fn copy_table(lite: &impl Sql, pg: &impl Sql, table: &str) -> Result<u64, StoreError> {
    let columns = pg_columns(pg, table)?;
    let select = columns
        .iter()
        .map(|c| format!("\"{}\"", lite_column(&c.name)))
        .collect::<Vec<_>>()
        .join(", ");
    let mut rows = lite.query(&format!("SELECT {select} FROM {table}"), &[])?;
    if table == "org_units" {
        rows = parents_first(rows)?;
    }
    let names = columns
        .iter()
        .map(|c| format!("\"{}\"", c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let places = columns
        .iter()
        .map(|c| match c.data_type.as_str() {
            "jsonb" => "(?::TEXT)::JSONB",
            _ => "?",
        })
        .collect::<Vec<_>>()
        .join(", ");
    let overriding = if columns.iter().any(|c| c.identity) {
        " OVERRIDING SYSTEM VALUE"
    } else {
        ""
    };
    let insert = format!("INSERT INTO {table} ({names}){overriding} VALUES ({places})");
    for row in &rows {
        let values = row
            .0
            .iter()
            .zip(&columns)
            .map(|(v, c)| match (v, c.data_type.as_str()) {
                (Value::Blob(_), "text") => unpack_note(v.into(), "visits").map(Value::Text),
                _ => Ok(v.clone()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        pg.execute(&insert, &values)?;
    }
    if let Some(id) = columns.iter().find(|c| c.numbered) {
        pg.query(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{0}'), \
                 COALESCE(MAX(\"{0}\"), 1), MAX(\"{0}\") IS NOT NULL) FROM {table}",
                id.name
            ),
            &[],
        )?;
    }
    Ok(rows.len() as u64)
}

/// Org unit rows (id first, parent last) ordered so each parent comes before its children.
fn parents_first(rows: Vec<SqlRow>) -> Result<Vec<SqlRow>, StoreError> {
    let mut placed: std::collections::BTreeSet<String> = Default::default();
    let mut left = rows;
    let mut out = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let before = left.len();
        let mut waiting = Vec::new();
        for row in left {
            let id = row.text(0)?;
            let parent = row.opt_text(row.0.len() - 1)?;
            if parent.is_none_or(|p| placed.contains(&p)) {
                placed.insert(id);
                out.push(row);
            } else {
                waiting.push(row);
            }
        }
        if waiting.len() == before {
            return Err(StoreError::Corrupt {
                table: "org_units",
                detail: "a unit whose parent is missing or under itself".into(),
            });
        }
        left = waiting;
    }
    Ok(out)
}

/// Copies every document as stored (its snapshot's Automerge bytes inflated); how many.
fn copy_docs(
    lite: &Connection,
    pg: &impl Sql,
    progress: &mut impl FnMut(u64, u64),
) -> Result<u64, StoreError> {
    let total: i64 = lite.query_row("SELECT COUNT(*) FROM docs", [], |r| r.get(0))?;
    let total = u64::try_from(total).unwrap_or(0);
    let mut stmt = lite.prepare(
        "SELECT doc_id, kind, enterprise, seq, snapshot, heads, updated_at, appended, \
         inflated_size, dictionary FROM docs ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut copied = 0u64;
    while let Some(r) = rows.next()? {
        let doc_id: String = r.get(0)?;
        let snapshot = load_snapshot(r.get(4)?, r.get(8)?, r.get(9)?, &doc_id)?;
        pg.execute(
            "INSERT INTO docs (doc_id, kind, enterprise, seq, snapshot, heads, updated_at, \
             appended) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                Value::Text(doc_id),
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                Value::Blob(snapshot),
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ],
        )?;
        copied += 1;
        if copied.is_multiple_of(100) || copied == total {
            progress(copied, total);
        }
    }
    Ok(copied)
}

/// `lianxin-server migrate`: runs [`migrate`], showing the documents copied as it goes, then
/// what was copied and what stayed behind.
///
/// # Errors
/// As [`migrate`], as the administrator reads it.
pub fn run_command(
    args: &crate::cli::MigrateArgs,
    out: &mut dyn std::io::Write,
) -> Result<(), crate::admin::AdminError> {
    let started = std::time::Instant::now();
    let progress = |done: u64, total: u64| eprintln!("documents copied: {done} / {total}");
    let report = Handle::current()
        .block_on(migrate(&args.from, &args.to, progress))
        .map_err(|e| crate::admin::AdminError::Invalid(e.to_string()))?;
    writeln!(
        out,
        "copied {} into PostgreSQL and verified it in {:.1} s: {} documents (heads, snapshot \
         and change hashes equal)",
        args.from.display(),
        started.elapsed().as_secs_f64(),
        report.documents
    )?;
    for (table, rows) in &report.tables {
        writeln!(out, "  {table}: {rows} rows")?;
    }
    writeln!(out, "not copied:")?;
    for line in &report.not_copied {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}
