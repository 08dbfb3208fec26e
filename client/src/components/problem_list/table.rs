//! The list's rows and pages: one row per problem (enterprise, flag, state, the description,
//! then source, tier, deadline, overdue and handling units — a line of columns on a desktop,
//! a card on a phone) and the pager.

use shared::model::Problem;
use yew::prelude::*;

use super::super::widgets::{flag_badge, state_badge};
use super::query::Query;
use super::rows::{Row, row_excerpt, row_facts, shown};
use crate::infra::i18n::Lang;
use crate::infra::route::Route;
use crate::sync::Core;

/// Rows per page unless the query says otherwise.
pub(super) const PAGE: u64 = 50;

/// A row's checkbox for batch actions: whether it is ticked, and what toggles it.
pub(super) struct Select {
    pub checked: bool,
    pub toggle: Callback<Event>,
}

/// One row; `select` when the reader may run batch actions (disabled while the problem is
/// not on this device).
pub(super) fn row(
    lang: Lang,
    core: &Core,
    row: &Row,
    local: Option<&Problem>,
    select: Option<Select>,
) -> Html {
    let s = shown(row, local, core);
    let name = if row.enterprise_name.is_empty() {
        row.enterprise.chars().take(8).collect()
    } else {
        row.enterprise_name.clone()
    };
    let selected = select.as_ref().is_some_and(|s| s.checked);
    html! {
        <li class={classes!("card", "problem-row", selected.then_some("selected"))}
            data-id={row.id.to_string()} data-state={s.state.code()}>
            if let Some(Select { checked, toggle }) = select {
                <label class="row-select" title={lang.pick("选择", "Select")}>
                    <input type="checkbox" class="select-problem" {checked}
                        disabled={local.is_none()} onchange={toggle} />
                </label>
            }
            <a class="problem-link" href={Route::Problem(row.id).hash()}>
                <div class="card-title">
                    <strong class="row-enterprise">{ name }</strong>
                    { flag_badge(lang, s.flag) }
                    { state_badge(lang, s.state) }
                </div>
                { row_excerpt(lang, core, row, local) }
                { row_facts(lang, core, row, &s) }
            </a>
        </li>
    }
}

/// The pager under `shown` rows of `total`, at the query's offset and page size.
pub(super) fn pager(lang: Lang, query: &Query, shown: usize, total: u64) -> Html {
    let limit = query.get("limit").parse::<u64>().unwrap_or(PAGE).max(1);
    let offset = query.get("offset").parse::<u64>().unwrap_or(0);
    let link = |to: u64| Route::Problems(query.with("offset", &to.to_string()).to_string()).hash();
    html! {
        <nav class="pager" aria-label={lang.pick("翻页", "Pages")}>
            if offset > 0 {
                <a class="button secondary pager-prev" href={link(offset.saturating_sub(limit))}>{ lang.pick("上一页", "Previous") }</a>
            }
            <span class="muted">{ format!("{}–{} / {}", offset + 1, (offset + shown as u64).min(total), total) }</span>
            if offset + limit < total {
                <a class="button secondary pager-next" href={link(offset + limit)}>{ lang.pick("下一页", "Next") }</a>
            }
        </nav>
    }
}
