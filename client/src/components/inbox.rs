//! A department handler's inbox (待办): the problems handed to their department, read from
//! `GET /api/problems` (which answers a handler with their department's problems only),
//! refetched after every sync round. Tabs split what waits for acceptance from what is being
//! worked on; each row offers the quick steps — accept (受理), return with a reason (退回),
//! start (开始办理) — recorded on the problem's document on this device, and links to the
//! problem page for progress, the response and extension requests. Above the tabs, counts
//! from the department's problems on this device (`shared::todo::handler_inbox`, with the
//! district's 临期 window): to accept, due soon, overdue, and how many were handed out since
//! the person last opened the inbox (kept per user in this browser, `infra::seen`); those
//! rows are marked 新.

use shared::doc::{DocKind, ProblemDoc};
use shared::model::{EntryId, ProblemState};
use shared::sync::protocol::DocId;
use shared::workflow::Action;
use yew::prelude::*;

use super::problem_list::{Load, Row, row_excerpt, row_facts, shown, use_problems};
use super::widgets::{Ctx, bind, flag_badge, flag_legend, state_badge};
use crate::infra::i18n::{self, Key, Lang};
use crate::infra::route::Route;
use crate::infra::{directory, platform, seen};
use shared::model::Timestamp;
use shared::todo::{handed_out_at, handler_inbox};

/// The inbox's tabs: label and the states they list.
const TABS: [(&str, &str, &str); 4] = [
    ("待受理", "To accept", "assigned"),
    (
        "办理中",
        "In hand",
        "accepted,in_progress,responded,disputed,reopened",
    ),
    ("已退回", "Returned", "returned"),
    ("全部", "All", ""),
];

/// Properties of [`Inbox`].
#[derive(PartialEq, Properties)]
pub struct InboxProps {
    /// The app context (the device, the language, the change counter).
    pub ctx: Ctx,
}

/// The inbox.
#[component]
pub fn Inbox(props: &InboxProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let tab = use_state(|| 0usize);
    let (_, _, states) = TABS[*tab];
    let query = if states.is_empty() {
        "sort=deadline&order=asc&limit=100".to_string()
    } else {
        format!("state={states}&sort=deadline&order=asc&limit=100")
    };
    let page = use_problems(&ctx, query);
    let session = ctx.core.session();
    let department = session
        .as_ref()
        .and_then(|s| directory::unit_name(s.user.org_unit));
    // The last look before this visit, read once; this visit is the new last look.
    let last_seen = {
        let user = session.as_ref().map(|s| s.user.id);
        use_state(move || {
            let before = user.and_then(seen::load);
            if let Some(user) = user {
                seen::save(user, platform::now());
            }
            before
        })
    };
    let counts = session.as_ref().map(|s| {
        let snapshot = ctx.core.snapshot();
        let config = ctx.core.config();
        handler_inbox(
            s.user.org_unit,
            &snapshot.problems,
            &config,
            platform::now(),
            config.due_soon_days(),
            *last_seen,
        )
    });

    html! {
        <main key="inbox" class="screen inbox">
            <h1>{ lang.pick("待办", "Inbox") }
                if let Some(d) = department { <span class="muted small">{ " · " }{ d }</span> }</h1>
            if let Some(c) = counts {
                <ul class="inbox-counts">
                    <li data-kind="new"><strong>{ c.new }</strong>{ lang.pick(" 待受理", " to accept") }</li>
                    <li data-kind="due_soon"><strong>{ c.due_soon }</strong>{ lang.pick(" 即将到期", " due soon") }</li>
                    <li data-kind="overdue" class={classes!((c.overdue > 0).then_some("overdue"))}><strong>{ c.overdue }</strong>{ lang.pick(" 已超期", " overdue") }</li>
                    <li data-kind="unseen"><strong>{ c.unseen }</strong>{ lang.pick(" 条上次查看后新到", " new since last seen") }</li>
                </ul>
            }
            <div class="tabs" role="tablist">
                { for TABS.iter().enumerate().map(|(i, (zh, en, states))| {
                    let onclick = { let tab = tab.clone(); Callback::from(move |_: MouseEvent| tab.set(i)) };
                    let here = i == *tab;
                    html! {
                        <button type="button" role="tab" aria-selected={if here { "true" } else { "false" }}
                            class={classes!("tab", here.then_some("current"))} data-states={*states} {onclick}>
                            { lang.pick(zh, en) }
                        </button>
                    }
                }) }
            </div>
            { match &page {
                Load::Loading => html! { <p class="loading">{ lang.pick("正在读取…", "Loading…") }</p> },
                Load::Failed(m) => html! { <p class="field-error" role="alert">{ m.clone() }</p> },
                Load::Ready(p) if p.rows.is_empty() => html! {
                    <p class="empty">{ lang.pick("这里没有问题。", "Nothing here.") }</p>
                },
                Load::Ready(p) => html! {
                    <>
                    <p class="muted small list-total" data-total={p.total.to_string()}>
                        { lang.pick("共 {n} 条", "{n} in all").replace("{n}", &p.total.to_string()) }</p>
                    <ul class="inbox-rows">
                        { for p.rows.iter().map(|row| html! { <InboxRow key={row.id.to_string()} ctx={ctx.clone()} row={row.clone()} seen={*last_seen} /> }) }
                    </ul>
                    { flag_legend(lang, &ctx.core.config()) }
                    </>
                },
            } }
        </main>
    }
}

