//! One problem: where it stands (state, flag, effective tier and deadline, overdue, handling
//! units), edits of its fields, the response to the enterprise, progress entries, the
//! enterprise's rating, the workflow actions the person's role may take — with the guard's
//! reason when one is refused — hand-out (交办) to a department and supervision instructions
//! (督办) for leaders and supervisors, and links to its visit and per-field history.

use shared::derive::derive;
use shared::doc::{DocKind, ProblemDoc};
use shared::forms::{
    ActionKind, BatchAction, BatchRefusal, FormError, actions_for, apply_batch, build_action,
    parse_date_end, parse_rating,
};
use shared::model::{EntryId, OrgUnitId, ProblemId, ProblemState, Rating};
use shared::sync::protocol::DocId;
use shared::workflow::{self, rights};
use yew::prelude::*;

use super::discard::discard_button;
use super::follow_up::follow_up_notice;
use super::photos::{photo_section, pick, signature_pad, signed_line};
use super::problem_edit::{input_of, problem_edit_form, use_edit_form};
use super::problem_list::unit_picker;
use super::supervision::supervision_card;
use super::widgets::{
    Ctx, back, bind, bind_select, flag_badge, flag_legend, missing, select, state_badge,
};
use crate::infra::i18n::{self, Key, Lang};
use crate::infra::route::Route;
use crate::infra::{directory, photos, platform};
use crate::sync::{Core, SaveError};

/// Properties of [`ProblemPage`].
#[derive(PartialEq, Properties)]
pub struct ProblemPageProps {
    /// The app context (the device, the language, the change counter).
    pub ctx: Ctx,
    /// The problem.
    pub id: ProblemId,
}

/// Applies `f` to a copy of the problem document and saves it; reports through `message`.
/// `f` is a `dyn` closure, so every action of the page shares one copy of this code.
pub(super) fn edit_problem(
    core: &std::rc::Rc<Core>,
    lang: Lang,
    doc_id: &DocId,
    message: &UseStateHandle<Option<(bool, String)>>,
    f: &mut dyn FnMut(&mut ProblemDoc, &shared::model::Actor) -> Result<(), shared::doc::DocError>,
) -> bool {
    let (Some(actor), Some(record)) = (core.actor(), core.doc(doc_id)) else {
        message.set(Some((false, lang.t(Key::NotLoggedIn).into())));
        return false;
    };
    let edited = ProblemDoc::from_record(record).and_then(|mut d| f(&mut d, &actor).map(|()| d));
    match edited {
        Ok(doc) => {
            let message = message.clone();
            core.save(
                vec![(doc_id.clone(), doc.into_record())],
                Callback::from(move |r: Result<(), SaveError>| {
                    message.set(Some(match r {
                        Ok(()) => (true, lang.t(Key::SavedOnDevice).to_string()),
                        Err(e) => (false, i18n::save_error(lang, &e)),
                    }));
                }),
            );
            true
        }
        Err(e) => {
            message.set(Some((false, i18n::doc_error(lang, &e))));
            false
        }
    }
}

/// A form's result line: saved, or what went wrong.
pub(super) fn message_line(message: &Option<(bool, String)>) -> Html {
    match message {
        Some((true, m)) => html! { <p class="hint saved" role="status">{ m.clone() }</p> },
        Some((false, m)) => html! { <p class="field-error" role="alert">{ m.clone() }</p> },
        None => html! {},
    }
}

