//! Users (用户): the list with each one's state, disable/enable and a password reset per row,
//! the form to add one, and the bulk import from CSV.

use shared::model::Role;
use yew::prelude::*;

use super::import_box::ImportBox;
use super::{Load, outcome, pending, run, use_load};
use crate::components::widgets::{Ctx, bind, bind_select, select};
use crate::infra::admin::{self, ImportKind, NewUser, User};
use crate::infra::i18n_admin::{A, error_text};

/// Properties of the users section.
#[derive(Properties, PartialEq)]
pub struct UsersSectionProps {
    /// The app context.
    pub ctx: Ctx,
}

/// The users section.
#[component]
pub fn UsersSection(props: &UsersSectionProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let version = use_state(|| 0u32);
    let users = use_load(&ctx, *version, |s| async move { admin::users(&s).await });
    let message = use_state(|| None::<Result<String, String>>);
    let resetting = use_state(|| None::<String>);
    let new_password = use_state(String::new);
    let reload = {
        let version = version.clone();
        Callback::from(move |()| version.set(*version + 1))
    };
    // Runs a change on one user and reads the list again.
    let change = {
        let ctx = ctx.clone();
        let message = message.clone();
        let reload = reload.clone();
        move |login: String, what: &'static str, password: Option<String>| {
            let message = message.clone();
            let reload = reload.clone();
            run(
                &ctx,
                move |s| async move {
                    match (what, password) {
                        ("password", Some(p)) => admin::reset_password(&s, &login, &p).await,
                        ("disable", _) => admin::set_disabled(&s, &login, true).await,
                        _ => admin::set_disabled(&s, &login, false).await,
                    }
                },
                move |r| {
                    message.set(Some(
                        r.map(|()| lang.a(A::Done).to_string())
                            .map_err(|e| error_text(lang, &e)),
                    ));
                    reload.emit(());
                },
            );
        }
    };
    let rows = match &*users {
        Load::Ready(list) => list
            .iter()
            .map(|u| user_row(lang, u, &change, &resetting, &new_password))
            .collect::<Html>(),
        other => pending(&ctx, other),
    };
    html! {
        <div class="admin-section users">
            <AddUser ctx={ctx.clone()} on_added={reload.clone()} />
            <ImportBox ctx={ctx.clone()} kind={ImportKind::Users} on_imported={reload} />
            { outcome(&message) }
            <table class="admin-table" id="admin-users">
                <tr>
                    <th>{ lang.a(A::Login) }</th><th>{ lang.a(A::Name) }</th><th>{ lang.a(A::Role) }</th>
                    <th>{ lang.a(A::OrgUnit) }</th><th>{ lang.a(A::Status) }</th><th></th>
                </tr>
                { rows }
            </table>
        </div>
    }
}

