//! The server's side of a sync request: merge each pushed document, validate it, commit every
//! accepted one durably in one transaction, then answer with per-document outcomes and the
//! documents the device lacks. Storage is behind [`ServerStore`]; the caller passes the time.
//!
//! [`handle_sync`] does it all in one go. A server serving many devices splits it in three so
//! the merging (most of the CPU) runs outside its store lock: [`read_pushed`] (under the lock)
//! reads the stored versions, [`merge_pushed`] (no store) merges and checks each pushed document
//! against them, and [`finish_sync`] (under the lock) merges again any document whose stored
//! heads moved in between, then commits and reads the feed. The result is the same as if the
//! whole request had run under the lock at the moment `finish_sync` did.
//!
//! The server trusts no client with its memory: before any of that, [`parse_pushes`] (no
//! store) holds the request to its [`Limits`], drops repeated documents and parses each push's
//! changes on their own; `read_pushed` then answers from the stored row and the change table
//! whatever needs no stored document (out of scope, not the device's own changes, a repeat of
//! what the server has) and loads only the rest, within [`Limits::merge_bytes`]. A document
//! Automerge cannot decode (even one that makes its decoder panic) is refused alone.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{AutoCommit, ChangeHash};

use super::limits::{Limit, Limits, MAX_RESPONSE_DECODED_BYTES};
use super::protocol::{
    self, DocId, DocPull, DocPush, DocResult, Outcome, Refusal, SyncRequest, SyncResponse, to_wire,
};
use super::validate::{Projection, Scope};
use crate::config::{ClockRules, Config, SlaPolicy};
use crate::doc::DocKind;
use crate::model::{DeviceId, EnterpriseId, Timestamp};

mod chunks;
mod push;

use push::{Merged, Parsed, Plan};

/// A document as the server stores it.
#[derive(Debug, Clone)]
pub struct StoredDoc {
    /// The enterprise it belongs to (its scope key).
    pub enterprise: EnterpriseId,
    /// Loadable Automerge bytes (a snapshot, possibly followed by later changes).
    pub bytes: Vec<u8>,
    /// Its heads.
    pub heads: Vec<ChangeHash>,
}

/// What the server knows of a stored document without reading its bytes: enough to refuse a
/// push out of scope and to count what merging it would load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocMeta {
    /// The enterprise it belongs to (its scope key).
    pub enterprise: EnterpriseId,
    /// Its heads.
    pub heads: Vec<ChangeHash>,
    /// Size of its stored bytes.
    pub size: usize,
}

/// The header of one change: who made it, when, and its message (which names the person and
/// device). What the write rules check before any document is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeHeader {
    /// The change's hash.
    pub hash: ChangeHash,
    /// Its Automerge actor.
    pub actor: automerge::ActorId,
    /// Its message.
    pub message: Option<String>,
    /// The device clock it carries.
    pub time: Timestamp,
}

impl ChangeHeader {
    /// The header of a parsed change.
    pub fn of(change: &automerge::Change) -> ChangeHeader {
        ChangeHeader {
            hash: change.hash(),
            actor: change.actor_id().clone(),
            message: change.message().map(str::to_owned),
            time: Timestamp(change.timestamp()),
        }
    }
}
/// One change new to the server: what the change table keeps of it (its bytes are in the
/// document's snapshot).
#[derive(Debug, Clone)]
pub struct NewChange {
    /// Its hash: storing a hash twice is a no-op.
    pub hash: ChangeHash,
    /// Hex of its Automerge actor.
    pub actor: String,
    /// The device clock it carries.
    pub device_time: Timestamp,
    /// The person and device its message names (`None`: no Lianxin author), whose device's
    /// actor it must carry (the server's history check, `server::store::history`).
    pub author: Option<crate::doc::Author>,
}

