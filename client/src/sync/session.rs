//! Who is using the device: the device id and its secret (kept in IndexedDB and
//! `localStorage`), login and logout, the session's tokens (refreshed on `token_expired`), a
//! revoked device's wipe, and the restore of the replica from IndexedDB when a session starts
//! (documents as stored bytes with their heads; built when first read).
//!
//! A revoked device wipes itself as soon as the server says so (a sync or a refresh answering
//! `device_revoked`), without waiting for a tap: first the records whose changes never reached
//! the server are noted (their id and what names them, in `localStorage`, which the wipe
//! leaves), then IndexedDB (records, outbox, session and tokens, and the photo store
//! `lianxin-photos`) is cleared and the device id
//! forgotten; the login screen lists what was lost until the person has read it.
//!
//! The app's tabs share one session (IndexedDB) and the server rotates refresh tokens (a used
//! one presented again logs the device out): a tab refreshes holding a lock all tabs share,
//! and first reads the stored session again — if another tab has refreshed meanwhile, it takes
//! that session instead of presenting its own, used, refresh token.

use std::rc::Rc;

use shared::doc::{ActorId, RecordDoc};
use shared::model::DeviceId;
use shared::sync::client::{Failure, Input, SyncClient};
use shared::sync::protocol::DocId;
use shared::sync::replica::{Entry, Replica};
use wasm_bindgen::JsValue;
use yew::platform::spawn_local;

use super::Core;
use crate::infra::api::{self, ApiError, Session};
use crate::infra::db::{Db, DbError};
use crate::infra::directory;
use crate::infra::platform;

pub(super) const SESSION_KEY: &str = "session";
pub(super) const DEVICE_KEY: &str = "device_id";
const DEVICE_LOCAL_KEY: &str = "lianxin.device";
/// A session logged out while the server could not be reached: its `POST /api/logout` goes at
/// the next connection (the app's start, the browser's `online` event, the next login).
const LOGOUT_LOCAL_KEY: &str = "lianxin.logout";
/// The notice of a revoked device's wipe: one line per lost record, `doc-id<TAB>name`.
const WIPED_LOCAL_KEY: &str = "lianxin.wiped";
/// The device secret, made with the id and kept beside it: sent at login, it binds the id to
/// this phone (a copy of the id alone gets a device of its own).
pub(super) const SECRET_KEY: &str = "device_secret";
pub(super) const SECRET_LOCAL_KEY: &str = "lianxin.device_secret";

/// Something about the account the person must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthTrouble {
    /// The session expired and could not be refreshed: log in again (data stays).
    Expired,
    /// An administrator revoked this device: local data will be wiped.
    Revoked,
}

impl Core {
    /// Logs in (or back in after an expired session) and starts syncing.
    pub async fn login(self: &Rc<Self>, login: &str, password: &str) -> Result<(), ApiError> {
        // A logout still owed goes first: sent after this login, it would end the new session
        // too (the server revokes every token of the device).
        send_logout().await;
        let device_name = device_name();
        let secret = self.secret.borrow().clone();
        let session = api::login(login, password, self.device(), &secret, &device_name).await?;
        let previous = self.session();
        if let Some(previous) = &previous
            && previous.user.id != session.user.id
            && (self.unsynced() > 0 || self.unsent_photos().await > 0)
        {
            // Another person on a device holding someone's unsynced records: refuse, so
            // nothing is mixed up or lost.
            return Err(ApiError::Status(409, String::new()));
        }
        if previous.is_some_and(|p| p.user.id != session.user.id) {
            crate::infra::photos::wipe().await;
            self.db
                .wipe(&[DEVICE_KEY, SECRET_KEY, super::config::CONFIG_KEY])
                .await
                .map_err(|_| ApiError::BadBody)?;
        }
        if session.device.id != self.device() {
            // A device of its own (the id was another phone's or revoked): kept for next time.
            self.set_device(session.device.id, None).await;
        }
        self.notices.borrow_mut().auth = None;
        // The notice of an earlier wipe was shown on this login screen.
        self.dismiss_wiped();
        self.start_session(session)
            .await
            .map_err(|_| ApiError::BadBody)?;
        self.refresh_directory(true);
        self.notify();
        Ok(())
    }

    /// Fetches the names of people and units when due (`force`: after a login), and
    /// re-renders when they changed ([`directory`]).
    pub(super) fn refresh_directory(self: &Rc<Self>, force: bool) {
        let Some(session) = self.session() else {
            return;
        };
        let core = Rc::downgrade(self);
        spawn_local(async move {
            if directory::refresh(&session, force).await
                && let Some(core) = core.upgrade()
            {
                core.notify();
            }
        });
    }

