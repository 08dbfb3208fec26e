//! The problem list (问题清单) behind every number of the dashboard and the flag board
//! (红绿黑旗). Rows come from the server's `GET /api/problems` — filters, sort and page from
//! the route's query string, refetched after every sync round so the list stays live — while
//! every write is a CRDT change (`batch`). Split by concern: `query` (the query string),
//! `rows` (reading and showing rows, shared with the handler's inbox), `filters` (chips,
//! panel, names of filters), `table` (rows and pager), `batch` (batch actions and the
//! department picker), `flags` (the flag board).

use std::collections::BTreeSet;

use shared::forms::{BatchAction, parse_date_end};
use shared::model::{OrgUnitId, ProblemId, Role};
use yew::prelude::*;

use super::widgets::{Ctx, bind, bind_select, flag_legend};
use crate::infra::i18n::{self, Key};
use crate::infra::{directory, platform};

mod batch;
mod filters;
mod flags;
mod query;
mod rows;
mod table;

pub use batch::unit_picker;
use batch::{BatchOutcome, batch_result, run_batch};
// The flag board and the inbox's helpers are routed only in the full bundle.
#[cfg_attr(not(feature = "leader"), allow(unused_imports))]
pub use flags::FlagBoard;
pub use query::Query;
#[cfg_attr(not(feature = "leader"), allow(unused_imports))]
pub use rows::{Load, Row, api_error, local_problems, row_excerpt, row_facts, shown, use_problems};

/// Properties of [`ProblemList`].
#[derive(PartialEq, Properties)]
pub struct ProblemListProps {
    /// The app context (the device, the language, the change counter).
    pub ctx: Ctx,
    /// The list's query string (`/api/problems` parameters).
    pub query: String,
}