/// One document's part of a commit.
#[derive(Debug, Clone)]
pub struct DocCommit {
    /// The document.
    pub doc: DocId,
    /// Changes the server did not have.
    pub changes: Vec<NewChange>,
    /// Loadable bytes of the merged document: when `compacted`, a fresh `save_nocompress()` or
    /// a new document's bytes as pushed (a saved document without per-column deflate);
    /// otherwise the stored bytes followed by the new changes as pushed (cheap to write;
    /// compacted later in the background).
    pub snapshot: Vec<u8>,
    /// Whether `snapshot` is a fresh, compacted save.
    pub compacted: bool,
    /// Heads after the merge.
    pub heads: Vec<ChangeHash>,
    /// The stored heads the merge started from (`None`: the server did not have the
    /// document). A store several servers commit to refuses the commit when the stored heads
    /// are no longer these (another server committed in between: see [`ServerStore`]); a
    /// store behind one lock (SQLite's, the in-memory one) has nothing to check.
    pub base: Option<Vec<ChangeHash>>,
    /// Heads the pushing device is now known to have.
    pub device_heads: Vec<ChangeHash>,
    /// Rows for the query tables.
    pub projection: Projection,
}

/// Everything one request stores, in one durable transaction.
#[derive(Debug, Clone)]
pub struct Commit {
    /// The pushing device.
    pub device: DeviceId,
    /// Server clock at receipt.
    pub received_at: Timestamp,
    /// The device's clock at sending.
    pub device_time: Timestamp,
    /// The documents.
    pub docs: Vec<DocCommit>,
    /// The time limits that problems' deadlines are computed from on the server's clock.
    pub sla: SlaPolicy,
    /// How far the device's claimed times are trusted (`crate::server_time`).
    pub clock: ClockRules,
}

/// Storage the sync engine needs on the server, named for its use cases. Implementations:
/// SQLite in `server::store`, PostgreSQL in `server::pg` (several servers on one database),
/// the in-memory store of the engine's tests.
///
/// Calls of [`handle_sync`], [`read_pushed`] and [`finish_sync`] on one store must be
/// serialized (the server holds one lock for each call): `finish_sync` checks that what a merge
/// read is still current before its commit overwrites the snapshot. A store that other
/// servers commit to at the same time must keep two more promises: a commit whose
/// [`DocCommit::base`] is no longer the stored heads stores nothing and fails (the caller
/// merges again), and a sequence number becomes visible to [`ServerStore::changed_since`] and
/// [`ServerStore::latest_seq`] only after every smaller one (the feed a reader sees is always
/// a prefix: a cursor never passes a document it did not see).
pub trait ServerStore {
    /// The store's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// A stored document, or `None` if the server has never seen it.
    fn load_doc(&mut self, doc: &DocId) -> Result<Option<StoredDoc>, Self::Error>;

    /// The heads of a stored document, or `None` if the server has never seen it. The default
    /// loads the whole document; a store keeping the heads apart answers without the snapshot.
    fn doc_heads(&mut self, doc: &DocId) -> Result<Option<Vec<ChangeHash>>, Self::Error> {
        Ok(self.load_doc(doc)?.map(|d| d.heads))
    }

    /// A stored document's enterprise, heads and size, or `None` if the server has never seen
    /// it. The default loads the whole document; a real store answers without the snapshot.
    fn doc_meta(&mut self, doc: &DocId) -> Result<Option<DocMeta>, Self::Error> {
        Ok(self.load_doc(doc)?.map(|d| DocMeta {
            enterprise: d.enterprise,
            size: d.bytes.len(),
            heads: d.heads,
        }))
    }

    /// Which of `hashes` are changes of `doc` the server has stored. Every change the server
    /// accepts is stored by hash ([`ServerStore::commit`]), so this answers without loading
    /// the document; the default loads it.
    fn known_changes(
        &mut self,
        doc: &DocId,
        hashes: &[ChangeHash],
    ) -> Result<BTreeSet<ChangeHash>, Self::Error> {
        let Some(stored) = self.load_doc(doc)? else {
            return Ok(BTreeSet::new());
        };
        let Ok(mut loaded) = AutoCommit::load(&stored.bytes) else {
            return Ok(BTreeSet::new());
        };
        Ok(hashes
            .iter()
            .filter(|h| loaded.get_change_meta_by_hash(h).is_some())
            .copied()
            .collect())
    }

    /// Stores every document of the commit atomically; returns only once it is durable. Each
    /// document gets a new sequence number larger than every earlier one.
    fn commit(&mut self, commit: &Commit) -> Result<(), Self::Error>;