    pub(super) async fn start_session(self: &Rc<Self>, session: Session) -> Result<(), DbError> {
        let json = session.to_json();
        self.db
            .put_meta(SESSION_KEY, Some(&JsValue::from_str(&json)))
            .await?;
        let actor = actor_id_from_hex(&session.device.actor_id)
            .unwrap_or_else(|| ActorId::from(session.device.id.as_bytes().as_slice()));
        *self.session.borrow_mut() = Some(session);
        let stored = self.db.load().await?;
        let mut replica = Replica::new(actor.clone());
        for (id, bytes, heads) in stored.docs {
            let entry = match heads {
                // Kept as bytes until a screen or a merge needs the document.
                Some(heads) => Entry::stored(bytes, heads, Vec::new()),
                // Stored before heads were kept beside documents: built now.
                None => match RecordDoc::load(&bytes, actor.clone()) {
                    Ok(doc) => Entry::loaded(doc, Vec::new()),
                    Err(e) => {
                        self.notices.borrow_mut().storage_error = Some(format!("{id}: {e}"));
                        continue;
                    }
                },
            };
            replica.restore(id, entry);
        }
        // Acknowledged heads and refusals go onto the entries restored above (no map of
        // their own: each map type is code the phone downloads).
        for (id, acked) in stored.acked {
            if let Some(entry) = replica.get_mut(&id) {
                entry.acked = acked;
            }
        }
        for (id, heads, refusal) in stored.refused {
            if let Some(entry) = replica.get_mut(&id) {
                entry.refused = Some((heads, refusal));
            }
        }
        self.last_sync
            .set(stored.last_sync.map(shared::model::Timestamp));
        replica.cursor = stored.cursor;
        replica.ack = stored.ack;
        *self.engine.borrow_mut() = Some(SyncClient::new(replica));
        self.open_push_channel();
        self.notify();
        self.feed(Input::Online(platform::online()));
        self.feed(Input::Start);
        Ok(())
    }

    /// Changes not yet acknowledged by the server, refused ones included.
    pub fn unsynced(&self) -> usize {
        let status = self.status();
        status.waiting + status.refused.len()
    }

    /// Logs out, unless changes or photos are waiting (they would be lost): returns how many
    /// changes and how many photos.
    pub async fn logout(self: &Rc<Self>) -> Result<(), (usize, usize)> {
        let unsynced = self.unsynced();
        let photos = self.unsent_photos().await;
        if unsynced > 0 || photos > 0 {
            return Err((unsynced, photos));
        }
        self.end_and_log_out().await;
        Ok(())
    }

    /// Ends the session on this device (its records leave it) and sends the logout, now or
    /// at the next connection.
    pub(super) async fn end_and_log_out(self: &Rc<Self>) {
        if let Some(session) = self.session() {
            remember_local(LOGOUT_LOCAL_KEY, &session.to_json());
        }
        self.end_session(false).await;
        spawn_local(send_logout());
    }

    /// After a revocation: notes the records whose changes are lost, drops every local record
    /// and the session, and forgets the device id (the server will not take it again).
    async fn wipe_revoked(self: &Rc<Self>) {
        if self.session().is_none() {
            return;
        }
        let lost = self.unsynced_records();
        let lines: Vec<String> = lost
            .iter()
            .map(|(id, name)| format!("{id}\t{name}"))
            .collect();
        remember_local(WIPED_LOCAL_KEY, &lines.join("\n"));
        self.end_session(true).await;
        self.notices.borrow_mut().wiped = Some(lost);
        self.notify();
    }

    /// Hides the notice of the wipe once read.
    pub fn dismiss_wiped(&self) {
        forget_local(WIPED_LOCAL_KEY);
        self.notices.borrow_mut().wiped = None;
        self.notify();
    }

