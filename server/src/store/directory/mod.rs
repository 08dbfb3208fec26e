//! The directory in the SQLite store: org units, users, assignments (包联), registered devices
//! and hashed session tokens, with methods named for the use cases of login, scoping and the
//! admin command line. No password, token or other secret is stored in the clear: the callers
//! hash them (`crate::auth`) before they get here.
//!
//! This file holds the directory's types and row conversions; the methods live in one file per
//! part: `org_units`, `users`, `assignments` (包联), `devices` (and their tokens and scope
//! state) and `visibility` (what each role sees).

use std::fmt;

use rusqlite::Row;
use rusqlite::types::Value;
use shared::model::{
    Assignment, DeviceId, EnterpriseId, OrgUnit, OrgUnitId, OrgUnitKind, Role, Timestamp, User,
    UserId,
};

use super::StoreError;

/// An argon2 PHC string (`$argon2id$…`). Never the password; still not printed in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// The SHA-256 of a session token: what the store keeps instead of the token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenHash(pub [u8; 32]);

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(<redacted>)")
    }
}

/// An org unit with the short code CSV files refer to it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgUnitEntry {
    /// The unit.
    pub unit: OrgUnit,
    /// Its code, unique, e.g. `yuquan`.
    pub code: String,
}

/// One org unit of an import, parents named by code (in the file or already stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgUnitImport {
    /// Its code; an existing unit with this code is updated.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Zone, town or department.
    pub kind: OrgUnitKind,
    /// The parent's code; `None` only for the zone.
    pub parent: Option<String>,
    /// The id a new unit gets (ignored when the code exists).
    pub new_id: OrgUnitId,
}

/// A new user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The user.
    pub user: User,
    /// Their password, hashed.
    pub password_hash: PasswordHash,
}

/// One user of a bulk import with their phone number and their audit entry's detail.
#[derive(Debug, Clone)]
pub struct ImportedUser {
    /// The user and their password's hash.
    pub new: NewUser,
    /// Their phone number for the cards.
    pub phone: Option<String>,
    /// Their `user_added` entry's detail.
    pub detail: String,
}

/// A user as the directory keeps them.
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// The user.
    pub user: User,
    /// Disabled users cannot log in and their devices are revoked.
    pub disabled: bool,
    /// Their password, hashed.
    pub password_hash: PasswordHash,
}

/// A registered device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Its id, made by the client.
    pub id: DeviceId,
    /// The user it is bound to.
    pub user: UserId,
    /// A name people recognise, e.g. "王芳的手机".
    pub name: String,
    /// Its Automerge actor, hex (16 bytes made by the server at registration).
    pub actor_id: String,
    /// When it was registered.
    pub registered_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// When it last logged in, refreshed or synced.
    pub last_seen: Timestamp,
}

/// What a session token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Short-lived, sent with every API request.
    Access,
    /// Long-lived, exchanged for a new access token.
    Refresh,
}

impl TokenKind {
    /// How the database stores it.
    pub fn code(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }

    /// The kind stored as `code`.
    pub fn from_code(code: &str) -> Option<TokenKind> {
        [TokenKind::Access, TokenKind::Refresh]
            .into_iter()
            .find(|k| k.code() == code)
    }
}

/// A stored token with its device and user.
#[derive(Debug, Clone)]
pub struct TokenLookup {
    /// Access or refresh.
    pub kind: TokenKind,
    /// When it stops being valid.
    pub expires_at: Timestamp,
    /// Revoked (logout, device revocation).
    pub revoked: bool,
    /// When a refresh token was exchanged for its successor (it is used up).
    pub rotated_at: Option<Timestamp>,
    /// When an access token first authenticated a request (set once, by the bearer check).
    pub used_at: Option<Timestamp>,
    /// Its device.
    pub device: Device,
    /// The device's user.
    pub user: UserRecord,
}

/// An assignment with its row id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentEntry {
    /// Row id, for ending it.
    pub id: i64,
    /// The assignment.
    pub assignment: Assignment,
}

/// A device's read-scope fingerprints (see the sync driver's re-scoping).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeState {
    /// The scope the device's cursor counts in.
    pub confirmed: Option<String>,
    /// A new scope served from cursor 0, and the delivery that served it.
    pub pending: Option<(String, u64)>,
}

