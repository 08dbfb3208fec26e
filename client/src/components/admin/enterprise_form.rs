//! One enterprise profile opened by the administrator: its form (name, address, industry,
//! size, key flag, position with accuracy, contacts added, edited and removed), saved as one
//! edit; and the profiles with the same credit code, each of which can be merged into it.

use shared::model::EnterpriseSize;
use yew::prelude::*;

use super::{Load, outcome, pending, run, use_load};
use crate::components::widgets::{Ctx, event_value};
use crate::infra::admin_enterprises::{self, ContactForm, EnterpriseForm, EnterpriseRow};
use crate::infra::i18n::Lang;
use crate::infra::i18n_admin::{A, error_text};

/// Properties of the editor.
#[derive(Properties, PartialEq)]
pub struct EnterpriseEditorProps {
    /// The app context.
    pub ctx: Ctx,
    /// The profile's id.
    pub id: String,
    /// Called after a save or a merge (to read the list again).
    pub on_changed: Callback<()>,
}

/// Loads the profile, then shows its form and the merge panel.
#[component]
pub fn EnterpriseEditor(props: &EnterpriseEditorProps) -> Html {
    let ctx = props.ctx.clone();
    let version = use_state(|| 0u32);
    let id = props.id.clone();
    let form = use_load(&ctx, *version, move |s| {
        let id = id.clone();
        async move { admin_enterprises::enterprise(&s, &id).await }
    });
    // A merge's outcome, kept here: the form and the panel are read again after it.
    let notice = use_state(|| None::<Result<String, String>>);
    let merged = {
        let (version, notice, on_changed) =
            (version.clone(), notice.clone(), props.on_changed.clone());
        Callback::from(move |outcome: Result<String, String>| {
            if outcome.is_ok() {
                version.set(*version + 1);
                on_changed.emit(());
            }
            notice.set(Some(outcome));
        })
    };
    match &*form {
        Load::Ready(f) => html! {
            <section class="enterprise-editor" id="ent-editor">
                <FormBody key={*version} ctx={ctx.clone()} form={f.clone()}
                    on_saved={props.on_changed.clone()} />
                if f.merged_into.is_none() {
                    <MergePanel key={format!("merge-{}", *version)} ctx={ctx.clone()} id={f.id.clone()}
                        credit_code={f.credit_code.clone()} on_merged={merged} />
                }
                <div id="ent-merge-notice">{ outcome(&notice) }</div>
            </section>
        },
        other => pending(&ctx, other),
    }
}

#[derive(Properties, PartialEq)]
struct FormBodyProps {
    ctx: Ctx,
    form: EnterpriseForm,
    on_saved: Callback<()>,
}

/// A text input bound to one field of the form.
fn field(
    form: &UseStateHandle<EnterpriseForm>,
    id: &str,
    label: &str,
    value: &str,
    set: fn(&mut EnterpriseForm, String),
) -> Html {
    let form = form.clone();
    let oninput = Callback::from(move |e: InputEvent| {
        let mut next = (*form).clone();
        set(&mut next, event_value(&e));
        form.set(next);
    });
    html! {
        <label>{ label }<input id={id.to_string()} type="text" value={value.to_string()} {oninput} /></label>
    }
}

/// The form: every field, the contacts, save.
#[component]
fn FormBody(props: &FormBodyProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let form = use_state(|| props.form.clone());
    let message = use_state(|| None::<Result<String, String>>);
    let f = (*form).clone();
    let on_save = {
        let (ctx, form, message, on_saved) = (
            ctx.clone(),
            form.clone(),
            message.clone(),
            props.on_saved.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let (sent, message, on_saved) = ((*form).clone(), message.clone(), on_saved.clone());
            let form = form.clone();
            run(
                &ctx,
                move |s| async move { admin_enterprises::save_enterprise(&s, &sent).await },
                move |r| match r {
                    Ok(Ok(stored)) => {
                        form.set(stored);
                        message.set(Some(Ok(lang.a(A::Saved).to_string())));
                        on_saved.emit(());
                    }
                    Ok(Err(bad)) => {
                        message.set(Some(Err(format!("{} {}", lang.a(A::NotANumber), bad.0))));
                    }
                    Err(e) => message.set(Some(Err(error_text(lang, &e)))),
                },
            );
        })
    };
    let on_key = {
        let form = form.clone();
        Callback::from(move |_: Event| {
            let mut next = (*form).clone();
            next.key_enterprise = !next.key_enterprise;
            form.set(next);
        })
    };
    let on_size = {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let mut next = (*form).clone();
            next.size = event_value(&e);
            form.set(next);
        })
    };
    let add_contact = {
        let form = form.clone();
        Callback::from(move |_: MouseEvent| {
            let mut next = (*form).clone();
            next.contacts.push(ContactForm::default());
            form.set(next);
        })
    };
    let merged = f.merged_into.is_some();
    html! {
        <div class="enterprise-form">
            <h2>{ &f.name }<span class="mono muted">{ format!(" {}", f.credit_code) }</span></h2>
            if let Some(s) = &f.merged_into {
                <p class="muted" id="ent-merged-into">{ format!("{} {s}", lang.a(A::MergedInto)) }</p>
            }
            <p class="muted">{ format!("{}: {}", lang.a(A::Records), f.records) }</p>
            <fieldset disabled={merged}>
                { field(&form, "ent-name", lang.a(A::Name), &f.name, |f, v| f.name = v) }
                { field(&form, "ent-address", lang.a(A::Address), &f.address, |f, v| f.address = v) }
                { field(&form, "ent-industry", lang.a(A::Industry), &f.industry, |f, v| f.industry = v) }
                <label>{ lang.a(A::EnterpriseSize) }
                    <select id="ent-size" onchange={on_size}>
                        { for [EnterpriseSize::AboveDesignated, EnterpriseSize::BelowDesignated].into_iter().map(|s| html! {
                            <option value={s.code()} selected={f.size == s.code()}>{ lang.pick(s.zh(), s.en()) }</option>
                        }) }
                    </select>
                </label>
                <label class="check">
                    <input id="ent-key" type="checkbox" checked={f.key_enterprise} onchange={on_key} />
                    { lang.a(A::KeyEnterprise) }
                </label>
                <div class="row">
                    <span>{ lang.a(A::Position) }</span>
                    { field(&form, "ent-lat", lang.a(A::Latitude), &f.lat, |f, v| f.lat = v) }
                    { field(&form, "ent-lon", lang.a(A::Longitude), &f.lon, |f, v| f.lon = v) }
                    { field(&form, "ent-accuracy", lang.a(A::AccuracyM), &f.accuracy_m, |f, v| f.accuracy_m = v) }
                </div>
                <h3>{ lang.a(A::Contacts) }</h3>
                { for (0..f.contacts.len()).map(|i| contact_row(lang, &form, i)) }
                <button type="button" class="secondary" id="ent-add-contact" onclick={add_contact}>{ lang.a(A::AddContact) }</button>
                <button type="button" class="primary" id="ent-save" onclick={on_save}>{ lang.a(A::Save) }</button>
            </fieldset>
            { outcome(&message) }
        </div>
    }
}

