//! The problem form (category, A–D class, tier, the SLA deadline it gets, the departments it
//! is handed to, description, the enterprise's expectation) and the new-enterprise form, used
//! by the visit form, intake and the problem page's edit form (`problem_edit`).

use shared::doc::{DocError, ProblemDoc};
use shared::forms::{EnterpriseInput, FieldError, ProblemInput, edit_locks};
use shared::model::{EnterpriseSize, OrgUnitId, Problem, ProblemClass, Tier};
use yew::prelude::*;

use super::widgets::{Ctx, event_value, field_errors, select};
use crate::infra::i18n::{self, Key, Lang};
use crate::infra::{directory, platform};

// The two field sets below are plain functions that their forms call, not components: they
// have no state of their own, and each component type is its own copy of yew's component
// machinery in the wasm.

/// What [`problem_fields`] shows and reports to.
pub struct ProblemFieldsProps<'a> {
    /// The values typed so far.
    pub value: &'a ProblemInput,
    /// Called with the new values on every change.
    pub onchange: Callback<ProblemInput>,
    /// Errors from the last attempt to save.
    pub errors: &'a [FieldError],
    /// Which problem of a visit this is (for ids and error matching).
    pub index: Option<usize>,
    /// Show the deadline the SLA policy gives (new problems only).
    pub show_deadline: bool,
    /// The problem being edited (`None` for a new one): which fields the person may change
    /// follows from the rights table for it.
    pub existing: Option<&'a Problem>,
}

