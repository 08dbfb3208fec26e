//! An independent record of a PostgreSQL store's change feed, and the check that a device's
//! cursor never passed a version of a document in its scope that the device did not then hold.
//!
//! **The store's side.** [`record_versions`] installs a trigger on the server's `docs` table
//! that logs every version a document takes — its feed number, enterprise, heads and the
//! database's clock when the committing transaction wrote it — into `feed_versions`, in that
//! transaction. So the log holds exactly the committed history of the feed, also the versions a
//! reader polling `docs` never sees because a later one replaced them first; a commit rolled
//! back leaves nothing in it. The servers know nothing of it.
//!
//! **The device's side.** With [`NativeDevice::applied`] set to `Some`, a device records each
//! sync response its engine is given ([`Applied`]): when it arrived, the cursor the device then
//! had, and the heads it then held of each document the response carried.
//!
//! **The rule** ([`passed_unheld`]). After a response that leaves the cursor at `c`, the device
//! holds every document of its scope at least as of that document's last version numbered `c`
//! or below — unless a later version of the document was written before the response arrived:
//! the server's read of the feed may have seen that one, numbered above `c`, and rightly left
//! the document to a later response (the feed lists a document once, at its latest number). A
//! version written after the response arrived cannot have been in the server's read, which
//! came before its answer. "Holds" means each change of the version is the device's own or an
//! ancestor of the heads the device held of the document after the last response carrying it
//! (changes of others reach a device only in responses).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use automerge::ChangeHash;
use shared::sync::client::SyncClient;
use shared::sync::protocol::{self, DocId};

use crate::device::NativeDevice;

/// The wall clock in microseconds since the Unix epoch: what the device stamps a response's
/// arrival with, comparable with PostgreSQL's `clock_timestamp()` on the same machine.
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// One sync response a device's engine was given.
#[derive(Debug, Clone)]
pub struct Applied {
    /// When it arrived, µs since the epoch ([`now_us`]).
    pub arrived_us: i64,
    /// The device's cursor once the engine had taken it.
    pub cursor: u64,
    /// Each document it carried, with the heads the device then held of it.
    pub pulled: Vec<(DocId, Vec<ChangeHash>)>,
}

impl Applied {
    /// What `client` holds right after being given a response that carried `pulled`.
    pub fn after(client: &mut SyncClient, arrived_us: i64, pulled: Vec<DocId>) -> Applied {
        let cursor = client.replica().cursor;
        let pulled = pulled
            .into_iter()
            .map(|id| {
                let heads = client
                    .replica_mut()
                    .get_mut(&id)
                    .map(|e| e.heads())
                    .unwrap_or_default();
                (id, heads)
            })
            .collect();
        Applied {
            arrived_us,
            cursor,
            pulled,
        }
    }
}

/// The documents a sync response body carries (none if it does not decode: the engine takes
/// nothing from it either).
pub fn pulled_by(body: &[u8]) -> Vec<DocId> {
    protocol::decode_response(body)
        .map(|r| r.pulls.into_iter().map(|p| p.doc).collect())
        .unwrap_or_default()
}

/// The trigger and its log (module doc); the versions already stored are logged as written
/// at time 0.
const INSTALL: &str = "
BEGIN;
CREATE TABLE feed_versions (
    seq        BIGINT NOT NULL,
    doc_id     TEXT NOT NULL,
    enterprise TEXT NOT NULL,
    heads      BYTEA NOT NULL,
    written_us BIGINT NOT NULL
);
CREATE FUNCTION log_feed_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO feed_versions VALUES (NEW.seq, NEW.doc_id, NEW.enterprise, NEW.heads,
        (extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT);
    RETURN NULL;
END
$$;
CREATE TRIGGER log_feed_version AFTER INSERT OR UPDATE OF seq ON docs
    FOR EACH ROW EXECUTE FUNCTION log_feed_version();
INSERT INTO feed_versions SELECT seq, doc_id, enterprise, heads, 0 FROM docs;
COMMIT;
";

/// Starts logging every version of every document of the store `db` holds (module doc). Call
/// it while no server commits.
///
/// # Errors
/// When PostgreSQL refuses (a store without the sync tables).
pub async fn record_versions(db: &tokio_postgres::Client) -> anyhow::Result<()> {
    db.batch_execute(INSTALL)
        .await
        .context("installing the feed's version log")
}

/// One version of a document, as the log holds it.
#[derive(Debug, Clone)]
pub struct Version {
    /// Its feed number.
    pub seq: u64,
    /// The document.
    pub doc: DocId,
    /// Its enterprise (the scope key).
    pub enterprise: String,
    /// Its heads.
    pub heads: Vec<ChangeHash>,
    /// When its commit wrote it, µs since the epoch (before the commit became visible).
    pub written_us: i64,
}

/// Heads as the store keeps them: sorted hashes, concatenated.
pub fn decode_heads(bytes: &[u8]) -> anyhow::Result<Vec<ChangeHash>> {
    anyhow::ensure!(
        bytes.len().is_multiple_of(32),
        "heads of {} bytes",
        bytes.len()
    );
    Ok(bytes
        .chunks_exact(32)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            ChangeHash(h)
        })
        .collect())
}

