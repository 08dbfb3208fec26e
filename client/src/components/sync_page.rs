//! Sync, storage and account: what waits to upload, records the server refused (with the
//! reason and a link to fix each), whether the browser keeps storage persistently, this device,
//! the app's build, and logout — blocked, with the reason, while changes or photos are unsent (a
//! phone that cannot reach the server again hands them over to IT first: `handover`).

use yew::platform::spawn_local;
use yew::prelude::*;

use super::discard::discard_button;
use super::handover::HandoverCard;
use super::widgets::Ctx;
use crate::infra::i18n::{self, Key};
use crate::infra::platform;
use crate::infra::route::{self, Route};

/// Properties of [`SyncPage`].
#[derive(PartialEq, Properties)]
pub struct SyncPageProps {
    /// The app context (the device, the language, the change counter).
    pub ctx: Ctx,
}

/// The sync and account page.
#[component]
pub fn SyncPage(props: &SyncPageProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let core = ctx.core.clone();
    let status = core.status();
    let notices = core.notices();
    let session = core.session();
    // Why logout was refused (changes, photos not yet on the server), in words.
    let logout_blocked = use_state(|| None::<String>);

    let logout = {
        let core = core.clone();
        let logout_blocked = logout_blocked.clone();
        Callback::from(move |_: MouseEvent| {
            let core = core.clone();
            let logout_blocked = logout_blocked.clone();
            spawn_local(async move {
                match core.logout().await {
                    Ok(()) => route::go(&Route::Enterprises),
                    Err((n, photos)) => {
                        let mut why = String::new();
                        if n > 0 {
                            why += &lang.t(Key::LogoutBlocked).replace("{n}", &n.to_string());
                        }
                        if photos > 0 {
                            why += &lang
                                .t(Key::LogoutPhotosBlocked)
                                .replace("{n}", &photos.to_string());
                        }
                        logout_blocked.set(Some(why));
                    }
                }
            });
        })
    };
    let persisted = match notices.persisted {
        Some(true) => lang.t(Key::PersistGranted),
        Some(false) => lang.t(Key::PersistDenied),
        None => lang.t(Key::PersistUnknown),
    };
    let snapshot = core.snapshot();

    html! {
        <main key="sync-page" class="screen sync-page">
            <h1>{ lang.t(Key::SyncAndAccount) }</h1>
            <section class="card">
                <h2>{ lang.t(Key::SyncStatus) }</h2>
                <p>{ if status.online { lang.t(Key::Online) } else { lang.t(Key::Offline) } }</p>
                <p>{ lang.t(Key::WaitingCount).replace("{n}", &status.waiting.to_string()) }</p>
                <p>{ match status.last_success {
                    Some(t) => format!("{} {}", lang.t(Key::LastSync), platform::format_time(t)),
                    None => lang.t(Key::NeverSynced).to_string(),
                } }</p>
                if let Some(skew) = status.clock_skew_ms.filter(|s| s.abs() > 5 * 60 * 1000) {
                    <p class="warn">{ lang.t(Key::ClockSkew).replace("{m}", &(skew / 60_000).to_string()) }</p>
                }
            </section>

            <section class="card refused-list">
                <h2>{ lang.t(Key::RefusedRecords) }</h2>
                if status.refused.is_empty() { <p class="muted">{ lang.t(Key::NoneRefused) }</p> }
                <ul>
                    { for status.refused.iter().map(|(doc, refusal)| html! {
                        <li class="refused-item">
                            <p><strong>{ i18n::doc_kind(lang, doc.kind()) }</strong>{ " · " }
                                <span class="refusal-reason">{ i18n::refusal(lang, refusal) }</span></p>
                            <a class="button secondary" href={Route::of_doc(doc).hash()}>{ lang.t(Key::OpenAndFix) }</a>
                            { discard_button(&ctx, doc) }
                        </li>
                    }) }
                </ul>
                { for snapshot.unreadable.iter().map(|(doc, e)| html! {
                    <p class="warn">{ lang.t(Key::Unreadable) }{ doc.to_string() }{ ": " }{ e.clone() }</p>
                }) }
            </section>

            <section class="card">
                <h2>{ lang.t(Key::Storage) }</h2>
                <p class="persisted">{ persisted }</p>
                if let Some((usage, quota)) = notices.estimate {
                    <p>{ lang.t(Key::StorageUse)
                        .replace("{used}", &format!("{:.1}", usage as f64 / 1e6))
                        .replace("{quota}", &format!("{:.0}", quota as f64 / 1e6)) }</p>
                }
            </section>

            if core.unsynced() > 0 { <HandoverCard ctx={ctx.clone()} /> }

            <section class="card">
                <h2>{ lang.t(Key::Account) }</h2>
                if let Some(s) = &session {
                    <p>{ s.user.name.clone() }{ " · " }{ lang.pick(s.user.role.zh(), s.user.role.en()) }</p>
                }
                <p class="muted small">{ lang.t(Key::DeviceLabel) }{ core.device().to_string() }</p>
                <p class="muted small build-id">{ lang.t(Key::Build) }{ platform::build_id() }</p>
                if let Some(why) = &*logout_blocked {
                    <p class="field-error logout-blocked" role="alert">{ why.clone() }</p>
                }
                <button type="button" class="danger" onclick={logout}>{ lang.t(Key::LogOut) }</button>
            </section>
        </main>
    }
}
