//! The server's sync driver: the tokio side of the sans-IO engine. `POST /api/sync` takes a
//! binary request from a device authenticated by its bearer token, runs the engine's server side
//! (`shared::sync::server`) within the user's scopes on a blocking thread against the SQLite
//! store — reading under the store lock, merging outside it, committing and reading the feed
//! under it again, in a group commit with the other requests merged meanwhile — and answers
//! only after the store's commit is durable. `GET /api/events` is the
//! push channel (server-sent events) telling online devices and browsers that changes wait.
//! Each request's report of what stays unsent on the device is recorded for the leaders'
//! freshness table. Requests of protocol versions 1 and 2 are served, each in its version.

pub mod events;
pub mod lanes;
pub mod limit;
pub mod metrics;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::auth::now;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use shared::config::Config;
use shared::doc::DocKind;
use shared::sync::limits::{Limit, Limits};
use shared::sync::protocol::{self, Outcome, WireError};
use shared::sync::server::{
    ParsedPushes, Prepared, ReadPushes, ServerStore as _, SyncContext, SyncError, finish_sync,
    merge_pushed, read_pushed, weigh_pushes,
};
use tokio::sync::broadcast;

use crate::AppState;
use crate::auth::scope::fingerprint;
use crate::auth::{Authenticated, access_for};
use crate::db::{Db, Notice};
use crate::http::error::ErrorBody;
use crate::printable::printable;
use crate::store::{SqliteDb, SqliteStore, StoreError};
use lanes::Lanes;
use metrics::Metrics;

/// Largest sync request body accepted, in bytes.
pub const MAX_REQUEST_BYTES: usize = shared::sync::limits::MAX_REQUEST_BYTES;

/// How long a follower of commits ([`next_burst`]) lets a burst of them settle before it looks.
pub const SETTLE: Duration = Duration::from_secs(1);

/// Waits for the next commit notice, then lets the burst it starts settle for [`SETTLE`] and
/// takes every notice of that burst, so a background job looks once per burst; `false` when
/// the feed has closed (the server is stopping).
pub async fn next_burst(commits: &mut broadcast::Receiver<Notice>) -> bool {
    use broadcast::error::{RecvError, TryRecvError};
    if let Err(RecvError::Closed) = commits.recv().await {
        return false;
    }
    tokio::time::sleep(SETTLE).await;
    loop {
        match commits.try_recv() {
            Ok(_) | Err(TryRecvError::Lagged(_)) => {}
            Err(TryRecvError::Empty) => return true,
            Err(TryRecvError::Closed) => return false,
        }
    }
}

/// A request's response and the feed's sequence before and after its commit.
type Finished = (protocol::SyncResponse, Option<u64>, Option<u64>);

/// A request's last phase, run in a group commit.
type FinishJob = crate::store::GroupJob<'static, Finished>;

/// Where a request's group-committed result goes.
type FinishDone = std::sync::mpsc::SyncSender<Result<Finished, StoreError>>;

/// The sync service: the configuration, the push channel, the counters and the group commit,
/// over the database ([`Db`], which the app state holds too).
pub struct SyncService {
    /// The database: its one writer merges and commits.
    db: Db,
    /// Merged requests waiting for the next group commit, each with where its result goes.
    pending: Mutex<Vec<(FinishJob, FinishDone)>>,
    /// The district configuration, swappable while the server runs ([`crate::live_config`]).
    live: crate::live_config::LiveConfig,
    /// Request counters and latency, for `/metrics`.
    pub metrics: Metrics,
    /// When each request decodes and merges (light and heavy lanes, one per user).
    lanes: Arc<Lanes>,
}

impl std::fmt::Debug for SyncService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncService").finish_non_exhaustive()
    }
}

