//! The device's side of sync as a state machine: inputs (a local edit, a response, a failure,
//! a timer, connectivity) with the time and a random number passed in; effects (a request to
//! send, a batch to persist, a time to wake up) returned as plain data.
//!
//! Life of a round: `Send` a request holding a chunk of the outbox → the driver answers with
//! `Response` or `Failed` → on a response the engine applies it to the replica and asks to
//! `Persist` one atomic batch (documents, acknowledgements, refusals, cursor) → the driver
//! answers `Persisted` → the engine sends the next chunk, or goes idle. Nothing leaves the
//! outbox before the server's acknowledgement has been persisted.
//!
//! Retries ([`RetryPolicy`]): after a network failure (a cut, a refused connection, a timeout)
//! the retry goes at once if the round before succeeded (the link was up a moment ago), then
//! at a short, flat interval; only a server that answers errors (5xx, 429, 408) gets
//! exponential backoff. [`Status::retry_at`] and [`Status::unreachable`] tell the sync bar.
//! A retry after a cut carries a chunk: a link that is still down refuses the connection
//! before any of it goes, and the first round on a link that is back carries data instead of
//! only finding out that the link is back. After a server error, or after chunks were cut
//! twice in a row, the retry is a probe without a chunk (only documents in doubt, below), so a
//! server or a link that cannot take a chunk costs bytes of headers, not a chunk. A request
//! that fails sooner than it could have reached the server (within a quarter of the shortest
//! round seen: a refused connection) is neither a cut chunk nor leaves its documents in doubt.
//! The first round after a failure (on a new connection, which pays its set-up) counts for the
//! link's throughput but not for its latency or the chunk's growth
//! ([`ChunkSizer::on_success_after_failure`]).
//!
//! Resuming a cut upload: a request carrying documents whose answer never came may or may not
//! have been committed. Its documents are "in doubt": the next request pushes them heads-only
//! (no data; `base` the acknowledged heads, `heads` the device's). The server answers `Accepted`
//! for those it has and `Resend` with its heads for the others, so acknowledged bytes are never
//! sent twice and the rest goes from where the server stopped. A document the server asked for
//! so (`Resend`) that is in doubt again — the push of its data was cut too — goes with its data
//! in the next request, a probe included, instead of heads-only: after a cut the next request
//! may be the only kind that gets through (a balancer alternating strictly between a live and
//! a dead node hands the request after each cut to the live one; heads-only there, the data
//! would always go to the dead one). Once: cut again, it is confirmed by its heads first again.
//! A weak link thus sends a document's unconfirmed changes at most twice in a row per
//! `Resend`, and only after the server said it lacked them.
//!
//! After a restore: a response whose cursor names another epoch than the device's
//! (`protocol::EPOCH_SHIFT`) comes from a database restored from a backup, which may lack
//! changes it acknowledged since. The device forgets every acknowledgement and puts every
//! document in doubt, so each goes heads-only as above and the server asks for what it lacks;
//! the server serves that first request from the start of its feed.
//!
//! A gateway's 502 or 504 says nothing about whether the server behind it committed: the
//! documents of such a request are in doubt like those of a cut one.
//!
//! Request limits ([`limits`]): a request pushes at most [`limits::MAX_PUSHES`] documents; an
//! HTTP 413 halves the documents per request and retries at once, the halved cap doubling back
//! after [`CAP_HOLD_ROUNDS`] successful rounds. A 413 for a request carrying one document's
//! data means that document alone is over a limit: it is marked refused (`TooLarge`, shown for
//! fixing like the server's own refusals, not resent until edited) and the rest go on.
//!
//! Scope changes: a response names the documents that left the device's scope
//! ([`SyncResponse::gone`]); they leave the replica in that response's batch, except those
//! holding unacknowledged changes, which stay refused as out of scope.
//!
//! Local saves ([`SyncClient::save_local`]) merge the edited documents into the replica and
//! hand back the batch that stores them, which the driver stores like any other before the app
//! says "saved" and then reports [`Input::LocalEdit`].
//!
//! When a round starts: "sync now", the app's start, the network coming back and a server
//! notice send at once (a notice the device's cursor already covers — its own commit — sends
//! nothing). A local edit alone waits for the gather window ([`GATHER_MS`]) counted from the
//! first edit not yet sent, so a burst of edits goes in one push; the outbox's further chunks,
//! a pull the server said has more, retries and resends are not delayed.

