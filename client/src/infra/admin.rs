//! The administrator's server calls, typed (`/api/admin/…`): users, devices, imports,
//! assignments, backups, the configuration and the audit log (enterprise profiles:
//! `super::admin_enterprises`). The admin screens call these
//! and never build a URL or read JSON themselves. Full bundle only.

use js_sys::{Array, JSON};
use wasm_bindgen::JsValue;

use super::api::{self, ApiError, Session, get, get_str, object, text};

/// Why an administrator's call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminError {
    /// The call failed (unreachable, refused, …).
    Api(ApiError),
    /// An import file's bad lines (1-based line, message); nothing was imported.
    Lines(Vec<(u64, String)>),
}

impl From<ApiError> for AdminError {
    fn from(e: ApiError) -> Self {
        AdminError::Api(e)
    }
}

pub(super) fn list(v: &JsValue, key: &str) -> Vec<JsValue> {
    let items = get(v, key);
    if Array::is_array(&items) {
        Array::from(&items).iter().collect()
    } else {
        Vec::new()
    }
}

pub(super) fn int(v: &JsValue, key: &str) -> Option<i64> {
    get(v, key).as_f64().map(|n| n as i64)
}

pub(super) fn string(v: &JsValue, key: &str) -> String {
    get_str(v, key).unwrap_or_default()
}

pub(super) fn flag(v: &JsValue, key: &str) -> bool {
    get(v, key).as_bool() == Some(true)
}

/// `path` segment: a login, an id or a credit code, percent-encoded.
pub(super) fn seg(s: &str) -> String {
    js_sys::encode_uri_component(s).into()
}

pub(super) async fn post(
    session: &Session,
    path: &str,
    body: &JsValue,
) -> Result<JsValue, AdminError> {
    Ok(api::post_json(session, path, body).await?)
}

/// One user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub login: String,
    pub name: String,
    /// Role code.
    pub role: String,
    /// Org unit code.
    pub org_unit: String,
    pub disabled: bool,
    /// The login throttle refuses them for now.
    pub locked_out: bool,
}

/// Every user, by login.
pub async fn users(session: &Session) -> Result<Vec<User>, AdminError> {
    let v = api::get_json(session, "/api/admin/users").await?;
    Ok(list(&v, "users")
        .iter()
        .map(|u| User {
            login: string(u, "login"),
            name: string(u, "name"),
            role: string(u, "role"),
            org_unit: string(u, "org_unit"),
            disabled: flag(u, "disabled"),
            locked_out: flag(u, "locked_out"),
        })
        .collect())
}

/// A user to add, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewUser {
    pub login: String,
    pub name: String,
    pub role: String,
    pub org_unit: String,
    pub phone: String,
    pub password: String,
}

/// Adds a user.
pub async fn add_user(session: &Session, u: &NewUser) -> Result<(), AdminError> {
    let phone = if u.phone.trim().is_empty() {
        JsValue::NULL
    } else {
        text(u.phone.trim())
    };
    let body = object(&[
        ("login", text(u.login.trim())),
        ("name", text(u.name.trim())),
        ("role", text(&u.role)),
        ("org_unit", text(u.org_unit.trim())),
        ("phone", phone),
        ("password", text(&u.password)),
    ]);
    post(session, "/api/admin/users", &body).await.map(drop)
}

/// Disables (`true`) or enables a user.
pub async fn set_disabled(
    session: &Session,
    login: &str,
    disabled: bool,
) -> Result<(), AdminError> {
    let verb = if disabled { "disable" } else { "enable" };
    let path = format!("/api/admin/users/{}/{verb}", seg(login));
    post(session, &path, &object(&[])).await.map(drop)
}

/// Sets a user's password (their sessions end).
pub async fn reset_password(
    session: &Session,
    login: &str,
    password: &str,
) -> Result<(), AdminError> {
    let path = format!("/api/admin/users/{}/password", seg(login));
    post(session, &path, &object(&[("password", text(password))]))
        .await
        .map(drop)
}

/// One device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    /// Its user's login.
    pub user: String,
    pub name: String,
    pub last_seen: i64,
    pub last_sync: Option<i64>,
    /// Documents it last reported holding unsent.
    pub unsent: Option<i64>,
    pub revoked: bool,
}

/// Every device, most recently seen first.
pub async fn devices(session: &Session) -> Result<Vec<Device>, AdminError> {
    let v = api::get_json(session, "/api/admin/devices").await?;
    Ok(list(&v, "devices")
        .iter()
        .map(|d| Device {
            id: string(d, "id"),
            user: string(d, "user"),
            name: string(d, "name"),
            last_seen: int(d, "last_seen").unwrap_or(0),
            last_sync: int(d, "last_sync"),
            unsent: int(d, "unsent"),
            revoked: flag(d, "revoked"),
        })
        .collect())
}

