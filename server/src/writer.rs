//! Documents the server writes itself — the demo district, imported enterprises, problems
//! raised by monitoring rules, what an enterprise does on its 连心卡's page — go through the
//! same path as a device's push: merge, validate, project, commit in one durable transaction.
//! A well-known system identity signs them.

use shared::config::Config;
use shared::doc::{ActorId, RecordDoc};
use shared::model::{Actor, DeviceId, Role, Timestamp, UserId};
use shared::sync::protocol::{self, DocId, DocPush, Outcome, SyncRequest, SyncResponse};
use shared::sync::server::{ServerStore, SyncContext, SyncError, handle_sync};
use shared::sync::validate::Scope;

use crate::store::StoreError;

/// The system's identity in history (系统).
pub fn system_actor() -> Actor {
    Actor {
        user: UserId::from_random_bytes(*b"lianxin-system-u"),
        device: DeviceId::from_random_bytes(*b"lianxin-system-d"),
        role: Role::Admin,
    }
}

/// The system's identity acting for an enterprise on its 连心卡's page (`crate::card`): the
/// system user on the card's own device id, so history tells what the enterprise did itself
/// (its ratings also record [`shared::model::RatingChannel::Enterprise`]).
pub fn card_actor() -> Actor {
    Actor {
        device: card_device(),
        ..system_actor()
    }
}

/// The device id of the 连心卡's page in history.
pub fn card_device() -> DeviceId {
    DeviceId::from_random_bytes(*b"lianxin-card-pag")
}

/// The system's Automerge actor.
pub fn system_actor_id() -> ActorId {
    ActorId::from(*b"lianxin-system-a")
}

/// Why the server could not store its own documents.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The store failed.
    #[error("store: {0}")]
    Store(String),
    /// A document was refused by validation.
    #[error("{doc} was not accepted: {outcome}")]
    Refused {
        /// The document.
        doc: DocId,
        /// What happened.
        outcome: String,
    },
}

/// The sync request that pushes `documents` whole, as the system's device at `now`.
fn server_request(documents: &mut [(DocId, RecordDoc)], now: Timestamp) -> SyncRequest {
    let push: Vec<DocPush> = documents
        .iter_mut()
        .map(|(id, doc)| DocPush {
            doc: id.clone(),
            base: Vec::new(),
            heads: protocol::to_wire(&doc.heads()),
            data: doc.save(),
        })
        .collect();
    SyncRequest {
        cursor: 0,
        ack: 0,
        device_time: now,
        push,
        max_response_bytes: 0,
        unsent: None,
    }
}

/// Runs `f` with the context the server's own writes are handled in: the system's device,
/// reading nothing, writing anything, under the server's limits.
fn in_server_context<T>(
    config: &Config,
    now: Timestamp,
    f: impl FnOnce(&SyncContext<'_>) -> T,
) -> T {
    let ctx = SyncContext {
        declared: None,
        device: system_actor().device,
        read: &Scope::none(),
        write: &Scope::All,
        config,
        now,
        limits: shared::sync::limits::Limits::SERVER,
        authorship: None,
    };
    f(&ctx)
}

/// How many of `results` were accepted, or the first refusal.
fn accepted(results: Vec<protocol::DocResult>) -> Result<usize, WriteError> {
    let mut stored = 0;
    for r in results {
        match r.outcome {
            Outcome::Accepted { .. } => stored += 1,
            other => {
                return Err(WriteError::Refused {
                    doc: r.doc,
                    outcome: format!("{other:?}"),
                });
            }
        }
    }
    Ok(stored)
}

/// Stores documents through the sync path in batches of 100; returns how many were stored.
pub fn commit_documents<S: ServerStore>(
    store: &mut S,
    documents: &mut [(DocId, RecordDoc)],
    config: &Config,
    now: Timestamp,
) -> Result<usize, WriteError> {
    let mut stored = 0;
    for chunk in documents.chunks_mut(100) {
        let request = server_request(chunk, now);
        let response = in_server_context(config, now, |ctx| handle_sync(store, ctx, &request))
            .map_err(|e| WriteError::Store(e.to_string()))?;
        stored += accepted(response.results)?;
    }
    Ok(stored)
}

/// How a store handles one sync request: `shared::sync::server::handle_sync` on SQLite,
/// `crate::pg::handle_sync` (which merges again when another server moved a document) on
/// PostgreSQL.
pub type Handler<S> =
    fn(&mut S, &SyncContext<'_>, &SyncRequest) -> Result<SyncResponse, SyncError<StoreError>>;

/// Stores `documents` through the sync path in one request, hence one commit (one
/// transaction), with `handle`; returns how many were stored. The store's own failure keeps
/// its kind; a refused document or a broken limit is [`StoreError::Invalid`] (nothing was
/// stored: the engine commits a request's accepted documents together, and the caller
/// validated each before).
///
/// # Errors
/// As said.
pub fn commit_at_once<S: ServerStore<Error = StoreError>>(
    store: &mut S,
    documents: &mut [(DocId, RecordDoc)],
    config: &Config,
    now: Timestamp,
    handle: Handler<S>,
) -> Result<usize, StoreError> {
    let request = server_request(documents, now);
    let response = in_server_context(config, now, |ctx| handle(store, ctx, &request)).map_err(
        |e| match e {
            SyncError::Store(e) => e,
            other => StoreError::Invalid(format!("storing the documents: {other}")),
        },
    )?;
    accepted(response.results).map_err(|e| StoreError::Invalid(e.to_string()))
}
