//! Devices (设备): every device with its user, when it was last seen and last synchronised and
//! how many records it last reported unsynced; revoking one (a lost phone).

use shared::model::Timestamp;
use yew::prelude::*;

use super::{Load, outcome, pending, run, use_load};
use crate::components::widgets::Ctx;
use crate::infra::admin::{self, Device};
use crate::infra::i18n::Lang;
use crate::infra::i18n_admin::{A, error_text};
use crate::infra::platform::format_time;

/// Properties of the devices section.
#[derive(Properties, PartialEq)]
pub struct DevicesSectionProps {
    /// The app context.
    pub ctx: Ctx,
}

/// The devices section.
#[component]
pub fn DevicesSection(props: &DevicesSectionProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let version = use_state(|| 0u32);
    let devices = use_load(&ctx, *version, |s| async move { admin::devices(&s).await });
    let message = use_state(|| None::<Result<String, String>>);
    let revoke = {
        let (ctx, version, message) = (ctx.clone(), version.clone(), message.clone());
        move |id: String| {
            let (ctx, version, message) = (ctx.clone(), version.clone(), message.clone());
            Callback::from(move |_: MouseEvent| {
                let (version, message, id) = (version.clone(), message.clone(), id.clone());
                run(
                    &ctx,
                    move |s| async move { admin::revoke(&s, &id).await },
                    move |r| {
                        message.set(Some(
                            r.map(|()| lang.a(A::Revoked).to_string())
                                .map_err(|e| error_text(lang, &e)),
                        ));
                        version.set(*version + 1);
                    },
                );
            })
        }
    };
    let rows = match &*devices {
        Load::Ready(list) => list
            .iter()
            .map(|d| row(lang, d, revoke(d.id.clone())))
            .collect::<Html>(),
        other => pending(&ctx, other),
    };
    html! {
        <div class="admin-section devices">
            { outcome(&message) }
            <table class="admin-table" id="admin-devices">
                <tr>
                    <th>{ lang.a(A::Device) }</th><th>{ lang.a(A::User) }</th><th>{ lang.a(A::LastSeen) }</th>
                    <th>{ lang.a(A::LastSync) }</th><th>{ lang.a(A::Unsynced) }</th><th>{ lang.a(A::Status) }</th><th></th>
                </tr>
                { rows }
            </table>
        </div>
    }
}

fn row(lang: Lang, d: &Device, on_revoke: Callback<MouseEvent>) -> Html {
    let when = |t: Option<i64>| {
        t.map_or_else(
            || lang.a(A::Never).to_string(),
            |t| format_time(Timestamp(t)),
        )
    };
    let unsynced = d.unsent.map_or_else(|| "—".to_string(), |n| n.to_string());
    html! {
        <tr key={d.id.clone()} class={classes!(d.revoked.then_some("revoked"))}>
            <td>{ &d.name }<br /><small class="muted">{ &d.id }</small></td>
            <td>{ &d.user }</td>
            <td>{ when(Some(d.last_seen)) }</td>
            <td>{ when(d.last_sync) }</td>
            <td class={classes!(d.unsent.is_some_and(|n| n > 0).then_some("warn"))}>{ unsynced }</td>
            <td>{ if d.revoked { lang.a(A::Revoked) } else { lang.a(A::Active) } }</td>
            <td>
                if !d.revoked {
                    <button type="button" class="secondary" onclick={on_revoke}>{ lang.a(A::Revoke) }</button>
                }
            </td>
        </tr>
    }
}
