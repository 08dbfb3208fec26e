//! The leader dashboard (领导驾驶舱): for a chosen period and org unit, the campaign KPIs as
//! tiles, charts of the period's problems by category, tier, town, department and month, and
//! the data freshness of every officer. Every number links to the problem list behind it
//! (`#/problems?<the /api/problems parameters that give that list>`).
//!
//! Online only: everything comes from the server's `/api/dashboard/*` reads. The screen reads
//! them again whenever the device's data changed (a sync that brought something: the app syncs
//! on the server's push channel, so an officer's sync shows within seconds) and every 30 s
//! while it is shown; one read runs at a time and changes during it cause one more.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Date};
use shared::model::OrgUnitId;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast as _, JsValue};
use yew::platform::spawn_local;
use yew::prelude::*;

use super::charts::{self, BarRow, Column, Segment};
use super::kpi_tiles::{Links, RESOLVED_STATES, counted_states, tiles};
use super::widgets::{Ctx, event_value};
use crate::infra::api::{self, ApiError, Session, get, get_str};
use crate::infra::directory;
use crate::infra::i18n::Lang;
use crate::infra::kpis::{self, Kpis};
use crate::infra::platform;
use crate::sync::Core;

/// How often an open dashboard reads again with nothing else happening.
const REFRESH_MS: i32 = 30_000;
/// The least time between the starts of two reads: a busy district syncs every few seconds,
/// and every read holds the server's store for a moment.
const MIN_GAP_MS: f64 = 1_500.0;

/// Waits `ms` milliseconds.
async fn sleep(ms: f64) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// The period the dashboard covers, always one that contains today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    /// The 90 calendar days up to and including today.
    Last90,
    /// This calendar month.
    Month,
    /// This calendar quarter.
    Quarter,
    /// This calendar year.
    Year,
}

impl Period {
    const ALL: [Period; 4] = [Period::Last90, Period::Month, Period::Quarter, Period::Year];

    fn code(self) -> &'static str {
        match self {
            Period::Last90 => "last90",
            Period::Month => "month",
            Period::Quarter => "quarter",
            Period::Year => "year",
        }
    }

    fn label(self, lang: Lang) -> &'static str {
        match self {
            Period::Last90 => lang.pick("近90天", "Last 90 days"),
            Period::Month => lang.pick("本月", "This month"),
            Period::Quarter => lang.pick("本季度", "This quarter"),
            Period::Year => lang.pick("本年", "This year"),
        }
    }

    /// `[from, to)` in ms, in the device's time zone, for the instant `now` (ms).
    fn range(self, now: f64) -> (i64, i64) {
        let today = Date::new(&JsValue::from_f64(now));
        let (y, m, d) = (
            today.get_full_year(),
            today.get_month() as i32,
            today.get_date() as i32,
        );
        // The Date constructor carries day and month overflow (day 0, month 12) over.
        let at = |y: u32, m: i32, d: i32| Date::new_with_year_month_day(y, m, d).get_time() as i64;
        match self {
            Period::Last90 => (at(y, m, d - 89), at(y, m, d + 1)),
            Period::Month => (at(y, m, 1), at(y, m + 1, 1)),
            Period::Quarter => {
                let q = m - m % 3;
                (at(y, q, 1), at(y, q + 3, 1))
            }
            Period::Year => (at(y, 0, 1), at(y + 1, 0, 1)),
        }
    }
}

fn count(v: &JsValue, key: &str) -> u64 {
    get(v, key).as_f64().map_or(0, |n| n.max(0.0) as u64)
}

/// One row of a breakdown (`GET /api/dashboard/breakdown`).
#[derive(Debug, Clone, PartialEq)]
struct Row {
    key: String,
    label: String,
    label_en: String,
    problems: u64,
    resolved: u64,
    overdue: u64,
    from: i64,
    to: i64,
}

fn parse_rows(v: &JsValue) -> Vec<Row> {
    Array::from(&get(v, "rows"))
        .iter()
        .filter_map(|r| {
            Some(Row {
                key: get_str(&r, "key")?,
                label: get_str(&r, "label").unwrap_or_default(),
                label_en: get_str(&r, "label_en").unwrap_or_default(),
                problems: count(&r, "problems"),
                resolved: count(&r, "resolved"),
                overdue: count(&r, "overdue"),
                from: get(&r, "from").as_f64()? as i64,
                to: get(&r, "to").as_f64()? as i64,
            })
        })
        .collect()
}

