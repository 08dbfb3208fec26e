//! The browser driver of the sync engine: it hands inputs to the [`SyncClient`] one at a
//! time and carries out its effects — `Send` → the payload deflated by the browser, then
//! `fetch` `/api/sync` with the bearer token (refreshing it once on `token_expired`, under
//! the tabs' lock: see `session`), `Persist` → one IndexedDB transaction, then `Persisted`, `WakeAt` → a timer. Triggers: the browser's `online` and `offline` events, a
//! push on `GET /api/events` (read with `fetch`, which can carry the token `EventSource`
//! cannot, and `Last-Event-ID`) and every (re)connect or drop of that stream, the engine's own
//! timers, local saves and the "sync now" button. Every decision about documents is the
//! engine's.
//!
//! [`SyncClient`]: shared::sync::client::SyncClient

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use shared::sync::client::{Effect, Failure, Input};
use shared::sync::protocol;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::Closure;
use yew::platform::spawn_local;
use yew::platform::time::sleep;

use super::{Core, session};
use crate::infra::api::{self, ApiError};
use crate::infra::platform;

impl Core {
    /// The "sync now" button.
    pub fn sync_now(self: &Rc<Self>) {
        self.feed(Input::Online(platform::online()));
        self.feed(Input::SyncNow);
    }

    /// Hands an input to the engine and carries out its effects, one at a time.
    pub(super) fn feed(self: &Rc<Self>, input: Input) {
        self.queue.borrow_mut().push_back(input);
        if self.running.replace(true) {
            return;
        }
        let core = self.clone();
        spawn_local(async move {
            core.run().await;
            core.running.set(false);
        });
    }

    async fn run(self: &Rc<Self>) {
        let mut synced = false;
        loop {
            let input = self.queue.borrow_mut().pop_front();
            let Some(input) = input else { break };
            let effects = match self.engine.borrow_mut().as_mut() {
                Some(engine) => engine.handle(input, platform::now(), platform::random_u32()),
                None => Vec::new(),
            };
            self.notify();
            for effect in effects {
                match effect {
                    Effect::Send { body, .. } => {
                        let body = self.deflated(body).await;
                        let started = platform::now();
                        let next = match self.send(&body).await {
                            Ok(body) => {
                                synced = true;
                                self.refresh_directory(false);
                                Input::Response {
                                    body,
                                    elapsed_ms: platform::now().0 - started.0,
                                }
                            }
                            Err(failure) => Input::Failed(failure),
                        };
                        self.queue.borrow_mut().push_back(next);
                    }
                    Effect::Persist(batch) => match self.db.persist(&batch).await {
                        Ok(()) => self.queue.borrow_mut().push_back(Input::Persisted),
                        // Not acknowledging the batch keeps the engine from sending more; on
                        // the next start the device resumes from what storage holds, and the
                        // server re-sends or re-accepts (it stores changes by hash).
                        Err(e) => self.storage_failed(&e),
                    },
                    Effect::WakeAt(at) => self.wake_at(at),
                }
            }
        }
        if synced {
            // The records went first; their photos follow in the background.
            self.upload_photos();
        }
        self.notify();
    }

    /// The engine's request with its payload deflated by the browser (the wasm build's
    /// engine leaves that to the driver; see `shared::sync::client::SyncClient::on_wire`),
    /// its size on the wire told to the engine. Sent plain if the browser cannot deflate.
    async fn deflated(&self, body: Vec<u8>) -> Vec<u8> {
        let body = match protocol::plain_payload(&body) {
            Some(payload) => match platform::deflate_raw(payload).await {
                Some(deflated) => protocol::with_deflated_payload(&body, &deflated),
                None => body,
            },
            None => body,
        };
        if let Some(engine) = self.engine.borrow_mut().as_mut() {
            engine.on_wire(body.len());
        }
        body
    }

    async fn send(self: &Rc<Self>, body: &[u8]) -> Result<Vec<u8>, Failure> {
        let (mut refreshed, mut adopted) = (false, false);
        loop {
            let session = self.session();
            let Some(session) = session else {
                return Err(Failure::Network);
            };
            let held = self.config.borrow().version.clone();
            match api::sync(Some(&session), session.device.id, body, held.as_deref()).await {
                Ok((bytes, announced)) => {
                    self.config_announced(announced);
                    return Ok(bytes);
                }
                Err(ApiError::Unreachable | ApiError::BadBody) => return Err(Failure::Network),
                Err(ApiError::TokenExpired) if !refreshed => {
                    refreshed = true;
                    match self.refreshed(&session).await {
                        Ok(()) => {}
                        Err(ApiError::Unreachable) => return Err(Failure::Network),
                        Err(ApiError::DeviceRevoked) => return Err(self.revoked()),
                        Err(_) if self.adopt_stored(&session).await => {}
                        Err(_) => return Err(self.expired()),
                    }
                }
                // Refused again: another tab may have refreshed (or logged in) meanwhile.
                Err(ApiError::TokenExpired | ApiError::Status(401, _))
                    if !adopted && self.adopt_stored(&session).await =>
                {
                    adopted = true;
                }
                Err(ApiError::TokenExpired) => return Err(self.expired()),
                Err(ApiError::DeviceRevoked) => return Err(self.revoked()),
                Err(ApiError::RateLimited) => {
                    return Err(Failure::Http {
                        status: 429,
                        message: String::new(),
                    });
                }
                Err(ApiError::Status(status, message)) => {
                    return Err(Failure::Http { status, message });
                }
                Err(other) => {
                    return Err(Failure::Http {
                        status: 400,
                        message: other.name().into(),
                    });
                }
            }
        }
    }

