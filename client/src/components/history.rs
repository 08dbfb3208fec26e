//! The per-field history of a record: every field each change set, with who (person by name,
//! from the directory, and role), which device, and when by that device's clock — history as
//! evidence — under the enterprise's signatures on the record (the visit's confirmation, a
//! problem's confirmations), with their images.

use shared::doc::history::field_history;
use shared::model::{OrgUnitId, UserId};
use shared::sync::protocol::DocId;
use yew::prelude::*;

use super::photos::signed_line;
use super::widgets::{Ctx, back, missing};
use crate::infra::directory;
use crate::infra::i18n::{self, Key, Lang};
use crate::infra::platform;
use crate::infra::route::Route;
use crate::sync::Core;

/// The history page of record `doc`. A plain function, not a component (no state of its own;
/// each component type costs its own copy of yew's machinery): the app calls it on every render.
pub fn history_page(ctx: &Ctx, doc: &DocId) -> Html {
    let lang = ctx.lang;
    let core = ctx.core.clone();
    let Some(mut record) = core.doc(doc) else {
        return missing(ctx);
    };
    let mut changes = field_history(&mut record);
    changes.reverse();
    let device = core.device();
    html! {
        <main key="history" class="screen history">
            { back(lang, &Route::of_doc(doc)) }
            <h1>{ lang.t(Key::History) }</h1>
            { verdict(ctx, doc) }
            { signatures(ctx, doc) }
            <ol class="log history-list">
                { for changes.iter().filter(|c| shown(&c.field, c.value.as_deref())).map(|c| {
                    let who = match &c.author {
                        Some(a) => {
                            let person = format!("{} ({})", i18n::person(lang, &core, a.user), lang.pick(a.role.zh(), a.role.en()));
                            let dev = if a.device == device {
                                lang.t(Key::ThisDevice).to_string()
                            } else {
                                format!("{}{}", lang.t(Key::DeviceShort), short(&a.device.to_string()))
                            };
                            format!("{person} · {dev}")
                        }
                        None => format!("{}{}", lang.t(Key::ActorShort), c.actor.chars().take(8).collect::<String>()),
                    };
                    let value = value_of(lang, &core, &c.field, c.value.as_deref());
                    html! {
                        <li class="history-entry">
                            <div class="muted">{ platform::format_time(c.device_time) }{ " · " }{ who }</div>
                            <div><strong>{ i18n::field_name(lang, &c.field) }</strong>{ ": " }{ value }
                                if c.conflict { <span class="badge conflict">{ lang.t(Key::Conflict) }</span> }
                            </div>
                        </li>
                    }
                }) }
            </ol>
        </main>
    }
}

/// A history line's value in words: people and departments by name (the directory's, else a
/// short id), set members named by what was added or removed, codes by their labels.
fn value_of(lang: Lang, core: &Core, field: &str, value: Option<&str>) -> String {
    let (root, member) = field.split_once('.').unwrap_or((field, ""));
    let unit = |id: &str| match OrgUnitId::parse(id) {
        Ok(id) => directory::unit_name(id).unwrap_or_else(|| {
            format!("{}{}", lang.pick("部门 ", "unit "), short(&id.to_string()))
        }),
        Err(_) => id.to_string(),
    };
    let user = |id: &str| match UserId::parse(id) {
        Ok(id) => i18n::person(lang, core, id),
        Err(_) => id.to_string(),
    };
    let named = match (root, member) {
        ("handling_units", m) if !m.is_empty() && !m.contains('.') => Some(unit(m)),
        ("officers", m) if !m.is_empty() && !m.contains('.') => Some(user(m)),
        ("owner" | "leader", "") => value.map(user),
        _ => None,
    };
    match (named, value) {
        // A set member: added (`true`) or taken off (no value).
        (Some(name), _) if !member.is_empty() => match value {
            Some(_) => format!("{}{name}", lang.pick("加入 ", "added ")),
            None => format!("{}{name}", lang.pick("移除 ", "removed ")),
        },
        (Some(name), _) => name,
        (None, Some(v)) => i18n::field_value(lang, &core.config(), field, v)
            .chars()
            .take(160)
            .collect(),
        (None, None) => lang.t(Key::Removed).to_string(),
    }
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// The enterprise's signatures on the record: what its history is evidence of.
fn signatures(ctx: &Ctx, doc: &DocId) -> Html {
    let lang = ctx.lang;
    let snapshot = ctx.core.snapshot();
    let root = doc.root_id();
    let visit = snapshot.visits.iter().find(|v| v.id.to_string() == root);
    let visit = visit.and_then(|v| v.confirmation.as_ref());
    let problem = snapshot.problems.iter().find(|p| p.id.to_string() == root);
    html! {
        <div class="history-signatures">
            { for visit.and_then(|c| Some(signed_line(lang, &c.by_name, c.at, Some(&c.signature.as_ref()?.hash)))) }
            { for problem.into_iter().flat_map(|p| &p.signatures).map(|s| signed_line(lang, &s.by_name, s.at, Some(&s.signature.hash))) }
        </div>
    }
}

/// Whether a history line says something to a person: not the document's header, not the
/// creation of an empty container, not the creation stamp (shown as the record's author).
fn shown(field: &str, value: Option<&str>) -> bool {
    let root = field.split('.').next().unwrap_or(field);
    !matches!(root, "schema" | "kind" | "id")
        && !root.starts_with("created_")
        && !value.is_some_and(|v| v.starts_with('<'))
}

/// The server's verdict on the record's history (full bundle: leaders read it; the officer
/// bundle leaves the request out).
#[cfg(feature = "leader")]
fn verdict(ctx: &Ctx, doc: &DocId) -> Html {
    use super::visit_list::HistoryVerdict;
    html! { <HistoryVerdict ctx={ctx.clone()} doc={doc.clone()} /> }
}

#[cfg(not(feature = "leader"))]
fn verdict(_: &Ctx, _: &DocId) -> Html {
    Html::default()
}