/// The org unit an answer covers.
#[derive(Debug, Clone, PartialEq, Default)]
struct UnitInfo {
    id: String,
    name: String,
    /// `zone`, `town` or `department`.
    kind: String,
}

/// One officer's data freshness (`GET /api/dashboard/freshness`).
#[derive(Debug, Clone, PartialEq)]
struct Freshness {
    name: String,
    devices: u64,
    last_sync: Option<i64>,
    last_seen: Option<i64>,
    clock_skew_ms: Option<i64>,
    /// Documents still on the officer's devices unsent, summed over the devices that
    /// reported; `None` when none did (apps older than sync protocol version 2).
    unsent: Option<u64>,
    /// Devices whose number is unknown.
    unsent_unknown: u64,
    /// Each device's name and reported number.
    device_unsent: Vec<(String, Option<u64>)>,
}

fn parse_freshness(v: &JsValue) -> Vec<Freshness> {
    let at = |r: &JsValue, key: &str| get(r, key).as_f64().map(|n| n as i64);
    Array::from(v)
        .iter()
        .map(|r| Freshness {
            name: get_str(&r, "name").unwrap_or_default(),
            devices: count(&r, "devices"),
            last_sync: at(&r, "last_sync"),
            last_seen: at(&r, "last_seen"),
            clock_skew_ms: at(&r, "clock_skew_ms"),
            unsent: get(&r, "unsent").as_f64().map(|n| n as u64),
            unsent_unknown: count(&r, "unsent_unknown"),
            device_unsent: {
                let detail = get(&r, "device_detail");
                if Array::is_array(&detail) {
                    Array::from(&detail)
                        .iter()
                        .map(|d| {
                            let name = get_str(&d, "name").unwrap_or_default();
                            (name, get(&d, "unsent").as_f64().map(|n| n as u64))
                        })
                        .collect()
                } else {
                    Vec::new()
                }
            },
        })
        .collect()
}

/// Everything one read brings.
#[derive(Debug, Clone, PartialEq)]
struct Data {
    period: Period,
    from: i64,
    to: i64,
    unit: UnitInfo,
    kpis: Kpis,
    by_category: Vec<Row>,
    by_tier: Vec<Row>,
    by_town: Vec<Row>,
    by_department: Vec<Row>,
    by_month: Vec<Row>,
    freshness: Vec<Freshness>,
    /// When the answer came (device clock).
    fetched_at: i64,
}

/// Reads the KPIs, the five breakdowns and the freshness table of a period and unit.
async fn fetch(
    session: &Session,
    period: Period,
    unit: Option<OrgUnitId>,
) -> Result<Data, ApiError> {
    let (from, to) = period.range(Date::now());
    let unit_q = unit.map(|u| format!("&unit={u}")).unwrap_or_default();
    let span = format!("from={from}&to={to}{unit_q}");
    let kpis = kpis::fetch(session, from, to, unit).await?;
    let tz = platform::utc_offset_minutes();
    let mut unit_info = UnitInfo::default();
    let mut rows: Vec<Vec<Row>> = Vec::with_capacity(5);
    for by in ["category", "tier", "town", "department", "month"] {
        let answer = api::get_json(
            session,
            &format!("/api/dashboard/breakdown?{span}&by={by}&tz={tz}"),
        )
        .await?;
        let u = get(&answer, "unit");
        unit_info = UnitInfo {
            id: get_str(&u, "id").unwrap_or_default(),
            name: get_str(&u, "name").unwrap_or_default(),
            kind: get_str(&u, "kind").unwrap_or_default(),
        };
        rows.push(parse_rows(&answer));
    }
    let fresh_q = unit.map(|u| format!("?unit={u}")).unwrap_or_default();
    let freshness = parse_freshness(
        &api::get_json(session, &format!("/api/dashboard/freshness{fresh_q}")).await?,
    );
    let mut rows = rows.into_iter();
    let mut next = || rows.next().unwrap_or_default();
    Ok(Data {
        period,
        from,
        to,
        unit: unit_info,
        kpis,
        by_category: next(),
        by_tier: next(),
        by_town: next(),
        by_department: next(),
        by_month: next(),
        freshness,
        fetched_at: Date::now() as i64,
    })
}