    /// Documents in `scope` whose sequence number is above `after`, in sequence order, at most
    /// `limit` of them.
    fn changed_since(
        &mut self,
        scope: &Scope,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(DocId, u64)>, Self::Error>;

    /// The largest sequence number given out so far.
    fn latest_seq(&mut self) -> Result<u64, Self::Error>;

    /// The store's epoch (纪元, [`protocol::EPOCH_SHIFT`]): 0 at creation, a new one after each
    /// restore from a backup. Cursors carry it; a cursor of another epoch is served from the
    /// start. A store that is never restored keeps the default, 0.
    fn epoch(&mut self) -> Result<u64, Self::Error> {
        Ok(0)
    }

    /// The device has durably applied the response numbered `ack` (and acknowledged each
    /// earlier one it applied in the request after it): what that response delivered becomes
    /// known. Only that one: another delivery numbered below it went to a request the device
    /// gave up on (on several servers, that request may record its delivery after the
    /// request the device applied began), never reached it, and is forgotten with the others
    /// up to `ack`. Deliveries above `ack` are kept: a response still on its way (another
    /// request of the device, confirming an older `ack`, may run at the same time) becomes
    /// known when the device acknowledges it.
    fn confirm_delivery(&mut self, device: DeviceId, ack: u64) -> Result<(), Self::Error>;

    /// Heads the device is known to have of a document.
    fn known_heads(
        &mut self,
        device: DeviceId,
        doc: &DocId,
    ) -> Result<Option<Vec<ChangeHash>>, Self::Error>;

    /// Records what a response delivers, under a new delivery number larger than every earlier
    /// one of this device; it becomes known once the device acknowledges that number.
    fn record_delivery(
        &mut self,
        device: DeviceId,
        docs: &[(DocId, Vec<ChangeHash>)],
    ) -> Result<u64, Self::Error>;
}

/// What the identity layer checks of a device's writes, beyond its write scope: who wrote each
/// new change, which new documents it may create, and the role rules a merged document must
/// keep. The engine calls it; the server implements it (a closure over changes is the simplest
/// implementation, checking authorship only).
pub trait WriteCheck {
    /// Checks the header of one change new to the server; `Err` says why the document is
    /// refused ([`Refusal::Forbidden`]). Called before the stored document is loaded.
    fn change(&self, change: &ChangeHeader) -> Result<(), String>;

    /// Whether a document the server does not have yet may be created although the write scope
    /// does not hold it (e.g. a window clerk taking in a problem for any enterprise).
    fn may_create(&self, _doc: &DocId, _enterprise: &EnterpriseId) -> bool {
        false
    }

    /// Role rules of a merged, valid document in scope: `before` is the stored document's
    /// projection (`None` when it is new), `after` the merged one. `Err` refuses it whole.
    fn document(
        &self,
        _doc: &DocId,
        _before: Option<&Projection>,
        _after: &Projection,
    ) -> Result<(), Refusal> {
        Ok(())
    }
}

impl<F: Fn(&ChangeHeader) -> Result<(), String>> WriteCheck for F {
    fn change(&self, change: &ChangeHeader) -> Result<(), String> {
        self(change)
    }
}

/// Checks a device's writes: authorship of each new change and role rules.
pub type AuthorshipCheck<'a> = &'a dyn WriteCheck;

/// Who is syncing and what they may touch.
#[derive(Clone)]
pub struct SyncContext<'a> {
    /// The authenticated device.
    pub device: DeviceId,
    /// Documents it may receive.
    pub read: &'a Scope,
    /// Documents it may change.
    pub write: &'a Scope,
    /// District configuration.
    pub config: &'a Config,
    /// The configuration the device declares it holds, when it is an older one the server
    /// published: a value being set is accepted when this one or `config` allows it (issue
    /// 15, bad input: an offline phone's edits are judged by what it was given). `None`: no
    /// declaration, the current one, or one the server does not know.
    pub declared: Option<&'a Config>,
    /// Server clock.
    pub now: Timestamp,
    /// What one request may ask of the server.
    pub limits: Limits,
    /// Checks each new change's authorship (actor bound to this device) and the role rules
    /// of each merged document; `None` accepts all (server-internal writes and tests).
    pub authorship: Option<AuthorshipCheck<'a>>,
}

