//! The officer's to-do (待办) on the home screen: how many of each kind
//! `shared::todo::officer_todo` finds in the device's records and its refused list — the same
//! definition the server's `GET /api/todo` counts by — and the total on the app icon's badge
//! where the browser has one (`infra::badge`). Works offline.

use shared::model::Role;
use shared::sync::protocol::DocId;
use shared::todo::{DUE_SOON_DAYS, Officer, TodoCounts, TodoKind, officer_todo};
use yew::prelude::*;

use super::widgets::Ctx;
use crate::infra::{badge, platform};

/// The counts, every kind shown (a zero muted); sets the app icon's badge. A plain function,
/// not a component, like the follow-ups beside it.
pub fn todo_counts(ctx: &Ctx) -> Html {
    let lang = ctx.lang;
    let Some(session) = ctx.core.session().filter(|s| s.user.role == Role::Officer) else {
        return html! {};
    };
    let snapshot = ctx.core.snapshot();
    let refused: Vec<DocId> = ctx
        .core
        .status()
        .refused
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let me = Officer {
        user: session.user.id,
        unit: session.user.org_unit,
    };
    let items = officer_todo(
        me,
        &snapshot.problems,
        &refused,
        &ctx.core.config,
        platform::now(),
        DUE_SOON_DAYS,
    );
    let c = TodoCounts::of(&items, true);
    badge::set(c.total());
    let tiles = [
        (TodoKind::Overdue, c.overdue),
        (TodoKind::DueSoon, c.due_soon),
        (TodoKind::AwaitingConfirmation, c.awaiting_confirmation),
        (TodoKind::Revisit, c.revisits),
        (TodoKind::LookBack, c.look_backs),
        (TodoKind::Supervision, c.supervision),
        (TodoKind::Refused, c.refused.unwrap_or(0)),
    ];
    html! {
        <section class="card todo">
            <h2>{ lang.pick("待办", "To do") }{ " " }<span class="todo-total">{ c.total() }</span></h2>
            <ul class="todo-counts">
                { for tiles.into_iter().map(|(kind, n)| html! {
                    <li class={classes!("todo-count", (n == 0).then_some("muted"))} data-kind={kind.code()}>
                        <strong>{ n }</strong>{ " " }{ lang.pick(kind.zh(), kind.en()) }
                    </li>
                }) }
            </ul>
        </section>
    }
}
