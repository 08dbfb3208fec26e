//! In-app reminders (提醒, full bundle), typed: the server's outbox as its person reads it (`GET
//! /api/notifications`: the unseen ones, earliest due first; `POST /api/notifications/seen`),
//! and the browser's Notification API that shows new ones while the app is open (asked for
//! only from a person's click; a click on one runs what the screen gave it). Screens read
//! these, never the JSON or `web_sys`.

use js_sys::{Array, Function, Promise, Reflect};
use shared::model::ProblemId;
use shared::reminder::ReminderKind;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::api::{self, ApiError, Session, get, get_str, object, text};
use super::i18n::Lang;

/// One unseen reminder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    /// Its id (to mark it seen).
    pub id: i64,
    /// What it is about (`None`: a kind this client does not know, from a newer server).
    pub kind: Option<ReminderKind>,
    /// The problem it is about.
    pub problem: ProblemId,
    /// The server's message, in Chinese (names the enterprise, the problem and its deadline).
    pub text: String,
    /// The same in English (`None` from a server that kept only the Chinese).
    pub text_en: Option<String>,
    /// When it became due (ms).
    pub due_at: i64,
}

impl Reminder {
    /// The name of what it is about: Chinese, English.
    pub fn kind_names(&self) -> (&'static str, &'static str) {
        self.kind.map_or(("提醒", "Reminder"), ReminderKind::names)
    }

    /// The message in `lang` (the Chinese where the server kept no English).
    pub fn text(&self, lang: Lang) -> &str {
        lang.pick(&self.text, self.text_en.as_deref().unwrap_or(&self.text))
    }
}

fn reminder(v: &JsValue) -> Option<Reminder> {
    Some(Reminder {
        id: get(v, "id").as_f64()? as i64,
        kind: ReminderKind::from_code(&get_str(v, "kind")?),
        problem: ProblemId::parse(&get_str(v, "problem")?).ok()?,
        text: get_str(v, "text").unwrap_or_default(),
        text_en: get_str(v, "text_en"),
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
/// otherwise); `tag` keeps one notification per reminder. A click on it brings the app's window
/// forward, closes the notification and runs `on_click`.
pub fn show(title: &str, body: &str, tag: &str, on_click: impl FnOnce() + 'static) {
    let Some(n) = constructor().filter(|_| permission() == Permission::Granted) else {
        return;
    };
    let options = object(&[("body", text(body)), ("tag", text(tag))]);
    let Ok(shown) = Reflect::construct(&n, &Array::of2(&text(title), &options)) else {
        return;
    };
    let this = shown.clone();
    let click = Closure::once_into_js(move || {
        if let Some(w) = web_sys::window() {
            let _ = w.focus();
        }
        if let Ok(close) = get(&this, "close").dyn_into::<Function>() {
            let _ = close.call0(&this);
        }
        on_click();
    });
    let _ = Reflect::set(&shown, &text("onclick"), &click);
}