/// Every version logged so far, in feed order.
///
/// # Errors
/// When PostgreSQL fails or a row does not read.
pub async fn versions(db: &tokio_postgres::Client) -> anyhow::Result<Vec<Version>> {
    let rows = db
        .query(
            "SELECT seq, doc_id, enterprise, heads, written_us FROM feed_versions ORDER BY seq",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Version {
                seq: u64::try_from(r.get::<_, i64>(0))?,
                doc: DocId::parse(r.get(1))?,
                enterprise: r.get(2),
                heads: decode_heads(r.get(3))?,
                written_us: r.get(4),
            })
        })
        .collect()
}

/// What [`passed_unheld`] found.
#[derive(Debug, Clone, Default)]
pub struct FeedCheck {
    /// Versions the device's cursor passed that it was checked to hold then.
    pub checked: usize,
    /// Those it did not hold, one line each: empty when its feed had no gap.
    pub gaps: Vec<String>,
}

/// Checks that the device held each version of a document of `scope`'s enterprises its cursor
/// passed (the rule in the module doc). The device must have recorded its responses
/// ([`NativeDevice::applied`]).
///
/// # Errors
/// When the device recorded nothing or one of its documents does not build.
pub fn passed_unheld(
    dev: &mut NativeDevice,
    scope: &BTreeSet<String>,
    versions: &[Version],
) -> anyhow::Result<FeedCheck> {
    let applied = dev
        .applied
        .clone()
        .context("the device did not record its responses")?;
    let own = dev.client.replica().actor().to_bytes().to_vec();
    let mut by_doc: BTreeMap<&DocId, Vec<&Version>> = BTreeMap::new();
    for v in versions.iter().filter(|v| scope.contains(&v.enterprise)) {
        by_doc.entry(&v.doc).or_default().push(v);
    }
    let mut found = FeedCheck::default();
    for (doc, doc_versions) in by_doc {
        // The heads held of `doc` after each response that carried it: (response, heads).
        let carried: Vec<(usize, &Vec<ChangeHash>)> = applied
            .iter()
            .enumerate()
            .flat_map(|(k, a)| {
                a.pulled
                    .iter()
                    .filter(|(d, _)| d == doc)
                    .map(move |(_, h)| (k, h))
            })
            .collect();
        let mut checked: Option<usize> = None;
        for (k, response) in applied.iter().enumerate() {
            let cursor = protocol::cursor_seq(response.cursor);
            let below = doc_versions.partition_point(|v| v.seq <= cursor);
            let Some(last) = below.checked_sub(1) else {
                continue;
            };
            if checked.is_some_and(|c| c >= last) {
                continue;
            }
            // A later version written before the response arrived may be what the server read.
            if doc_versions[below..]
                .iter()
                .any(|v| v.written_us < response.arrived_us)
            {
                continue;
            }
            let held = carried
                .iter()
                .take_while(|(at, _)| *at <= k)
                .last()
                .map(|(_, h)| (*h).clone())
                .unwrap_or_default();
            let missing = unheld(dev, doc, &own, &held, &doc_versions[last].heads)?;
            found.checked += 1;
            if !missing.is_empty() {
                found.gaps.push(format!(
                    "{doc} at {} (written at {} µs): the cursor passed it at {cursor} (response \
                     {k} of {}, arrived at {} µs) while the device lacked {missing:?}",
                    doc_versions[last].seq,
                    doc_versions[last].written_us,
                    applied.len(),
                    response.arrived_us,
                ));
            }
            checked = Some(last);
        }
    }
    Ok(found)
}

/// Which of `wanted` the device did not hold with `held` as its heads of `doc`: changes that
/// are neither its own (made with `own` as actor) nor ancestors of `held`.
fn unheld(
    dev: &mut NativeDevice,
    doc: &DocId,
    own: &[u8],
    held: &[ChangeHash],
    wanted: &[ChangeHash],
) -> anyhow::Result<Vec<ChangeHash>> {
    let Some(record) = dev.client.replica_mut().doc_mut(doc) else {
        return Ok(wanted.to_vec());
    };
    let am = record?.automerge();
    // What is not an ancestor of `held` (with `held` empty: everything).
    let after: BTreeSet<ChangeHash> = am.get_changes_meta(held).iter().map(|m| m.hash).collect();
    let mut missing = Vec::new();
    for hash in wanted {
        let held_then = match am.get_change_meta_by_hash(hash) {
            None => false,
            Some(meta) => meta.actor.to_bytes() == own || !after.contains(hash),
        };
        if !held_then {
            missing.push(*hash);
        }
    }
    Ok(missing)
}
