//! One enterprise: its profile, the timeline of visits and its problems with state and flag,
//! and its 连心卡 (open it, replace a lost one).

use std::cmp::Reverse;

use shared::derive::derive;
use shared::forms::visit_time;
use shared::model::EnterpriseId;
use shared::workflow::rights;
use yew::prelude::*;

use super::widgets::{Ctx, back, flag_badge, flag_legend, missing, state_badge};
use crate::infra::i18n::{self, Key};
use crate::infra::route::Route;
use crate::infra::{card, order, platform};

/// The page of enterprise `id`. A plain function, not a component (no state of its own; each
/// component type costs its own copy of yew's machinery): the app calls it on every render.
pub fn enterprise_page(ctx: &Ctx, id: EnterpriseId) -> Html {
    let lang = ctx.lang;
    let snapshot = ctx.core.snapshot();
    let Some(e) = snapshot.enterprises.iter().find(|e| e.id == id) else {
        return missing(ctx);
    };
    let now = platform::now();
    let visits: Vec<_> = snapshot
        .visits
        .iter()
        .filter(|v| v.enterprise == e.id)
        .collect();
    let visits = sorted_by(visits, |v| (false, Reverse(visit_time(v).0)));
    let problems: Vec<_> = snapshot
        .problems
        .iter()
        .filter(|p| p.enterprise == e.id)
        .map(|p| (p, derive(p, &ctx.core.config(), now)))
        .collect();
    let problems = sorted_by(problems, |(p, d)| {
        (d.outcome.state.is_closed(), Reverse(p.created.at.0))
    });

    html! {
        <main key="enterprise" class="screen enterprise">
            { back(lang, &Route::Enterprises) }
            <h1 class="enterprise-name">{ e.name.clone() }</h1>
            <dl class="facts">
                <dt>{ lang.t(Key::CreditCode) }</dt><dd class="mono">{ e.credit_code.as_str() }</dd>
                <dt>{ lang.t(Key::Address) }</dt><dd>{ e.address.clone() }</dd>
                <dt>{ lang.t(Key::Industry) }</dt><dd>{ e.industry.clone() }</dd>
                <dt>{ lang.t(Key::Size) }</dt><dd>{ lang.pick(e.size.zh(), e.size.en()) }
                    if e.key_enterprise { { " · " }{ lang.t(Key::ImportantEnterprise) } }</dd>
                { for e.contacts.values().map(|c| html! {
                    <><dt>{ lang.t(Key::Contact) }</dt><dd>{ format!("{} {} {}", c.name, c.title, c.phone) }</dd></>
                }) }
            </dl>
            <div class="actions-row">
                <a class="button primary" href={Route::NewVisit(e.id).hash()}>{ lang.t(Key::NewVisit) }</a>
                <a class="button secondary" href={Route::Intake(Some(e.id)).hash()}>{ lang.t(Key::NewProblem) }</a>
                if e.key_enterprise {
                    <a class="button secondary" href={Route::Monitoring(e.id).hash()}>{ lang.pick("经济监测", "Monitoring") }</a>
                }
            </div>
            { card_buttons(ctx, e.id) }

            <h2>{ lang.t(Key::Problems) }{ format!(" ({})", problems.len()) }</h2>
            if problems.is_empty() { <p class="empty">{ lang.t(Key::NoProblems) }</p> } else { { flag_legend(lang, &ctx.core.config()) } }
            <ul class="cards">
                { for problems.iter().map(|(p, d)| html! {
                    <li class="card problem-card">
                        <a href={Route::Problem(p.id).hash()}>
                            <div class="card-title">
                                <strong>{ i18n::category(lang, &ctx.core.config(), &p.category) }</strong>
                                { flag_badge(lang, d.flag) }
                                { state_badge(lang, d.outcome.state) }
                            </div>
                            <p class="excerpt problem-description">{ excerpt(&p.description, 60) }</p>
                            <div class="card-facts">
                                <span>{ lang.t(Key::Deadline) }{ platform::format_date(d.outcome.deadline) }</span>
                                if d.overdue {
                                    <span class="overdue">{ lang.t(Key::DaysOverdue).replace("{n}", &d.days_overdue.to_string()) }</span>
                                }
                            </div>
                        </a>
                    </li>
                }) }
            </ul>

            <h2>{ lang.t(Key::Visits) }{ format!(" ({})", visits.len()) }</h2>
            if visits.is_empty() { <p class="empty">{ lang.t(Key::NoVisits) }</p> }
            <ol class="timeline">
                { for visits.iter().map(|v| html! {
                    <li class="card visit-card">
                        <a href={Route::Visit(v.id).hash()}>
                            <div class="card-title">
                                <strong>{ platform::format_time(visit_time(v)) }</strong>
                                <span class="muted">{ lang.pick(v.method.zh(), v.method.en()) }</span>
                            </div>
                            <p class="excerpt visit-notes">{ excerpt(&v.notes, 80) }</p>
                            <div class="card-facts">
                                <span>{ lang.t(Key::ProblemsRaised) }{ v.problems.len() }</span>
                                <span>{ lang.pick(v.operating_status.zh(), v.operating_status.en()) }</span>
                            </div>
                        </a>
                    </li>
                }) }
            </ol>
        </main>
    }
}

/// The 连心卡's buttons, for whom the rights table lets manage it: open the card (its
/// printable page with the QR code) and replace a lost one.
fn card_buttons(ctx: &Ctx, id: EnterpriseId) -> Html {
    let Some(session) = ctx.core.session() else {
        return Html::default();
    };
    if rights::may_manage_card(session.user.role).is_err() {
        return Html::default();
    }
    let lang = ctx.lang;
    let click = |replace: bool| {
        let session = session.clone();
        Callback::from(move |_: MouseEvent| {
            if replace && !card::confirm_replace(lang) {
                return;
            }
            let session = session.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let opened = if replace {
                    card::replace_card(&session, id).await
                } else {
                    card::open_card(&session, id).await
                };
                if let Err(e) = opened {
                    card::report(lang, &e);
                }
            });
        })
    };
    html! {
        <div class="actions-row card-actions">
            <button class="button secondary open-card" onclick={click(false)}>{ lang.t(Key::EnterpriseCard) }</button>
            <button class="button secondary replace-card" onclick={click(true)}>{ lang.t(Key::ReplaceCard) }</button>
        </div>
    }
}

/// The first `chars` characters of a text, with an ellipsis when cut.
pub fn excerpt(text: &str, chars: usize) -> String {
    let mut out: String = text.chars().take(chars).collect();
    if text.chars().count() > chars {
        out.push('…');
    }
    out
}

/// `items` in the order of `key`, ties keeping their order (through the app's one sort,
/// [`order::stable_order`]).
fn sorted_by<T>(items: Vec<T>, key: impl Fn(&T) -> (bool, Reverse<i64>)) -> Vec<T> {
    let keys: Vec<(bool, Reverse<i64>)> = items.iter().map(key).collect();
    let positions = order::stable_order(keys.len(), &|a, b| keys[a].cmp(&keys[b]));
    order::rearranged(items, &positions)
}
