//! The sync protocol by hand, for tests that craft what a well-behaved device never sends
//! (forged actors, other users' names, documents outside scope): log in, push chosen changes,
//! read the whole scope, and make signed edits of stored documents.

use anyhow::Context as _;
use server::store::SqliteStore;
use shared::config::Config;
use shared::doc::{ActorId, DocKind, RecordDoc};
use shared::model::{Actor, DeviceId, Role, Timestamp, UserId};
use shared::sync::protocol::{self, DocId, DocPush, Outcome, SyncRequest, SyncResponse};
use shared::sync::server::{ServerStore, SyncContext, handle_sync};
use shared::sync::validate::Scope;

/// A logged-in session speaking the protocol by hand.
#[derive(Debug, Clone)]
pub struct RawSession {
    /// Base URL of the server.
    pub base: String,
    /// The access token.
    pub token: String,
    /// The refresh token.
    pub refresh_token: String,
    /// Who, on which device, in which role.
    pub actor: Actor,
    /// The device's Automerge actor.
    pub actor_id: ActorId,
    /// The configuration version the device declares on each sync (`X-Lianxin-Config`);
    /// `None`: none, as an app from before declarations.
    pub config_version: Option<String>,
    http: reqwest::Client,
}

/// A sync request's answer: its status and, on success, the decoded response or else the
/// JSON error.
#[derive(Debug)]
pub enum Answer {
    /// 200 with a response.
    Ok(SyncResponse),
    /// Another status with its JSON body.
    Err(u16, serde_json::Value),
}

impl Answer {
    /// The response, or a test failure naming the status.
    pub fn response(self) -> anyhow::Result<SyncResponse> {
        match self {
            Answer::Ok(r) => Ok(r),
            Answer::Err(status, body) => anyhow::bail!("sync answered {status}: {body}"),
        }
    }

    /// The error code of a refused request.
    pub fn error_code(&self) -> Option<(u16, String)> {
        match self {
            Answer::Ok(_) => None,
            Answer::Err(status, body) => Some((*status, body["error"].as_str()?.to_string())),
        }
    }
}

fn hex_actor(hex: &str) -> anyhow::Result<ActorId> {
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2).context("odd hex")?, 16).context("hex"))
        .collect::<anyhow::Result<Vec<u8>>>()?;
    Ok(ActorId::from(bytes))
}

/// `POST /api/login`: the status and the JSON body.
///
/// # Errors
/// When the server cannot be reached.
pub async fn login_raw(
    base: &str,
    login: &str,
    password: &str,
    device: DeviceId,
) -> anyhow::Result<(u16, serde_json::Value)> {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/login"))
        .json(&serde_json::json!({
            "login": login,
            "password": password,
            "device_id": device.to_string(),
            "device_name": "raw test device",
        }))
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or_default()))
}

/// Logs in as a demo user (password [`server::demo::DEMO_PASSWORD`]) on device `[n; 16]`;
/// returns the access token.
///
/// # Errors
/// When the login is refused.
pub async fn demo_token(base: &str, login: &str, n: u8) -> anyhow::Result<String> {
    let (status, body) = login_raw(
        base,
        login,
        server::demo::DEMO_PASSWORD,
        DeviceId::from_random_bytes([n; 16]),
    )
    .await?;
    anyhow::ensure!(status == 200, "login {login}: {status} {body}");
    Ok(body["token"].as_str().unwrap_or_default().to_string())
}

impl RawSession {
    /// Logs in as `login` on `device`.
    ///
    /// # Errors
    /// When the login is refused.
    pub async fn login(
        base: &str,
        login: &str,
        password: &str,
        device: DeviceId,
    ) -> anyhow::Result<RawSession> {
        let (status, body) = login_raw(base, login, password, device).await?;
        anyhow::ensure!(status == 200, "login as {login} refused: {status} {body}");
        let s = |v: &serde_json::Value| -> anyhow::Result<String> {
            Ok(v.as_str().context("a string")?.to_string())
        };
        Ok(RawSession {
            base: base.to_string(),
            token: s(&body["token"])?,
            refresh_token: s(&body["refresh_token"])?,
            actor: Actor {
                user: UserId::parse(&s(&body["user"]["id"])?)?,
                device: DeviceId::parse(&s(&body["device"]["id"])?)?,
                role: Role::from_code(&s(&body["user"]["role"])?)?,
            },
            actor_id: hex_actor(&s(&body["device"]["actor_id"])?)?,
            config_version: None,
            http: reqwest::Client::new(),
        })
    }

    /// Sends one sync request.
    ///
    /// # Errors
    /// When the server cannot be reached or answers garbage.
    pub async fn sync(&self, request: &SyncRequest) -> anyhow::Result<Answer> {
        self.sync_body(protocol::encode(request)).await
    }