    /// The records holding changes the server has not taken (waiting or refused), each with
    /// its enterprise's name and the start of its text.
    fn unsynced_records(&self) -> Vec<(DocId, String)> {
        let snapshot = self.snapshot();
        let ids = match self.engine.borrow_mut().as_mut() {
            Some(engine) => {
                let replica = engine.replica_mut();
                let mut ids = replica.pending();
                for (id, _) in replica.refused() {
                    // Refused, then edited: already there as waiting.
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                ids
            }
            None => Vec::new(),
        };
        let name_of = |enterprise| {
            snapshot
                .enterprises
                .iter()
                .find(|e| e.id == enterprise)
                .map(|e| e.name.clone())
        };
        let root = |id: &DocId| id.root_id().to_string();
        ids.into_iter()
            .map(|id| {
                let (enterprise, text) = if let Some(v) = snapshot
                    .visits
                    .iter()
                    .find(|v| v.id.to_string() == root(&id))
                {
                    (Some(v.enterprise), v.notes.as_str())
                } else if let Some(p) = snapshot
                    .problems
                    .iter()
                    .find(|p| p.id.to_string() == root(&id))
                {
                    (Some(p.enterprise), p.description.as_str())
                } else {
                    (
                        snapshot
                            .enterprises
                            .iter()
                            .find(|e| e.id.to_string() == root(&id))
                            .map(|e| e.id),
                        "",
                    )
                };
                let mut name = enterprise.and_then(name_of).unwrap_or_default();
                // One line each in `localStorage`: no line breaks or tabs of the text.
                let text: String = text
                    .chars()
                    .take(30)
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect();
                if !text.is_empty() {
                    name = format!("{name}：{text}");
                }
                (id, name)
            })
            .collect()
    }

    async fn end_session(self: &Rc<Self>, forget_device: bool) {
        self.timer.set(self.timer.get() + 1);
        *self.engine.borrow_mut() = None;
        *self.session.borrow_mut() = None;
        self.records.borrow_mut().clear();
        self.queue.borrow_mut().clear();
        let keep: &[&str] = if forget_device {
            &[]
        } else {
            &[DEVICE_KEY, SECRET_KEY, super::config::CONFIG_KEY]
        };
        directory::forget();
        // The photo store goes with the records (its own IndexedDB database).
        crate::infra::photos::wipe().await;
        if let Err(e) = self.db.wipe(keep).await {
            self.storage_failed(&e);
        }
        if forget_device {
            self.forget_config();
            let device = DeviceId::from_random_bytes(platform::random_bytes());
            self.set_device(device, Some(new_secret())).await;
        }
        self.notices.borrow_mut().auth = None;
        self.notify();
    }

    /// Keeps `device` (and a new `secret`) as this device's, in IndexedDB and `localStorage`.
    async fn set_device(&self, device: DeviceId, secret: Option<String>) {
        let _ = self
            .db
            .put_meta(DEVICE_KEY, Some(&JsValue::from_str(&device.to_string())))
            .await;
        remember_local_device(device);
        self.device.set(device);
        if let Some(secret) = secret {
            let _ = self
                .db
                .put_meta(SECRET_KEY, Some(&JsValue::from_str(&secret)))
                .await;
            remember_local(SECRET_LOCAL_KEY, &secret);
            *self.secret.borrow_mut() = secret;
        }
    }

    /// Replaces `stale`, whose access token the server refused: with the session another tab
    /// stored since, else by a refresh (under the tabs' lock, see the module).
    pub(super) async fn refreshed(&self, stale: &Session) -> Result<(), ApiError> {
        platform::with_tab_lock("lianxin.refresh", async {
            let newest = match self.stored_session().await {
                Some(stored)
                    if stored.refresh_token != stale.refresh_token
                        && stored.user.id == stale.user.id =>
                {
                    stored
                }
                _ => stale.clone(),
            };
            // Another tab's refresh, still valid: taken as it is.
            let fresh = if newest.refresh_token != stale.refresh_token
                && newest.expires_at > platform::now().0
            {
                newest
            } else {
                let fresh = api::refresh(&newest).await?;
                let json = JsValue::from_str(&fresh.to_json());
                let _ = self.db.put_meta(SESSION_KEY, Some(&json)).await;
                fresh
            };
            *self.session.borrow_mut() = Some(fresh);
            Ok(())
        })
        .await
    }

    /// Takes the session another tab stored since `used` (refreshed it), if any: `true` then.
    pub(super) async fn adopt_stored(&self, used: &Session) -> bool {
        match self.stored_session().await {
            Some(stored) if stored.token != used.token && stored.user.id == used.user.id => {
                *self.session.borrow_mut() = Some(stored);
                true
            }
            _ => false,
        }
    }

    async fn stored_session(&self) -> Option<Session> {
        let json = self.db.get_meta(SESSION_KEY).await.ok()??.as_string()?;
        Session::from_json(&json)
    }

    pub(super) fn expired(&self) -> Failure {
        self.notices.borrow_mut().auth = Some(AuthTrouble::Expired);
        Failure::Http {
            status: 401,
            message: "session expired".into(),
        }
    }

    /// The server said this device is revoked: it wipes itself at once (see the module).
    pub(super) fn revoked(self: &Rc<Self>) -> Failure {
        self.notices.borrow_mut().auth = Some(AuthTrouble::Revoked);
        let core = self.clone();
        spawn_local(async move { core.wipe_revoked().await });
        Failure::Http {
            status: 403,
            message: "device revoked".into(),
        }
    }
}

/// Sends the logout owed (see `LOGOUT_LOCAL_KEY`), if any; kept for the next connection while
/// the server cannot be reached, forgotten once it answered (a session it already ended
/// answers an error: nothing left to end).
pub(super) async fn send_logout() {
    let Some(json) = local_item(LOGOUT_LOCAL_KEY) else {
        return;
    };
    if let Some(session) = Session::from_json(&json)
        && matches!(api::logout(&session).await, Err(ApiError::Unreachable))
    {
        return;
    }
    forget_local(LOGOUT_LOCAL_KEY);
}

/// The notice of a wipe this device went through, if not read yet.
pub(super) fn wiped() -> Option<Vec<(DocId, String)>> {
    let text = local_item(WIPED_LOCAL_KEY)?;
    Some(
        text.lines()
            .filter_map(|line| {
                let (id, name) = line.split_once('\t')?;
                Some((DocId::parse(id).ok()?, name.to_string()))
            })
            .collect(),
    )
}

/// This device's id and secret: from IndexedDB, else from `localStorage`, else made now;
/// kept in both.
pub(super) async fn identity(db: &Db) -> Result<(DeviceId, String), DbError> {
    let device = match db.get_meta(DEVICE_KEY).await? {
        Some(v) => v.as_string().and_then(|s| DeviceId::parse(&s).ok()),
        None => None,
    };
    let device = match device.or_else(local_device) {
        Some(d) => d,
        None => {
            let d = DeviceId::from_random_bytes(platform::random_bytes());
            db.put_meta(DEVICE_KEY, Some(&JsValue::from_str(&d.to_string())))
                .await?;
            d
        }
    };
    remember_local_device(device);
    let secret = match db.get_meta(SECRET_KEY).await? {
        Some(v) => v.as_string(),
        None => None,
    };
    let secret = secret
        .or_else(|| local_item(SECRET_LOCAL_KEY))
        .filter(|s| (16..=256).contains(&s.len()));
    let secret = match secret {
        Some(s) => s,
        None => {
            let s = new_secret();
            db.put_meta(SECRET_KEY, Some(&JsValue::from_str(&s)))
                .await?;
            s
        }
    };
    remember_local(SECRET_LOCAL_KEY, &secret);
    Ok((device, secret))
}

fn actor_id_from_hex(hex: &str) -> Option<ActorId> {
    let hex = hex.trim();
    if hex.is_empty() || !hex.len().is_multiple_of(2) || hex.len() > 64 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    bytes.map(|b| ActorId::from(b.as_slice()))
}

fn local_device() -> Option<DeviceId> {
    DeviceId::parse(&local_item(DEVICE_LOCAL_KEY)?).ok()
}

fn remember_local_device(device: DeviceId) {
    remember_local(DEVICE_LOCAL_KEY, &device.to_string());
}

fn local_item(key: &str) -> Option<String> {
    web_sys::window()?
        .local_storage()
        .ok()??
        .get_item(key)
        .ok()?
}

fn remember_local(key: &str, value: &str) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(key, value);
    }
}

fn forget_local(key: &str) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.remove_item(key);
    }
}

/// A new device secret: 32 random bytes, hex.
fn new_secret() -> String {
    let (a, b) = (platform::random_bytes(), platform::random_bytes());
    a.iter().chain(&b).map(|x| format!("{x:02x}")).collect()
}

/// A name for this device, shown to administrators ("Chrome on Android").
fn device_name() -> String {
    let agent = web_sys::window()
        .and_then(|w| w.navigator().user_agent().ok())
        .unwrap_or_default();
    let browser = ["Edg", "Firefox", "Chrome", "Safari"]
        .into_iter()
        .find(|b| agent.contains(b))
        .unwrap_or("Browser");
    let system = ["Android", "iPhone", "iPad", "Windows", "Mac OS", "Linux"]
        .into_iter()
        .find(|s| agent.contains(s))
        .unwrap_or("");
    format!("{browser} {system}").trim().to_string()
}
