//! Enterprise profiles (企业档案): search the list (duplicates by credit code marked, or only
//! those), open one to edit it (`super::enterprise_form`) or merge a duplicate into it; and the
//! enterprises import.

use yew::prelude::*;

use super::enterprise_form::EnterpriseEditor;
use super::import_box::ImportBox;
use super::{Load, pending, use_load};
use crate::components::widgets::{Ctx, bind};
use crate::infra::admin::ImportKind;
use crate::infra::admin_enterprises::{self, EnterpriseRow};
use crate::infra::i18n::Lang;
use crate::infra::i18n_admin::A;

/// Properties of the enterprises section.
#[derive(Properties, PartialEq)]
pub struct EnterprisesSectionProps {
    /// The app context.
    pub ctx: Ctx,
}

/// The enterprises section.
#[component]
pub fn EnterprisesSection(props: &EnterprisesSectionProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let q = use_state(String::new);
    let duplicates = use_state(|| false);
    let version = use_state(|| 0u32);
    let selected = use_state(|| None::<String>);
    let rows = {
        let (q, duplicates) = ((*q).clone(), *duplicates);
        use_load(&ctx, *version, move |s| {
            let q = q.clone();
            async move { admin_enterprises::enterprises(&s, &q, duplicates).await }
        })
    };
    let reload = {
        let version = version.clone();
        Callback::from(move |()| version.set(*version + 1))
    };
    let on_search = {
        let reload = reload.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            reload.emit(());
        })
    };
    let on_duplicates = {
        let (duplicates, reload) = (duplicates.clone(), reload.clone());
        Callback::from(move |_: Event| {
            duplicates.set(!*duplicates);
            reload.emit(());
        })
    };
    let table = match &*rows {
        Load::Ready(list) => html! {
            <table class="admin-table" id="admin-enterprises">
                <tr>
                    <th>{ lang.a(A::Name) }</th><th>{ lang.a(A::CreditCode) }</th>
                    <th>{ lang.a(A::Town) }</th><th>{ lang.a(A::Duplicates) }</th><th></th>
                </tr>
                { for list.iter().map(|r| row(lang, r, &selected)) }
            </table>
        },
        other => pending(&ctx, other),
    };
    let editor = match &*selected {
        Some(id) => html! {
            <EnterpriseEditor key={id.clone()} ctx={ctx.clone()} id={id.clone()}
                on_changed={reload.clone()} />
        },
        None => html! {},
    };
    html! {
        <div class="admin-section enterprises">
            <form class="row" onsubmit={on_search}>
                <label>{ lang.a(A::Search) }
                    <input id="ent-q" type="search" value={(*q).clone()} oninput={bind(&q)} />
                </label>
                <label class="check">
                    <input id="ent-duplicates" type="checkbox" checked={*duplicates}
                        onchange={on_duplicates} />
                    { lang.a(A::DuplicatesOnly) }
                </label>
                <button type="submit" class="secondary" id="ent-search">{ lang.a(A::Filter) }</button>
            </form>
            { table }
            { editor }
            <ImportBox ctx={ctx.clone()} kind={ImportKind::Enterprises} on_imported={reload} />
        </div>
    }
}

fn row(lang: Lang, r: &EnterpriseRow, selected: &UseStateHandle<Option<String>>) -> Html {
    let open = {
        let (selected, id) = (selected.clone(), r.id.clone());
        Callback::from(move |_: MouseEvent| selected.set(Some(id.clone())))
    };
    let here = selected.as_deref() == Some(r.id.as_str());
    html! {
        <tr class={classes!("enterprise-row", here.then_some("current"))} data-id={r.id.clone()}>
            <td>{ &r.name }
                if r.key_enterprise { <span class="badge">{ lang.a(A::KeyEnterprise) }</span> }
            </td>
            <td class="mono">{ &r.credit_code }</td>
            <td>{ &r.town_name }</td>
            <td>
                if r.duplicates > 0 {
                    <span class="badge warn">{ format!("{} {}", lang.a(A::Duplicates), r.duplicates) }</span>
                }
            </td>
            <td><button type="button" class="secondary" id={format!("ent-open-{}", r.id)}
                onclick={open}>{ lang.a(A::Edit) }</button></td>
        </tr>
    }
}
