//! The list's filters: the chips of those set, the panel of selects and the order, and how
//! each filter and value is named.

use shared::model::{Flag, OrgUnitId, ProblemSource, ProblemState, Tier, Timestamp};
use yew::prelude::*;

use super::super::widgets::event_value;
use super::query::Query;
use crate::infra::i18n::{self, Lang};
use crate::infra::route::{self, Route};
use crate::infra::{directory, platform};
use crate::sync::Core;

/// States still awaiting their result: the "open" filter.
pub(super) const OPEN: &str =
    "submitted,triaged,assigned,accepted,in_progress,returned,disputed,reopened";
/// States a problem can be handed out (交办) from.
pub(super) const TO_HAND_OUT: &str = "submitted,triaged,returned,reopened";

fn state_options(lang: Lang, current: &str) -> Vec<(String, String)> {
    let mut options = vec![
        (
            OPEN.to_string(),
            lang.pick("未办结（全部）", "Open (all)").to_string(),
        ),
        (
            TO_HAND_OUT.to_string(),
            lang.pick("待交办", "To hand out").to_string(),
        ),
    ];
    options.extend(
        ProblemState::ALL
            .iter()
            .map(|s| (s.code().to_string(), lang.pick(s.zh(), s.en()).to_string())),
    );
    if !current.is_empty() && !options.iter().any(|(c, _)| c == current) {
        let label = current
            .split(',')
            .map(|c| {
                ProblemState::from_code(c)
                    .map_or_else(|_| c.to_string(), |s| lang.pick(s.zh(), s.en()).to_string())
            })
            .collect::<Vec<_>>()
            .join("、");
        options.push((current.to_string(), label));
    }
    options
}

fn unit_options(units: Vec<(OrgUnitId, String)>, current: &str) -> Vec<(String, String)> {
    let mut options: Vec<(String, String)> = units
        .into_iter()
        .map(|(id, n)| (id.to_string(), n))
        .collect();
    if !current.is_empty() && !options.iter().any(|(c, _)| c == current) {
        let name = OrgUnitId::parse(current)
            .ok()
            .and_then(directory::unit_name)
            .unwrap_or_else(|| current.to_string());
        options.push((current.to_string(), name));
    }
    options
}

/// A labelled filter `<select>` whose "all" choice is empty.
fn filter_select(
    lang: Lang,
    key: &'static str,
    label: &str,
    query: &Query,
    options: Vec<(String, String)>,
) -> Html {
    let current = query.get(key).to_string();
    let onchange = {
        let query = query.clone();
        Callback::from(move |e: Event| {
            let next = query.with(key, &event_value(&e)).with("offset", "");
            route::go(&Route::Problems(next.to_string()));
        })
    };
    let id = format!("filter-{key}");
    html! {
        <div class="filter">
            <label for={id.clone()}>{ label.to_string() }</label>
            <select {id} name={key} {onchange}>
                <option value="" selected={current.is_empty()}>{ lang.pick("全部", "All") }</option>
                { for options.into_iter().map(|(code, label)| {
                    let selected = code == current;
                    html! { <option value={code} {selected}>{ label }</option> }
                }) }
            </select>
        </div>
    }
}

fn filter_label(lang: Lang, key: &str) -> String {
    let (zh, en) = match key {
        "state" => ("状态", "State"),
        "flag" => ("旗色", "Flag"),
        "town" => ("乡镇街道", "Town"),
        "department" => ("承办部门", "Department"),
        "category" => ("类别", "Category"),
        "tier" => ("层级", "Tier"),
        "overdue" => ("逾期", "Overdue"),
        "source" => ("来源", "Source"),
        "created_from" => ("创建起", "Created from"),
        "created_to" => ("创建止", "Created before"),
        // The dashboard's KPI lists (`/api/problems` passes them through like any filter).
        "answered" => ("已答复", "Answered"),
        "on_time" => ("按期答复", "Answered on time"),
        "rated" => ("已评价", "Rated"),
        "satisfied" => ("满意（3分及以上）", "Satisfied (3 or better)"),
        "signed_off" => ("已销号过", "Signed off"),
        "look_back" => ("回头看", "Look-back"),
        "event_from" => ("回头看起", "Look-back from"),
        "event_to" => ("回头看止", "Look-back before"),
        other => (other, other),
    };
    lang.pick(zh, en).to_string()
}

fn filter_value(lang: Lang, core: &Core, key: &str, value: &str) -> String {
    match key {
        "created_from" | "created_to" | "event_from" | "event_to" => {
            value.parse::<i64>().map_or_else(
                |_| value.to_string(),
                |ms| platform::format_date(Timestamp(ms)),
            )
        }
        "category" => i18n::category(lang, &core.config(), value),
        "flag" => Flag::from_code(value)
            .map_or_else(|_| value.to_string(), |f| lang.pick(f.zh(), f.en()).into()),
        "tier" => Tier::from_code(value).map_or_else(
            |_| value.to_string(),
            |t| {
                let config = core.config();
                let l = config.tiers.of(t);
                lang.pick(&l.zh, &l.en).to_string()
            },
        ),
        "source" => ProblemSource::from_code(value)
            .map_or_else(|_| value.to_string(), |s| lang.pick(s.zh(), s.en()).into()),
        "town" | "department" => OrgUnitId::parse(value)
            .ok()
            .and_then(directory::unit_name)
            .unwrap_or_else(|| value.chars().take(8).collect()),
        "answered" | "on_time" | "rated" | "satisfied" | "signed_off" if value == "true" => {
            lang.pick("是", "yes").into()
        }
        "answered" | "on_time" | "rated" | "satisfied" | "signed_off" if value == "false" => {
            lang.pick("否", "no").into()
        }
        "look_back" => value
            .split(',')
            .map(|c| match c {
                "passed" => lang.pick("通过", "passed"),
                "reopened" => lang.pick("重新打开", "reopened"),
                other => other,
            })
            .collect::<Vec<_>>()
            .join("、"),
        "overdue" if value == "true" => lang.pick("已逾期", "overdue").into(),
        "overdue" => lang.pick("未逾期", "not overdue").into(),
        "state" if value == OPEN => lang.pick("未办结", "open").into(),
        "state" if value == TO_HAND_OUT => lang.pick("待交办", "to hand out").into(),
        "state" => value
            .split(',')
            .map(|c| {
                ProblemState::from_code(c)
                    .map_or_else(|_| c.to_string(), |s| lang.pick(s.zh(), s.en()).to_string())
            })
            .collect::<Vec<_>>()
            .join("、"),
        _ => value.to_string(),
    }
}

