//! A new visit (the 连心卡): check-in evidence taken when the form opens (device time, position
//! with accuracy; a refused permission is recorded, not fatal), method, people met, notes,
//! operating status, and the problems raised. Saved to the device before it says "saved".

use shared::doc::{DocKind, NewProblem, NewVisit as NewVisitDoc, ProblemDoc, VisitDoc};
use shared::forms::{FieldError, ProblemInput, VisitInput, parse_visit};
use shared::model::{
    CheckIn, EnterpriseId, OperatingStatus, Photo, PositionFix, ProblemId, ProblemSource,
    Timestamp, VisitId, VisitMethod,
};
use shared::sync::protocol::DocId;
use yew::platform::spawn_local;
use yew::prelude::*;

use super::photos::{photo_section, pick};
use super::problem_fields::{ProblemFieldsProps, hand_to_departments, problem_fields};
use super::widgets::{Ctx, back, bind, bind_select, field_errors, select};
use crate::infra::i18n::{self, Key, Lang};
use crate::infra::route::{self, Route};
use crate::infra::{page, platform};
use crate::sync::SaveError;

/// Properties of [`NewVisit`].
#[derive(PartialEq, Properties)]
pub struct NewVisitProps {
    /// The app context (the device, the language, the change counter).
    pub ctx: Ctx,
    /// The enterprise visited.
    pub enterprise: EnterpriseId,
}

/// Shows a check-in's position the way a person reads it.
pub fn position_text(lang: Lang, fix: Option<&PositionFix>) -> String {
    match fix {
        None => lang.t(Key::Locating).to_string(),
        Some(PositionFix::Fixed(p)) => lang
            .t(Key::PositionFixed)
            .replace("{lat}", &format!("{:.5}", p.lat))
            .replace("{lon}", &format!("{:.5}", p.lon))
            .replace("{acc}", &format!("{:.0}", p.accuracy_m)),
        Some(PositionFix::PermissionRefused) => lang.t(Key::PositionRefused).to_string(),
        Some(PositionFix::Unavailable(reason)) => {
            format!("{}{}", lang.t(Key::PositionUnavailable), reason)
        }
    }
}

