//! The push channel `GET /api/events`: server-sent `changed` events telling an online device
//! or browser that changes wait in the feed. A stream lives only as long as its session: it
//! closes at once when its device logs out on this server, and when a re-check (every
//! [`EventStreams::recheck`]) finds its token revoked or expired, its device revoked or its
//! user disabled — whoever did it (the admin CLI works on the file). Each user may hold at
//! most [`EventStreams::per_user`] streams open; one more is refused with 429. When another
//! district configuration is applied (`live_config`), each stream gets a `changed` event
//! whose data is `config VERSION` (no sequence a device could read, so it syncs, and that
//! answer's `X-Lianxin-Config` makes it fetch the configuration). When notices may have been
//! missed (several servers on PostgreSQL: this one's listener lost its connection), each
//! stream gets a `changed` event whose data is `resync`, for the same reason.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use shared::model::{DeviceId, UserId};
use shared::sync::protocol::{cursor_epoch, cursor_of, cursor_seq};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::AppState;
use crate::auth::{AuthError, Authenticated, check_access, now};
use crate::db::Notice;
use crate::http::error::ErrorBody;
use crate::store::TokenHash;

/// How often an open stream's session is checked again by default.
pub const RECHECK: Duration = Duration::from_secs(30);

/// How many streams one user may hold open by default (a phone and a few browser tabs).
pub const PER_USER: usize = 8;

/// The open streams, counted per user, and how often their sessions are checked again.
#[derive(Debug)]
pub struct EventStreams {
    /// How often an open stream's session is checked again.
    pub recheck: Duration,
    /// How many streams one user may hold open.
    pub per_user: usize,
    open: Mutex<HashMap<UserId, usize>>,
}

impl Default for EventStreams {
    fn default() -> Self {
        EventStreams::new(RECHECK, PER_USER)
    }
}

