//! One pushed document's way through the server, cheapest checks first: [`parse`] reads the
//! push's own changes (no store), [`plan`] decides from the stored row's enterprise and heads
//! and the change table what can be answered without loading the stored document (refusals,
//! repeats), and [`merge`] loads, merges and validates only what is left. Every call into
//! Automerge on pushed bytes runs under `catch_unwind`: a decoder that panics on one crafted
//! document refuses that document alone.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use automerge::{AutoCommit, Change, ChangeHash};

use super::chunks::{ChunkKind, WeightError, check_weight, is_deflated, split};
use super::{ChangeHeader, DocCommit, DocMeta, NewChange, ServerStore, StoredDoc, SyncContext};
use crate::doc::{ActorId, RecordDoc};
use crate::model::Timestamp;
use crate::sync::limits::Limits;
use crate::sync::protocol::{DocId, DocPush, Outcome, Refusal, from_wire, to_wire};
use crate::sync::validate::{Projection, check_configured, project};

/// The actor of changes the server makes itself while merging (never stored: the server
/// stores only pushed changes).
fn server_actor() -> ActorId {
    ActorId::from([0u8; 16])
}

/// A push's changes, parsed on their own.
pub(super) struct Parsed {
    /// Every change the push carries.
    headers: Vec<ChangeHeader>,
    body: Body,
}

enum Body {
    /// Changes (an incremental push; empty for a heads-only push), in the order of `headers`.
    Changes(Vec<Change>),
    /// A whole saved document (a first push), loaded on its own; `plain` when saved without
    /// Automerge's per-column deflate (`save_nocompress`), so its bytes are a snapshot as the
    /// server keeps them.
    Document { doc: Box<AutoCommit>, plain: bool },
}

/// What [`plan`] decided for a push.
pub(super) enum Plan {
    /// Answered without loading the stored document.
    Decided(Outcome),
    /// To merge; `size` is the stored document's size (0 when new).
    Merge { parsed: Parsed, size: usize },
}

/// A pushed document merged and checked, ready to commit.
pub(super) struct Merged {
    pub(super) commit: Option<DocCommit>,
    pub(super) heads: Vec<ChangeHash>,
    /// What the device lacks of the merged document.
    pub(super) pull: Option<Vec<u8>>,
    /// Answered from the stored row (a repeat), without a merge: `heads` are the stored heads
    /// as that row said.
    pub(super) from_row: bool,
}

fn refused(r: Refusal) -> Outcome {
    Outcome::Refused(r)
}

/// Why the server's decoder failed on a document (a panic inside Automerge, caught).
const DECODER_FAILED: &str = "the document's bytes could not be decoded";

/// Most heads a push may claim: a document's heads are its concurrent branches, a handful.
const MAX_CLAIMED_HEADS: usize = 1024;

/// Weighs a push before it is parsed: its size, its heads, its chunks, and what Automerge will
/// hold of it (its bytes, deflated parts counted inflated, within the stored-size limit).
/// Nothing here depends on what the server holds.
/// A push weighed: its chunks, split once, and what Automerge will hold of it.
pub(super) struct Weighed<'a> {
    pub(super) weight: usize,
    /// The operations (and changes) its chunks claim.
    pub(super) ops: u64,
    chunks: Vec<(ChunkKind, &'a [u8])>,
}

pub(super) fn weigh<'a>(limits: &Limits, push: &'a DocPush) -> Result<Weighed<'a>, Outcome> {
    if push.data.len() > limits.doc_bytes as usize {
        return Err(refused(Refusal::TooLarge {
            limit: limits.doc_bytes,
        }));
    }
    if push.heads.len() > MAX_CLAIMED_HEADS || push.base.len() > MAX_CLAIMED_HEADS {
        return Err(refused(Refusal::Malformed(format!(
            "more than {MAX_CLAIMED_HEADS} heads"
        ))));
    }
    let chunks = split(&push.data).map_err(|why| refused(Refusal::Malformed(why)))?;
    if limits.stored_doc_bytes == usize::MAX {
        return Ok(Weighed {
            weight: push.data.len(),
            ops: 0,
            chunks,
        });
    }
    let too_large = || {
        refused(Refusal::TooLarge {
            limit: u32::try_from(limits.stored_doc_bytes).unwrap_or(u32::MAX),
        })
    };
    let mut budget = limits.stored_doc_bytes;
    let mut ops = 0u64;
    for (_, chunk) in &chunks {
        let rows = check_weight(chunk, &mut budget).map_err(|e| match e {
            WeightError::Malformed(why) => refused(Refusal::Malformed(why)),
            // What Automerge would build of it is over the stored-document limit.
            WeightError::TooHeavy(_) => too_large(),
        })?;
        ops = ops.saturating_add(rows);
        if ops > limits.push_ops {
            return Err(too_large());
        }
    }
    Ok(Weighed {
        weight: push.data.len() + (limits.stored_doc_bytes - budget),
        ops,
        chunks,
    })
}

