//! Bulletins (通报) for leaders and supervisors: the list of issued bulletins (newest first),
//! the form a leader issues one with, and one bulletin as issued — the zone's KPI snapshot,
//! the rankings of towns and departments, downloads (.xlsx, .csv) and a printable page.
//! A bulletin is read from the server (`/api/bulletins`) and never changes once issued.

use std::rc::Rc;

use js_sys::Array;
use shared::forms::parse_date_end;
use shared::model::{DAY_MS, Role, Timestamp, UserId};
use wasm_bindgen::JsValue;
use yew::platform::spawn_local;
use yew::prelude::*;

use super::widgets::{Ctx, back, bind};
use crate::infra::api::{self, ApiError, get, get_str, object, text};
use crate::infra::files::download;
use crate::infra::i18n::{self, Lang};
use crate::infra::platform;
use crate::infra::route::{self, Route};

/// Properties of [`BulletinPage`].
#[derive(PartialEq, Properties)]
pub struct BulletinPageProps {
    /// The app context (the device, the language, the change counter).
    pub ctx: Ctx,
    /// The bulletin's id.
    pub id: String,
}

/// A server read as it stands.
#[derive(Debug, Clone, PartialEq)]
enum Load<T> {
    Loading,
    Ready(T),
    Failed(String),
}

/// One issued bulletin as the list shows it.
#[derive(Debug, Clone, PartialEq)]
struct Summary {
    id: i64,
    title: String,
    from: Timestamp,
    to: Timestamp,
    issued_at: Timestamp,
    issued_by_name: Option<String>,
    problems: u64,
    resolution_rate: Option<f64>,
    satisfaction_rate: Option<f64>,
}

/// How a KPI is shown.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    Count,
    Rate,
    Decimal,
    Hours,
}

