//! The browser driver of the sync engine, and the device's records around it.
//!
//! [`Core`] owns the [`SyncClient`] (the sans-IO engine over the device's replica), the open
//! IndexedDB database and the session. It only moves bytes and carries out the engine's
//! effects: `Send` → `fetch` `/api/sync`, `Persist` → one IndexedDB transaction, `WakeAt` → a
//! timer. Triggers: start, the browser's `online` event, a push on `GET /api/events` (read with
//! `fetch`, which can carry the bearer token that `EventSource` cannot, and `Last-Event-ID`)
//! and every (re)connect or drop of that stream, the engine's own periodic and retry timers,
//! local edits and the "sync now" button. Every decision about documents is the engine's.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use shared::config::Config;
use shared::doc::{ActorId, DocError, DocKind, EnterpriseDoc, ProblemDoc, RecordDoc, VisitDoc};
use shared::model::{Actor, DeviceId, Enterprise, Problem, Visit};
use shared::sync::client::{Effect, Failure, Input, Status, SyncClient};
use shared::sync::protocol::{DocId, Refusal};
use shared::sync::replica::{Entry, Replica};
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast as _, JsValue};
use yew::Callback;
use yew::platform::spawn_local;
use yew::platform::time::sleep;

use crate::infra::api::{self, ApiError, Session};
use crate::infra::db::{Db, DbError};
use crate::infra::directory;
use crate::infra::order;
use crate::infra::platform;

const SESSION_KEY: &str = "session";
const DEVICE_KEY: &str = "device_id";
const DEVICE_LOCAL_KEY: &str = "lianxin.device";
/// The device secret, made with the id and kept beside it: sent at login, it binds the id to
/// this phone (a copy of the id alone gets a device of its own).
const SECRET_KEY: &str = "device_secret";
const SECRET_LOCAL_KEY: &str = "lianxin.device_secret";

/// Something about the account the person must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthTrouble {
    /// The session expired and could not be refreshed: log in again (data stays).
    Expired,
    /// An administrator revoked this device: local data will be wiped.
    Revoked,
}

/// Notices shown around the screens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notices {
    /// The answer to `navigator.storage.persist()`.
    pub persisted: Option<bool>,
    /// Storage used and quota, in bytes.
    pub estimate: Option<(u64, u64)>,
    /// A storage write failed because the quota is full (blocking).
    pub quota_full: Option<String>,
    /// Another storage failure.
    pub storage_error: Option<String>,
    /// The account needs attention.
    pub auth: Option<AuthTrouble>,
}

/// The parsed records of the device, rebuilt when anything changed.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Enterprise profiles.
    pub enterprises: Vec<Enterprise>,
    /// Visits.
    pub visits: Vec<Visit>,
    /// Problems.
    pub problems: Vec<Problem>,
    /// Documents this build cannot read, and why.
    pub unreadable: Vec<(DocId, String)>,
}

/// Why a local save failed.
#[derive(Debug, Clone, PartialEq)]
pub enum SaveError {
    /// The edit itself was refused (a field, the workflow).
    Doc(DocError),
    /// Storage failed: nothing was saved.
    Storage(DbError),
    /// Nobody is logged in.
    NoSession,
}

impl From<DocError> for SaveError {
    fn from(e: DocError) -> Self {
        SaveError::Doc(e)
    }
}

/// The device: storage, session, engine, notices.
pub struct Core {
    /// The district configuration (built-in defaults until the server distributes one).
    pub config: Config,
    db: Db,
    device: Cell<DeviceId>,
    secret: RefCell<String>,
    session: RefCell<Option<Session>>,
    engine: RefCell<Option<SyncClient>>,
    queue: RefCell<VecDeque<Input>>,
    running: Cell<bool>,
    timer: Cell<u64>,
    generation: Cell<u64>,
    listener: RefCell<Option<Callback<()>>>,
    notices: RefCell<Notices>,
    snapshot: RefCell<Option<(u64, Rc<Snapshot>)>>,
    push_running: Cell<bool>,
    /// The last event id the push channel delivered, sent back as `Last-Event-ID`.
    last_event: Cell<Option<u64>>,
    last_sync: Cell<Option<shared::model::Timestamp>>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core").finish_non_exhaustive()
    }
}

