//! The top bar (product name, who is logged in, settings, language switch) and the sync status
//! bar shown on every screen: online, offline or "server unreachable, retrying in N s", changes
//! waiting, last successful sync, photos uploading ("照片 3/5 上传中"), refused records with a
//! way to open them, and the "sync now" button.

use yew::prelude::*;

use super::widgets::Ctx;
use crate::infra::i18n::{Key, Lang};
use crate::infra::route::Route;
use crate::infra::{page, photos, platform};

// Plain functions rather than components: each component type is its own copy of yew's
// component machinery in the wasm, and these have no state of their own. The app calls them
// on every render.

/// The top bar in `lang`, with the logged-in person's name (`user`); `on_switch_lang` is
/// called when the person taps the language switch.
pub fn header(lang: Lang, on_switch_lang: &Callback<()>, user: Option<&str>) -> Html {
    let other = lang.other();
    let onclick = on_switch_lang.reform(|_: MouseEvent| ());
    html! {
        <header class="app-header">
            <a class="brand" href={Route::Enterprises.hash()}>{ shared::PRODUCT_NAME }</a>
            <span class="header-actions">
                if let Some(user) = user {
                    <a class="header-link" href={Route::Sync.hash()} aria-label={lang.t(Key::SettingsLabel)}>
                        { user.to_string() }
                    </a>
                }
                <button
                    type="button"
                    class="lang-switch"
                    lang={other.tag()}
                    aria-label={lang.t(Key::SwitchLanguage)}
                    {onclick}
                >
                    { other.native_name() }
                </button>
            </span>
        </header>
    }
}

/// The sync status bar.
pub fn sync_bar(ctx: &Ctx) -> Html {
    let lang = ctx.lang;
    let status = ctx.core.status();
    let notices = ctx.core.notices();
    let sync_now = {
        let core = ctx.core.clone();
        Callback::from(move |_: MouseEvent| core.sync_now())
    };
    let (class, state) = match status.retry_at {
        _ if status.syncing => ("sync-state syncing", lang.t(Key::Syncing).to_string()),
        // The network is up, the server is not: say so, and when the next try goes.
        Some(at) if status.unreachable => {
            let seconds = ((at.0 - platform::now().0).max(0) + 999) / 1_000;
            (
                "sync-state unreachable",
                lang.t(Key::ServerUnreachable)
                    .replace("{n}", &seconds.to_string()),
            )
        }
        _ if status.online => ("sync-state online", lang.t(Key::Online).to_string()),
        _ => ("sync-state offline", lang.t(Key::Offline).to_string()),
    };
    let waiting = lang
        .t(Key::WaitingCount)
        .replace("{n}", &status.waiting.to_string());
    let uploading = photos::progress();
    let last = match status.last_success {
        Some(t) => format!("{} {}", lang.t(Key::LastSync), platform::format_time(t)),
        None => lang.t(Key::NeverSynced).to_string(),
    };
    html! {
        <section class="sync-bar" aria-live="polite" data-waiting={status.waiting.to_string()}
            data-refused={status.refused.len().to_string()} data-online={status.online.to_string()}
            data-unreachable={status.unreachable.to_string()}>
            <div class="sync-line">
                <span ~className={class}><span class="dot" aria-hidden="true"></span>{ state }</span>
                <span class="sync-waiting">{ waiting }</span>
                <button type="button" class="sync-now secondary" onclick={sync_now} disabled={status.syncing}>
                    { lang.t(Key::SyncNow) }
                </button>
            </div>
            <div class="sync-line small">
                <span class="sync-last">{ last }</span>
                if !uploading.is_empty() {
                    <span class="sync-photos">{ lang.t(Key::PhotosUploading).replace("{n}", &uploading) }</span>
                }
            </div>
            if let Some(text) = page::current_flash() {
                <p class="flash" role="status">{ text }</p>
            }
            if !status.refused.is_empty() {
                <a class="sync-refused" href={Route::Sync.hash()}>
                    { lang.t(Key::RefusedCount).replace("{n}", &status.refused.len().to_string()) }
                </a>
            }
            // An account problem has its own dialog; the engine's stop message would repeat it.
            if let Some(error) = status.error.as_ref().filter(|_| notices.auth.is_none()) {
                <p class="sync-error" role="alert">{ lang.t(Key::SyncStopped) }{ error.clone() }</p>
            }
            if let Some(error) = &notices.storage_error {
                <p class="sync-error" role="alert">{ lang.t(Key::StorageError) }{ error.clone() }</p>
            }
        </section>
    }
}
