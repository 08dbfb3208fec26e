//! Documents the server writes itself — the demo district, imported enterprises, problems
//! raised by monitoring rules, what an enterprise does on its 连心卡's page — go through the
//! same path as a device's push: merge, validate, project, commit in one durable transaction.
//! A well-known system identity signs them.

use shared::config::Config;
use shared::doc::{ActorId, RecordDoc};
use shared::model::{Actor, DeviceId, Role, Timestamp, UserId};
use shared::sync::protocol::{self, DocId, DocPush, Outcome, SyncRequest};
use shared::sync::server::{ServerStore, SyncContext, handle_sync};
use shared::sync::validate::Scope;

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

/// Stores documents through the sync path in batches of 100; returns how many were stored.
pub fn commit_documents<S: ServerStore>(
    store: &mut S,
    documents: &mut [(DocId, RecordDoc)],
    config: &Config,
    now: Timestamp,
) -> Result<usize, WriteError> {
    let mut stored = 0;
    for chunk in documents.chunks_mut(100) {
        let push: Vec<DocPush> = chunk
            .iter_mut()
            .map(|(id, doc)| DocPush {
                doc: id.clone(),
                base: Vec::new(),
                heads: protocol::to_wire(&doc.heads()),
                data: doc.save(),
            })
            .collect();
        let request = SyncRequest {
            cursor: 0,
            ack: 0,
            device_time: now,
            push,
            max_response_bytes: 0,
            unsent: None,
        };
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
        let response =
            handle_sync(store, &ctx, &request).map_err(|e| WriteError::Store(e.to_string()))?;
        for r in response.results {
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
    }
    Ok(stored)
}
