//! A native device for tests: the shared sync engine driven over real HTTP with reqwest, as the
//! browser drives it with fetch, after logging in for a bearer token and a server-made actor. It keeps what the engine asks to persist, counts requests and
//! bytes, and can report a fixed round-trip time so chunk sizes — and so request counts and
//! bytes — are deterministic on loopback.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use shared::config::Config;
use shared::derive::initial_deadline;
use shared::doc::{
    ActorId, DocKind, EnterpriseDoc, NewProblem, NewVisit, ProblemDoc, RecordDoc, VisitDoc,
};
use shared::model::{
    Actor, CheckIn, DeviceId, Enterprise, EnterpriseId, EntryId, OperatingStatus, PositionFix,
    ProblemClass, ProblemId, ProblemSource, Rating, RatingChannel, Role, Tier, Timestamp, UserId,
    VisitId, VisitMethod,
};
use shared::sync::client::{Effect, Failure, Input, PersistBatch, Status, SyncClient};
use shared::sync::policy::RetryPolicy;
use shared::sync::protocol::DocId;
use shared::sync::replica::{LocalStore, MemoryLocalStore, Replica};
use shared::workflow::Action;

use crate::feed::{self, Applied};
use crate::rotation::Rotation;

/// The header a sync request declares the device's configuration version in, and its answer
/// announces the server's.
const CONFIG_HEADER: &str = "x-lianxin-config";

/// Runs a future that completes without waiting (the in-memory disk never waits).
fn ready<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => unreachable!("the in-memory disk never waits"),
    }
}

/// The wall clock, as the engine's input.
pub fn wall_clock() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Timestamp(ms)
}

/// Deterministic 16 bytes from a tag and a number.
pub fn id_bytes(tag: u8, n: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[0] = tag;
    b[8..].copy_from_slice(&n.to_be_bytes());
    b
}

/// Requests, bytes and rounds seen by one device.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Traffic {
    /// Sync requests sent (including failed ones).
    pub requests: usize,
    /// Request bytes sent (bodies).
    pub bytes_up: usize,
    /// Response bytes received (bodies).
    pub bytes_down: usize,
    /// Requests that failed.
    pub failures: usize,
}

/// A device: an officer's phone, natively.
pub struct NativeDevice {
    /// Who uses it.
    pub actor: Actor,
    /// Its Automerge actor.
    pub actor_id: ActorId,
    /// The engine.
    pub client: SyncClient,
    /// Traffic so far.
    pub traffic: Traffic,
    /// Every batch the engine asked to persist, in order.
    pub persisted: Vec<PersistBatch>,
    /// What the device would find on its disk after a restart.
    pub disk: MemoryLocalStore,
    /// Report this round-trip time to the engine instead of the measured one.
    pub fixed_elapsed_ms: Option<i64>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// The access token from the last login or refresh.
    pub token: Option<String>,
    /// The refresh token from the last login.
    pub refresh_token: Option<String>,
    /// The secret the device made with its id and sends at login (`None`: an app older than
    /// device secrets).
    pub device_secret: Option<String>,
    /// The district configuration the device holds ([`NativeDevice::fetch_config`]; the
    /// built-in defaults until then), what it makes new problems with.
    pub config: Config,
    /// The configuration version the device declares on each sync (`X-Lianxin-Config`);
    /// `None`: none, as an app from before declarations.
    pub config_version: Option<String>,
    /// The version the last sync answer announced.
    pub announced_config: Option<String>,
    /// Every sync response the engine was given, with the cursor and pulled heads it then
    /// held, when recording (`Some`, [`crate::feed`]); `None`: not recorded.
    pub applied: Option<Vec<Applied>>,
    /// Effects the engine returned outside [`NativeDevice::run`] (a lost connection's retry),
    /// carried out at the start of the next run.
    deferred: Vec<Effect>,
    base_url: String,
    /// Servers taken in turn, one per request ([`NativeDevice::switch_on_every_request`]);
    /// none: always `base_url`.
    rotation: Rotation,
    http: reqwest::Client,
    number: u8,
    n: u64,
}

