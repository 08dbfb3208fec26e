//! Configuration (配置): the district configuration the server runs with, and the check of a
//! new file, pasted or chosen, listing every problem. Applying it is a restart (said on screen).

use yew::prelude::*;

use super::{Load, pending, run, use_load};
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
    let current = use_load(&ctx, 0, |s| async move { admin::config(&s).await });
    let text = use_state(String::new);
    let verdict = use_state(|| None::<Result<String, Vec<String>>>);
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
        let (ctx, text, verdict) = (ctx.clone(), text.clone(), verdict.clone());
        Callback::from(move |_: MouseEvent| {
            let (t, verdict) = ((*text).clone(), verdict.clone());
            run(
                &ctx,
                move |s| async move { admin::validate_config(&s, &t).await },
                move |r| {
                    verdict.set(Some(r.unwrap_or_else(|e| Err(vec![error_text(lang, &e)]))));
                },
            );
        })
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
                <button type="button" class="primary" onclick={on_validate}>{ lang.a(A::Validate) }</button>
                { shown }
                <p class="muted">{ lang.a(A::ApplyHint) }</p>
            </section>
        </div>
    }
}