/// What the screen shows: the latest answer (kept while a new one is read or after a failed
/// read) and the latest failure.
#[derive(Debug, Clone, PartialEq, Default)]
struct View {
    data: Option<Rc<Data>>,
    error: Option<ApiError>,
}

/// The reading loop's bookkeeping.
#[derive(Debug, Default)]
struct Reader {
    /// A read is running.
    running: bool,
    /// Something changed during it: read once more.
    again: bool,
    /// The screen is gone: stop.
    closed: bool,
}

/// The person's own unit, learned from the first answer for it, and (for a zone) the towns
/// and departments its charts named, which the unit picker offers when the directory has
/// not arrived yet.
#[derive(Debug, Clone, Default)]
struct Own {
    unit: UnitInfo,
    towns: Vec<(String, String)>,
    departments: Vec<(String, String)>,
}

type Choice = (Period, Option<OrgUnitId>);

/// Starts a read unless one is running (then it asks for one more when it ends).
fn read(
    core: Rc<Core>,
    choice: Rc<RefCell<Choice>>,
    reader: Rc<RefCell<Reader>>,
    view: UseStateHandle<View>,
    last: Rc<RefCell<View>>,
    own: Rc<RefCell<Option<Own>>>,
) {
    {
        let mut r = reader.borrow_mut();
        if r.closed {
            return;
        }
        if r.running {
            r.again = true;
            return;
        }
        r.running = true;
    }
    spawn_local(async move {
        let mut last_start: Option<f64> = None;
        loop {
            if let Some(at) = last_start {
                let wait = at + MIN_GAP_MS - Date::now();
                if wait > 0.0 {
                    sleep(wait).await;
                }
            }
            last_start = Some(Date::now());
            let asked = *choice.borrow();
            let Some(session) = core.session() else {
                reader.borrow_mut().running = false;
                return;
            };
            let result = fetch(&session, asked.0, asked.1).await;
            // An answer for a choice no longer on screen is dropped: read again.
            let current = *choice.borrow() == asked;
            if current {
                let mut shown = last.borrow().clone();
                match result {
                    Ok(data) => {
                        if asked.1.is_none() {
                            let named = |rows: &[Row]| {
                                rows.iter()
                                    .filter(|r| !r.key.is_empty())
                                    .map(|r| (r.key.clone(), r.label.clone()))
                                    .collect::<Vec<_>>()
                            };
                            *own.borrow_mut() = Some(Own {
                                unit: data.unit.clone(),
                                towns: named(&data.by_town),
                                departments: named(&data.by_department),
                            });
                        }
                        shown = View {
                            data: Some(Rc::new(data)),
                            error: None,
                        };
                    }
                    Err(e) => shown.error = Some(e),
                }
                *last.borrow_mut() = shown.clone();
                view.set(shown);
            }
            let mut r = reader.borrow_mut();
            if r.closed || (!r.again && current) {
                r.running = false;
                return;
            }
            r.again = false;
        }
    });
}

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The `#/problems?…` links of one answer.
fn links(data: &Data) -> Links {
    Links::new(data.from, data.to, &data.unit.kind, &data.unit.id)
}

/// The bar rows of a breakdown: the bar links to the key's problems, its green part to the
/// resolved ones and its red part to the overdue ones.
fn bars(lang: Lang, data: &Data, rows: &[Row], param: &str) -> Vec<BarRow> {
    let links = links(data);
    let counted = counted_states();
    rows.iter()
        .map(|r| {
            let label = if lang == Lang::En && !r.label_en.is_empty() {
                r.label_en.clone()
            } else {
                r.label.clone()
            };
            // Problems whose enterprise has no town on record cannot be listed by town.
            let key: Vec<(&str, &str)> = if r.key.is_empty() {
                vec![]
            } else {
                vec![(param, r.key.as_str())]
            };
            let with = |extra: (&'static str, &str)| {
                let mut f = key.clone();
                f.push(extra);
                links.list(&f, links.period())
            };
            BarRow {
                title: format!("{label}：{} {}", lang.pick("问题", "problems"), r.problems),
                href: with(("state", &counted)),
                total: r.problems,
                segments: vec![
                    Segment {
                        value: r.resolved,
                        class: "seg-resolved",
                        href: with(("state", RESOLVED_STATES)),
                        title: format!(
                            "{label}：{} {}",
                            lang.pick("已解决", "resolved"),
                            r.resolved
                        ),
                    },
                    Segment {
                        value: r.overdue,
                        class: "seg-overdue",
                        href: with(("overdue", "true")),
                        title: format!("{label}：{} {}", lang.pick("超期", "overdue"), r.overdue),
                    },
                ],
                label,
            }
        })
        .collect()
}

