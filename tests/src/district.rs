//! A directory for tests: a zone with towns and departments, users with passwords and
//! assignments, written straight into the store (as `lianxin-server users add` would).

use std::sync::Arc;

use anyhow::Context as _;
use server::auth::{Secret, password};
use server::store::{NewUser, SqliteStore, StoreError};
use server::sync::SyncService;
use shared::model::{
    Assignment, EnterpriseId, OrgUnit, OrgUnitId, OrgUnitKind, Role, Timestamp, User, UserId,
};

use crate::device::id_bytes;

/// The password of every test user.
pub const PASSWORD: &str = "correct horse battery";

/// The zone's code.
pub const ZONE: &str = "zone";

/// The org unit with `code`, created under `parent` (or as the zone) when missing.
///
/// # Errors
/// When the store fails.
pub fn org_unit(
    store: &mut SqliteStore,
    code: &str,
    kind: OrgUnitKind,
    parent: Option<&str>,
) -> anyhow::Result<OrgUnitId> {
    if let Some(u) = store.org_unit_by_code(code)? {
        return Ok(u.unit.id);
    }
    let parent = match parent {
        Some(p) => Some(org_unit(store, p, OrgUnitKind::Zone, None)?),
        None => None,
    };
    let mut bytes = [0u8; 16];
    for (i, b) in code.bytes().enumerate() {
        bytes[i % 16] ^= b.wrapping_add(i as u8);
    }
    bytes[15] ^= 0x55;
    let id = OrgUnitId::from_random_bytes(bytes);
    store.add_org_unit(
        code,
        &OrgUnit {
            id,
            name: code.to_string(),
            kind,
            parent,
        },
    )?;
    Ok(id)
}

/// The town with `code` (under the zone).
///
/// # Errors
/// When the store fails.
pub fn town(store: &mut SqliteStore, code: &str) -> anyhow::Result<OrgUnitId> {
    org_unit(store, ZONE, OrgUnitKind::Zone, None)?;
    org_unit(store, code, OrgUnitKind::Town, Some(ZONE))
}

/// The department with `code` (under the zone).
///
/// # Errors
/// When the store fails.
pub fn department(store: &mut SqliteStore, code: &str) -> anyhow::Result<OrgUnitId> {
    org_unit(store, ZONE, OrgUnitKind::Zone, None)?;
    org_unit(store, code, OrgUnitKind::Department, Some(ZONE))
}

/// Adds a user with [`PASSWORD`] (or returns the existing one with that login).
///
/// # Errors
/// When the store fails.
pub fn user(
    store: &mut SqliteStore,
    login: &str,
    role: Role,
    org_unit: OrgUnitId,
) -> anyhow::Result<User> {
    if let Some(u) = store.find_user_by_login(login)? {
        return Ok(u.user);
    }
    let mut bytes = [7u8; 16];
    for (i, b) in login.bytes().enumerate() {
        bytes[i % 16] = bytes[i % 16].wrapping_mul(31).wrapping_add(b);
    }
    let user = User {
        id: UserId::from_random_bytes(bytes),
        login: login.to_string(),
        name: login.to_string(),
        role,
        org_unit,
    };
    let hash = password::hash(&Secret::new(PASSWORD)).context("hashing the test password")?;
    store.add_user(
        &NewUser {
            user: user.clone(),
            password_hash: hash,
        },
        Timestamp(0),
    )?;
    Ok(user)
}

/// Assigns `enterprises` to `user` from the epoch on.
///
/// # Errors
/// When the store fails.
pub fn assign(
    store: &mut SqliteStore,
    user: UserId,
    enterprises: impl IntoIterator<Item = EnterpriseId>,
) -> Result<(), StoreError> {
    let rows: Vec<Assignment> = enterprises
        .into_iter()
        .map(|enterprise| Assignment {
            enterprise,
            user,
            valid_from: Timestamp(0),
            valid_to: None,
        })
        .collect();
    store.import_assignments(&rows)
}

/// The test enterprise numbered `n` (the ids the sync tests write visits for).
pub fn enterprise(n: u64) -> EnterpriseId {
    EnterpriseId::from_random_bytes(id_bytes(5, n))
}

