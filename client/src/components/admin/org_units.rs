//! Org units (组织机构): the tree (each name indented under its parent, with its code, kind and
//! how many users belong to it), a form to add a unit, a rename and a change of parent per row
//! (the server refuses a cycle, an unknown parent, a taken code or an empty or duplicate name,
//! and says why), and the org units import.

use yew::prelude::*;

use super::import_box::ImportBox;
use super::{Load, outcome, pending, run, use_load};
use crate::components::widgets::{Ctx, bind, bind_select, select};
use crate::infra::admin::ImportKind;
use crate::infra::admin_org_units::{self as api, NewOrgUnit, OrgUnit};
use crate::infra::i18n::Lang;
use crate::infra::i18n_admin::{A, error_text};

/// Properties of the org units section.
#[derive(Properties, PartialEq)]
pub struct OrgUnitsSectionProps {
    /// The app context.
    pub ctx: Ctx,
}

/// What a row's form is open for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Editing {
    Rename(String),
    Move(String),
}

fn kind_label(lang: Lang, kind: &str) -> String {
    match kind {
        "zone" => lang.a(A::KindZone).to_string(),
        "town" => lang.a(A::KindTown).to_string(),
        "department" => lang.a(A::KindDepartment).to_string(),
        other => other.to_string(),
    }
}

/// `(code, "name (code)")` of every unit, for a parent picker.
fn unit_options(units: &[OrgUnit], except: Option<&str>) -> Vec<(String, String)> {
    units
        .iter()
        .filter(|u| Some(u.code.as_str()) != except)
        .map(|u| (u.code.clone(), format!("{} ({})", u.name, u.code)))
        .collect()
}

/// The org units section.
#[component]
pub fn OrgUnitsSection(props: &OrgUnitsSectionProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let version = use_state(|| 0u32);
    let units = use_load(&ctx, *version, |s| async move { api::org_units(&s).await });
    let message = use_state(|| None::<Result<String, String>>);
    let editing = use_state(|| None::<Editing>);
    let value = use_state(String::new);
    let reload = {
        let version = version.clone();
        Callback::from(move |()| version.set(*version + 1))
    };
    // Saves the open row's rename or move, then reads the tree again.
    let save = {
        let (ctx, message, editing, value, reload) = (
            ctx.clone(),
            message.clone(),
            editing.clone(),
            value.clone(),
            reload.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let Some(open) = (*editing).clone() else {
                return;
            };
            let v = (*value).clone();
            let (message, editing, reload) = (message.clone(), editing.clone(), reload.clone());
            let done = match open {
                Editing::Rename(_) => A::Renamed,
                Editing::Move(_) => A::UnitMoved,
            };
            run(
                &ctx,
                move |s| async move {
                    match &open {
                        Editing::Rename(code) => api::rename_org_unit(&s, code, &v).await,
                        Editing::Move(code) => api::move_org_unit(&s, code, &v).await,
                    }
                },
                move |r| {
                    if r.is_ok() {
                        editing.set(None);
                        reload.emit(());
                    }
                    message.set(Some(
                        r.map(|()| lang.a(done).to_string())
                            .map_err(|e| error_text(lang, &e)),
                    ));
                },
            );
        })
    };
    let (rows, options) = match &*units {
        Load::Ready(list) => (
            list.iter()
                .map(|u| unit_row(lang, u, list, &editing, &value, &save))
                .collect::<Html>(),
            unit_options(list, None),
        ),
        other => (pending(&ctx, other), Vec::new()),
    };
    html! {
        <div class="admin-section org-units">
            <AddOrgUnit ctx={ctx.clone()} parents={options} on_added={reload.clone()} />
            { outcome(&message) }
            <table class="admin-table" id="admin-org-units">
                <tr>
                    <th>{ lang.a(A::Name) }</th><th>{ lang.a(A::Code) }</th><th>{ lang.a(A::Kind) }</th>
                    <th>{ lang.a(A::Members) }</th><th></th>
                </tr>
                { rows }
            </table>
            <ImportBox ctx={ctx.clone()} kind={ImportKind::OrgUnits} on_imported={reload} />
        </div>
    }
}