/// What `POST /api/login` and `POST /api/refresh` answered.
#[derive(Debug, Clone)]
pub struct LoginInfo {
    /// HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: serde_json::Value,
}

impl NativeDevice {
    /// A device numbered `n` of an officer, syncing with the server at `base_url`.
    pub fn new(n: u8, base_url: &str) -> Self {
        let actor = Actor {
            user: UserId::from_random_bytes(id_bytes(1, u64::from(n))),
            device: DeviceId::from_random_bytes(id_bytes(2, u64::from(n))),
            role: Role::Officer,
        };
        let actor_id = ActorId::from(id_bytes(3, u64::from(n)));
        let client = SyncClient::new(Replica::new(actor_id.clone())).with_retry(RetryPolicy {
            base_ms: 100,
            cap_ms: 2_000,
            ..RetryPolicy::default()
        });
        NativeDevice {
            actor,
            actor_id,
            client,
            traffic: Traffic::default(),
            persisted: Vec::new(),
            deferred: Vec::new(),
            applied: None,
            rotation: Rotation::default(),
            disk: MemoryLocalStore::default(),
            fixed_elapsed_ms: Some(100),
            timeout: Duration::from_secs(20),
            token: None,
            refresh_token: None,
            device_secret: Some(format!("native test device {n} secret")),
            config: Config::default(),
            config_version: None,
            announced_config: None,
            base_url: base_url.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder().build().unwrap_or_default(),
            number: n,
            n: 0,
        }
    }

    /// A device numbered `n` that logged in as `login` with `password`.
    ///
    /// # Errors
    /// When the login is refused.
    pub async fn logged_in(
        n: u8,
        base_url: &str,
        login: &str,
        password: &str,
    ) -> anyhow::Result<Self> {
        let mut dev = NativeDevice::new(n, base_url);
        let info = dev.login(login, password).await?;
        anyhow::ensure!(
            info.status == 200,
            "login as {login} refused: {}",
            info.body
        );
        Ok(dev)
    }

    /// `POST /api/login` with this device's id and secret. On success the device takes the user, role,
    /// device id and Automerge actor the server gave it (a device with no documents yet gets a
    /// fresh replica with that actor) and keeps the tokens.
    ///
    /// # Errors
    /// When the server cannot be reached or answers something that is not JSON.
    pub async fn login(&mut self, login: &str, password: &str) -> anyhow::Result<LoginInfo> {
        let response = self
            .http
            .post(format!("{}/api/login", self.base_url))
            .json(&serde_json::json!({
                "login": login,
                "password": password,
                "device_id": self.actor.device.to_string(),
                "device_name": format!("test device {}", self.number),
                "device_secret": self.device_secret,
            }))
            .send()
            .await?;
        let info = LoginInfo {
            status: response.status().as_u16(),
            body: response.json().await?,
        };
        if info.status == 200 {
            self.adopt(&info.body)?;
        }
        Ok(info)
    }

    /// `POST /api/refresh` with the refresh token; keeps the new access token.
    ///
    /// # Errors
    /// When the server cannot be reached or answers something that is not JSON.
    pub async fn refresh(&mut self) -> anyhow::Result<LoginInfo> {
        let response = self
            .http
            .post(format!("{}/api/refresh", self.base_url))
            .json(&serde_json::json!({ "refresh_token": self.refresh_token }))
            .send()
            .await?;
        let info = LoginInfo {
            status: response.status().as_u16(),
            body: response.json().await?,
        };
        if info.status == 200 {
            self.adopt(&info.body)?;
        }
        Ok(info)
    }

    fn adopt(&mut self, body: &serde_json::Value) -> anyhow::Result<()> {
        let text = |v: &serde_json::Value| -> anyhow::Result<String> {
            Ok(v.as_str().context("a string in the session")?.to_string())
        };
        self.token = Some(text(&body["token"])?);
        self.refresh_token = Some(text(&body["refresh_token"])?);
        self.actor = Actor {
            user: UserId::parse(&text(&body["user"]["id"])?)?,
            device: DeviceId::parse(&text(&body["device"]["id"])?)?,
            role: Role::from_code(&text(&body["user"]["role"])?)?,
        };
        let hex = text(&body["device"]["actor_id"])?;
        let actor_id = ActorId::from(
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()?,
        );
        if actor_id != self.actor_id && self.client.replica().is_empty() {
            self.client = SyncClient::new(Replica::new(actor_id.clone())).with_retry(RetryPolicy {
                base_ms: 100,
                cap_ms: 2_000,
                ..RetryPolicy::default()
            });
        }
        self.actor_id = actor_id;
        Ok(())
    }