/// Why a sync request was answered with an error status.
#[derive(Debug, thiserror::Error)]
pub enum SyncApiError {
    /// The body is not a sync message of a version we speak, or is corrupt.
    #[error("{0}")]
    Wire(#[from] WireError),
    /// The request breaks a request-wide limit (the body's size, the number of documents,
    /// the stored bytes merging it would load); the device splits it.
    #[error("{0}")]
    Limit(#[from] Limit),
    /// The store failed; nothing was acknowledged.
    #[error("the server could not store the changes; nothing was acknowledged, try again")]
    Store,
}

impl IntoResponse for SyncApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            SyncApiError::Wire(WireError::Version { .. }) => {
                (StatusCode::BAD_REQUEST, "protocol_version")
            }
            SyncApiError::Wire(_) => (StatusCode::BAD_REQUEST, "malformed"),
            SyncApiError::Limit(limit) => (StatusCode::PAYLOAD_TOO_LARGE, limit.code()),
            SyncApiError::Store => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
        };
        (
            status,
            axum::Json(ErrorBody {
                error: code,
                message: self.to_string(),
            }),
        )
            .into_response()
    }
}

impl SyncService {
    /// Opens (or creates) the database file and the service around it, taking the file's lock
    /// if it can (a warning if another process holds it; `lianxin-server serve` refuses that
    /// case first and uses [`SyncService::open_holding`]).
    pub fn open(db: &Path, config: Config) -> Result<SyncService, StoreError> {
        let lock = match crate::admin::lock_db(db) {
            Ok(Some(lock)) => Some(lock),
            Ok(None) => {
                tracing::warn!(db = %db.display(), "another process holds this database's lock");
                None
            }
            Err(error) => {
                tracing::warn!(%error, db = %db.display(), "cannot lock the database file");
                None
            }
        };
        SyncService::open_with(db, config, lock)
    }

    /// Opens the database file holding its lock: the one server on that file.
    pub fn open_holding(
        db: &Path,
        config: Config,
        lock: crate::admin::DbLock,
    ) -> Result<SyncService, StoreError> {
        SyncService::open_with(db, config, Some(lock))
    }

    /// The service over a PostgreSQL database ([`Db::postgres`]): each request runs the engine
    /// on a [`crate::pg::PgSyncStore`] through [`crate::pg::handle_sync`] (merged again when
    /// another server committed one of its documents first). Not yet on PostgreSQL: the group
    /// commit (each request commits alone) and older configuration versions a device declares
    /// (it is judged by the running one). The server-time rules' facts (the device's previous
    /// sync, a look-back's stored check-ins and sign-offs) are read as on SQLite.
    pub fn postgres(db: Db, config: Config) -> SyncService {
        SyncService {
            db,
            live: crate::live_config::LiveConfig::new(config),
            metrics: Metrics::default(),
            pending: Mutex::new(Vec::new()),
            lanes: Lanes::per_core(),
        }
    }

    fn open_with(
        db: &Path,
        config: Config,
        lock: Option<crate::admin::DbLock>,
    ) -> Result<SyncService, StoreError> {
        let sqlite = SqliteDb::open(db, lock)?;
        let live = crate::live_config::LiveConfig::new(config);
        // Kept among the published configurations: a device that holds it may declare it
        // after another is applied.
        let published = live.running().published.clone();
        sqlite
            .lock_writer()
            .remember_config(published.version(), published.json(), now())?;
        Ok(SyncService {
            db: Db::sqlite(sqlite),
            live,
            metrics: Metrics::default(),
            pending: Mutex::new(Vec::new()),
            lanes: Lanes::per_core(),
        })
    }

    /// The database's epoch as this service opened it (`protocol::EPOCH_SHIFT`): push notices
    /// carry the feed's sequence as a cursor of it.
    pub fn epoch(&self) -> u64 {
        self.db.epoch()
    }

    /// The database file this service opened.
    pub fn db_path(&self) -> &Path {
        self.db.path()
    }

    /// The database the service commits to (the app state's [`Db`]).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The sync counters and merge slots as Prometheus text (served by
    /// [`crate::http::metrics`]).
    pub fn render_metrics(&self) -> String {
        self.metrics.render() + &self.lanes.render()
    }

    /// The same service keeping applied configurations in `file` (the `--config` file).
    #[must_use]
    pub fn with_config_file(mut self, file: crate::live_config::ConfigFile) -> SyncService {
        self.live = self.live.with_file(file);
        self
    }

