//! The problem list (问题清单) behind every number of the dashboard and the flag board
//! (红绿黑旗). Rows come from the server's `GET /api/problems` — filters, sort and page from
//! the route's query string, refetched after every sync round so the list stays live — while
//! every write is a CRDT change: batch actions (批处理: hand out to a department, extend,
//! escalate) are recorded on the problems' documents on this device (`shared::forms::
//! apply_batch`, each step under the workflow's guards) and saved together in one
//! `Core::save`, with a per-problem result. The query-string, row and fetch helpers here are
//! shared with the handler's inbox.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use shared::derive::derive;
use shared::doc::{DocKind, ProblemDoc};
use shared::forms::{BatchAction, BatchRefusal, apply_batch, parse_date_end};
use shared::model::{
    EntryId, Flag, OrgUnitId, Problem, ProblemId, ProblemSource, ProblemState, Role, Tier,
    Timestamp,
};
use shared::sync::protocol::DocId;
use wasm_bindgen::JsValue;
use yew::platform::spawn_local;
use yew::prelude::*;

use super::enterprise::excerpt;
use super::widgets::{Ctx, bind, bind_select, event_value, flag_badge, state_badge};
use crate::infra::api::{self, ApiError, get, get_str};
use crate::infra::i18n::{self, Key, Lang};
use crate::infra::route::{self, Route};
use crate::infra::{directory, platform};
use crate::sync::Core;

/// Rows per page unless the query says otherwise.
const PAGE: u64 = 50;

/// States still awaiting their result: the "open" filter.
const OPEN: &str = "submitted,triaged,assigned,accepted,in_progress,returned,disputed,reopened";
/// States a problem can be handed out (交办) from.
const TO_HAND_OUT: &str = "submitted,triaged,returned,reopened";

/// A list's query string as ordered `key=value` pairs (the `/api/problems` parameters).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query(Vec<(String, String)>);

fn decode(text: &str) -> String {
    let text = text.replace('+', " ");
    js_sys::decode_uri_component(&text)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or(text)
}

fn encode(text: &str) -> String {
    js_sys::encode_uri_component(text)
        .as_string()
        .unwrap_or_default()
}

impl Query {
    /// Parses `a=1&b=x%2Cy`; empty values are dropped.
    pub fn parse(text: &str) -> Query {
        Query(
            text.split('&')
                .filter_map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    let (k, v) = (decode(k), decode(v));
                    (!k.is_empty() && !v.is_empty()).then_some((k, v))
                })
                .collect(),
        )
    }

    /// The value of `key` (empty when absent).
    pub fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// A copy with `key` set to `value` (removed when `value` is empty).
    pub fn with(&self, key: &str, value: &str) -> Query {
        let mut pairs: Vec<(String, String)> =
            self.0.iter().filter(|(k, _)| k != key).cloned().collect();
        if !value.is_empty() {
            pairs.push((key.to_string(), value.to_string()));
        }
        Query(pairs)
    }

    /// The filters set (everything but sort, order and page).
    fn filters(&self) -> impl Iterator<Item = &(String, String)> {
        self.0
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "sort" | "order" | "limit" | "offset"))
    }
}

impl std::fmt::Display for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self
            .0
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        f.write_str(&text)
    }
}

/// One row of `GET /api/problems`.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The problem.
    pub id: ProblemId,
    /// Its enterprise's id.
    pub enterprise: String,
    /// Its enterprise's name (empty when the server has no profile).
    pub enterprise_name: String,
    /// State on the server.
    pub state: ProblemState,
    /// Flag on the server, now.
    pub flag: Flag,
    /// Category code.
    pub category: String,
    /// Effective tier.
    pub tier: Tier,
    /// Effective deadline.
    pub deadline: Timestamp,
    /// Past the deadline while awaiting its result.
    pub overdue: bool,
    /// Whole days past the deadline.
    pub days_overdue: i64,
    /// Handling units, by name (the id when the server has no name).
    pub units: Vec<String>,
}

/// One page of rows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    /// Rows matching the filters, all pages together.
    pub total: u64,
    /// Rows skipped.
    pub offset: u64,
    /// This page.
    pub rows: Vec<Row>,
}