    /// Records a new visit offline, checked in at a fixed time long before any test runs (so
    /// the server counts it at the device's registration); returns its document id.
    pub fn record_visit(&mut self, enterprise: EnterpriseId, notes: &str) -> anyhow::Result<DocId> {
        self.record_visit_at(enterprise, notes, Timestamp(1_793_491_200_000))
    }

    /// Records a new visit offline, checked in and made at `at`; returns its document id.
    pub fn record_visit_at(
        &mut self,
        enterprise: EnterpriseId,
        notes: &str,
        at: Timestamp,
    ) -> anyhow::Result<DocId> {
        self.n += 1;
        let id = VisitId::from_random_bytes(id_bytes(40u8.wrapping_add(self.number), self.n));
        let visit = NewVisit {
            id,
            enterprise,
            method: VisitMethod::OnSite,
            check_in: Some(CheckIn {
                device_time: at,
                position: PositionFix::PermissionRefused,
                photo_hash: None,
            }),
            operating_status: OperatingStatus::Normal,
            notes: notes.to_string(),
        };
        let doc = VisitDoc::create(&visit, &self.actor, self.actor_id.clone(), at)?;
        let doc_id = DocId::new(DocKind::Visit, &id.to_string());
        self.client
            .replica_mut()
            .insert_new(doc_id.clone(), doc.into_record());
        Ok(doc_id)
    }

    /// Rewrites a visit's notes offline.
    pub fn edit_visit_notes(&mut self, id: &DocId, notes: &str) -> anyhow::Result<()> {
        self.edit_offline(id, |doc, actor| {
            let mut visit = VisitDoc::from_record(doc)?;
            visit.edit(actor, wall_clock(), |e| e.set_notes(notes))?;
            Ok(visit.into_record())
        })
    }

    /// Rewrites a problem's description offline, as its own change by this device.
    pub fn edit_problem_description(&mut self, id: &DocId, text: &str) -> anyhow::Result<()> {
        self.edit_offline(id, |doc, actor| {
            let mut problem = ProblemDoc::from_record(doc)?;
            problem.edit(&Config::default(), actor, wall_clock(), |p| {
                p.set_description(text)
            })?;
            Ok(problem.into_record())
        })
    }

    /// Fetches the district configuration (`GET /api/config`) as the app does after a sync
    /// announces another version: the device holds it and declares its version from then on.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses.
    pub async fn fetch_config(&mut self) -> anyhow::Result<()> {
        let mut request = self.http.get(format!("{}/api/config", self.base_url));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        anyhow::ensure!(
            response.status().is_success(),
            "GET /api/config: {}",
            response.status()
        );
        let version = response
            .headers()
            .get(CONFIG_HEADER)
            .and_then(|v| v.to_str().ok())
            .context("no configuration version")?
            .to_string();
        self.config = serde_json::from_str(&response.text().await?)?;
        self.config_version = Some(version);
        Ok(())
    }

    /// Raises a problem of `category` at `enterprise` for `owner` offline, judged and dated
    /// by the configuration the device holds (numbered `n` among this device's problems);
    /// returns its id.
    ///
    /// # Errors
    /// When the device's configuration does not allow it.
    pub fn raise_problem(
        &mut self,
        n: u64,
        enterprise: EnterpriseId,
        owner: UserId,
        category: &str,
    ) -> anyhow::Result<DocId> {
        let now = wall_clock();
        let id = ProblemId::from_random_bytes(id_bytes(73u8.wrapping_add(self.number), n));
        let new = NewProblem {
            id,
            enterprise,
            visit: None,
            source: ProblemSource::Visit,
            category: category.into(),
            class: ProblemClass::C,
            tier: Tier::Department,
            owner,
            leader: None,
            deadline: initial_deadline(&self.config, Tier::Department, now),
            description: "用电报装进度慢".into(),
            expectation: "尽快接电".into(),
        };
        let doc = ProblemDoc::create(&new, &self.config, &self.actor, self.actor_id.clone(), now)?;
        let doc_id = DocId::new(DocKind::Problem, &id.to_string());
        self.add_record(doc_id.clone(), doc.into_record())?;
        Ok(doc_id)
    }