    /// The district configuration running now. Taken at each use: an applied configuration
    /// replaces it ([`crate::live_config`]).
    pub fn config(&self) -> Arc<Config> {
        self.live.running().config.clone()
    }

    /// The district configuration, shared (what a query run elsewhere takes along).
    pub fn shared_config(&self) -> Arc<Config> {
        self.config()
    }

    /// The district configuration as devices receive it (`GET /api/config`), with its version.
    pub fn published_config(&self) -> Arc<crate::published_config::PublishedConfig> {
        self.live.running().published.clone()
    }

    /// The running configuration's handle: what applies a new one and what devices' declared
    /// versions are looked up in.
    pub fn live(&self) -> &crate::live_config::LiveConfig {
        &self.live
    }

    /// Runs `f` with the database's writer on a blocking thread (tests and tools; the server
    /// reaches the database through [`Db`]).
    pub async fn with_store<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut SqliteStore) -> T + Send + 'static,
    ) -> Option<T> {
        self.db.write(f).await
    }

    /// Runs `f` with a read-only connection on a blocking thread ([`Db::read`]).
    pub async fn with_reader<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut SqliteStore) -> T + Send + 'static,
    ) -> Option<T> {
        self.db.read(f).await
    }

    /// Runs background work `f` that takes the writer in short holds ([`Db::holds`]).
    pub async fn with_store_holds<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Mutex<SqliteStore>) -> T + Send + 'static,
    ) -> Option<T> {
        self.db.holds(f).await
    }

    /// Handles one encoded sync request from an authenticated device; returns the encoded
    /// response. The device reads and writes within its user's scopes, and every change it
    /// pushes must be its own ([`crate::auth::RoleRules`]).
    ///
    /// Re-scoping: the store remembers a fingerprint of the read scope each device's cursor
    /// counts in. When the scope changed (an assignment ended or moved, a problem was handed
    /// to the department …), the request is served as if its cursor were 0, so documents that
    /// entered the scope arrive with their full history; known heads keep what the device has
    /// from being sent again, and the response names the documents the device holds that left
    /// the scope (`gone`: the device removes them). The new fingerprint is confirmed once the
    /// device acknowledges the delivery that served it, so a lost response is served from 0
    /// (and names what is gone) again. A document named is no longer counted as known to the
    /// device, so it arrives whole if it comes back (`store::out_of_scope`).
    ///
    /// Configuration: the request is judged by the configuration running when it starts, to
    /// its commit; a device declaring an older published version (`declared`, the request's
    /// `X-Lianxin-Config`) may also set what that version allowed ([`crate::live_config`]).
    pub async fn sync(
        self: &Arc<Self>,
        who: Authenticated,
        body: Bytes,
        declared: Option<String>,
    ) -> Result<Vec<u8>, SyncApiError> {
        let (response, version) = self
            .serve(who, body, declared, false)
            .await?
            .ok_or(SyncApiError::Store)?;
        Ok(protocol::encode_response(&response, version))
    }

    /// Keeps what arrived whole of a request whose body was cut in transit: the complete
    /// pushes in `received` ([`shared::sync::cut`]) go through the same weighing, checks,
    /// merge and group commit as a whole request's, and nothing of a push cut short is
    /// stored. Nobody reads the answer: the device, which got none, learns what was kept from
    /// its next request (the heads of the documents in doubt). Returns how many pushes were
    /// accepted (0 when none arrived whole).
    pub async fn sync_cut(
        self: &Arc<Self>,
        who: Authenticated,
        received: Bytes,
        declared: Option<String>,
    ) -> Result<usize, SyncApiError> {
        Ok(self
            .serve(who, received, declared, true)
            .await?
            .map_or(0, |(response, _)| {
                response
                    .results
                    .iter()
                    .filter(|r| matches!(r.outcome, Outcome::Accepted { .. }))
                    .count()
            }))
    }

    /// Decodes a request (what arrived of it, when `cut`) and runs it through the engine;
    /// its response and version, or `None` for a cut request of which no push arrived whole.
    async fn serve(
        self: &Arc<Self>,
        who: Authenticated,
        body: Bytes,
        declared: Option<String>,
        cut: bool,
    ) -> Result<Option<(protocol::SyncResponse, u8)>, SyncApiError> {
        if let Some(pg) = self.db.postgres_db() {
            let pg = pg.clone();
            return self.serve_postgres(&pg, who, body, cut).await;
        }
        // The request's lane (`lanes`): its user's turn, then a light slot, or the one heavy
        // lane for a large body. The admission goes with the work to its thread (so does the
        // decoding: inflation is CPU the async runtime must not spend) and frees its slot once
        // merged, so the next request merges while this one waits for the group commit.
        let mut admission = self.lanes.admit(who.user.id, body.len()).await;
        let this = self.clone();
        let result = tokio::task::spawn_blocking(move || {
            let Some((mut request, version)) = decode(body, cut)? else {
                return Ok(None);
            };
            // Request-wide limits, and each push weighed from its headers: a request heavier
            // than the light lane takes leaves it here, before Automerge builds anything.
            let mut weighed = weigh_pushes(&Limits::DEVICE, &request)?;
            let pushed = weighed.weight();
            admission.weighs(lanes::work(pushed, 0));
            // A kind of document the role never writes is refused unparsed (`role_refuses`).
            let role = who.user.role;
            weighed.refuse(&request, |push| {
                role_refuses(role, push).then_some(Outcome::Refused(protocol::Refusal::OutOfScope))
            });
            let parsed = weighed.parse();
            let now = now();
            let running = this.live.running();
            let (scoped, read) = {
                let mut store = this.lock_store().ok_or(SyncApiError::Store)?;
                let declared = declared.and_then(|v| this.live.declared(&store, &v));
                let config = Judged {
                    current: running.config.clone(),
                    declared,
                };
                read_phase(&mut store, config, &who, &mut request, parsed, now)?
            };
            // The stored documents it merges into are known now.
            admission.weighs(lanes::work(pushed, read.stored_bytes()));
            if admission.is_heavy() {
                this.metrics.heavy();
            }
            // The merging, most of a request's CPU, runs outside the store lock; finish_sync
            // merges again whatever another request changed meanwhile.
            let prepared = merge_pushed(&scoped.context(now), &request, read);
            let _turn = admission.merged();
            let finished = this.commit_in_group(Box::new(
                move |store: &mut SqliteStore| -> Result<Finished, StoreError> {
                    let ctx = scoped.context(now);
                    let before = store.latest_seq().ok();
                    let response = finish_phase(store, &ctx, &scoped, &request, prepared, cut)?;
                    let after = store.latest_seq().ok();
                    Ok((response, before, after))
                },
            ));
            Ok::<_, SyncApiError>(Some(finished.map(|(r, b, a)| (r, b, a, version))))
        })
        .await
        .map_err(|_| SyncApiError::Store)??;
        let Some(result) = result else {
            return Ok(None);
        };
        let result = result.map_err(|e| {
            tracing::error!(error = %e, "sync store failure");
            SyncApiError::Store
        })?;
        let (response, before, after, version) = result;
        self.count(&response);
        if let (Some(b), Some(a)) = (before, after)
            && a > b
        {
            self.announce(a);
        }
        Ok(Some((response, version)))
    }

    /// Counts a response's accepted and refused documents and logs each refusal.
    fn count(&self, response: &protocol::SyncResponse) {
        let accepted = response
            .results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Accepted { .. }))
            .count();
        let refused = response
            .results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Refused(_)))
            .count();
        self.metrics.record_docs(accepted as u64, refused as u64);
        for r in &response.results {
            if let Outcome::Refused(reason) = &r.outcome {
                tracing::info!(doc = %r.doc, reason = %printable(&reason.to_string()), "document refused");
            }
        }
    }

    /// [`SyncService::serve`] on PostgreSQL: the device's access read through the directory,
    /// then on a blocking thread the request decoded and held to the same bounds, the kinds
    /// its role never writes refused unparsed, and the engine run on a connection of the pool
    /// ([`crate::pg::handle_sync`]), which answers only after the commit is durable. Every
    /// server hears of the commit through the database (`pg/notices.rs`).
    async fn serve_postgres(
        self: &Arc<Self>,
        pg: &crate::pg::PgDb,
        who: Authenticated,
        body: Bytes,
        cut: bool,
    ) -> Result<Option<(protocol::SyncResponse, u8)>, SyncApiError> {
        let store_failed = |e: StoreError| {
            tracing::error!(error = %e, "sync store failure");
            SyncApiError::Store
        };
        let mut admission = self.lanes.admit(who.user.id, body.len()).await;
        let now = now();
        let access = self
            .db
            .directory()
            .access(who.user.clone(), who.device.clone(), now)
            .await
            .map_err(store_failed)?;
        let mut store = pg.sync_store().await.map_err(store_failed)?;
        let config = self.config();
        let this = self.clone();
        let result = tokio::task::spawn_blocking(move || {
            let Some((mut request, version)) = decode(body, cut)? else {
                return Ok(None);
            };
            let pushed = weigh_pushes(&Limits::DEVICE, &request)?.weight();
            admission.weighs(lanes::work(pushed, 0));
            if admission.is_heavy() {
                this.metrics.heavy();
            }
            // A kind of document the role never writes is refused unparsed.
            let role = who.user.role;
            let (refused, pushes): (Vec<_>, Vec<_>) = std::mem::take(&mut request.push)
                .into_iter()
                .partition(|push| role_refuses(role, push));
            request.push = pushes;
            // The server-time rules' facts, as on SQLite (`push_access`).
            let facts = store
                .push_facts(
                    who.device.id,
                    now,
                    &config.clock,
                    &pushed_problems(&request.push),
                )
                .map_err(store_failed)?;
            let access = judged_with(access, &config, facts);
            // Re-scoping, as on SQLite (`read_phase`): a request made in a scope the device has
            // not confirmed is served from cursor 0.
            let current = fingerprint(&access.read);
            let rescoped =
                crate::store::rescope::begin(&mut store, who.device.id, &current, request.ack)
                    .map_err(store_failed)?;
            if rescoped {
                request.cursor = 0;
            }
            let ctx = SyncContext {
                declared: None,
                device: who.device.id,
                read: &access.read,
                write: &access.write,
                config: &config,
                now,
                limits: Limits::DEVICE,
                authorship: Some(&access.rules),
            };
            let mut response = match crate::pg::handle_sync(&mut store, &ctx, &request) {
                Ok(response) => response,
                Err(SyncError::Limit(limit)) => return Err(SyncApiError::Limit(limit)),
                Err(SyncError::Store(e)) => return Err(store_failed(e)),
            };
            // Each request commits alone on PostgreSQL: a group of one in `/metrics`.
            this.metrics.group_commit(1);
            response
                .results
                .extend(refused.into_iter().map(|push| protocol::DocResult {
                    doc: push.doc,
                    outcome: Outcome::Refused(protocol::Refusal::OutOfScope),
                }));
            // The freshness table's outbox count and the settling window, as on SQLite
            // (`finish_phase`), after the commit (a cut request's count never arrived).
            if !cut {
                store
                    .record_unsent(&ctx.device.to_string(), request.unsent, now)
                    .map_err(store_failed)?;
            }
            store
                .record_sync(
                    ctx.device,
                    now,
                    request.device_time,
                    settled(&request, &response),
                )
                .map_err(store_failed)?;
            if rescoped {
                // What the device holds that its new scope no longer allows: it removes them.
                crate::store::rescope::finish(
                    &mut store,
                    ctx.device,
                    &access.read,
                    &current,
                    request.ack,
                    &mut response,
                )
                .map_err(store_failed)?;
            }
            Ok(Some((response, version)))
        })
        .await
        .map_err(|_| SyncApiError::Store)??;
        if let Some((response, _)) = &result {
            self.count(response);
        }
        Ok(result)
    }

    /// The SQLite store's writer; `None` on PostgreSQL.
    fn lock_store(&self) -> Option<std::sync::MutexGuard<'_, SqliteStore>> {
        self.db.sqlite_db().map(|db| db.lock_writer())
    }

    /// Group commit: queues `job` (a request's last phase), then takes the store lock and runs
    /// every queued job in one transaction with one durable commit
    /// ([`SqliteStore::group`]), unless the holder before took this one along. Returns once
    /// the job's writes are durable (or failed).
    fn commit_in_group(&self, job: FinishJob) -> Result<Finished, StoreError> {
        if self.db.sqlite_db().is_none() {
            // PostgreSQL commits each request alone (`serve_postgres`).
            return Err(StoreError::NotYet("the group commit"));
        }
        let (done, result) = std::sync::mpsc::sync_channel(1);
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push((job, done));
        if let Some(mut store) = self.lock_store() {
            let jobs = std::mem::take(
                &mut *self
                    .pending
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
            );
            if !jobs.is_empty() {
                let (jobs, senders): (Vec<_>, Vec<_>) = jobs.into_iter().unzip();
                self.metrics.group_commit(jobs.len());
                for (r, sender) in store.group(jobs).into_iter().zip(senders) {
                    let _ = sender.send(r);
                }
            }
        }
        result
            .recv()
            .unwrap_or_else(|_| Err(StoreError::Group("the group commit stopped".into())))
    }

    /// A receiver of the push notices of every server on the database ([`Db::notices`]).
    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.db.notices().subscribe()
    }

    /// Tells the subscribed devices and browsers that changes up to `seq` wait: after a sync
    /// request's commit, and for documents the server wrote itself (the background jobs).
    pub fn announce(&self, seq: u64) {
        self.db.notices().announce(seq);
    }
}