fn unit_row(
    lang: Lang,
    u: &OrgUnit,
    all: &[OrgUnit],
    editing: &UseStateHandle<Option<Editing>>,
    value: &UseStateHandle<String>,
    save: &Callback<MouseEvent>,
) -> Html {
    let open = |what: Editing, start: String| {
        let (editing, value) = (editing.clone(), value.clone());
        Callback::from(move |_: MouseEvent| {
            value.set(start.clone());
            editing.set(Some(what.clone()));
        })
    };
    let on_rename = open(Editing::Rename(u.code.clone()), u.name.clone());
    let on_move = open(
        Editing::Move(u.code.clone()),
        u.parent.clone().unwrap_or_default(),
    );
    let cancel = {
        let editing = editing.clone();
        Callback::from(move |_: MouseEvent| editing.set(None))
    };
    let form = match editing.as_ref() {
        Some(Editing::Rename(code)) if *code == u.code => html! {
            <span class="inline-form">
                <input type="text" id="org-unit-new-name" aria-label={lang.a(A::NewName)}
                    value={(**value).clone()} oninput={bind(value)} />
                <button type="button" class="primary" id="org-unit-save" onclick={save.clone()}>{ lang.a(A::Save) }</button>
                <button type="button" class="secondary" onclick={cancel}>{ lang.a(A::Cancel) }</button>
            </span>
        },
        Some(Editing::Move(code)) if *code == u.code => html! {
            <span class="inline-form">
                { select("org-unit-new-parent", value, unit_options(all, Some(&u.code)),
                    Some(lang.a(A::ChooseParent)), bind_select(value)) }
                <button type="button" class="primary" id="org-unit-save" onclick={save.clone()}>{ lang.a(A::Save) }</button>
                <button type="button" class="secondary" onclick={cancel}>{ lang.a(A::Cancel) }</button>
            </span>
        },
        _ => html! {},
    };
    let indent = format!("padding-left: {}em", 0.5 + 1.5 * f64::from(u.depth));
    html! {
        <tr key={u.code.clone()} data-code={u.code.clone()} data-depth={u.depth.to_string()}>
            <td class="unit-name" style={indent}>{ &u.name }</td>
            <td><code>{ &u.code }</code></td>
            <td>{ kind_label(lang, &u.kind) }</td>
            <td>{ u.members }</td>
            <td class="actions">
                <button type="button" class="secondary rename" onclick={on_rename}>{ lang.a(A::Rename) }</button>
                if u.kind != "zone" {
                    <button type="button" class="secondary move" onclick={on_move}>{ lang.a(A::MoveUnder) }</button>
                }
                { form }
            </td>
        </tr>
    }
}

/// Properties of the add-unit form.
#[derive(Properties, PartialEq)]
struct AddOrgUnitProps {
    ctx: Ctx,
    /// `(code, label)` of every unit.
    parents: Vec<(String, String)>,
    on_added: Callback<()>,
}

#[component]
fn AddOrgUnit(props: &AddOrgUnitProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let code = use_state(String::new);
    let name = use_state(String::new);
    let kind = use_state(|| "town".to_string());
    let parent = use_state(String::new);
    let message = use_state(|| None::<Result<String, String>>);
    let submit = {
        let (code, name, kind, parent) = (code.clone(), name.clone(), kind.clone(), parent.clone());
        let (message, on_added) = (message.clone(), props.on_added.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let unit = NewOrgUnit {
                code: (*code).clone(),
                name: (*name).clone(),
                kind: (*kind).clone(),
                parent: (*parent).clone(),
            };
            let (message, on_added, code, name) = (
                message.clone(),
                on_added.clone(),
                code.clone(),
                name.clone(),
            );
            run(
                &ctx,
                move |s| async move { api::add_org_unit(&s, &unit).await },
                move |r| {
                    if r.is_ok() {
                        code.set(String::new());
                        name.set(String::new());
                        on_added.emit(());
                    }
                    message.set(Some(
                        r.map(|()| lang.a(A::Added).to_string())
                            .map_err(|e| error_text(lang, &e)),
                    ));
                },
            );
        })
    };
    let kinds = ["town", "department", "zone"]
        .into_iter()
        .map(|k| (k.to_string(), kind_label(lang, k)))
        .collect();
    html! {
        <form class="add-org-unit row" onsubmit={submit}>
            <h2>{ lang.a(A::AddOrgUnit) }</h2>
            <label>{ lang.a(A::Code) }
                <input type="text" id="org-unit-code" value={(*code).clone()} oninput={bind(&code)} />
            </label>
            <label>{ lang.a(A::Name) }
                <input type="text" id="org-unit-name" value={(*name).clone()} oninput={bind(&name)} />
            </label>
            <label>{ lang.a(A::Kind) }{ select("org-unit-kind", &kind, kinds, None, bind_select(&kind)) }</label>
            <label>{ lang.a(A::Parent) }
                { select("org-unit-parent", &parent, props.parents.clone(), Some(lang.a(A::ChooseParent)), bind_select(&parent)) }
            </label>
            <button type="submit" class="primary" id="org-unit-add">{ lang.a(A::Add) }</button>
            { outcome(&message) }
        </form>
    }
}
