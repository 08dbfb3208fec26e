//! The problem page's edit form: saves only what the person changed and shows a field someone
//! else changed meanwhile before overwriting it (`shared::forms::problem_edit`). No component
//! type of its own: its state is hooks the problem page calls ([`use_edit_form`]) and the form
//! a plain function of it (each component type is its own copy of yew's component machinery
//! in the wasm).

use std::rc::Rc;

use shared::doc::{DocError, DocKind, ProblemDoc};
use shared::forms::{
    EditConflict, FieldError, ProblemField, ProblemFormEdit, ProblemInput, follow_record,
    may_save_edit, parse_problem_edit, problem_edit,
};
use shared::model::{OrgUnitId, Problem, ProblemClass, Tier};
use shared::sync::protocol::DocId;
use yew::prelude::*;

use super::problem_fields::{ProblemFieldsProps, problem_fields};
use super::widgets::Ctx;
use crate::infra::i18n::{self, Key};
use crate::infra::platform;
use crate::sync::{Core, SaveError};

/// The problem form's values as a record holds them.
pub fn input_of(p: &Problem) -> ProblemInput {
    ProblemInput {
        category: p.category.clone(),
        class: p.class.code().into(),
        tier: p.tier.code().into(),
        description: p.description.clone(),
        expectation: p.expectation.clone(),
        departments: p.handling_units.iter().map(ToString::to_string).collect(),
    }
}

/// Writes a form edit into the problem's document as one change by `actor`.
fn apply_edit(
    doc: &mut ProblemDoc,
    core: &Core,
    actor: &shared::model::Actor,
    edit: &ProblemFormEdit,
) -> Result<(), DocError> {
    let bad = |field: &str, value: &str| DocError::BadValue {
        field: field.into(),
        error: format!("{value:?} is not a valid choice"),
    };
    doc.edit(&core.config(), actor, platform::now(), |p| {
        for (field, value) in &edit.writes {
            let value = value.trim();
            match field {
                ProblemField::Category => p.set_category(value)?,
                ProblemField::Class => {
                    p.set_class(ProblemClass::from_code(value).map_err(|_| bad("class", value))?)?
                }
                ProblemField::Tier => {
                    p.set_tier(Tier::from_code(value).map_err(|_| bad("tier", value))?)?;
                }
                ProblemField::Description => p.set_description(value)?,
                ProblemField::Expectation => p.set_expectation(value)?,
            }
        }
        for d in &edit.add_departments {
            p.add_handling_unit(OrgUnitId::parse(d).map_err(|_| bad("handling_units", d))?)?;
        }
        for d in &edit.remove_departments {
            p.remove_handling_unit(OrgUnitId::parse(d).map_err(|_| bad("handling_units", d))?)?;
        }
        Ok(())
    })
}

/// The edit form's state: what the record held when the person started (`opened`), what they
/// typed, the last save's errors, its result line and the fields someone else changed
/// meanwhile.
pub struct EditForm {
    opened: UseStateHandle<ProblemInput>,
    typed: UseStateHandle<ProblemInput>,
    errors: UseStateHandle<Vec<FieldError>>,
    message: UseStateHandle<Option<(bool, String)>>,
    conflicts: UseStateHandle<Vec<EditConflict>>,
}

/// The edit form's state for the problem page, which calls it on every render with the
/// problem's values as the device holds them now (`current`, the empty form while the problem
/// is missing): fields the person has not touched follow them.
#[hook]
pub fn use_edit_form(current: ProblemInput) -> EditForm {
    let opened = use_state(|| current.clone());
    let typed = use_state(|| current.clone());
    let errors = use_state(Vec::<FieldError>::new);
    let message = use_state(|| None::<(bool, String)>);
    let conflicts = use_state(Vec::<EditConflict>::new);
    {
        let (opened, typed) = (opened.clone(), typed.clone());
        use_effect_with(current, move |current| {
            let (o, t) = follow_record(&opened, &typed, current);
            if o != *opened {
                opened.set(o);
            }
            if t != *typed {
                typed.set(t);
            }
        });
    }
    EditForm {
        opened,
        typed,
        errors,
        message,
        conflicts,
    }
}