/// The problem form's fields.
pub fn problem_fields(ctx: &Ctx, props: ProblemFieldsProps<'_>) -> Html {
    let lang = ctx.lang;
    let config = &ctx.core.config();
    let v = &props.value;
    let suffix = props.index.map(|i| format!("-{i}")).unwrap_or_default();
    let id = |name: &str| format!("{name}{suffix}");

    let update = |f: fn(&mut ProblemInput, String)| {
        let value = props.value.clone();
        let onchange = props.onchange.clone();
        move |text: String| {
            let mut next = value.clone();
            f(&mut next, text);
            onchange.emit(next);
        }
    };
    let on_select = |f: fn(&mut ProblemInput, String)| {
        let set = update(f);
        Callback::from(move |e: Event| set(event_value(&e)))
    };
    let on_input = |f: fn(&mut ProblemInput, String)| {
        let set = update(f);
        Callback::from(move |e: InputEvent| set(event_value(&e)))
    };

    let mut categories: Vec<(String, String)> = config
        .categories
        .iter()
        .map(|c| (c.code.clone(), lang.pick(&c.zh, &c.en).to_string()))
        .collect();
    // A stored problem's category the district no longer configures stays choosable for it.
    if let Some(stored) = props.existing.map(|p| &p.category)
        && config.category(stored).is_none()
    {
        categories.push((stored.clone(), i18n::category(lang, config, stored)));
    }
    let classes = ProblemClass::ALL
        .iter()
        .map(|c| {
            let label = config.classes.of(*c);
            (
                c.code().to_string(),
                lang.pick(&label.zh, &label.en).to_string(),
            )
        })
        .collect();
    let tiers: Vec<(String, String)> = Tier::ALL
        .iter()
        .map(|t| {
            let label = config.tiers.of(*t);
            (
                t.code().to_string(),
                lang.pick(&label.zh, &label.en).to_string(),
            )
        })
        .collect();
    let deadline = Tier::from_code(&v.tier).ok().map(|tier| {
        let due = shared::derive::initial_deadline(config, tier, platform::now());
        lang.t(Key::SlaDeadline)
            .replace("{date}", &platform::format_date(due))
            .replace("{days}", &config.sla.days_for(tier).to_string())
    });
    let errors = props.errors;
    let index = props.index;
    // What the rights table does not let this person change is disabled, with the table's
    // reason: the server would refuse it.
    let locks = ctx
        .core
        .session()
        .map(|s| edit_locks(s.user.role, s.user.org_unit, props.existing))
        .unwrap_or_default();
    let tier_locked = locks.tier.is_some()
        || (locks.city_leader_tier.is_some() && v.tier == Tier::CityLeader.code());
    let tiers = if locks.city_leader_tier.is_some() && !tier_locked {
        tiers
            .into_iter()
            .filter(|(code, _)| code != Tier::CityLeader.code())
            .collect()
    } else {
        tiers
    };
    let on_departments = {
        let (value, onchange) = (props.value.clone(), props.onchange.clone());
        Callback::from(move |departments: Vec<String>| {
            onchange.emit(ProblemInput {
                departments,
                ..value.clone()
            });
        })
    };

    html! {
        <div class="problem-fields">
            { for locks.reasons().into_iter().map(|d| html! {
                <p class="hint field-locked">{ lang.pick(&d.zh(), &d.en()).to_string() }</p>
            }) }
          <fieldset class="plain" disabled={locks.category.is_some()}>
            <label for={id("category")}>{ lang.t(Key::Category) }</label>
            { select(&id("category"), &v.category, categories, Some(lang.t(Key::Choose)),
                on_select(|p, s| p.category = s)) }
            { field_errors(lang, errors, "category", index) }
          </fieldset>
            <div class="two-columns">
                <fieldset class="plain" disabled={locks.category.is_some()}>
                    <label for={id("class")}>{ lang.t(Key::Class) }</label>
                    { select(&id("class"), &v.class, classes, Some(lang.t(Key::Choose)),
                        on_select(|p, s| p.class = s)) }
                    { field_errors(lang, errors, "class", index) }
                </fieldset>
                <fieldset class="plain" disabled={tier_locked}>
                    <label for={id("tier")}>{ lang.t(Key::Tier) }</label>
                    { select(&id("tier"), &v.tier, tiers, Some(lang.t(Key::Choose)),
                        on_select(|p, s| p.tier = s)) }
                    { field_errors(lang, errors, "tier", index) }
                </fieldset>
            </div>
            if props.show_deadline {
                if let Some(deadline) = deadline {
                    <p class="hint deadline-hint">{ deadline }</p>
                }
            }
          <fieldset class="plain" disabled={locks.departments.is_some()}>
            { department_picker(lang, &id("departments"), &v.departments, on_departments) }
            { field_errors(lang, errors, "departments", index) }
          </fieldset>

            <label for={id("description")}>{ lang.t(Key::Description) }</label>
            <textarea id={id("description")} name={id("description")} rows="3"
                value={v.description.clone()} oninput={on_input(|p, s| p.description = s)} />
            { field_errors(lang, errors, "description", index) }

            <label for={id("expectation")}>{ lang.t(Key::Expectation) }</label>
            <textarea id={id("expectation")} name={id("expectation")} rows="2"
                value={v.expectation.clone()} oninput={on_input(|p, s| p.expectation = s)} />
            { field_errors(lang, errors, "expectation", index) }
        </div>
    }
}