/// A failed sync request; nothing was acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum SyncError<E: std::error::Error + 'static> {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[source] E),
    /// The request breaks a request-wide limit (answered before the work it bounds).
    #[error("{0}")]
    Limit(Limit),
}

/// Most documents one response lists from the change feed.
const FEED_LIMIT: usize = 2000;

/// A feed document larger than this is not sent (only documents stored before the stored-size
/// limit can be): it could not reach a device, and sending it would stop the device's feed.
const LARGEST_FEED_DOC: usize = MAX_RESPONSE_DECODED_BYTES / 2;

/// Each push parsed on its own, before any store is read ([`parse_pushes`]).
pub struct ParsedPushes {
    per_push: Vec<Result<Parsed, Outcome>>,
}

/// What [`read_pushed`] read under the store lock, for [`merge_pushed`].
pub struct ReadPushes {
    per_push: Vec<ReadPush>,
}

impl ReadPushes {
    /// Bytes of the stored documents read to merge the pushes into.
    pub fn stored_bytes(&self) -> usize {
        self.per_push
            .iter()
            .map(|r| match r {
                ReadPush::Merge {
                    stored: Some(s), ..
                } => s.bytes.len(),
                _ => 0,
            })
            .sum()
    }
}

enum ReadPush {
    Decided(Outcome),
    Merge {
        parsed: Parsed,
        stored: Option<StoredDoc>,
    },
}

/// Pushed documents merged and checked against the stored versions [`read_pushed`] read,
/// waiting for [`finish_sync`].
pub struct Prepared {
    /// Per push, in request order.
    merges: Vec<PreMerged>,
}

/// One pushed document merged outside the store lock.
struct PreMerged {
    /// The document merged: a `Prepared` given with another request is merged again.
    doc: DocId,
    /// The stored heads the merge started from (`None`: the server did not have it).
    read: Option<Vec<ChangeHash>>,
    /// Decided from the stored row alone, without a merge.
    decided: bool,
    merged: Result<Merged, Outcome>,
}

/// A request held to its request-wide limits and each push weighed from its chunks' headers
/// ([`weigh_pushes`]), before Automerge has built anything: what parsing and merging it will
/// hold is known, so the server can decide when to let it run.
pub struct WeighedPushes<'a> {
    per_push: Vec<Result<push::Weighed<'a>, Outcome>>,
    weight: Weight,
}

/// What a request's pushes weigh before they are parsed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Weight {
    /// The pushes' bytes, deflated parts counted inflated.
    pub bytes: usize,
    /// The operations their chunks claim.
    pub ops: u64,
}

impl<'a> WeighedPushes<'a> {
    /// What the pushes weigh together.
    pub fn weight(&self) -> Weight {
        self.weight
    }

    /// Refuses the pushes `refuse` answers for without parsing them (e.g. a kind of document
    /// the caller never writes).
    pub fn refuse(&mut self, req: &SyncRequest, refuse: impl Fn(&DocPush) -> Option<Outcome>) {
        for (slot, push) in self.per_push.iter_mut().zip(&req.push) {
            if slot.is_ok()
                && let Some(outcome) = refuse(push)
            {
                *slot = Err(outcome);
            }
        }
    }

    /// Parses each push on its own (the first Automerge work on pushed bytes).
    pub fn parse(self) -> ParsedPushes {
        ParsedPushes {
            per_push: self
                .per_push
                .into_iter()
                .map(|w| w.and_then(|w| push::parse(&w)))
                .collect(),
        }
    }
}

/// Holds the request to its request-wide limits and weighs each push from its chunks' headers
/// (no store, no Automerge). A document pushed twice is refused the second time without being
/// looked at.
pub fn weigh_pushes<'a>(limits: &Limits, req: &'a SyncRequest) -> Result<WeighedPushes<'a>, Limit> {
    if req.push.len() > limits.pushes {
        return Err(Limit::Pushes(req.push.len()));
    }
    let mut seen: BTreeSet<&DocId> = BTreeSet::new();
    // What Automerge will hold of all the pushes, deflated parts counted inflated: within the
    // merge budget for the whole request, checked before each push is parsed.
    let mut weight = Weight::default();
    let mut per_push = Vec::with_capacity(req.push.len());
    for push in &req.push {
        if !seen.insert(&push.doc) {
            per_push.push(Err(Outcome::Refused(Refusal::Malformed(
                "the same document twice in one request".into(),
            ))));
            continue;
        }
        match push::weigh(limits, push) {
            Ok(weighed) => {
                weight.bytes = weight.bytes.saturating_add(weighed.weight);
                if weight.bytes > limits.merge_bytes {
                    return Err(Limit::MergeBytes(weight.bytes));
                }
                weight.ops = weight.ops.saturating_add(weighed.ops);
                if weight.ops > limits.request_ops {
                    return Err(Limit::Ops(weight.ops));
                }
                per_push.push(Ok(weighed));
            }
            Err(outcome) => per_push.push(Err(outcome)),
        }
    }
    Ok(WeighedPushes { per_push, weight })
}

