//! The SQLite store: one database file in WAL mode with `synchronous=FULL`, so a commit that
//! returned survives a power cut; schema migrations embedded in the binary.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use automerge::ChangeHash;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params, params_from_iter};
use shared::model::{DeviceId, EnterpriseId, ProblemId, Timestamp};
use shared::sync::protocol::DocId;
use shared::sync::server::{Commit, DocCommit, DocMeta, ServerStore, StoredDoc};
use shared::sync::validate::{PROFILE_KINDS, Scope};

use super::group::write_tx;
use super::migrate::migrate;
use super::projection::{CommitTimes, project};
use super::sql::Lite;
use super::{StoreError, snapshot};

/// SQLite page cache of the server's connection, in KiB (as a negative `cache_size`).
const CACHE_KIB: i64 = -65_536;

/// SQLite page cache of each read-only connection ([`super::Readers`]), in KiB.
const READER_CACHE_KIB: i64 = -16_384;

/// Pages the WAL may hold before a commit copies them into the database file (SQLite's
/// default is 1,000 pages, 4 MiB, which the WAL file then keeps for good).
const WAL_AUTOCHECKPOINT_PAGES: i64 = 256;

/// Bytes the WAL file is cut back to after a checkpoint (SQLite's default: never cut). A
/// quarter of what the checkpoint threshold lets it grow to: the file is cut when the first
/// write after a checkpoint starts it over, so a server left idle after a burst keeps at most
/// this much WAL beside the database (1 MiB before; it was up to 1.2 MB of the bench's 1,000
/// records' disk figure, bench/NOTES.md).
const WAL_SIZE_LIMIT: i64 = 256 * 1024;

/// Prepared statements kept by the connection (`prepare_cached`).
const STATEMENT_CACHE: usize = 256;

/// How long a statement waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Most bound parameters in one `IN (…)` list; larger scopes are queried in chunks.
const IN_CHUNK: usize = 500;

/// Bytes of one change hash.
const HASH_LEN: usize = 32;

/// Query tables, in the order [`SqliteStore::projection_dump`] lists them.
const PROJECTION_TABLES: &[&str] = &[
    "enterprises",
    "visits",
    "visit_officers",
    "problems",
    "problem_units",
    "progress",
    "problem_events",
    "ratings",
    "monitoring_power",
    "monitoring_prices",
    "monitoring_operation",
];

/// The server's documents, change feed, device delivery state and query tables in one SQLite
/// file. Every method runs on one connection; share it behind a lock.
#[derive(Debug)]
pub struct SqliteStore {
    pub(super) conn: Connection,
    /// The deflate stream each committed snapshot goes through.
    pub(super) deflater: snapshot::Deflater,
}

/// A problem's row in the `problems` query table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemRow {
    /// The problem.
    pub id: String,
    /// Its enterprise.
    pub enterprise: String,
    /// The visit it was raised on.
    pub visit: Option<String>,
    /// Category code.
    pub category: String,
    /// Class code.
    pub class: String,
    /// Effective tier code (after escalations).
    pub tier: String,
    /// Tier code as set by people.
    pub set_tier: String,
    /// Owner.
    pub owner: String,
    /// Effective deadline, ms.
    pub deadline: i64,
    /// Workflow state code.
    pub state: String,
    /// The answer to the enterprise.
    pub response: String,
    /// Rating level 1–5, when rated.
    pub rating: Option<i64>,
    /// Events replay did not apply.
    pub superseded_events: i64,
}

/// A visit's row in the `visits` query table, with its officers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitRow {
    /// The visit.
    pub id: String,
    /// The enterprise visited.
    pub enterprise: String,
    /// Method code.
    pub method: String,
    /// Operating status code.
    pub operating_status: String,
    /// Notes.
    pub notes: String,
    /// Creation time, ms: the device's claim bounded by the server's receipt
    /// (`store/projection.rs`).
    pub device_time: i64,
    /// Creator.
    pub created_by: String,
    /// Check-in outcome: `fixed`, `permission_refused`, `unavailable`, or none.
    pub check_in_outcome: Option<String>,
    /// Whether the enterprise confirmed it.
    pub confirmed: bool,
    /// Officers, sorted.
    pub officers: Vec<String>,
}