    /// Raises a problem at `enterprise` for `owner` and resolves it on the spot with a
    /// response, offline (numbered `n` among this device's problems); returns its id.
    pub fn resolved_on_site(
        &mut self,
        n: u64,
        enterprise: EnterpriseId,
        owner: UserId,
    ) -> anyhow::Result<DocId> {
        let config = Config::default();
        let now = wall_clock();
        let id = ProblemId::from_random_bytes(id_bytes(70u8.wrapping_add(self.number), n));
        let new = NewProblem {
            id,
            enterprise,
            visit: None,
            source: ProblemSource::Visit,
            category: "power".into(),
            class: ProblemClass::B,
            tier: Tier::OnSite,
            owner,
            leader: None,
            deadline: initial_deadline(&config, Tier::OnSite, now),
            description: "车间照明线路老化".into(),
            expectation: "尽快更换".into(),
        };
        let mut doc = ProblemDoc::create(&new, &config, &self.actor, self.actor_id.clone(), now)?;
        doc.edit(&config, &self.actor, now, |p| {
            p.set_response("已现场联系电工更换线路")
        })?;
        let event = EntryId::from_random_bytes(id_bytes(71u8.wrapping_add(self.number), n));
        doc.act(&self.actor, now, event, Action::ResolveOnSite, "")?;
        let doc_id = DocId::new(DocKind::Problem, &id.to_string());
        self.client
            .replica_mut()
            .insert_new(doc_id.clone(), doc.into_record());
        Ok(doc_id)
    }

    /// Records the enterprise's `rating` of a problem offline, as its visiting officer
    /// (`ProblemDoc::rate` with the default configuration); whether it reopened the problem.
    pub fn rate(&mut self, id: &DocId, rating: Rating, comment: &str) -> anyhow::Result<bool> {
        self.n += 1;
        let event = EntryId::from_random_bytes(id_bytes(72u8.wrapping_add(self.number), self.n));
        let mut reopened = false;
        self.edit_problem(id, |doc, actor| {
            reopened = doc.rate(
                &Config::default(),
                actor,
                wall_clock(),
                event,
                rating,
                comment,
                RatingChannel::Officer,
            )?;
            Ok(())
        })?;
        Ok(reopened)
    }

    /// Edits a problem offline with `edit` (given the document and this device's actor), as
    /// this device's own change waiting to upload.
    pub fn edit_problem(
        &mut self,
        id: &DocId,
        edit: impl FnOnce(&mut ProblemDoc, &Actor) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        self.edit_offline(id, |doc, actor| {
            let mut problem = ProblemDoc::from_record(doc)?;
            edit(&mut problem, actor)?;
            Ok(problem.into_record())
        })
    }

    /// A problem as the device has it.
    pub fn problem(&self, id: &DocId) -> anyhow::Result<shared::model::Problem> {
        let doc = self
            .client
            .replica()
            .read(id)
            .context("no such document on the device")??;
        Ok(ProblemDoc::from_record(doc.into_owned())?.read()?)
    }

    /// Every problem on the device, as it has them (what its home screen's to-do reads).
    ///
    /// # Errors
    /// When a problem document does not read.
    pub fn problems(&self) -> anyhow::Result<Vec<shared::model::Problem>> {
        let replica = self.client.replica();
        let mut out = Vec::new();
        for id in replica.ids().filter(|id| id.kind() == DocKind::Problem) {
            let doc = replica.read(id).context("listed but not held")??;
            out.push(ProblemDoc::from_record(doc.into_owned())?.read()?);
        }
        Ok(out)
    }