/// Holds the request to its request-wide limits and parses each push on its own (no store:
/// the server runs it before taking its store lock): [`weigh_pushes`], then
/// [`WeighedPushes::parse`].
pub fn parse_pushes(limits: &Limits, req: &SyncRequest) -> Result<ParsedPushes, Limit> {
    Ok(weigh_pushes(limits, req)?.parse())
}

/// Under the store lock: decides what the stored rows and the change table can decide, checks
/// that merging the rest loads at most [`Limits::merge_bytes`] of stored documents, and reads
/// those documents.
pub fn read_pushed<S: ServerStore>(
    store: &mut S,
    ctx: &SyncContext<'_>,
    req: &SyncRequest,
    parsed: ParsedPushes,
) -> Result<ReadPushes, SyncError<S::Error>> {
    let mut plans = Vec::with_capacity(req.push.len());
    for (push, parsed) in req.push.iter().zip(parsed.per_push) {
        let plan = match parsed {
            Err(outcome) => Plan::Decided(outcome),
            Ok(parsed) => push::plan(store, ctx, push, parsed).map_err(SyncError::Store)?,
        };
        plans.push(plan);
    }
    // A document too large to merge on its own is refused alone; the others must fit together.
    let mut merge_bytes = 0usize;
    for plan in &mut plans {
        if let Plan::Merge { size, .. } = plan {
            if *size > ctx.limits.merge_bytes {
                *plan = Plan::Decided(Outcome::Refused(Refusal::TooLarge {
                    limit: u32::try_from(ctx.limits.merge_bytes).unwrap_or(u32::MAX),
                }));
            } else {
                merge_bytes = merge_bytes.saturating_add(*size);
            }
        }
    }
    if merge_bytes > ctx.limits.merge_bytes {
        return Err(SyncError::Limit(Limit::MergeBytes(merge_bytes)));
    }
    let mut per_push = Vec::with_capacity(plans.len());
    for (push, plan) in req.push.iter().zip(plans) {
        per_push.push(match plan {
            Plan::Decided(outcome) => ReadPush::Decided(outcome),
            Plan::Merge { parsed, size } => ReadPush::Merge {
                parsed,
                stored: if size == 0 {
                    None
                } else {
                    store.load_doc(&push.doc).map_err(SyncError::Store)?
                },
            },
        });
    }
    Ok(ReadPushes { per_push })
}

/// Merges and checks each pushed document against its stored version as [`read_pushed`] read
/// it. Needs no store: the server runs it outside its store lock.
///
/// Visits are merged and checked before the request's other documents, so a rule of the
/// [`WriteCheck`] may rely on the visits of the same request (a look-back passes on a visit
/// pushed with it); the results stay in request order.
pub fn merge_pushed(ctx: &SyncContext<'_>, req: &SyncRequest, read: ReadPushes) -> Prepared {
    let mut slots: Vec<Option<PreMerged>> = Vec::with_capacity(req.push.len());
    let mut pending = Vec::with_capacity(req.push.len());
    for (i, (push, read)) in req.push.iter().zip(read.per_push).enumerate() {
        slots.push(None);
        pending.push((i, push, read));
    }
    // A stable sort: visits first, the rest in request order.
    pending.sort_by_key(|(_, push, _)| push.doc.kind() != DocKind::Visit);
    for (i, push, read) in pending {
        slots[i] = Some(match read {
            ReadPush::Decided(outcome) => PreMerged {
                doc: push.doc.clone(),
                read: None,
                decided: true,
                merged: push::decided(outcome),
            },
            ReadPush::Merge { parsed, stored } => PreMerged {
                doc: push.doc.clone(),
                read: stored.as_ref().map(|s| s.heads.clone()),
                decided: false,
                merged: push::merge(ctx, push, parsed, stored.as_ref()),
            },
        });
    }
    Prepared {
        merges: slots.into_iter().flatten().collect(),
    }
}