fn number(v: &JsValue, key: &str) -> Option<f64> {
    get(v, key).as_f64()
}

fn parse_row(v: &JsValue) -> Option<Row> {
    let units = js_sys::Array::from(&get(v, "handling_units"))
        .iter()
        .filter_map(|u| {
            let name = get_str(&u, "name").unwrap_or_default();
            if name.is_empty() {
                get_str(&u, "id")
            } else {
                Some(name)
            }
        })
        .collect();
    Some(Row {
        id: ProblemId::parse(&get_str(v, "id")?).ok()?,
        enterprise: get_str(v, "enterprise")?,
        enterprise_name: get_str(v, "enterprise_name").unwrap_or_default(),
        state: ProblemState::from_code(&get_str(v, "state")?).ok()?,
        flag: Flag::from_code(&get_str(v, "flag")?).ok()?,
        category: get_str(v, "category").unwrap_or_default(),
        tier: Tier::from_code(&get_str(v, "tier")?).ok()?,
        deadline: Timestamp(number(v, "deadline")? as i64),
        overdue: get(v, "overdue").as_bool().unwrap_or(false),
        days_overdue: number(v, "days_overdue").unwrap_or(0.0) as i64,
        units,
    })
}

fn parse_page(v: &JsValue) -> Option<Page> {
    let rows = get(v, "rows");
    if !js_sys::Array::is_array(&rows) {
        return None;
    }
    Some(Page {
        total: number(v, "total")? as u64,
        offset: number(v, "offset").unwrap_or(0.0) as u64,
        rows: js_sys::Array::from(&rows)
            .iter()
            .filter_map(|r| parse_row(&r))
            .collect(),
    })
}

/// A server read as it stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Load<T> {
    /// The first answer has not come yet.
    Loading,
    /// The latest answer.
    Ready(T),
    /// The read failed, in words.
    Failed(String),
}

fn api_error(lang: Lang, e: &ApiError) -> String {
    match e {
        ApiError::Unreachable => lang
            .pick(
                "无法连接服务器，联网后自动刷新。",
                "The server cannot be reached; the list refreshes once online.",
            )
            .into(),
        ApiError::TokenExpired => lang
            .pick(
                "登录已过期，同步后自动刷新。",
                "The session expired; the list refreshes after the next sync.",
            )
            .into(),
        ApiError::Status(_, m) => format!("{}{m}", lang.pick("服务器：", "Server: ")),
        other => format!("{}{other:?}", lang.pick("读取失败：", "Read failed: ")),
    }
}

/// One page of `GET /api/problems?<query>`, read again after every sync round (so what
/// others synced shows without a reload). Keeps the last answer while a new one is read.
#[hook]
pub fn use_problems(ctx: &Ctx, query: String) -> Load<Rc<Page>> {
    let ctx = ctx.clone();
    let lang = ctx.lang;
    let state = use_state(|| Load::<Rc<Page>>::Loading);
    let latest = use_mut_ref(|| 0u64);
    let synced = ctx.core.status().last_success;
    let session = ctx.core.session();
    {
        let state = state.clone();
        use_effect_with((query, synced), move |(query, _)| {
            *latest.borrow_mut() += 1;
            let me = *latest.borrow();
            if let Some(session) = session {
                let path = if query.is_empty() {
                    "/api/problems".to_string()
                } else {
                    format!("/api/problems?{query}")
                };
                spawn_local(async move {
                    let answer = api::get_json(&session, &path).await;
                    if *latest.borrow() != me {
                        return;
                    }
                    state.set(match answer {
                        Ok(v) => match parse_page(&v) {
                            Some(page) => Load::Ready(Rc::new(page)),
                            None => Load::Failed(
                                lang.pick("服务器的回答无法识别。", "Unexpected answer.")
                                    .into(),
                            ),
                        },
                        Err(e) => Load::Failed(api_error(lang, &e)),
                    });
                });
            }
        });
    }
    (*state).clone()
}

/// What a row shows: the device's own copy of the problem when it has one (it is ahead of the
/// server after a local edit, and catches up by sync), else the server's row.
pub struct Shown {
    /// State.
    pub state: ProblemState,
    /// Flag.
    pub flag: Flag,
    /// Effective tier.
    pub tier: Tier,
    /// Effective deadline.
    pub deadline: Timestamp,
    /// Overdue days, if overdue.
    pub overdue: Option<i64>,
}