impl Core {
    /// Opens storage, restores the device id, the session and the replica, and starts syncing
    /// if someone is logged in.
    pub async fn open() -> Result<Rc<Core>, DbError> {
        let db = Db::open().await?;
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
        let session = db
            .get_meta(SESSION_KEY)
            .await?
            .and_then(|v| v.as_string())
            .and_then(|s| Session::from_json(&s));
        let core = Rc::new(Core {
            config: Config::default(),
            db,
            device: Cell::new(device),
            secret: RefCell::new(secret),
            session: RefCell::new(None),
            engine: RefCell::new(None),
            queue: RefCell::new(VecDeque::new()),
            running: Cell::new(false),
            timer: Cell::new(0),
            generation: Cell::new(0),
            listener: RefCell::new(None),
            notices: RefCell::new(Notices::default()),
            snapshot: RefCell::new(None),
            push_running: Cell::new(false),
            last_event: Cell::new(None),
            last_sync: Cell::new(None),
        });
        core.listen_for_network();
        if let Some(session) = session {
            core.start_session(session).await?;
        }
        let storage = core.clone();
        spawn_local(async move {
            let persisted = platform::request_persistent_storage().await;
            storage.notices.borrow_mut().persisted = persisted;
            storage.refresh_estimate().await;
        });
        Ok(core)
    }

    /// Registers the function that re-renders the app after any change.
    pub fn set_listener(&self, listener: Callback<()>) {
        *self.listener.borrow_mut() = Some(listener);
    }

    fn notify(&self) {
        self.generation.set(self.generation.get() + 1);
        let listener = self.listener.borrow().clone();
        if let Some(listener) = listener {
            listener.emit(());
        }
    }

    /// A number that changes whenever anything shown may have changed.
    pub fn generation(&self) -> u64 {
        self.generation.get()
    }

    /// This device's id.
    pub fn device(&self) -> DeviceId {
        self.device.get()
    }

    /// The session, if someone is logged in.
    pub fn session(&self) -> Option<Session> {
        self.session.borrow().clone()
    }

    /// The person acting, as recorded in every change.
    pub fn actor(&self) -> Option<Actor> {
        self.session.borrow().as_ref().map(|s| Actor {
            user: s.user.id,
            device: s.device.id,
            role: s.user.role,
        })
    }

    /// The Automerge actor of this device's edits.
    pub fn actor_id(&self) -> Option<ActorId> {
        self.engine
            .borrow()
            .as_ref()
            .map(|e| e.replica().actor().clone())
    }

    /// Notices to show.
    pub fn notices(&self) -> Notices {
        self.notices.borrow().clone()
    }

    /// Hides the quota warning once the person has read it (it comes back on the next failure).
    pub fn dismiss_quota(&self) {
        self.notices.borrow_mut().quota_full = None;
        self.notify();
    }

    /// What the sync status bar shows.
    pub fn status(&self) -> Status {
        let mut status = self
            .engine
            .borrow_mut()
            .as_mut()
            .map(SyncClient::status)
            .unwrap_or_default();
        status.online = platform::online() && status.online;
        status.unreachable &= status.online;
        // After a restart the engine has not synced yet; show when the device last did.
        status.last_success = status.last_success.or(self.last_sync.get());
        status
    }

    /// The refusal of one document, if the server refused it.
    pub fn refusal(&self, id: &DocId) -> Option<Refusal> {
        let engine = self.engine.borrow();
        let entry = engine.as_ref()?.replica().get(id)?;
        entry.refused.as_ref().map(|(_, r)| r.clone())
    }

    /// A copy of a document, to edit and then [`Core::save`].
    pub fn doc(&self, id: &DocId) -> Option<RecordDoc> {
        let engine = self.engine.borrow();
        engine.as_ref()?.replica().get(id).map(|e| e.doc.clone())
    }

    /// The parsed records, cached until the next change.
    pub fn snapshot(&self) -> Rc<Snapshot> {
        let generation = self.generation.get();
        if let Some((g, snapshot)) = self.snapshot.borrow().as_ref()
            && *g == generation
        {
            return snapshot.clone();
        }
        let mut snapshot = Snapshot::default();
        if let Some(engine) = self.engine.borrow().as_ref() {
            let replica = engine.replica();
            for id in replica.ids() {
                let Some(entry) = replica.get(id) else {
                    continue;
                };
                let doc = entry.doc.clone();
                let read = match id.kind() {
                    DocKind::Enterprise => EnterpriseDoc::from_record(doc)
                        .and_then(|d| d.read())
                        .map(|e| snapshot.enterprises.push(e)),
                    DocKind::Visit => VisitDoc::from_record(doc)
                        .and_then(|d| d.read())
                        .map(|v| snapshot.visits.push(v)),
                    DocKind::Problem => ProblemDoc::from_record(doc)
                        .and_then(|d| d.read())
                        .map(|p| snapshot.problems.push(p)),
                    DocKind::Monitoring => Ok(()),
                };
                if let Err(e) = read {
                    snapshot.unreadable.push((id.clone(), e.to_string()));
                }
            }
        }
        // By name, equal names in the replica's order (the app's one sort, not a copy of its own).
        let enterprises = std::mem::take(&mut snapshot.enterprises);
        let by_name = order::stable_order(enterprises.len(), &|a, b| {
            enterprises[a].name.cmp(&enterprises[b].name)
        });
        snapshot.enterprises = order::rearranged(enterprises, &by_name);
        let snapshot = Rc::new(snapshot);
        *self.snapshot.borrow_mut() = Some((generation, snapshot.clone()));
        snapshot
    }