/// A KPI of the server's `Kpis`: field, Chinese and English label, format.
type Column = (&'static str, &'static str, &'static str, Format);

/// The zone snapshot, in the order the page shows it.
const SNAPSHOT: &[Column] = &[
    ("problems", "问题数", "Problems", Format::Count),
    ("resolved", "已销号", "Signed off", Format::Count),
    (
        "resolution_rate",
        "问题解决率",
        "Resolution rate",
        Format::Rate,
    ),
    ("on_time_rate", "按时办结率", "On-time rate", Format::Rate),
    ("overdue", "超期未办结", "Overdue", Format::Count),
    (
        "satisfaction_rate",
        "企业满意率",
        "Satisfaction rate",
        Format::Rate,
    ),
    (
        "look_back_pass_rate",
        "回头看通过率",
        "Look-back pass rate",
        Format::Rate,
    ),
    (
        "look_backs_reopened",
        "回头看重开",
        "Reopened by look-back",
        Format::Count,
    ),
    (
        "visit_coverage",
        "走访覆盖率",
        "Visit coverage",
        Format::Rate,
    ),
    ("visits", "走访次数", "Visits", Format::Count),
    (
        "visits_per_officer",
        "人均走访",
        "Visits per officer",
        Format::Decimal,
    ),
    (
        "first_response_hours",
        "首次响应（中位/P90）",
        "First response (median/p90)",
        Format::Hours,
    ),
    (
        "sign_off_hours",
        "销号用时（中位/P90）",
        "Time to sign-off (median/p90)",
        Format::Hours,
    ),
];

/// The ranking tables' KPI columns (after rank and unit).
const RANKING: &[Column] = &[
    ("problems", "问题数", "Problems", Format::Count),
    ("resolution_rate", "解决率", "Resolved", Format::Rate),
    ("satisfaction_rate", "满意率", "Satisfied", Format::Rate),
    ("on_time_rate", "按时率", "On time", Format::Rate),
    ("overdue", "超期", "Overdue", Format::Count),
    ("look_back_pass_rate", "回头看", "Look-back", Format::Rate),
];

/// One ranked unit.
#[derive(Debug, Clone, PartialEq)]
struct Ranked {
    rank: u64,
    name: String,
    kpis: JsValue,
}

/// An issued bulletin.
#[derive(Debug, Clone, PartialEq)]
struct Bulletin {
    id: i64,
    title: String,
    from: Timestamp,
    to: Timestamp,
    issued_at: Timestamp,
    issued_by: Option<UserId>,
    zone: JsValue,
    towns: Vec<Ranked>,
    departments: Vec<Ranked>,
}

fn number(v: &JsValue, key: &str) -> Option<f64> {
    get(v, key).as_f64()
}

fn timestamp(v: &JsValue, key: &str) -> Option<Timestamp> {
    number(v, key).map(|n| Timestamp(n as i64))
}

fn parse_summary(v: &JsValue) -> Option<Summary> {
    Some(Summary {
        id: number(v, "id")? as i64,
        title: get_str(v, "title")?,
        from: timestamp(v, "period_from")?,
        to: timestamp(v, "period_to")?,
        issued_at: timestamp(v, "issued_at")?,
        issued_by_name: get_str(v, "issued_by_name"),
        problems: number(v, "problems").unwrap_or(0.0) as u64,
        resolution_rate: number(v, "resolution_rate"),
        satisfaction_rate: number(v, "satisfaction_rate"),
    })
}

fn parse_ranked(v: &JsValue) -> Vec<Ranked> {
    Array::from(v)
        .iter()
        .filter_map(|r| {
            Some(Ranked {
                rank: number(&r, "rank")? as u64,
                name: get_str(&r, "name")?,
                kpis: get(&r, "kpis"),
            })
        })
        .collect()
}

fn parse_bulletin(v: &JsValue) -> Option<Bulletin> {
    Some(Bulletin {
        id: number(v, "id")? as i64,
        title: get_str(v, "title")?,
        from: timestamp(v, "period_from")?,
        to: timestamp(v, "period_to")?,
        issued_at: timestamp(v, "issued_at")?,
        issued_by: get_str(v, "issued_by").and_then(|s| UserId::parse(&s).ok()),
        zone: get(v, "zone"),
        towns: parse_ranked(&get(v, "towns")),
        departments: parse_ranked(&get(v, "departments")),
    })
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".into(), |r| format!("{:.1}%", r * 100.0))
}

/// A KPI of a `Kpis` object, formatted.
fn kpi(kpis: &JsValue, (field, _, _, format): &Column) -> String {
    let value = get(kpis, field);
    match format {
        Format::Count => value
            .as_f64()
            .map_or_else(|| "—".into(), |n| format!("{n:.0}")),
        Format::Rate => percent(value.as_f64()),
        Format::Decimal => value
            .as_f64()
            .map_or_else(|| "—".into(), |n| format!("{n:.1}")),
        Format::Hours => {
            let pair = Array::from(&value);
            match (pair.get(0).as_f64(), pair.get(1).as_f64()) {
                (Some(median), Some(p90)) => format!("{median:.0} h / {p90:.0} h"),
                _ => "—".into(),
            }
        }
    }
}

/// `from`–`to` of a period whose end is exclusive, as local dates.
fn period(lang: Lang, from: Timestamp, to: Timestamp) -> String {
    format!(
        "{}{}{}",
        platform::format_date(from),
        lang.pick(" 至 ", " to "),
        platform::format_date(Timestamp(to.0 - 1))
    )
}

fn api_error(lang: Lang, e: &ApiError) -> String {
    match e {
        ApiError::Unreachable => lang
            .pick(
                "无法连接服务器：通报需要联网查看，联网后自动刷新。",
                "The server cannot be reached: bulletins need a connection; this refreshes once online.",
            )
            .into(),
        ApiError::TokenExpired => lang
            .pick(
                "登录已过期，下次同步后自动刷新。",
                "The session expired; this refreshes after the next sync.",
            )
            .into(),
        ApiError::NotFound => lang.pick("没有这份通报。", "No such bulletin.").into(),
        ApiError::Status(_, m) => format!("{}{m}", lang.pick("服务器：", "Server: ")),
        other => format!("{}{other:?}", lang.pick("读取失败：", "Read failed: ")),
    }
}

/// Reads `path` with the session's token whenever the key or the last successful sync changes
/// (a sync refreshes an expired token), keeping the last answer while a new one is read.
#[hook]
fn use_server_read<T, K>(
    ctx: &Ctx,
    path: String,
    key: K,
    parse: fn(&JsValue) -> Option<T>,
) -> Load<T>
where
    T: Clone + PartialEq + 'static,
    K: PartialEq + 'static,
{
    let ctx = ctx.clone();
    let lang = ctx.lang;
    let state = use_state(|| Load::<T>::Loading);
    let latest = use_mut_ref(|| 0u64);
    let synced = ctx.core.status().last_success;
    let session = ctx.core.session();
    {
        let state = state.clone();
        use_effect_with((path, key, synced), move |(path, _, _)| {
            *latest.borrow_mut() += 1;
            let me = *latest.borrow();
            if let Some(session) = session {
                let path = path.clone();
                spawn_local(async move {
                    let answer = api::get_json(&session, &path).await;
                    if *latest.borrow() != me {
                        return;
                    }
                    match answer {
                        Ok(v) => state.set(match parse(&v) {
                            Some(t) => Load::Ready(t),
                            None => Load::Failed(
                                lang.pick("服务器的回答无法识别。", "Unexpected answer.")
                                    .into(),
                            ),
                        }),
                        // Keep what is shown when the link drops; say so only if nothing is.
                        Err(e) => {
                            if !matches!(*state, Load::Ready(_)) {
                                state.set(Load::Failed(api_error(lang, &e)));
                            }
                        }
                    }
                });
            }
        });
    }
    (*state).clone()
}

fn parse_list(v: &JsValue) -> Option<Rc<Vec<Summary>>> {
    if !Array::is_array(v) {
        return None;
    }
    Some(Rc::new(
        Array::from(v)
            .iter()
            .filter_map(|b| parse_summary(&b))
            .collect(),
    ))
}

fn parse_one(v: &JsValue) -> Option<Rc<Bulletin>> {
    parse_bulletin(v).map(Rc::new)
}

/// The default title of a bulletin for the month of `today` (`YYYY-MM-DD`).
fn default_title(today: &str) -> String {
    let year = today.get(..4).unwrap_or_default();
    let month = today
        .get(5..7)
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(1);
    format!("{year}年{month}月“万人助万企”活动通报")
}

/// The period `[start of from, start of the day after to)` of two typed dates, local time.
fn typed_period(from: &str, to: &str) -> Result<(Timestamp, Timestamp), &'static str> {
    let offset = platform::utc_offset_minutes();
    let start = parse_date_end(from, offset).map_err(|_| "from")?;
    let end = parse_date_end(to, offset).map_err(|_| "to")?;
    let (from, to) = (Timestamp(start.0 + 1 - DAY_MS), Timestamp(end.0 + 1));
    if from >= to {
        return Err("order");
    }
    Ok((from, to))
}