/// Parses a push's changes on their own, once [`weigh`] let it through.
pub(super) fn parse(weighed: &Weighed<'_>) -> Result<Parsed, Outcome> {
    let parsed = catch_unwind(AssertUnwindSafe(|| parse_chunks(&weighed.chunks)));
    match parsed {
        Ok(Ok(parsed)) => Ok(parsed),
        Ok(Err(why)) => Err(refused(Refusal::Malformed(why))),
        Err(_) => Err(refused(Refusal::Malformed(DECODER_FAILED.into()))),
    }
}

fn parse_chunks(chunks: &[(ChunkKind, &[u8])]) -> Result<Parsed, String> {
    match chunks {
        [(ChunkKind::Document, bytes)] => {
            let plain = !is_deflated(bytes)?;
            let mut doc = AutoCommit::load(bytes).map_err(|e| e.to_string())?;
            let headers = doc
                .get_changes_meta(&[])
                .into_iter()
                .map(|m| ChangeHeader {
                    hash: m.hash,
                    actor: m.actor.into_owned(),
                    message: m.message.map(|s| s.into_owned()),
                    time: Timestamp(m.timestamp),
                })
                .collect();
            Ok(Parsed {
                headers,
                body: Body::Document {
                    doc: Box::new(doc),
                    plain,
                },
            })
        }
        _ => {
            let mut changes = Vec::with_capacity(chunks.len());
            for (kind, bytes) in chunks {
                if *kind == ChunkKind::Document {
                    return Err("a saved document must be pushed alone".into());
                }
                changes.push(Change::try_from(*bytes).map_err(|e| e.to_string())?);
            }
            let headers = changes.iter().map(ChangeHeader::of).collect();
            Ok(Parsed {
                headers,
                body: Body::Changes(changes),
            })
        }
    }
}

/// Decides what can be decided from the stored row and the change table alone: a push outside
/// the write scope, a change not the device's own, a repeat of what the server has. What is
/// left must be merged.
pub(super) fn plan<S: ServerStore>(
    store: &mut S,
    ctx: &SyncContext<'_>,
    push: &DocPush,
    parsed: Parsed,
) -> Result<Plan, S::Error> {
    let meta = store.doc_meta(&push.doc)?;
    if let Some(m) = &meta
        && !ctx.write.allows(&push.doc, &m.enterprise)
    {
        return Ok(Plan::Decided(read_only(store, ctx, push, &parsed, m)?));
    }
    let hashes: Vec<ChangeHash> = parsed.headers.iter().map(|h| h.hash).collect();
    let known = match &meta {
        Some(_) => store.known_changes(&push.doc, &hashes)?,
        None => BTreeSet::new(),
    };
    let mut new = parsed.headers.iter().filter(|h| !known.contains(&h.hash));
    if let Some(check) = ctx.authorship {
        for header in new.clone() {
            if let Err(why) = check.change(header) {
                return Ok(Plan::Decided(refused(Refusal::Forbidden(why))));
            }
        }
    }
    let Some(meta) = meta else {
        if parsed.headers.is_empty() {
            // Heads-only, of a document the server does not have: everything is needed.
            return Ok(Plan::Decided(Outcome::Resend {
                server_heads: Vec::new(),
            }));
        }
        return Ok(Plan::Merge { parsed, size: 0 });
    };
    if new.next().is_none() {
        let claimed = from_wire(&push.heads);
        if claimed == meta.heads {
            // A repeat (a retry after a lost response): nothing to merge, nothing to send.
            return Ok(Plan::Decided(Outcome::Accepted {
                heads: to_wire(&meta.heads),
            }));
        }
        let claimed_known = store.known_changes(&push.doc, &claimed)?;
        if claimed_known.len() < claimed.len() {
            return Ok(Plan::Decided(resend(&meta)));
        }
    }
    Ok(Plan::Merge {
        parsed,
        size: meta.size,
    })
}