const USER_COLUMNS: &str = "id, login, name, role, org_unit, disabled, password_hash";
const DEVICE_COLUMNS: &str = "id, user, name, actor_id, registered_at, revoked_at, last_seen";

fn corrupt(table: &'static str, detail: impl fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table,
        detail: detail.to_string(),
    }
}

fn user_row(r: &Row<'_>) -> rusqlite::Result<[Value; 7]> {
    Ok([
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ])
}

fn text(v: &Value, table: &'static str) -> Result<String, StoreError> {
    match v {
        Value::Text(t) => Ok(t.clone()),
        other => Err(corrupt(table, format!("expected text, found {other:?}"))),
    }
}

fn int(v: &Value, table: &'static str) -> Result<i64, StoreError> {
    match v {
        Value::Integer(i) => Ok(*i),
        other => Err(corrupt(
            table,
            format!("expected an integer, found {other:?}"),
        )),
    }
}

fn to_user(v: [Value; 7]) -> Result<UserRecord, StoreError> {
    let t = "users";
    Ok(UserRecord {
        user: User {
            id: UserId::parse(&text(&v[0], t)?).map_err(|e| corrupt(t, e))?,
            login: text(&v[1], t)?,
            name: text(&v[2], t)?,
            role: Role::from_code(&text(&v[3], t)?).map_err(|e| corrupt(t, e))?,
            org_unit: OrgUnitId::parse(&text(&v[4], t)?).map_err(|e| corrupt(t, e))?,
        },
        disabled: int(&v[5], t)? != 0,
        password_hash: PasswordHash(text(&v[6], t)?),
    })
}

type DeviceRow = (String, String, String, String, i64, Option<i64>, i64);

fn device_row(r: &Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn to_device(row: DeviceRow) -> Result<Device, StoreError> {
    let t = "devices";
    Ok(Device {
        id: DeviceId::parse(&row.0).map_err(|e| corrupt(t, e))?,
        user: UserId::parse(&row.1).map_err(|e| corrupt(t, e))?,
        name: row.2,
        actor_id: row.3,
        registered_at: Timestamp(row.4),
        revoked_at: row.5.map(Timestamp),
        last_seen: Timestamp(row.6),
    })
}

fn org_unit_row(r: &Row<'_>) -> rusqlite::Result<(String, String, String, String, Option<String>)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn to_org_unit(
    (id, code, name, kind, parent): (String, String, String, String, Option<String>),
) -> Result<OrgUnitEntry, StoreError> {
    let t = "org_units";
    Ok(OrgUnitEntry {
        unit: OrgUnit {
            id: OrgUnitId::parse(&id).map_err(|e| corrupt(t, e))?,
            name,
            kind: OrgUnitKind::from_code(&kind).map_err(|e| corrupt(t, e))?,
            parent: parent
                .map(|p| OrgUnitId::parse(&p))
                .transpose()
                .map_err(|e| corrupt(t, e))?,
        },
        code,
    })
}

fn to_assignment(
    (id, enterprise, user, from, to): (i64, String, String, i64, Option<i64>),
) -> Result<AssignmentEntry, StoreError> {
    let t = "assignments";
    Ok(AssignmentEntry {
        id,
        assignment: Assignment {
            enterprise: EnterpriseId::parse(&enterprise).map_err(|e| corrupt(t, e))?,
            user: UserId::parse(&user).map_err(|e| corrupt(t, e))?,
            valid_from: Timestamp(from),
            valid_to: to.map(Timestamp),
        },
    })
}

/// Whether a SQLite error is a UNIQUE or PRIMARY KEY violation.
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

mod assignments;
mod devices;
mod merges;
pub(crate) mod org_unit_rules;
mod org_units;
mod sessions;
mod users;

pub(crate) use assignments::{moved_from, period_checked};
pub use devices::AdminDevice;
pub(crate) use devices::revoked_detail;
pub use merges::{EnterpriseQuery, EnterpriseRow, MergeRows};
pub use org_unit_rules::{CODE_MAX, NAME_MAX, NewOrgUnit, OrgUnitEdit};
pub use sessions::{FreshTokens, OwnDevice, Rotation};
pub(crate) use sessions::{
    LOST_PAIR, Presented, may_be_lost_answer, others_than, password_changed_detail,
    presented_state, retried_detail, reused_detail, token_hash,
};
pub(crate) use users::{disabled_detail, reset_detail};
mod visibility;

#[cfg(test)]
mod tests;
