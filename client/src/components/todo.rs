//! The officer's to-do (待办) at the top of their home screen: how many items of each
//! [`TodoKind`] `Core::todo` finds on the device (the same `shared::todo::officer_todo` the
//! server's `GET /api/todo` runs), each with its label from `TodoKind`. A count above zero
//! opens its list: the problems, each a link to its page with its enterprise and due date, or
//! for the refused records the sync page, which lists them with the server's reasons.

use shared::todo::TodoKind;
use yew::prelude::*;

use super::widgets::Ctx;
use crate::infra::platform;
use crate::infra::route::Route;

/// The counts, every kind shown (zero too). A plain function, not a component (no state).
pub fn todo_counts(ctx: &Ctx) -> Html {
    let lang = ctx.lang;
    let items = ctx.core.todo();
    let snapshot = ctx.core.snapshot();
    let name = |id| {
        snapshot
            .enterprises
            .iter()
            .find(|e| Some(e.id) == id)
            .map(|e| e.name.clone())
            .unwrap_or_default()
    };
    html! {
        <section class="card todo">
            <h2>{ lang.pick("待办", "To do") }</h2>
            <ul class="todo-counts">
                { for TodoKind::ALL.iter().map(|&kind| {
                    let of_kind = || items.iter().filter(move |i| i.kind == kind);
                    let n = of_kind().count();
                    let label = html! { <><strong>{ n }</strong>{ " " }{ lang.pick(kind.zh(), kind.en()) }</> };
                    html! {
                        <li data-kind={kind.code()}>
                            if n == 0 {
                                { label }
                            } else if kind == TodoKind::Refused {
                                <a href={Route::Sync.hash()}>{ label }</a>
                            } else {
                                <details>
                                    <summary>{ label }</summary>
                                    <ul>
                                        { for of_kind().map(|i| html! {
                                            <li><a href={Route::of_doc(&i.record).hash()}>{ name(i.enterprise) }
                                                if let Some(due) = i.due { { " · " }{ platform::format_date(due) } }</a></li>
                                        }) }
                                    </ul>
                                </details>
                            }
                        </li>
                    }
                }) }
            </ul>
        </section>
    }
}