/// The row as shown, from the device's copy when there is one.
pub fn shown(row: &Row, local: Option<&Problem>, core: &Core) -> Shown {
    match local {
        Some(p) => {
            let d = derive(p, &core.config, platform::now());
            Shown {
                state: d.outcome.state,
                flag: d.flag,
                tier: d.outcome.tier,
                deadline: d.outcome.deadline,
                overdue: d.overdue.then_some(d.days_overdue),
            }
        }
        None => Shown {
            state: row.state,
            flag: row.flag,
            tier: row.tier,
            deadline: row.deadline,
            overdue: row.overdue.then_some(row.days_overdue),
        },
    }
}

/// The facts line of a row: tier, deadline, overdue, handling units.
pub fn row_facts(lang: Lang, core: &Core, row: &Row, s: &Shown) -> Html {
    let tier = core.config.tiers.of(s.tier);
    html! {
        <div class="card-facts">
            <span class="row-tier">{ lang.pick(&tier.zh, &tier.en) }</span>
            <span class="row-deadline">{ lang.t(Key::Deadline) }{ " " }{ platform::format_date(s.deadline) }</span>
            if let Some(days) = s.overdue {
                <span class="overdue">{ lang.t(Key::DaysOverdue).replace("{n}", &days.to_string()) }</span>
            }
            if !row.units.is_empty() {
                <span class="row-units">{ row.units.join("、") }</span>
            }
        </div>
    }
}

/// The description excerpt of a row, or why there is none.
pub fn row_excerpt(lang: Lang, core: &Core, row: &Row, local: Option<&Problem>) -> Html {
    let category = i18n::category(lang, &core.config, &row.category);
    match local {
        Some(p) => html! {
            <p class="excerpt problem-description">{ category }{ " · " }{ excerpt(&p.description, 50) }</p>
        },
        None => html! {
            <p class="excerpt not-on-device">{ category }{ " · " }
                <span class="muted">{ lang.pick("尚未同步到本机，暂不能在此操作。", "Not on this device yet: no actions here.") }</span></p>
        },
    }
}

/// The device's problems by id.
pub fn local_problems(core: &Core) -> (Rc<crate::sync::Snapshot>, BTreeMap<ProblemId, usize>) {
    let snapshot = core.snapshot();
    let index = snapshot
        .problems
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id, i))
        .collect();
    (snapshot, index)
}

/// One line of a batch's result.
#[derive(Debug, Clone, PartialEq)]
struct ResultLine {
    id: ProblemId,
    name: String,
    ok: bool,
    text: String,
}

/// A batch's outcome: per-problem lines, and whether the device stored the changes.
#[derive(Debug, Clone, PartialEq)]
struct BatchOutcome {
    lines: Vec<ResultLine>,
    saved: Option<Result<(), String>>,
}

fn refusal_text(lang: Lang, e: &BatchRefusal) -> String {
    match e {
        BatchRefusal::TopTier => lang
            .pick(
                "已是最高层级，无法再升级。",
                "Already at the top tier: nothing to escalate to.",
            )
            .into(),
        BatchRefusal::Denied(d) => match lang {
            Lang::ZhHans => d.zh(),
            Lang::En => d.en(),
        },
        BatchRefusal::Doc(d) => i18n::doc_error(lang, d),
    }
}

/// The department picker: the directory's departments, or the unit id typed in when the
/// directory has none yet.
pub fn unit_picker(
    lang: Lang,
    id: &str,
    value: &UseStateHandle<String>,
    departments: &[(OrgUnitId, String)],
) -> Html {
    if departments.is_empty() {
        return html! {
            <input id={id.to_string()} type="text" autocapitalize="off" class="mono"
                placeholder={lang.pick("部门编号", "Department id")}
                value={(**value).clone()} oninput={bind(value)} />
        };
    }
    let onchange = bind_select(value);
    html! {
        <select id={id.to_string()} {onchange}>
            <option value="" selected={value.is_empty()} disabled=true>{ lang.pick("选择部门", "Choose a department") }</option>
            { for departments.iter().map(|(unit, name)| {
                let code = unit.to_string();
                let selected = code == **value;
                html! { <option value={code} {selected}>{ name.clone() }</option> }
            }) }
        </select>
    }
}

