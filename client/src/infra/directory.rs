//! Names of people and org units (towns, departments) for display and pickers.
//!
//! The server's `GET /api/directory` is fetched after login and after successful sync rounds,
//! at most every [`REFRESH_MS`] (a failed attempt waits [`RETRY_MS`]); an unchanged directory
//! costs one `304` (the answer's `ETag` is sent back as `If-None-Match`). The answer is kept
//! as text in `localStorage`, so names show offline and after a restart, and is parsed once into
//! an in-memory copy that every lookup reads.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, JSON, Uint8Array};
use shared::model::{OrgUnitId, OrgUnitKind, UserId};
use wasm_bindgen::JsCast as _;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, RequestCache, RequestInit, Response};

use super::api::{Session, get, get_str};
use super::platform;

/// How often a working device asks whether the directory changed.
pub const REFRESH_MS: i64 = 5 * 60_000;
/// How long after a failed attempt the next one may start.
pub const RETRY_MS: i64 = 60_000;
const TIMEOUT_MS: u32 = 15_000;

const BODY_KEY: &str = "lianxin.directory";
const ETAG_KEY: &str = "lianxin.directory.etag";

/// One org unit.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Unit {
    id: OrgUnitId,
    name: String,
    kind: OrgUnitKind,
}

/// The parsed directory.
#[derive(Debug, Default)]
struct Directory {
    /// In the server's order: zone, towns, departments, each by name.
    units: Vec<Unit>,
    /// Display names of people, in the server's order: a list searched from the start, not a
    /// map (the app carries no hash map code of its own; a district's few hundred people are
    /// found quickly enough).
    people: Vec<(UserId, String)>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Directory>>> = const { RefCell::new(None) };
    static LOADED: Cell<bool> = const { Cell::new(false) };
    static IN_FLIGHT: Cell<bool> = const { Cell::new(false) };
    static LAST_SUCCESS: Cell<Option<i64>> = const { Cell::new(None) };
    static LAST_FAILURE: Cell<Option<i64>> = const { Cell::new(None) };
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Parses the server's JSON answer.
fn parse(text: &str) -> Option<Directory> {
    let v = JSON::parse(text).ok()?;
    let mut dir = Directory::default();
    for u in Array::from(&get(&v, "units")).iter() {
        let (Some(id), Some(name), Some(kind)) = (
            get_str(&u, "id").and_then(|s| OrgUnitId::parse(&s).ok()),
            get_str(&u, "name"),
            get_str(&u, "kind").and_then(|s| OrgUnitKind::from_code(&s).ok()),
        ) else {
            continue;
        };
        dir.units.push(Unit { id, name, kind });
    }
    for p in Array::from(&get(&v, "users")).iter() {
        let (Some(id), Some(name)) = (
            get_str(&p, "id").and_then(|s| UserId::parse(&s).ok()),
            get_str(&p, "name"),
        ) else {
            continue;
        };
        dir.people.push((id, name));
    }
    Some(dir)
}

/// The in-memory copy, read from `localStorage` the first time it is needed.
fn current() -> Option<Rc<Directory>> {
    if !LOADED.replace(true) {
        let stored = storage()
            .and_then(|s| s.get_item(BODY_KEY).ok().flatten())
            .and_then(|text| parse(&text));
        CURRENT.set(stored.map(Rc::new));
    }
    CURRENT.with_borrow(Clone::clone)
}

/// A person's display name, when the directory knows them.
pub fn user_name(id: UserId) -> Option<String> {
    current()?
        .people
        .iter()
        .find(|(p, _)| *p == id)
        .map(|(_, name)| name.clone())
}

/// An org unit's display name, when the directory knows it.
pub fn unit_name(id: OrgUnitId) -> Option<String> {
    current()?
        .units
        .iter()
        .find(|u| u.id == id)
        .map(|u| u.name.clone())
}

fn units_of(kinds: &[OrgUnitKind]) -> Vec<(OrgUnitId, String)> {
    current()
        .map(|d| {
            d.units
                .iter()
                .filter(|u| kinds.contains(&u.kind))
                .map(|u| (u.id, u.name.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Departments a problem can be handed out to, by name.
pub fn departments() -> Vec<(OrgUnitId, String)> {
    units_of(&[OrgUnitKind::Department])
}

/// Towns (and the zone), by name, for dashboard pickers.
pub fn towns() -> Vec<(OrgUnitId, String)> {
    units_of(&[OrgUnitKind::Zone, OrgUnitKind::Town])
}

/// Whether a fetch is due at `now`: none running, no failure in the last [`RETRY_MS`], and
/// (unless `force`d, after a login) no success in the last [`REFRESH_MS`].
fn due(now: i64, force: bool) -> bool {
    let recent = |at: Option<i64>, within: i64| at.is_some_and(|t| now - t < within);
    !IN_FLIGHT.get()
        && !recent(LAST_FAILURE.get(), RETRY_MS)
        && (force || !recent(LAST_SUCCESS.get(), REFRESH_MS))
}

/// Asks the server for the directory when due (see the module doc); `force` after a login.
/// Returns whether names changed (the caller re-renders). Failures are silent: names stay as
/// they were and the next successful sync tries again.
pub async fn refresh(session: &Session, force: bool) -> bool {
    let now = platform::now().0;
    if !due(now, force) {
        return false;
    }
    IN_FLIGHT.set(true);
    let result = fetch(session).await;
    IN_FLIGHT.set(false);
    let Some(answer) = result else {
        LAST_FAILURE.set(Some(platform::now().0));
        return false;
    };
    LAST_FAILURE.set(None);
    LAST_SUCCESS.set(Some(platform::now().0));
    let Some((text, etag)) = answer else {
        return false; // 304: unchanged
    };
    let Some(parsed) = parse(&text) else {
        return false;
    };
    if let Some(s) = storage() {
        // A full storage keeps the in-memory copy only: names then need the network after a
        // restart, which is no reason to bother the person.
        let stored = s.set_item(BODY_KEY, &text).is_ok();
        match etag.filter(|_| stored) {
            Some(tag) => {
                let _ = s.set_item(ETAG_KEY, &tag);
            }
            None => {
                let _ = s.remove_item(ETAG_KEY);
            }
        }
    }
    LOADED.set(true);
    CURRENT.set(Some(Rc::new(parsed)));
    true
}

/// Forgets the directory (a wiped device).
pub fn forget() {
    if let Some(s) = storage() {
        let _ = s.remove_item(BODY_KEY);
        let _ = s.remove_item(ETAG_KEY);
    }
    CURRENT.set(None);
    LOADED.set(true);
    LAST_SUCCESS.set(None);
    LAST_FAILURE.set(None);
}

/// `GET /api/directory`: `None` on any failure, `Some(None)` for "unchanged", else the body
/// and its tag.
async fn fetch(session: &Session) -> Option<Option<(String, Option<String>)>> {
    let window = web_sys::window()?;
    let headers = Headers::new().ok()?;
    headers.set("accept", "application/json").ok()?;
    headers
        .set("x-lianxin-device", &session.device.id.to_string())
        .ok()?;
    headers
        .set("authorization", &format!("Bearer {}", session.token))
        .ok()?;
    // Only send the tag when the body it names is still stored.
    let stored = storage().filter(|s| s.get_item(BODY_KEY).ok().flatten().is_some());
    if let Some(tag) = stored.and_then(|s| s.get_item(ETAG_KEY).ok().flatten()) {
        headers.set("if-none-match", &tag).ok()?;
    }
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_headers(&headers);
    init.set_cache(RequestCache::NoStore);
    init.set_signal(Some(&AbortSignal::timeout_with_u32(TIMEOUT_MS)));
    let response = JsFuture::from(window.fetch_with_str_and_init("/api/directory", &init))
        .await
        .ok()?;
    let response: Response = response.dyn_into().ok()?;
    match response.status() {
        304 => Some(None),
        200 => {
            let etag = response.headers().get("etag").ok().flatten();
            let buffer = JsFuture::from(response.array_buffer().ok()?).await.ok()?;
            let bytes = Uint8Array::new(&buffer).to_vec();
            let text = String::from_utf8(bytes).ok()?;
            Some(Some((text, etag)))
        }
        _ => None,
    }
}