use automerge::ChangeHash;

use super::limits;
use super::policy::{ChunkSizer, GATHER_MS, RetryPolicy};
use super::protocol::{
    self, DocId, DocPush, Outcome, Refusal, SyncRequest, SyncResponse, WireError, to_wire,
};
use super::replica::{Entry, Replica};
use crate::doc::RecordDoc;
use crate::model::Timestamp;

/// How often an idle, online device checks for news without a push.
pub const PERIODIC_MS: i64 = 5 * 60 * 1000;

/// Successful rounds that push documents before a cap on documents per request, halved after
/// an HTTP 413, doubles back (towards [`limits::MAX_PUSHES`]).
pub const CAP_HOLD_ROUNDS: u32 = 4;

/// Something that happened to the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The app started (or the engine was created).
    Start,
    /// The browser says the network went on or off.
    Online(bool),
    /// A local edit was saved to the device.
    LocalEdit,
    /// A timer the engine asked for fired (or any periodic tick).
    Tick,
    /// The person pressed "sync now".
    SyncNow,
    /// The server's push channel said changes are waiting.
    PushNotice {
        /// The change-feed sequence the server's feed reached (the event's data); `None` when
        /// unknown (then the device always syncs). A sequence the device's cursor already
        /// covers — typically the device's own commit — starts no round.
        seq: Option<u64>,
    },
    /// The response to the request in flight.
    Response {
        /// The response body.
        body: Vec<u8>,
        /// How long the round trip took, in ms.
        elapsed_ms: i64,
    },
    /// The request in flight failed.
    Failed(Failure),
    /// The driver stored the last `Persist` batch durably.
    Persisted,
}

/// How a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No answer: connection refused or cut, timeout, a truncated body. Retried at once after
    /// a round that succeeded, then at a short, flat interval; the chunk is sized to the link.
    Network,
    /// The server answered with an error status.
    Http {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
}

/// Why a refused document's edits could not be discarded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DiscardError {
    /// The device does not hold the document.
    #[error("the device does not hold this record")]
    Unknown,
    /// The server did not refuse it: its edits are the person's, waiting to upload.
    #[error("the server has not refused this record: its changes wait to upload")]
    NotRefused,
    /// It was edited since the refusal (the correction is on its way up) or is in a request
    /// whose answer has not come back.
    #[error("this record is being uploaded again: wait for the answer")]
    Uploading,
    /// The server acknowledged nothing of it, but it holds changes made elsewhere: removing
    /// it could lose a record the server has.
    #[error("this record also holds others' changes: correct it instead")]
    NotOurs,
    /// The document could not be rebuilt as the server has it.
    #[error(transparent)]
    Doc(#[from] crate::doc::DocError),
}

/// A refusal and the heads it concerns; `None` clears an earlier refusal.
pub type RefusalMark = Option<(Vec<ChangeHash>, Refusal)>;

/// A document's bytes to store, with its heads, so the device restores it without building it.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedDoc {
    /// The document.
    pub id: DocId,
    /// Its Automerge bytes (as pulled, or saved).
    pub bytes: Vec<u8>,
    /// Its heads, sorted.
    pub heads: Vec<ChangeHash>,
}

/// Where in the server's feed the device is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncPosition {
    /// The change-feed cursor.
    pub cursor: u64,
    /// The delivery acknowledgement.
    pub ack: u64,
}

/// A batch for the driver to store atomically (one IndexedDB or SQLite transaction).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PersistBatch {
    /// Documents whose bytes changed.
    pub docs: Vec<SavedDoc>,
    /// New acknowledged heads.
    pub acked: Vec<(DocId, Vec<ChangeHash>)>,
    /// Refusals set (`Some`) or cleared (`None`), with the heads they concern.
    pub refused: Vec<(DocId, RefusalMark)>,
    /// Documents to delete from the device, with their acknowledgement and refusal (a
    /// document made here that the server refused and the person discarded).
    pub removed: Vec<DocId>,
    /// The new feed position after a sync response; `None` (unchanged) for a local save or a
    /// refusal the device decided itself.
    pub position: Option<SyncPosition>,
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// POST this body to the sync endpoint and report `Response` or `Failed`.
    Send {
        /// The encoded request.
        body: Vec<u8>,
        /// Documents pushed in it.
        pushed: usize,
    },
    /// Store this batch, then report `Persisted`.
    Persist(PersistBatch),
    /// Report `Tick` at (or after) this time.
    WakeAt(Timestamp),
}

