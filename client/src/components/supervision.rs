//! A problem's supervision instructions (督办) on its page: each with its addressee, due date,
//! state (`shared::supervision::state`) and acknowledgement (签收), in both bundles; the
//! acknowledge button offered to the addressee (`rights::may_acknowledge`) in the full bundle
//! (handlers, leaders; the officer bundle's share waits for room in its budget). The form leaders and supervisors give one with (`rights::may_supervise`;
//! text, an addressee picked from the problem's people and the directory's departments and
//! towns, a due date: `shared::supervision::parse_instruction`) is `supervision_form`, in the
//! full bundle only (no role of the officer bundle gives instructions).

use shared::model::{Addressee, Problem, ProblemState, Supervision};
use shared::supervision::{SupervisionState, awaits_acknowledgement};
use shared::workflow::rights;
use yew::prelude::*;

use super::problem::message_line;
use super::widgets::Ctx;
use crate::infra::i18n::{self, Lang};
use crate::infra::{directory, platform};

/// To whom, by name.
#[cfg_attr(not(feature = "leader"), allow(dead_code))]
pub(super) fn addressee_name(lang: Lang, ctx: &Ctx, to: Addressee) -> String {
    match to {
        Addressee::Person(user) => i18n::person(lang, &ctx.core, user),
        Addressee::Unit(unit) => {
            directory::unit_name(unit).unwrap_or_else(|| unit.to_string().chars().take(8).collect())
        }
    }
}

/// The state as a badge.
#[cfg_attr(not(feature = "leader"), allow(dead_code))]
pub(super) fn state_badge(lang: Lang, s: SupervisionState) -> Html {
    html! {
        <span ~className={match s {
            SupervisionState::Overdue => "badge overdue supervision-state",
            SupervisionState::Closed => "badge state closed supervision-state",
            _ => "badge state supervision-state",
        }} data-state={s.code()}>
            { lang.pick(s.zh(), s.en()) }</span>
    }
}

/// One instruction, with its addressee, due date, state and acknowledgement, and the
/// acknowledge button when it is the person's to acknowledge (full bundle).
#[cfg(feature = "leader")]
fn entry(
    lang: Lang,
    ctx: &Ctx,
    s: &Supervision,
    problem_state: ProblemState,
    acknowledge: Option<Callback<MouseEvent>>,
) -> Html {
    let st = shared::supervision::state(s, problem_state, platform::now());
    html! {
        <li class="supervision-entry" data-id={s.id.to_string()}>
            <span class="muted">{ platform::format_time(s.stamp.at) }{ " · " }{ i18n::person(lang, &ctx.core, s.stamp.by) }</span>
            if s.to.is_some() { { " " }{ state_badge(lang, st) } }
            <p>{ s.text.clone() }</p>
            if let Some(to) = s.to {
                <p class="supervision-to muted">{ lang.pick("督办对象：", "To: ") }{ addressee_name(lang, ctx, to) }
                    if let Some(due) = s.due { { lang.pick("，期限 ", ", due ") }{ platform::format_date(due) } }</p>
            }
            if let Some(ack) = s.acknowledged() {
                <p class="supervision-ack muted">{ lang.pick("已签收：", "Acknowledged: ") }
                    { i18n::person(lang, &ctx.core, ack.stamp.by) }{ " · " }{ platform::format_time(ack.stamp.at) }</p>
            }
            if let Some(onclick) = acknowledge {
                <button type="button" class="secondary acknowledge-supervision" {onclick}>{ lang.pick("签收", "Acknowledge") }</button>
            }
        </li>
    }
}

/// One instruction as the officer bundle shows it: when, by whom, what (the addressee, due
/// date, state and 签收 wait for room in its download budget).
#[cfg(not(feature = "leader"))]
fn entry(
    lang: Lang,
    ctx: &Ctx,
    s: &Supervision,
    _: ProblemState,
    _: Option<Callback<MouseEvent>>,
) -> Html {
    html! {
        <li class="supervision-entry" data-id={s.id.to_string()}>
            <span class="muted">{ platform::format_time(s.stamp.at) }{ " · " }{ i18n::person(lang, &ctx.core, s.stamp.by) }</span>
            <p>{ s.text.clone() }</p>
        </li>
    }
}

/// The supervision card of a problem page (`problem` in `problem_state`); nothing when there
/// is nothing to show or give. `message` is the page's line for this card's results. A plain
/// function, not a component: the officer bundle carries no component type for it.
pub fn supervision_card(
    ctx: &Ctx,
    problem: &Problem,
    problem_state: ProblemState,
    message: &UseStateHandle<Option<(bool, String)>>,
) -> Html {
    let lang = ctx.lang;
    let Some(session) = ctx.core.session() else {
        return html! {};
    };
    let (me, unit, role) = (session.user.id, session.user.org_unit, session.user.role);
    let leads = rights::may_supervise(role).is_ok();
    if !leads && problem.supervision.is_empty() {
        return html! {};
    }
    let acknowledge = |s: &Supervision| -> Option<Callback<MouseEvent>> {
        let mine = awaits_acknowledgement(s, me, unit)
            && rights::may_acknowledge(role, me, unit, s.to).is_ok();
        (!problem_state.is_closed() && mine)
            .then(|| acknowledge_button(ctx, problem, s, message))
            .flatten()
    };

    html! {
        <section class="card supervision">
            <h2>{ lang.pick("督办", "Supervision") }</h2>
            <ol class="log">
                { for problem.supervision.iter().map(|s| entry(lang, ctx, s, problem_state, acknowledge(s))) }
            </ol>
            { message_line(message) }
            if leads { { give_form(ctx, problem) } }
        </section>
    }
}

/// The 签收 button's action: records the acknowledgement on the problem's document on this
/// device. Full bundle only for now: the officer bundle's share (an officer acknowledging on
/// the phone, with the home's to-do counts) waits for room in its download budget.
#[cfg(feature = "leader")]
fn acknowledge_button(
    ctx: &Ctx,
    problem: &Problem,
    s: &Supervision,
    message: &UseStateHandle<Option<(bool, String)>>,
) -> Option<Callback<MouseEvent>> {
    use shared::doc::DocKind;
    use shared::model::EntryId;
    use shared::sync::protocol::DocId;

    let lang = ctx.lang;
    let (core, message) = (ctx.core.clone(), message.clone());
    let doc_id = DocId::new(DocKind::Problem, &problem.id.to_string());
    let instruction = s.id;
    Some(Callback::from(move |_: MouseEvent| {
        let config = core.config();
        let id = EntryId::from_random_bytes(platform::random_bytes());
        super::problem::edit_problem(&core, lang, &doc_id, &message, &mut |doc, actor| {
            doc.edit(&config, actor, platform::now(), |e| {
                e.acknowledge_supervision(instruction, id)
            })
        });
    }))
}

#[cfg(not(feature = "leader"))]
fn acknowledge_button(
    _: &Ctx,
    _: &Problem,
    _: &Supervision,
    _: &UseStateHandle<Option<(bool, String)>>,
) -> Option<Callback<MouseEvent>> {
    None
}

#[cfg(feature = "leader")]
fn give_form(ctx: &Ctx, problem: &Problem) -> Html {
    html! { <super::supervision_form::SupervisionForm ctx={ctx.clone()} problem={problem.clone()} /> }
}

/// No role of the officer bundle gives instructions (leaders and supervisors switch to the
/// full bundle).
#[cfg(not(feature = "leader"))]
fn give_form(_: &Ctx, _: &Problem) -> Html {
    html! {}
}
