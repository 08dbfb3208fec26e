//! The root component: opens the device's storage, owns the language and the current screen,
//! and lays out the header, the sync status bar, the screen and any blocking notice. The
//! leader and handler screens are routed only in the full bundle (see `crate::bundle`).

use std::rc::Rc;

use shared::model::Role;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::Closure;
use yew::platform::spawn_local;
use yew::prelude::*;

#[cfg(feature = "leader")]
use super::admin::AdminPage;
#[cfg(feature = "leader")]
use super::bulletins::{BulletinList, BulletinPage};
#[cfg(feature = "leader")]
use super::dashboard::Dashboard;
use super::enterprise::enterprise_page;
use super::enterprises::enterprise_list;
use super::header::{header, sync_bar};
use super::history::history_page;
#[cfg(feature = "leader")]
use super::inbox::Inbox;
use super::intake::IntakePage;
use super::login::Login;
use super::monitoring::MonitoringPage;
use super::nav::{home_of, nav};
use super::problem::ProblemPage;
#[cfg(feature = "leader")]
use super::problem_list::{FlagBoard, ProblemList};
use super::sync_page::SyncPage;
use super::visit::VisitPage;
use super::visit_form::NewVisit;
#[cfg(feature = "leader")]
use super::visit_list::VisitList;
use super::widgets::{Ctx, back};
#[cfg(feature = "leader")]
use super::{reminders::Reminders, supervision_list::SupervisionList};
use crate::bundle;
use crate::infra::i18n::Key;
use crate::infra::route::{self, Route};
use crate::infra::{page, platform, prefs};
use crate::sync::{AuthTrouble, Core};

enum Boot {
    Opening,
    Ready(Rc<Core>),
    Failed(String),
}