/// What the person sees about sync (on every screen).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// The browser believes it is online.
    pub online: bool,
    /// A request is in flight or being stored.
    pub syncing: bool,
    /// Documents waiting to upload.
    pub waiting: usize,
    /// When the last round finished.
    pub last_success: Option<Timestamp>,
    /// Refused documents and why.
    pub refused: Vec<(DocId, Refusal)>,
    /// A blocking error (e.g. the app must be updated), if any.
    pub error: Option<String>,
    /// Server clock minus device clock at the last response, in ms.
    pub clock_skew_ms: Option<i64>,
    /// When the next retry of a failed round goes, while the engine waits for it.
    pub retry_at: Option<Timestamp>,
    /// The browser says online but the server cannot be reached (the last rounds failed on
    /// the network or with a gateway error): the sync bar says "server unreachable, retrying".
    pub unreachable: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Idle,
    /// A request is in flight; `left_behind`: outbox documents did not fit in its chunk.
    Sending {
        started: Timestamp,
        /// The request's size on the wire.
        bytes: usize,
        /// Document bytes it carries (before the message's deflate).
        doc_bytes: usize,
        left_behind: bool,
        /// Documents pushed in it (heads-only ones included).
        pushed: usize,
        /// Whether it carries document data (not only heads).
        carried: bool,
    },
    /// A response is being stored; `more`: the server has more to pull, or the outbox more
    /// than the last chunk carried. Either way the next round goes at once.
    Persisting {
        more: bool,
    },
    Waiting {
        until: Timestamp,
    },
    Stopped,
}

/// The device's sync engine.
#[derive(Debug, Clone)]
pub struct SyncClient {
    replica: Replica,
    phase: Phase,
    online: bool,
    attempt: u32,
    chunk: ChunkSizer,
    retry: RetryPolicy,
    status: Status,
    /// A trigger arrived while busy: run another round afterwards.
    again: bool,
    /// When the oldest local edit not yet carried by a request was made: a round that only
    /// edits call for waits until [`GATHER_MS`] after it.
    edited_since: Option<Timestamp>,
    /// The highest feed sequence a notice announced while a round was busy: one more round
    /// afterwards unless the round's cursor covers it.
    heard: u64,
    /// Server errors in a row (5xx, 429, 408): the exponent of the backoff.
    server_errors: u32,
    /// Requests carrying documents cut since one carrying documents last got through: after
    /// two, a cut is waited out like any other, so a link that always cuts uploads is not
    /// tried in a tight loop.
    data_cuts: u32,
    /// The server could not be reached on the last failed rounds.
    unreachable: bool,
    /// Documents the request in flight carries data of.
    in_flight: Vec<DocId>,
    /// Documents of cut requests that may or may not have been committed: pushed heads-only
    /// first by the next request (with their data if also `asked`).
    in_doubt: Vec<DocId>,
    /// Documents the server answered `Resend` for (it lacks their changes) and has not
    /// acknowledged since. In doubt after a cut, such a document goes again with its data
    /// rather than heads-only, once: carried so and cut again, it leaves this list.
    asked: Vec<DocId>,
    /// Most documents one request pushes: [`limits::MAX_PUSHES`], less after an HTTP 413.
    max_pushes: usize,
    /// Successful pushing rounds since `max_pushes` last changed.
    cap_rounds: u32,
}

impl SyncClient {
    /// An engine over a replica restored from the device's storage.
    pub fn new(replica: Replica) -> Self {
        SyncClient {
            replica,
            phase: Phase::Idle,
            online: true,
            attempt: 0,
            chunk: ChunkSizer::default(),
            retry: RetryPolicy::default(),
            status: Status {
                online: true,
                ..Status::default()
            },
            again: false,
            edited_since: None,
            heard: 0,
            server_errors: 0,
            data_cuts: 0,
            unreachable: false,
            in_flight: Vec::new(),
            in_doubt: Vec::new(),
            asked: Vec::new(),
            max_pushes: limits::MAX_PUSHES,
            cap_rounds: 0,
        }
    }

