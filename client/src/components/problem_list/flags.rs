//! The flag board (红绿黑旗): black, due-soon, green and red problems side by side.

use shared::model::Flag;
use yew::prelude::*;

use super::super::widgets::{Ctx, flag_badge, flag_legend, state_badge};
use super::filters::OPEN;
use super::rows::{Load, local_problems, row_excerpt, row_facts, shown, use_problems};
use crate::infra::route::Route;

/// Properties of [`FlagBoard`].
#[derive(PartialEq, Properties)]
pub struct FlagBoardProps {
    /// The app context (the device, the language, the change counter).
    pub ctx: Ctx,
}

/// The flag board (红绿黑旗): black, due-soon, green and red problems side by side (stacked
/// on a phone), the worst first, each linking to its problem and to the full list of its
/// flag, with the legend of this district's rule table.
#[component]
pub fn FlagBoard(props: &FlagBoardProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let core = ctx.core.clone();
    let black = use_problems(
        &ctx,
        "flag=black&sort=days_overdue&order=desc&limit=20".into(),
    );
    let due_soon = use_problems(
        &ctx,
        "flag=due_soon&sort=deadline&order=asc&limit=20".into(),
    );
    let green = use_problems(
        &ctx,
        format!("flag=green&state={OPEN}&sort=deadline&order=asc&limit=20"),
    );
    let red = use_problems(&ctx, "flag=red&sort=deadline&order=desc&limit=20".into());
    let columns = [
        (Flag::Black, black),
        (Flag::DueSoon, due_soon),
        (Flag::Green, green),
        (Flag::Red, red),
    ];
    let (snapshot, index) = local_problems(&core);
    html! {
        <main key="flags" class="screen flags">
            <h1>{ lang.pick("红绿黑旗", "Flags") }</h1>
            <p class="muted small">{ lang.pick(
                "旗色由状态、期限和评价按规则自动得出。绿旗只列未办结的问题。",
                "Flags derive from state, deadline and rating by the rule table. Green lists open problems only.") }</p>
            { flag_legend(lang, &core.config()) }
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
