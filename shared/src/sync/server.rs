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

use std::collections::BTreeSet;

use automerge::{AutoCommit, ChangeHash};

use super::protocol::{
    DocId, DocPull, DocPush, DocResult, Outcome, Refusal, SyncRequest, SyncResponse, from_wire,
    to_wire,
};
use super::validate::{Projection, Scope, validate};
use crate::config::Config;
use crate::doc::{ActorId, RecordDoc};
use crate::model::{DeviceId, EnterpriseId, Timestamp};

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

/// One change new to the server.
#[derive(Debug, Clone)]
pub struct NewChange {
    /// Its hash: storing a hash twice is a no-op.
    pub hash: ChangeHash,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Hex of its Automerge actor.
    pub actor: String,
    /// The device clock it carries.
    pub device_time: Timestamp,
}

/// One document's part of a commit.
#[derive(Debug, Clone)]
pub struct DocCommit {
    /// The document.
    pub doc: DocId,
    /// Changes the server did not have.
    pub changes: Vec<NewChange>,
    /// Loadable bytes of the merged document: a fresh `save_nocompress()` when `compacted`,
    /// otherwise the stored bytes followed by the new changes (cheap to write; compacted later
    /// in the background).
    pub snapshot: Vec<u8>,
    /// Whether `snapshot` is a fresh, compacted save.
    pub compacted: bool,
    /// Heads after the merge.
    pub heads: Vec<ChangeHash>,
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
}

/// Storage the sync engine needs on the server, named for its use cases. Implementations:
/// SQLite in `server::store` (PostgreSQL can follow for multi-node deployments).
///
/// Calls of [`handle_sync`], [`read_pushed`] and [`finish_sync`] on one store must be
/// serialized (the server holds one lock for each call): `finish_sync` checks that what a merge
/// read is still current before its commit overwrites the snapshot, and the response cursor is
/// read after the feed.
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

    /// The device has durably applied every response up to delivery number `ack`: what those
    /// responses delivered becomes known; deliveries numbered above `ack` were lost and are
    /// forgotten.
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
    /// Checks one change new to the server; `Err` says why the document is refused
    /// ([`Refusal::Forbidden`]).
    fn change(&self, change: &automerge::Change) -> Result<(), String>;

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

impl<F: Fn(&automerge::Change) -> Result<(), String>> WriteCheck for F {
    fn change(&self, change: &automerge::Change) -> Result<(), String> {
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
    /// Server clock.
    pub now: Timestamp,
    /// Largest document accepted, in bytes.
    pub max_doc_bytes: u32,
    /// Checks each new change's authorship (actor bound to this device) and the role rules
    /// of each merged document; `None` accepts all (server-internal writes and tests).
    pub authorship: Option<AuthorshipCheck<'a>>,
}

/// A failed sync request (the store failed); nothing was acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum SyncError<E: std::error::Error + 'static> {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[source] E),
}

/// Most documents one response lists from the change feed.
const FEED_LIMIT: usize = 2000;

fn server_actor() -> ActorId {
    ActorId::from([0u8; 16])
}

/// A pushed document merged and checked, ready to commit.
struct Merged {
    commit: Option<DocCommit>,
    heads: Vec<ChangeHash>,
    /// What the device lacks of the merged document.
    pull: Option<Vec<u8>>,
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
    merged: Result<Merged, Outcome>,
}

/// The stored version of each pushed document, in request order (under the store lock).
pub fn read_pushed<S: ServerStore>(
    store: &mut S,
    req: &SyncRequest,
) -> Result<Vec<Option<StoredDoc>>, S::Error> {
    req.push.iter().map(|p| store.load_doc(&p.doc)).collect()
}

/// Merges and checks each pushed document against its stored version as [`read_pushed`] read
/// it. Needs no store: the server runs it outside its store lock.
pub fn merge_pushed(
    ctx: &SyncContext<'_>,
    req: &SyncRequest,
    stored: Vec<Option<StoredDoc>>,
) -> Prepared {
    let merges = req
        .push
        .iter()
        .zip(stored)
        .map(|(push, stored)| {
            let merged = merge_push(ctx, push, stored.as_ref());
            PreMerged {
                doc: push.doc.clone(),
                read: stored.map(|s| s.heads),
                merged,
            }
        })
        .collect();
    Prepared { merges }
}