/// Reads a request's cursor in the store's `epoch`: a cursor handed out in another epoch (by
/// the database a restore replaced) counts for nothing, and neither does its acknowledgement
/// (the restored database numbers deliveries again from where the backup left them): the
/// request is served from the start of the feed, where the device's known heads, as the
/// backup has them, keep what it holds from being sent again. Cursor 0 counts in every epoch.
/// Idempotent; [`finish_sync`] applies it, and a server that reads the request's cursor or
/// acknowledgement before that (its own re-scoping) applies it first.
pub fn in_epoch(req: &mut SyncRequest, epoch: u64) {
    if req.cursor != 0 && protocol::cursor_epoch(req.cursor) != epoch {
        req.cursor = 0;
        req.ack = 0;
    }
}

/// Handles one sync request. Every `Accepted` outcome in the response refers to data that was
/// durably committed before this function returned.
pub fn handle_sync<S: ServerStore>(
    store: &mut S,
    ctx: &SyncContext<'_>,
    req: &SyncRequest,
) -> Result<SyncResponse, SyncError<S::Error>> {
    let parsed = parse_pushes(&ctx.limits, req).map_err(SyncError::Limit)?;
    let read = read_pushed(store, ctx, req, parsed)?;
    let prepared = merge_pushed(ctx, req, read);
    finish_sync(store, ctx, req, prepared).map_err(SyncError::Store)
}