/// What the first phase of a sync request read under the store lock: the device's scopes and
/// rules and whether it is re-scoped (the stored versions of the pushed documents travel
/// beside).
struct Scoped {
    /// The configurations the request is judged by.
    config: Judged,
    device: shared::model::DeviceId,
    access: crate::auth::scope::Access,
    /// The fingerprint of `access.read`, the scope the feed is read in.
    current: String,
    rescoped: bool,
}

/// The configuration running when a request started, and the older one its device declared.
struct Judged {
    current: Arc<Config>,
    declared: Option<Arc<Config>>,
}

impl Scoped {
    fn context(&self, now: shared::model::Timestamp) -> SyncContext<'_> {
        SyncContext {
            declared: self.config.declared.as_deref(),
            device: self.device,
            read: &self.access.read,
            write: &self.access.write,
            config: &self.config.current,
            now,
            limits: Limits::DEVICE,
            authorship: Some(&self.access.rules),
        }
    }
}

/// What `device` of `user` may read and write when it pushes `push` at `now`: its role's
/// scopes and rules, with its previous sync (for the server-time rules) and the look-back facts
/// of the pushed problems. A sync request and a handover import (`admin::handover`) are judged
/// by this one rule.
///
/// # Errors
/// The store failed.
pub fn push_access(
    store: &SqliteStore,
    config: &Config,
    user: &shared::model::User,
    device: &crate::store::Device,
    push: &[protocol::DocPush],
    now: shared::model::Timestamp,
) -> Result<crate::auth::scope::Access, StoreError> {
    let access = access_for(store, user, device, now)?;
    let facts = store.push_facts(device.id, now, &config.clock, &pushed_problems(push))?;
    Ok(judged_with(access, config, facts))
}