fn confirm(message: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.confirm_with_message(message).ok())
        .unwrap_or(false)
}

/// Properties of [`BulletinList`].
#[derive(PartialEq, Properties)]
pub struct BulletinListProps {
    /// The app context (the device, the language, the change counter).
    pub ctx: Ctx,
}

/// Issued bulletins, newest first, and the form a leader issues one with.
#[component]
pub fn BulletinList(props: &BulletinListProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let core = ctx.core.clone();
    let refresh = use_state(|| 0u32);
    let list = use_server_read(&ctx, "/api/bulletins".to_string(), *refresh, parse_list);
    let today = platform::format_date(platform::now());
    let title = use_state(|| default_title(&today));
    let from = use_state(|| format!("{}01", today.get(..8).unwrap_or_default()));
    let to = use_state(|| today.clone());
    let issuing = use_state(|| false);
    let message = use_state(|| None::<String>);

    let Some(session) = core.session() else {
        return html! {};
    };
    if !matches!(session.user.role, Role::Leader | Role::Supervisor) {
        return html! {
            <main key="bulletins" class="screen bulletins">
                <h1>{ lang.pick("通报", "Bulletins") }</h1>
                <p class="empty">{ lang.pick("通报仅供领导和督导查看。", "Bulletins are for leaders and supervisors.") }</p>
            </main>
        };
    }

    let on_issue = {
        let (title, from, to, issuing, message, session) = (
            title.clone(),
            from.clone(),
            to.clone(),
            issuing.clone(),
            message.clone(),
            session.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *issuing {
                return;
            }
            let name = title.trim().to_string();
            if name.is_empty() {
                message.set(Some(lang.pick("请填写标题。", "Enter a title.").into()));
                return;
            }
            let (start, end) = match typed_period(&from, &to) {
                Ok(p) => p,
                Err("order") => {
                    message.set(Some(
                        lang.pick(
                            "起始日期不能晚于截止日期。",
                            "The period must start before it ends.",
                        )
                        .into(),
                    ));
                    return;
                }
                Err(_) => {
                    message.set(Some(
                        lang.pick("请按 YYYY-MM-DD 填写日期。", "Enter dates as YYYY-MM-DD.")
                            .into(),
                    ));
                    return;
                }
            };
            if !confirm(lang.pick(
                "通报一经发布即固定，不能修改或删除。确定发布？",
                "A bulletin cannot be changed or deleted once issued. Issue it?",
            )) {
                return;
            }
            issuing.set(true);
            message.set(None);
            let body = object(&[
                ("title", text(&name)),
                ("from", JsValue::from_f64(start.0 as f64)),
                ("to", JsValue::from_f64(end.0 as f64)),
            ]);
            let (issuing, message, session) = (issuing.clone(), message.clone(), session.clone());
            spawn_local(async move {
                let answer = api::post_json(&session, "/api/bulletins", &body).await;
                issuing.set(false);
                match answer.map(|v| number(&v, "id")) {
                    Ok(Some(id)) => route::go(&Route::Bulletin((id as i64).to_string())),
                    Ok(None) => message.set(Some(
                        lang.pick("服务器的回答无法识别。", "Unexpected answer.")
                            .into(),
                    )),
                    Err(e) => message.set(Some(api_error(lang, &e))),
                }
            });
        })
    };

    let issue_form = (session.user.role == Role::Leader).then(|| {
        html! {
            <details class="card bulletin-issue">
                <summary>{ lang.pick("发布新通报", "Issue a bulletin") }</summary>
                <form class="form" onsubmit={on_issue}>
                    <label for="bulletin-title">{ lang.pick("标题", "Title") }</label>
                    <input id="bulletin-title" value={(*title).clone()} oninput={bind(&title)} maxlength="200" />
                    <div class="two-columns">
                        <div>
                            <label for="bulletin-from">{ lang.pick("起始日期", "From") }</label>
                            <input id="bulletin-from" type="date" value={(*from).clone()} oninput={bind(&from)} />
                        </div>
                        <div>
                            <label for="bulletin-to">{ lang.pick("截止日期（含）", "To (inclusive)") }</label>
                            <input id="bulletin-to" type="date" value={(*to).clone()} oninput={bind(&to)} />
                        </div>
                    </div>
                    <p class="hint">{ lang.pick(
                        "发布时按当时的数据计算全区指标和镇街、部门排名；发布后内容固定，不能修改或删除。",
                        "Issuing computes the zone's KPIs and the town and department rankings from the data at that moment; the bulletin then never changes and cannot be deleted.",
                    ) }</p>
                    if let Some(m) = &*message { <p class="field-error" role="alert">{ m.clone() }</p> }
                    <button type="submit" class="primary save" disabled={*issuing}>
                        { if *issuing { lang.pick("发布中…", "Issuing…") } else { lang.pick("发布通报", "Issue") } }
                    </button>
                </form>
            </details>
        }
    });

    let body = match &list {
        Load::Loading => html! { <p class="loading">{ lang.pick("读取中…", "Loading…") }</p> },
        Load::Failed(m) => html! {
            <div class="notice" role="alert">
                <p>{ m.clone() }</p>
                <button type="button" class="secondary" onclick={
                    let refresh = refresh.clone();
                    Callback::from(move |_: MouseEvent| refresh.set(*refresh + 1))
                }>{ lang.pick("重试", "Retry") }</button>
            </div>
        },
        Load::Ready(list) if list.is_empty() => html! {
            <p class="empty">{ lang.pick("还没有发布过通报。", "No bulletin has been issued yet.") }</p>
        },
        Load::Ready(list) => html! {
            <ul class="cards bulletin-list">
                { for list.iter().map(|b| html! {
                    <li class="card">
                        <a href={Route::Bulletin(b.id.to_string()).hash()}>
                            <div class="card-title">
                                <strong>{ b.title.clone() }</strong>
                                <span class="muted small">{ format!("No.{}", b.id) }</span>
                            </div>
                            <div class="card-facts">
                                <span>{ period(lang, b.from, b.to) }</span>
                            </div>
                            <div class="card-facts">
                                <span>{ lang.pick("问题 ", "Problems ") }{ b.problems }</span>
                                <span>{ lang.pick("解决率 ", "Resolved ") }{ percent(b.resolution_rate) }</span>
                                <span>{ lang.pick("满意率 ", "Satisfied ") }{ percent(b.satisfaction_rate) }</span>
                            </div>
                            <div class="card-facts muted small">
                                <span>{ lang.pick("发布于 ", "Issued ") }{ platform::format_time(b.issued_at) }</span>
                                if let Some(name) = &b.issued_by_name { <span>{ name.clone() }</span> }
                            </div>
                        </a>
                    </li>
                }) }
            </ul>
        },
    };

    html! {
        <main key="bulletins" class="screen bulletins">
            <h1>{ lang.pick("通报", "Bulletins") }</h1>
            { for issue_form }
            <h2>{ lang.pick("已发布的通报", "Issued bulletins") }</h2>
            { body }
        </main>
    }
}