    /// Saves edited or new documents: merges them into the replica at once (so no other edit
    /// or pull can slip in between), writes them to IndexedDB in one transaction, and only
    /// then calls `done` — the moment the UI may say "saved" — and tells the engine.
    pub fn save(
        self: &Rc<Self>,
        docs: Vec<(DocId, RecordDoc)>,
        done: Callback<Result<(), SaveError>>,
    ) {
        let saved = {
            let mut engine = self.engine.borrow_mut();
            let Some(engine) = engine.as_mut() else {
                done.emit(Err(SaveError::NoSession));
                return;
            };
            let replica = engine.replica_mut();
            let mut saved = Vec::new();
            for (id, mut doc) in docs {
                match replica.get_mut(&id) {
                    Some(entry) => {
                        if let Err(e) = entry.doc.merge(&mut doc) {
                            done.emit(Err(SaveError::Doc(e)));
                            return;
                        }
                    }
                    None => replica.insert_new(id.clone(), doc),
                }
                if let Some(entry) = replica.get_mut(&id) {
                    saved.push((id, entry.doc.save()));
                }
            }
            saved
        };
        let core = self.clone();
        spawn_local(async move {
            match core.db.save_docs(&saved).await {
                Ok(()) => {
                    core.notices.borrow_mut().storage_error = None;
                    core.notify();
                    done.emit(Ok(()));
                    core.feed(Input::LocalEdit);
                }
                Err(e) => {
                    core.storage_failed(&e);
                    done.emit(Err(SaveError::Storage(e)));
                }
            }
        });
    }

    fn storage_failed(&self, error: &DbError) {
        {
            let mut notices = self.notices.borrow_mut();
            match error {
                DbError::Quota(m) => notices.quota_full = Some(m.clone()),
                other => notices.storage_error = Some(other.to_string()),
            }
        }
        self.notify();
    }

    async fn refresh_estimate(&self) {
        if let Some((usage, quota)) = platform::storage_estimate().await {
            self.notices.borrow_mut().estimate = Some((usage as u64, quota as u64));
            self.notify();
        }
    }

    /// Logs in (or back in after an expired session) and starts syncing.
    pub async fn login(self: &Rc<Self>, login: &str, password: &str) -> Result<(), ApiError> {
        let device_name = device_name();
        let secret = self.secret.borrow().clone();
        let session = api::login(login, password, self.device(), &secret, &device_name).await?;
        let previous = self.session();
        if let Some(previous) = &previous
            && previous.user.id != session.user.id
            && self.unsynced() > 0
        {
            // Another person on a device holding someone's unsynced records: refuse, so
            // nothing is mixed up or lost.
            return Err(ApiError::Status(409, String::new()));
        }
        if previous.is_some_and(|p| p.user.id != session.user.id) {
            self.db
                .wipe(&[DEVICE_KEY, SECRET_KEY])
                .await
                .map_err(|_| ApiError::BadBody)?;
        }
        if session.device.id != self.device() {
            // A device of its own (the id was another phone's or revoked): kept for next time.
            self.set_device(session.device.id, None).await;
        }
        self.notices.borrow_mut().auth = None;
        self.start_session(session)
            .await
            .map_err(|_| ApiError::BadBody)?;
        self.refresh_directory(true);
        self.notify();
        Ok(())
    }