/// The problems among `push` (their ids): those whose look-back facts a push is judged by.
fn pushed_problems(push: &[protocol::DocPush]) -> Vec<&str> {
    push.iter()
        .filter(|p| p.doc.kind() == DocKind::Problem)
        .map(|p| p.doc.root_id())
        .collect()
}

/// `access` whose rules know what the server holds of the push (`facts`): the device's
/// previous sync bounds the times it claims, and a look-back pass is judged by the stored
/// check-ins and sign-offs. SQLite's sync and PostgreSQL's apply this one rule.
fn judged_with(
    mut access: crate::auth::scope::Access,
    config: &Config,
    facts: crate::store::PushFacts,
) -> crate::auth::scope::Access {
    access.rules = access
        .rules
        .with_previous_sync(facts.previous, &config.clock)
        .with_look_back(config.follow_up.look_back_days, facts.look_back);
    access
}

/// Phase one of a sync request, under the store lock: the device's scopes, the re-scoping rule
/// (see [`SyncService::sync`]; a re-scoped request is served from cursor 0), and the stored
/// versions of the pushed documents.
fn read_phase(
    store: &mut SqliteStore,
    config: Judged,
    who: &Authenticated,
    request: &mut protocol::SyncRequest,
    parsed: ParsedPushes,
    now: shared::model::Timestamp,
) -> Result<(Scoped, ReadPushes), SyncApiError> {
    let store_failed = |e: StoreError| {
        tracing::error!(error = %e, "sync store failure");
        SyncApiError::Store
    };
    let device = who.device.id;
    let access = push_access(
        store,
        &config.current,
        &who.user,
        &who.device,
        &request.push,
        now,
    )
    .map_err(store_failed)?;
    // A cursor of the database a restore replaced counts for nothing here either.
    let epoch = store.epoch().map_err(store_failed)?;
    shared::sync::server::in_epoch(request, epoch);
    let current = fingerprint(&access.read);
    let rescoped =
        crate::store::rescope::begin(store, device, &current, request.ack).map_err(store_failed)?;
    if rescoped {
        request.cursor = 0;
    }
    let scoped = Scoped {
        config,
        device,
        access,
        current,
        rescoped,
    };
    let read = read_pushed(store, &scoped.context(now), request, parsed);
    let read = match read {
        Ok(read) => read,
        Err(SyncError::Limit(limit)) => return Err(SyncApiError::Limit(limit)),
        Err(SyncError::Store(e)) => return Err(store_failed(e)),
    };
    Ok((scoped, read))
}