fn merge_push(
    ctx: &SyncContext<'_>,
    push: &DocPush,
    stored: Option<&StoredDoc>,
) -> Result<Merged, Outcome> {
    let refuse = |r: Refusal| Err(Outcome::Refused(r));
    if push.data.len() > ctx.max_doc_bytes as usize {
        return refuse(Refusal::TooLarge {
            limit: ctx.max_doc_bytes,
        });
    }
    let mut doc = match &stored {
        Some(s) => match AutoCommit::load(&s.bytes) {
            Ok(d) => d,
            Err(e) => return refuse(Refusal::Invalid(format!("stored copy unreadable: {e}"))),
        },
        None => AutoCommit::new(),
    }
    .with_actor(server_actor());
    if let Some(s) = &stored
        && !ctx.write.allows(&push.doc, &s.enterprise)
    {
        return refuse(Refusal::OutOfScope);
    }
    let before = doc.get_heads();
    // The role rules compare with the stored version: keep the copy already parsed above
    // rather than parsing the stored bytes a second time.
    let stored_copy = (ctx.authorship.is_some() && stored.is_some()).then(|| doc.clone());
    if let Err(e) = doc.load_incremental(&push.data) {
        return refuse(Refusal::Malformed(e.to_string()));
    }
    let claimed = from_wire(&push.heads);
    // Usually the claimed heads are the merged document's heads; only older ones need the
    // lookup, which builds the whole change.
    let merged_heads = doc.get_heads();
    if !doc.get_missing_deps(&[]).is_empty()
        || !claimed
            .iter()
            .all(|h| merged_heads.contains(h) || doc.get_change_by_hash(h).is_some())
    {
        let mut server_heads = before.clone();
        server_heads.sort();
        return Err(Outcome::Resend {
            server_heads: to_wire(&server_heads),
        });
    }
    let new_changes = doc.get_changes(&before);
    if let Some(check) = ctx.authorship {
        for c in &new_changes {
            if let Err(why) = check.change(c) {
                return refuse(Refusal::Forbidden(why));
            }
        }
    }
    let mut heads = doc.get_heads();
    heads.sort();
    let record = match RecordDoc::from_automerge(doc.clone()) {
        Ok(r) => r,
        Err(e) => return refuse(Refusal::Invalid(e.to_string())),
    };
    let projection = match validate(&push.doc, &record, ctx.config) {
        Ok(p) => p,
        Err(r) => return refuse(r),
    };
    let creatable = stored.is_none()
        && ctx
            .authorship
            .is_some_and(|check| check.may_create(&push.doc, &projection.enterprise()));
    if !ctx.write.allows(&push.doc, &projection.enterprise()) && !creatable {
        return refuse(Refusal::OutOfScope);
    }
    if let Some(s) = &stored
        && s.enterprise != projection.enterprise()
    {
        return refuse(Refusal::Invalid(
            "a record cannot move to another enterprise".into(),
        ));
    }
    if let Some(check) = ctx.authorship {
        // The stored document was valid when stored; if it no longer reads (e.g. the
        // configuration changed), the rules see it as new, which is the stricter reading.
        let before = stored_copy.and_then(|d| {
            RecordDoc::from_automerge(d)
                .ok()
                .and_then(|r| validate(&push.doc, &r, ctx.config).ok())
        });
        if let Err(r) = check.document(&push.doc, before.as_ref(), &projection) {
            return refuse(r);
        }
    }
    let pull = if heads == claimed {
        None
    } else {
        Some(doc.save_after(&claimed))
    };
    // A new document is saved compacted; an existing one gets its new changes appended to the
    // stored bytes, which costs no re-encoding on the request path. Snapshots are kept without
    // Automerge's per-column deflate: they travel as they are in responses, which are deflated
    // whole, and they load faster.
    let (snapshot_bytes, compacted) = match &stored {
        Some(s) => {
            let mut bytes = s.bytes.clone();
            for c in &new_changes {
                bytes.extend_from_slice(c.raw_bytes());
            }
            (bytes, false)
        }
        None => (doc.save_nocompress(), true),
    };
    let commit = if new_changes.is_empty() {
        None
    } else {
        Some(DocCommit {
            doc: push.doc.clone(),
            changes: new_changes
                .iter()
                .map(|c| NewChange {
                    hash: c.hash(),
                    bytes: c.raw_bytes().to_vec(),
                    actor: c.actor_id().to_hex_string(),
                    device_time: Timestamp(c.timestamp()),
                })
                .collect(),
            snapshot: snapshot_bytes,
            compacted,
            heads: heads.clone(),
            device_heads: claimed,
            projection,
        })
    };
    Ok(Merged {
        commit,
        heads,
        pull,
    })
}