    fn wake_at(self: &Rc<Self>, at: shared::model::Timestamp) {
        let ticket = self.timer.get() + 1;
        self.timer.set(ticket);
        let core = self.clone();
        // While the server is unreachable the sync bar counts down to the retry: a render a
        // second until then.
        let status = self.status();
        let countdown = status.unreachable && status.retry_at == Some(at);
        spawn_local(async move {
            loop {
                let left = at.0 - platform::now().0;
                if left <= 0 || core.timer.get() != ticket {
                    break;
                }
                let step = if countdown { left.min(1_000) } else { left };
                sleep(Duration::from_millis(step as u64)).await;
                if countdown && core.timer.get() == ticket {
                    core.notify();
                }
            }
            if core.timer.get() == ticket {
                core.feed(Input::Tick);
            }
        });
    }

    pub(super) fn listen_for_network(self: &Rc<Self>) {
        let Some(window) = web_sys::window() else {
            return;
        };
        for (event, on) in [("online", true), ("offline", false)] {
            let core = Rc::downgrade(self);
            let closure = Closure::<dyn Fn()>::new(move || {
                if let Some(core) = core.upgrade() {
                    core.feed(Input::Online(on));
                    if on {
                        core.open_push_channel();
                        spawn_local(session::send_logout());
                    }
                }
            });
            let _ =
                window.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
            closure.forget();
        }
    }

    /// Keeps the push channel (`GET /api/events`) open while someone is logged in: each
    /// `changed` event is a notice to the engine, which syncs unless its cursor already covers
    /// the event's sequence. Every connect sends the last event id seen (or the engine's
    /// cursor, if later) as `Last-Event-ID`, so the server announces at once what the device
    /// missed; every reconnect and every drop also starts a sync round. A dropped stream is
    /// reopened after 1 s, a failed connect after 2 s.
    pub(super) fn open_push_channel(self: &Rc<Self>) {
        if self.session.borrow().is_none() || self.push_running.replace(true) {
            return;
        }
        let weak = Rc::downgrade(self);
        spawn_local(async move {
            // The first connect follows the start's own round; every later one syncs.
            let mut reconnect = false;
            loop {
                let Some(core) = weak.upgrade() else { return };
                let Some(session) = core.session() else {
                    core.push_running.set(false);
                    return;
                };
                // The feed position the device knows of: the server announces anything later.
                let cursor = core.engine.borrow().as_ref().map(|e| e.replica().cursor);
                let last_id = core.last_event.get().max(cursor);
                drop(core);
                let opened = Rc::new(Cell::new(false));
                let (on_open, on_changed) = (weak.clone(), weak.clone());
                let open = opened.clone();
                let result = api::events(
                    &session,
                    last_id,
                    move || {
                        open.set(true);
                        // Changes may have landed while the stream was down.
                        if let Some(core) = on_open.upgrade().filter(|_| reconnect) {
                            core.feed(Input::PushNotice { seq: None });
                        }
                    },
                    move |seq| {
                        if let Some(core) = on_changed.upgrade() {
                            if seq.is_some() {
                                core.last_event.set(seq.max(core.last_event.get()));
                            }
                            core.feed(Input::PushNotice { seq });
                        }
                    },
                )
                .await;
                reconnect = true;
                let Some(core) = weak.upgrade() else { return };
                let pause = match result {
                    // The stream dropped: a round finds out at once whether the server is
                    // still there (the sync bar says so if not, and counts down its retries).
                    _ if opened.get() => {
                        core.feed(Input::PushNotice { seq: None });
                        1_000
                    }
                    _ if core.notices.borrow().auth.is_some() => 15_000,
                    // An expired token: the sync round refreshes it for the next connect.
                    Err(ApiError::TokenExpired) => {
                        core.feed(Input::PushNotice { seq: None });
                        2_000
                    }
                    Err(
                        ApiError::DeviceRevoked
                        | ApiError::NotFound
                        | ApiError::Status(400..=499, _),
                    ) => 15_000,
                    _ => 2_000,
                };
                drop(core);
                sleep(Duration::from_millis(pause)).await;
            }
        });
    }
}