/// Decodes a sync request's body (a cut request's complete pushes when `cut`), with the
/// protocol version to answer in (a phone still on the previous app sends version 1);
/// `None` for a cut request that brought no complete push.
fn decode(body: Bytes, cut: bool) -> Result<Option<(protocol::SyncRequest, u8)>, SyncApiError> {
    let (request, version) = if cut {
        shared::sync::cut::decode_cut_request(&body)?
    } else {
        protocol::decode_request(&body)?
    };
    drop(body);
    Ok((!cut || !request.push.is_empty()).then_some((request, version)))
}

/// Whether a push is refused unparsed because `role` never writes its kind of document (a
/// push of heads alone goes on: a device offering what it holds again after a restore,
/// `protocol::EPOCH_SHIFT`, offers documents it only reads).
fn role_refuses(role: shared::model::Role, push: &protocol::DocPush) -> bool {
    !push.data.is_empty() && !crate::auth::RoleRules::writes(role, push.doc.kind())
}

/// Whether the device had nothing left to send after `request` (what it sends later was
/// made after this sync): it said its outbox is empty and every push was accepted.
fn settled(request: &protocol::SyncRequest, response: &protocol::SyncResponse) -> bool {
    request.unsent == Some(0)
        && response
            .results
            .iter()
            .all(|r| matches!(r.outcome, protocol::Outcome::Accepted { .. }))
}

