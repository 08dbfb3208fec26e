//! Intake without a visit, for the window clerk at the administrative service center and for
//! hotline calls: the problem form with its source, for an enterprise picked from the list or
//! registered on the spot (its credit code checked).

use shared::doc::{DocKind, EnterpriseDoc, NewEnterprise, NewProblem, ProblemDoc, RecordDoc};
use shared::forms::{
    EnterpriseInput, FieldError, INTAKE_SOURCES, ProblemInput, parse_enterprise,
    parse_intake_source, parse_problem,
};
use shared::model::{EnterpriseId, ProblemId};
use shared::sync::protocol::DocId;
use yew::prelude::*;

use super::problem_fields::{
    ProblemFieldsProps, enterprise_fields, hand_to_departments, problem_fields,
};
use super::widgets::{Ctx, back, bind_select, field_errors, select};
use crate::infra::i18n::{self, Key};
use crate::infra::route::{self, Route};
use crate::infra::{page, platform};
use crate::sync::SaveError;

const NEW_ENTERPRISE: &str = "new";

/// Properties of [`IntakePage`].
#[derive(PartialEq, Properties)]
pub struct IntakePageProps {
    /// The app context (the device, the language, the change counter).
    pub ctx: Ctx,
    /// The enterprise, when chosen before (from its page).
    pub enterprise: Option<EnterpriseId>,
}

