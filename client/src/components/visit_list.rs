//! The leaders' visit list (走访记录, full bundle) behind the dashboard's visit tiles: rows
//! from `GET /api/visits` (`infra::evidence`) — date, enterprise, officers, method, photos,
//! check-in distance, on-site evidence and the history verdict — filtered by the route's
//! query string (the endpoint's parameters: the officers' unit, method, evidence, check-in,
//! photos), read again after every sync round. Opened from the leaders' navigation (走访) and
//! the dashboard's visit tiles.

use std::rc::Rc;

use shared::model::{Timestamp, VisitMethod};
use yew::platform::spawn_local;
use yew::prelude::*;

use super::photos::signed_line;
use super::problem_list::{Load, Query};
use super::widgets::{Ctx, event_value};
use crate::infra::evidence::{self, Verdict, VisitPage, VisitRow};
use crate::infra::i18n::{self, Key, Lang};
use crate::infra::route::{self, Route};
use crate::infra::{directory, platform};

/// Rows per page unless the query says otherwise (the server's default).
const PAGE: u64 = 50;

/// Properties of [`VisitList`].
#[derive(PartialEq, Properties)]
pub struct VisitListProps {
    /// The app context (the device, the language, the change counter).
    pub ctx: Ctx,
    /// The list's query string (`/api/visits` parameters).
    pub query: String,
}

/// A history verdict in words, with its class (`intact`, `broken`, `unchecked`).
pub fn verdict_text(lang: Lang, v: &Verdict) -> (String, &'static str) {
    match v {
        Verdict::Intact => (lang.pick("留痕完整", "History intact").into(), "intact"),
        Verdict::Broken(why) => (
            format!("{}{why}", lang.pick("留痕异常：", "History broken: ")),
            "broken",
        ),
        Verdict::Unchecked => (
            lang.pick("留痕待核验", "History not checked yet").into(),
            "unchecked",
        ),
    }
}

/// A labelled filter `<select>` of the visit list whose "all" choice is empty.
fn filter(
    lang: Lang,
    query: &Query,
    key: &'static str,
    label: &str,
    options: &[(&str, &str)],
) -> Html {
    let current = query.get(key).to_string();
    let onchange = {
        let query = query.clone();
        Callback::from(move |e: Event| {
            let next = query.with(key, &event_value(&e)).with("offset", "");
            route::go(&Route::Visits(next.to_string()));
        })
    };
    let id = format!("visit-filter-{key}");
    html! {
        <div class="filter">
            <label for={id.clone()}>{ label.to_string() }</label>
            <select {id} name={key} {onchange}>
                <option value="" selected={current.is_empty()}>{ lang.pick("全部", "All") }</option>
                { for options.iter().map(|(code, label)| html! {
                    <option value={code.to_string()} selected={*code == current}>{ label.to_string() }</option>
                }) }
            </select>
        </div>
    }
}

fn row(lang: Lang, r: &VisitRow) -> Html {
    let (history, class) = verdict_text(lang, &r.history);
    let method = r
        .method
        .map_or("—", |m| lang.pick(m.zh(), m.en()))
        .to_string();
    let checked_in = match (r.method, r.distance_m) {
        (_, Some(m)) => i18n::distance(lang, m),
        (Some(VisitMethod::OnSite), None) => lang.t(Key::NoPosition).into(),
        _ => "—".into(),
    };
    html! {
        <tr class="visit-row" data-id={r.id.to_string()} data-evidence={r.evidence.to_string()} data-history={class}>
            <td><a href={Route::Visit(r.id).hash()}>{ platform::format_time(Timestamp(r.at)) }</a></td>
            <td>{ r.enterprise_name.clone() }</td>
            <td>{ r.officers.join("、") }</td>
            <td>{ method }</td>
            <td class="photos">{ r.photos }</td>
            <td class="signature">
                if let Some((by_name, at, hash)) = &r.signature {
                    { signed_line(lang, by_name, Timestamp(*at), Some(hash)) }
                } else { { "—" } }
            </td>
            <td class={classes!("distance", r.outside_radius.then_some("bad"))}>{ checked_in }</td>
            <td class="evidence">{ if r.evidence { lang.pick("有", "yes") } else { lang.pick("无", "no") } }</td>
            <td class={classes!("history", class)}>{ history }</td>
        </tr>
    }
}