/// The edit form of `problem` with its state `form` ([`use_edit_form`]), open at once when
/// `open` (e.g. the server refused the record and it needs fixing).
pub fn problem_edit_form(ctx: &Ctx, problem: &Problem, open: bool, form: &EditForm) -> Html {
    let lang = ctx.lang;
    let core = ctx.core.clone();
    let current = input_of(problem);
    let EditForm {
        opened,
        typed,
        errors,
        message,
        conflicts,
    } = form;
    let doc_id = DocId::new(DocKind::Problem, &problem.id.to_string());

    // Saves `edit` (already decided) and resets the form to what the record then holds.
    let write = {
        let (core, doc_id) = (core.clone(), doc_id.clone());
        let (opened, typed, message, conflicts) = (
            opened.clone(),
            typed.clone(),
            message.clone(),
            conflicts.clone(),
        );
        Rc::new(move |edit: ProblemFormEdit| {
            conflicts.set(Vec::new());
            if edit.is_empty() {
                message.set(Some((
                    true,
                    lang.pick("没有修改。", "Nothing changed.").into(),
                )));
                return;
            }
            let (Some(actor), Some(record)) = (core.actor(), core.doc(&doc_id)) else {
                message.set(Some((false, lang.t(Key::NotLoggedIn).into())));
                return;
            };
            let edited = ProblemDoc::from_record(record).and_then(|mut d| {
                let before = d.read()?;
                apply_edit(&mut d, &core, &actor, &edit)?;
                let after = d.read()?;
                Ok((d, before, after))
            });
            // The device refuses what the server would, before anything is saved.
            let unit = core.session().map(|s| s.user.org_unit);
            let edited = edited.map(|(d, before, after)| {
                let denied =
                    unit.and_then(|unit| may_save_edit(actor.role, unit, &before, &after).err());
                (d, after, denied)
            });
            match edited {
                Ok((_, _, Some(denied))) => {
                    message.set(Some((
                        false,
                        lang.pick(&denied.zh(), &denied.en()).to_string(),
                    )));
                }
                Ok((doc, after, None)) => {
                    let saved_form = input_of(&after);
                    opened.set(saved_form.clone());
                    typed.set(saved_form);
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
                }
                Err(e) => message.set(Some((false, i18n::doc_error(lang, &e)))),
            }
        })
    };

    let submit = {
        let (core, write) = (core.clone(), write.clone());
        let (opened, typed, errors, conflicts) = (
            opened.clone(),
            typed.clone(),
            errors.clone(),
            conflicts.clone(),
        );
        let current = current.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Err(errs) = parse_problem_edit(&opened, &typed, &core.config()) {
                errors.set(errs);
                return;
            }
            errors.set(Vec::new());
            let edit = problem_edit(&opened, &typed, &current);
            if edit.conflicts.is_empty() {
                write(edit);
            } else {
                conflicts.set(edit.conflicts);
            }
        })
    };
    let keep_mine = {
        let write = write.clone();
        let (opened, typed) = (opened.clone(), typed.clone());
        let current = current.clone();
        Callback::from(move |_: MouseEvent| {
            write(problem_edit(&opened, &typed, &current).overwriting());
        })
    };
    let take_theirs = {
        let (opened, typed, conflicts) = (opened.clone(), typed.clone(), conflicts.clone());
        Callback::from(move |_: MouseEvent| {
            let (mut o, mut t) = ((*opened).clone(), (*typed).clone());
            for c in conflicts.iter() {
                c.field.set(&mut o, c.theirs.clone());
                c.field.set(&mut t, c.theirs.clone());
            }
            opened.set(o);
            typed.set(t);
            conflicts.set(Vec::new());
        })
    };
    let config = &core.config();

    html! {
        <details class="card problem-edit" {open}>
            <summary>{ lang.t(Key::EditProblem) }</summary>
            <form class="form" onsubmit={submit}>
                { problem_fields(ctx, ProblemFieldsProps {
                    value: typed,
                    onchange: Callback::from({ let typed = typed.clone(); move |v| typed.set(v) }),
                    errors,
                    index: None,
                    show_deadline: false,
                    existing: Some(problem),
                }) }
                if !conflicts.is_empty() {
                    <div class="notice needs-decision edit-conflict" role="alert">
                        <strong>{ lang.pick("您修改期间，别人也改了这些内容：", "While you were editing, someone else changed:") }</strong>
                        { for conflicts.iter().map(|c| html! {
                            <p>{ i18n::field_name(lang, c.field.name()) }{ ": " }
                                { lang.pick("对方为「", "theirs: “") }{ i18n::field_value(lang, config, c.field.name(), &c.theirs) }
                                { lang.pick("」，您的为「", "”, yours: “") }{ i18n::field_value(lang, config, c.field.name(), &c.mine) }
                                { lang.pick("」", "”") }</p>
                        }) }
                        <button type="button" class="secondary keep-mine" onclick={keep_mine}>
                            { lang.pick("用我的内容覆盖", "Overwrite with mine") }</button>
                        <button type="button" class="secondary take-theirs" onclick={take_theirs}>
                            { lang.pick("采用对方的内容", "Take theirs") }</button>
                    </div>
                }
                { match &**message {
                    Some((true, m)) => html! { <p class="hint saved" role="status">{ m.clone() }</p> },
                    Some((false, m)) => html! { <p class="field-error" role="alert">{ m.clone() }</p> },
                    None => html! {},
                } }
                <button type="submit" class="primary">{ lang.t(Key::SaveChanges) }</button>
            </form>
        </details>
    }
}