fn user_row(
    lang: crate::infra::i18n::Lang,
    u: &User,
    change: &(impl Fn(String, &'static str, Option<String>) + Clone + 'static),
    resetting: &UseStateHandle<Option<String>>,
    new_password: &UseStateHandle<String>,
) -> Html {
    let role = Role::from_code(&u.role).map_or_else(
        |_| u.role.clone(),
        |r| lang.pick(r.zh(), r.en()).to_string(),
    );
    let status = if u.disabled {
        lang.a(A::Disabled)
    } else if u.locked_out {
        lang.a(A::LockedOut)
    } else {
        lang.a(A::Active)
    };
    let toggle = {
        let (change, login, disabled) = (change.clone(), u.login.clone(), u.disabled);
        Callback::from(move |_: MouseEvent| {
            change(
                login.clone(),
                if disabled { "enable" } else { "disable" },
                None,
            )
        })
    };
    let open_reset = {
        let (resetting, login) = (resetting.clone(), u.login.clone());
        Callback::from(move |_: MouseEvent| resetting.set(Some(login.clone())))
    };
    let reset_form = (resetting.as_deref() == Some(u.login.as_str())).then(|| {
        let save = {
            let (change, login, p, resetting) = (change.clone(), u.login.clone(), new_password.clone(), resetting.clone());
            Callback::from(move |_: MouseEvent| {
                change(login.clone(), "password", Some((*p).clone()));
                resetting.set(None);
                p.set(String::new());
            })
        };
        let cancel = {
            let resetting = resetting.clone();
            Callback::from(move |_: MouseEvent| resetting.set(None))
        };
        html! {
            <span class="inline-form">
                <input type="password" aria-label={lang.a(A::NewPassword)} placeholder={lang.a(A::NewPassword)}
                    value={(**new_password).clone()} oninput={bind(new_password)} />
                <button type="button" class="primary" onclick={save}>{ lang.a(A::Save) }</button>
                <button type="button" class="secondary" onclick={cancel}>{ lang.a(A::Cancel) }</button>
            </span>
        }
    });
    html! {
        <tr key={u.login.clone()} data-login={u.login.clone()}>
            <td>{ &u.login }</td><td>{ &u.name }</td><td>{ role }</td><td>{ &u.org_unit }</td><td>{ status }</td>
            <td class="actions">
                <button type="button" class="secondary" onclick={toggle}>
                    { if u.disabled { lang.a(A::Enable) } else { lang.a(A::Disable) } }
                </button>
                <button type="button" class="secondary" onclick={open_reset}>{ lang.a(A::ResetPassword) }</button>
                { for reset_form }
            </td>
        </tr>
    }
}

/// Properties of the add-user form.
#[derive(Properties, PartialEq)]
struct AddUserProps {
    ctx: Ctx,
    on_added: Callback<()>,
}

#[component]
fn AddUser(props: &AddUserProps) -> Html {
    let ctx = props.ctx.clone();
    let lang = ctx.lang;
    let fields: [UseStateHandle<String>; 6] = [
        use_state(String::new),
        use_state(String::new),
        use_state(|| Role::Officer.code().to_string()),
        use_state(String::new),
        use_state(String::new),
        use_state(String::new),
    ];
    let message = use_state(|| None::<Result<String, String>>);
    let submit = {
        let (fields, message, on_added) = (fields.clone(), message.clone(), props.on_added.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let [login, name, role, org_unit, phone, password] =
                fields.clone().map(|f| (*f).clone());
            let user = NewUser {
                login,
                name,
                role,
                org_unit,
                phone,
                password,
            };
            let (message, on_added, fields) = (message.clone(), on_added.clone(), fields.clone());
            run(
                &ctx,
                move |s| async move { admin::add_user(&s, &user).await },
                move |r| {
                    if r.is_ok() {
                        fields[5].set(String::new());
                        on_added.emit(());
                    }
                    message.set(Some(
                        r.map(|()| lang.a(A::Added).to_string())
                            .map_err(|e| error_text(lang, &e)),
                    ));
                },
            );
        })
    };
    let roles = Role::ALL
        .iter()
        .map(|r| (r.code().to_string(), lang.pick(r.zh(), r.en()).to_string()))
        .collect();
    let input = |i: usize, key: A, kind: &'static str| {
        html! {
            <label>{ lang.a(key) }
                <input type={kind} value={(*fields[i]).clone()} oninput={bind(&fields[i])} />
            </label>
        }
    };
    html! {
        <form class="add-user row" onsubmit={submit}>
            <h2>{ lang.a(A::AddUser) }</h2>
            { input(0, A::Login, "text") }
            { input(1, A::Name, "text") }
            <label>{ lang.a(A::Role) }{ select("add-role", &fields[2], roles, None, bind_select(&fields[2])) }</label>
            { input(3, A::OrgUnit, "text") }
            { input(4, A::Phone, "tel") }
            { input(5, A::Password, "password") }
            <button type="submit" class="primary">{ lang.a(A::Add) }</button>
            { outcome(&message) }
        </form>
    }
}
