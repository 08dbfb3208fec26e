//! Configuration (配置): the district configuration the server runs with, the check of a new
//! file, pasted or chosen, listing every problem, and — once that very text was found valid —
//! applying it without a restart, after a confirmation (a second tap). The server validates
//! again and lists every problem if it refuses; the running configuration then stays.

use yew::prelude::*;

use super::{Load, outcome, pending, run, use_load};
use crate::components::widgets::{Ctx, bind};
use crate::infra::admin;
use crate::infra::files::read_chosen_file;
use crate::infra::i18n_admin::{A, error_text};

/// Properties of the configuration section.
#[derive(Properties, PartialEq)]
pub struct ConfigSectionProps {
    /// The app context.
    pub ctx: Ctx,
}

/// The configuration section.
#[component]
pub fn ConfigSection(props: &ConfigSectionProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    // Bumped after an apply: the running configuration is read again.
    let reloads = use_state(|| 0u32);
    let current = use_load(&ctx, *reloads, |s| async move { admin::config(&s).await });
    let text = use_state(String::new);
    let verdict = use_state(|| None::<Result<String, Vec<String>>>);
    // The text last found valid: only that text may be applied.
    let validated = use_state(|| None::<String>);
    let confirming = use_state(|| false);
    let applied = use_state(|| None::<Result<String, String>>);
    let on_file = {
        let text = text.clone();
        Callback::from(move |e: Event| {
            let Some(input) = e.target() else { return };
            let text = text.clone();
            yew::platform::spawn_local(async move {
                if let Ok(t) = read_chosen_file(input.into()).await {
                    text.set(t);
                }
            });
        })
    };
    let on_validate = {
        let (ctx, text, verdict, validated) = (
            ctx.clone(),
            text.clone(),
            verdict.clone(),
            validated.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let (t, verdict, validated) = ((*text).clone(), verdict.clone(), validated.clone());
            let checked = t.clone();
            run(
                &ctx,
                move |s| async move { admin::validate_config(&s, &t).await },
                move |r| {
                    let r = r.unwrap_or_else(|e| Err(vec![error_text(lang, &e)]));
                    validated.set(r.is_ok().then_some(checked));
                    verdict.set(Some(r));
                },
            );
        })
    };
    let on_apply = {
        let (ctx, text, verdict, validated, confirming, applied, reloads) = (
            ctx.clone(),
            text.clone(),
            verdict.clone(),
            validated.clone(),
            confirming.clone(),
            applied.clone(),
            reloads.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            confirming.set(false);
            let t = (*text).clone();
            let (verdict, validated, applied, reloads) = (
                verdict.clone(),
                validated.clone(),
                applied.clone(),
                reloads.clone(),
            );
            run(
                &ctx,
                move |s| async move { admin::apply_config(&s, &t).await },
                move |r| match r {
                    Ok(Ok(done)) => {
                        let mut line = format!("{} {}", lang.a(A::Applied), done.version);
                        if !done.restart_needed.is_empty() {
                            line = format!(
                                "{line}. {} {}",
                                lang.a(A::RestartNeeded),
                                done.restart_needed.join(", ")
                            );
                        }
                        applied.set(Some(Ok(line)));
                        validated.set(None);
                        verdict.set(None);
                        reloads.set(*reloads + 1);
                    }
                    Ok(Err(errors)) => {
                        validated.set(None);
                        applied.set(None);
                        verdict.set(Some(Err(errors)));
                    }
                    Err(e) => applied.set(Some(Err(error_text(lang, &e)))),
                },
            );
        })
    };
    let apply = if validated.as_deref() == Some(text.as_str()) {
        if *confirming {
            let cancel = {
                let confirming = confirming.clone();
                Callback::from(move |_: MouseEvent| confirming.set(false))
            };
            html! {
                <div class="apply-confirm" role="alertdialog">
                    <p class="warn">{ lang.a(A::ApplyConfirm) }</p>
                    <button type="button" id="config-apply-confirm" class="primary" onclick={on_apply}>{ lang.a(A::ConfirmApply) }</button>
                    <button type="button" onclick={cancel}>{ lang.a(A::Cancel) }</button>
                </div>
            }
        } else {
            let ask = {
                let confirming = confirming.clone();
                Callback::from(move |_: MouseEvent| confirming.set(true))
            };
            html! { <button type="button" id="config-apply" onclick={ask}>{ lang.a(A::ApplyConfig) }</button> }
        }
    } else {
        html! {}
    };
    let shown = match &*verdict {
        None => html! {},
        Some(Ok(version)) => {
            html! { <p class="ok" role="status">{ format!("{} {version}", lang.a(A::Valid)) }</p> }
        }
        Some(Err(errors)) => html! {
            <div role="alert">
                <p class="field-error">{ lang.a(A::Invalid) }</p>
                <ul class="config-errors">{ for errors.iter().map(|e| html! { <li>{ e }</li> }) }</ul>
            </div>
        },
    };
    let now = match &*current {
        Load::Ready((version, toml)) => html! {
            <>
                <p>{ format!("{}: {version}", lang.a(A::Version)) }</p>
                <pre class="config-toml">{ toml }</pre>
            </>
        },
        other => pending(&ctx, other),
    };
    html! {
        <div class="admin-section config two-columns">
            <section>
                <h2>{ lang.a(A::CurrentConfig) }</h2>
                { now }
            </section>
            <section>
                <h2>{ lang.a(A::ValidateConfig) }</h2>
                <input type="file" accept=".toml,.txt,text/plain" aria-label={lang.a(A::ChooseFile)} onchange={on_file} />
                <textarea id="config-text" rows="16" value={(*text).clone()} oninput={bind(&text)} />
                <button type="button" id="config-validate" class="primary" onclick={on_validate}>{ lang.a(A::Validate) }</button>
                { shown }
                { apply }
                { outcome(&applied) }
                <p class="muted">{ lang.a(A::ApplyHint) }</p>
            </section>
        </div>
    }
}