/// The query string without filter `key` (back to the first page). The look-back period
/// only bounds a look-back filter, so it goes with it.
fn without(query: &Query, key: &str) -> String {
    let mut next = query.with(key, "").with("offset", "");
    if key == "look_back" {
        next = next.with("event_from", "").with("event_to", "");
    }
    next.to_string()
}

/// The chips of the filters set, each removing its filter.
pub(super) fn chips(lang: Lang, core: &Core, query: &Query) -> Html {
    let active: Vec<(String, String)> = query.filters().cloned().collect();
    if active.is_empty() {
        return html! {};
    }
    html! {
        <div class="chips">
            { for active.iter().map(|(k, v)| html! {
                <a class="chip" href={Route::Problems(without(query, k)).hash()}
                    title={lang.pick("移除此条件", "Remove this filter")}>
                    { filter_label(lang, k) }{ "：" }{ filter_value(lang, core, k, v) }{ " ×" }
                </a>
            }) }
        </div>
    }
}

/// The panel of filters (open while none is set) and the order.
pub(super) fn panel(
    lang: Lang,
    core: &Core,
    query: &Query,
    departments: &[(OrgUnitId, String)],
) -> Html {
    let sort_value = format!(
        "{}:{}",
        if query.get("sort").is_empty() {
            "deadline"
        } else {
            query.get("sort")
        },
        if query.get("order").is_empty() {
            "asc"
        } else {
            query.get("order")
        }
    );
    let on_sort = {
        let query = query.clone();
        Callback::from(move |e: Event| {
            let v = event_value(&e);
            let (sort, order) = v.split_once(':').unwrap_or(("deadline", "asc"));
            let next = query
                .with("sort", sort)
                .with("order", order)
                .with("offset", "");
            route::go(&Route::Problems(next.to_string()));
        })
    };
    let sorts = [
        (
            "deadline:asc",
            lang.pick("期限最近在前", "Deadline, soonest first"),
        ),
        (
            "deadline:desc",
            lang.pick("期限最远在前", "Deadline, latest first"),
        ),
        (
            "days_overdue:desc",
            lang.pick("逾期最久在前", "Most overdue first"),
        ),
        ("created:desc", lang.pick("最新提出在前", "Newest first")),
        ("created:asc", lang.pick("最早提出在前", "Oldest first")),
    ];

    let categories: Vec<(String, String)> = core
        .config()
        .categories
        .iter()
        .map(|c| (c.code.clone(), lang.pick(&c.zh, &c.en).to_string()))
        .collect();
    let tiers: Vec<(String, String)> = Tier::ALL
        .iter()
        .map(|t| {
            let config = core.config();
            let l = config.tiers.of(*t);
            (t.code().to_string(), lang.pick(&l.zh, &l.en).to_string())
        })
        .collect();
    let flags: Vec<(String, String)> = Flag::ALL
        .iter()
        .map(|f| (f.code().to_string(), lang.pick(f.zh(), f.en()).to_string()))
        .collect();
    let sources: Vec<(String, String)> = ProblemSource::ALL
        .iter()
        .map(|s| (s.code().to_string(), lang.pick(s.zh(), s.en()).to_string()))
        .collect();
    let overdue = vec![
        (
            "true".to_string(),
            lang.pick("已逾期", "Overdue").to_string(),
        ),
        (
            "false".to_string(),
            lang.pick("未逾期", "Not overdue").to_string(),
        ),
    ];
    let select = |key: &'static str, options| {
        filter_select(lang, key, &filter_label(lang, key), query, options)
    };
    html! {
        <details class="card filters" open={query.filters().next().is_none()}>
            <summary>{ lang.pick("筛选与排序", "Filters and order") }</summary>
            <div class="filter-grid">
                { select("state", state_options(lang, query.get("state"))) }
                { select("flag", flags) }
                { select("overdue", overdue) }
                { select("category", categories) }
                { select("tier", tiers) }
                { select("source", sources) }
                { select("town", unit_options(directory::towns(), query.get("town"))) }
                { select("department", unit_options(departments.to_vec(), query.get("department"))) }
                <div class="filter">
                    <label for="sort">{ lang.pick("排序", "Order") }</label>
                    <select id="sort" onchange={on_sort}>
                        { for sorts.iter().map(|(code, label)| html! {
                            <option value={*code} selected={*code == sort_value}>{ *label }</option>
                        }) }
                    </select>
                </div>
            </div>
        </details>
    }
}