/// The visit list.
#[component]
pub fn VisitList(props: &VisitListProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let query = Query::parse(&props.query);
    let page = use_state(|| Load::<Rc<VisitPage>>::Loading);
    let latest = use_mut_ref(|| 0u64);
    {
        let page = page.clone();
        let session = ctx.core.session();
        let synced = ctx.core.status().last_success;
        use_effect_with((props.query.clone(), synced), move |(query, _)| {
            *latest.borrow_mut() += 1;
            let me = *latest.borrow();
            if let Some(session) = session {
                let query = query.clone();
                spawn_local(async move {
                    let answer = evidence::visits(&session, &query).await;
                    if *latest.borrow() == me {
                        page.set(match answer {
                            Ok(p) => Load::Ready(Rc::new(p)),
                            Err(e) => Load::Failed(format!("{e:?}")),
                        });
                    }
                });
            }
        });
    }
    let yes_no = [
        ("true", lang.pick("是", "Yes")),
        ("false", lang.pick("否", "No")),
    ];
    let methods: Vec<(&str, &str)> = VisitMethod::ALL
        .iter()
        .map(|m| (m.code(), lang.pick(m.zh(), m.en())))
        .collect();
    // The `unit` filter: visits by the officers of a unit or of one below it (the zone, towns,
    // departments, as the directory names them).
    let units: Vec<(String, String)> = directory::towns()
        .into_iter()
        .chain(directory::departments())
        .map(|(id, name)| (id.to_string(), name))
        .collect();
    let units: Vec<(&str, &str)> = units
        .iter()
        .map(|(id, name)| (id.as_str(), name.as_str()))
        .collect();
    let limit = query.get("limit").parse::<u64>().unwrap_or(PAGE).max(1);
    let offset = query.get("offset").parse::<u64>().unwrap_or(0);
    let link = |to: u64| Route::Visits(query.with("offset", &to.to_string()).to_string()).hash();
    let period = match (
        query.get("from").parse::<i64>(),
        query.get("to").parse::<i64>(),
    ) {
        (Ok(from), Ok(to)) => Some(format!(
            "{} – {}",
            platform::format_date(Timestamp(from)),
            platform::format_date(Timestamp(to - 1))
        )),
        _ => None,
    };
    html! {
        <main key="visits" class="screen visits">
            <div class="title-row">
                <h1>{ lang.pick("走访记录", "Visits") }</h1>
                if let Load::Ready(p) = &*page {
                    <span class="muted list-total" data-total={p.total.to_string()}>
                        { lang.pick("共 {n} 次", "{n} in all").replace("{n}", &p.total.to_string()) }
                    </span>
                }
            </div>
            if let Some(period) = period {
                <p class="muted period">{ lang.pick("期间：", "Period: ") }{ period }</p>
            }
            <div class="card filters filter-grid">
                { filter(lang, &query, "unit", lang.pick("走访干部所在单位", "Officers' unit"), &units) }
                { filter(lang, &query, "method", lang.pick("方式", "Method"), &methods) }
                { filter(lang, &query, "evidence", lang.pick("现场佐证", "On-site evidence"), &yes_no) }
                { filter(lang, &query, "outside_radius", lang.pick("签到超出范围或无定位", "Check-in outside the radius or without position"), &yes_no) }
                { filter(lang, &query, "photos", lang.pick("有照片", "With photos"), &yes_no) }
            </div>
            { match &*page {
                Load::Loading => html! { <p class="loading">{ lang.pick("正在读取…", "Loading…") }</p> },
                Load::Failed(m) => html! { <p class="field-error" role="alert">{ m.clone() }</p> },
                Load::Ready(p) if p.rows.is_empty() => html! { <p class="empty">{ lang.pick("没有符合条件的走访。", "No visits match.") }</p> },
                Load::Ready(p) => html! {
                    <>
                    <p class="muted small">{ lang.pick("签到半径", "Check-in radius ") }{ i18n::distance(lang, f64::from(p.radius_m)) }</p>
                    <div class="scroll-x">
                        <table class="admin-table visit-table">
                            <thead><tr>
                                <th>{ lang.pick("时间", "When") }</th>
                                <th>{ lang.pick("企业", "Enterprise") }</th>
                                <th>{ lang.pick("走访干部", "Officers") }</th>
                                <th>{ lang.pick("方式", "Method") }</th>
                                <th>{ lang.pick("照片", "Photos") }</th>
                                <th>{ lang.pick("企业签字", "Signature") }</th>
                                <th>{ lang.pick("签到距企业", "Check-in distance") }</th>
                                <th>{ lang.pick("现场佐证", "On-site evidence") }</th>
                                <th>{ lang.pick("留痕核验", "History") }</th>
                            </tr></thead>
                            <tbody>{ for p.rows.iter().map(|r| row(lang, r)) }</tbody>
                        </table>
                    </div>
                    <nav class="pager" aria-label={lang.pick("翻页", "Pages")}>
                        if offset > 0 {
                            <a class="button secondary pager-prev" href={link(offset.saturating_sub(limit))}>{ lang.pick("上一页", "Previous") }</a>
                        }
                        <span class="muted">{ format!("{}–{} / {}", offset + 1, (offset + p.rows.len() as u64).min(p.total), p.total) }</span>
                        if offset + limit < p.total {
                            <a class="button secondary pager-next" href={link(offset + limit)}>{ lang.pick("下一页", "Next") }</a>
                        }
                    </nav>
                    </>
                },
            } }
        </main>
    }
}

/// Properties of [`HistoryVerdict`].
#[derive(PartialEq, Properties)]
pub struct HistoryVerdictProps {
    /// The app context.
    pub ctx: Ctx,
    /// The record.
    pub doc: shared::sync::protocol::DocId,
}

/// The server's verdict on a record's history (历史留痕核验), on its history page: "history
/// intact", or what is broken; nothing while offline or before the server answers.
#[component]
pub fn HistoryVerdict(props: &HistoryVerdictProps) -> Html {
    let lang = props.ctx.lang;
    let verdict = use_state(|| None::<Verdict>);
    {
        let verdict = verdict.clone();
        let session = props.ctx.core.session();
        use_effect_with(props.doc.clone(), move |doc| {
            if let Some(session) = session {
                let doc = doc.clone();
                spawn_local(async move {
                    if let Ok(v) = evidence::history_verdict(&session, &doc).await {
                        verdict.set(Some(v));
                    }
                });
            }
        });
    }
    match &*verdict {
        Some(v) => {
            let (text, class) = verdict_text(lang, v);
            html! { <p class={classes!("history-verdict", class)} data-verdict={class}>{ text }</p> }
        }
        None => html! {},
    }
}