/// A push of a stored document outside the device's write scope: refused, unless it only
/// offers heads (no changes) of a document the device may read, every one of them a change the
/// server has. That is a device offering what it holds again after the server's database was
/// restored (`protocol::EPOCH_SHIFT`): it is acknowledged at those heads, and nothing is
/// stored; anything the device lacks comes with the feed.
fn read_only<S: ServerStore>(
    store: &mut S,
    ctx: &SyncContext<'_>,
    push: &DocPush,
    parsed: &Parsed,
    meta: &DocMeta,
) -> Result<Outcome, S::Error> {
    if parsed.headers.is_empty() && ctx.read.allows(&push.doc, &meta.enterprise) {
        let claimed = from_wire(&push.heads);
        if store.known_changes(&push.doc, &claimed)?.len() == claimed.len() {
            return Ok(Outcome::Accepted {
                heads: push.heads.clone(),
            });
        }
    }
    Ok(refused(Refusal::OutOfScope))
}

fn resend(meta: &DocMeta) -> Outcome {
    Outcome::Resend {
        server_heads: to_wire(&meta.heads),
    }
}

/// Merges a push into the stored document (`None`: new) and checks the result. A panic inside
/// Automerge refuses this document alone.
pub(super) fn merge(
    ctx: &SyncContext<'_>,
    push: &DocPush,
    parsed: Parsed,
    stored: Option<&StoredDoc>,
) -> Result<Merged, Outcome> {
    match catch_unwind(AssertUnwindSafe(|| {
        merge_checked(ctx, push, parsed, stored)
    })) {
        Ok(result) => result,
        Err(_) => Err(refused(Refusal::Malformed(DECODER_FAILED.into()))),
    }
}