/// The problem page.
#[component]
pub fn ProblemPage(props: &ProblemPageProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let core = ctx.core.clone();
    let snapshot = core.snapshot();
    let problem = snapshot.problems.iter().find(|p| p.id == props.id).cloned();

    let response = use_state(|| {
        problem
            .as_ref()
            .map(|p| p.response.clone())
            .unwrap_or_default()
    });
    let response_message = use_state(|| None::<(bool, String)>);
    let progress = use_state(String::new);
    let progress_message = use_state(|| None::<(bool, String)>);
    let rating = use_state(String::new);
    let rating_comment = use_state(String::new);
    let rating_message = use_state(|| None::<(bool, String)>);
    let chosen = use_state(|| None::<ActionKind>);
    let reason = use_state(String::new);
    let date = use_state(String::new);
    let action_message = use_state(|| None::<(bool, String)>);
    let supervision_message = use_state(|| None::<(bool, String)>);
    let handout_unit = use_state(String::new);
    let handout_reason = use_state(String::new);
    let handout_message = use_state(|| None::<(bool, String)>);
    let photo_message = use_state(|| None::<(bool, String)>);
    let edit_form = use_edit_form(problem.as_ref().map(input_of).unwrap_or_default());

    let Some(problem) = problem else {
        return missing(&ctx);
    };
    let doc_id = DocId::new(DocKind::Problem, &props.id.to_string());
    let derived = derive(&problem, &core.config(), platform::now());
    let refusal = core.refusal(&doc_id);
    let actor = core.actor();

    // Photos of the problem as found: stored on the device, then added in one change.
    let add_photos = {
        let (core, doc_id, message) = (core.clone(), doc_id.clone(), photo_message.clone());
        Callback::from(move |e: Event| {
            let (core, doc_id, message) = (core.clone(), doc_id.clone(), message.clone());
            pick(e, None, lang, move |r| match r {
                Ok(new) => {
                    edit_problem(&core, lang, &doc_id, &message, &mut |d, actor| {
                        d.edit(&core.config(), actor, platform::now(), |p| {
                            new.iter().try_for_each(|photo| p.add_photo(photo))
                        })
                    });
                }
                Err(m) => message.set(Some((false, m.to_string()))),
            });
        })
    };

    let save_response = {
        let (core, doc_id, response, response_message) = (
            core.clone(),
            doc_id.clone(),
            response.clone(),
            response_message.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let config = core.config();
            let text = response.trim().to_string();
            edit_problem(
                &core,
                lang,
                &doc_id,
                &response_message,
                &mut |doc, actor| {
                    doc.edit(&config, actor, platform::now(), |p| p.set_response(&text))
                },
            );
        })
    };

    let add_progress = {
        let (core, doc_id, progress, progress_message) = (
            core.clone(),
            doc_id.clone(),
            progress.clone(),
            progress_message.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let text = progress.trim().to_string();
            if text.is_empty() {
                progress_message.set(Some((false, i18n::form_error(lang, &FormError::Required))));
                return;
            }
            let config = core.config();
            let id = EntryId::from_random_bytes(platform::random_bytes());
            if edit_problem(
                &core,
                lang,
                &doc_id,
                &progress_message,
                &mut |doc, actor| {
                    doc.edit(&config, actor, platform::now(), |p| {
                        p.add_progress(id, &text)
                    })
                },
            ) {
                progress.set(String::new());
            }
        })
    };

    let save_rating = {
        let (core, doc_id) = (core.clone(), doc_id.clone());
        let (rating, rating_comment, rating_message) = (
            rating.clone(),
            rating_comment.clone(),
            rating_message.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let value = match parse_rating(&rating) {
                Ok(r) => r,
                Err(err) => {
                    rating_message.set(Some((false, i18n::form_error(lang, &err.error))));
                    return;
                }
            };
            let config = core.config();
            let comment = rating_comment.trim().to_string();
            let event = EntryId::from_random_bytes(platform::random_bytes());
            edit_problem(&core, lang, &doc_id, &rating_message, &mut |doc, actor| {
                let channel = shared::model::RatingChannel::Officer;
                doc.rate(
                    &config,
                    actor,
                    platform::now(),
                    event,
                    value,
                    &comment,
                    channel,
                )
                .map(|_| ())
            });
        })
    };

    let take_action = {
        let (core, doc_id) = (core.clone(), doc_id.clone());
        let (chosen, reason, date, action_message) = (
            chosen.clone(),
            reason.clone(),
            date.clone(),
            action_message.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(kind) = *chosen else { return };
            if core.actor().is_none() {
                return;
            }
            let Some(record) = core.doc(&doc_id) else {
                return;
            };
            let Ok(current) = ProblemDoc::from_record(record).and_then(|d| d.read()) else {
                return;
            };
            let outcome = workflow::replay(&current);
            let deadline = if kind.needs_date() {
                match parse_date_end(&date, platform::utc_offset_minutes()) {
                    Ok(d) => Some(d),
                    Err(err) => {
                        action_message.set(Some((false, i18n::form_error(lang, &err))));
                        return;
                    }
                }
            } else {
                None
            };
            let Some(action) = build_action(kind, outcome.tier, deadline) else {
                action_message.set(Some((false, lang.t(Key::ActionImpossible).into())));
                return;
            };
            if deadline.is_some_and(|d| d <= platform::now()) {
                action_message.set(Some((
                    false,
                    lang.pick(
                        "新的期限必须晚于现在。",
                        "The new deadline must be later than now.",
                    )
                    .into(),
                )));
                return;
            }
            let snapshot = core.snapshot();
            let evidence =
                workflow::Evidence::of_visits(&core.config(), current.enterprise, &snapshot.visits);
            if let Err(refused) = workflow::check_new(&current, &action, &reason, &evidence) {
                action_message.set(Some((false, i18n::transition_error(lang, &refused))));
                return;
            }
            let text = reason.trim().to_string();
            let event = EntryId::from_random_bytes(platform::random_bytes());
            let (core, doc_id, action_message) =
                (core.clone(), doc_id.clone(), action_message.clone());
            let (chosen, reason, date) = (chosen.clone(), reason.clone(), date.clone());
            // Every action reads the confirm form's pad first: only that form has one, so
            // the enterprise's confirmation carries its signature when one is drawn there
            // (`photos.js` stores the PNG before the event refers to it); any other action,
            // or a confirmation with nothing drawn, is taken unsigned as before.
            photos::signature(
                "confirm-sig",
                Box::new(move |signed| {
                    let signed = match signed {
                        Ok(signed) => Some(signed),
                        Err(Key::NothingSigned) => None,
                        Err(key) => return action_message.set(Some((false, lang.t(key).into()))),
                    };
                    if edit_problem(&core, lang, &doc_id, &action_message, &mut |doc, actor| {
                        let now = platform::now();
                        match &signed {
                            Some((name, sig)) => {
                                doc.confirm_signed(actor, now, event, &text, name, sig)
                            }
                            None => {
                                doc.act_with(actor, now, event, action.clone(), &text, &evidence)
                            }
                        }
                        .map(|_| ())
                    }) {
                        chosen.set(None);
                        reason.set(String::new());
                        date.set(String::new());
                    }
                }),
            );
        })
    };

    // Hand-out (交办): a problem still submitted is triaged first, as in the list's batch.
    let hand_out = {
        let (core, doc_id) = (core.clone(), doc_id.clone());
        let (handout_unit, handout_reason, handout_message) = (
            handout_unit.clone(),
            handout_reason.clone(),
            handout_message.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Ok(unit) = OrgUnitId::parse(handout_unit.trim()) else {
                handout_message.set(Some((
                    false,
                    lang.pick("请选择承办部门。", "Choose a department.").into(),
                )));
                return;
            };
            let reason = handout_reason.trim().to_string();
            if edit_problem(&core, lang, &doc_id, &handout_message, &mut |doc, actor| {
                let event = || EntryId::from_random_bytes(platform::random_bytes());
                match apply_batch(
                    doc,
                    BatchAction::HandOut { unit },
                    actor,
                    platform::now(),
                    &reason,
                    event,
                ) {
                    Ok((edited, _)) => {
                        *doc = edited;
                        Ok(())
                    }
                    Err(BatchRefusal::Doc(e)) => Err(e),
                    Err(other) => Err(shared::doc::DocError::BadValue {
                        field: "handling_units".into(),
                        error: other.to_string(),
                    }),
                }
            }) {
                handout_reason.set(String::new());
            }
        })
    };

    let role = actor.map(|a| a.role);
    let can_hand_out = role.is_some_and(|r| rights::role_has(r, ActionKind::Assign))
        && matches!(
            derived.outcome.state,
            ProblemState::Submitted
                | ProblemState::Triaged
                | ProblemState::Returned
                | ProblemState::Reopened
        );
    let departments = directory::departments();
    let unit_label = |u: &OrgUnitId| {
        directory::unit_name(*u).unwrap_or_else(|| u.to_string().chars().take(8).collect())
    };
    let actions = core
        .session()
        .map(|s| actions_for(s.user.role, s.user.org_unit, &problem, derived.outcome.tier))
        .unwrap_or_default();
    let ratings = Rating::ALL
        .iter()
        .map(|r| (r.code().to_string(), lang.pick(r.zh(), r.en()).to_string()))
        .collect();
    let config = &core.config();
    let tier_label = config.tiers.of(derived.outcome.tier);
    let class_label = config.classes.of(problem.class);
    let by = |user: shared::model::UserId| i18n::person(lang, &core, user);

    html! {
        <main key="problem" class="screen problem">
            { back(lang, &Route::Enterprise(problem.enterprise)) }
            <h1>{ i18n::category(lang, config, &problem.category) }</h1>
            <div class="badges">
                { flag_badge(lang, derived.flag) }
                { state_badge(lang, derived.outcome.state) }
                if derived.overdue {
                    <span class="badge overdue">{ lang.t(Key::DaysOverdue).replace("{n}", &derived.days_overdue.to_string()) }</span>
                }
            </div>
            { flag_legend(lang, config) }
            { follow_up_notice(lang, &problem, &derived) }
            if let Some(r) = &refusal {
                <div class="notice refused" role="alert">
                    <strong>{ lang.t(Key::RefusedByServer) }</strong>
                    <span class="refusal-reason">{ i18n::refusal(lang, r) }</span>
                    <p>{ lang.t(Key::RefusedFixHint) }</p>
                    { discard_button(&ctx, &doc_id) }
                </div>
            }
            <dl class="facts">
                <dt>{ lang.t(Key::Class) }</dt><dd>{ lang.pick(&class_label.zh, &class_label.en) }</dd>
                <dt>{ lang.t(Key::Tier) }</dt><dd>{ lang.pick(&tier_label.zh, &tier_label.en) }</dd>
                <dt>{ lang.t(Key::Deadline) }</dt><dd>{ platform::format_date(derived.outcome.deadline) }
                    if let Some(asked) = derived.outcome.pending_extension {
                        <span class="pending-extension">{ format!("{}{}{}", lang.pick("（申请延期至 ", " (extension asked to "), platform::format_date(asked), lang.pick("，待领导审批）", ", awaiting a leader)")) }</span>
                    }
                </dd>
                <dt>{ lang.t(Key::Source) }</dt><dd>{ lang.pick(problem.source.zh(), problem.source.en()) }</dd>
                if !problem.handling_units.is_empty() {
                    <dt>{ lang.pick("承办单位", "Handling units") }</dt>
                    <dd class="handling-units">{ problem.handling_units.iter().map(unit_label).collect::<Vec<_>>().join("、") }</dd>
                }
                <dt>{ lang.t(Key::CreatedBy) }</dt>
                <dd>{ by(problem.created.by) }{ " · " }{ platform::format_time(problem.created.at) }</dd>
                if let Some(v) = problem.visit {
                    <dt>{ lang.t(Key::Visit) }</dt><dd><a href={Route::Visit(v).hash()}>{ lang.t(Key::Open) }</a></dd>
                }
            </dl>
            <div class="text-block">
                <h3>{ lang.t(Key::Description) }</h3>
                <p class="problem-description">{ problem.description.clone() }</p>
                <h3>{ lang.t(Key::Expectation) }</h3>
                <p class="problem-expectation">{ problem.expectation.clone() }</p>
            </div>
            { photo_section(lang, &problem.photos, "problem-photos", Some(add_photos), None) }
            { message_line(&photo_message) }
            if !problem.needs_decision.is_empty() {
                <div class="notice needs-decision" role="status">
                    <strong>{ lang.t(Key::NeedsDecision) }</strong>
                    { for problem.needs_decision.iter().map(|n| html! {
                        <p>{ i18n::field_name(lang, &n.field) }{ ": " }
                            { i18n::field_value(lang, config, &n.field, &n.shown) }{ " / " }
                            { n.others.iter().map(|o| i18n::field_value(lang, config, &n.field, o)).collect::<Vec<_>>().join(" / ") }</p>
                    }) }
                </div>
            }

            // Field edits: only what the person changed is written; a field someone else
            // changed meanwhile is merged as text or shown before it is overwritten.
            { problem_edit_form(&ctx, &problem, refusal.is_some(), &edit_form) }

            <section class="card">
                <h2>{ lang.t(Key::Actions) }</h2>
                <div class="action-buttons">
                    { for actions.iter().map(|kind| {
                        let possible = actor.is_some() && {
                            build_action(*kind, derived.outcome.tier, Some(shared::model::Timestamp(i64::MAX)))
                                .is_some_and(|action| workflow::check(&problem, &action, "-").is_ok())
                        };
                        let class = if possible { "secondary action" } else { "secondary action unavailable" };
                        let onclick = {
                            let (chosen, action_message) = (chosen.clone(), action_message.clone());
                            let kind = *kind;
                            Callback::from(move |_: MouseEvent| { chosen.set(Some(kind)); action_message.set(None); })
                        };
                        html! { <button type="button" ~className={class} {onclick}>{ i18n::action(lang, *kind) }</button> }
                    }) }
                </div>
                if let Some(kind) = *chosen {
                    <form class="form action-form" onsubmit={take_action}>
                        <p><strong>{ i18n::action(lang, kind) }</strong></p>
                        if kind.needs_date() {
                            <label for="new_deadline">{ lang.t(Key::NewDeadline) }</label>
                            <input id="new_deadline" type="date" value={(*date).clone()} oninput={bind(&date)} />
                        }
                        if kind == ActionKind::Confirm { { signature_pad(lang, "confirm-sig") } }
                        <label for="reason">{ if kind.needs_reason() { lang.t(Key::ReasonRequired) } else { lang.t(Key::ReasonOptional) } }</label>
                        <textarea id="reason" rows="2" value={(*reason).clone()} oninput={bind(&reason)} />
                        <button type="submit" class="primary">{ lang.t(Key::Confirm) }</button>
                    </form>
                }
                { message_line(&action_message) }
            </section>

            if can_hand_out {
                <section class="card hand-out">
                    <h2>{ lang.pick("交办", "Hand out") }</h2>
                    <form class="form" onsubmit={hand_out}>
                        <label for="handout-unit">{ lang.pick("承办部门", "Department") }</label>
                        { unit_picker(lang, "handout-unit", &handout_unit, &departments) }
                        <label for="handout-reason">{ lang.t(Key::ReasonOptional) }</label>
                        <textarea id="handout-reason" rows="2" value={(*handout_reason).clone()} oninput={bind(&handout_reason)} />
                        { message_line(&handout_message) }
                        <button type="submit" class="primary hand-out-apply">{ lang.pick("交办", "Hand out") }</button>
                    </form>
                </section>
            }

            { supervision_card(&ctx, &problem, derived.outcome.state, &supervision_message) }

            <section class="card">
                <h2>{ lang.t(Key::Response) }</h2>
                <form class="form" onsubmit={save_response}>
                    <textarea id="response" rows="3" value={(*response).clone()} oninput={bind(&response)} />
                    { message_line(&response_message) }
                    <button type="submit" class="secondary">{ lang.t(Key::SaveResponse) }</button>
                </form>
            </section>

            <section class="card">
                <h2>{ lang.t(Key::Progress) }</h2>
                <ol class="log">
                    { for problem.progress.iter().map(|entry| html! {
                        <li><span class="muted">{ platform::format_time(entry.stamp.at) }{ " · " }{ by(entry.stamp.by) }</span>
                            <p>{ entry.text.clone() }</p></li>
                    }) }
                </ol>
                <form class="form" onsubmit={add_progress}>
                    <textarea id="progress" rows="2" placeholder={lang.t(Key::ProgressHint)} value={(*progress).clone()} oninput={bind(&progress)} />
                    { message_line(&progress_message) }
                    <button type="submit" class="secondary">{ lang.t(Key::AddProgress) }</button>
                </form>
            </section>

            <section class="card">
                <h2>{ lang.t(Key::Rating) }</h2>
                if let Some(r) = &problem.rating {
                    <p class="rating-now">{ lang.pick(r.rating.zh(), r.rating.en()) }{ " · " }{ lang.pick(r.channel.zh(), r.channel.en()) }{ " · " }{ r.comment.clone() }</p>
                }
                <form class="form" onsubmit={save_rating}>
                    { select("rating", &rating, ratings, Some(lang.t(Key::Choose)), bind_select(&rating)) }
                    <input type="text" placeholder={lang.t(Key::RatingComment)} value={(*rating_comment).clone()} oninput={bind(&rating_comment)} />
                    { message_line(&rating_message) }
                    <button type="submit" class="secondary">{ lang.t(Key::SaveRating) }</button>
                </form>
            </section>

            <section class="card">
                <h2>{ lang.t(Key::Workflow) }</h2>
                <ol class="log">
                    { for problem.events.iter().map(|ev| {
                        let superseded = derived.outcome.superseded.iter().find(|s| s.event == ev.id);
                        html! {
                            <li>
                                <span class="muted">{ platform::format_time(ev.stamp.at) }{ " · " }{ by(ev.stamp.by) }</span>
                                <p>{ i18n::action_code(lang, ev.action.code()) }
                                    if !ev.reason.is_empty() { { " · " }{ ev.reason.clone() } }</p>
                                if let Some(s) = problem.signatures.iter().find(|s| s.event == ev.id) {
                                    { signed_line(lang, &s.by_name, s.at, Some(&s.signature.hash)) }
                                }
                                if let Some(s) = superseded {
                                    <p class="muted">{ lang.t(Key::Superseded) }{ i18n::transition_error(lang, &s.error) }</p>
                                }
                            </li>
                        }
                    }) }
                </ol>
            </section>

            <a class="button secondary" href={Route::History(doc_id).hash()}>{ lang.t(Key::History) }</a>
        </main>
    }
}