/// The problem list: filters, sort, pages, and batch actions on the selected rows.
#[component]
pub fn ProblemList(props: &ProblemListProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let core = ctx.core.clone();
    let query = Query::parse(&props.query);
    let page = use_problems(&ctx, query.to_string());
    let selected = use_state(BTreeSet::<ProblemId>::new);
    let action = use_state(String::new);
    let unit = use_state(String::new);
    let deadline = use_state(String::new);
    let reason = use_state(String::new);
    let outcome = use_state(|| None::<BatchOutcome>);
    let message = use_state(|| None::<String>);

    let (snapshot, index) = local_problems(&core);
    let local = |id: &ProblemId| index.get(id).map(|i| &snapshot.problems[*i]);
    let role = core.session().map(|s| s.user.role);
    let batches = matches!(role, Some(Role::Leader | Role::Supervisor));
    let departments = directory::departments();

    let rows: Vec<Row> = match &page {
        Load::Ready(p) => p.rows.clone(),
        _ => Vec::new(),
    };

    let toggle = |id: ProblemId| {
        let selected = selected.clone();
        Callback::from(move |_: Event| {
            let mut next = (*selected).clone();
            if !next.remove(&id) {
                next.insert(id);
            }
            selected.set(next);
        })
    };
    let selectable: Vec<ProblemId> = rows
        .iter()
        .filter(|r| index.contains_key(&r.id))
        .map(|r| r.id)
        .collect();
    let all_selected = !selectable.is_empty() && selectable.iter().all(|id| selected.contains(id));
    let toggle_all = {
        let selected = selected.clone();
        let selectable = selectable.clone();
        Callback::from(move |_: Event| {
            let mut next = (*selected).clone();
            if all_selected {
                for id in &selectable {
                    next.remove(id);
                }
            } else {
                next.extend(selectable.iter().copied());
            }
            selected.set(next);
        })
    };

    let apply = {
        let core = core.clone();
        let (action, unit, deadline, reason) = (
            action.clone(),
            unit.clone(),
            deadline.clone(),
            reason.clone(),
        );
        let (selected, outcome, message) = (selected.clone(), outcome.clone(), message.clone());
        let rows = rows.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            message.set(None);
            let batch = match action.as_str() {
                "assign" => match OrgUnitId::parse(unit.trim()) {
                    Ok(unit) => BatchAction::HandOut { unit },
                    Err(_) => {
                        message.set(Some(
                            lang.pick("请选择承办部门。", "Choose a department.").into(),
                        ));
                        return;
                    }
                },
                "extend" => match parse_date_end(&deadline, platform::utc_offset_minutes()) {
                    Ok(deadline) => BatchAction::Extend { deadline },
                    Err(e) => {
                        message.set(Some(i18n::form_error(lang, &e)));
                        return;
                    }
                },
                "escalate" => BatchAction::Escalate,
                _ => {
                    message.set(Some(lang.pick("请选择操作。", "Choose an action.").into()));
                    return;
                }
            };
            if batch.needs_reason() && reason.trim().is_empty() {
                message.set(Some(lang.t(Key::ReasonRequired).into()));
                return;
            }
            let targets: Vec<(ProblemId, String)> = rows
                .iter()
                .filter(|r| selected.contains(&r.id))
                .map(|r| (r.id, r.enterprise_name.clone()))
                .collect();
            if targets.is_empty() {
                message.set(Some(
                    lang.pick("请先勾选问题。", "Select problems first.").into(),
                ));
                return;
            }
            run_batch(&core, lang, batch, &reason, targets, outcome.clone());
            selected.set(BTreeSet::new());
        })
    };

    html! {
        <main key="problems" class="screen problems">
            <div class="title-row">
                <h1>{ lang.pick("问题清单", "Problems") }</h1>
                if let Load::Ready(p) = &page {
                    <span class="muted list-total" data-total={p.total.to_string()}>
                        { lang.pick("共 {n} 条", "{n} in all").replace("{n}", &p.total.to_string()) }
                    </span>
                }
            </div>
            { filters::chips(lang, &core, &query) }
            { filters::panel(lang, &core, &query, &departments) }

            if batches {
                <form class="card batch-bar" onsubmit={apply}>
                    <h2>{ lang.pick("批处理", "Batch actions") }
                        <span class="muted small">{ lang.pick("（已选 {n} 个）", " ({n} selected)").replace("{n}", &selected.len().to_string()) }</span></h2>
                    <label for="batch-action">{ lang.pick("操作", "Action") }</label>
                    <select id="batch-action" onchange={bind_select(&action)}>
                        <option value="" selected={action.is_empty()} disabled=true>{ lang.t(Key::Choose) }</option>
                        <option value="assign" selected={*action == "assign"}>{ lang.pick("交办到部门", "Hand out to a department") }</option>
                        <option value="extend" selected={*action == "extend"}>{ lang.pick("延期（设定新期限）", "Extend (new deadline)") }</option>
                        <option value="escalate" selected={*action == "escalate"}>{ lang.pick("升级一级", "Escalate one tier") }</option>
                    </select>
                    if *action == "assign" {
                        <label for="batch-unit">{ lang.pick("承办部门", "Department") }</label>
                        { unit_picker(lang, "batch-unit", &unit, &departments) }
                    }
                    if *action == "extend" {
                        <label for="batch-deadline">{ lang.t(Key::NewDeadline) }</label>
                        <input id="batch-deadline" type="date" value={(*deadline).clone()} oninput={bind(&deadline)} />
                    }
                    <label for="batch-reason">{
                        if action.as_str() == "assign" { lang.t(Key::ReasonOptional) } else { lang.t(Key::ReasonRequired) }
                    }</label>
                    <textarea id="batch-reason" rows="2" value={(*reason).clone()} oninput={bind(&reason)} />
                    if let Some(m) = &*message {
                        <p class="field-error" role="alert">{ m.clone() }</p>
                    }
                    <button type="submit" class="primary batch-apply" disabled={selected.is_empty()}>
                        { lang.pick("应用到所选问题", "Apply to the selected problems") }
                    </button>
                    if let Some(o) = &*outcome {
                        { batch_result(lang, o) }
                    }
                </form>
            }

            { match &page {
                Load::Loading => html! { <p class="loading">{ lang.pick("正在读取…", "Loading…") }</p> },
                Load::Failed(m) => html! { <p class="field-error" role="alert">{ m.clone() }</p> },
                Load::Ready(_) if rows.is_empty() => html! { <p class="empty">{ lang.pick("没有符合条件的问题。", "No problems match.") }</p> },
                Load::Ready(p) => html! {
                    <>
                    if batches {
                        <label class="select-all-line">
                            <input type="checkbox" class="select-all" checked={all_selected} onchange={toggle_all} />
                            { lang.pick("全选本页", "Select this page") }
                        </label>
                    }
                    <ul class="problem-rows">
                        { for rows.iter().map(|row| {
                            let select = batches.then(|| table::Select {
                                checked: selected.contains(&row.id),
                                toggle: toggle(row.id),
                            });
                            table::row(lang, &core, row, local(&row.id), select)
                        }) }
                    </ul>
                    { table::pager(lang, &query, rows.len(), p.total) }
                    { flag_legend(lang, &core.config()) }
                    </>
                },
            } }
        </main>
    }
}