fn merge_checked(
    ctx: &SyncContext<'_>,
    push: &DocPush,
    parsed: Parsed,
    stored: Option<&StoredDoc>,
) -> Result<Merged, Outcome> {
    let refuse = |r: Refusal| Err(refused(r));
    let Parsed { headers, body } = parsed;
    // What the rules compare with: the stored version's projection, read without the
    // configuration (which applies to values being set, not to stored ones). `None`: new, or
    // a stored version that no longer reads; the rules then see the document as new, which is
    // the stricter reading.
    let mut stored_projection: Option<Projection> = None;
    // The merged document, the stored heads, the changes new to the server (their headers:
    // what the change table keeps) and the snapshot to store, when one is ready without
    // saving the merged document.
    let (mut doc, before, new, ready) = match (stored, body) {
        (Some(s), body) => {
            let mut doc = match AutoCommit::load(&s.bytes) {
                Ok(d) => d.with_actor(server_actor()),
                Err(e) => return refuse(Refusal::Invalid(format!("stored copy unreadable: {e}"))),
            };
            let before = doc.get_heads();
            if ctx.authorship.is_some() {
                doc = match RecordDoc::inspect(doc, |r| project(&push.doc, r).ok()) {
                    Ok((projection, doc)) => {
                        stored_projection = projection;
                        doc
                    }
                    // Not a record any more: read again, compared with as new.
                    Err(_) => match AutoCommit::load(&s.bytes) {
                        Ok(d) => d.with_actor(server_actor()),
                        Err(e) => {
                            return refuse(Refusal::Invalid(format!(
                                "stored copy unreadable: {e}"
                            )));
                        }
                    },
                };
            }
            // Only what the stored document lacks is new (a push may repeat changes).
            let mut seen = BTreeSet::new();
            let fresh: Vec<bool> = headers
                .iter()
                .map(|h| doc.get_change_meta_by_hash(&h.hash).is_none() && seen.insert(h.hash))
                .collect();
            let (applied, ready) = match body {
                Body::Changes(changes) => {
                    // The new changes' bytes as pushed follow the stored bytes: no re-encoding.
                    let mut bytes = s.bytes.clone();
                    for (c, _) in changes.iter().zip(&fresh).filter(|(_, f)| **f) {
                        bytes.extend_from_slice(c.raw_bytes());
                    }
                    (doc.apply_changes(changes).map(|_| ()), Some((bytes, false)))
                }
                // A whole document pushed onto a stored one (rare): saved anew below.
                Body::Document {
                    doc: mut pushed, ..
                } => {
                    // Its changes must list (see the new-document case below).
                    pushed.get_changes(&[]);
                    (doc.merge(&mut pushed).map(|_| ()), None)
                }
            };
            if let Err(e) = applied {
                return refuse(Refusal::Malformed(e.to_string()));
            }
            let new: Vec<ChangeHeader> = headers
                .into_iter()
                .zip(fresh)
                .filter_map(|(h, f)| f.then_some(h))
                .collect();
            (doc, before, new, ready)
        }
        (
            None,
            Body::Document {
                doc: mut pushed,
                plain,
            },
        ) => {
            // Stored as pushed, then sent to every device in scope as it is: it must pass what
            // devices do with it, and Automerge can load a document whose changes it then
            // cannot list (a panic, caught by `merge`; shared/tests/fuzz-crashers).
            pushed.get_changes(&[]);
            // Nothing else is merged: the pushed bytes, which loaded to this very document,
            // are its snapshot (unless saved with per-column deflate, which the server does
            // not keep).
            let ready = plain.then(|| (push.data.clone(), true));
            (
                (*pushed).with_actor(server_actor()),
                Vec::new(),
                headers,
                ready,
            )
        }
        (None, Body::Changes(changes)) => {
            let mut doc = AutoCommit::new().with_actor(server_actor());
            if let Err(e) = doc.apply_changes(changes) {
                return refuse(Refusal::Malformed(e.to_string()));
            }
            let mut seen = BTreeSet::new();
            let new = headers
                .into_iter()
                .filter(|h| seen.insert(h.hash))
                .collect();
            (doc, Vec::new(), new, None)
        }
    };
    let claimed = from_wire(&push.heads);
    // Usually the claimed heads are the merged document's heads; only older ones need the
    // lookup (of the change's metadata, not the whole change).
    let merged_heads = doc.get_heads();
    if !doc.get_missing_deps(&[]).is_empty()
        || !claimed
            .iter()
            .all(|h| merged_heads.contains(h) || doc.get_change_meta_by_hash(h).is_some())
    {
        let mut server_heads = before.clone();
        server_heads.sort();
        return Err(Outcome::Resend {
            server_heads: to_wire(&server_heads),
        });
    }
    if let Some(check) = ctx.authorship {
        for header in &new {
            if let Err(why) = check.change(header) {
                return refuse(Refusal::Forbidden(why));
            }
        }
    }
    let mut heads = merged_heads;
    heads.sort();
    // Validated in place: what an upgrade of an older schema writes is never stored.
    let (projection, mut doc) = match RecordDoc::inspect(doc, |r| project(&push.doc, r)) {
        Ok((Ok(p), doc)) => (p, doc),
        Ok((Err(r), _)) => return refuse(r),
        Err(e) => return refuse(Refusal::Invalid(e.to_string())),
    };
    // The configuration judges the values this push sets: the current one, or the older one
    // the device declares it holds. Server-internal writes read the stored version only when
    // a value is not configured (rare: after the district dropped it).
    if let Err(r) = check_configured(ctx.config, stored_projection.as_ref(), &projection)
        && ctx.declared.is_none_or(|declared| {
            check_configured(declared, stored_projection.as_ref(), &projection).is_err()
        })
    {
        let stored_again = match stored {
            Some(s) if ctx.authorship.is_none() => stored_version(&push.doc, s),
            _ => None,
        };
        if stored_again
            .is_none_or(|before| check_configured(ctx.config, Some(&before), &projection).is_err())
        {
            return refuse(r);
        }
    }
    let creatable = stored.is_none()
        && ctx
            .authorship
            .is_some_and(|check| check.may_create(&push.doc, &projection.enterprise()));
    if !ctx.write.allows(&push.doc, &projection.enterprise()) && !creatable {
        return refuse(Refusal::OutOfScope);
    }
    // A device never moves a record to another enterprise (its scope key). The server's own
    // writes may: an administrator's merge of two profiles of one enterprise re-points the
    // absorbed profile's records to the survivor (`server/src/admin/enterprises.rs`).
    if let Some(s) = stored
        && s.enterprise != projection.enterprise()
        && ctx.authorship.is_some()
    {
        return refuse(Refusal::Invalid(
            "a record cannot move to another enterprise".into(),
        ));
    }
    if let Some(check) = ctx.authorship
        && let Err(r) = check.document(&push.doc, stored_projection.as_ref(), &projection)
    {
        return refuse(r);
    }
    let pull = if heads == claimed {
        None
    } else {
        Some(doc.save_after(&claimed))
    };
    // A new document's snapshot is its pushed bytes, or a compacted save; an existing one
    // gets its new changes appended to the stored bytes. Neither costs a re-encoding on the
    // request path. Snapshots are kept without Automerge's per-column deflate: they travel as
    // they are in responses, which are deflated whole, and they load faster. A document may
    // not grow past the stored-size limit, counted compacted (the appended form is compacted
    // at once when it would pass it).
    let (mut snapshot, mut compacted) = match ready {
        Some(ready) => ready,
        None => (doc.save_nocompress(), true),
    };
    if snapshot.len() > ctx.limits.stored_doc_bytes && !compacted {
        snapshot = doc.save_nocompress();
        compacted = true;
    }
    if snapshot.len() > ctx.limits.stored_doc_bytes {
        return refuse(Refusal::TooLarge {
            limit: u32::try_from(ctx.limits.stored_doc_bytes).unwrap_or(u32::MAX),
        });
    }
    let commit = (!new.is_empty()).then(|| DocCommit {
        doc: push.doc.clone(),
        changes: new
            .iter()
            .map(|h| NewChange {
                hash: h.hash,
                actor: h.actor.to_hex_string(),
                device_time: h.time,
                author: h.message.as_deref().and_then(crate::doc::Author::parse),
            })
            .collect(),
        snapshot,
        compacted,
        heads: heads.clone(),
        base: stored.map(|s| s.heads.clone()),
        device_heads: claimed,
        projection,
    });
    Ok(Merged {
        commit,
        heads,
        pull,
        from_row: false,
    })
}

