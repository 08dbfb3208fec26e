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
    /// My enterprises.
    #[default]
    Enterprises,
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
}

impl Route {
    /// The hash that addresses the screen.
    pub fn hash(&self) -> String {
        match self {
            Route::Enterprises => "#/".into(),
            Route::Enterprise(id) => format!("#/e/{id}"),
            Route::NewVisit(id) => format!("#/e/{id}/visit"),
            Route::Visit(id) => format!("#/v/{id}"),
            Route::Problem(id) => format!("#/p/{id}"),
            Route::Intake(None) => "#/intake".into(),
            Route::Intake(Some(id)) => format!("#/intake/{id}"),
            Route::History(doc) => format!("#/h/{doc}"),
            Route::Sync => "#/sync".into(),
        }
    }

    /// The screen a hash addresses; unknown hashes open the enterprise list.
    pub fn parse(hash: &str) -> Route {
        let path = hash.trim_start_matches('#').trim_start_matches('/');
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
            _ => None,
        };
        route.unwrap_or_default()
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