/// The monthly trend: raised and (of those) resolved per month, each bar linked to its month.
fn months(lang: Lang, data: &Data) -> Vec<Column> {
    let links = links(data);
    let counted = counted_states();
    data.by_month
        .iter()
        .map(|r| {
            let number = r
                .key
                .split_once('-')
                .and_then(|(_, m)| m.parse::<usize>().ok())
                .filter(|m| (1..=12).contains(m));
            let short = match (lang, number) {
                (Lang::En, Some(m)) => MONTHS_EN[m - 1].to_string(),
                (_, Some(m)) => format!("{m}月"),
                (_, None) => r.key.clone(),
            };
            let label = if lang == Lang::En {
                r.label_en.clone()
            } else {
                r.label.clone()
            };
            Column {
                label: short,
                bars: vec![
                    Segment {
                        value: r.problems,
                        class: "seg-total",
                        href: links.list(&[("state", &counted)], Some((r.from, r.to))),
                        title: format!(
                            "{label}：{} {}",
                            lang.pick("提出问题", "raised"),
                            r.problems
                        ),
                    },
                    Segment {
                        value: r.resolved,
                        class: "seg-resolved",
                        href: links.list(&[("state", RESOLVED_STATES)], Some((r.from, r.to))),
                        title: format!(
                            "{label}：{} {}",
                            lang.pick("其中已解决", "of them resolved"),
                            r.resolved
                        ),
                    },
                ],
            }
        })
        .collect()
}

fn ago(lang: Lang, now: i64, at: i64) -> String {
    let minutes = (now - at).max(0) / 60_000;
    if minutes < 1 {
        lang.pick("刚刚", "just now").into()
    } else if minutes < 60 {
        format!("{minutes}{}", lang.pick(" 分钟前", " min ago"))
    } else if minutes < 48 * 60 {
        format!("{}{}", minutes / 60, lang.pick(" 小时前", " h ago"))
    } else {
        format!("{}{}", minutes / 1440, lang.pick(" 天前", " days ago"))
    }
}

fn skew(lang: Lang, ms: i64) -> String {
    let seconds = ms / 1000;
    let sign = if seconds < 0 { "−" } else { "+" };
    let s = seconds.abs();
    if s < 60 {
        format!("{sign}{s}{}", lang.pick(" 秒", " s"))
    } else if s < 3600 {
        format!("{sign}{}{}", s / 60, lang.pick(" 分", " min"))
    } else {
        format!("{sign}{:.1}{}", s as f64 / 3600.0, lang.pick(" 小时", " h"))
    }
}

