//! The phone's device core: [`Core`] holds the district configuration, the open IndexedDB
//! database, the session, the sync engine over the device's replica and the notices shown
//! around the screens. It is split by concern: `driver` carries out the engine's effects
//! (the browser driver of the sans-IO engine), `session` logs in and out and restores the
//! replica, `records` gives the screens their records and saves their edits, `config` keeps
//! the district's configuration the server distributes, `handover` exports what a phone that
//! cannot reach the server again holds for IT.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use shared::doc::ActorId;
use shared::model::{Actor, DeviceId};
use shared::sync::client::{Input, Status, SyncClient};
use shared::sync::protocol::DocId;
use yew::Callback;
use yew::platform::spawn_local;

use crate::infra::api::Session;
use crate::infra::db::{Db, DbError};
use crate::infra::platform;

mod config;
mod driver;
mod handover;
mod photos;
mod records;
mod session;

use records::Records;
pub use records::{SaveError, Snapshot};
pub use session::AuthTrouble;
use session::SESSION_KEY;

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
    /// This device was revoked and wiped: the records whose unsynced changes or photos were
    /// lost, each with what names it and how many of its photos never reached the server
    /// (shown on the login screen until read; kept in `localStorage`).
    pub wiped: Option<Vec<(DocId, String, usize)>>,
}

/// The device: storage, session, engine, notices.
pub struct Core {
    /// The district configuration (built-in defaults until the server distributes one; read
    /// with [`Core::config`]).
    config: RefCell<config::Held>,
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
    records: RefCell<Records>,
    push_running: Cell<bool>,
    /// The last event id the push channel delivered, sent back as `Last-Event-ID`.
    last_event: Cell<Option<u64>>,
    last_sync: Cell<Option<shared::model::Timestamp>>,
    /// What the last handover file covered (`handover`): each record and its heads.
    handed_over: RefCell<Option<handover::Covered>>,
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
        let (device, secret) = session::identity(&db).await?;
        let session = db
            .get_meta(SESSION_KEY)
            .await?
            .and_then(|v| v.as_string())
            .and_then(|s| Session::from_json(&s));
        let held = config::stored(&db).await;
        let core = Rc::new(Core {
            config: RefCell::new(held),
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
            notices: RefCell::new(Notices {
                wiped: session::wiped(),
                ..Notices::default()
            }),
            records: RefCell::new(Records::default()),
            push_running: Cell::new(false),
            last_event: Cell::new(None),
            last_sync: Cell::new(None),
            handed_over: RefCell::new(None),
        });
        core.listen_for_network();
        let weak = Rc::downgrade(&core);
        crate::infra::photos::on_progress(move || {
            if let Some(core) = weak.upgrade() {
                core.notify();
            }
        });
        spawn_local(session::send_logout());
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
}
