//! Every call the client makes to the server: login and token refresh (JSON), the sync
//! round (binary, with the configuration version it announces) and the district
//! configuration (binary, `GET /api/config`). Requests carry `Authorization: Bearer <token>` when the device has a
//! session and `X-Lianxin-Device: <uuid>` always, so the same client works with servers that
//! authenticate by token and with those that still identify devices by header.

use js_sys::{JSON, Object, Reflect, Uint8Array};
use shared::model::{DeviceId, OrgUnitId, Role, UserId};
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, RequestCache, RequestInit, Response};

/// How long a JSON call may take before the server counts as unreachable.
const JSON_TIMEOUT_MS: u32 = 15_000;
/// How long a sync round may take (a slow link moving a chunk).
const SYNC_TIMEOUT_MS: u32 = 45_000;

/// The person behind a session, as the server describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    /// Identity.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Their org unit (a town for officers).
    pub org_unit: OrgUnitId,
}

/// The device as registered by the server at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDevice {
    /// The device id.
    pub id: DeviceId,
    /// The Automerge actor id (hex) local edits are made with.
    pub actor_id: String,
}

/// What login and refresh return, and what the device keeps to stay logged in offline.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// Bearer token for every call.
    pub token: String,
    /// Token that buys a new `token` when it expires.
    pub refresh_token: String,
    /// When `token` expires (ms since the epoch).
    pub expires_at: i64,
    /// Who is logged in.
    pub user: SessionUser,
    /// This device.
    pub device: SessionDevice,
    /// The login name typed (kept for re-login after expiry).
    pub login: String,
}

/// The field `key` of a parsed JSON object (`undefined` when absent).
pub fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// The string field `key` of a parsed JSON object.
pub fn get_str(obj: &JsValue, key: &str) -> Option<String> {
    get(obj, key).as_string()
}

/// A JavaScript object with these fields, for JSON bodies.
pub fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let obj = Object::new();
    for (key, value) in fields {
        let _ = Reflect::set(&obj, &JsValue::from_str(key), value);
    }
    obj.into()
}

/// A JavaScript string.
pub fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

/// JSON text of a JavaScript value (the browser's own JSON, which keeps serde_json out of the
/// download).
fn stringify(value: &JsValue) -> String {
    JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

impl Session {
    /// Parses the JSON the server (or the device's storage) holds.
    pub fn from_json(json: &str) -> Option<Session> {
        let v = JSON::parse(json).ok()?;
        let user = get(&v, "user");
        let device = get(&v, "device");
        Some(Session {
            token: get_str(&v, "token")?,
            refresh_token: get_str(&v, "refresh_token")?,
            expires_at: get(&v, "expires_at").as_f64()? as i64,
            user: SessionUser {
                id: UserId::parse(&get_str(&user, "id")?).ok()?,
                name: get_str(&user, "name")?,
                role: Role::from_code(&get_str(&user, "role")?).ok()?,
                org_unit: OrgUnitId::parse(&get_str(&user, "org_unit")?).ok()?,
            },
            device: SessionDevice {
                id: DeviceId::parse(&get_str(&device, "id")?).ok()?,
                actor_id: get_str(&device, "actor_id")?,
            },
            login: get_str(&v, "login").unwrap_or_default(),
        })
    }

    /// The JSON kept in the device's storage.
    pub fn to_json(&self) -> String {
        stringify(&object(&[
            ("token", text(&self.token)),
            ("refresh_token", text(&self.refresh_token)),
            ("expires_at", JsValue::from_f64(self.expires_at as f64)),
            (
                "user",
                object(&[
                    ("id", text(&self.user.id.to_string())),
                    ("name", text(&self.user.name)),
                    ("role", text(self.user.role.code())),
                    ("org_unit", text(&self.user.org_unit.to_string())),
                ]),
            ),
            (
                "device",
                object(&[
                    ("id", text(&self.device.id.to_string())),
                    ("actor_id", text(&self.device.actor_id)),
                ]),
            ),
            ("login", text(&self.login)),
        ]))
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("device", &self.device)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// No answer: offline, server down, or timed out.
    Unreachable,
    /// Wrong login name or password.
    BadCredentials,
    /// Too many attempts: wait and try again.
    RateLimited,
    /// The token expired: refresh it.
    TokenExpired,
    /// The device was revoked by an administrator.
    DeviceRevoked,
    /// The server has no such endpoint (an older server).
    NotFound,
    /// Any other error status, with the server's message.
    Status(u16, String),
    /// The answer was not what this client understands.
    BadBody,
}

impl ApiError {
    /// The variant's name, as `{:?}` writes a unit variant (without linking the derived
    /// `Debug` into the app: ≈ 0.4 KB of code). For messages that name an unexpected error.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Unreachable => "Unreachable",
            Self::BadCredentials => "BadCredentials",
            Self::RateLimited => "RateLimited",
            Self::TokenExpired => "TokenExpired",
            Self::DeviceRevoked => "DeviceRevoked",
            Self::NotFound => "NotFound",
            Self::Status(..) => "Status",
            Self::BadBody => "BadBody",
        }
    }
}