    /// Sends a sync request body as it stands (a crafted one).
    ///
    /// # Errors
    /// When the server cannot be reached or answers garbage.
    pub async fn sync_body(&self, body: Vec<u8>) -> anyhow::Result<Answer> {
        let mut request = self
            .http
            .post(format!("{}/api/sync", self.base))
            .bearer_auth(&self.token);
        if let Some(version) = &self.config_version {
            request = request.header("x-lianxin-config", version);
        }
        let response = request.body(body).send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        if status == 200 {
            Ok(Answer::Ok(protocol::decode(&bytes)?))
        } else {
            Ok(Answer::Err(
                status,
                serde_json::from_slice(&bytes).unwrap_or_default(),
            ))
        }
    }

    /// Pushes documents; returns each one's outcome.
    ///
    /// # Errors
    /// When the request fails.
    pub async fn push(&self, push: Vec<DocPush>) -> anyhow::Result<Vec<(DocId, Outcome)>> {
        Ok(self.push_timed(push, false).await?.0)
    }

    /// Pushes documents, reporting nothing else unsent when `settled` (so the server counts
    /// the request as a settled sync if it accepts every push) and not reporting otherwise;
    /// returns each one's outcome and the server's clock when it received the request
    /// (`SyncResponse::server_time`).
    ///
    /// # Errors
    /// When the request fails.
    pub async fn push_timed(
        &self,
        push: Vec<DocPush>,
        settled: bool,
    ) -> anyhow::Result<(Vec<(DocId, Outcome)>, Timestamp)> {
        let response = self
            .sync(&SyncRequest {
                cursor: 0,
                ack: 0,
                device_time: Timestamp(0),
                push,
                max_response_bytes: 4096,
                unsent: settled.then_some(0),
            })
            .await?
            .response()?;
        let outcomes = response
            .results
            .into_iter()
            .map(|r| (r.doc, r.outcome))
            .collect();
        Ok((outcomes, response.server_time))
    }

    /// Every document the device receives from scratch (cursor 0, nothing acknowledged), sorted.
    ///
    /// # Errors
    /// When the request fails.
    pub async fn read_all(&self) -> anyhow::Result<Vec<DocId>> {
        let response = self
            .sync(&SyncRequest {
                cursor: 0,
                ack: 0,
                device_time: Timestamp(0),
                push: Vec::new(),
                max_response_bytes: 64 * 1024 * 1024,
                unsent: None,
            })
            .await?
            .response()?;
        anyhow::ensure!(!response.more, "the whole scope fits one response");
        let mut docs: Vec<DocId> = response.pulls.into_iter().map(|p| p.doc).collect();
        docs.sort();
        Ok(docs)
    }
}

/// A push of a whole new document.
pub fn push_new(id: DocId, doc: &mut RecordDoc) -> DocPush {
    DocPush {
        doc: id,
        base: Vec::new(),
        heads: protocol::to_wire(&doc.heads()),
        data: doc.save(),
    }
}

/// The stored copy of `doc`, loaded to be edited with `actor_id`, with its stored heads.
///
/// # Errors
/// When it is not stored or does not load.
pub fn stored(
    store: &mut SqliteStore,
    doc: &DocId,
    actor_id: ActorId,
) -> anyhow::Result<(RecordDoc, Vec<automerge::ChangeHash>)> {
    let s = store.load_doc(doc)?.context("the document is stored")?;
    Ok((RecordDoc::load(&s.bytes, actor_id)?, s.heads))
}

/// A push of what `doc` has beyond `base`.
pub fn push_edit(id: DocId, doc: &mut RecordDoc, base: &[automerge::ChangeHash]) -> DocPush {
    let data = doc.automerge().save_after(base);
    DocPush {
        doc: id,
        base: protocol::to_wire(base),
        heads: protocol::to_wire(&doc.heads()),
        data,
    }
}

/// Stores documents as the server itself would (no scope, no authorship check): the fixture
/// path for records that already exist in a district.
///
/// # Errors
/// When one is refused or the store fails.
pub fn commit_as_server(
    store: &mut SqliteStore,
    docs: Vec<(DocId, RecordDoc)>,
    now: Timestamp,
) -> anyhow::Result<()> {
    let push: Vec<DocPush> = docs
        .into_iter()
        .map(|(id, mut doc)| push_new(id, &mut doc))
        .collect();
    let config = Config::default();
    let ctx = SyncContext {
        declared: None,
        device: DeviceId::from_random_bytes([0x5e; 16]),
        read: &Scope::none(),
        write: &Scope::All,
        config: &config,
        now,
        limits: shared::sync::limits::Limits::SERVER,
        authorship: None,
    };
    let response = handle_sync(
        store,
        &ctx,
        &SyncRequest {
            cursor: 0,
            ack: 0,
            device_time: now,
            push,
            max_response_bytes: 0,
            unsent: None,
        },
    )?;
    for r in response.results {
        anyhow::ensure!(
            matches!(r.outcome, Outcome::Accepted { .. }),
            "{} refused: {:?}",
            r.doc,
            r.outcome
        );
    }
    Ok(())
}

/// The document id of a record of `kind` with root id `id`.
pub fn doc_id(kind: DocKind, id: impl ToString) -> DocId {
    DocId::new(kind, &id.to_string())
}