    /// Saves a document made on this device (a new record) as waiting to upload.
    pub fn add_record(&mut self, id: DocId, doc: RecordDoc) -> anyhow::Result<()> {
        let batch = self.client.save_local(vec![(id, doc)])?;
        ready(self.disk.persist(&batch))?;
        Ok(())
    }

    /// The person discards the device's edits to a record the server refused ("discard my
    /// changes"); the engine's batch is stored on the device's disk like a local save's.
    pub fn discard(&mut self, id: &DocId) -> anyhow::Result<()> {
        let batch = self.client.discard(id)?;
        ready(self.disk.persist(&batch))?;
        Ok(())
    }

    /// Replaces a document on the device with `edit`'s result (given a copy of it and this
    /// device's actor) and saves it as a local change waiting to upload.
    pub fn edit_offline(
        &mut self,
        id: &DocId,
        edit: impl FnOnce(RecordDoc, &Actor) -> anyhow::Result<RecordDoc>,
    ) -> anyhow::Result<()> {
        let actor = self.actor;
        let copy = self
            .client
            .replica()
            .read(id)
            .context("no such document on the device")??
            .into_owned();
        let edited = edit(copy, &actor)?;
        let batch = self.client.save_local(vec![(id.clone(), edited)])?;
        ready(self.disk.persist(&batch))?;
        Ok(())
    }

    /// An enterprise's profile as the device has it, if it holds one.
    pub fn profile(&self, enterprise: EnterpriseId) -> anyhow::Result<Option<Enterprise>> {
        let id = DocId::new(DocKind::Enterprise, &enterprise.to_string());
        match self.client.replica().read(&id) {
            None => Ok(None),
            Some(doc) => Ok(Some(EnterpriseDoc::from_record(doc?.into_owned())?.read()?)),
        }
    }

    /// The notes of every visit the device holds for `enterprise`, sorted: what its enterprise
    /// page lists.
    pub fn visits_of(&self, enterprise: EnterpriseId) -> anyhow::Result<Vec<String>> {
        let replica = self.client.replica();
        let mut out = Vec::new();
        for id in replica.ids().filter(|id| id.kind() == DocKind::Visit) {
            let doc = replica.read(id).context("listed but not held")??;
            let visit = VisitDoc::from_record(doc.into_owned())?.read()?;
            if visit.enterprise == enterprise {
                out.push(visit.notes);
            }
        }
        out.sort();
        Ok(out)
    }

    /// A visit's notes as the device has them.
    pub fn visit_notes(&self, id: &DocId) -> anyhow::Result<String> {
        let doc = self
            .client
            .replica()
            .read(id)
            .context("no such document on the device")??;
        Ok(VisitDoc::from_record(doc.into_owned())?.read()?.notes)
    }

    /// What the person would see.
    pub fn status(&mut self) -> Status {
        self.client.status()
    }

    async fn post(&mut self, body: Vec<u8>) -> Result<(Vec<u8>, i64), Failure> {
        let node = self.rotation.pick();
        let posted = self
            .post_to(node.as_ref().map(|(_, url)| url.clone()), body)
            .await;
        if let (Some((index, _)), Err(Failure::Network)) = (&node, &posted) {
            self.rotation.failed(*index);
        }
        posted
    }