/// Properties of [`InboxRow`].
#[derive(PartialEq, Properties)]
struct InboxRowProps {
    /// The app context (the device, the language, the change counter).
    pub ctx: Ctx,
    row: Row,
    /// The person's last look at the inbox before this visit.
    seen: Option<Timestamp>,
}

/// Records a workflow action on the problem's document on this device and saves it.
fn act(
    core: &std::rc::Rc<crate::sync::Core>,
    lang: Lang,
    row: &Row,
    action: Action,
    reason: &str,
    message: &UseStateHandle<Option<(bool, String)>>,
) -> bool {
    let doc_id = DocId::new(DocKind::Problem, &row.id.to_string());
    let (Some(actor), Some(record)) = (core.actor(), core.doc(&doc_id)) else {
        message.set(Some((false, lang.t(Key::NotOnDevice).into())));
        return false;
    };
    let event = EntryId::from_random_bytes(platform::random_bytes());
    let edited = ProblemDoc::from_record(record).and_then(|mut doc| {
        doc.act(&actor, platform::now(), event, action, reason.trim())
            .map(|_| doc)
    });
    match edited {
        Ok(doc) => {
            let message = message.clone();
            core.save(
                vec![(doc_id, doc.into_record())],
                Callback::from(move |r: Result<(), crate::sync::SaveError>| {
                    message.set(Some(match r {
                        Ok(()) => (true, lang.t(Key::SavedOnDevice).to_string()),
                        Err(e) => (false, i18n::save_error(lang, &e)),
                    }));
                }),
            );
            true
        }
        Err(e) => {
            message.set(Some((false, i18n::doc_error(lang, &e))));
            false
        }
    }
}

/// One problem of the inbox with its quick steps.
#[component]
fn InboxRow(props: &InboxRowProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let core = ctx.core.clone();
    let returning = use_state(|| false);
    let reason = use_state(String::new);
    let message = use_state(|| None::<(bool, String)>);
    let row = &props.row;
    let snapshot = core.snapshot();
    let local = snapshot.problems.iter().find(|p| p.id == row.id);
    let s = shown(row, local, &core);

    let quick = |action: Action| {
        let (core, row, message) = (core.clone(), row.clone(), message.clone());
        Callback::from(move |_: MouseEvent| {
            act(&core, lang, &row, action.clone(), "", &message);
        })
    };
    let open_return = {
        let (returning, message) = (returning.clone(), message.clone());
        Callback::from(move |_: MouseEvent| {
            returning.set(true);
            message.set(None);
        })
    };
    let confirm_return = {
        let (core, row, message, reason, returning) = (
            core.clone(),
            row.clone(),
            message.clone(),
            reason.clone(),
            returning.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if reason.trim().is_empty() {
                message.set(Some((false, lang.t(Key::ReasonRequired).into())));
                return;
            }
            if act(&core, lang, &row, Action::Return, &reason, &message) {
                returning.set(false);
                reason.set(String::new());
            }
        })
    };
    let on_device = local.is_some();
    let unit = core.session().map(|s| s.user.org_unit);
    let arrived = local.zip(unit).and_then(|(p, u)| handed_out_at(p, u));
    let unseen = arrived.is_some_and(|at| props.seen.is_none_or(|s| at > s));

    html! {
        <li class="card inbox-row" data-id={row.id.to_string()} data-state={s.state.code()}>
            <a class="problem-link" href={Route::Problem(row.id).hash()}>
                <div class="card-title">
                    if unseen { <span class="badge overdue unseen">{ lang.pick("新", "New") }</span> }
                    <strong class="row-enterprise">{ row.enterprise_name.clone() }</strong>
                    { flag_badge(lang, s.flag) }
                    { state_badge(lang, s.state) }
                </div>
                { row_excerpt(lang, &core, row, local) }
                { row_facts(lang, &core, row, &s) }
            </a>
            if on_device {
                <div class="row-actions">
                    if s.state == ProblemState::Assigned {
                        <button type="button" class="primary accept" onclick={quick(Action::Accept)}>{ lang.pick("受理", "Accept") }</button>
                    }
                    if s.state == ProblemState::Accepted {
                        <button type="button" class="primary start" onclick={quick(Action::Start)}>{ lang.pick("开始办理", "Start") }</button>
                    }
                    if matches!(s.state, ProblemState::Assigned | ProblemState::Accepted) && !*returning {
                        <button type="button" class="secondary return" onclick={open_return}>{ lang.pick("退回", "Return") }</button>
                    }
                    <a class="button secondary" href={Route::Problem(row.id).hash()}>{ lang.pick("办理", "Work on it") }</a>
                </div>
                if *returning {
                    <form class="form return-form" onsubmit={confirm_return}>
                        <label for={format!("return-reason-{}", row.id)}>{ lang.pick("退回理由（必填）", "Reason for returning (required)") }</label>
                        <textarea id={format!("return-reason-{}", row.id)} class="return-reason" rows="2"
                            value={(*reason).clone()} oninput={bind(&reason)} />
                        <button type="submit" class="primary confirm-return">{ lang.pick("确认退回", "Return it") }</button>
                    </form>
                }
            }
            { match &*message {
                Some((true, m)) => html! { <p class="hint saved" role="status">{ m.clone() }</p> },
                Some((false, m)) => html! { <p class="field-error" role="alert">{ m.clone() }</p> },
                None => html! {},
            } }
        </li>
    }
}