/// Finishes a sync request whose pushes [`merge_pushed`] merged (under the store lock): a
/// document whose stored heads are no longer those the merge read is merged again here; then
/// every accepted document is committed in one transaction and the feed is read. Every
/// `Accepted` outcome refers to data durably committed before this function returned.
pub fn finish_sync<S: ServerStore>(
    store: &mut S,
    ctx: &SyncContext<'_>,
    req: &SyncRequest,
    prepared: Prepared,
) -> Result<SyncResponse, S::Error> {
    let mut prepared = prepared.merges.into_iter();
    let epoch = store.epoch()?;
    let mut req = req.clone();
    in_epoch(&mut req, epoch);
    // From here on the cursor is a sequence of this store's feed. One beyond anything this
    // store gave out means the store went back in time without a new epoch (restored by a
    // build before epochs): the device gets its whole scope again rather than skipping.
    req.cursor = protocol::cursor_seq(req.cursor);
    if req.cursor > store.latest_seq()? {
        req.cursor = 0;
    }
    let req = &req;
    store.confirm_delivery(ctx.device, req.ack)?;
    let mut results = Vec::with_capacity(req.push.len());
    let mut commits = Vec::new();
    let mut pulls = Vec::new();
    let mut delivered: Vec<(DocId, Vec<ChangeHash>)> = Vec::new();
    // Pushed documents this response answers, with the heads it gives the device.
    let mut handled: BTreeMap<DocId, Vec<ChangeHash>> = BTreeMap::new();
    for push in &req.push {
        let read = prepared.next();
        let merged = match read {
            // Decided without the stored document (a refusal, a repeat, a resend): what decided
            // it does not move with the document's later changes.
            Some(pre) if pre.doc == push.doc && pre.decided => pre.merged,
            Some(pre) if pre.doc == push.doc && pre.read == store.doc_heads(&push.doc)? => {
                pre.merged
            }
            // Another request changed the document since it was read (or the merge was of
            // another document): merge again.
            _ => push::merge_locked(store, ctx, push)?,
        };
        let outcome = match merged {
            Ok(merged) => {
                // A repeat answered from the row leaves the document to the feed if it moved
                // since (the device then gets what it lacks there).
                if !merged.from_row || store.doc_heads(&push.doc)?.as_ref() == Some(&merged.heads) {
                    handled.insert(push.doc.clone(), merged.heads.clone());
                }
                if let Some(data) = merged.pull {
                    pulls.push(DocPull {
                        doc: push.doc.clone(),
                        heads: to_wire(&merged.heads),
                        data,
                    });
                    delivered.push((push.doc.clone(), merged.heads.clone()));
                }
                commits.extend(merged.commit);
                Outcome::Accepted {
                    heads: to_wire(&merged.heads),
                }
            }
            Err(outcome) => outcome,
        };
        results.push(DocResult {
            doc: push.doc.clone(),
            outcome,
        });
    }
    if !commits.is_empty() {
        let commit = Commit {
            device: ctx.device,
            received_at: ctx.now,
            device_time: req.device_time,
            docs: commits,
            sla: ctx.config.sla.clone(),
            clock: ctx.config.clock.clone(),
        };
        store.commit(&commit)?;
    }

    // Then what changed on the server since the device's cursor, within the response budget.
    let budget = req.max_response_bytes.max(4096) as usize;
    let mut used: usize = pulls.iter().map(|p| p.data.len()).sum();
    // The feed's horizon, read before the feed: every sequence number up to it is in the feed
    // read next. Read after, it could pass a document another server committed in between,
    // which the device would then never be sent.
    let horizon = store.latest_seq()?;
    let feed = store.changed_since(ctx.read, req.cursor, FEED_LIMIT)?;
    let mut cursor = None;
    let mut more = feed.len() == FEED_LIMIT;
    for (i, (doc, _)) in feed.iter().enumerate() {
        // A pushed document this response answers is left out, unless another server
        // committed it after this request did (the feed lists it once, at that later number,
        // which the cursor passes): then what is stored now goes instead.
        if let Some(heads) = handled.get(doc)
            && store.doc_heads(doc)?.as_ref() == Some(heads)
        {
            continue;
        }
        let known = store.known_heads(ctx.device, doc)?;
        // What the device is known to have needs no bytes read.
        if known.is_some() && known == store.doc_heads(doc)? {
            continue;
        }
        let Some(stored) = store.load_doc(doc)? else {
            continue;
        };
        if known.as_ref() == Some(&stored.heads) || stored.bytes.len() > LARGEST_FEED_DOC {
            continue;
        }
        let data = match &known {
            // Under `catch_unwind`: a stored document Automerge cannot take apart (only one
            // stored before the server checked for it can be) is skipped, not a failed request
            // for every device in its scope.
            Some(k) => match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                match AutoCommit::load(&stored.bytes) {
                    Ok(mut d) => {
                        if k.iter().all(|h| d.get_change_meta_by_hash(h).is_some()) {
                            d.save_after(k)
                        } else {
                            stored.bytes.clone()
                        }
                    }
                    Err(_) => stored.bytes.clone(),
                }
            })) {
                Ok(data) => data,
                Err(_) => continue,
            },
            None => stored.bytes.clone(),
        };
        if used > 0 && used + data.len() > budget {
            more = true;
            cursor = Some(
                feed[..i]
                    .iter()
                    .map(|(_, s)| *s)
                    .max()
                    .unwrap_or(req.cursor)
                    .max(req.cursor),
            );
            break;
        }
        if handled.contains_key(doc) {
            // In place of what the push's answer carried of it (the same document once).
            used -= pulls
                .iter()
                .filter(|p| &p.doc == doc)
                .map(|p| p.data.len())
                .sum::<usize>();
            pulls.retain(|p| &p.doc != doc);
            delivered.retain(|(d, _)| d != doc);
        }
        used += data.len();
        pulls.push(DocPull {
            doc: doc.clone(),
            heads: to_wire(&stored.heads),
            data,
        });
        delivered.push((doc.clone(), stored.heads));
    }
    let cursor = match cursor {
        Some(c) => c,
        None if more => feed.last().map(|(_, s)| *s).unwrap_or(req.cursor),
        None => horizon.max(req.cursor),
    };
    let delivery = if delivered.is_empty() {
        req.ack
    } else {
        store.record_delivery(ctx.device, &delivered)?
    };
    Ok(SyncResponse {
        cursor: protocol::cursor_of(epoch, cursor),
        delivery,
        more,
        results,
        pulls,
        server_time: ctx.now,
        // The server's driver names documents that left the device's scope (it knows what
        // the device holds and when the scope changed).
        gone: Vec::new(),
    })
}

#[cfg(test)]
mod tests;