/// Contact `i`'s inputs and its remove button.
fn contact_row(lang: Lang, form: &UseStateHandle<EnterpriseForm>, i: usize) -> Html {
    let c = form.contacts[i].clone();
    let input = |part: &'static str, label: &str, value: &str| {
        let form = form.clone();
        let oninput = Callback::from(move |e: InputEvent| {
            let mut next = (*form).clone();
            if let Some(c) = next.contacts.get_mut(i) {
                let v = event_value(&e);
                match part {
                    "name" => c.name = v,
                    "title" => c.title = v,
                    _ => c.phone = v,
                }
            }
            form.set(next);
        });
        html! {
            <label>{ label }<input id={format!("ent-contact-{i}-{part}")} type="text" value={value.to_string()} {oninput} /></label>
        }
    };
    let remove = {
        let form = form.clone();
        Callback::from(move |_: MouseEvent| {
            let mut next = (*form).clone();
            if i < next.contacts.len() {
                next.contacts.remove(i);
            }
            form.set(next);
        })
    };
    html! {
        <div class="row contact">
            { input("name", lang.a(A::Name), &c.name) }
            { input("title", lang.a(A::ContactRole), &c.title) }
            { input("phone", lang.a(A::Phone), &c.phone) }
            <button type="button" class="secondary" id={format!("ent-contact-{i}-remove")} onclick={remove}>{ lang.a(A::Remove) }</button>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct MergePanelProps {
    ctx: Ctx,
    id: String,
    credit_code: String,
    on_merged: Callback<Result<String, String>>,
}

/// The other profiles with this credit code, each with a button merging it into this one.
#[component]
fn MergePanel(props: &MergePanelProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let code = props.credit_code.clone();
    let others = use_load(&ctx, 0, move |s| {
        let code = code.clone();
        async move { admin_enterprises::enterprises(&s, &code, false).await }
    });
    let merge = |r: &EnterpriseRow| {
        let (ctx, keep, absorb) = (ctx.clone(), props.id.clone(), r.id.clone());
        let on_merged = props.on_merged.clone();
        Callback::from(move |_: MouseEvent| {
            let (keep, absorb, on_merged) = (keep.clone(), absorb.clone(), on_merged.clone());
            run(
                &ctx,
                move |s| async move { admin_enterprises::merge_enterprises(&s, &keep, &absorb).await },
                move |r| {
                    on_merged.emit(
                        r.map(|n| format!("{} ({} {n})", lang.a(A::Done), lang.a(A::Records)))
                            .map_err(|e| error_text(lang, &e)),
                    );
                },
            );
        })
    };
    let list = match &*others {
        Load::Ready(rows) => {
            let rows: Vec<&EnterpriseRow> = rows
                .iter()
                .filter(|r| r.credit_code == props.credit_code && r.id != props.id)
                .collect();
            if rows.is_empty() {
                html! { <p class="muted">{ lang.a(A::NoDuplicates) }</p> }
            } else {
                html! {
                    <table class="admin-table" id="ent-duplicates-list">
                        { for rows.into_iter().map(|r| html! {
                            <tr>
                                <td>{ &r.name }</td><td>{ &r.address }</td><td>{ &r.town_name }</td>
                                <td><button type="button" class="primary" id={format!("ent-merge-{}", r.id)}
                                    onclick={merge(r)}>{ lang.a(A::MergeInto) }</button></td>
                            </tr>
                        }) }
                    </table>
                }
            }
        }
        other => pending(&ctx, other),
    };
    html! {
        <div class="merge-panel">
            <h3>{ lang.a(A::MergeTitle) }</h3>
            <p class="muted">{ lang.a(A::MergeHint) }</p>
            { list }
        </div>
    }
}