/// Records `action` on the selected problems that are on this device and saves every edited
/// document in one `Core::save`; each selected problem gets a result line.
fn run_batch(
    core: &Rc<Core>,
    lang: Lang,
    action: BatchAction,
    reason: &str,
    targets: Vec<(ProblemId, String)>,
    outcome: UseStateHandle<Option<BatchOutcome>>,
) {
    let Some(actor) = core.actor() else {
        outcome.set(Some(BatchOutcome {
            lines: Vec::new(),
            saved: Some(Err(lang.t(Key::NotLoggedIn).into())),
        }));
        return;
    };
    let now = platform::now();
    let mut saves = Vec::new();
    let mut lines = Vec::new();
    for (id, name) in targets {
        let doc_id = DocId::new(DocKind::Problem, &id.to_string());
        let Some(record) = core.doc(&doc_id) else {
            lines.push(ResultLine {
                id,
                name,
                ok: false,
                text: lang
                    .pick(
                        "本机还没有这个问题的记录，已跳过。",
                        "Not on this device yet: skipped.",
                    )
                    .into(),
            });
            continue;
        };
        let applied = ProblemDoc::from_record(record)
            .map_err(BatchRefusal::from)
            .and_then(|doc| {
                apply_batch(&doc, action, &actor, now, reason, || {
                    EntryId::from_random_bytes(platform::random_bytes())
                })
            });
        match applied {
            Ok((doc, state)) => {
                saves.push((doc_id, doc.into_record()));
                lines.push(ResultLine {
                    id,
                    name,
                    ok: true,
                    text: format!(
                        "{}{}",
                        lang.pick("成功，现为：", "Done, now: "),
                        lang.pick(state.zh(), state.en())
                    ),
                });
            }
            Err(e) => lines.push(ResultLine {
                id,
                name,
                ok: false,
                text: refusal_text(lang, &e),
            }),
        }
    }
    if saves.is_empty() {
        outcome.set(Some(BatchOutcome { lines, saved: None }));
        return;
    }
    outcome.set(Some(BatchOutcome {
        lines: lines.clone(),
        saved: None,
    }));
    core.save(
        saves,
        Callback::from(move |r: Result<(), crate::sync::SaveError>| {
            let lines = lines.clone();
            outcome.set(Some(BatchOutcome {
                lines,
                saved: Some(r.map_err(|e| i18n::save_error(lang, &e))),
            }));
        }),
    );
}

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
        "category" => i18n::category(lang, &core.config, value),
        "flag" => Flag::from_code(value)
            .map_or_else(|_| value.to_string(), |f| lang.pick(f.zh(), f.en()).into()),
        "tier" => Tier::from_code(value).map_or_else(
            |_| value.to_string(),
            |t| {
                let l = core.config.tiers.of(t);
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
        .config
        .categories
        .iter()
        .map(|c| (c.code.clone(), lang.pick(&c.zh, &c.en).to_string()))
        .collect();
    let tiers: Vec<(String, String)> = Tier::ALL
        .iter()
        .map(|t| {
            let l = core.config.tiers.of(*t);
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
    let active: Vec<(String, String)> = query.filters().cloned().collect();

    let limit = query.get("limit").parse::<u64>().unwrap_or(PAGE).max(1);
    let offset = query.get("offset").parse::<u64>().unwrap_or(0);
    let total = match &page {
        Load::Ready(p) => p.total,
        _ => 0,
    };
    let page_link = |to: u64| Route::Problems(query.with("offset", &to.to_string()).to_string());

    html! {
        <main class="screen problems">
            <div class="title-row">
                <h1>{ lang.pick("问题清单", "Problems") }</h1>
                if let Load::Ready(p) = &page {
                    <span class="muted list-total" data-total={p.total.to_string()}>
                        { lang.pick("共 {n} 条", "{n} in all").replace("{n}", &p.total.to_string()) }
                    </span>
                }
            </div>
            if !active.is_empty() {
                <div class="chips">
                    { for active.iter().map(|(k, v)| html! {
                        <a class="chip" href={Route::Problems(without(&query, k)).hash()}
                            title={lang.pick("移除此条件", "Remove this filter")}>
                            { filter_label(lang, k) }{ "：" }{ filter_value(lang, &core, k, v) }{ " ×" }
                        </a>
                    }) }
                </div>
            }
            <details class="card filters" open={active.is_empty()}>
                <summary>{ lang.pick("筛选与排序", "Filters and order") }</summary>
                <div class="filter-grid">
                    { filter_select(lang, "state", &filter_label(lang, "state"), &query, state_options(lang, query.get("state"))) }
                    { filter_select(lang, "flag", &filter_label(lang, "flag"), &query, flags) }
                    { filter_select(lang, "overdue", &filter_label(lang, "overdue"), &query, overdue) }
                    { filter_select(lang, "category", &filter_label(lang, "category"), &query, categories) }
                    { filter_select(lang, "tier", &filter_label(lang, "tier"), &query, tiers) }
                    { filter_select(lang, "source", &filter_label(lang, "source"), &query, sources) }
                    { filter_select(lang, "town", &filter_label(lang, "town"), &query, unit_options(directory::towns(), query.get("town"))) }
                    { filter_select(lang, "department", &filter_label(lang, "department"), &query, unit_options(departments.clone(), query.get("department"))) }
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
                Load::Ready(_) => html! {
                    <>
                    if batches {
                        <label class="select-all-line">
                            <input type="checkbox" class="select-all" checked={all_selected} onchange={toggle_all} />
                            { lang.pick("全选本页", "Select this page") }
                        </label>
                    }
                    <ul class="problem-rows">
                        { for rows.iter().map(|row| {
                            let local = local(&row.id);
                            let s = shown(row, local, &core);
                            let name = if row.enterprise_name.is_empty() { row.enterprise.chars().take(8).collect() } else { row.enterprise_name.clone() };
                            html! {
                                <li class={classes!("card", "problem-row", selected.contains(&row.id).then_some("selected"))}
                                    data-id={row.id.to_string()} data-state={s.state.code()}>
                                    if batches {
                                        <label class="row-select" title={lang.pick("选择", "Select")}>
                                            <input type="checkbox" class="select-problem" checked={selected.contains(&row.id)}
                                                disabled={local.is_none()} onchange={toggle(row.id)} />
                                        </label>
                                    }
                                    <a class="problem-link" href={Route::Problem(row.id).hash()}>
                                        <div class="card-title">
                                            <strong class="row-enterprise">{ name }</strong>
                                            { flag_badge(lang, s.flag) }
                                            { state_badge(lang, s.state) }
                                        </div>
                                        { row_excerpt(lang, &core, row, local) }
                                        { row_facts(lang, &core, row, &s) }
                                    </a>
                                </li>
                            }
                        }) }
                    </ul>
                    <nav class="pager" aria-label={lang.pick("翻页", "Pages")}>
                        if offset > 0 {
                            <a class="button secondary pager-prev" href={page_link(offset.saturating_sub(limit)).hash()}>{ lang.pick("上一页", "Previous") }</a>
                        }
                        <span class="muted">{ format!("{}–{} / {}", offset + 1, (offset + rows.len() as u64).min(total), total) }</span>
                        if offset + limit < total {
                            <a class="button secondary pager-next" href={page_link(offset + limit).hash()}>{ lang.pick("下一页", "Next") }</a>
                        }
                    </nav>
                    </>
                },
            } }
        </main>
    }
}

fn batch_result(lang: Lang, o: &BatchOutcome) -> Html {
    let ok = o.lines.iter().filter(|l| l.ok).count();
    let refused = o.lines.len() - ok;
    let summary = lang
        .pick("{ok} 个成功，{no} 个未执行。", "{ok} done, {no} not done.")
        .replace("{ok}", &ok.to_string())
        .replace("{no}", &refused.to_string());
    let saved = match &o.saved {
        Some(Ok(())) => html! { <p class="hint saved">{ lang.t(Key::SavedOnDevice) }</p> },
        Some(Err(m)) => html! { <p class="field-error" role="alert">{ m.clone() }</p> },
        None if ok > 0 => html! { <p class="hint">{ lang.pick("正在保存…", "Saving…") }</p> },
        None => html! {},
    };
    let state = match &o.saved {
        Some(Ok(())) => "saved",
        Some(Err(_)) => "failed",
        None if ok > 0 => "saving",
        None => "done",
    };
    html! {
        <div class="batch-result" role="status" data-ok={ok.to_string()} data-refused={refused.to_string()} data-state={state}>
            <p><strong>{ summary }</strong></p>
            { saved }
            <ul class="batch-lines">
                { for o.lines.iter().map(|l| html! {
                    <li class={if l.ok { "batch-ok" } else { "batch-refused" }} data-id={l.id.to_string()}>
                        <a href={Route::Problem(l.id).hash()}>{ if l.name.is_empty() { l.id.to_string()[..8].to_string() } else { l.name.clone() } }</a>
                        { "：" }{ l.text.clone() }
                    </li>
                }) }
            </ul>
        </div>
    }
}

/// Properties of [`FlagBoard`].
#[derive(PartialEq, Properties)]
pub struct FlagBoardProps {
    /// The app context (the device, the language, the change counter).
    pub ctx: Ctx,
}

/// The flag board (红绿黑旗): black, red and green problems side by side (stacked on a
/// phone), the worst first, each linking to its problem and to the full list of its flag.
#[component]
pub fn FlagBoard(props: &FlagBoardProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let core = ctx.core.clone();
    let black = use_problems(
        &ctx,
        "flag=black&sort=days_overdue&order=desc&limit=20".into(),
    );
    let red = use_problems(&ctx, "flag=red&sort=deadline&order=asc&limit=20".into());
    let green = use_problems(
        &ctx,
        format!("flag=green&state={OPEN}&sort=deadline&order=asc&limit=20"),
    );
    let columns = [(Flag::Black, black), (Flag::Red, red), (Flag::Green, green)];
    let (snapshot, index) = local_problems(&core);
    html! {
        <main class="screen flags">
            <h1>{ lang.pick("红绿黑旗", "Flags") }</h1>
            <p class="muted small">{ lang.pick(
                "旗色由状态、期限和评价按规则自动得出。绿旗只列未办结的问题。",
                "Flags derive from state, deadline and rating by the rule table. Green lists open problems only.") }</p>
            <div class="flag-board">
                { for columns.iter().map(|(flag, load)| {
                    let all = if *flag == Flag::Green {
                        format!("flag=green&state={OPEN}")
                    } else {
                        format!("flag={}", flag.code())
                    };
                    html! {
                        <section class={format!("flag-column flag-col-{}", flag.code())} data-flag={flag.code()}>
                            <h2>{ flag_badge(lang, *flag) }
                                if let Load::Ready(p) = load { <span class="flag-total">{ p.total }</span> }
                            </h2>
                            { match load {
                                Load::Loading => html! { <p class="loading">{ lang.pick("正在读取…", "Loading…") }</p> },
                                Load::Failed(m) => html! { <p class="field-error">{ m.clone() }</p> },
                                Load::Ready(p) if p.rows.is_empty() => html! { <p class="empty">{ lang.pick("无", "None") }</p> },
                                Load::Ready(p) => html! {
                                    <ul class="flag-list">
                                        { for p.rows.iter().map(|row| {
                                            let local = index.get(&row.id).map(|i| &snapshot.problems[*i]);
                                            let s = shown(row, local, &core);
                                            html! {
                                                <li class="card problem-row" data-id={row.id.to_string()}>
                                                    <a class="problem-link" href={Route::Problem(row.id).hash()}>
                                                        <div class="card-title">
                                                            <strong class="row-enterprise">{ row.enterprise_name.clone() }</strong>
                                                            { state_badge(lang, s.state) }
                                                        </div>
                                                        { row_excerpt(lang, &core, row, local) }
                                                        { row_facts(lang, &core, row, &s) }
                                                    </a>
                                                </li>
                                            }
                                        }) }
                                    </ul>
                                },
                            } }
                            <a class="button secondary" href={Route::Problems(all).hash()}>{ lang.pick("查看全部", "See all") }</a>
                        </section>
                    }
                }) }
            </div>
        </main>
    }
}
