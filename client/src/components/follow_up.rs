//! The owner officer's follow-ups: the revisit (回访) a bad rating, a dispute or a look-back
//! owes, and the look-back (回头看) after sign-off. Listed on the officer's home screen from the
//! device's records (`shared::forms::follow_ups`), and explained on the problem screen (why it
//! was reopened, when the revisit or look-back is due).

use shared::derive::{Derived, Task};
use shared::model::Problem;
use shared::workflow::Action;
use yew::prelude::*;

use super::widgets::Ctx;
use crate::infra::i18n::{self, Lang};
use crate::infra::platform;
use crate::infra::route::Route;

/// "Due on …", marked when overdue.
fn due_line(lang: Lang, task: &Task) -> Html {
    let class = if task.overdue {
        "task-due overdue"
    } else {
        "task-due"
    };
    html! {
        <span ~className={class}>{ lang.pick("期限 ", "Due ") }{ platform::format_date(task.due) }
            if task.overdue { { lang.pick("（已逾期）", " (overdue)") } }</span>
    }
}

/// On the problem screen: why it was reopened and by when the revisit is due, or when its
/// look-back falls due.
pub fn follow_up_notice(lang: Lang, problem: &Problem, derived: &Derived) -> Html {
    let reopening = derived.revisit.as_ref().and_then(|task| {
        let event = problem.events.iter().find(|e| Some(e.id) == task.event)?;
        Some((task, event))
    });
    match (reopening, &derived.look_back) {
        (Some((task, event)), _) => html! {
            <div class="notice reopened" role="status">
                <strong>{ lang.pick("重新打开：", "Reopened: ") }{ i18n::action(lang, event.action.kind()) }
                    if let Action::BadRating { rating } = event.action { { " · " }{ lang.pick(rating.zh(), rating.en()) } }</strong>
                if !event.reason.is_empty() { <p class="reopened-reason">{ event.reason.clone() }</p> }
                <p>{ lang.pick(task.kind.zh(), task.kind.en()) }{ " · " }{ due_line(lang, task) }</p>
            </div>
        },
        (None, Some(task)) => html! {
            <p class="notice look-back-due">{ lang.pick(task.kind.zh(), task.kind.en()) }{ " · " }{ due_line(lang, task) }</p>
        },
        (None, None) => html! {},
    }
}

/// The officer's follow-ups, earliest due first; nothing when none is owed. A plain function,
/// not a component: it has no state, and each component type is its own copy of yew's
/// component machinery in the wasm.
pub fn follow_ups(ctx: &Ctx) -> Html {
    let lang = ctx.lang;
    let Some(session) = ctx.core.session() else {
        return html! {};
    };
    let snapshot = ctx.core.snapshot();
    let now = platform::now();
    let tasks =
        shared::forms::follow_ups(session.user.id, &snapshot.problems, &ctx.core.config(), now);
    if tasks.is_empty() {
        return html! {};
    }
    let name = |id| {
        snapshot
            .enterprises
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.name.clone())
            .unwrap_or_default()
    };
    html! {
        <section class="card follow-ups">
            <h2>{ lang.pick("待办回访与回头看", "Revisits and look-backs") }</h2>
            <ul>
                { for tasks.iter().map(|(problem, enterprise, task)| html! {
                    <li class="follow-up" data-kind={task.kind.code()} data-problem={problem.to_string()}>
                        <a href={Route::Problem(*problem).hash()}>
                            <strong>{ lang.pick(task.kind.zh(), task.kind.en()) }</strong>{ " · " }{ name(*enterprise) }{ " · " }
                            { due_line(lang, task) }
                        </a>
                    </li>
                }) }
            </ul>
        </section>
    }
}