    /// Fetches the names of people and units when due (`force`: after a login), and
    /// re-renders when they changed ([`directory`]).
    fn refresh_directory(self: &Rc<Self>, force: bool) {
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

    async fn start_session(self: &Rc<Self>, session: Session) -> Result<(), DbError> {
        let json = session.to_json();
        self.db
            .put_meta(SESSION_KEY, Some(&JsValue::from_str(&json)))
            .await?;
        let actor = actor_id_from_hex(&session.device.actor_id)
            .unwrap_or_else(|| ActorId::from(session.device.id.as_bytes().as_slice()));
        *self.session.borrow_mut() = Some(session);
        let stored = self.db.load().await?;
        let mut replica = Replica::new(actor.clone());
        let mut entries: std::collections::BTreeMap<DocId, Entry> = Default::default();
        for (id, bytes) in stored.docs {
            match RecordDoc::load(&bytes, actor.clone()) {
                Ok(doc) => {
                    entries.insert(
                        id,
                        Entry {
                            doc,
                            acked: Vec::new(),
                            refused: None,
                        },
                    );
                }
                Err(e) => {
                    self.notices.borrow_mut().storage_error = Some(format!("{id}: {e}"));
                }
            }
        }
        for (id, heads) in stored.acked {
            if let Some(entry) = entries.get_mut(&id) {
                entry.acked = heads;
            }
        }
        for (id, heads, refusal) in stored.refused {
            if let Some(entry) = entries.get_mut(&id) {
                entry.refused = Some((heads, refusal));
            }
        }
        for (id, entry) in entries {
            replica.restore(id, entry);
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

    /// Logs out, unless changes are waiting (they would be lost): returns how many.
    pub async fn logout(self: &Rc<Self>) -> Result<(), usize> {
        let unsynced = self.unsynced();
        if unsynced > 0 {
            return Err(unsynced);
        }
        self.end_session(false).await;
        Ok(())
    }

    /// After a revocation: drops every local record and the session, and forgets the device
    /// id (the server will not take it again).
    pub async fn wipe_revoked(self: &Rc<Self>) {
        self.end_session(true).await;
    }

    async fn end_session(self: &Rc<Self>, forget_device: bool) {
        self.timer.set(self.timer.get() + 1);
        *self.engine.borrow_mut() = None;
        *self.session.borrow_mut() = None;
        self.queue.borrow_mut().clear();
        let keep: &[&str] = if forget_device {
            &[]
        } else {
            &[DEVICE_KEY, SECRET_KEY]
        };
        directory::forget();
        if let Err(e) = self.db.wipe(keep).await {
            self.storage_failed(&e);
        }
        if forget_device {
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

    /// The "sync now" button.
    pub fn sync_now(self: &Rc<Self>) {
        self.feed(Input::Online(platform::online()));
        self.feed(Input::SyncNow);
    }

    /// Hands an input to the engine and carries out its effects, one at a time.
    fn feed(self: &Rc<Self>, input: Input) {
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
                        let started = platform::now();
                        let next = match self.send(&body).await {
                            Ok(body) => {
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
        self.notify();
    }

    async fn send(self: &Rc<Self>, body: &[u8]) -> Result<Vec<u8>, Failure> {
        let mut refreshed = false;
        loop {
            let session = self.session();
            let Some(session) = session else {
                return Err(Failure::Network);
            };
            match api::sync(Some(&session), session.device.id, body).await {
                Ok(bytes) => return Ok(bytes),
                Err(ApiError::Unreachable | ApiError::BadBody) => return Err(Failure::Network),
                Err(ApiError::TokenExpired) if !refreshed => {
                    refreshed = true;
                    match api::refresh(&session).await {
                        Ok(fresh) => {
                            let json = fresh.to_json();
                            let _ = self
                                .db
                                .put_meta(SESSION_KEY, Some(&JsValue::from_str(&json)))
                                .await;
                            *self.session.borrow_mut() = Some(fresh);
                        }
                        Err(ApiError::Unreachable) => return Err(Failure::Network),
                        Err(ApiError::DeviceRevoked) => return Err(self.revoked()),
                        Err(_) => return Err(self.expired()),
                    }
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
                        message: format!("{other:?}"),
                    });
                }
            }
        }
    }

    fn expired(&self) -> Failure {
        self.notices.borrow_mut().auth = Some(AuthTrouble::Expired);
        Failure::Http {
            status: 401,
            message: "session expired".into(),
        }
    }

    fn revoked(&self) -> Failure {
        self.notices.borrow_mut().auth = Some(AuthTrouble::Revoked);
        Failure::Http {
            status: 403,
            message: "device revoked".into(),
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

    fn listen_for_network(self: &Rc<Self>) {
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
    fn open_push_channel(self: &Rc<Self>) {
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