/// The intake form.
#[component]
pub fn IntakePage(props: &IntakePageProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let core = ctx.core.clone();
    let source = use_state(|| "window".to_string());
    let chosen = use_state(|| props.enterprise.map(|e| e.to_string()).unwrap_or_default());
    let enterprise = use_state(EnterpriseInput::default);
    let problem = use_state(|| ProblemInput {
        class: "B".into(),
        tier: "department".into(),
        ..ProblemInput::default()
    });
    let errors = use_state(Vec::<FieldError>::new);
    let failure = use_state(|| None::<String>);
    let snapshot = core.snapshot();

    let save = {
        let core = core.clone();
        let (source, chosen, enterprise, problem, errors, failure) = (
            source.clone(),
            chosen.clone(),
            enterprise.clone(),
            problem.clone(),
            errors.clone(),
            failure.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let mut errs = Vec::new();
            let parsed_source = parse_intake_source(&source).map_err(|e| errs.push(e)).ok();
            let new_enterprise = if *chosen == NEW_ENTERPRISE {
                parse_enterprise(&enterprise)
                    .map_err(|e| errs.extend(e))
                    .ok()
            } else {
                None
            };
            let existing = EnterpriseId::parse(&chosen).ok();
            if existing.is_none() && *chosen != NEW_ENTERPRISE {
                errs.push(FieldError {
                    field: "enterprise",
                    problem: None,
                    error: shared::forms::FormError::Required,
                });
            }
            let parsed = parse_problem(&problem, &core.config())
                .map_err(|e| errs.extend(e))
                .ok();
            errors.set(errs.clone());
            let (Some(source), Some(parsed)) = (parsed_source, parsed) else {
                return;
            };
            if !errs.is_empty() {
                return;
            }
            let (Some(actor), Some(actor_id), Some(session)) =
                (core.actor(), core.actor_id(), core.session())
            else {
                return;
            };
            let now = platform::now();
            let mut docs: Vec<(DocId, RecordDoc)> = Vec::new();
            let enterprise_id = match (existing, &new_enterprise) {
                (Some(id), _) => id,
                (None, Some(new)) => {
                    let id = EnterpriseId::from_random_bytes(platform::random_bytes());
                    let created = EnterpriseDoc::create(
                        &NewEnterprise {
                            id,
                            credit_code: new.credit_code.clone(),
                            name: new.name.clone(),
                            address: new.address.clone(),
                            town: session.user.org_unit,
                            industry: new.industry.clone(),
                            size: new.size,
                            key_enterprise: false,
                            position: None,
                        },
                        &actor,
                        actor_id.clone(),
                        now,
                    );
                    match created {
                        Ok(doc) => docs.push((
                            DocId::new(DocKind::Enterprise, &id.to_string()),
                            doc.into_record(),
                        )),
                        Err(e) => {
                            failure.set(Some(i18n::doc_error(lang, &e)));
                            return;
                        }
                    }
                    id
                }
                (None, None) => return,
            };
            let id = ProblemId::from_random_bytes(platform::random_bytes());
            let created = ProblemDoc::create(
                &NewProblem {
                    id,
                    enterprise: enterprise_id,
                    visit: None,
                    source,
                    category: parsed.category.clone(),
                    class: parsed.class,
                    tier: parsed.tier,
                    owner: actor.user,
                    leader: None,
                    deadline: parsed.deadline(&core.config(), now),
                    description: parsed.description.clone(),
                    expectation: parsed.expectation.clone(),
                },
                &core.config(),
                &actor,
                actor_id,
                now,
            )
            .and_then(|mut doc| {
                hand_to_departments(&mut doc, &core.config(), &actor, now, &parsed.departments)?;
                Ok(doc)
            });
            match created {
                Ok(doc) => docs.push((
                    DocId::new(DocKind::Problem, &id.to_string()),
                    doc.into_record(),
                )),
                Err(e) => {
                    failure.set(Some(i18n::doc_error(lang, &e)));
                    return;
                }
            }
            let failure = failure.clone();
            core.save(
                docs,
                Callback::from(move |r: Result<(), SaveError>| match r {
                    Ok(()) => {
                        page::flash(lang.t(Key::SavedOnDevice));
                        route::go(&Route::Problem(id));
                    }
                    Err(e) => failure.set(Some(i18n::save_error(lang, &e))),
                }),
            );
        })
    };

    let sources = INTAKE_SOURCES
        .iter()
        .map(|s| (s.code().to_string(), lang.pick(s.zh(), s.en()).to_string()))
        .collect();
    let mut enterprises: Vec<(String, String)> = snapshot
        .enterprises
        .iter()
        .map(|e| (e.id.to_string(), e.name.clone()))
        .collect();
    enterprises.push((
        NEW_ENTERPRISE.to_string(),
        lang.t(Key::RegisterEnterprise).to_string(),
    ));
    let back_to = props
        .enterprise
        .map_or(Route::Enterprises, Route::Enterprise);

    html! {
        <main key="intake" class="screen intake">
            { back(lang, &back_to) }
            <h1>{ lang.t(Key::IntakeTitle) }</h1>
            <p class="muted">{ lang.t(Key::IntakeIntro) }</p>
            <form class="form" onsubmit={save}>
                <label for="source">{ lang.t(Key::Source) }</label>
                { select("source", &source, sources, None, bind_select(&source)) }
                { field_errors(lang, &errors, "source", None) }

                <label for="enterprise">{ lang.t(Key::Enterprise) }</label>
                { select("enterprise", &chosen, enterprises, Some(lang.t(Key::Choose)), bind_select(&chosen)) }
                { field_errors(lang, &errors, "enterprise", None) }
                if *chosen == NEW_ENTERPRISE {
                    <fieldset class="card">
                        <legend>{ lang.t(Key::RegisterEnterprise) }</legend>
                        { enterprise_fields(lang, &enterprise,
                            &Callback::from({ let enterprise = enterprise.clone(); move |v| enterprise.set(v) }),
                            &errors) }
                    </fieldset>
                }

                { problem_fields(&ctx, ProblemFieldsProps {
                    value: &problem,
                    onchange: Callback::from({ let problem = problem.clone(); move |v| problem.set(v) }),
                    errors: &errors,
                    index: None,
                    show_deadline: true,
                    existing: None,
                }) }
                if let Some(f) = &*failure { <p class="field-error" role="alert">{ f.clone() }</p> }
                if !errors.is_empty() { <p class="field-error" role="alert">{ lang.t(Key::FixErrors) }</p> }
                <button type="submit" class="primary save">{ lang.t(Key::SaveProblem) }</button>
            </form>
        </main>
    }
}
