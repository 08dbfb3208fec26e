//! The role's navigation under the sync bar: leaders and supervisors get the dashboard, the
//! problem list, the flag board, the visit list (full bundle), supervision and bulletins;
//! department handlers their inbox; everyone with more than the officer's one screen gets the
//! enterprise list.

use shared::model::Role;
use yew::prelude::*;

use super::widgets::Ctx;
use crate::infra::route::{self, Route};

/// The navigation links of the logged-in role (nothing for officers and window clerks, whose
/// home is the enterprise list). A plain function, not a component (no state of its own; each
/// component type costs its own copy of yew's machinery): the app calls it on every render.
pub fn nav(ctx: &Ctx) -> Html {
    let lang = ctx.lang;
    let Some(session) = ctx.core.session() else {
        return html! {};
    };
    let links: Vec<(Route, &str)> = match session.user.role {
        Role::Leader | Role::Supervisor => vec![
            (Route::Dashboard, lang.pick("驾驶舱", "Dashboard")),
            (
                Route::Problems(String::new()),
                lang.pick("问题", "Problems"),
            ),
            (Route::Flags, lang.pick("红绿黑旗", "Flags")),
            (Route::Supervision, lang.pick("督办", "Supervision")),
            (Route::Bulletins, lang.pick("通报", "Bulletins")),
            (Route::EnterpriseList, lang.pick("企业", "Enterprises")),
        ],
        Role::DepartmentHandler => vec![
            (Route::Inbox, lang.pick("待办", "Inbox")),
            (Route::EnterpriseList, lang.pick("企业", "Enterprises")),
        ],
        // The admin page has its own tabs (`super::admin`).
        Role::Officer | Role::WindowClerk | Role::Admin => return html! {},
    };
    // The visit list is a full-bundle screen: the officer bundle's navigation stays as it was.
    #[cfg(feature = "leader")]
    let links = with_visits(links, lang);
    let current = route::current();
    html! {
        <nav class="role-nav" aria-label={lang.pick("导航", "Navigation")}>
            { for links.into_iter().map(|(r, label)| {
                let here = r == current || (current == Route::Enterprises && home_of(session.user.role) == r);
                html! {
                    <a href={r.hash()} ~className={if here { "nav-link current" } else { "nav-link" }}
                        aria-current={here.then_some("page")}>{ label }</a>
                }
            }) }
        </nav>
    }
}

/// Leaders' and supervisors' links with the visit list (走访记录) after the flag board.
#[cfg(feature = "leader")]
fn with_visits(
    mut links: Vec<(Route, &str)>,
    lang: crate::infra::i18n::Lang,
) -> Vec<(Route, &str)> {
    if let Some(at) = links.iter().position(|(r, _)| *r == Route::Flags) {
        links.insert(
            at + 1,
            (Route::Visits(String::new()), lang.pick("走访", "Visits")),
        );
    }
    links
}

/// The screen `#/` opens for a role.
pub fn home_of(role: Role) -> Route {
    match role {
        Role::Leader | Role::Supervisor => Route::Dashboard,
        Role::DepartmentHandler => Route::Inbox,
        Role::Admin => Route::Admin("users".into()),
        Role::Officer | Role::WindowClerk => Route::EnterpriseList,
    }
}