/// Phase three, under the store lock: commit, feed and response, then the re-scoping state.
fn finish_phase(
    store: &mut SqliteStore,
    ctx: &SyncContext<'_>,
    scoped: &Scoped,
    request: &protocol::SyncRequest,
    prepared: Prepared,
    cut: bool,
) -> Result<protocol::SyncResponse, StoreError> {
    let mut response = finish_sync(store, ctx, request, prepared)?;
    // For the leaders' freshness table: what stays on the device besides this request's push
    // (a cut request's count never arrived: the last one stands).
    if !cut {
        store.record_unsent(&scoped.device.to_string(), request.unsent, ctx.now)?;
    }
    // And its last sync and clock skew, whether or not this request changed anything; and
    // whether it left nothing to send (what it sends later was made after this).
    store.record_sync(
        scoped.device,
        ctx.now,
        request.device_time,
        settled(request, &response),
    )?;
    if scoped.rescoped {
        crate::store::rescope::finish(
            store,
            scoped.device,
            &scoped.access.read,
            &scoped.current,
            request.ack,
            &mut response,
        )?;
    }
    Ok(response)
}

/// Routes of the sync API, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sync", post(sync_handler))
        .route("/events", get(events::events_handler))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
}

/// A sync request's body as it arrived.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// The whole body.
    Whole(Bytes),
    /// The connection failed before the body's end: what arrived before.
    Cut(Bytes),
}

