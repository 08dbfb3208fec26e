//! One visit: its check-in evidence (with its distance from the enterprise, marked when
//! outside the district's radius or without a position), method, people met, notes, operating status, photos,
//! the enterprise's confirmation (its signature, or the pad where its representative signs:
//! the visit record, the 连心卡, confirmed on the officer's screen, offline too) and the
//! problems raised, with its notes editable (merged as text with others' edits) and a link to
//! its per-field history; for a key enterprise, the way to enter its monitoring figures.

use std::rc::Rc;

use shared::doc::{DocError, DocKind, VisitDoc, VisitEdit};
use shared::forms;
use shared::model::VisitId;
use shared::sync::protocol::DocId;
use yew::prelude::*;

use super::photos::{photo_section, signature_pad, signed_line};
use super::visit_form::position_text;
use super::widgets::{Ctx, back, bind, missing};
use crate::infra::i18n::{self, Key, Lang};
use crate::infra::route::Route;
use crate::infra::{photos, platform};
use crate::sync::{Core, SaveError};

/// Edits visit `doc_id` on the device by `change` and says how it went in `message` (one
/// copy for the notes and the signature).
fn edit_visit(
    core: &Rc<Core>,
    lang: Lang,
    doc_id: &DocId,
    message: &UseStateHandle<Option<String>>,
    change: &dyn Fn(&mut VisitEdit<'_, '_>) -> Result<(), DocError>,
) {
    let (Some(actor), Some(record)) = (core.actor(), core.doc(doc_id)) else {
        return;
    };
    let edited = VisitDoc::from_record(record)
        .and_then(|mut d| d.edit(&actor, platform::now(), change).map(|()| d));
    match edited {
        Ok(doc) => {
            let message = message.clone();
            core.save(
                vec![(doc_id.clone(), doc.into_record())],
                Callback::from(move |r: Result<(), SaveError>| {
                    message.set(Some(match r {
                        Ok(()) => lang.t(Key::SavedOnDevice).to_string(),
                        Err(e) => i18n::save_error(lang, &e),
                    }));
                }),
            );
        }
        Err(e) => message.set(Some(i18n::doc_error(lang, &e))),
    }
}

/// Properties of [`VisitPage`].
#[derive(PartialEq, Properties)]
pub struct VisitPageProps {
    /// The app context (the device, the language, the change counter).
    pub ctx: Ctx,
    /// The visit.
    pub id: VisitId,
}

