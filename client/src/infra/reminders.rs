//! In-app reminders (提醒, full bundle), typed: the server's outbox as its person reads it (`GET
//! /api/notifications`: the unseen ones, earliest due first; `POST /api/notifications/seen`),
//! and the browser's Notification API that shows new ones while the app is open (asked for
//! only from a person's click). Screens read these, never the JSON or `web_sys`.

use js_sys::{Array, Function, Promise, Reflect};
use shared::model::ProblemId;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::api::{self, ApiError, Session, get, get_str, object, text};

/// What a reminder is about (`server::remind::ReminderKind`'s codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 新交办: a problem handed out to the person's department.
    HandOut,
    /// 明日到期: its deadline is within a day.
    DeadlineTomorrow,
    /// 已超期: its deadline passed.
    Overdue,
    /// 督办: a supervision instruction.
    Supervision,
    /// 企业差评: rated badly, the revisit is due.
    BadRating,
    /// 回头看到期: the look-back is due.
    LookBackDue,
    /// A kind this client does not know (a newer server).
    Other,
}

impl Kind {
    fn from_code(code: &str) -> Kind {
        match code {
            "hand_out" => Kind::HandOut,
            "deadline_tomorrow" => Kind::DeadlineTomorrow,
            "overdue" => Kind::Overdue,
            "supervision" => Kind::Supervision,
            "bad_rating" => Kind::BadRating,
            "look_back_due" => Kind::LookBackDue,
            _ => Kind::Other,
        }
    }

    /// Its name: Chinese, English.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Kind::HandOut => ("新交办", "New hand-out"),
            Kind::DeadlineTomorrow => ("明日到期", "Due tomorrow"),
            Kind::Overdue => ("已超期", "Overdue"),
            Kind::Supervision => ("督办", "Supervision"),
            Kind::BadRating => ("企业差评", "Rated badly"),
            Kind::LookBackDue => ("回头看到期", "Look-back due"),
            Kind::Other => ("提醒", "Reminder"),
        }
    }
}

/// One unseen reminder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    /// Its id (to mark it seen).
    pub id: i64,
    pub kind: Kind,
    /// The problem it is about.
    pub problem: ProblemId,
    /// The server's message, in Chinese (names the enterprise, the problem and its deadline).
    pub text: String,
    /// When it became due (ms).
    pub due_at: i64,
}

fn reminder(v: &JsValue) -> Option<Reminder> {
    Some(Reminder {
        id: get(v, "id").as_f64()? as i64,
        kind: Kind::from_code(&get_str(v, "kind")?),
        problem: ProblemId::parse(&get_str(v, "problem")?).ok()?,
        text: get_str(v, "text").unwrap_or_default(),
        due_at: get(v, "due_at").as_f64()? as i64,
    })
}

/// `GET /api/notifications`: the person's unseen reminders, earliest due first.
pub async fn unseen(session: &Session) -> Result<Vec<Reminder>, ApiError> {
    let v = api::get_json(session, "/api/notifications").await?;
    let list = get(&v, "notifications");
    if !Array::is_array(&list) {
        return Err(ApiError::BadBody);
    }
    Ok(Array::from(&list)
        .iter()
        .filter_map(|r| reminder(&r))
        .collect())
}

/// `POST /api/notifications/seen`: marks `ids` seen; how many the server marked.
pub async fn mark_seen(session: &Session, ids: &[i64]) -> Result<u64, ApiError> {
    let list: Array = ids.iter().map(|id| JsValue::from_f64(*id as f64)).collect();
    let v = api::post_json(
        session,
        "/api/notifications/seen",
        &object(&[("ids", list.into())]),
    )
    .await?;
    Ok(get(&v, "seen").as_f64().unwrap_or(0.0) as u64)
}

/// What the browser allows for its notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// No Notification API here.
    Unsupported,
    /// Not asked yet.
    Ask,
    Granted,
    Denied,
}

// The Notification API through `js_sys` rather than web-sys's bindings: enabling web-sys
// features changes every crate hash above it, and with them the officer bundle's bytes.

/// The `Notification` constructor, where the browser has one.
fn constructor() -> Option<Function> {
    let window = web_sys::window()?;
    Reflect::get(&window, &JsValue::from_str("Notification"))
        .ok()?
        .dyn_into::<Function>()
        .ok()
}

fn permission_of(answer: Option<String>) -> Permission {
    match answer.as_deref() {
        Some("granted") => Permission::Granted,
        Some("denied") => Permission::Denied,
        _ => Permission::Ask,
    }
}

/// What the browser allows now.
pub fn permission() -> Permission {
    match constructor() {
        Some(n) => permission_of(get_str(&n, "permission")),
        None => Permission::Unsupported,
    }
}

/// Asks the person for notifications: call only from their click (browsers ignore or punish
/// asking on load). What they answered.
pub async fn ask_permission() -> Permission {
    let Some(n) = constructor() else {
        return Permission::Unsupported;
    };
    let ask = get(&n, "requestPermission").dyn_into::<Function>();
    let Ok(promise) = ask.and_then(|f| f.call0(&n)) else {
        return permission();
    };
    match JsFuture::from(Promise::resolve(&promise)).await {
        Ok(answer) => permission_of(answer.as_string()),
        Err(_) => permission(),
    }
}

/// Shows `title` and `body` as a system notification when the browser allows it (nothing
/// otherwise); `tag` keeps one notification per reminder.
pub fn show(title: &str, body: &str, tag: &str) {
    let Some(n) = constructor().filter(|_| permission() == Permission::Granted) else {
        return;
    };
    let options = object(&[("body", text(body)), ("tag", text(tag))]);
    let _ = Reflect::construct(&n, &Array::of2(&text(title), &options));
}
