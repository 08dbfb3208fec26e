//! The audit log (审计日志): entries newest first, filtered by action, actor and text, a page at
//! a time; the hash chain verified on request; the kept entries exported as CSV.

use shared::model::Timestamp;
use yew::prelude::*;

use super::{Load, pending, run, use_load};
use crate::components::widgets::{Ctx, bind, bind_select, select};
use crate::infra::admin::{self, AuditEntry, AuditFilter};
use crate::infra::i18n::Lang;
use crate::infra::i18n_admin::{A, action_label, error_text};
use crate::infra::platform::format_time;

/// Properties of the audit section.
#[derive(Properties, PartialEq)]
pub struct AuditSectionProps {
    /// The app context.
    pub ctx: Ctx,
}

/// The audit section.
#[component]
pub fn AuditSection(props: &AuditSectionProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let action = use_state(String::new);
    let actor = use_state(String::new);
    let text = use_state(String::new);
    // The filter applied (the fields apply on "filter"), and the pages read so far.
    let applied = use_state(AuditFilter::default);
    let version = use_state(|| 0u32);
    let page = {
        let filter = (*applied).clone();
        use_load(&ctx, *version, move |s| {
            let filter = filter.clone();
            async move { admin::audit(&s, &filter, None).await }
        })
    };
    let more = use_state(Vec::<AuditEntry>::new);
    let next = use_state(|| None::<i64>);
    {
        let (more, next) = (more.clone(), next.clone());
        use_effect_with((*page).clone(), move |page| {
            more.set(Vec::new());
            next.set(match page {
                Load::Ready(p) => p.next_before,
                _ => None,
            });
        });
    }
    let verdict = use_state(|| None::<Result<String, String>>);

    let on_filter = {
        let (action, actor, text, applied, version) = (
            action.clone(),
            actor.clone(),
            text.clone(),
            applied.clone(),
            version.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            applied.set(AuditFilter {
                action: (*action).clone(),
                actor: (*actor).clone(),
                text: (*text).clone(),
            });
            version.set(*version + 1);
        })
    };
    let on_more = {
        let (ctx, applied, more, next) = (ctx.clone(), applied.clone(), more.clone(), next.clone());
        Callback::from(move |_: MouseEvent| {
            let (filter, more, next) = ((*applied).clone(), more.clone(), next.clone());
            let before = *next;
            run(
                &ctx,
                move |s| async move { admin::audit(&s, &filter, before).await },
                move |r| {
                    if let Ok(p) = r {
                        let mut all = (*more).clone();
                        all.extend(p.entries);
                        more.set(all);
                        next.set(p.next_before);
                    }
                },
            );
        })
    };
    let on_verify = {
        let (ctx, verdict) = (ctx.clone(), verdict.clone());
        Callback::from(move |_: MouseEvent| {
            let verdict = verdict.clone();
            run(
                &ctx,
                |s| async move { admin::verify_audit(&s).await },
                move |r| {
                    verdict.set(Some(match r {
                        Ok(Ok(n)) => Ok(format!("{} {n}", lang.a(A::ChainIntact))),
                        Ok(Err((seq, why))) => {
                            Err(format!("{} {seq}: {why}", lang.a(A::ChainBroken)))
                        }
                        Err(e) => Err(error_text(lang, &e)),
                    }));
                },
            );
        })
    };
    let on_export = {
        let (ctx, applied) = (ctx.clone(), applied.clone());
        Callback::from(move |_: MouseEvent| {
            let (Some(session), filter) = (ctx.core.session(), (*applied).clone()) else {
                return;
            };
            yew::platform::spawn_local(async move {
                let _ = admin::download_audit_csv(&session, &filter).await;
            });
        })
    };

    let (actions, rows) = match &*page {
        Load::Ready(p) => (
            p.actions.clone(),
            p.entries
                .iter()
                .chain(more.iter())
                .map(|e| row(lang, e))
                .collect::<Html>(),
        ),
        other => (Vec::new(), pending(&ctx, other)),
    };
    let mut options = vec![(String::new(), lang.a(A::AnyAction).to_string())];
    options.extend(actions.iter().map(|a| (a.clone(), action_label(lang, a))));
    html! {
        <div class="admin-section audit">
            <form class="row audit-filter" onsubmit={on_filter}>
                <label>{ lang.a(A::Action) }{ select("audit-action", &action, options, None, bind_select(&action)) }</label>
                <label>{ lang.a(A::Actor) }<input id="audit-actor" type="text" value={(*actor).clone()} oninput={bind(&actor)} /></label>
                <label>{ lang.a(A::Search) }<input id="audit-q" type="text" value={(*text).clone()} oninput={bind(&text)} /></label>
                <button type="submit" class="secondary">{ lang.a(A::Filter) }</button>
                <button type="button" class="secondary" id="audit-verify" onclick={on_verify}>{ lang.a(A::Verify) }</button>
                <button type="button" class="secondary" onclick={on_export}>{ lang.a(A::ExportCsv) }</button>
            </form>
            { super::outcome(&verdict) }
            <table class="admin-table" id="admin-audit">
                <tr>
                    <th>{ "#" }</th><th>{ lang.a(A::Time) }</th><th>{ lang.a(A::Actor) }</th>
                    <th>{ lang.a(A::Action) }</th><th>{ lang.a(A::Subject) }</th><th>{ lang.a(A::Detail) }</th>
                </tr>
                { rows }
            </table>
            if next.is_some() {
                <button type="button" class="secondary" onclick={on_more}>{ lang.a(A::More) }</button>
            }
        </div>
    }
}

fn row(lang: Lang, e: &AuditEntry) -> Html {
    html! {
        <tr key={e.seq} data-action={e.action.clone()}>
            <td>{ e.seq }</td>
            <td>{ format_time(Timestamp(e.at)) }</td>
            <td>{ &e.actor }</td>
            <td>{ action_label(lang, &e.action) }</td>
            <td>{ &e.subject }</td>
            <td>{ &e.detail }</td>
        </tr>
    }
}