/// The visit page.
#[component]
pub fn VisitPage(props: &VisitPageProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let snapshot = ctx.core.snapshot();
    let visit = snapshot.visits.iter().find(|v| v.id == props.id).cloned();
    let notes = use_state(|| visit.as_ref().map(|v| v.notes.clone()).unwrap_or_default());
    let message = use_state(|| None::<String>);
    let sign_message = use_state(|| None::<String>);
    let Some(visit) = visit else {
        return missing(&ctx);
    };
    let doc_id = DocId::new(DocKind::Visit, &props.id.to_string());
    // Key enterprises' monitoring figures (power, prices, operation) are entered on a visit.
    let key_enterprise = snapshot
        .enterprises
        .iter()
        .any(|e| e.id == visit.enterprise && e.key_enterprise);
    let refusal = ctx.core.refusal(&doc_id);
    // 签到核验: the check-in's distance from where the enterprise is registered on the
    // device, and whether the district's radius marks it (on-site visits only).
    let profile = snapshot
        .enterprises
        .iter()
        .find(|e| e.id == visit.enterprise);
    let distance = forms::check_in_distance(
        forms::check_in_position(&visit),
        forms::registered_position(profile, &visit, &snapshot.visits),
    );
    let marked = ctx.core.config().check_in.marks(visit.method, distance);

    let save = {
        let core = ctx.core.clone();
        let (notes, message, doc_id) = (notes.clone(), message.clone(), doc_id.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            edit_visit(&core, lang, &doc_id, &message, &|v| {
                v.set_notes(notes.trim())
            });
        })
    };

    // The enterprise's representative signs on the pad: the PNG is stored like a photo, then
    // the confirmation written with it.
    let sign = {
        let core = ctx.core.clone();
        let (message, doc_id) = (sign_message.clone(), doc_id.clone());
        Callback::from(move |_: MouseEvent| {
            let (core, message, doc_id) = (core.clone(), message.clone(), doc_id.clone());
            photos::signature(
                "visit-sig",
                Box::new(move |signed| match signed {
                    Ok((name, signature)) => {
                        let now = platform::now();
                        edit_visit(&core, lang, &doc_id, &message, &|v| {
                            v.sign(&name, now, &signature)
                        });
                    }
                    Err(key) => message.set(Some(lang.t(key).into())),
                }),
            );
        })
    };

    html! {
        <main key="visit" class="screen visit">
            { back(lang, &Route::Enterprise(visit.enterprise)) }
            <h1>{ lang.t(Key::Visit) }{ " · " }{ platform::format_time(shared::forms::visit_time(&visit)) }</h1>
            if let Some(r) = refusal {
                <div class="notice refused" role="alert">
                    <strong>{ lang.t(Key::RefusedByServer) }</strong>{ i18n::refusal(lang, &r) }
                    <p>{ lang.t(Key::RefusedFixHint) }</p>
                </div>
            }
            <dl class="facts">
                <dt>{ lang.t(Key::Method) }</dt><dd>{ lang.pick(visit.method.zh(), visit.method.en()) }</dd>
                if let Some(c) = &visit.check_in {
                    <dt>{ lang.t(Key::CheckIn) }</dt>
                    <dd>{ platform::format_time(c.device_time) }{ " · " }{ position_text(lang, Some(&c.position)) }</dd>
                }
                if distance.is_some() || marked {
                    <dt>{ lang.t(Key::CheckInDistance) }</dt>
                    <dd class="check-in-distance">
                        { distance.map_or_else(|| lang.t(Key::NoPosition).to_string(), |m| i18n::distance(lang, m)) }
                        if marked && distance.is_some() { { " · " }<strong>{ lang.t(Key::OutsideRadius) }</strong> }
                    </dd>
                }
                <dt>{ lang.t(Key::OperatingStatus) }</dt>
                <dd>{ lang.pick(visit.operating_status.zh(), visit.operating_status.en()) }</dd>
                <dt>{ lang.t(Key::Attendees) }</dt>
                <dd>{ visit.attendees.iter().cloned().collect::<Vec<_>>().join("、") }</dd>
            </dl>
            { photo_section(lang, &visit.photos, "photos", None, None) }
            if let Some(c) = &visit.confirmation {
                { signed_line(lang, &c.by_name, c.at, c.signature.as_ref().map(|s| s.hash.as_str())) }
            } else {
                <section class="card sign-visit">
                    <h2>{ lang.t(Key::SignVisit) }</h2>
                    { signature_pad(lang, "visit-sig") }
                    if let Some(m) = &*sign_message { <p class="hint" role="status">{ m.clone() }</p> }
                    <button type="button" class="primary sign-save" onclick={sign}>{ lang.t(Key::SignSave) }</button>
                </section>
            }
            <form class="form" onsubmit={save}>
                <label for="notes">{ lang.t(Key::Notes) }</label>
                <textarea id="notes" name="notes" rows="4" value={(*notes).clone()} oninput={bind(&notes)} />
                if let Some(m) = &*message { <p class="hint" role="status">{ m.clone() }</p> }
                <button type="submit" class="primary">{ lang.t(Key::Save) }</button>
            </form>
            <h2>{ lang.t(Key::ProblemsRaised) }{ visit.problems.len() }</h2>
            <ul class="cards">
                { for visit.problems.iter().map(|p| {
                    let label = snapshot.problems.iter().find(|x| x.id == *p)
                        .map(|x| i18n::category(lang, &ctx.core.config(), &x.category))
                        .unwrap_or_else(|| lang.t(Key::NotOnDevice).to_string());
                    html! { <li class="card"><a href={Route::Problem(*p).hash()}>{ label }</a></li> }
                }) }
            </ul>
            if key_enterprise {
                <a class="button secondary" href={Route::Monitoring(visit.enterprise).hash()}>
                    { lang.pick("录入经济监测数据", "Enter monitoring figures") }
                </a>
            }
            <a class="button secondary" href={Route::History(doc_id).hash()}>{ lang.t(Key::History) }</a>
        </main>
    }
}
