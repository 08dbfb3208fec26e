//! "My enterprises": the officer's to-do counts (待办, `todo`) and follow-ups (revisits and
//! due look-backs), then the enterprises this device received, searchable, each with its last
//! visit, open problems, worst flag and overdue count. Works offline: the list is read from the
//! device's records. A window clerk's home is the window desk (窗口受理): the same searchable
//! list of every enterprise, each opening an intake for it, with the open problems the clerk
//! registered (a clerk reads profiles and their own problems, never visits: no "last visit").

use shared::forms::{matches_search, summarize};
use shared::model::Role;
use yew::prelude::*;

use super::follow_up::follow_ups;
use super::todo::todo_counts;
use super::widgets::{Ctx, bind, flag_badge, flag_legend};
use crate::infra::i18n::Key;
use crate::infra::platform;
use crate::infra::route::Route;

/// The enterprise list. A plain function, not a component (each component type is its own
/// copy of yew's component machinery in the wasm): the search text is the app's state
/// (`query`), so it stays as typed while the app is open.
pub fn enterprise_list(ctx: &Ctx, query: &UseStateHandle<String>) -> Html {
    let lang = ctx.lang;
    let snapshot = ctx.core.snapshot();
    let now = platform::now();
    let role = ctx.core.session().map(|s| s.user.role);
    let clerk = role == Some(Role::WindowClerk);
    let shown: Vec<_> = snapshot
        .enterprises
        .iter()
        .filter(|e| matches_search(e, query))
        .collect();

    html! {
        <main key="enterprises" ~className={if clerk { "screen enterprises window-desk" } else { "screen enterprises" }}>
            <div class="title-row">
                <h1>{ lang.t(if clerk { Key::WindowDesk } else { Key::MyEnterprises }) }</h1>
                <a ~className={if clerk { "button primary" } else { "button secondary" }} href={Route::Intake(None).hash()}>{ lang.t(Key::Intake) }</a>
            </div>
            if role == Some(Role::Officer) { { todo_counts(ctx) } }
            if !clerk { { follow_ups(ctx) } }
            <input class="search" type="search" placeholder={lang.t(Key::SearchPlaceholder)}
                aria-label={lang.t(Key::SearchPlaceholder)} value={(**query).clone()} oninput={bind(query)} />
            if snapshot.enterprises.is_empty() {
                <p class="empty">{ lang.t(Key::NoEnterprises) }</p>
            } else if shown.is_empty() {
                <p class="empty">{ lang.t(Key::NoMatch) }</p>
            }
            <ul class="cards">
                { for shown.into_iter().map(|e| {
                    let s = summarize(e.id, &snapshot.visits, &snapshot.problems, &ctx.core.config(), now);
                    let last = match s.last_visit {
                        Some(t) => platform::format_date(t),
                        None => lang.t(Key::NotVisited).to_string(),
                    };
                    html! {
                        <li class="card enterprise-card">
                            <a href={(if clerk { Route::Intake(Some(e.id)) } else { Route::Enterprise(e.id) }).hash()}>
                                <div class="card-title">
                                    <strong class="enterprise-name">{ e.name.clone() }</strong>
                                    if let Some(flag) = s.worst_flag { { flag_badge(lang, flag) } }
                                </div>
                                <div class="card-facts">
                                    if !clerk { <span>{ lang.t(Key::LastVisit) }{ last }</span> }
                                    <span>{ lang.t(Key::OpenProblems) }{ s.open_problems }</span>
                                    if s.overdue > 0 {
                                        <span class="overdue">{ lang.t(Key::Overdue) }{ s.overdue }</span>
                                    }
                                </div>
                            </a>
                        </li>
                    }
                }) }
            </ul>
            { flag_legend(lang, &ctx.core.config()) }
        </main>
    }
}