/// Logs in and registers this device (`secret`: the device secret kept beside its id).
pub async fn login(
    login: &str,
    password: &str,
    device: DeviceId,
    secret: &str,
    device_name: &str,
) -> Result<Session, ApiError> {
    let body = stringify(&object(&[
        ("login", text(login.trim())),
        ("password", text(password)),
        ("device_id", text(&device.to_string())),
        ("device_name", text(device_name)),
        ("device_secret", text(secret)),
    ]));
    let (status, bytes) = post(
        "/api/login",
        "application/json",
        body.as_bytes(),
        None,
        device,
        JSON_TIMEOUT_MS,
    )
    .await?;
    let mut session = session_from(status, &bytes)?;
    session.login = login.trim().to_string();
    Ok(session)
}

/// Buys a new token with the refresh token.
pub async fn refresh(session: &Session) -> Result<Session, ApiError> {
    let body = stringify(&object(&[("refresh_token", text(&session.refresh_token))]));
    let (status, bytes) = post(
        "/api/refresh",
        "application/json",
        body.as_bytes(),
        None,
        session.device.id,
        JSON_TIMEOUT_MS,
    )
    .await?;
    let mut fresh = session_from(status, &bytes)?;
    fresh.login.clone_from(&session.login);
    Ok(fresh)
}

fn session_from(status: u16, bytes: &[u8]) -> Result<Session, ApiError> {
    if (200..300).contains(&status) {
        Session::from_json(&String::from_utf8_lossy(bytes)).ok_or(ApiError::BadBody)
    } else {
        Err(error_from(status, bytes))
    }
}

/// Interprets an error status and the server's JSON error body.
fn error_from(status: u16, bytes: &[u8]) -> ApiError {
    let body = JSON::parse(&String::from_utf8_lossy(bytes)).ok();
    let field = |key: &str| {
        body.as_ref()
            .and_then(|b| get_str(b, key))
            .unwrap_or_default()
    };
    let (code, message) = (field("error"), field("message"));
    match (status, code.as_str()) {
        (401 | 403, "device_revoked") => ApiError::DeviceRevoked,
        (401, "token_expired") => ApiError::TokenExpired,
        (401, "bad_credentials") => ApiError::BadCredentials,
        (429, _) => ApiError::RateLimited,
        (404 | 405, _) => ApiError::NotFound,
        _ if !message.is_empty() => ApiError::Status(status, message),
        _ if !code.is_empty() => ApiError::Status(status, code),
        _ => ApiError::Status(
            status,
            String::from_utf8_lossy(bytes).chars().take(300).collect(),
        ),
    }
}

/// `POST /api/logout`: the server revokes every token of the session's device. A token that
/// expired meanwhile is refreshed first.
pub async fn logout(session: &Session) -> Result<(), ApiError> {
    let send = |token: String| async move {
        let (status, bytes) = post(
            "/api/logout",
            "application/json",
            b"",
            Some(&token),
            session.device.id,
            JSON_TIMEOUT_MS,
        )
        .await?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(error_from(status, &bytes))
        }
    };
    match send(session.token.clone()).await {
        Err(ApiError::TokenExpired) => send(refresh(session).await?.token).await,
        other => other,
    }
}

/// One sync round: posts an encoded request declaring the configuration version the device
/// holds (`config`, in `X-Lianxin-Config`), returns the encoded response and the district
/// configuration's version the server announces (the same header).
pub async fn sync(
    session: Option<&Session>,
    device: DeviceId,
    body: &[u8],
    config: Option<&str>,
) -> Result<(Vec<u8>, Option<String>), ApiError> {
    let token = session.map(|s| s.token.as_str());
    // The configuration version the device holds: the server also accepts what it allowed.
    let declared = config.map(|v| (CONFIG_HEADER, v));
    let headers: Vec<_> = [("content-type", "application/x-lianxin-sync")]
        .into_iter()
        .chain(declared)
        .collect();
    let (status, bytes, announced) = exchange(
        "POST",
        "/api/sync",
        &headers,
        Some(body),
        token,
        device,
        SYNC_TIMEOUT_MS,
    )
    .await?;
    if (200..300).contains(&status) {
        Ok((bytes, announced))
    } else {
        Err(error_from(status, &bytes))
    }
}