fn ranking_table(lang: Lang, kind: &str, caption: &str, rows: &[Ranked]) -> Html {
    if rows.is_empty() {
        return html! { <p class="empty">{ lang.pick("无", "None") }</p> };
    }
    html! {
        <div class="bulletin-scroll">
            <table class="ranking" data-kind={kind.to_string()}>
                <caption class="visually-hidden">{ caption.to_string() }</caption>
                <thead>
                    <tr>
                        <th scope="col">{ lang.pick("名次", "Rank") }</th>
                        <th scope="col">{ lang.pick("单位", "Unit") }</th>
                        { for RANKING.iter().map(|(_, zh, en, _)| html! { <th scope="col" class="num">{ lang.pick(zh, en) }</th> }) }
                    </tr>
                </thead>
                <tbody>
                    { for rows.iter().map(|r| html! {
                        <tr>
                            <td class="num rank">{ r.rank }</td>
                            <th scope="row">{ r.name.clone() }</th>
                            { for RANKING.iter().map(|c| html! { <td class="num">{ kpi(&r.kpis, c) }</td> }) }
                        </tr>
                    }) }
                </tbody>
            </table>
        </div>
    }
}

/// One issued bulletin: snapshot, rankings, downloads, print.
#[component]
pub fn BulletinPage(props: &BulletinPageProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let core = ctx.core.clone();
    let valid = props.id.parse::<i64>().ok().filter(|n| *n > 0);
    let path = format!("/api/bulletins/{}", valid.unwrap_or(0));
    let bulletin = use_server_read(&ctx, path, props.id.clone(), parse_one);
    let download_message = use_state(|| None::<String>);

    if valid.is_none() {
        return html! {
            <main key="bulletin" class="screen bulletin">
                { back(lang, &Route::Bulletins) }
                <p class="empty">{ lang.pick("没有这份通报。", "No such bulletin.") }</p>
            </main>
        };
    }
    let b = match bulletin {
        Load::Ready(b) => b,
        Load::Loading => {
            return html! {
                <main key="bulletin" class="screen bulletin">
                    { back(lang, &Route::Bulletins) }
                    <p class="loading">{ lang.pick("读取中…", "Loading…") }</p>
                </main>
            };
        }
        Load::Failed(m) => {
            return html! {
                <main key="bulletin" class="screen bulletin">
                    { back(lang, &Route::Bulletins) }
                    <p class="notice" role="alert">{ m }</p>
                </main>
            };
        }
    };

    let on_download = |ext: &'static str, mime: &'static str| {
        let (core, message) = (core.clone(), download_message.clone());
        let id = b.id;
        Callback::from(move |_: MouseEvent| {
            let Some(session) = core.session() else {
                return;
            };
            let message = message.clone();
            message.set(Some(lang.pick("下载中…", "Downloading…").into()));
            spawn_local(async move {
                let path = format!("/api/bulletins/{id}/{ext}");
                let name = format!("bulletin-{id}.{ext}");
                match download(&session, &path, &name, mime).await {
                    Ok(()) => message.set(None),
                    Err(e) => message.set(Some(format!(
                        "{}{e}",
                        lang.pick(
                            "下载失败（需要联网）：",
                            "Download failed (needs a connection): "
                        )
                    ))),
                }
            });
        })
    };
    let on_print = Callback::from(|_: MouseEvent| {
        if let Some(w) = web_sys::window() {
            let _ = w.print();
        }
    });
    let issuer = b
        .issued_by
        .map(|u| i18n::person(lang, &core, u))
        .unwrap_or_default();

    html! {
        <main key="bulletin" class="screen bulletin" data-id={b.id.to_string()}>
            { back(lang, &Route::Bulletins) }
            <header class="bulletin-head">
                <h1>{ b.title.clone() }</h1>
                <p class="bulletin-period">{ lang.pick("统计期间：", "Period: ") }{ period(lang, b.from, b.to) }</p>
                <p class="muted small">
                    { format!("No.{} · ", b.id) }
                    { lang.pick("发布于 ", "Issued ") }{ platform::format_time(b.issued_at) }
                    if !issuer.is_empty() { { " · " }{ issuer } }
                </p>
                <p class="notice immutable">{ lang.pick(
                    "本通报为发布时的数据快照，发布后不可修改或删除；之后的变化体现在下一期通报中。",
                    "This bulletin is a snapshot taken when it was issued; it cannot be changed or deleted, and later changes appear in the next bulletin.",
                ) }</p>
            </header>
            <div class="actions-row no-print">
                <button type="button" class="secondary" onclick={on_download("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}>
                    { lang.pick("下载 Excel", "Download .xlsx") }
                </button>
                <button type="button" class="secondary" onclick={on_download("csv", "text/csv;charset=utf-8")}>
                    { lang.pick("下载 CSV", "Download .csv") }
                </button>
                <button type="button" class="primary" onclick={on_print}>{ lang.pick("打印", "Print") }</button>
            </div>
            if let Some(m) = &*download_message { <p class="hint no-print" role="status">{ m.clone() }</p> }

            <h2>{ lang.pick("全区指标", "Zone KPIs") }</h2>
            <dl class="bulletin-kpis">
                { for SNAPSHOT.iter().map(|c| html! {
                    <div class="bulletin-kpi">
                        <dt>{ lang.pick(c.1, c.2) }</dt>
                        <dd>{ kpi(&b.zone, c) }</dd>
                    </div>
                }) }
            </dl>
            <p class="kpi-notes">
                { super::kpi_tiles::channel_split(lang, &crate::infra::kpis::rated_by_channel(&b.zone)) }
            </p>

            <h2>{ lang.pick("镇街排名", "Towns ranked") }</h2>
            { ranking_table(lang, "towns", lang.pick("镇街排名", "Towns ranked"), &b.towns) }
            <h2>{ lang.pick("部门排名", "Departments ranked") }</h2>
            { ranking_table(lang, "departments", lang.pick("部门排名", "Departments ranked"), &b.departments) }
            <p class="hint">{ lang.pick(
                "排名依次按问题解决率、企业满意率、按时办结率由高到低；期间内没有问题的单位排在最后。",
                "Ranked by resolution rate, then satisfaction rate, then on-time rate, highest first; units with no problems in the period rank last.",
            ) }</p>
        </main>
    }
}