/// The fields of an enterprise registered on the spot: the values typed so far (`value`),
/// called with the new values on every change (`onchange`), and the errors of the last
/// attempt to save.
pub fn enterprise_fields(
    lang: Lang,
    value: &EnterpriseInput,
    onchange: &Callback<EnterpriseInput>,
    errors: &[FieldError],
) -> Html {
    let v = value;
    let update = |f: fn(&mut EnterpriseInput, String)| {
        let value = value.clone();
        let onchange = onchange.clone();
        move |text: String| {
            let mut next = value.clone();
            f(&mut next, text);
            onchange.emit(next);
        }
    };
    let on_input = |f: fn(&mut EnterpriseInput, String)| {
        let set = update(f);
        Callback::from(move |e: InputEvent| set(event_value(&e)))
    };
    let on_size = {
        let set = update(|p, s| p.size = s);
        Callback::from(move |e: Event| set(event_value(&e)))
    };
    let sizes = EnterpriseSize::ALL
        .iter()
        .map(|s| (s.code().to_string(), lang.pick(s.zh(), s.en()).to_string()))
        .collect();
    html! {
        <div class="enterprise-fields">
            <label for="credit_code">{ lang.t(Key::CreditCode) }</label>
            <input id="credit_code" name="credit_code" type="text" autocapitalize="characters" maxlength="18"
                class="mono" value={v.credit_code.clone()} oninput={on_input(|p, s| p.credit_code = s)} />
            { field_errors(lang, errors, "credit_code", None) }
            <label for="enterprise_name">{ lang.t(Key::EnterpriseName) }</label>
            <input id="enterprise_name" name="enterprise_name" type="text"
                value={v.name.clone()} oninput={on_input(|p, s| p.name = s)} />
            { field_errors(lang, errors, "name", None) }
            <label for="address">{ lang.t(Key::Address) }</label>
            <input id="address" name="address" type="text"
                value={v.address.clone()} oninput={on_input(|p, s| p.address = s)} />
            { field_errors(lang, errors, "address", None) }
            <label for="industry">{ lang.t(Key::Industry) }</label>
            <input id="industry" name="industry" type="text"
                value={v.industry.clone()} oninput={on_input(|p, s| p.industry = s)} />
            <label for="size">{ lang.t(Key::Size) }</label>
            { select("size", &v.size, sizes, Some(lang.t(Key::Choose)), on_size) }
            { field_errors(lang, errors, "size", None) }
        </div>
    }
}

/// The departments (承办部门) a problem is handed to, as toggles: every department the
/// directory knows, then any chosen one it does not (by short id).
fn department_picker(
    lang: Lang,
    id: &str,
    chosen: &[String],
    onchange: Callback<Vec<String>>,
) -> Html {
    let mut options: Vec<(String, String)> = directory::departments()
        .into_iter()
        .map(|(id, name)| (id.to_string(), name))
        .collect();
    for c in chosen {
        if !options.iter().any(|(id, _)| id == c) {
            options.push((c.clone(), unit_label(lang, c)));
        }
    }
    let toggle = |code: String| {
        let (chosen, onchange) = (chosen.to_vec(), onchange.clone());
        Callback::from(move |_: MouseEvent| {
            let mut next = chosen.clone();
            match next.iter().position(|c| *c == code) {
                Some(i) => {
                    next.remove(i);
                }
                None => next.push(code.clone()),
            }
            onchange.emit(next);
        })
    };
    html! {
        <div class="departments" id={id.to_string()}>
            <label>{ lang.pick("承办部门", "Handling departments") }</label>
            if options.is_empty() {
                <p class="hint">{ lang.pick("部门名单尚未下载，联网同步后可选择。",
                    "The list of departments has not been downloaded yet; it arrives with the next sync.") }</p>
            } else {
                <div class="chips" role="group">
                    { for options.into_iter().map(|(code, name)| {
                        let on = chosen.contains(&code);
                        let class = if on { "chip chosen" } else { "chip" };
                        let onclick = toggle(code);
                        html! {
                            <button type="button" ~className={class} aria-pressed={if on { "true" } else { "false" }} {onclick}>
                                if on { { "✓ " } }{ name }
                            </button>
                        }
                    }) }
                </div>
            }
        </div>
    }
}

/// A department's name, or a short id when the directory does not know it.
fn unit_label(lang: Lang, id: &str) -> String {
    OrgUnitId::parse(id)
        .ok()
        .and_then(directory::unit_name)
        .unwrap_or_else(|| {
            format!(
                "{}{}",
                lang.pick("部门 ", "unit "),
                id.get(..8).unwrap_or(id)
            )
        })
}

/// Names the departments a new problem is handed to (its handling units), as one more change
/// of the new document; nothing when none was picked.
pub fn hand_to_departments(
    doc: &mut ProblemDoc,
    config: &shared::config::Config,
    actor: &shared::model::Actor,
    now: shared::model::Timestamp,
    departments: &std::collections::BTreeSet<OrgUnitId>,
) -> Result<(), DocError> {
    if departments.is_empty() {
        return Ok(());
    }
    doc.edit(config, actor, now, |p| {
        departments.iter().try_for_each(|d| p.add_handling_unit(*d))
    })
}
