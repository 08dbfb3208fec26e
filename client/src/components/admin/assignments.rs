//! Assignments (包联调整): end an enterprise's assignments, or move it to another officer (its
//! history follows to the new officer's phone at their next sync); and the assignments import.

use yew::prelude::*;

use super::import_box::ImportBox;
use super::{outcome, run};
use crate::components::widgets::{Ctx, bind};
use crate::infra::admin::{self, ImportKind};
use crate::infra::i18n_admin::{A, error_text};

/// Properties of the assignments section.
#[derive(Properties, PartialEq)]
pub struct AssignmentsSectionProps {
    /// The app context.
    pub ctx: Ctx,
}

/// The assignments section.
#[component]
pub fn AssignmentsSection(props: &AssignmentsSectionProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let enterprise = use_state(String::new);
    let to = use_state(String::new);
    let message = use_state(|| None::<Result<String, String>>);
    let on_end = {
        let (ctx, enterprise, message) = (ctx.clone(), enterprise.clone(), message.clone());
        Callback::from(move |_: MouseEvent| {
            let (e, message) = ((*enterprise).clone(), message.clone());
            run(
                &ctx,
                move |s| async move { admin::end_assignment(&s, &e).await },
                move |r| {
                    message.set(Some(
                        r.map(|n| format!("{} ({n})", lang.a(A::Ended)))
                            .map_err(|e| error_text(lang, &e)),
                    ));
                },
            );
        })
    };
    let on_move = {
        let (ctx, enterprise, to, message) =
            (ctx.clone(), enterprise.clone(), to.clone(), message.clone());
        Callback::from(move |_: MouseEvent| {
            let (e, t, message) = ((*enterprise).clone(), (*to).clone(), message.clone());
            run(
                &ctx,
                move |s| async move { admin::move_assignment(&s, &e, &t).await },
                move |r| {
                    message.set(Some(
                        r.map(|()| lang.a(A::Moved).to_string())
                            .map_err(|e| error_text(lang, &e)),
                    ));
                },
            );
        })
    };
    let nothing = enterprise.trim().is_empty();
    html! {
        <div class="admin-section assignments">
            <div class="row">
                <label>{ lang.a(A::Enterprise) }
                    <input id="assign-enterprise" type="text" placeholder={lang.a(A::EnterpriseHint)}
                        value={(*enterprise).clone()} oninput={bind(&enterprise)} />
                </label>
                <button type="button" class="secondary" id="assign-end" disabled={nothing} onclick={on_end}>
                    { lang.a(A::EndAssignment) }
                </button>
            </div>
            <div class="row">
                <label>{ lang.a(A::MoveTo) }
                    <input id="assign-to" type="text" value={(*to).clone()} oninput={bind(&to)} />
                </label>
                <button type="button" class="primary" id="assign-move" disabled={nothing || to.trim().is_empty()} onclick={on_move}>
                    { lang.a(A::Move) }
                </button>
            </div>
            { outcome(&message) }
            <ImportBox ctx={ctx.clone()} kind={ImportKind::Assignments} />
        </div>
    }
}