/// An officer `login` in town `town-1`, assigned the test enterprises `numbers`.
///
/// # Errors
/// When the store fails.
pub fn officer_in(
    store: &mut SqliteStore,
    login: &str,
    numbers: impl IntoIterator<Item = u64>,
) -> anyhow::Result<User> {
    let town = town(store, "town-1")?;
    let u = user(store, login, Role::Officer, town)?;
    assign(store, u.id, numbers.into_iter().map(enterprise))?;
    Ok(u)
}

/// [`officer_in`] through a running service's store.
///
/// # Errors
/// When the store fails.
pub async fn officer(
    service: &Arc<SyncService>,
    login: &str,
    numbers: impl IntoIterator<Item = u64> + Send + 'static,
) -> anyhow::Result<User> {
    let login = login.to_string();
    service
        .with_store(move |s| officer_in(s, &login, numbers))
        .await
        .context("the store thread stopped")?
}

/// Officers `logins` of the town `yuquan`, all assigned one enterprise named `name` imported
/// from CSV as the admin CLI would (the browser tests' district); the enterprise's id.
///
/// # Errors
/// When the store or an import fails.
pub fn town_officers_with_enterprise(
    store: &mut SqliteStore,
    logins: &[&str],
    name: &str,
) -> anyhow::Result<EnterpriseId> {
    let code = shared::model::CreditCode::from_parts('9', '1', "419001", "MA9F8KXY")?;
    let code = code.as_str().to_string();
    let town = town(store, "yuquan")?;
    let mut assignments = String::from("credit_code,login,valid_from\n");
    for login in logins {
        user(store, login, Role::Officer, town)?;
        assignments.push_str(&format!("{code},{login},2020-01-01\n"));
    }
    server::admin::import_enterprises(
        store,
        &format!(
            "credit_code,name,address,town,industry,size,key_enterprise\n\
             {code},{name},济源市玉泉街道产业集聚区,yuquan,钢铁,above,yes\n"
        ),
        crate::device::wall_clock(),
    )?;
    server::admin::import_assignments(store, &assignments)?;
    store
        .enterprise_by_credit_code(&code)?
        .context("the imported enterprise")
}

/// A profile of test enterprise `n` (its id [`enterprise`]) with credit code `code`, in town
/// `town`, named `name`, committed through the server's write path as a window clerk's
/// registration would be: two calls with one code make the duplicate an administrator merges.
///
/// # Errors
/// When the code is not valid or the store refuses the document.
pub fn profile(
    store: &mut SqliteStore,
    n: u64,
    code: &str,
    name: &str,
    town: OrgUnitId,
) -> anyhow::Result<EnterpriseId> {
    let id = enterprise(n);
    let new = shared::doc::NewEnterprise {
        id,
        credit_code: shared::model::CreditCode::parse(code)?,
        name: name.to_string(),
        address: format!("{name}路{n}号"),
        town,
        industry: "制造业".into(),
        size: shared::model::EnterpriseSize::AboveDesignated,
        key_enterprise: false,
        position: None,
    };
    let now = crate::device::wall_clock();
    let doc = shared::doc::EnterpriseDoc::create(
        &new,
        &server::writer::system_actor(),
        server::writer::system_actor_id(),
        now,
    )?;
    let doc_id =
        shared::sync::protocol::DocId::new(shared::doc::DocKind::Enterprise, &id.to_string());
    server::writer::commit_documents(
        store,
        &mut [(doc_id, doc.into_record())],
        &shared::config::Config::default(),
        now,
    )?;
    Ok(id)
}

/// A valid credit code numbered `n` (`91419001MA9F8KX` and a letter chosen by `n`, its
/// check characters computed).
///
/// # Errors
/// When the parts make no valid code.
pub fn credit_code(n: u8) -> anyhow::Result<String> {
    const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRTUWXY";
    let body = format!(
        "MA9F8KX{}",
        char::from(LETTERS[usize::from(n) % LETTERS.len()])
    );
    Ok(
        shared::model::CreditCode::from_parts('9', '1', "419001", &body)?
            .as_str()
            .to_string(),
    )
}