/// The whole app.
#[component]
pub fn App() -> Html {
    let lang = use_state(prefs::load_lang);
    let boot = use_state(|| Boot::Opening);
    let route = use_state(route::current);
    let update = use_force_update();
    let update_ready = use_state(|| false);
    // The enterprise list's search text (the list is a plain function of the app's state).
    let search = use_state(String::new);

    use_effect_with(*lang, |lang| page::apply_lang(*lang));

    // The session's role once storage is open (`None` before): keeps boot.js's choice of bundle
    // in step with it, and moves a leader or handler from the officer bundle to the full one.
    let role = match &*boot {
        Boot::Ready(core) => Some(core.session().map(|s| s.user.role)),
        Boot::Opening | Boot::Failed(_) => None,
    };
    // Set when the switch cannot happen (storage blocked or full): the officer bundle then
    // shows its own screens, and says so on those it lacks.
    let switch_failed = use_state(|| false);
    {
        let switch_failed = switch_failed.clone();
        use_effect_with(role, move |role| {
            if let Some(role) = *role {
                if bundle::follow(role) {
                    platform::reload();
                } else if bundle::should_switch(role) {
                    switch_failed.set(true);
                }
            }
        });
    }

    {
        let boot = boot.clone();
        let route = route.clone();
        let update = update.clone();
        let update_ready = update_ready.clone();
        use_effect_with((), move |()| {
            route::on_change(move |r| route.set(r));
            if let Some(window) = web_sys::window() {
                // boot.js sets the flag too, in case the new version took over before this ran.
                if js_sys::Reflect::get(&window, &"__lianxinUpdate".into())
                    .ok()
                    .and_then(|v| v.as_bool())
                    == Some(true)
                {
                    update_ready.set(true);
                }
                let ready = update_ready.clone();
                let closure = Closure::<dyn Fn()>::new(move || ready.set(true));
                let _ = window.add_event_listener_with_callback(
                    "lianxin-update",
                    closure.as_ref().unchecked_ref(),
                );
                closure.forget();
            }
            spawn_local(async move {
                match Core::open().await {
                    Ok(core) => {
                        core.set_listener(Callback::from(move |()| update.force_update()));
                        boot.set(Boot::Ready(core));
                    }
                    Err(e) => boot.set(Boot::Failed(e.to_string())),
                }
            });
        });
    }

    let on_switch_lang = {
        let lang = lang.clone();
        Callback::from(move |()| {
            let next = lang.other();
            prefs::save_lang(next);
            lang.set(next);
        })
    };

    let lang = *lang;
    let core = match &*boot {
        Boot::Opening => {
            return html! {
                <div class="app">
                    { header(lang, &on_switch_lang, None) }
                    <p class="loading">{ lang.t(Key::Opening) }</p>
                </div>
            };
        }
        Boot::Failed(error) => {
            return html! {
                <div class="app">
                    { header(lang, &on_switch_lang, None) }
                    <div class="notice blocking" role="alert">
                        <h2>{ lang.t(Key::StorageUnavailableTitle) }</h2>
                        <p>{ lang.t(Key::StorageUnavailableBody) }</p>
                        <p class="muted">{ error }</p>
                    </div>
                </div>
            };
        }
        Boot::Ready(core) => core.clone(),
    };

    let ctx = Ctx {
        core: core.clone(),
        lang,
        generation: core.generation(),
    };
    let session = core.session();
    let notices = core.notices();
    let user = session.as_ref().map(|s| s.user.name.as_str());
    // The app icon's badge: the officer's to-do (待办) on every change, none for anyone else.
    let officer = session
        .as_ref()
        .is_some_and(|s| s.user.role == Role::Officer);
    platform::set_badge(if officer { core.todo().len() } else { 0 });

    let switching = bundle::should_switch(session.as_ref().map(|s| s.user.role)) && !*switch_failed;
    let screen = if switching {
        // The effect above is reloading into the full bundle.
        html! { <p class="loading">{ lang.t(Key::Opening) }</p> }
    } else if session.is_none() || notices.auth == Some(AuthTrouble::Expired) {
        html! { <Login ctx={ctx.clone()} /> }
    } else {
        let role = session.as_ref().map(|s| s.user.role);
        let home = role.map(home_of).unwrap_or(Route::EnterpriseList);
        let shown = if *route == Route::Enterprises {
            &home
        } else {
            &*route
        };
        // `size-core` (measurement only, never shipped): every route shows the enterprise list,
        // so LTO leaves the other screens out and the build shows what they cost.
        #[cfg(feature = "size-core")]
        let screen = {
            let _ = shown;
            enterprise_list(&ctx, &search)
        };
        #[cfg(not(feature = "size-core"))]
        let screen = match shown {
            Route::Enterprises | Route::EnterpriseList => enterprise_list(&ctx, &search),
            Route::Enterprise(id) => enterprise_page(&ctx, *id),
            Route::NewVisit(id) => html! { <NewVisit ctx={ctx.clone()} enterprise={*id} /> },
            Route::Visit(id) => html! { <VisitPage ctx={ctx.clone()} id={*id} /> },
            Route::Problem(id) => html! { <ProblemPage ctx={ctx.clone()} id={*id} /> },
            Route::Intake(enterprise) => {
                html! { <IntakePage ctx={ctx.clone()} enterprise={*enterprise} /> }
            }
            Route::History(doc) => history_page(&ctx, doc),
            Route::Sync => html! { <SyncPage ctx={ctx.clone()} /> },
            #[cfg(feature = "leader")]
            Route::Dashboard => html! { <Dashboard ctx={ctx.clone()} /> },
            #[cfg(feature = "leader")]
            Route::Problems(query) => {
                html! { <ProblemList ctx={ctx.clone()} query={query.clone()} /> }
            }
            #[cfg(feature = "leader")]
            Route::Flags => html! { <FlagBoard ctx={ctx.clone()} /> },
            #[cfg(feature = "leader")]
            Route::Visits(query) => html! { <VisitList ctx={ctx.clone()} query={query.clone()} /> },
            #[cfg(feature = "leader")]
            Route::Inbox => html! { <Inbox ctx={ctx.clone()} /> },
            #[cfg(feature = "leader")]
            Route::Bulletins => html! { <BulletinList ctx={ctx.clone()} /> },
            #[cfg(feature = "leader")]
            Route::Bulletin(id) => html! { <BulletinPage ctx={ctx.clone()} id={id.clone()} /> },
            #[cfg(feature = "leader")]
            Route::Supervision => html! { <SupervisionList ctx={ctx.clone()} /> },
            #[cfg(feature = "leader")]
            Route::Admin(section) => {
                html! { <AdminPage ctx={ctx.clone()} section={section.clone()} /> }
            }
            #[cfg(not(feature = "leader"))]
            Route::Dashboard
            | Route::Admin(_)
            | Route::Problems(_)
            | Route::Flags
            | Route::Visits(_)
            | Route::Inbox
            | Route::Bulletins
            | Route::Bulletin(_)
            | Route::Supervision => not_in_this_bundle(lang),
            Route::Monitoring(id) => {
                html! { <MonitoringPage ctx={ctx.clone()} enterprise={*id} /> }
            }
            Route::NotFound(_) => html! {
                <main key="not-found" class="screen">{ back(lang, &Route::Enterprises) }<p class="empty not-found">{ lang.t(Key::PageNotFound) }</p></main>
            },
        };
        // The full bundle's reminders (提醒) go right under the navigation, ahead of the
        // screen; the officer bundle's page stays the same code (its size budget).
        #[cfg(feature = "leader")]
        let screen = html! { <><Reminders ctx={ctx.clone()} />{ screen }</> };
        html! { <>{ sync_bar(&ctx) }{ nav(&ctx) }{ screen }</> }
    };

    let quota = notices.quota_full.as_ref().map(|detail| {
        let dismiss = {
            let core = core.clone();
            Callback::from(move |_: MouseEvent| core.dismiss_quota())
        };
        html! {
            <div class="overlay" role="alertdialog" aria-modal="true">
                <div class="notice blocking">
                    <h2>{ lang.t(Key::QuotaTitle) }</h2>
                    <p>{ lang.t(Key::QuotaBody) }</p>
                    <p class="muted">{ detail }</p>
                    <button type="button" class="primary" onclick={dismiss}>{ lang.t(Key::QuotaUnderstood) }</button>
                </div>
            </div>
        }
    });

    let update_banner = (*update_ready).then(|| {
        html! {
            <div class="update-banner" role="status">
                { lang.t(Key::UpdateReady) }
                <button type="button" class="secondary" onclick={Callback::from(|_: MouseEvent| platform::reload())}>
                    { lang.t(Key::Reload) }
                </button>
            </div>
        }
    });

    html! {
        <div class="app">
            { header(lang, &on_switch_lang, user) }
            { for update_banner }
            { screen }
            { for quota }
        </div>
    }
}

/// A leader's or handler's screen in the officer bundle: shown when `boot.js` could not load
/// the full bundle (offline before it was ever cached), or when an officer opens such a link.
#[cfg(not(feature = "leader"))]
fn not_in_this_bundle(lang: crate::infra::i18n::Lang) -> Html {
    html! {
        <div class="notice" role="status">
            <p>{ lang.pick(
                "此页面属于领导和部门版应用，需要联网加载一次。",
                "This screen belongs to the leaders' and departments' app, which needs the network once to load.",
            ) }</p>
            <button type="button" class="secondary" onclick={Callback::from(|_: MouseEvent| platform::reload())}>
                { lang.t(Key::Reload) }
            </button>
        </div>
    }
}