/// Handles one sync request. Every `Accepted` outcome in the response refers to data that was
/// durably committed before this function returned.
pub fn handle_sync<S: ServerStore>(
    store: &mut S,
    ctx: &SyncContext<'_>,
    req: &SyncRequest,
) -> Result<SyncResponse, SyncError<S::Error>> {
    let stored = read_pushed(store, req).map_err(SyncError::Store)?;
    let prepared = merge_pushed(ctx, req, stored);
    finish_sync(store, ctx, req, prepared)
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
) -> Result<SyncResponse, SyncError<S::Error>> {
    let mut prepared = prepared.merges.into_iter();
    // A cursor beyond anything this store gave out means the store went back in time (restored
    // from a backup): the device gets its whole scope again rather than silently skipping.
    let mut req_cursor = req.cursor;
    if req_cursor > store.latest_seq().map_err(SyncError::Store)? {
        req_cursor = 0;
    }
    let req = &SyncRequest {
        cursor: req_cursor,
        ..req.clone()
    };
    store
        .confirm_delivery(ctx.device, req.ack)
        .map_err(SyncError::Store)?;
    let mut results = Vec::with_capacity(req.push.len());
    let mut commits = Vec::new();
    let mut pulls = Vec::new();
    let mut delivered: Vec<(DocId, Vec<ChangeHash>)> = Vec::new();
    let mut handled: BTreeSet<DocId> = BTreeSet::new();
    let mut seen_in_request: BTreeSet<&DocId> = BTreeSet::new();
    for push in &req.push {
        let read = prepared.next();
        if !seen_in_request.insert(&push.doc) {
            results.push(DocResult {
                doc: push.doc.clone(),
                outcome: Outcome::Refused(Refusal::Malformed(
                    "the same document twice in one request".into(),
                )),
            });
            continue;
        }
        let current_heads = store.doc_heads(&push.doc).map_err(SyncError::Store)?;
        let merged = match read {
            Some(pre) if pre.doc == push.doc && pre.read == current_heads => pre.merged,
            // Another request changed the document since it was read (or the merge was of
            // another document): merge again.
            _ => {
                let current = store.load_doc(&push.doc).map_err(SyncError::Store)?;
                merge_push(ctx, push, current.as_ref())
            }
        };
        let outcome = match merged {
            Ok(merged) => {
                handled.insert(push.doc.clone());
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
        };
        store.commit(&commit).map_err(SyncError::Store)?;
    }

    // Then what changed on the server since the device's cursor, within the response budget.
    let budget = req.max_response_bytes.max(4096) as usize;
    let mut used: usize = pulls.iter().map(|p| p.data.len()).sum();
    let feed = store
        .changed_since(ctx.read, req.cursor, FEED_LIMIT)
        .map_err(SyncError::Store)?;
    let mut cursor = None;
    let mut more = feed.len() == FEED_LIMIT;
    for (i, (doc, _)) in feed.iter().enumerate() {
        if handled.contains(doc) {
            continue;
        }
        let Some(stored) = store.load_doc(doc).map_err(SyncError::Store)? else {
            continue;
        };
        let known = store
            .known_heads(ctx.device, doc)
            .map_err(SyncError::Store)?;
        if known.as_ref() == Some(&stored.heads) {
            continue;
        }
        let data = match &known {
            Some(k) => match AutoCommit::load(&stored.bytes) {
                Ok(mut d) => {
                    if k.iter().all(|h| d.get_change_by_hash(h).is_some()) {
                        d.save_after(k)
                    } else {
                        stored.bytes.clone()
                    }
                }
                Err(_) => stored.bytes.clone(),
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
        None => store
            .latest_seq()
            .map_err(SyncError::Store)?
            .max(req.cursor),
    };
    let delivery = if delivered.is_empty() {
        req.ack
    } else {
        store
            .record_delivery(ctx.device, &delivered)
            .map_err(SyncError::Store)?
    };
    Ok(SyncResponse {
        cursor,
        delivery,
        more,
        results,
        pulls,
        server_time: ctx.now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{DocKind, NewVisit, VisitDoc};
    use crate::model::{Actor, OperatingStatus, Role, UserId, VisitId, VisitMethod};
    use crate::sync::memory::MemoryStore;
    use crate::sync::validate::Scope;

    const T0: Timestamp = Timestamp(1_793_491_200_000);

    fn officer(n: u8) -> (Actor, ActorId) {
        let id = |tag: u8| {
            let mut b = [0u8; 16];
            b[0] = tag;
            b[15] = n;
            b
        };
        let actor = Actor {
            user: UserId::from_random_bytes(id(1)),
            device: DeviceId::from_random_bytes(id(2)),
            role: Role::Officer,
        };
        (actor, ActorId::from(id(3).to_vec()))
    }

    fn ctx(config: &Config, device: DeviceId) -> SyncContext<'_> {
        SyncContext {
            device,
            read: &Scope::All,
            write: &Scope::All,
            config,
            now: T0,
            max_doc_bytes: 1 << 20,
            authorship: None,
        }
    }

    /// A request pushing everything of `doc` after `base`.
    fn pushing(id: &DocId, doc: &mut VisitDoc, base: &[ChangeHash]) -> SyncRequest {
        let mut record = doc.clone().into_record();
        SyncRequest {
            cursor: 0,
            ack: 0,
            device_time: T0,
            push: vec![DocPush {
                doc: id.clone(),
                base: to_wire(base),
                heads: to_wire(&record.heads()),
                data: record.automerge().save_after(base),
            }],
            max_response_bytes: 1 << 20,
            unsent: None,
        }
    }

    fn edit_notes(doc: &mut VisitDoc, who: &Actor, notes: &str) {
        doc.edit(who, T0, |e| e.set_notes(notes)).expect("edited");
    }

    fn a_visit(n: u8) -> NewVisit {
        NewVisit {
            id: VisitId::from_random_bytes([n; 16]),
            enterprise: EnterpriseId::from_random_bytes([5; 16]),
            method: VisitMethod::Phone,
            check_in: None,
            operating_status: OperatingStatus::Normal,
            notes: "走访".into(),
        }
    }

    #[test]
    fn a_push_claiming_heads_its_changes_do_not_reach_is_asked_to_resend() {
        let config = Config::default();
        let mut store = MemoryStore::new();
        let (wang, wang_actor) = officer(1);
        let visit = a_visit(8);
        let id = DocId::new(DocKind::Visit, &visit.id.to_string());
        let mut doc = VisitDoc::create(&visit, &wang, wang_actor, T0).expect("created");
        let mut request = pushing(&id, &mut doc, &[]);
        request.push[0].heads = to_wire(&[ChangeHash([9; 32])]);

        let response =
            handle_sync(&mut store, &ctx(&config, wang.device), &request).expect("answered");

        assert!(matches!(
            response.results[0].outcome,
            Outcome::Resend { .. }
        ));
        assert!(
            store.load_doc(&id).expect("memory").is_none(),
            "nothing stored"
        );
    }

    #[test]
    fn a_push_claiming_older_heads_than_the_merged_ones_is_accepted() {
        let config = Config::default();
        let mut store = MemoryStore::new();
        let (wang, wang_actor) = officer(1);
        let visit = a_visit(9);
        let id = DocId::new(DocKind::Visit, &visit.id.to_string());
        let mut doc = VisitDoc::create(&visit, &wang, wang_actor, T0).expect("created");
        let first = doc.clone().into_record().heads();
        edit_notes(&mut doc, &wang, "王：已协调供电");
        let mut request = pushing(&id, &mut doc, &[]);
        // Heads the device had before its last edit: in the document, but not its heads.
        request.push[0].heads = to_wire(&first);

        let response =
            handle_sync(&mut store, &ctx(&config, wang.device), &request).expect("answered");

        assert!(matches!(
            response.results[0].outcome,
            Outcome::Accepted { .. }
        ));
    }

    #[test]
    fn a_document_another_request_changed_between_merge_and_commit_is_merged_again() {
        let config = Config::default();
        let mut store = MemoryStore::new();
        let (wang, wang_actor) = officer(1);
        let (li, li_actor) = officer(2);
        let visit = NewVisit {
            id: VisitId::from_random_bytes([7; 16]),
            enterprise: EnterpriseId::from_random_bytes([5; 16]),
            method: VisitMethod::Phone,
            check_in: None,
            operating_status: OperatingStatus::Normal,
            notes: "走访".into(),
        };
        let id = DocId::new(DocKind::Visit, &visit.id.to_string());
        let mut wangs = VisitDoc::create(&visit, &wang, wang_actor, T0).expect("created");
        handle_sync(
            &mut store,
            &ctx(&config, wang.device),
            &pushing(&id, &mut wangs, &[]),
        )
        .expect("stored");
        let base = wangs.clone().into_record().heads();
        let mut lis = VisitDoc::from_record(
            crate::doc::RecordDoc::load(&wangs.clone().into_record().save(), li_actor)
                .expect("loads"),
        )
        .expect("a visit");

        // Wang's request is read and merged; before it commits, Li's edit of the same visit
        // is committed by another request.
        edit_notes(&mut wangs, &wang, "王：已协调供电");
        let wang_request = pushing(&id, &mut wangs, &base);
        let stored = read_pushed(&mut store, &wang_request).expect("read");
        let prepared = merge_pushed(&ctx(&config, wang.device), &wang_request, stored);
        edit_notes(&mut lis, &li, "李：用工已对接");
        handle_sync(
            &mut store,
            &ctx(&config, li.device),
            &pushing(&id, &mut lis, &base),
        )
        .expect("li's edit stored");
        let response = finish_sync(
            &mut store,
            &ctx(&config, wang.device),
            &wang_request,
            prepared,
        )
        .expect("wang's edit stored");

        let stored = store.load_doc(&id).expect("memory").expect("stored");
        assert_eq!(stored.heads.len(), 2, "both edits are kept");
        assert_eq!(
            response.results[0].outcome,
            Outcome::Accepted {
                heads: to_wire(&stored.heads)
            }
        );
        assert!(
            response.pulls.iter().any(|p| p.doc == id),
            "Wang is sent Li's edit"
        );
    }

    #[test]
    fn merges_prepared_for_another_request_are_not_committed_to_its_documents() {
        let config = Config::default();
        let mut store = MemoryStore::new();
        let (wang, wang_actor) = officer(1);
        let visit = |tag: u8, notes: &str| NewVisit {
            id: VisitId::from_random_bytes([tag; 16]),
            enterprise: EnterpriseId::from_random_bytes([5; 16]),
            method: VisitMethod::Phone,
            check_in: None,
            operating_status: OperatingStatus::Normal,
            notes: notes.into(),
        };
        let (first, second) = (visit(7, "第一次走访"), visit(8, "第二次走访"));
        let first_id = DocId::new(DocKind::Visit, &first.id.to_string());
        let second_id = DocId::new(DocKind::Visit, &second.id.to_string());
        let mut first_doc = VisitDoc::create(&first, &wang, wang_actor.clone(), T0).expect("new");
        let mut second_doc = VisitDoc::create(&second, &wang, wang_actor, T0).expect("new");
        let ctx = ctx(&config, wang.device);

        // The merges of a request pushing the first visit are given with a request pushing
        // the second: as many pushes, other documents.
        let first_request = pushing(&first_id, &mut first_doc, &[]);
        let stored = read_pushed(&mut store, &first_request).expect("read");
        let prepared = merge_pushed(&ctx, &first_request, stored);
        let second_request = pushing(&second_id, &mut second_doc, &[]);
        let response = finish_sync(&mut store, &ctx, &second_request, prepared).expect("stored");

        assert!(
            store.load_doc(&first_id).expect("memory").is_none(),
            "the first visit was not pushed by this request"
        );
        let stored = store.load_doc(&second_id).expect("memory").expect("stored");
        assert_eq!(
            stored.heads,
            second_doc.into_record().heads(),
            "the second visit is stored as pushed"
        );
        assert_eq!(
            response.results[0].outcome,
            Outcome::Accepted {
                heads: to_wire(&stored.heads)
            }
        );
    }
}