/// Revokes a device.
pub async fn revoke(session: &Session, id: &str) -> Result<(), AdminError> {
    let path = format!("/api/admin/devices/{}/revoke", seg(id));
    post(session, &path, &object(&[])).await.map(drop)
}

/// What an import file holds, by the route's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Users,
    OrgUnits,
    Enterprises,
    Assignments,
}

impl ImportKind {
    /// The route's code.
    pub fn code(self) -> &'static str {
        match self {
            ImportKind::Users => "users",
            ImportKind::OrgUnits => "org-units",
            ImportKind::Enterprises => "enterprises",
            ImportKind::Assignments => "assignments",
        }
    }
}

/// What an import stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    pub imported: u64,
    /// Already stored, left as they were.
    pub present: u64,
    /// Generated passwords (login, password), told once.
    pub passwords: Vec<(String, String)>,
}

/// An import file as chosen: CSV text (decoded from UTF-8 or GB18030), or an .xlsx workbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportData {
    Csv(String),
    Xlsx(Vec<u8>),
}

impl ImportData {
    /// Whether these bytes are an .xlsx workbook (a zip archive's first bytes).
    pub fn is_xlsx(bytes: &[u8]) -> bool {
        bytes.starts_with(b"PK\x03\x04")
    }
}

/// Imports a CSV or .xlsx file: all of it, or [`AdminError::Lines`] naming every bad line
/// (an .xlsx file's rows by their number in the sheet).
pub async fn import(
    session: &Session,
    kind: ImportKind,
    file: &ImportData,
) -> Result<Imported, AdminError> {
    let path = format!("/api/admin/imports/{}", kind.code());
    let (mime, body) = match file {
        ImportData::Csv(text) => ("text/csv", text.as_bytes()),
        ImportData::Xlsx(bytes) => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            bytes.as_slice(),
        ),
    };
    let (status, bytes) = api::send(session, "POST", &path, mime, Some(body)).await?;
    if status == 400 {
        let body = JSON::parse(&String::from_utf8_lossy(&bytes)).unwrap_or(JsValue::NULL);
        if get_str(&body, "error").as_deref() == Some("import_lines") {
            let lines = list(&body, "lines")
                .iter()
                .map(|l| {
                    (
                        int(l, "line").unwrap_or(0).max(0) as u64,
                        string(l, "message"),
                    )
                })
                .collect();
            return Err(AdminError::Lines(lines));
        }
    }
    let v = api::json_answer(status, &bytes)?;
    Ok(Imported {
        imported: int(&v, "imported").unwrap_or(0).max(0) as u64,
        present: int(&v, "present").unwrap_or(0).max(0) as u64,
        passwords: list(&v, "passwords")
            .iter()
            .map(|p| (string(p, "login"), string(p, "password")))
            .collect(),
    })
}

/// Ends the open assignments of an enterprise (its id or credit code); how many ended.
pub async fn end_assignment(session: &Session, enterprise: &str) -> Result<u64, AdminError> {
    let path = format!("/api/admin/assignments/{}/end", seg(enterprise.trim()));
    let v = post(session, &path, &object(&[])).await?;
    Ok(int(&v, "ended").unwrap_or(0).max(0) as u64)
}

/// Moves an enterprise to another officer (login).
pub async fn move_assignment(
    session: &Session,
    enterprise: &str,
    to: &str,
) -> Result<(), AdminError> {
    let path = format!("/api/admin/assignments/{}/move", seg(enterprise.trim()));
    post(session, &path, &object(&[("to_officer", text(to.trim()))]))
        .await
        .map(drop)
}

/// One backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    pub name: String,
    /// What `restore --from` takes.
    pub path: String,
    pub taken_at: i64,
    pub bytes: i64,
}

/// The backups and their schedule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Backups {
    /// None: backups are off.
    pub directory: Option<String>,
    pub every_hours: f64,
    pub keep: i64,
    pub running: bool,
    pub backups: Vec<Backup>,
}

fn parse_backups(v: &JsValue) -> Backups {
    Backups {
        directory: get_str(v, "directory"),
        every_hours: get(v, "every_hours").as_f64().unwrap_or(0.0),
        keep: int(v, "keep").unwrap_or(0),
        running: flag(v, "running"),
        backups: list(v, "backups")
            .iter()
            .map(|b| Backup {
                name: string(b, "name"),
                path: string(b, "path"),
                taken_at: int(b, "taken_at").unwrap_or(0),
                bytes: int(b, "bytes").unwrap_or(0),
            })
            .collect(),
    }
}

