//! Backups (备份): the schedule from the configuration, the verified backups, a backup taken
//! now, and how to restore one (a command run with the server stopped).

use shared::model::Timestamp;
use yew::prelude::*;

use super::{Load, outcome, pending, run, use_load};
use crate::components::widgets::Ctx;
use crate::infra::admin;
use crate::infra::i18n_admin::{A, error_text};
use crate::infra::platform::format_time;

/// Properties of the backups section.
#[derive(Properties, PartialEq)]
pub struct BackupsSectionProps {
    /// The app context.
    pub ctx: Ctx,
}

/// The backups section.
#[component]
pub fn BackupsSection(props: &BackupsSectionProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let version = use_state(|| 0u32);
    let list = use_load(&ctx, *version, |s| async move { admin::backups(&s).await });
    let message = use_state(|| None::<Result<String, String>>);
    let busy = use_state(|| false);
    let run_now = {
        let (ctx, version, message, busy) =
            (ctx.clone(), version.clone(), message.clone(), busy.clone());
        Callback::from(move |_: MouseEvent| {
            busy.set(true);
            let (version, message, busy) = (version.clone(), message.clone(), busy.clone());
            run(
                &ctx,
                |s| async move { admin::run_backup(&s).await },
                move |r| {
                    busy.set(false);
                    message.set(Some(
                        r.map(|()| lang.a(A::Done).to_string())
                            .map_err(|e| error_text(lang, &e)),
                    ));
                    version.set(*version + 1);
                },
            );
        })
    };
    let body = match &*list {
        Load::Ready(b) => html! {
            <>
                <h2>{ lang.a(A::Schedule) }</h2>
                if let Some(dir) = &b.directory {
                    <p>{ format!("{}: {} · {}: {} · {}", lang.a(A::EveryHours), b.every_hours, lang.a(A::Keep), b.keep, dir) }</p>
                } else {
                    <p class="muted">{ lang.a(A::BackupsOff) }</p>
                }
                <button type="button" class="primary" disabled={*busy || b.running || b.directory.is_none()} onclick={run_now}>
                    { if *busy || b.running { lang.a(A::Running) } else { lang.a(A::RunNow) } }
                </button>
                { outcome(&message) }
                <table class="admin-table" id="admin-backups">
                    <tr><th>{ lang.a(A::TakenAt) }</th><th>{ lang.a(A::Name) }</th><th>{ lang.a(A::Size) }</th></tr>
                    { for b.backups.iter().rev().map(|f| html! {
                        <tr key={f.name.clone()}>
                            <td>{ format_time(Timestamp(f.taken_at)) }</td>
                            <td><code>{ &f.path }</code></td>
                            <td>{ format!("{:.1} MB", f.bytes as f64 / 1_048_576.0) }</td>
                        </tr>
                    }) }
                </table>
            </>
        },
        other => pending(&ctx, other),
    };
    html! {
        <div class="admin-section backups">
            { body }
            <h2>{ lang.a(A::RestoreTitle) }</h2>
            <p>{ lang.a(A::RestoreSteps) }</p>
        </div>
    }
}
