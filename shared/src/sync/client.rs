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
//! ([`SyncResponse::gone`](super::protocol::SyncResponse::gone)); they leave the replica in
//! that response's batch, except those holding unacknowledged changes, which stay refused as
//! out of scope.
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

mod answer;
mod request;

use super::limits;
use super::policy::{ChunkSizer, GATHER_MS, RetryPolicy};
use super::protocol::{DocId, DocPush, Refusal};
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
    /// request itself (the web client, see `encode_request` in `client/request.rs`) reports
    /// its size after doing so, and the round is counted, and the compression learned, by
    /// those bytes.
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