    /// Uses another retry policy (tests use short delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The replica, to read documents.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// The replica, to edit documents (follow an edit with [`Input::LocalEdit`]).
    pub fn replica_mut(&mut self) -> &mut Replica {
        &mut self.replica
    }

    /// What to show the person.
    pub fn status(&mut self) -> Status {
        self.status.online = self.online;
        self.status.waiting = self.replica.pending().len();
        self.status.refused = self.replica.refused();
        self.status.syncing =
            matches!(self.phase, Phase::Sending { .. } | Phase::Persisting { .. });
        self.status.retry_at = match self.phase {
            Phase::Waiting { until } if self.online => Some(until),
            _ => None,
        };
        self.status.unreachable = self.unreachable && self.online;
        self.status.clone()
    }

    /// Most documents the next request pushes.
    pub fn max_pushes(&self) -> usize {
        self.max_pushes
    }

    /// The current chunk size, in bytes on the wire.
    pub fn chunk_size(&self) -> u32 {
        self.chunk.size()
    }

    /// The request in flight went on the wire as `wire_bytes`: a driver that deflates the
    /// request itself (the web client, see [`encode_request`]) reports its size after doing
    /// so, and the round is counted, and the compression learned, by those bytes.
    pub fn on_wire(&mut self, wire_bytes: usize) {
        if let Phase::Sending {
            bytes, doc_bytes, ..
        } = &mut self.phase
        {
            *bytes = wire_bytes;
            self.chunk.on_encoded(*doc_bytes, wire_bytes);
        }
    }

    /// Whether the engine has nothing in flight and nothing to send.
    pub fn is_settled(&mut self) -> bool {
        matches!(self.phase, Phase::Idle) && self.replica.pending().is_empty()
    }

    /// Handles one input at `now`; `random` is a fresh random number for jitter.
    pub fn handle(&mut self, input: Input, now: Timestamp, random: u32) -> Vec<Effect> {
        match input {
            Input::Online(on) => {
                self.online = on;
                if on { self.trigger(now) } else { Vec::new() }
            }
            Input::LocalEdit => {
                self.edited_since.get_or_insert(now);
                match self.phase {
                    Phase::Idle => self.gather(now),
                    // A retry is due anyway: the edit cuts its wait short, as before the
                    // gather window existed.
                    Phase::Waiting { .. } => self.trigger(now),
                    // The edit waits for the round in flight; `Persisted` decides.
                    _ => Vec::new(),
                }
            }
            Input::PushNotice { seq: Some(seq) } if seq <= self.replica.cursor => Vec::new(),
            Input::PushNotice { seq: Some(seq) }
                if matches!(self.phase, Phase::Sending { .. } | Phase::Persisting { .. }) =>
            {
                // The round in flight may already cover it (its response is not applied yet).
                self.heard = self.heard.max(seq);
                Vec::new()
            }
            Input::Start | Input::SyncNow | Input::PushNotice { .. } => {
                if input == Input::SyncNow && matches!(self.phase, Phase::Stopped) {
                    self.phase = Phase::Idle;
                    self.status.error = None;
                }
                if input == Input::SyncNow {
                    self.attempt = 0;
                }
                self.trigger(now)
            }
            Input::Tick => match self.phase {
                Phase::Waiting { until } if now >= until => {
                    self.phase = Phase::Idle;
                    self.send(now)
                }
                Phase::Idle => match self.gather_until() {
                    Some(until) if now < until => vec![Effect::WakeAt(until)],
                    _ => self.send(now),
                },
                _ => Vec::new(),
            },
            Input::Response { body, elapsed_ms } => self.on_response(&body, elapsed_ms, now),
            Input::Failed(failure) => self.on_failure(failure, now, random),
            Input::Persisted => match self.phase {
                Phase::Persisting { more } => {
                    self.phase = Phase::Idle;
                    let again = std::mem::take(&mut self.again);
                    let heard = std::mem::take(&mut self.heard) > self.replica.cursor;
                    if more || again || heard {
                        self.send(now)
                    } else {
                        self.gather(now)
                    }
                }
                _ => Vec::new(),
            },
        }
    }

