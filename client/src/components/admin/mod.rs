//! The administrator's screens (系统管理, full bundle only), for a desktop browser: one tab
//! per section — users, devices, org units, imports, enterprises, assignments, backups,
//! configuration, audit log —
//! addressed as `#/admin/<section>`. Every call goes through `crate::infra::admin`.

mod assignments;
mod audit;
mod backups;
mod config;
mod devices;
mod enterprise_form;
mod enterprises;
mod import_box;
mod org_units;
mod users;

use std::future::Future;

use yew::platform::spawn_local;
use yew::prelude::*;

use super::widgets::Ctx;
use crate::infra::admin::AdminError;
use crate::infra::api::Session;
use crate::infra::i18n_admin::{A, error_text};
use crate::infra::route::Route;

/// A section of the admin screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Users,
    Devices,
    OrgUnits,
    Imports,
    Enterprises,
    Assignments,
    Backups,
    Config,
    Audit,
}

impl Section {
    /// Every section, in the tabs' order.
    pub const ALL: [Section; 9] = [
        Section::Users,
        Section::Devices,
        Section::OrgUnits,
        Section::Imports,
        Section::Enterprises,
        Section::Assignments,
        Section::Backups,
        Section::Config,
        Section::Audit,
    ];

    /// Its name in the address (`#/admin/<code>`).
    pub fn code(self) -> &'static str {
        match self {
            Section::Users => "users",
            Section::Devices => "devices",
            Section::OrgUnits => "org-units",
            Section::Imports => "imports",
            Section::Enterprises => "enterprises",
            Section::Assignments => "assignments",
            Section::Backups => "backups",
            Section::Config => "config",
            Section::Audit => "audit",
        }
    }

    fn label(self) -> A {
        match self {
            Section::Users => A::Users,
            Section::Devices => A::Devices,
            Section::OrgUnits => A::OrgUnits,
            Section::Imports => A::Imports,
            Section::Enterprises => A::Enterprises,
            Section::Assignments => A::Assignments,
            Section::Backups => A::Backups,
            Section::Config => A::Config,
            Section::Audit => A::Audit,
        }
    }

    /// The section named `code`; users when none is.
    pub fn from_code(code: &str) -> Section {
        Section::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .unwrap_or(Section::Users)
    }
}

/// Properties of the admin page.
#[derive(Properties, PartialEq)]
pub struct AdminPageProps {
    /// The app context.
    pub ctx: Ctx,
    /// The section's code.
    pub section: String,
}

/// The admin page: the tabs and the chosen section.
#[component]
pub fn AdminPage(props: &AdminPageProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let section = Section::from_code(&props.section);
    let body = match section {
        Section::Users => html! { <users::UsersSection ctx={ctx.clone()} /> },
        Section::Devices => html! { <devices::DevicesSection ctx={ctx.clone()} /> },
        Section::OrgUnits => html! { <org_units::OrgUnitsSection ctx={ctx.clone()} /> },
        Section::Imports => html! { <import_box::ImportsSection ctx={ctx.clone()} /> },
        Section::Enterprises => html! { <enterprises::EnterprisesSection ctx={ctx.clone()} /> },
        Section::Assignments => html! { <assignments::AssignmentsSection ctx={ctx.clone()} /> },
        Section::Backups => html! { <backups::BackupsSection ctx={ctx.clone()} /> },
        Section::Config => html! { <config::ConfigSection ctx={ctx.clone()} /> },
        Section::Audit => html! { <audit::AuditSection ctx={ctx.clone()} /> },
    };
    html! {
        <main key="admin" class="screen admin wide">
            <h1>{ lang.a(A::Title) }</h1>
            <nav class="admin-tabs" aria-label={lang.a(A::Title)}>
                { for Section::ALL.into_iter().map(|s| {
                    let here = s == section;
                    let href = Route::Admin(s.code().to_string()).hash();
                    html! {
                        <a {href} id={format!("admin-tab-{}", s.code())}
                            class={classes!("nav-link", here.then_some("current"))}
                            aria-current={here.then_some("page")}>{ lang.a(s.label()) }</a>
                    }
                }) }
            </nav>
            { body }
        </main>
    }
}

/// What a section shows of something it fetched.
#[derive(Debug, Clone, PartialEq)]
pub enum Load<T> {
    Loading,
    Ready(T),
    Failed(String),
}

/// Fetches with `fetch` when the section opens and whenever `version` changes (bump it after
/// a change to read again).
#[hook]
pub fn use_load<T, F, Fut>(ctx: &Ctx, version: u32, fetch: F) -> UseStateHandle<Load<T>>
where
    T: 'static,
    F: Fn(Session) -> Fut + 'static,
    Fut: Future<Output = Result<T, AdminError>> + 'static,
{
    let state = use_state(|| Load::<T>::Loading);
    let session = ctx.core.session();
    let lang = ctx.lang;
    {
        let state = state.clone();
        use_effect_with(version, move |_| {
            if let Some(session) = session {
                spawn_local(async move {
                    state.set(match fetch(session).await {
                        Ok(v) => Load::Ready(v),
                        Err(e) => Load::Failed(error_text(lang, &e)),
                    });
                });
            }
        });
    }
    state
}

/// Runs a change with the session, then `done` with its outcome (an error as text).
pub fn run<T, Fut>(
    ctx: &Ctx,
    change: impl FnOnce(Session) -> Fut + 'static,
    done: impl FnOnce(Result<T, AdminError>) + 'static,
) where
    T: 'static,
    Fut: Future<Output = Result<T, AdminError>> + 'static,
{
    if let Some(session) = ctx.core.session() {
        spawn_local(async move { done(change(session).await) });
    }
}

/// The line under a form: the outcome of its last change.
pub fn outcome(message: &Option<Result<String, String>>) -> Html {
    match message {
        Some(Ok(m)) => html! { <p class="ok" role="status">{ m }</p> },
        Some(Err(m)) => html! { <p class="field-error" role="alert">{ m }</p> },
        None => html! {},
    }
}

/// A fetched thing's placeholder while loading or after a failure.
pub fn pending<T>(ctx: &Ctx, load: &Load<T>) -> Html {
    match load {
        Load::Loading => html! { <p class="loading">{ ctx.lang.a(A::Loading) }</p> },
        Load::Failed(m) => html! { <p class="field-error" role="alert">{ m }</p> },
        Load::Ready(_) => html! {},
    }
}
