//! The login screen. A device that logged in once works offline without logging in again; this
//! screen also comes back when the session expired, keeping every local record, and after a
//! revoked device wiped itself, listing the records whose unsynced changes were lost.

use yew::platform::spawn_local;
use yew::prelude::*;

use super::widgets::{Ctx, bind};
use crate::infra::api::ApiError;
use crate::infra::i18n::{self, Key};

/// Properties of [`Login`].
#[derive(PartialEq, Properties)]
pub struct LoginProps {
    /// The app context (the device, the language, the change counter).
    pub ctx: Ctx,
}

/// The login screen.
#[component]
pub fn Login(props: &LoginProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let previous = ctx.core.session();
    let login = use_state(|| {
        previous
            .as_ref()
            .map(|s| s.login.clone())
            .unwrap_or_default()
    });
    let password = use_state(String::new);
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);

    let onsubmit = {
        let core = ctx.core.clone();
        let (login, password, error, busy) =
            (login.clone(), password.clone(), error.clone(), busy.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if login.trim().is_empty() || password.is_empty() {
                error.set(Some(lang.t(Key::LoginMissing).into()));
                return;
            }
            busy.set(true);
            error.set(None);
            let core = core.clone();
            let (login, password, error, busy) =
                (login.clone(), password.clone(), error.clone(), busy.clone());
            spawn_local(async move {
                let result = core.login(&login, &password).await;
                busy.set(false);
                if let Err(e) = result {
                    error.set(Some(
                        lang.t(match e {
                            ApiError::BadCredentials => Key::LoginBadCredentials,
                            ApiError::RateLimited => Key::LoginRateLimited,
                            ApiError::Unreachable => Key::LoginOffline,
                            ApiError::DeviceRevoked => Key::LoginRevoked,
                            ApiError::Status(409, _) => Key::LoginOtherUserUnsynced,
                            _ => Key::LoginFailed,
                        })
                        .into(),
                    ));
                } else {
                    password.set(String::new());
                }
            });
        })
    };

    let wiped = ctx.core.notices().wiped.map(|lost| {
        let core = ctx.core.clone();
        let dismiss = Callback::from(move |_: MouseEvent| core.dismiss_wiped());
        html! {
            <section class="notice blocking wiped" role="alert">
                <h2>{ lang.t(Key::RevokedTitle) }</h2>
                <p>{ lang.t(Key::RevokedBody) }</p>
                if !lost.is_empty() {
                    <p class="warn"><strong>{ lang.t(Key::RevokedUnsynced).replace("{n}", &lost.len().to_string()) }</strong></p>
                    <ul class="lost">
                        { for lost.iter().map(|(doc, name)| html! {
                            <li>{ i18n::doc_kind(lang, doc.kind()) }{ " · " }{ name.clone() }</li>
                        }) }
                    </ul>
                }
                <button type="button" class="secondary" onclick={dismiss}>{ lang.t(Key::RevokedUnderstood) }</button>
            </section>
        }
    });

    html! {
        <main key="login" class="screen login">
            { for wiped }
            <h1>{ lang.t(Key::LoginTitle) }</h1>
            if previous.is_some() {
                <p class="notice">{ lang.t(Key::SessionExpired) }</p>
            } else {
                <p class="muted">{ lang.t(Key::LoginIntro) }</p>
            }
            <form class="form" {onsubmit}>
                <label for="login">{ lang.t(Key::LoginName) }</label>
                <input id="login" name="login" type="text" autocomplete="username" autocapitalize="off"
                    value={(*login).clone()} oninput={bind(&login)} />
                <label for="password">{ lang.t(Key::Password) }</label>
                <input id="password" name="password" type="password" autocomplete="current-password"
                    value={(*password).clone()} oninput={bind(&password)} />
                if let Some(m) = &*error {
                    <p class="field-error" role="alert">{ m.clone() }</p>
                }
                <button type="submit" class="primary" disabled={*busy}>
                    { if *busy { lang.t(Key::LoggingIn) } else { lang.t(Key::LogIn) } }
                </button>
            </form>
            <p class="muted small">{ lang.t(Key::DeviceLabel) }{ ctx.core.device().to_string() }</p>
        </main>
    }
}
