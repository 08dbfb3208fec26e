//! Building a request: documents in doubt first (heads-only, or with their data when the
//! server asked for them again), then the outbox up to one chunk.

use automerge::ChangeHash;

use super::{Effect, Phase, SyncClient};
use crate::doc::RecordDoc;
use crate::model::Timestamp;
use crate::sync::protocol::{self, DocId, DocPush, Refusal, SyncRequest, to_wire};

impl SyncClient {
    /// Builds the next request from the outbox, up to one chunk.
    pub(super) fn send(&mut self, now: Timestamp) -> Vec<Effect> {
        if !self.online {
            return Vec::new();
        }
        let budget = self.chunk.doc_budget();
        let mut push = Vec::new();
        let mut used = 0usize;
        let pending = self.replica.pending();
        let outbox = pending.len();
        // Documents a cut request carried go first, heads-only: the answer tells which the
        // server committed and where the others stopped. Those the server already asked for
        // again (`Resend`) go with their data instead, within the chunk (the first always),
        // even in a probe: a request after a cut can always be the only one that gets through
        // (a balancer alternating with a dead node hands every other request to it).
        // `pending` is in the replica's (sorted) order.
        self.in_doubt.retain(|id| pending.binary_search(id).is_ok());
        self.asked.retain(|id| pending.binary_search(id).is_ok());
        self.in_flight.clear();
        let in_doubt: Vec<DocId> = self
            .in_doubt
            .iter()
            .take(self.max_pushes)
            .cloned()
            .collect();
        for id in in_doubt {
            if self.asked.contains(&id) {
                let Some(with_data) = self.data_push(&id) else {
                    continue;
                };
                if used == 0 || used + with_data.data.len() <= budget {
                    used += with_data.data.len();
                    self.in_flight.push(id);
                    push.push(with_data);
                    continue;
                }
            }
            let Some(entry) = self.replica.get_mut(&id) else {
                continue;
            };
            push.push(DocPush {
                base: to_wire(&entry.acked),
                heads: to_wire(&entry.heads()),
                doc: id,
                data: Vec::new(),
            });
        }
        // A retry after a cut carries a chunk beside the heads of the documents in doubt:
        // a link that is still down refuses the connection before any of it is sent, and
        // one that is back has the whole round for data instead of a round for a probe
        // and then one for the chunk. After a server error, or when chunks were cut twice
        // in a row, the retry carries no data: a probe (with those heads) finds out whether
        // the server or the link can take a chunk before one is spent on it.
        let probe = self.attempt > 0 && (self.server_errors > 0 || self.data_cuts >= 2);
        let pending: Vec<DocId> = if probe {
            Vec::new()
        } else {
            pending
                .into_iter()
                .filter(|id| !self.in_doubt.contains(id))
                .collect()
        };
        for id in pending {
            if push.len() >= self.max_pushes {
                break;
            }
            let Some(with_data) = self.data_push(&id) else {
                continue;
            };
            if !push.is_empty() && used + with_data.data.len() > budget {
                break;
            }
            used += with_data.data.len();
            self.in_flight.push(id);
            push.push(with_data);
        }
        let pushed = push.len();
        if !probe {
            // Every waiting edit goes in this request or, if the chunk is full, in the next
            // ones, which follow at once.
            self.edited_since = None;
        }
        let req = SyncRequest {
            cursor: self.replica.cursor,
            ack: self.replica.ack,
            device_time: now,
            push,
            max_response_bytes: u32::try_from(budget.saturating_mul(2)).unwrap_or(u32::MAX),
            // What stays on the device after this chunk, for the leaders' freshness table.
            unsent: Some(u32::try_from(outbox.saturating_sub(pushed)).unwrap_or(u32::MAX)),
        };
        let body = encode_request(&req);
        // The chunk is counted on the wire: learn what the documents compressed to.
        self.chunk.on_encoded(used, body.len());
        self.phase = Phase::Sending {
            started: now,
            bytes: body.len(),
            doc_bytes: used,
            left_behind: pushed < outbox,
            pushed,
            carried: used > 0,
        };
        vec![Effect::Send { body, pushed }]
    }

    /// A waiting document's push with its data ([`SyncClient::push_data`]), from the
    /// acknowledged heads; `None` for one that cannot be built.
    pub(super) fn data_push(&mut self, id: &DocId) -> Option<DocPush> {
        let (heads, data) = self.push_data(id)?;
        let base = self.replica.get(id).map(|e| to_wire(&e.acked))?;
        Some(DocPush {
            doc: id.clone(),
            base,
            heads: to_wire(&heads),
            data,
        })
    }

    /// A waiting document's heads and the bytes to push: what follows the acknowledged heads,
    /// or the whole document when the server has none of it. Builds the document if it is
    /// stored as bytes; one that cannot be built is marked refused on the device (shown, not
    /// pushed) and `None` returned.
    pub(super) fn push_data(&mut self, id: &DocId) -> Option<(Vec<ChangeHash>, Vec<u8>)> {
        let acked = self.replica.get(id)?.acked.clone();
        let doc = match self.replica.doc_mut(id)? {
            Ok(doc) => doc,
            Err(e) => {
                let entry = self.replica.get_mut(id)?;
                let heads = entry.heads();
                entry.refused = Some((heads, Refusal::Malformed(e.to_string())));
                return None;
            }
        };
        let heads = doc.heads();
        // Without Automerge's own per-column compression: the message is deflated as a
        // whole, which compresses what documents share (actors, keys, structure) as well.
        // A document too large for the server that way goes compressed (the server
        // accepts both forms), as it fits more often.
        let data = if acked.is_empty() {
            let plain = doc.automerge().save_nocompress();
            if plain.len() > protocol::MAX_DOC_BYTES as usize {
                compressed_save(doc).unwrap_or(plain)
            } else {
                plain
            }
        } else {
            doc.automerge().save_after(&acked)
        };
        Some((heads, data))
    }
}

/// A request's bytes. Native devices deflate it here. The web client's build leaves the
/// payload undeflated ([`protocol::encode_plain`]) for its driver, which deflates it with the
/// browser's `CompressionStream` and reports the size with [`SyncClient::on_wire`]: the wasm
/// app then carries no deflate compressor (about 8 KB of its download).
fn encode_request(req: &SyncRequest) -> Vec<u8> {
    if cfg!(target_arch = "wasm32") {
        protocol::encode_plain(req)
    } else {
        protocol::encode(req)
    }
}

/// The document saved with Automerge's per-column deflate, for a new document too large to
/// push plain; `None` in the wasm build, which carries no deflate compressor (see
/// [`encode_request`]): there such a document goes plain and the server refuses it as too large
/// (typed text is about 3 bytes an operation plain, so a record passes 2 MiB only far past
/// [`crate::sync::limits::MAX_PUSH_OPS`], which the server refuses anyway).
fn compressed_save(doc: &mut RecordDoc) -> Option<Vec<u8>> {
    if cfg!(target_arch = "wasm32") {
        None
    } else {
        Some(doc.save())
    }
}