/// One line of a problem's progress log or supervision instructions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressRow {
    /// `progress` or `supervision`.
    pub kind: String,
    /// What was written.
    pub text: String,
    /// Who wrote it.
    pub by: String,
    /// When, by the device's clock, ms.
    pub at: i64,
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`, sets WAL, `synchronous=FULL`, foreign keys
    /// a 64 MiB page cache and a busy timeout, and applies pending migrations. A database written by a newer
    /// server is refused.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Every statement of a sync request stays prepared (rusqlite keeps 16 by default; a
        // request uses more, and each one evicted was parsed again on every request).
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::JournalMode(mode));
        }
        // In WAL mode FULL syncs the log at every commit: an acknowledged commit is durable.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // 64 MiB of page cache (the default is 2 MiB): dashboard queries over 100k problems
        // re-read the same index pages on every request (see `examples/dashboard_bench.rs`).
        conn.pragma_update(None, "cache_size", CACHE_KIB)?;
        // The WAL stays small: checkpointed past about 1 MiB, cut back to 256 KiB after.
        conn.pragma_update_and_check(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES, |r| {
            r.get::<_, i64>(0)
        })?;
        conn.pragma_update_and_check(None, "journal_size_limit", WAL_SIZE_LIMIT, |r| {
            r.get::<_, i64>(0)
        })?;
        migrate(&mut conn)?;
        super::projection::measure_after_migration(&mut conn)?;
        Ok(SqliteStore {
            conn,
            deflater: snapshot::Deflater::default(),
        })
    }

    /// Opens a read-only connection to a database a writer has already opened and migrated
    /// ([`super::Readers`]): the same busy timeout and statement cache, a smaller page cache,
    /// no migrations. Any write through it fails.
    pub fn open_reader(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.pragma_update(None, "cache_size", READER_CACHE_KIB)?;
        Ok(SqliteStore {
            conn,
            deflater: snapshot::Deflater::default(),
        })
    }

    /// `PRAGMA integrity_check`: `"ok"` when the file is sound, else SQLite's findings, one a
    /// line.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let lines = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(lines.join("\n"))
    }

    /// Copies the whole database to `dest` (a new file), consistent even while the server
    /// keeps writing.
    pub fn backup_to(&self, dest: &Path) -> Result<(), StoreError> {
        // `VACUUM INTO` copies one consistent snapshot inside a single read transaction: in WAL
        // mode it neither blocks the server's writes nor restarts because of them (the online
        // backup API restarts at every write by another process, forever on a busy server).
        if dest.exists() {
            return Err(StoreError::Duplicate {
                what: "backup file",
                key: dest.display().to_string(),
            });
        }
        let target = dest.to_str().ok_or_else(|| {
            StoreError::Invalid(format!("{} is not a UTF-8 path", dest.display()))
        })?;
        self.conn.execute("VACUUM INTO ?1", [target])?;
        Ok(())
    }

    /// The connection, for tests that inspect per-connection settings or tamper with rows.
    #[cfg(test)]
    pub(super) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// How many documents are stored.
    pub fn doc_count(&self) -> Result<u64, StoreError> {
        count(&self.conn, "SELECT COUNT(*) FROM docs", "docs")
    }

    /// How many changes are stored, over all documents.
    pub fn change_count(&self) -> Result<u64, StoreError> {
        count(&self.conn, "SELECT COUNT(*) FROM changes", "changes")
    }

    /// The hashes of a document's stored changes, sorted.
    pub fn change_hashes(&self, doc: &DocId) -> Result<Vec<[u8; 32]>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT hash FROM changes WHERE doc_id = ?1 ORDER BY hash")?;
        let blobs = stmt
            .query_map([doc.as_str()], |r| r.get::<_, Vec<u8>>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        blobs
            .iter()
            .map(|b| {
                <[u8; HASH_LEN]>::try_from(b.as_slice()).map_err(|_| StoreError::Corrupt {
                    table: "changes",
                    detail: format!("a hash of {} bytes", b.len()),
                })
            })
            .collect()
    }

    /// A problem's query row, if the problem is stored.
    pub fn problem_row(&self, id: ProblemId) -> Result<Option<ProblemRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, enterprise, visit, category, class, tier, set_tier, owner, deadline, \
             state, response, rating, superseded_events FROM problems WHERE id = ?1",
        )?;
        let row = stmt
            .query_row([id.to_string()], |r| {
                Ok(ProblemRow {
                    id: r.get(0)?,
                    enterprise: r.get(1)?,
                    visit: r.get(2)?,
                    category: r.get(3)?,
                    class: r.get(4)?,
                    tier: r.get(5)?,
                    set_tier: r.get(6)?,
                    owner: r.get(7)?,
                    deadline: r.get(8)?,
                    state: r.get(9)?,
                    response: r.get(10)?,
                    rating: r.get(11)?,
                    superseded_events: r.get(12)?,
                })
            })
            .optional()?;
        Ok(row)
    }

    /// A problem's progress log and supervision instructions, oldest first.
    pub fn progress_rows(&self, problem: ProblemId) -> Result<Vec<ProgressRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT kind, text, \"by\", at FROM progress WHERE problem = ?1 ORDER BY at, kind, id",
        )?;
        let rows = stmt
            .query_map([problem.to_string()], |r| {
                Ok(ProgressRow {
                    kind: r.get(0)?,
                    text: r.get(1)?,
                    by: r.get(2)?,
                    at: r.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The visits of an enterprise, by creation time then id.
    pub fn visit_rows_for(&self, enterprise: EnterpriseId) -> Result<Vec<VisitRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, enterprise, method, operating_status, notes, device_time, created_by, \
             check_in_outcome, confirmed FROM visits WHERE enterprise = ?1 \
             ORDER BY device_time, id",
        )?;
        let mut visits = stmt
            .query_map([enterprise.to_string()], |r| {
                Ok(VisitRow {
                    id: r.get(0)?,
                    enterprise: r.get(1)?,
                    method: r.get(2)?,
                    operating_status: r.get(3)?,
                    notes: super::packed_text::unpack(r.get_ref(4)?, "visits").map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(
                            4,
                            rusqlite::types::Type::Blob,
                            Box::new(e),
                        )
                    })?,
                    device_time: r.get(5)?,
                    created_by: r.get(6)?,
                    check_in_outcome: r.get(7)?,
                    confirmed: r.get(8)?,
                    officers: Vec::new(),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut officers = self.conn.prepare_cached(
            "SELECT officer FROM visit_officers WHERE visit = ?1 ORDER BY officer",
        )?;
        for v in &mut visits {
            v.officers = officers
                .query_map([&v.id], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
        }
        Ok(visits)
    }

    /// Every row of every query table as a line `table|col|col…`, sorted: two stores that
    /// hold the same documents give equal dumps.
    pub fn projection_dump(&self) -> Result<Vec<String>, StoreError> {
        let mut lines = Vec::new();
        for table in PROJECTION_TABLES {
            let mut stmt = self.conn.prepare(&format!("SELECT * FROM {table}"))?;
            let columns = stmt.column_count();
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let mut line = (*table).to_string();
                for i in 0..columns {
                    line.push('|');
                    line.push_str(&render(row.get_ref(i)?));
                }
                lines.push(line);
            }
        }
        lines.sort();
        Ok(lines)
    }
}

fn count(conn: &Connection, sql: &str, table: &'static str) -> Result<u64, StoreError> {
    let n: i64 = conn.prepare_cached(sql)?.query_row([], |r| r.get(0))?;
    to_u64(n, table)
}

pub(crate) fn to_u64(n: i64, table: &'static str) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt {
        table,
        detail: format!("negative number {n}"),
    })
}

/// A `u64` from the protocol as an SQLite integer; values past `i64::MAX` saturate (no stored
/// number is that large).
pub(crate) fn to_sql_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Heads as stored: sorted, each hash once, concatenated.
pub(crate) fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    let sorted: BTreeSet<&ChangeHash> = heads.iter().collect();
    let mut out = Vec::with_capacity(sorted.len() * HASH_LEN);
    for h in sorted {
        out.extend_from_slice(&h.0);
    }
    out
}

pub(crate) fn decode_heads(
    blob: &[u8],
    table: &'static str,
) -> Result<Vec<ChangeHash>, StoreError> {
    let corrupt = || StoreError::Corrupt {
        table,
        detail: format!(
            "heads of {} bytes, not a multiple of {HASH_LEN}",
            blob.len()
        ),
    };
    if !blob.len().is_multiple_of(HASH_LEN) {
        return Err(corrupt());
    }
    blob.chunks_exact(HASH_LEN)
        .map(|c| {
            <[u8; HASH_LEN]>::try_from(c)
                .map(ChangeHash)
                .map_err(|_| corrupt())
        })
        .collect()
}

pub(crate) fn parse_doc_id(text: &str, table: &'static str) -> Result<DocId, StoreError> {
    DocId::parse(text).map_err(|e| StoreError::Corrupt {
        table,
        detail: e.to_string(),
    })
}

pub(crate) fn parse_enterprise(
    text: &str,
    table: &'static str,
) -> Result<EnterpriseId, StoreError> {
    EnterpriseId::parse(text).map_err(|e| StoreError::Corrupt {
        table,
        detail: e.to_string(),
    })
}

/// One column value as dump text: unambiguous and equal exactly when the values are.
fn render(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => format!("{f:?}"),
        ValueRef::Text(t) => format!("{:?}", String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("x'{hex}'")
        }
    }
}

fn doc_and_seq(r: &Row<'_>) -> rusqlite::Result<(String, i64)> {
    Ok((r.get(0)?, r.get(1)?))
}

/// Stores one document of a commit: the document row under `seq`, its new changes, what the
/// pushing device now has, and its query rows.
fn commit_doc(
    tx: &Connection,
    deflater: &mut snapshot::Deflater,
    commit: &Commit,
    times: &CommitTimes<'_>,
    doc: &DocCommit,
    seq: i64,
) -> Result<(), StoreError> {
    let device = commit.device.to_string();
    // Judged before the row is rewritten: the verdict reads the heads this commit builds on.
    super::history::on_commit(&Lite(tx), doc, commit.received_at)?;
    let snapshot = snapshot::store_with(deflater, doc.doc.kind(), &doc.snapshot);
    tx.prepare_cached(
        "INSERT INTO docs (doc_id, kind, enterprise, seq, snapshot, heads, updated_at, appended, \
         inflated_size, dictionary) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?10, ?11) \
         ON CONFLICT (doc_id) DO UPDATE SET kind = excluded.kind, \
         enterprise = excluded.enterprise, seq = excluded.seq, snapshot = excluded.snapshot, \
         inflated_size = excluded.inflated_size, dictionary = excluded.dictionary, \
         heads = excluded.heads, updated_at = excluded.updated_at, \
         appended = CASE WHEN ?9 THEN 0 ELSE docs.appended + 1 END",
    )?
    .execute(params![
        doc.doc.as_str(),
        doc.doc.kind().code(),
        doc.projection.enterprise().to_string(),
        seq,
        snapshot.bytes,
        encode_heads(&doc.heads),
        commit.received_at.0,
        i64::from(!doc.compacted),
        doc.compacted,
        snapshot.inflated_size,
        snapshot.dictionary,
    ])?;
    // A change's bytes are in the document's snapshot; its row keeps what history and the
    // write checks need (hash, author, device, times).
    let mut insert_change = tx.prepare_cached(
        "INSERT OR IGNORE INTO changes \
         (doc_id, hash, actor, device, device_time, received_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for c in &doc.changes {
        // The actor's bytes (the hex as it is if it is not hex: not written by the engine).
        let actor = automerge::ActorId::try_from(c.actor.as_str())
            .map(|a| a.to_bytes().to_vec())
            .unwrap_or_else(|_| c.actor.clone().into_bytes());
        insert_change.execute(params![
            doc.doc.as_str(),
            c.hash.0.as_slice(),
            actor,
            commit.device.as_bytes().as_slice(),
            c.device_time.0,
            commit.received_at.0,
        ])?;
    }
    tx.prepare_cached(
        "INSERT INTO device_docs (device, doc_id, heads) VALUES (?1, ?2, ?3) \
         ON CONFLICT (device, doc_id) DO UPDATE SET heads = excluded.heads",
    )?
    .execute(params![
        device,
        doc.doc.as_str(),
        encode_heads(&doc.device_heads)
    ])?;
    project(&Lite(tx), &doc.projection, times)
}

fn read_seq(conn: &Connection) -> Result<i64, StoreError> {
    let seq: Option<i64> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'seq'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    seq.ok_or_else(|| StoreError::Corrupt {
        table: "meta",
        detail: "the sequence counter is missing".into(),
    })
}

impl ServerStore for SqliteStore {
    type Error = StoreError;

    fn load_doc(&mut self, doc: &DocId) -> Result<Option<StoredDoc>, StoreError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT enterprise, snapshot, heads, inflated_size, dictionary FROM docs \
                 WHERE doc_id = ?1",
            )?
            .query_row([doc.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                ))
            })
            .optional()?;
        let Some((enterprise, bytes, heads, inflated_size, dictionary)) = row else {
            return Ok(None);
        };
        Ok(Some(StoredDoc {
            enterprise: parse_enterprise(&enterprise, "docs")?,
            bytes: snapshot::load(bytes, inflated_size, dictionary, doc.as_str())?,
            heads: decode_heads(&heads, "docs")?,
        }))
    }

    fn doc_heads(&mut self, doc: &DocId) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        let heads = self
            .conn
            .prepare_cached("SELECT heads FROM docs WHERE doc_id = ?1")?
            .query_row([doc.as_str()], |r| r.get::<_, Vec<u8>>(0))
            .optional()?;
        heads.map(|h| decode_heads(&h, "docs")).transpose()
    }

    fn doc_meta(&mut self, doc: &DocId) -> Result<Option<DocMeta>, StoreError> {
        // length() of a blob reads its size from the record header, not the blob; a deflated
        // snapshot's size is what it inflates to (what a merge loads).
        let row = self
            .conn
            .prepare_cached(
                "SELECT enterprise, heads, COALESCE(inflated_size, length(snapshot)) FROM docs \
                 WHERE doc_id = ?1",
            )?
            .query_row([doc.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .optional()?;
        let Some((enterprise, heads, size)) = row else {
            return Ok(None);
        };
        Ok(Some(DocMeta {
            enterprise: parse_enterprise(&enterprise, "docs")?,
            heads: decode_heads(&heads, "docs")?,
            size: usize::try_from(size).unwrap_or(usize::MAX),
        }))
    }

    fn known_changes(
        &mut self,
        doc: &DocId,
        hashes: &[ChangeHash],
    ) -> Result<BTreeSet<ChangeHash>, StoreError> {
        let asked: BTreeSet<ChangeHash> = hashes.iter().copied().collect();
        // Many hashes (a whole document pushed again): one pass over the document's rows
        // instead of a lookup each, so the work is bounded by what the document holds.
        if asked.len() > 64 {
            return Ok(self
                .change_hashes(doc)?
                .into_iter()
                .map(ChangeHash)
                .filter(|h| asked.contains(h))
                .collect());
        }
        let mut query = self
            .conn
            .prepare_cached("SELECT 1 FROM changes WHERE doc_id = ?1 AND hash = ?2")?;
        let mut known = BTreeSet::new();
        for hash in asked {
            if query.exists(params![doc.as_str(), hash.0.as_slice()])? {
                known.insert(hash);
            }
        }
        Ok(known)
    }

    fn commit(&mut self, commit: &Commit) -> Result<(), StoreError> {
        let tx = write_tx(&mut self.conn)?;
        let mut seq = read_seq(&tx)?;
        // Read before this commit records the device's sync below.
        let times = CommitTimes::of(&Lite(&tx), commit)?;
        for doc in &commit.docs {
            seq = seq.checked_add(1).ok_or_else(|| StoreError::Corrupt {
                table: "meta",
                detail: "the sequence counter overflowed".into(),
            })?;
            commit_doc(&tx, &mut self.deflater, commit, &times, doc, seq)?;
        }
        tx.prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'seq'")?
            .execute([seq])?;
        tx.prepare_cached(
            "INSERT INTO device_sync (device, last_seen, last_device_time) VALUES (?1, ?2, ?3) \
             ON CONFLICT (device) DO UPDATE SET last_seen = excluded.last_seen, \
             last_device_time = excluded.last_device_time",
        )?
        .execute(params![
            commit.device.to_string(),
            commit.received_at.0,
            commit.device_time.0
        ])?;
        // With WAL and synchronous=FULL, COMMIT returns after the log is synced to disk.
        tx.commit()?;
        Ok(())
    }

    fn changed_since(
        &mut self,
        scope: &Scope,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(DocId, u64)>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let after = to_sql_int(after);
        let sql_limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows: Vec<(String, i64)> = match scope {
            Scope::All => self
                .conn
                .prepare_cached(
                    "SELECT doc_id, seq FROM docs WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                )?
                .query_map([after, sql_limit], doc_and_seq)?
                .collect::<Result<_, _>>()?,
            Scope::Enterprises(set) => self.feed_in(
                "enterprise IN",
                &set.iter().map(ToString::to_string).collect::<Vec<_>>(),
                after,
                sql_limit,
            )?,
            Scope::Grants {
                enterprises,
                profiles,
                docs,
            } => {
                let mut rows = self.feed_in(
                    "enterprise IN",
                    &enterprises
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>(),
                    after,
                    sql_limit,
                )?;
                let profile_kinds: Vec<String> = PROFILE_KINDS
                    .iter()
                    .map(|k| format!("'{}'", k.code()))
                    .collect();
                rows.extend(self.feed_in(
                    &format!("kind IN ({}) AND enterprise IN", profile_kinds.join(", ")),
                    &profiles.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    after,
                    sql_limit,
                )?);
                rows.extend(self.feed_in(
                    "doc_id IN",
                    &docs.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    after,
                    sql_limit,
                )?);
                rows.sort();
                rows.dedup();
                rows
            }
        };
        rows.sort_by_key(|(_, seq)| *seq);
        rows.truncate(limit);
        rows.into_iter()
            .map(|(doc, seq)| Ok((parse_doc_id(&doc, "docs")?, to_u64(seq, "docs")?)))
            .collect()
    }

    fn latest_seq(&mut self) -> Result<u64, StoreError> {
        to_u64(read_seq(&self.conn)?, "meta")
    }

    fn epoch(&mut self) -> Result<u64, StoreError> {
        self.store_epoch()
    }

    fn confirm_delivery(&mut self, device: DeviceId, ack: u64) -> Result<(), StoreError> {
        let device = device.to_string();
        let tx = write_tx(&mut self.conn)?;
        // The acknowledged delivery's heads become known (`ServerStore::confirm_delivery`:
        // that one only, not every one numbered below it).
        tx.prepare_cached(
            "INSERT INTO device_docs (device, doc_id, heads) \
             SELECT device, doc_id, heads FROM deliveries WHERE device = ?1 AND delivery = ?2 \
             ON CONFLICT (device, doc_id) DO UPDATE SET heads = excluded.heads",
        )?
        .execute(params![device, to_sql_int(ack)])?;
        // Those up to it are settled; later ones wait for their own acknowledgement.
        tx.prepare_cached("DELETE FROM deliveries WHERE device = ?1 AND delivery <= ?2")?
            .execute(params![device, to_sql_int(ack)])?;
        tx.commit()?;
        Ok(())
    }

    fn known_heads(
        &mut self,
        device: DeviceId,
        doc: &DocId,
    ) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        let blob: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT heads FROM device_docs WHERE device = ?1 AND doc_id = ?2")?
            .query_row(params![device.to_string(), doc.as_str()], |r| r.get(0))
            .optional()?;
        blob.map(|b| decode_heads(&b, "device_docs")).transpose()
    }

    fn record_delivery(
        &mut self,
        device: DeviceId,
        docs: &[(DocId, Vec<ChangeHash>)],
    ) -> Result<u64, StoreError> {
        let device = device.to_string();
        let tx = write_tx(&mut self.conn)?;
        let delivery: i64 = tx
            .prepare_cached(
                "INSERT INTO delivery_counters (device, last) VALUES (?1, 1) \
                 ON CONFLICT (device) DO UPDATE SET last = last + 1 RETURNING last",
            )?
            .query_row([&device], |r| r.get(0))?;
        let mut insert = tx.prepare_cached(
            "INSERT OR REPLACE INTO deliveries (device, delivery, doc_id, heads) \
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (doc, heads) in docs {
            insert.execute(params![device, delivery, doc.as_str(), encode_heads(heads)])?;
        }
        drop(insert);
        tx.commit()?;
        to_u64(delivery, "delivery_counters")
    }
}

impl SqliteStore {
    /// Records a successful sync of `device` received at `at` and sent at the device's
    /// `device_time`; `settled` when it had nothing left to send after it
    /// ([`super::device_sync::record_sync`]).
    pub fn record_sync(
        &mut self,
        device: DeviceId,
        at: Timestamp,
        device_time: Timestamp,
        settled: bool,
    ) -> Result<(), StoreError> {
        super::device_sync::record_sync(&Lite(&self.conn), device, at, device_time, settled)
    }

    /// Feed rows whose `column_in` (an SQL condition ending in `IN`) holds one of `values`,
    /// queried in chunks of bound parameters; each chunk yields its own first `limit`, so
    /// together they hold the first `limit` of the whole set.
    fn feed_in(
        &mut self,
        column_in: &str,
        values: &[String],
        after: i64,
        sql_limit: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut rows = Vec::new();
        for chunk in values.chunks(IN_CHUNK) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT doc_id, seq FROM docs WHERE {column_in} ({marks}) AND seq > ? ORDER BY seq LIMIT ?"
            );
            let params = chunk
                .iter()
                .map(|id| Value::Text(id.clone()))
                .chain([Value::Integer(after), Value::Integer(sql_limit)]);
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let found = stmt
                .query_map(params_from_iter(params), doc_and_seq)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.extend(found);
        }
        Ok(rows)
    }
}