    /// Posts `body` to `/api/sync` of `base` (`None`: the device's base URL).
    async fn post_to(
        &mut self,
        base: Option<String>,
        body: Vec<u8>,
    ) -> Result<(Vec<u8>, i64), Failure> {
        let started = Instant::now();
        let base = base.unwrap_or_else(|| self.base_url.clone());
        let mut request = self.http.post(format!("{base}/api/sync"));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(version) = &self.config_version {
            request = request.header(CONFIG_HEADER, version);
        }
        let response = request
            .header("content-type", "application/x-lianxin-sync")
            .timeout(self.timeout)
            .body(body)
            .send()
            .await
            .map_err(|_| Failure::Network)?;
        let status = response.status();
        self.announced_config = response
            .headers()
            .get(CONFIG_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = response.bytes().await.map_err(|_| Failure::Network)?;
        if !status.is_success() {
            return Err(Failure::Http {
                status: status.as_u16(),
                message: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        Ok((bytes.to_vec(), started.elapsed().as_millis() as i64))
    }

    /// Feeds `input`, then carries out effects until the engine settles (or stops with an
    /// error), for at most `budget` of wall time.
    pub async fn run(&mut self, input: Input, budget: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + budget;
        let mut queue = vec![input];
        let mut random: u32 = 0x9e37_79b9;
        // When the last response arrived (µs since the epoch), for the record of responses.
        let mut arrived_us = 0;
        // What the engine asked for outside a run goes first (e.g. the retry of a round whose
        // connection was lost), then the input.
        let mut effects = std::mem::take(&mut self.deferred);
        while Instant::now() < deadline {
            if effects.is_empty() {
                let Some(input) = queue.pop() else {
                    return Ok(());
                };
                random = random.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let pulled = match (&self.applied, &input) {
                    (Some(_), Input::Response { body, .. }) => Some(feed::pulled_by(body)),
                    _ => None,
                };
                effects = self.client.handle(input, wall_clock(), random);
                if let (Some(applied), Some(pulled)) = (&mut self.applied, pulled) {
                    applied.push(Applied::after(&mut self.client, arrived_us, pulled));
                }
            }
            for effect in std::mem::take(&mut effects) {
                match effect {
                    Effect::Send { body, .. } => {
                        self.traffic.requests += 1;
                        self.traffic.bytes_up += body.len();
                        match self.post(body).await {
                            Ok((resp, elapsed)) => {
                                arrived_us = feed::now_us();
                                self.traffic.bytes_down += resp.len();
                                let elapsed_ms = self.fixed_elapsed_ms.unwrap_or(elapsed);
                                queue.push(Input::Response {
                                    body: resp,
                                    elapsed_ms,
                                });
                            }
                            Err(f) => {
                                self.traffic.failures += 1;
                                queue.push(Input::Failed(f));
                            }
                        }
                    }
                    Effect::Persist(batch) => {
                        ready(self.disk.persist(&batch))?;
                        self.persisted.push(batch);
                        queue.push(Input::Persisted);
                    }
                    Effect::WakeAt(t) => {
                        if self.client.is_settled() {
                            return Ok(());
                        }
                        let wait = (t.0 - wall_clock().0).max(0) as u64;
                        tokio::time::sleep(Duration::from_millis(wait)).await;
                        queue.push(Input::Tick);
                    }
                }
            }
            if let Some(error) = self.client.status().error {
                anyhow::bail!("sync stopped: {error}");
            }
        }
        anyhow::bail!("sync did not settle within {budget:?}")
    }

    /// Restarts the app: a new engine over what the device's disk holds.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        let replica = ready(self.disk.load(self.actor_id.clone()))?;
        self.client = SyncClient::new(replica).with_retry(RetryPolicy {
            base_ms: 100,
            cap_ms: 2_000,
            ..RetryPolicy::default()
        });
        Ok(())
    }

    /// Tells the engine the request in flight was lost (its future was dropped); what it asks
    /// for then (a retry at once, or a wake-up) is carried out by the next run.
    pub fn connection_lost(&mut self) {
        let effects = self
            .client
            .handle(Input::Failed(Failure::Network), wall_clock(), 7);
        self.deferred.extend(effects);
    }

    /// Points the device at another server address.
    pub fn set_base_url(&mut self, base_url: &str) {
        self.base_url = base_url.trim_end_matches('/').to_string();
    }

    /// Sends each sync request to the next of `base_urls` in turn, as a load balancer that
    /// switches node on every request does, passing over for a moment a node whose request
    /// just failed on the network ([`Rotation`]).
    pub fn switch_on_every_request(&mut self, base_urls: &[String]) {
        self.rotation = Rotation::new(base_urls);
    }

    /// Sends each sync request to the next of `base_urls` strictly in turn, as a load
    /// balancer without health checks does ([`Rotation::strict`]).
    pub fn alternate_strictly(&mut self, base_urls: &[String]) {
        self.rotation = Rotation::strict(base_urls);
    }

    /// One "sync now" until settled.
    pub async fn sync(&mut self) -> anyhow::Result<()> {
        self.run(Input::SyncNow, Duration::from_secs(120)).await
    }
}