/// Reads a request body to its end, at most [`MAX_REQUEST_BYTES`] (over it, or declared
/// over it, the request is refused whole, cut or not); a body whose connection fails first is
/// [`Received::Cut`] with what arrived.
///
/// # Errors
/// [`Limit::RequestBytes`] for a body over the limit.
pub async fn receive<S, E>(declared: Option<u64>, mut body: S) -> Result<Received, SyncApiError>
where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
{
    use futures_util::StreamExt as _;
    if declared.is_some_and(|n| n > MAX_REQUEST_BYTES as u64) {
        return Err(SyncApiError::Limit(Limit::RequestBytes));
    }
    // Grown as bytes arrive: a declared length costs nothing until they do.
    let mut received = Vec::new();
    while let Some(frame) = body.next().await {
        let Ok(bytes) = frame else {
            return Ok(Received::Cut(received.into()));
        };
        if received.len() + bytes.len() > MAX_REQUEST_BYTES {
            return Err(SyncApiError::Limit(Limit::RequestBytes));
        }
        received.extend_from_slice(&bytes);
    }
    Ok(Received::Whole(received.into()))
}

/// `POST /api/sync`. The body is read and the request served in a task of its own, so a
/// request whose connection is cut (the connection's task then stops) still has its complete
/// pushes kept ([`SyncService::sync_cut`]); the answer goes back if the connection lasts.
async fn sync_handler(
    State(service): State<Arc<SyncService>>,
    who: Authenticated,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Response {
    // The configuration version the device holds (an app before declarations sends none).
    let declared = headers
        .get(crate::published_config::CONFIG_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().chars().take(64).collect::<String>());
    let started = Instant::now();
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let serving = service.clone();
    let task = tokio::spawn(async move {
        let service = serving;
        match receive(length, body.into_data_stream()).await? {
            Received::Whole(body) => {
                service.metrics.bytes_in(body.len() as u64);
                service.sync(who, body, declared).await.map(Some)
            }
            Received::Cut(received) => {
                service.metrics.bytes_in(received.len() as u64);
                let bytes = received.len();
                let kept = service.sync_cut(who, received, declared).await;
                match &kept {
                    Ok(kept) => {
                        tracing::info!(
                            bytes,
                            kept,
                            "sync request cut in transit: kept its complete pushes"
                        );
                    }
                    Err(e) => {
                        tracing::info!(bytes, error = %e, "sync request cut in transit: nothing kept");
                    }
                }
                kept.map(|_| None)
            }
        }
    });
    let result = task.await.unwrap_or(Err(SyncApiError::Store));
    let response = match result {
        Ok(Some(bytes)) => {
            service.metrics.bytes_out(bytes.len() as u64);
            (
                [(header::CONTENT_TYPE, "application/x-lianxin-sync")],
                bytes,
            )
                .into_response()
        }
        // Cut: nobody is there to read an answer, as a rule.
        Ok(None) => SyncApiError::Wire(WireError::Corrupt(
            "the body ended before its length; its complete documents were kept".into(),
        ))
        .into_response(),
        Err(e) => {
            service.metrics.error();
            e.into_response()
        }
    };
    service.metrics.observe(started.elapsed());
    with_config_version(response, &service)
}

/// Announces the configuration's version on a sync answer ([`CONFIG_HEADER`]): a device that
/// holds another version fetches `GET /api/config`.
///
/// [`CONFIG_HEADER`]: crate::published_config::CONFIG_HEADER
fn with_config_version(mut response: Response, service: &SyncService) -> Response {
    if let Ok(version) = header::HeaderValue::from_str(service.published_config().version()) {
        response.headers_mut().insert(
            header::HeaderName::from_static(crate::published_config::CONFIG_HEADER),
            version,
        );
    }
    response
}

#[cfg(test)]
mod tests;