    /// The end of the gather window, while local edits wait for a push.
    fn gather_until(&mut self) -> Option<Timestamp> {
        let since = self.edited_since?;
        if self.replica.pending().is_empty() {
            // The edits went with a request, or changed nothing.
            self.edited_since = None;
            return None;
        }
        Some(Timestamp(since.0.saturating_add(GATHER_MS)))
    }

    /// Idle with nothing else calling for a round: local edits are sent once their gather
    /// window has passed; other waiting documents (a `Resend`) at once; otherwise the engine
    /// wakes for the periodic check.
    fn gather(&mut self, now: Timestamp) -> Vec<Effect> {
        if !self.online {
            return Vec::new();
        }
        match self.gather_until() {
            Some(until) if now < until => vec![Effect::WakeAt(until)],
            _ if !self.replica.pending().is_empty() => self.send(now),
            _ => vec![Effect::WakeAt(Timestamp(now.0 + PERIODIC_MS))],
        }
    }

    fn trigger(&mut self, now: Timestamp) -> Vec<Effect> {
        match self.phase {
            Phase::Idle => self.send(now),
            Phase::Waiting { .. } if self.online => {
                self.phase = Phase::Idle;
                self.send(now)
            }
            Phase::Sending { .. } | Phase::Persisting { .. } => {
                self.again = true;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Builds the next request from the outbox, up to one chunk.
    fn send(&mut self, now: Timestamp) -> Vec<Effect> {
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
    fn data_push(&mut self, id: &DocId) -> Option<DocPush> {
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
    fn push_data(&mut self, id: &DocId) -> Option<(Vec<ChangeHash>, Vec<u8>)> {
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

    /// Merges documents edited on the device (edited copies of replica documents, or new
    /// ones) into the replica at once, so no pull or other edit slips in between, and returns
    /// the batch that stores them. The driver stores it, only then says "saved", and reports
    /// [`Input::LocalEdit`]. On an error nothing after the failing document is merged and
    /// nothing is to be stored.
    pub fn save_local(
        &mut self,
        docs: Vec<(DocId, RecordDoc)>,
    ) -> Result<PersistBatch, crate::doc::DocError> {
        let mut batch = PersistBatch::default();
        for (id, mut edited) in docs {
            let doc = match self.replica.doc_mut(&id) {
                Some(doc) => {
                    let doc = doc?;
                    doc.merge(&mut edited)?;
                    doc
                }
                None => {
                    self.replica.insert_new(id.clone(), edited);
                    match self.replica.doc_mut(&id) {
                        Some(doc) => doc?,
                        None => continue,
                    }
                }
            };
            // Stored as pulled documents are: without Automerge's per-column deflate.
            let (bytes, heads) = (doc.automerge().save_nocompress(), doc.heads());
            batch.docs.push(SavedDoc { id, bytes, heads });
        }
        Ok(batch)
    }

    /// Every document holding changes the server has not acknowledged, waiting or refused,
    /// as a push would carry it (base: what the server acknowledged): the content of the
    /// handover file ([`super::handover`]) of a phone that will not reach the server again.
    pub fn handover_pushes(&mut self) -> Vec<DocPush> {
        let ids: Vec<DocId> = self.replica.ids().cloned().collect();
        let mut out = Vec::new();
        for id in ids {
            let Some(entry) = self.replica.get_mut(&id) else {
                continue;
            };
            if entry.heads() == entry.acked {
                continue;
            }
            if let Some(with_data) = self.data_push(&id) {
                out.push(with_data);
            }
        }
        out
    }

    /// Discards the device's edits to a document the server refused: the document goes back
    /// to what the server acknowledged having (its changes after that are dropped), or, when
    /// the server never took any of it (nothing acknowledged, every change made on this
    /// device), leaves the device. Returns the batch that stores it; the driver stores it like
    /// a local save's. Only a document still at the heads the server refused can be
    /// discarded: one edited since (a correction on its way up) or in a request in flight or
    /// in doubt is not touched.
    pub fn discard(&mut self, id: &DocId) -> Result<PersistBatch, DiscardError> {
        let actor = self.replica.actor().clone();
        if self.in_flight.contains(id) || self.in_doubt.contains(id) {
            return Err(DiscardError::Uploading);
        }
        let entry = self.replica.get_mut(id).ok_or(DiscardError::Unknown)?;
        let refused_heads = match &entry.refused {
            Some((heads, _)) => heads.clone(),
            None => return Err(DiscardError::NotRefused),
        };
        if entry.heads() != refused_heads {
            return Err(DiscardError::Uploading);
        }
        let acked = entry.acked.clone();
        let doc = self.replica.doc_mut(id).ok_or(DiscardError::Unknown)??;
        let mut batch = PersistBatch::default();
        if acked.is_empty() {
            let ours = doc
                .automerge()
                .get_changes(&[])
                .iter()
                .all(|c| *c.actor_id() == actor);
            if !ours {
                return Err(DiscardError::NotOurs);
            }
            self.replica.remove(id);
            batch.removed.push(id.clone());
        } else {
            let mut kept = doc.fork_at(&acked, actor)?;
            // Stored as pulled documents are: without Automerge's per-column deflate.
            let (bytes, heads) = (kept.automerge().save_nocompress(), kept.heads());
            self.replica
                .restore(id.clone(), Entry::loaded(kept, acked.clone()));
            batch.docs.push(SavedDoc {
                id: id.clone(),
                bytes,
                heads,
            });
            batch.refused.push((id.clone(), None));
        }
        Ok(batch)
    }

    fn on_response(&mut self, body: &[u8], elapsed_ms: i64, now: Timestamp) -> Vec<Effect> {
        let Phase::Sending {
            bytes,
            left_behind,
            pushed,
            carried,
            ..
        } = self.phase
        else {
            return Vec::new();
        };
        let resp: SyncResponse = match protocol::decode(body) {
            Ok(r) => r,
            Err(WireError::Version { .. }) => {
                return self
                    .stop("the server speaks another protocol version: update the app".into());
            }
            Err(_) => return self.on_failure(Failure::Network, now, 0),
        };
        let mut batch = PersistBatch {
            position: Some(SyncPosition {
                cursor: resp.cursor,
                ack: resp.delivery,
            }),
            ..PersistBatch::default()
        };
        // A response of another epoch: the server's database was restored from a backup and
        // may lack what it acknowledged since (`protocol::EPOCH_SHIFT`). Every document is
        // offered again by its heads, as after a cut request, with nothing acknowledged (stored
        // so, so a restart in between pushes them whole): the server asks for what it lacks.
        if self.replica.cursor != 0
            && protocol::cursor_epoch(resp.cursor ^ self.replica.cursor) != 0
        {
            self.in_doubt = self.replica.forget_acks();
            self.asked.clear();
            batch.acked = self
                .in_doubt
                .iter()
                .map(|id| (id.clone(), Vec::new()))
                .collect();
        }
        for result in &resp.results {
            self.in_doubt.retain(|id| *id != result.doc);
            self.asked.retain(|id| *id != result.doc);
            let Some(entry) = self.replica.get_mut(&result.doc) else {
                continue;
            };
            match &result.outcome {
                Outcome::Accepted { heads } => {
                    entry.acked = protocol::from_wire(heads);
                    batch.acked.push((result.doc.clone(), entry.acked.clone()));
                    if entry.refused.take().is_some() {
                        batch.refused.push((result.doc.clone(), None));
                    }
                }
                Outcome::Refused(reason) => {
                    let heads = entry.heads();
                    entry.refused = Some((heads.clone(), reason.clone()));
                    batch
                        .refused
                        .push((result.doc.clone(), Some((heads, reason.clone()))));
                }
                Outcome::Resend { server_heads } => {
                    self.asked.push(result.doc.clone());
                    let server = protocol::from_wire(server_heads);
                    let have_all = match self.replica.doc_mut(&result.doc) {
                        Some(Ok(doc)) => server
                            .iter()
                            .all(|h| doc.automerge().get_change_by_hash(h).is_some()),
                        _ => false,
                    };
                    if let Some(entry) = self.replica.get_mut(&result.doc) {
                        entry.acked = if have_all { server } else { Vec::new() };
                        batch.acked.push((result.doc.clone(), entry.acked.clone()));
                    }
                }
            }
        }
        for pull in &resp.pulls {
            match self.replica.apply_pull(pull) {
                Ok(_) => {
                    if let Some(entry) = self.replica.get_mut(&pull.doc) {
                        batch.docs.push(SavedDoc {
                            id: pull.doc.clone(),
                            bytes: entry.saved(),
                            heads: entry.heads(),
                        });
                        batch.acked.push((pull.doc.clone(), entry.acked.clone()));
                    }
                }
                Err(e) => {
                    // A document the device cannot read is left out; the cursor still moves so
                    // one bad document cannot stall the feed. It is shown as refused locally.
                    if let Some(entry) = self.replica.get_mut(&pull.doc) {
                        let heads = entry.heads();
                        entry.refused = Some((heads.clone(), Refusal::Malformed(e.to_string())));
                        batch.refused.push((
                            pull.doc.clone(),
                            Some((heads, Refusal::Malformed(e.to_string()))),
                        ));
                    }
                }
            }
        }
        self.leave_scope(&resp.gone, &mut batch);
        self.replica.cursor = resp.cursor;
        self.replica.ack = resp.delivery;
        let pulled: usize = resp.pulls.iter().map(|p| p.data.len()).sum();
        self.chunk.on_encoded(pulled, body.len());
        // The response may carry twice the chunk: it counts half. A request that carried no
        // documents (a probe, a pull) is no chunk: a probe's heads of documents in doubt can
        // make it several KB, all latency, which says nothing about the link's throughput.
        let request = if carried { bytes } else { 0 };
        if self.attempt > 0 {
            // The first round after a failure: on a new connection, which paid its set-up.
            self.chunk
                .on_success_after_failure(request.max(body.len() / 2), elapsed_ms);
        } else {
            self.chunk
                .on_success(request.max(body.len() / 2), elapsed_ms);
        }
        self.attempt = 0;
        self.server_errors = 0;
        self.unreachable = false;
        self.in_flight.clear();
        if carried {
            self.data_cuts = 0;
        }
        if pushed > 0 && self.max_pushes < limits::MAX_PUSHES {
            self.cap_rounds += 1;
            if self.cap_rounds >= CAP_HOLD_ROUNDS {
                self.max_pushes = self.max_pushes.saturating_mul(2).min(limits::MAX_PUSHES);
                self.cap_rounds = 0;
            }
        }
        self.status.last_success = Some(now);
        self.status.error = None;
        self.status.clock_skew_ms = Some(resp.server_time.0 - now.0);
        self.phase = Phase::Persisting {
            more: resp.more || left_behind,
        };
        vec![Effect::Persist(batch)]
    }

    fn on_failure(&mut self, failure: Failure, now: Timestamp, random: u32) -> Vec<Effect> {
        let Phase::Sending {
            started,
            pushed,
            bytes,
            carried,
            ..
        } = self.phase
        else {
            return Vec::new();
        };
        let in_flight = std::mem::take(&mut self.in_flight);
        match failure {
            Failure::Http { status: 413, .. } if pushed == 1 && in_flight.len() == 1 => {
                // The document alone is over a limit: refused on the device, the rest go on.
                self.refuse_alone(&in_flight[0], bytes)
            }
            Failure::Http { status: 413, .. } if pushed > 1 => {
                // Too much for one request: half the documents, at once.
                self.max_pushes = (pushed / 2).max(1);
                self.cap_rounds = 0;
                self.phase = Phase::Idle;
                self.send(now)
            }
            Failure::Http { status, message }
                if (400..500).contains(&status) && status != 408 && status != 429 =>
            {
                self.stop(format!(
                    "the server refused the sync request ({status}): {message}"
                ))
            }
            Failure::Http { status, .. } => {
                // Back off, the server may be overloaded. The server itself answers errors
                // before committing; a gateway's 502 or 504 may come after the server behind
                // it committed, so that request's documents are in doubt like after a cut.
                if matches!(status, 502 | 504) {
                    self.doubt(in_flight);
                }
                self.attempt += 1;
                self.server_errors += 1;
                self.unreachable = matches!(status, 502..=504);
                let delay = self.retry.delay_ms(self.server_errors, random);
                self.wait(Timestamp(now.0 + delay))
            }
            Failure::Network if !self.chunk.could_have_arrived(now.0 - started.0) => {
                // Failed sooner than the request could reach the server: a connection refused
                // at once (a link still down), or a cut that came first. Its documents are not
                // in doubt (they go again with their data; should some have arrived after
                // all, the server acknowledges the repeat), and it says nothing about the
                // chunk: the link did not have it long enough to cut it.
                self.retry_network(now, random)
            }
            Failure::Network => {
                // The request may have been committed before the answer was lost.
                self.doubt(in_flight);
                // Only a cut request that carried documents is a cut chunk: a probe refused
                // while the link is down (its heads of documents in doubt can make it several
                // KB) must not halve the chunk at every retry.
                self.chunk.on_cut(if carried { bytes } else { 0 });
                if carried {
                    self.data_cuts += 1;
                }
                self.retry_network(now, random)
            }
        }
    }

    /// The retry after a network failure: at once when the round before succeeded (the link
    /// was up a moment ago) and chunks are not being cut again and again, otherwise after the
    /// short network interval.
    fn retry_network(&mut self, now: Timestamp, random: u32) -> Vec<Effect> {
        let just_worked = self.attempt == 0 && self.data_cuts < 2;
        self.attempt += 1;
        if just_worked {
            // The link was up a moment ago: try again at once.
            self.phase = Phase::Idle;
            return self.send(now);
        }
        self.unreachable = true;
        let delay = self
            .retry
            .network_delay_ms(self.attempt.saturating_sub(1), random);
        self.wait(Timestamp(now.0 + delay))
    }

    /// Documents that left the device's scope ([`SyncResponse::gone`]): removed, unless they
    /// hold changes the server has not acknowledged, which stay, refused as out of scope (the
    /// person sees them and may discard them).
    fn leave_scope(&mut self, gone: &[DocId], batch: &mut PersistBatch) {
        for id in gone {
            let Some(entry) = self.replica.get_mut(id) else {
                continue;
            };
            let heads = entry.heads();
            if heads == entry.acked && !self.in_doubt.contains(id) {
                self.replica.remove(id);
                batch.acked.retain(|(d, _)| d != id);
                batch.refused.retain(|(d, _)| d != id);
                batch.removed.push(id.clone());
            } else {
                entry.refused = Some((heads.clone(), Refusal::OutOfScope));
                batch
                    .refused
                    .push((id.clone(), Some((heads, Refusal::OutOfScope))));
            }
        }
    }

    /// Documents a request carried whose fate is unknown: the next request pushes them
    /// heads-only first. One that was in doubt already went with its data because the server
    /// had asked for it again (`asked`): cut again, it goes heads-only next, so a weak link
    /// sends a document's unconfirmed changes at most twice in a row after each `Resend`.
    fn doubt(&mut self, ids: Vec<DocId>) {
        for id in ids {
            if self.in_doubt.contains(&id) {
                self.asked.retain(|d| *d != id);
            } else {
                self.in_doubt.push(id);
            }
        }
    }

    /// A 413 for a request carrying one document's data: the document alone is over one of
    /// the server's limits (its bytes on the wire, or what they inflate to). It is marked
    /// refused at its current heads — shown for fixing, not resent until edited — and the
    /// refusal stored; then the rest of the outbox goes on.
    fn refuse_alone(&mut self, id: &DocId, bytes: usize) -> Vec<Effect> {
        let limit = if bytes > limits::MAX_REQUEST_BYTES {
            limits::MAX_REQUEST_BYTES
        } else {
            limits::MAX_STORED_DOC_BYTES
        };
        let reason = Refusal::TooLarge {
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
        };
        let mut batch = PersistBatch::default();
        if let Some(entry) = self.replica.get_mut(id) {
            let heads = entry.heads();
            entry.refused = Some((heads.clone(), reason.clone()));
            batch.refused.push((id.clone(), Some((heads, reason))));
        }
        self.in_doubt.retain(|d| d != id);
        self.asked.retain(|d| d != id);
        self.phase = Phase::Persisting { more: true };
        vec![Effect::Persist(batch)]
    }

    fn wait(&mut self, until: Timestamp) -> Vec<Effect> {
        self.phase = Phase::Waiting { until };
        vec![Effect::WakeAt(until)]
    }

    fn stop(&mut self, error: String) -> Vec<Effect> {
        self.status.error = Some(error);
        self.phase = Phase::Stopped;
        Vec::new()
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
/// [`limits::MAX_PUSH_OPS`], which the server refuses anyway).
fn compressed_save(doc: &mut RecordDoc) -> Option<Vec<u8>> {
    if cfg!(target_arch = "wasm32") {
        None
    } else {
        Some(doc.save())
    }
}