/// The header that names the district configuration's version.
const CONFIG_HEADER: &str = "x-lianxin-config";

/// What `GET /api/config` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigAnswer {
    /// The version the device holds is the server's (304).
    Unchanged,
    /// Another configuration: its version and its binary form (`shared::config::wire`).
    New {
        /// The version (`X-Lianxin-Config`).
        version: String,
        /// The binary form, not yet read.
        bytes: Vec<u8>,
    },
}

/// `GET /api/config` in the binary form, naming the version held (`If-None-Match`).
pub async fn config(session: &Session, held: Option<&str>) -> Result<ConfigAnswer, ApiError> {
    let etag = held.map(|v| format!("\"{v}\""));
    let mut headers = vec![("accept", shared::config::wire::MEDIA_TYPE)];
    if let Some(etag) = &etag {
        headers.push(("if-none-match", etag.as_str()));
    }
    let (status, bytes, version) = exchange(
        "GET",
        "/api/config",
        &headers,
        None,
        Some(&session.token),
        session.device.id,
        JSON_TIMEOUT_MS,
    )
    .await?;
    match (status, version) {
        (304, _) => Ok(ConfigAnswer::Unchanged),
        (200, Some(version)) => Ok(ConfigAnswer::New { version, bytes }),
        (200, None) => Err(ApiError::BadBody),
        _ => Err(error_from(status, &bytes)),
    }
}

/// `GET path` of a JSON read API (dashboards, lists, timelines) with the session's token;
/// the parsed JSON answer, or the server's error.
pub async fn get_json(session: &Session, path: &str) -> Result<JsValue, ApiError> {
    let (status, bytes) = request(
        "GET",
        path,
        "application/json",
        None,
        Some(&session.token),
        session.device.id,
        JSON_TIMEOUT_MS,
    )
    .await?;
    json_answer(status, &bytes)
}

/// `POST path` with a JSON body (a `JSON.stringify`-ed value) and the session's token; the
/// parsed JSON answer, or the server's error.
pub async fn post_json(session: &Session, path: &str, body: &JsValue) -> Result<JsValue, ApiError> {
    let text = stringify(body);
    let (status, bytes) = post(
        path,
        "application/json",
        text.as_bytes(),
        Some(&session.token),
        session.device.id,
        JSON_TIMEOUT_MS,
    )
    .await?;
    json_answer(status, &bytes)
}

/// `method path` with the session's token and a body of `content_type` (a CSV file, a
/// configuration file): the status and the answer's bytes, for callers that read an error's
/// own fields (an import's bad lines) or an answer that is not JSON (a CSV export). It may
/// take as long as a sync round: a users import hashes a password per user before it answers.
#[cfg_attr(not(feature = "leader"), allow(dead_code))]
pub async fn send(
    session: &Session,
    method: &str,
    path: &str,
    content_type: &str,
    body: Option<&[u8]>,
) -> Result<(u16, Vec<u8>), ApiError> {
    request(
        method,
        path,
        content_type,
        body,
        Some(&session.token),
        session.device.id,
        SYNC_TIMEOUT_MS,
    )
    .await
}

/// The parsed JSON of a success, or the error an error status and its body mean.
pub fn json_answer(status: u16, bytes: &[u8]) -> Result<JsValue, ApiError> {
    if (200..300).contains(&status) {
        JSON::parse(&String::from_utf8_lossy(bytes)).map_err(|_| ApiError::BadBody)
    } else {
        Err(error_from(status, bytes))
    }
}

async fn post(
    path: &str,
    content_type: &str,
    body: &[u8],
    token: Option<&str>,
    device: DeviceId,
    timeout_ms: u32,
) -> Result<(u16, Vec<u8>), ApiError> {
    request(
        "POST",
        path,
        content_type,
        Some(body),
        token,
        device,
        timeout_ms,
    )
    .await
}

async fn request(
    method: &str,
    path: &str,
    content_type: &str,
    body: Option<&[u8]>,
    token: Option<&str>,
    device: DeviceId,
    timeout_ms: u32,
) -> Result<(u16, Vec<u8>), ApiError> {
    let headers = [("content-type", content_type)];
    let (status, bytes, _) =
        exchange(method, path, &headers, body, token, device, timeout_ms).await?;
    Ok((status, bytes))
}