/// The stored version's projection, read again from its bytes (`None`: it no longer reads).
fn stored_version(id: &DocId, stored: &StoredDoc) -> Option<Projection> {
    let doc = AutoCommit::load(&stored.bytes).ok()?;
    RecordDoc::inspect(doc, |r| project(id, r).ok())
        .ok()
        .and_then(|(p, _)| p)
}

/// The whole way of one push under the store lock: used when another request changed the
/// document between the merge outside the lock and the commit.
pub(super) fn merge_locked<S: ServerStore>(
    store: &mut S,
    ctx: &SyncContext<'_>,
    push: &DocPush,
) -> Result<Result<Merged, Outcome>, S::Error> {
    let parsed = match weigh(&ctx.limits, push).and_then(|w| parse(&w)) {
        Ok(p) => p,
        Err(outcome) => return Ok(Err(outcome)),
    };
    let parsed = match plan(store, ctx, push, parsed)? {
        Plan::Decided(outcome) => return Ok(decided(outcome)),
        Plan::Merge { parsed, .. } => parsed,
    };
    let stored = store.load_doc(&push.doc)?;
    Ok(merge(ctx, push, parsed, stored.as_ref()))
}

/// A decided outcome as a merge result: `Accepted` merges to nothing new.
pub(super) fn decided(outcome: Outcome) -> Result<Merged, Outcome> {
    match outcome {
        Outcome::Accepted { heads } => Ok(Merged {
            commit: None,
            heads: from_wire(&heads),
            pull: None,
            from_row: true,
        }),
        other => Err(other),
    }
}