impl EventStreams {
    /// Streams re-checked every `recheck`, at most `per_user` per user.
    pub fn new(recheck: Duration, per_user: usize) -> EventStreams {
        EventStreams {
            recheck,
            per_user,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a new stream of `user`, or `None` when they already hold `per_user`.
    fn hold(self: &Arc<Self>, user: UserId) -> Option<Held> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(user).or_default();
        if *count >= self.per_user {
            return None;
        }
        *count += 1;
        Some(Held {
            streams: self.clone(),
            user,
        })
    }

    /// How many streams `user` holds open now.
    pub fn open_for(&self, user: UserId) -> usize {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(&user).copied().unwrap_or(0)
    }
}

/// One counted stream; dropping it (the stream ended or the client went away) uncounts it.
#[derive(Debug)]
struct Held {
    streams: Arc<EventStreams>,
    user: UserId,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut open = self.streams.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

/// What an open stream waits on.
struct Open {
    state: AppState,
    feed: broadcast::Receiver<Notice>,
    ended: broadcast::Receiver<DeviceId>,
    /// The running configuration's version, told when another is applied.
    config: tokio::sync::watch::Receiver<String>,
    recheck: tokio::time::Interval,
    device: DeviceId,
    token: TokenHash,
    /// The database's epoch, which notices name.
    epoch: u64,
    _held: Held,
}

/// `GET /api/events`: `event: changed` with `id:` and `data:` the feed's latest sequence as a
/// cursor (with the database's epoch, as sync responses give it), each time the feed moves. A client that reconnects with `Last-Event-ID` below the feed's
/// latest sequence missed notices while its stream was down: it gets a `changed` event at once.
pub(super) async fn events_handler(
    State(state): State<AppState>,
    who: Authenticated,
    headers: axum::http::HeaderMap,
) -> Response {
    let Some(held) = state.events().hold(who.user.id) else {
        let body = ErrorBody {
            error: "too_many_streams",
            message: format!(
                "this account already holds {} event streams open; close one and try again",
                state.events().per_user
            ),
        };
        return (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    };
    let service = state.sync().clone();
    // Subscribed before the feed is read, so a commit in between is announced (twice at worst).
    let feed = service.subscribe();
    let ended = state.auth().ended_sessions();
    // Subscribed with the running version seen: only a later apply is told.
    let config = service.live().subscribe();
    let seen = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    // Ids are cursors (`protocol::EPOCH_SHIFT`): one of another epoch (before a restore)
    // missed everything.
    let epoch = service.epoch();
    let missed = match seen {
        Some(seen) => service
            .db()
            .queries()
            .feed_position()
            .await
            .ok()
            .filter(|latest| cursor_epoch(seen) != epoch || *latest > cursor_seq(seen)),
        None => None,
    };
    let period = state.events().recheck;
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let open = Open {
        state,
        feed,
        ended,
        config,
        recheck,
        device: who.device.id,
        token: who.token,
        epoch,
        _held: held,
    };
    let live = futures_util::stream::unfold(open, next_event);
    let stream = futures_util::StreamExt::chain(
        futures_util::stream::iter(missed.map(|seq| Ok(changed(epoch, seq)))),
        live,
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
        .into_response()
}

/// The notice that the feed reached `seq`, as a cursor of `epoch` (what a device compares
/// with its own cursor).
fn changed(epoch: u64, seq: u64) -> Event {
    let cursor = cursor_of(epoch, seq).to_string();
    Event::default().event("changed").data(&cursor).id(cursor)
}

/// The notice that notices may have been missed (`db::Notice::Missed`): a `changed` event
/// whose data is no sequence, so the device syncs whatever its cursor.
fn resync() -> Event {
    Event::default().event("changed").data("resync")
}

/// The stream's next event, or its end: the feed closed, the device logged out here, or its
/// session no longer passes [`check_access`].
async fn next_event(mut open: Open) -> Option<(Result<Event, Infallible>, Open)> {
    loop {
        tokio::select! {
            notice = open.feed.recv() => match notice {
                Ok(Notice::Feed(seq)) => return Some((Ok(changed(open.epoch, seq)), open)),
                Ok(Notice::Missed) => return Some((Ok(resync()), open)),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            },
            changed = open.config.changed() => match changed {
                Ok(()) => {
                    let version = open.config.borrow_and_update().clone();
                    let event = Event::default().event("changed").data(format!("config {version}"));
                    return Some((Ok(event), open));
                }
                // The service is gone: the feed closes too.
                Err(_) => return None,
            },
            device = open.ended.recv() => match device {
                Ok(device) if device == open.device => return None,
                Ok(_) => continue,
                // Notices were missed: one of them may have been ours.
                Err(RecvError::Lagged(_)) => {
                    if !session_holds(&open).await {
                        return None;
                    }
                }
                Err(RecvError::Closed) => return None,
            },
            _ = open.recheck.tick() => {
                if !session_holds(&open).await {
                    return None;
                }
            }
        }
    }
}

/// Whether the stream's token still passes [`check_access`]; a store that cannot answer
/// right now keeps the stream (the next re-check decides).
async fn session_holds(open: &Open) -> bool {
    let token = open.token;
    let verdict = check_access(open.state.db(), token, now()).await;
    !matches!(
        verdict,
        Err(AuthError::Unauthenticated | AuthError::DeviceRevoked | AuthError::TokenExpired)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_that_ends_gives_its_place_back() {
        let streams = Arc::new(EventStreams::new(RECHECK, 2));
        let user = UserId::from_random_bytes([1; 16]);
        let first = streams.hold(user).expect("first");
        let _second = streams.hold(user).expect("second");
        assert!(streams.hold(user).is_none(), "a third stream was counted");
        assert!(streams.hold(UserId::from_random_bytes([2; 16])).is_some());

        drop(first);
        assert_eq!(streams.open_for(user), 1);
        assert!(
            streams.hold(user).is_some(),
            "the freed place was not given back"
        );
    }
}