/// The backups and their schedule.
pub async fn backups(session: &Session) -> Result<Backups, AdminError> {
    Ok(parse_backups(
        &api::get_json(session, "/api/admin/backups").await?,
    ))
}

/// Takes a backup now (answers when it is done).
pub async fn run_backup(session: &Session) -> Result<(), AdminError> {
    post(session, "/api/admin/backups", &object(&[]))
        .await
        .map(drop)
}

/// The running configuration: its version and TOML.
pub async fn config(session: &Session) -> Result<(String, String), AdminError> {
    let v = api::get_json(session, "/api/admin/config").await?;
    Ok((string(&v, "version"), string(&v, "toml")))
}

/// A configuration file judged: `Ok(version)` or every problem.
pub async fn validate_config(
    session: &Session,
    toml: &str,
) -> Result<Result<String, Vec<String>>, AdminError> {
    let (status, bytes) = api::send(
        session,
        "POST",
        "/api/admin/config/validate",
        "application/toml",
        Some(toml.as_bytes()),
    )
    .await?;
    let v = api::json_answer(status, &bytes)?;
    Ok(if flag(&v, "valid") {
        Ok(string(&v, "version"))
    } else {
        Err(list(&v, "errors")
            .iter()
            .filter_map(JsValue::as_string)
            .collect())
    })
}

/// A configuration applied: the version running now and the sections of the file the server
/// reads at start only that changed (they take effect at its next restart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub version: String,
    pub restart_needed: Vec<String>,
}

/// Applies a configuration file without a restart: `Ok(applied)` or every problem (the
/// running configuration stays).
pub async fn apply_config(
    session: &Session,
    toml: &str,
) -> Result<Result<Applied, Vec<String>>, AdminError> {
    let (status, bytes) = api::send(
        session,
        "POST",
        "/api/admin/config",
        "application/toml",
        Some(toml.as_bytes()),
    )
    .await?;
    if status == 422 {
        let body = JSON::parse(&String::from_utf8_lossy(&bytes)).unwrap_or(JsValue::NULL);
        return Ok(Err(list(&body, "errors")
            .iter()
            .filter_map(JsValue::as_string)
            .collect()));
    }
    let v = api::json_answer(status, &bytes)?;
    Ok(Ok(Applied {
        version: string(&v, "version"),
        restart_needed: list(&v, "restart_needed")
            .iter()
            .filter_map(JsValue::as_string)
            .collect(),
    }))
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    /// Action code.
    pub action: String,
    pub subject: String,
    pub detail: String,
}

/// What the audit screen filters by (empty: anything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub action: String,
    pub actor: String,
    pub text: String,
}

impl AuditFilter {
    fn query(&self) -> String {
        [
            ("action", &self.action),
            ("actor", &self.actor),
            ("q", &self.text),
        ]
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", seg(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Where the next page starts; none: this was the last.
    pub next_before: Option<i64>,
    /// Every action code.
    pub actions: Vec<String>,
}

/// A page of the log the filter keeps, before `before` (none: the newest).
pub async fn audit(
    session: &Session,
    filter: &AuditFilter,
    before: Option<i64>,
) -> Result<AuditPage, AdminError> {
    let mut query = filter.query();
    if let Some(b) = before {
        query.push_str(&format!("&before={b}"));
    }
    let v = api::get_json(session, &format!("/api/admin/audit?{query}")).await?;
    Ok(AuditPage {
        entries: list(&v, "entries")
            .iter()
            .map(|e| AuditEntry {
                seq: int(e, "seq").unwrap_or(0),
                at: int(e, "at").unwrap_or(0),
                actor: string(e, "actor"),
                action: string(e, "action"),
                subject: string(e, "subject"),
                detail: string(e, "detail"),
            })
            .collect(),
        next_before: int(&v, "next_before"),
        actions: list(&v, "actions")
            .iter()
            .filter_map(JsValue::as_string)
            .collect(),
    })
}

/// The chain checked: `Ok(entries)` when intact, else the first broken entry and why.
pub async fn verify_audit(session: &Session) -> Result<Result<i64, (i64, String)>, AdminError> {
    let v = api::get_json(session, "/api/admin/audit/verify").await?;
    Ok(if flag(&v, "intact") {
        Ok(int(&v, "entries").unwrap_or(0))
    } else {
        Err((int(&v, "broken_at").unwrap_or(0), string(&v, "reason")))
    })
}

/// Downloads every entry the filter keeps as CSV (`audit-log.csv`).
pub async fn download_audit_csv(session: &Session, filter: &AuditFilter) -> Result<(), String> {
    let path = format!("/api/admin/audit/export?{}", filter.query());
    super::files::download(session, &path, "audit-log.csv", "text/csv;charset=utf-8").await
}
