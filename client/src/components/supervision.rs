//! A problem's supervision instructions (督办) on its page: each with its addressee, due date,
//! state (`shared::supervision::state`) and acknowledgement (签收); the form leaders and
//! supervisors give one with (`rights::may_supervise`; text, an addressee picked from the
//! problem's people and the directory's departments and towns, a due date:
//! `shared::supervision::parse_instruction`); and the acknowledge button, offered to the
//! addressee (`rights::may_acknowledge`). Both bundles: officers acknowledge too.

use shared::model::{Addressee, EntryId, OrgUnitId, Problem, ProblemState, Supervision};
use shared::supervision::{
    SupervisionState, addressee_code, awaits_acknowledgement, parse_instruction, state,
};
use shared::workflow::rights;
use yew::prelude::*;

use super::problem::{edit_problem, message_line};
use super::widgets::{Ctx, bind, bind_select};
use crate::infra::i18n::{self, Lang};
use crate::infra::{directory, platform};
use shared::doc::DocKind;
use shared::sync::protocol::DocId;

/// Properties of [`SupervisionCard`].
#[derive(PartialEq, Properties)]
pub struct SupervisionCardProps {
    /// The app context.
    pub ctx: Ctx,
    /// The problem.
    pub problem: Problem,
    /// Its state now.
    pub state: ProblemState,
}

/// To whom, by name.
fn addressee_name(lang: Lang, ctx: &Ctx, to: Addressee) -> String {
    match to {
        Addressee::Person(user) => i18n::person(lang, &ctx.core, user),
        Addressee::Unit(unit) => {
            directory::unit_name(unit).unwrap_or_else(|| unit.to_string().chars().take(8).collect())
        }
    }
}

/// The state as a badge.
fn state_badge(lang: Lang, s: SupervisionState) -> Html {
    html! {
        <span class={classes!("badge", "supervision-state", s.code())} data-state={s.code()}>
            { lang.pick(s.zh(), s.en()) }</span>
    }
}

/// Whom a leader may address: the problem's owner and leader, its departments first, then
/// every other department and town in the directory.
fn choices(lang: Lang, ctx: &Ctx, p: &Problem) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut push = |to: Addressee, label: String| {
        let code = addressee_code(to);
        if !out.iter().any(|(c, _)| *c == code) {
            out.push((code, label));
        }
    };
    let person = |u| Addressee::Person(u);
    push(
        person(p.owner),
        format!(
            "{}{}",
            lang.pick("包联干部 ", "Officer "),
            addressee_name(lang, ctx, person(p.owner))
        ),
    );
    if let Some(l) = p.leader {
        push(
            person(l),
            format!(
                "{}{}",
                lang.pick("责任领导 ", "Leader "),
                addressee_name(lang, ctx, person(l))
            ),
        );
    }
    let handling: Vec<OrgUnitId> = p.handling_units.iter().copied().collect();
    for u in &handling {
        push(
            Addressee::Unit(*u),
            addressee_name(lang, ctx, Addressee::Unit(*u)),
        );
    }
    for (u, name) in directory::departments()
        .into_iter()
        .chain(directory::towns())
    {
        push(Addressee::Unit(u), name);
    }
    out
}

/// One instruction, with the acknowledge button when it is the person's to acknowledge.
fn entry(
    lang: Lang,
    ctx: &Ctx,
    s: &Supervision,
    problem_state: ProblemState,
    acknowledge: Option<Callback<MouseEvent>>,
) -> Html {
    let now = platform::now();
    let st = state(s, problem_state, now);
    let by = i18n::person(lang, &ctx.core, s.stamp.by);
    html! {
        <li class="supervision-entry" data-id={s.id.to_string()}>
            <span class="muted">{ platform::format_time(s.stamp.at) }{ " · " }{ by }</span>
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

/// The supervision card of a problem page; nothing when there is nothing to show or give.
#[component]
pub fn SupervisionCard(props: &SupervisionCardProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let text = use_state(String::new);
    let to = use_state(String::new);
    let due = use_state(String::new);
    let message = use_state(|| None::<(bool, String)>);
    let Some(session) = ctx.core.session() else {
        return html! {};
    };
    let (me, unit, role) = (session.user.id, session.user.org_unit, session.user.role);
    let p = &props.problem;
    let leads = rights::may_supervise(role).is_ok();
    if !leads && p.supervision.is_empty() {
        return html! {};
    }
    let doc_id = DocId::new(DocKind::Problem, &p.id.to_string());

    let give = {
        let (core, doc_id) = (ctx.core.clone(), doc_id.clone());
        let (text, to, due, message) = (text.clone(), to.clone(), due.clone(), message.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let parsed = parse_instruction(&text, &to, &due, platform::utc_offset_minutes());
            let i = match parsed {
                Ok(i) => i,
                Err(err) => {
                    message.set(Some((false, i18n::form_error(lang, &err.error))));
                    return;
                }
            };
            let config = core.config.clone();
            let id = EntryId::from_random_bytes(platform::random_bytes());
            if edit_problem(&core, lang, &doc_id, &message, |doc, actor| {
                doc.edit(&config, actor, platform::now(), |e| {
                    e.supervise(id, &i.text, i.to, i.due)
                })
            }) {
                text.set(String::new());
            }
        })
    };
    let acknowledge = |s: &Supervision| -> Option<Callback<MouseEvent>> {
        let open = !props.state.is_closed();
        let mine = awaits_acknowledgement(s, me, unit)
            && rights::may_acknowledge(role, me, unit, s.to).is_ok();
        (open && mine).then(|| {
            let (core, doc_id, message) = (ctx.core.clone(), doc_id.clone(), message.clone());
            let instruction = s.id;
            Callback::from(move |_: MouseEvent| {
                let config = core.config.clone();
                let id = EntryId::from_random_bytes(platform::random_bytes());
                edit_problem(&core, lang, &doc_id, &message, |doc, actor| {
                    doc.edit(&config, actor, platform::now(), |e| {
                        e.acknowledge_supervision(instruction, id)
                    })
                });
            })
        })
    };

    html! {
        <section class="card supervision">
            <h2>{ lang.pick("督办", "Supervision") }</h2>
            <ol class="log">
                { for p.supervision.iter().map(|s| entry(lang, &ctx, s, props.state, acknowledge(s))) }
            </ol>
            if leads {
                <form class="form" onsubmit={give}>
                    <textarea id="supervision" rows="2" placeholder={lang.pick("督办要求，如：请于本周内反馈进展", "Instruction, e.g. report progress this week")}
                        value={(*text).clone()} oninput={bind(&text)} />
                    <label for="supervision-to">{ lang.pick("督办对象", "To") }</label>
                    <select id="supervision-to" onchange={bind_select(&to)}>
                        <option value="" selected={to.is_empty()} disabled=true>{ lang.pick("选择人员或单位", "Choose a person or unit") }</option>
                        { for choices(lang, &ctx, p).into_iter().map(|(code, label)| {
                            let selected = code == *to;
                            html! { <option value={code} {selected}>{ label }</option> }
                        }) }
                    </select>
                    <label for="supervision-due">{ lang.pick("办结期限", "Due") }</label>
                    <input id="supervision-due" type="date" value={(*due).clone()} oninput={bind(&due)} />
                    { message_line(&message) }
                    <button type="submit" class="secondary give-supervision">{ lang.pick("下达督办", "Give instruction") }</button>
                </form>
            } else {
                { message_line(&message) }
            }
        </section>
    }
}
