//! "Hand over to IT" (交接给信息科) on the sync page, while records wait: for a phone that will
//! never reach the server again. One tap saves the signed handover file of every record the
//! server has not taken; once it is saved, "log out after handover" ends the session (the
//! records leave the phone; IT imports the file). An edit after the export refuses that
//! logout until the file is exported again.

use yew::platform::spawn_local;
use yew::prelude::*;

use super::widgets::Ctx;
use crate::infra::platform;
use crate::infra::route::{self, Route};

/// Properties of [`HandoverCard`].
#[derive(PartialEq, Properties)]
pub struct HandoverCardProps {
    /// The app context.
    pub ctx: Ctx,
}

/// The handover card: export, then log out.
#[component]
pub fn HandoverCard(props: &HandoverCardProps) -> Html {
    let ctx = &props.ctx;
    let lang = ctx.lang;
    // What the last export saved (true: records and file name, in words), or why it failed;
    // the same state type as other screens' result lines (each type costs its own code).
    let exported = use_state(|| None::<(bool, String)>);
    let refused = use_state(|| None::<(bool, String)>);
    let export = {
        let (core, exported) = (ctx.core.clone(), exported.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(file) = core.export_handover() else {
                return;
            };
            let exported = exported.clone();
            spawn_local(async move {
                let saved =
                    platform::save_file(&file.bytes, &file.filename, "application/octet-stream");
                // The link is clicked before the URL's release is awaited: say it at once.
                let done = lang.pick("已导出 {n} 条记录：", "Exported {n} records: ");
                let done = done.replace("{n}", &file.records.to_string()) + &file.filename;
                exported.set(Some((true, done)));
                if let Err(e) = saved.await {
                    exported.set(Some((false, e)));
                }
            });
        })
    };
    let log_out = {
        let (core, refused) = (ctx.core.clone(), refused.clone());
        Callback::from(move |_: MouseEvent| {
            let (core, refused) = (core.clone(), refused.clone());
            spawn_local(async move {
                match core.log_out_handed_over().await {
                    Ok(()) => route::go(&Route::Enterprises),
                    Err(n) => refused.set(Some((false, lang.pick(
                        "导出后又有修改：请重新导出（{n} 条记录未上传）。",
                        "Records changed after the export: export again ({n} records not uploaded).").replace("{n}", &n.to_string())))),
                }
            });
        })
    };
    html! {
        <section class="card handover">
            <h2>{ lang.pick("交接给信息科", "Hand over to IT") }</h2>
            <p class="muted small">{ lang.pick(
                "手机再也连不上服务器时：导出未上传的记录（含被退回的），把文件交给信息科导入，然后退出登录。",
                "If this phone will never reach the server again: export the records not yet uploaded (refused ones included), give the file to IT to import, then log out.") }</p>
            <button type="button" class="secondary export-handover" onclick={export}>{ lang.pick("导出交接文件", "Export handover file") }</button>
            { match &*exported {
                Some((true, done)) => html! { <>
                    <p class="handover-done" role="status">{ done.clone() }</p>
                    <button type="button" class="danger logout-handed-over" onclick={log_out}>{ lang.pick("交接后退出登录", "Log out after handover") }</button>
                </> },
                Some((false, e)) => html! { <p class="field-error" role="alert">{ e.clone() }</p> },
                None => html! {},
            } }
            if let Some((_, why)) = &*refused {
                <p class="field-error" role="alert">{ why.clone() }</p>
            }
        </section>
    }
}
