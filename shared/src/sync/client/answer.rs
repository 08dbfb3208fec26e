//! Taking a request's answer or its failure: acknowledgements, refusals, `Resend`s, pulls and
//! scope changes into one batch to persist; cuts, documents in doubt, retries and 413s.

use super::{
    CAP_HOLD_ROUNDS, Effect, Failure, PersistBatch, Phase, SavedDoc, SyncClient, SyncPosition,
};
use crate::model::Timestamp;
use crate::sync::limits;
use crate::sync::protocol::{self, DocId, Outcome, Refusal, SyncResponse, WireError};

impl SyncClient {
    pub(super) fn on_response(
        &mut self,
        body: &[u8],
        elapsed_ms: i64,
        now: Timestamp,
    ) -> Vec<Effect> {
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

    pub(super) fn on_failure(
        &mut self,
        failure: Failure,
        now: Timestamp,
        random: u32,
    ) -> Vec<Effect> {
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
}
