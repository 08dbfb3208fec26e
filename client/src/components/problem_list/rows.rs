//! The rows of `GET /api/problems`: parsing one page, the live read (`use_problems`, again
//! after every sync round), and what a row shows (the device's copy when it has one) —
//! shared by the list, the flag board and the handler's inbox.

use std::collections::BTreeMap;
use std::rc::Rc;

use shared::derive::derive;
use shared::model::{Flag, Problem, ProblemId, ProblemSource, ProblemState, Tier, Timestamp};
use wasm_bindgen::JsValue;
use yew::platform::spawn_local;
use yew::prelude::*;

use super::super::enterprise::excerpt;
use super::super::widgets::Ctx;
use crate::infra::api::{self, ApiError, get, get_str};
use crate::infra::i18n::{self, Key, Lang};
use crate::infra::platform;
use crate::sync::Core;

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
    /// Where it came from (visit, window, hotline, monitoring, the enterprise itself).
    pub source: Option<ProblemSource>,
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
        source: get_str(v, "source").and_then(|c| ProblemSource::from_code(&c).ok()),
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

/// A failed server read in words.
pub fn api_error(lang: Lang, e: &ApiError) -> String {
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
            let d = derive(p, &core.config(), platform::now());
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

/// The facts line of a row: source, tier, deadline, overdue, handling units.
pub fn row_facts(lang: Lang, core: &Core, row: &Row, s: &Shown) -> Html {
    let config = core.config();
    let tier = config.tiers.of(s.tier);
    html! {
        <div class="card-facts">
            if let Some(source) = row.source {
                <span class="row-source" data-source={source.code()}>{ lang.pick(source.zh(), source.en()) }</span>
            }
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
    let category = i18n::category(lang, &core.config(), &row.category);
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
