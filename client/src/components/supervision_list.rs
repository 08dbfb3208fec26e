//! The leaders' supervision list (督办): the instructions on the problems in their scope with
//! whom each is addressed to, its due date, acknowledgement and state, open ones by default,
//! filtered by state (`infra::supervision`, `GET /api/supervision`); read again after every
//! sync round. Each row opens its problem.

use shared::model::{ProblemId, Timestamp};
use shared::supervision::SupervisionState;
use yew::platform::spawn_local;
use yew::prelude::*;

use super::problem_list::{Load, api_error};
use super::widgets::Ctx;
use crate::infra::platform;
use crate::infra::route::Route;
use crate::infra::supervision::{self, Page};

/// The filter tabs: label and the states they ask for (empty: the open ones).
const TABS: [(&str, &str, &str); 5] = [
    ("未办结", "Open", ""),
    ("已下达", "Issued", "issued"),
    ("已签收", "Acknowledged", "acknowledged"),
    ("已超期", "Overdue", "overdue"),
    ("已办结", "Closed", "closed"),
];

/// Properties of [`SupervisionList`].
#[derive(PartialEq, Properties)]
pub struct SupervisionListProps {
    /// The app context.
    pub ctx: Ctx,
}

/// The list.
#[component]
pub fn SupervisionList(props: &SupervisionListProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let tab = use_state(|| 0usize);
    let page = use_state(|| Load::<Page>::Loading);
    let (_, _, states) = TABS[*tab];
    {
        let (page, session) = (page.clone(), ctx.core.session());
        let synced = ctx.core.status().last_success;
        use_effect_with((states, synced), move |(states, _)| {
            let states = states.to_string();
            if let Some(session) = session {
                spawn_local(async move {
                    page.set(match supervision::list(&session, &states, 200).await {
                        Ok(p) => Load::Ready(p),
                        Err(e) => Load::Failed(api_error(lang, &e)),
                    });
                });
            }
        });
    }
    let state_label = |s: SupervisionState| lang.pick(s.zh(), s.en());

    html! {
        <main key="supervision-list" class="screen supervision-list wide">
            <h1>{ lang.pick("督办", "Supervision") }</h1>
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
            { match &*page {
                Load::Loading => html! { <p class="loading">{ lang.pick("正在读取…", "Loading…") }</p> },
                Load::Failed(m) => html! { <p class="field-error" role="alert">{ m.clone() }</p> },
                Load::Ready(p) => html! {
                    <>
                    <p class="muted small supervision-counts">
                        { for p.by_state.iter().filter(|(_, n)| *n > 0).map(|(s, n)| html! {
                            <span data-state={s.code()}>{ state_label(*s) }{ " " }{ n }{ "　" }</span>
                        }) }
                        { lang.pick("共 {n} 条", "{n} in all").replace("{n}", &p.total.to_string()) }
                    </p>
                    if p.rows.is_empty() {
                        <p class="empty">{ lang.pick("没有督办事项。", "No supervision items.") }</p>
                    } else {
                        <div class="table-scroll"><table class="freshness supervision-table">
                            <thead><tr>
                                <th>{ lang.pick("状态", "State") }</th>
                                <th>{ lang.pick("企业与问题", "Enterprise and problem") }</th>
                                <th>{ lang.pick("督办要求", "Instruction") }</th>
                                <th>{ lang.pick("督办对象", "To") }</th>
                                <th>{ lang.pick("期限", "Due") }</th>
                                <th>{ lang.pick("签收", "Acknowledged") }</th>
                            </tr></thead>
                            <tbody>
                            { for p.rows.iter().map(|r| {
                                let link = ProblemId::parse(&r.problem).ok().map(|id| Route::Problem(id).hash());
                                html! {
                                    <tr class="supervision-row" data-id={r.id.clone()} data-state={r.state.code()}>
                                        <td>{ super::supervision::state_badge(lang, r.state) }</td>
                                        <td><a href={link.unwrap_or_default()}>{ r.enterprise.clone() }</a>
                                            <div class="muted small">{ r.description.chars().take(40).collect::<String>() }</div></td>
                                        <td>{ r.text.clone() }<div class="muted small">{ r.by.clone() }{ " · " }{ platform::format_time(Timestamp(r.at)) }</div></td>
                                        <td class="supervision-to">{ r.to.clone() }</td>
                                        <td>{ r.due.map(|d| platform::format_date(Timestamp(d))).unwrap_or_default() }</td>
                                        <td class="supervision-ack">{ match &r.acknowledged {
                                            Some((who, at)) => format!("{who} · {}", platform::format_time(Timestamp(*at))),
                                            None => String::new(),
                                        } }</td>
                                    </tr>
                                }
                            }) }
                            </tbody>
                        </table></div>
                    }
                    </>
                },
            } }
        </main>
    }
}