/// Data freshness per officer: when each last synced changes, how many changes their devices
/// last reported still holding unsent ("unknown" for apps too old to report), and how far their
/// device's clock is from the server's.
fn freshness_table(lang: Lang, data: &Data) -> Html {
    if data.freshness.is_empty() {
        return html! { <p class="empty">{ lang.pick("本单位没有包联干部。", "No officers in this unit.") }</p> };
    }
    let now = data.fetched_at;
    html! {
        <div class="table-scroll">
            <table class="freshness">
                <thead>
                    <tr>
                        <th scope="col">{ lang.pick("干部", "Officer") }</th>
                        <th scope="col">{ lang.pick("最近同步", "Last sync") }</th>
                        <th scope="col">{ lang.pick("设备上未同步", "Changes on device") }</th>
                        <th scope="col">{ lang.pick("时钟偏差", "Clock skew") }</th>
                        <th scope="col">{ lang.pick("设备", "Devices") }</th>
                    </tr>
                </thead>
                <tbody>
                    { for data.freshness.iter().map(|f| {
                        let stale = f.last_sync.is_none_or(|t| now - t > 86_400_000);
                        let skewed = f.clock_skew_ms.is_some_and(|s| s.abs() > 5 * 60_000);
                        let seen = f.last_seen.map(|t| format!("{}{}", lang.pick("最近联网：", "last online: "), platform::format_time(shared::model::Timestamp(t))));
                        html! {
                            <tr class={classes!(stale.then_some("stale"))}>
                                <th scope="row">{ f.name.clone() }</th>
                                <td title={seen}>
                                    { match f.last_sync {
                                        Some(t) => html! { <>
                                            <span>{ ago(lang, now, t) }</span>
                                            <span class="muted small block">{ platform::format_time(shared::model::Timestamp(t)) }</span>
                                        </> },
                                        None => html! { <span class="warn">{ lang.pick("从未同步", "never") }</span> },
                                    } }
                                </td>
                                { unsent_cell(lang, f) }
                                <td class={classes!(skewed.then_some("warn"))}>
                                    { f.clock_skew_ms.map_or_else(|| "—".to_string(), |s| skew(lang, s)) }
                                </td>
                                <td class="num">{ f.devices }</td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
        </div>
    }
}

/// The "changes on device" cell: documents the officer's devices last reported holding unsent,
/// "unknown" when no device reports it, each device's number in the tooltip.
fn unsent_cell(lang: Lang, f: &Freshness) -> Html {
    let unknown = lang.pick("未知", "unknown");
    let per_device = f
        .device_unsent
        .iter()
        .map(|(name, n)| {
            format!(
                "{name}: {}",
                n.map_or_else(|| unknown.to_string(), |n| n.to_string())
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let title = (!per_device.is_empty()).then_some(per_device);
    match f.unsent {
        None => html! {
            <td class="num muted" {title}>{ unknown }</td>
        },
        Some(n) => html! {
            <td class={classes!("num", (n > 0).then_some("warn"))} {title}>
                { n }
                if f.unsent_unknown > 0 {
                    <span class="muted small block">
                        { format!("{}{}{}", lang.pick("另 ", "+ "), f.unsent_unknown, lang.pick(" 台设备未知", " device(s) unknown")) }
                    </span>
                }
            </td>
        },
    }
}

fn error_text(lang: Lang, e: &ApiError) -> String {
    match e {
        ApiError::Unreachable => lang
            .pick(
                "无法连接服务器。驾驶舱的数据都在服务器上，只能联网查看；恢复联网后自动刷新。",
                "The server cannot be reached. The dashboard reads everything from the server, \
                 so it works online only; it refreshes by itself once the connection is back.",
            )
            .into(),
        ApiError::TokenExpired => lang
            .pick(
                "登录已过期，下次同步后自动刷新。",
                "The session expired; the dashboard refreshes after the next sync.",
            )
            .into(),
        ApiError::NotFound => lang
            .pick(
                "服务器版本较旧，没有驾驶舱接口。",
                "This server is older and has no dashboard API.",
            )
            .into(),
        ApiError::Status(_, m) => format!("{}{m}", lang.pick("服务器：", "Server: ")),
        other => format!("{}{other:?}", lang.pick("读取失败：", "Read failed: ")),
    }
}

/// Properties of [`Dashboard`].
#[derive(PartialEq, Properties)]
pub struct DashboardProps {
    /// The app context (the device, the language, the change counter).
    pub ctx: Ctx,
}

/// The dashboard.
#[component]
pub fn Dashboard(props: &DashboardProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let period = use_state(|| Period::Last90);
    let unit = use_state(|| None::<OrgUnitId>);
    let view = use_state(View::default);
    let last = use_mut_ref(View::default);
    let reader = use_mut_ref(Reader::default);
    let own = use_mut_ref(|| None::<Own>);
    let choice = use_mut_ref(|| (Period::Last90, None::<OrgUnitId>));
    *choice.borrow_mut() = (*period, *unit);

    let start = {
        let core = ctx.core.clone();
        let (choice, reader, view, last, own) = (
            choice.clone(),
            reader.clone(),
            view.clone(),
            last.clone(),
            own.clone(),
        );
        Rc::new(move || {
            read(
                core.clone(),
                choice.clone(),
                reader.clone(),
                view.clone(),
                last.clone(),
                own.clone(),
            );
        })
    };

    // Read on open, on a new choice, and whenever the device's data changed.
    {
        let start = start.clone();
        use_effect_with((ctx.generation, *period, *unit), move |_| start());
    }
    // Read every 30 s while the page is visible; stop when the screen closes.
    {
        let start = start.clone();
        let reader = reader.clone();
        use_effect_with((), move |()| {
            let tick = Closure::<dyn Fn()>::new(move || {
                let hidden = web_sys::window()
                    .and_then(|w| w.document())
                    .is_some_and(|d| d.hidden());
                if !hidden {
                    start();
                }
            });
            let window = web_sys::window();
            let handle = window.as_ref().and_then(|w| {
                w.set_interval_with_callback_and_timeout_and_arguments_0(
                    tick.as_ref().unchecked_ref(),
                    REFRESH_MS,
                )
                .ok()
            });
            move || {
                reader.borrow_mut().closed = true;
                if let (Some(w), Some(h)) = (window, handle) {
                    w.clear_interval_with_handle(h);
                }
                drop(tick);
            }
        });
    }

    let on_period = {
        let period = period.clone();
        Callback::from(move |e: Event| {
            let code = event_value(&e);
            if let Some(p) = Period::ALL.iter().find(|p| p.code() == code) {
                period.set(*p);
            }
        })
    };
    let on_unit = {
        let unit = unit.clone();
        Callback::from(move |e: Event| {
            unit.set(OrgUnitId::parse(&event_value(&e)).ok());
        })
    };
    let on_refresh = {
        let start = start.clone();
        Callback::from(move |_: MouseEvent| start())
    };

    let shown = (*view).clone();
    let data = shown.data.clone();
    let loaded = data.is_some();
    // An answer for another choice stays on screen, dimmed, until the new one comes.
    let stale = data
        .as_ref()
        .is_some_and(|d| d.period != *period || unit.is_some_and(|u| d.unit.id != u.to_string()));

    // The unit picker: the person's own unit, and for a zone's people its towns and
    // departments (from the directory, or named by the zone's own charts until it arrives).
    let own_now = own.borrow().clone();
    let own_name = own_now
        .as_ref()
        .map(|o| o.unit.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| lang.pick("本单位", "My unit").to_string());
    let is_zone = own_now.as_ref().is_some_and(|o| o.unit.kind == "zone");
    let own_id = own_now
        .as_ref()
        .map(|o| o.unit.id.clone())
        .unwrap_or_default();
    let merge = |listed: Vec<(OrgUnitId, String)>, learned: &[(String, String)]| {
        let mut out: Vec<(String, String)> = listed
            .into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .filter(|(id, _)| *id != own_id)
            .collect();
        for (id, name) in learned {
            if !out.iter().any(|(i, _)| i == id) && *id != own_id {
                out.push((id.clone(), name.clone()));
            }
        }
        out
    };
    let (town_choices, department_choices) = match &own_now {
        Some(o) if is_zone => (
            merge(directory::towns(), &o.towns),
            merge(directory::departments(), &o.departments),
        ),
        _ => (Vec::new(), Vec::new()),
    };
    let chosen = unit.map(|u| u.to_string()).unwrap_or_default();
    let option = |id: &str, name: &str| {
        html! { <option value={id.to_string()} selected={chosen == id}>{ name.to_string() }</option> }
    };

    let controls = html! {
        <div class="dash-controls">
            <label>
                <span>{ lang.pick("期间", "Period") }</span>
                <select id="dash-period" onchange={on_period}>
                    { for Period::ALL.iter().map(|p| html! {
                        <option value={p.code()} selected={*p == *period}>{ p.label(lang) }</option>
                    }) }
                </select>
            </label>
            <label>
                <span>{ lang.pick("单位", "Unit") }</span>
                <select id="dash-unit" onchange={on_unit} disabled={!is_zone}>
                    <option value="" selected={chosen.is_empty()}>{ own_name }</option>
                    if !town_choices.is_empty() {
                        <optgroup label={lang.pick("镇街", "Towns")}>
                            { for town_choices.iter().map(|(id, name)| option(id, name)) }
                        </optgroup>
                    }
                    if !department_choices.is_empty() {
                        <optgroup label={lang.pick("部门", "Departments")}>
                            { for department_choices.iter().map(|(id, name)| option(id, name)) }
                        </optgroup>
                    }
                </select>
            </label>
            <button type="button" class="secondary" onclick={on_refresh}>{ lang.pick("刷新", "Refresh") }</button>
        </div>
    };

    let status = match (&shown.error, &data) {
        (Some(e), _) => html! {
            <p class="notice dash-error" role="alert">
                { error_text(lang, e) }
                if let Some(d) = &data {
                    <span class="block small">
                        { lang.pick("下面是上次读取的数据：", "Below: the data last read at ") }
                        { platform::format_time(shared::model::Timestamp(d.fetched_at)) }
                    </span>
                }
            </p>
        },
        (None, Some(d)) => html! {
            <p class="muted small dash-updated" aria-live="polite">
                { lang.pick("数据更新于 ", "Updated ") }
                { platform::format_time(shared::model::Timestamp(d.fetched_at)) }
                { lang.pick("（联网时自动刷新）", " (refreshes by itself while online)") }
            </p>
        },
        (None, None) => html! { <p class="loading">{ lang.pick("正在读取…", "Loading…") }</p> },
    };

    let body = data.as_ref().map(|d| {
        let legend_bars: &[(&'static str, &str)] = &[
            ("seg-total", lang.pick("问题数", "problems")),
            ("seg-resolved", lang.pick("已解决", "resolved")),
            ("seg-overdue", lang.pick("超期", "overdue")),
        ];
        let legend_trend: &[(&'static str, &str)] = &[
            ("seg-total", lang.pick("当月提出", "raised in the month")),
            ("seg-resolved", lang.pick("其中已解决", "of them resolved")),
        ];
        let mut towns = d.by_town.clone();
        towns.sort_by_key(|r| std::cmp::Reverse(r.problems));
        let mut departments = d.by_department.clone();
        departments.sort_by_key(|r| std::cmp::Reverse(r.problems));
        let empty = lang.pick("本期没有问题。", "No problems in this period.");
        let chart = |title: &str, html: Html| html! {
            <section class="dash-card">
                <h2>{ title.to_string() }</h2>
                { html }
            </section>
        };
        let by_category = lang.pick("按问题类别", "By category");
        let by_tier = lang.pick("按办理层级", "By tier");
        let by_town = lang.pick("按镇街", "By town");
        let by_department = lang.pick("按承办部门", "By department");
        let trend = lang.pick("月度趋势", "Monthly trend");
        html! {
            <div class={classes!("dash-body", stale.then_some("stale"))}>
                { tiles(lang, &d.kpis, &links(d)) }
                <div class="dash-charts">
                    { chart(trend, charts::trend_chart(trend, &months(lang, d), legend_trend, empty)) }
                    { chart(by_category, charts::bar_chart(by_category, &bars(lang, d, &d.by_category, "category"), legend_bars, empty)) }
                    { chart(by_tier, charts::bar_chart(by_tier, &bars(lang, d, &d.by_tier, "tier"), legend_bars, empty)) }
                    if d.unit.kind != "town" {
                        { chart(by_town, charts::bar_chart(by_town, &bars(lang, d, &towns, "town"), legend_bars, empty)) }
                    }
                    { chart(by_department, charts::bar_chart(by_department, &bars(lang, d, &departments, "department"), legend_bars, empty)) }
                </div>
                <section class="dash-card">
                    <h2>{ lang.pick("干部数据新鲜度", "Officers' data freshness") }</h2>
                    <p class="muted small">{ lang.pick(
                        "最近一次同步上来修改的时间，以及设备时钟与服务器相差多少（正数：设备慢）。超过一天未同步的标出。",
                        "When each officer last synced changes, and how far their device's clock is from the server's (positive: the device is behind). Officers silent for over a day are marked.",
                    ) }</p>
                    { freshness_table(lang, d) }
                </section>
            </div>
        }
    });

    html! {
        <main key="dashboard" class="screen dashboard" data-loaded={if loaded { "true" } else { "false" }}>
            <h1>{ lang.pick("领导驾驶舱", "Dashboard") }</h1>
            { controls }
            { status }
            { for body }
        </main>
    }
}