/// The new-visit form.
#[component]
pub fn NewVisit(props: &NewVisitProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let checked_in = use_state(platform::now);
    let position = use_state(|| None::<PositionFix>);
    let method = use_state(|| VisitMethod::OnSite.code().to_string());
    let status = use_state(|| OperatingStatus::Normal.code().to_string());
    let attendees = use_state(String::new);
    let notes = use_state(String::new);
    let problems = use_state(Vec::<ProblemInput>::new);
    let errors = use_state(Vec::<FieldError>::new);
    let failure = use_state(|| None::<String>);
    let saving = use_state(|| false);
    let photos = use_state(Vec::<Photo>::new);
    let photo_error = use_state(|| None::<String>);

    let locate = {
        let position = position.clone();
        let checked_in = checked_in.clone();
        Callback::from(move |()| {
            position.set(None);
            checked_in.set(platform::now());
            let position = position.clone();
            spawn_local(async move { position.set(Some(platform::locate().await)) });
        })
    };
    {
        let locate = locate.clone();
        use_effect_with((), move |()| locate.emit(()));
    }

    let snapshot = ctx.core.snapshot();
    let enterprise_name = snapshot
        .enterprises
        .iter()
        .find(|e| e.id == props.enterprise)
        .map(|e| e.name.clone())
        .unwrap_or_default();

    let add_problem = {
        let problems = problems.clone();
        Callback::from(move |_: MouseEvent| {
            let mut next = (*problems).clone();
            next.push(ProblemInput {
                class: "B".into(),
                tier: "department".into(),
                ..ProblemInput::default()
            });
            problems.set(next);
        })
    };

    // 现场照片: stored on the device as they are chosen, written into the visit on save.
    let add_photos = {
        let (photos, photo_error, position) =
            (photos.clone(), photo_error.clone(), position.clone());
        Callback::from(move |e: Event| {
            let at = match &*position {
                Some(PositionFix::Fixed(p)) => Some(*p),
                _ => None,
            };
            let (photos, photo_error) = (photos.clone(), photo_error.clone());
            pick(e, at, lang, move |r| match r {
                Ok(new) => {
                    let mut all = (*photos).clone();
                    all.extend(
                        new.into_iter()
                            .filter(|p| !photos.iter().any(|q| q.hash == p.hash)),
                    );
                    photos.set(all);
                    photo_error.set(None);
                }
                Err(m) => photo_error.set(Some(m.into())),
            });
        })
    };

    let save = {
        let core = ctx.core.clone();
        let photos = photos.clone();
        let enterprise = props.enterprise;
        let (method, status, attendees, notes, problems) = (
            method.clone(),
            status.clone(),
            attendees.clone(),
            notes.clone(),
            problems.clone(),
        );
        let (errors, failure, saving, position, checked_in) = (
            errors.clone(),
            failure.clone(),
            saving.clone(),
            position.clone(),
            checked_in.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *saving {
                return;
            }
            let input = VisitInput {
                method: (*method).clone(),
                operating_status: (*status).clone(),
                attendees: (*attendees).clone(),
                notes: (*notes).clone(),
                problems: (*problems).clone(),
            };
            let parsed = match parse_visit(&input, &core.config()) {
                Ok(p) => p,
                Err(errs) => {
                    errors.set(errs);
                    return;
                }
            };
            errors.set(Vec::new());
            let (Some(actor), Some(actor_id)) = (core.actor(), core.actor_id()) else {
                failure.set(Some(lang.t(Key::NotLoggedIn).into()));
                return;
            };
            let now = platform::now();
            let visit_id = VisitId::from_random_bytes(platform::random_bytes());
            let check_in = (parsed.method == VisitMethod::OnSite).then(|| CheckIn {
                device_time: Timestamp(checked_in.0),
                position: (*position)
                    .clone()
                    .unwrap_or_else(|| PositionFix::Unavailable("no fix before saving".into())),
                // The first photo, as older apps and servers read the check-in's photo.
                photo_hash: photos.first().map(|p| p.hash.clone()),
            });
            let build =
                || -> Result<Vec<(DocId, shared::doc::RecordDoc)>, shared::doc::DocError> {
                    let mut docs = Vec::new();
                    let mut problem_ids = Vec::new();
                    for p in &parsed.problems {
                        let id = ProblemId::from_random_bytes(platform::random_bytes());
                        let new = NewProblem {
                            id,
                            enterprise,
                            visit: Some(visit_id),
                            source: ProblemSource::Visit,
                            category: p.category.clone(),
                            class: p.class,
                            tier: p.tier,
                            owner: actor.user,
                            leader: None,
                            deadline: p.deadline(&core.config(), now),
                            description: p.description.clone(),
                            expectation: p.expectation.clone(),
                        };
                        let mut doc = ProblemDoc::create(
                            &new,
                            &core.config(),
                            &actor,
                            actor_id.clone(),
                            now,
                        )?;
                        hand_to_departments(&mut doc, &core.config(), &actor, now, &p.departments)?;
                        problem_ids.push(id);
                        docs.push((
                            DocId::new(DocKind::Problem, &id.to_string()),
                            doc.into_record(),
                        ));
                    }
                    let mut visit = VisitDoc::create(
                        &NewVisitDoc {
                            id: visit_id,
                            enterprise,
                            method: parsed.method,
                            check_in: check_in.clone(),
                            operating_status: parsed.operating_status,
                            notes: parsed.notes.clone(),
                        },
                        &actor,
                        actor_id.clone(),
                        now,
                    )?;
                    if !parsed.attendees.is_empty() || !problem_ids.is_empty() || !photos.is_empty()
                    {
                        visit.edit(&actor, now, |v| {
                            for a in &parsed.attendees {
                                v.add_attendee(a)?;
                            }
                            for p in photos.iter() {
                                v.add_photo(p)?;
                            }
                            for p in &problem_ids {
                                v.add_problem(*p)?;
                            }
                            Ok(())
                        })?;
                    }
                    docs.insert(
                        0,
                        (
                            DocId::new(DocKind::Visit, &visit_id.to_string()),
                            visit.into_record(),
                        ),
                    );
                    Ok(docs)
                };
            let docs = match build() {
                Ok(docs) => docs,
                Err(e) => {
                    failure.set(Some(i18n::doc_error(lang, &e)));
                    return;
                }
            };
            saving.set(true);
            let (failure, saving) = (failure.clone(), saving.clone());
            core.save(
                docs,
                Callback::from(move |result: Result<(), SaveError>| {
                    saving.set(false);
                    match result {
                        Ok(()) => {
                            page::flash(lang.t(Key::SavedOnDevice));
                            route::go(&Route::Enterprise(enterprise));
                        }
                        Err(e) => failure.set(Some(i18n::save_error(lang, &e))),
                    }
                }),
            );
        })
    };

    let methods = VisitMethod::ALL
        .iter()
        .map(|m| (m.code().to_string(), lang.pick(m.zh(), m.en()).to_string()))
        .collect();
    let statuses = OperatingStatus::ALL
        .iter()
        .map(|s| (s.code().to_string(), lang.pick(s.zh(), s.en()).to_string()))
        .collect();

    html! {
        <main key="visit-form" class="screen visit-form">
            { back(lang, &Route::Enterprise(props.enterprise)) }
            <h1>{ lang.t(Key::NewVisit) }</h1>
            <p class="muted enterprise-name">{ enterprise_name }</p>
            <form class="form" onsubmit={save}>
                <section class="check-in card">
                    <h2>{ lang.t(Key::CheckIn) }</h2>
                    <p>{ lang.t(Key::CheckInTime) }{ platform::format_time(*checked_in) }</p>
                    <p class="position">{ position_text(lang, position.as_ref()) }</p>
                    <button type="button" class="secondary" onclick={locate.reform(|_: MouseEvent| ())}>
                        { lang.t(Key::LocateAgain) }
                    </button>
                </section>

                { photo_section(lang, &photos, "photos", Some(add_photos), photo_error.as_deref()) }

                <label for="method">{ lang.t(Key::Method) }</label>
                { select("method", &method, methods, None, bind_select(&method)) }
                { field_errors(lang, &errors, "method", None) }

                <label for="operating_status">{ lang.t(Key::OperatingStatus) }</label>
                { select("operating_status", &status, statuses, None, bind_select(&status)) }
                { field_errors(lang, &errors, "operating_status", None) }

                <label for="attendees">{ lang.t(Key::Attendees) }</label>
                <input id="attendees" name="attendees" type="text" placeholder={lang.t(Key::AttendeesHint)}
                    value={(*attendees).clone()} oninput={bind(&attendees)} />
                { field_errors(lang, &errors, "attendees", None) }

                <label for="notes">{ lang.t(Key::Notes) }</label>
                <textarea id="notes" name="notes" rows="4" value={(*notes).clone()} oninput={bind(&notes)} />
                { field_errors(lang, &errors, "notes", None) }

                <h2>{ lang.t(Key::ProblemsRaised) }{ problems.len() }</h2>
                { for problems.iter().enumerate().map(|(i, p)| {
                    let onchange = {
                        let problems = problems.clone();
                        Callback::from(move |value: ProblemInput| {
                            let mut next = (*problems).clone();
                            if let Some(slot) = next.get_mut(i) { *slot = value; }
                            problems.set(next);
                        })
                    };
                    let remove = {
                        let problems = problems.clone();
                        Callback::from(move |_: MouseEvent| {
                            let mut next = (*problems).clone();
                            if i < next.len() { next.remove(i); }
                            problems.set(next);
                        })
                    };
                    html! {
                        <fieldset class="card problem-sub">
                            <legend>{ lang.t(Key::ProblemNumber).replace("{n}", &(i + 1).to_string()) }</legend>
                            { problem_fields(&ctx, ProblemFieldsProps {
                                value: p,
                                onchange,
                                errors: &errors,
                                index: Some(i),
                                show_deadline: true,
                                existing: None,
                            }) }
                            <button type="button" class="link danger-text" onclick={remove}>{ lang.t(Key::RemoveProblem) }</button>
                        </fieldset>
                    }
                }) }
                <button type="button" class="secondary add-problem" onclick={add_problem}>{ lang.t(Key::AddProblem) }</button>

                if let Some(f) = &*failure { <p class="field-error" role="alert">{ f.clone() }</p> }
                if !errors.is_empty() { <p class="field-error" role="alert">{ lang.t(Key::FixErrors) }</p> }
                <button type="submit" class="primary save" disabled={*saving}>
                    { if *saving { lang.t(Key::Saving) } else { lang.t(Key::SaveVisit) } }
                </button>
            </form>
        </main>
    }
}
