//! A status line saying whether the server answers `/healthz`: checked on mount, every
//! [`RECHECK`] while shown, and when the person taps "check again".

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use yew::platform::spawn_local;
use yew::platform::time::sleep;
use yew::prelude::*;

use crate::infra::api;
use crate::infra::i18n::{Key, Lang};

/// How often the status is checked again while the line is shown.
const RECHECK: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Checking,
    Online { version: String },
    Offline,
}

/// Properties of [`ServerStatus`].
#[derive(Debug, PartialEq, Properties)]
pub struct ServerStatusProps {
    /// The language shown now.
    pub lang: Lang,
}

/// The status line.
#[component]
pub fn ServerStatus(props: &ServerStatusProps) -> Html {
    let status = use_state(|| Status::Checking);

    // `true` shows "checking…" while the request runs; background re-checks keep the last answer
    // on screen instead, so the line does not flicker.
    let check = {
        let status = status.clone();
        Callback::from(move |show_checking: bool| {
            if show_checking {
                status.set(Status::Checking);
            }
            let status = status.clone();
            spawn_local(async move {
                status.set(match api::health().await {
                    Ok(health) => Status::Online {
                        version: health.version,
                    },
                    Err(_) => Status::Offline,
                });
            });
        })
    };

    {
        let check = check.clone();
        use_effect_with((), move |()| {
            let shown = Rc::new(Cell::new(true));
            let still_shown = Rc::clone(&shown);
            spawn_local(async move {
                while still_shown.get() {
                    check.emit(false);
                    sleep(RECHECK).await;
                }
            });
            move || shown.set(false)
        });
    }

    let lang = props.lang;
    let (class, text) = match &*status {
        Status::Checking => ("status checking", lang.t(Key::StatusChecking).to_owned()),
        Status::Online { version } => (
            "status online",
            format!("{} · v{version}", lang.t(Key::StatusOnline)),
        ),
        Status::Offline => ("status offline", lang.t(Key::StatusOffline).to_owned()),
    };
    let onclick = check.reform(|_: MouseEvent| true);

    html! {
        <section class="server-status" aria-live="polite">
            <p class={class}>
                <span class="dot" aria-hidden="true"></span>
                { lang.t(Key::ServerLabel) }
                <strong>{ text }</strong>
            </p>
            <button type="button" class="secondary" {onclick}>
                { lang.t(Key::CheckAgain) }
            </button>
        </section>
    }
}
