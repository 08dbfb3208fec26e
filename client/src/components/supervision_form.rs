//! The form leaders and supervisors give a supervision instruction (督办) with, under a
//! problem's supervision card (`supervision`): the text, an addressee picked from the
//! problem's owner and leader, its departments and then every other department and town in
//! the directory, and a due date (`shared::supervision::parse_instruction`). Full bundle only.

use shared::doc::DocKind;
use shared::model::{Addressee, EntryId, OrgUnitId, Problem};
use shared::supervision::{addressee_code, parse_instruction};
use shared::sync::protocol::DocId;
use yew::prelude::*;

use super::problem::{edit_problem, message_line};
use super::supervision::addressee_name;
use super::widgets::{Ctx, bind, bind_select, select};
use crate::infra::i18n::{self, Lang};
use crate::infra::{directory, platform};

/// Properties of [`SupervisionForm`].
#[derive(PartialEq, Properties)]
pub struct SupervisionFormProps {
    /// The app context.
    pub ctx: Ctx,
    /// The problem.
    pub problem: Problem,
}

/// Whom a leader may address: the problem's owner and leader, its departments first, then
/// every other department and town in the directory.
fn choices(lang: Lang, ctx: &Ctx, p: &Problem) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut push = |to: Addressee, label: String| {
        let code = addressee_code(to);
        if !out.iter().any(|(c, _)| *c == code) {
            out.push((code, label));
        }
    };
    let owner = Addressee::Person(p.owner);
    push(
        owner,
        format!(
            "{}{}",
            lang.pick("包联干部 ", "Officer "),
            addressee_name(lang, ctx, owner)
        ),
    );
    if let Some(l) = p.leader.map(Addressee::Person) {
        push(
            l,
            format!(
                "{}{}",
                lang.pick("责任领导 ", "Leader "),
                addressee_name(lang, ctx, l)
            ),
        );
    }
    let handling: Vec<OrgUnitId> = p.handling_units.iter().copied().collect();
    for u in handling.into_iter().map(Addressee::Unit) {
        push(u, addressee_name(lang, ctx, u));
    }
    for (u, name) in directory::departments()
        .into_iter()
        .chain(directory::towns())
    {
        push(Addressee::Unit(u), name);
    }
    out
}

/// The form.
#[component]
pub fn SupervisionForm(props: &SupervisionFormProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let text = use_state(String::new);
    let to = use_state(String::new);
    let due = use_state(String::new);
    let message = use_state(|| None::<(bool, String)>);
    let doc_id = DocId::new(DocKind::Problem, &props.problem.id.to_string());

    let give = {
        let (core, doc_id) = (ctx.core.clone(), doc_id.clone());
        let (text, to, due, message) = (text.clone(), to.clone(), due.clone(), message.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let i = match parse_instruction(&text, &to, &due, platform::utc_offset_minutes()) {
                Ok(i) => i,
                Err(err) => {
                    message.set(Some((false, i18n::form_error(lang, &err.error))));
                    return;
                }
            };
            let config = core.config();
            let id = EntryId::from_random_bytes(platform::random_bytes());
            if edit_problem(&core, lang, &doc_id, &message, &mut |doc, actor| {
                doc.edit(&config, actor, platform::now(), |e| {
                    e.supervise(id, &i.text, i.to, i.due)
                })
            }) {
                text.set(String::new());
            }
        })
    };

    html! {
        <form class="form" onsubmit={give}>
            <textarea id="supervision" rows="2" placeholder={lang.pick("督办要求，如：请于本周内反馈进展", "Instruction, e.g. report progress this week")}
                value={(*text).clone()} oninput={bind(&text)} />
            <label for="supervision-to">{ lang.pick("督办对象", "To") }</label>
            { select("supervision-to", &to, choices(lang, &ctx, &props.problem), Some(lang.pick("选择人员或单位", "Choose a person or unit")), bind_select(&to)) }
            <label for="supervision-due">{ lang.pick("办结期限", "Due") }</label>
            <input id="supervision-due" type="date" value={(*due).clone()} oninput={bind(&due)} />
            { message_line(&message) }
            <button type="submit" class="secondary give-supervision">{ lang.pick("下达督办", "Give instruction") }</button>
        </form>
    }
}