/// A request with `headers` (besides the device's and the token); the status, the body and
/// the configuration version the answer announces (`X-Lianxin-Config`).
async fn exchange(
    method: &str,
    path: &str,
    extra: &[(&str, &str)],
    body: Option<&[u8]>,
    token: Option<&str>,
    device: DeviceId,
    timeout_ms: u32,
) -> Result<(u16, Vec<u8>, Option<String>), ApiError> {
    let window = web_sys::window().ok_or(ApiError::Unreachable)?;
    let headers = Headers::new().map_err(|_| ApiError::BadBody)?;
    let set = |name: &str, value: &str| headers.set(name, value).map_err(|_| ApiError::BadBody);
    for (name, value) in extra {
        set(name, value)?;
    }
    set("x-lianxin-device", &device.to_string())?;
    if let Some(token) = token {
        set("authorization", &format!("Bearer {token}"))?;
    }
    let init = RequestInit::new();
    init.set_method(method);
    init.set_headers(&headers);
    init.set_cache(RequestCache::NoStore);
    init.set_signal(Some(&AbortSignal::timeout_with_u32(timeout_ms)));
    if let Some(body) = body {
        let array: JsValue = Uint8Array::from(body).into();
        init.set_body(&array);
    }

    let response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(|_| ApiError::Unreachable)?;
    let response: Response = response.dyn_into().map_err(|_| ApiError::BadBody)?;
    let announced = response.headers().get(CONFIG_HEADER).ok().flatten();
    let buffer = response.array_buffer().map_err(|_| ApiError::Unreachable)?;
    // A body cut off mid-way is a network failure, not a bad answer.
    let buffer = JsFuture::from(buffer)
        .await
        .map_err(|_| ApiError::Unreachable)?;
    Ok((
        response.status(),
        Uint8Array::new(&buffer).to_vec(),
        announced,
    ))
}

/// Listens to the push channel `GET /api/events` (server-sent events) with the session's
/// token — `EventSource` cannot send one, so this reads the stream with `fetch` — and calls
/// `on_changed` for every `changed` event, with the feed sequence it announces (if readable),
/// until the stream ends or fails. `last_id` (the last event id seen) goes as `Last-Event-ID`:
/// the server then announces at once what the device missed while the stream was down.
/// `on_open` is called once the stream is open.
pub async fn events(
    session: &Session,
    last_id: Option<u64>,
    on_open: impl FnOnce(),
    mut on_changed: impl FnMut(Option<u64>),
) -> Result<(), ApiError> {
    let window = web_sys::window().ok_or(ApiError::Unreachable)?;
    let headers = Headers::new().map_err(|_| ApiError::BadBody)?;
    let _ = headers.set("accept", "text/event-stream");
    let _ = headers.set("x-lianxin-device", &session.device.id.to_string());
    let _ = headers.set("authorization", &format!("Bearer {}", session.token));
    if let Some(id) = last_id {
        let _ = headers.set("last-event-id", &id.to_string());
    }
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_headers(&headers);
    init.set_cache(RequestCache::NoStore);
    let response = JsFuture::from(window.fetch_with_str_and_init("/api/events", &init))
        .await
        .map_err(|_| ApiError::Unreachable)?;
    let response: Response = response.dyn_into().map_err(|_| ApiError::BadBody)?;
    if !response.ok() {
        let status = response.status();
        return Err(error_from(status, &[]));
    }
    let body = response.body().ok_or(ApiError::BadBody)?;
    let reader: web_sys::ReadableStreamDefaultReader = body
        .get_reader()
        .dyn_into()
        .map_err(|_| ApiError::BadBody)?;
    on_open();
    let mut pending = String::new();
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|_| ApiError::Unreachable)?;
        let done = Reflect::get(&chunk, &JsValue::from_str("done"))
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if done {
            return Ok(());
        }
        let value =
            Reflect::get(&chunk, &JsValue::from_str("value")).map_err(|_| ApiError::BadBody)?;
        pending.push_str(&String::from_utf8_lossy(&Uint8Array::new(&value).to_vec()));
        // Events end with a blank line; keep an unfinished one for the next chunk.
        while let Some(end) = pending.find("\n\n") {
            let event: String = pending.drain(..end + 2).collect();
            if event
                .lines()
                .any(|l| l.trim() == "event: changed" || l.trim() == "event:changed")
            {
                on_changed(shared::sync::protocol::notice_seq(&event));
            }
        }
    }
}
