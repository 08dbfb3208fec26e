//! The problem form (category, A–D class, tier, the SLA deadline it gets, description, the
//! enterprise's expectation) and the new-enterprise form, used by the visit form, intake and
//! the problem page.

use shared::forms::{EnterpriseInput, FieldError, ProblemInput};
use shared::model::{EnterpriseSize, ProblemClass, Tier};
use yew::prelude::*;

use super::widgets::{event_value, field_errors, select, use_ctx};
use crate::infra::i18n::Key;
use crate::infra::platform;

/// Properties of [`ProblemFields`].
#[derive(Debug, PartialEq, Properties)]
pub struct ProblemFieldsProps {
    /// The values typed so far.
    pub value: ProblemInput,
    /// Called with the new values on every change.
    pub onchange: Callback<ProblemInput>,
    /// Errors from the last attempt to save.
    #[prop_or_default]
    pub errors: Vec<FieldError>,
    /// Which problem of a visit this is (for ids and error matching).
    #[prop_or_default]
    pub index: Option<usize>,
    /// Show the deadline the SLA policy gives (new problems only).
    #[prop_or(true)]
    pub show_deadline: bool,
}

/// The problem form's fields.
#[component]
pub fn ProblemFields(props: &ProblemFieldsProps) -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let config = &ctx.core.config;
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

    let categories = config
        .categories
        .iter()
        .map(|c| (c.code.clone(), lang.pick(&c.zh, &c.en).to_string()))
        .collect();
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
    let tiers = Tier::ALL
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
    let errors = &props.errors;
    let index = props.index;

    html! {
        <div class="problem-fields">
            <label for={id("category")}>{ lang.t(Key::Category) }</label>
            { select(&id("category"), &v.category, categories, Some(lang.t(Key::Choose)),
                on_select(|p, s| p.category = s)) }
            { field_errors(lang, errors, "category", index) }

            <div class="two-columns">
                <div>
                    <label for={id("class")}>{ lang.t(Key::Class) }</label>
                    { select(&id("class"), &v.class, classes, Some(lang.t(Key::Choose)),
                        on_select(|p, s| p.class = s)) }
                    { field_errors(lang, errors, "class", index) }
                </div>
                <div>
                    <label for={id("tier")}>{ lang.t(Key::Tier) }</label>
                    { select(&id("tier"), &v.tier, tiers, Some(lang.t(Key::Choose)),
                        on_select(|p, s| p.tier = s)) }
                    { field_errors(lang, errors, "tier", index) }
                </div>
            </div>
            if props.show_deadline {
                if let Some(deadline) = deadline {
                    <p class="hint deadline-hint">{ deadline }</p>
                }
            }

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

/// Properties of [`EnterpriseFields`].
#[derive(Debug, PartialEq, Properties)]
pub struct EnterpriseFieldsProps {
    /// The values typed so far.
    pub value: EnterpriseInput,
    /// Called with the new values on every change.
    pub onchange: Callback<EnterpriseInput>,
    /// Errors from the last attempt to save.
    #[prop_or_default]
    pub errors: Vec<FieldError>,
}

/// The fields of an enterprise registered on the spot.
#[component]
pub fn EnterpriseFields(props: &EnterpriseFieldsProps) -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let v = &props.value;
    let update = |f: fn(&mut EnterpriseInput, String)| {
        let value = props.value.clone();
        let onchange = props.onchange.clone();
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
    let errors = &props.errors;
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
