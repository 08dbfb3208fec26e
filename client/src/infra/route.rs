//! Screens addressed by the URL's hash (`#/e/<id>` …), so a reload — online or offline, from the
//! service worker's shell — reopens the same screen, and the back button works.

use shared::doc::DocKind;
use shared::model::{EnterpriseId, ProblemId, VisitId};
use shared::sync::protocol::DocId;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::Closure;

/// A screen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Route {
    /// Home: the role's first screen — my enterprises for officers and window clerks, the
    /// dashboard for leaders and supervisors, the inbox for department handlers.
    #[default]
    Enterprises,
    /// The enterprise list, whatever the role.
    EnterpriseList,
    /// One enterprise: profile, visits, problems.
    Enterprise(EnterpriseId),
    /// A new visit to an enterprise.
    NewVisit(EnterpriseId),
    /// One visit.
    Visit(VisitId),
    /// One problem: details, edits, actions.
    Problem(ProblemId),
    /// Intake without a visit (window, hotline), optionally for a chosen enterprise.
    Intake(Option<EnterpriseId>),
    /// The per-field history of a record.
    History(DocId),
    /// Sync, storage and account.
    Sync,
    /// The leader dashboard (领导驾驶舱): KPIs and charts of a period and org unit.
    Dashboard,
    /// The problem list behind a number, with filters and batch actions; the text is the
    /// list's query string (`state=open&flag=red…`, the `/api/problems` parameters).
    Problems(String),
    /// The board of red, green and black flags (红绿黑旗).
    Flags,
    /// The leaders' visit list (走访记录); the text is the list's query string (the
    /// `/api/visits` parameters).
    Visits(String),
    /// A department handler's inbox (待办): problems handed to their department.
    Inbox,
    /// Bulletins (通报): issued ones and issuing a new one.
    Bulletins,
    /// One issued bulletin, printable.
    Bulletin(String),
    /// Economic monitoring of a key enterprise: trend charts and CSV import.
    Monitoring(EnterpriseId),
    /// Supervision instructions (督办) leaders follow, with their state.
    Supervision,
    /// The administrator's screens; the text names the section (`users`, `audit`, …).
    Admin(String),
    /// A link that names no screen (an unknown path, or an id that is not one): the hash as
    /// it came.
    NotFound(String),
}

impl Route {
    /// The hash that addresses the screen.
    pub fn hash(&self) -> String {
        match self {
            Route::Enterprises => "#/".into(),
            Route::EnterpriseList => "#/enterprises".into(),
            Route::Enterprise(id) => format!("#/e/{id}"),
            Route::NewVisit(id) => format!("#/e/{id}/visit"),
            Route::Visit(id) => format!("#/v/{id}"),
            Route::Problem(id) => format!("#/p/{id}"),
            Route::Intake(None) => "#/intake".into(),
            Route::Intake(Some(id)) => format!("#/intake/{id}"),
            Route::History(doc) => format!("#/h/{doc}"),
            Route::Sync => "#/sync".into(),
            Route::Dashboard => "#/dash".into(),
            Route::Problems(query) if query.is_empty() => "#/problems".into(),
            Route::Problems(query) => format!("#/problems?{query}"),
            Route::Flags => "#/flags".into(),
            Route::Visits(query) if query.is_empty() => "#/visits".into(),
            Route::Visits(query) => format!("#/visits?{query}"),
            Route::Inbox => "#/inbox".into(),
            Route::Bulletins => "#/bulletins".into(),
            Route::Bulletin(id) => format!("#/b/{id}"),
            Route::Monitoring(id) => format!("#/m/{id}"),
            Route::Supervision => "#/supervision".into(),
            Route::Admin(section) => format!("#/admin/{section}"),
            Route::NotFound(hash) => hash.clone(),
        }
    }

    /// The screen a hash addresses: home for an empty one, [`Route::NotFound`] for one that
    /// names no screen.
    pub fn parse(hash: &str) -> Route {
        let path = hash.trim_start_matches('#').trim_start_matches('/');
        if let Some(rest) = path.strip_prefix("problems")
            && (rest.is_empty() || rest.starts_with('?'))
        {
            return Route::Problems(rest.trim_start_matches('?').to_string());
        }
        if let Some(rest) = path.strip_prefix("visits")
            && (rest.is_empty() || rest.starts_with('?'))
        {
            return Route::Visits(rest.trim_start_matches('?').to_string());
        }
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let route = match parts.as_slice() {
            ["e", id] => EnterpriseId::parse(id).ok().map(Route::Enterprise),
            ["e", id, "visit"] => EnterpriseId::parse(id).ok().map(Route::NewVisit),
            ["v", id] => VisitId::parse(id).ok().map(Route::Visit),
            ["p", id] => ProblemId::parse(id).ok().map(Route::Problem),
            ["intake"] => Some(Route::Intake(None)),
            ["intake", id] => EnterpriseId::parse(id).ok().map(|e| Route::Intake(Some(e))),
            ["h", kind, id] => DocId::parse(&format!("{kind}/{id}"))
                .ok()
                .map(Route::History),
            ["sync"] => Some(Route::Sync),
            ["enterprises"] => Some(Route::EnterpriseList),
            ["dash"] => Some(Route::Dashboard),
            ["flags"] => Some(Route::Flags),
            ["inbox"] => Some(Route::Inbox),
            ["bulletins"] => Some(Route::Bulletins),
            ["supervision"] => Some(Route::Supervision),
            ["b", id] => Some(Route::Bulletin((*id).to_string())),
            ["m", id] => EnterpriseId::parse(id).ok().map(Route::Monitoring),
            ["admin", section] => Some(Route::Admin((*section).to_string())),
            [] => Some(Route::Enterprises),
            _ => None,
        };
        route.unwrap_or_else(|| Route::NotFound(hash.to_string()))
    }

    /// The screen of a record.
    pub fn of_doc(doc: &DocId) -> Route {
        let id = doc.root_id();
        let route = match doc.kind() {
            DocKind::Enterprise => EnterpriseId::parse(id).ok().map(Route::Enterprise),
            DocKind::Visit => VisitId::parse(id).ok().map(Route::Visit),
            DocKind::Problem => ProblemId::parse(id).ok().map(Route::Problem),
            DocKind::Monitoring => None,
        };
        route.unwrap_or_else(|| Route::History(doc.clone()))
    }
}

/// The screen the address bar shows now.
pub fn current() -> Route {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .map(|h| Route::parse(&h))
        .unwrap_or_default()
}

/// Opens a screen (a new history entry; `hashchange` re-renders).
pub fn go(route: &Route) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_hash(&route.hash());
        w.scroll_to_with_x_and_y(0.0, 0.0);
    }
}

/// Calls `f` with the new screen whenever the hash changes, for the page's lifetime.
pub fn on_change(f: impl Fn(Route) + 'static) {
    let Some(w) = web_sys::window() else { return };
    let closure = Closure::<dyn Fn()>::new(move || f(current()));
    let _ = w.add_event_listener_with_callback("hashchange", closure.as_ref().unchecked_ref());
    closure.forget();
}
