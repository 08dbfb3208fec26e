//! The directory in the SQLite store: org units, users, assignments (包联), registered devices
//! and hashed session tokens, with methods named for the use cases of login, scoping and the
//! admin command line. No password, token or other secret is stored in the clear: the callers
//! hash them (`crate::auth`) before they get here.

use std::collections::BTreeSet;
use std::fmt;

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params, params_from_iter};
use shared::model::{
    Assignment, DeviceId, EnterpriseId, OrgUnit, OrgUnitId, OrgUnitKind, ProblemId, Role,
    Timestamp, User, UserId,
};
use shared::sync::protocol::DocId;

use super::{SqliteStore, StoreError};

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
    fn code(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
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

impl SqliteStore {
    // ---- org units -------------------------------------------------------------------

    /// Adds one org unit under its code.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the code or id is taken.
    pub fn add_org_unit(&mut self, code: &str, unit: &OrgUnit) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO org_units (id, code, name, kind, parent) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                unit.id.to_string(),
                code,
                unit.name,
                unit.kind.code(),
                unit.parent.map(|p| p.to_string()),
            ])
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Duplicate {
                        what: "org unit",
                        key: code.to_string(),
                    }
                } else {
                    e.into()
                }
            })?;
        Ok(())
    }

    /// Adds or updates org units by code, all in one transaction: all or nothing. Parents may
    /// be earlier rows of the same import or stored units.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for a parent code that is neither; nothing is stored then.
    pub fn import_org_units(&mut self, rows: &[OrgUnitImport]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for row in rows {
            let parent: Option<String> = match &row.parent {
                None => None,
                Some(code) => Some(
                    tx.prepare_cached("SELECT id FROM org_units WHERE code = ?1")?
                        .query_row([code], |r| r.get(0))
                        .optional()?
                        .ok_or_else(|| StoreError::NotFound {
                            what: "org unit",
                            key: code.clone(),
                        })?,
                ),
            };
            tx.prepare_cached(
                "INSERT INTO org_units (id, code, name, kind, parent) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
                 parent = excluded.parent",
            )?
            .execute(params![
                row.new_id.to_string(),
                row.code,
                row.name,
                row.kind.code(),
                parent
            ])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The org unit with this code.
    pub fn org_unit_by_code(&self, code: &str) -> Result<Option<OrgUnitEntry>, StoreError> {
        self.conn
            .prepare_cached("SELECT id, code, name, kind, parent FROM org_units WHERE code = ?1")?
            .query_row([code], org_unit_row)
            .optional()?
            .map(to_org_unit)
            .transpose()
    }

    /// The org unit with this id.
    pub fn org_unit(&self, id: OrgUnitId) -> Result<Option<OrgUnitEntry>, StoreError> {
        self.conn
            .prepare_cached("SELECT id, code, name, kind, parent FROM org_units WHERE id = ?1")?
            .query_row([id.to_string()], org_unit_row)
            .optional()?
            .map(to_org_unit)
            .transpose()
    }

    /// Every org unit, by code.
    pub fn list_org_units(&self) -> Result<Vec<OrgUnitEntry>, StoreError> {
        let rows = self
            .conn
            .prepare_cached("SELECT id, code, name, kind, parent FROM org_units ORDER BY code")?
            .query_map([], org_unit_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(to_org_unit).collect()
    }

    /// A unit and every unit below it.
    pub fn org_subtree(&self, root: OrgUnitId) -> Result<BTreeSet<OrgUnitId>, StoreError> {
        let ids = self
            .conn
            .prepare_cached(
                "WITH RECURSIVE sub(id) AS (SELECT ?1 UNION SELECT o.id FROM org_units o \
                 JOIN sub ON o.parent = sub.id) SELECT id FROM sub",
            )?
            .query_map([root.to_string()], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids.iter()
            .map(|id| OrgUnitId::parse(id).map_err(|e| corrupt("org_units", e)))
            .collect()
    }

    // ---- users -----------------------------------------------------------------------

    /// Adds a user.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the login (or id) is taken; [`StoreError::NotFound`]
    /// when the org unit does not exist.
    pub fn add_user(&mut self, new: &NewUser, now: Timestamp) -> Result<(), StoreError> {
        if self.org_unit(new.user.org_unit)?.is_none() {
            return Err(StoreError::NotFound {
                what: "org unit",
                key: new.user.org_unit.to_string(),
            });
        }
        self.conn
            .prepare_cached(
                "INSERT INTO users (id, login, name, role, org_unit, password_hash, disabled, \
                 created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)",
            )?
            .execute(params![
                new.user.id.to_string(),
                new.user.login,
                new.user.name,
                new.user.role.code(),
                new.user.org_unit.to_string(),
                new.password_hash.0,
                now.0,
            ])
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Duplicate {
                        what: "user",
                        key: new.user.login.clone(),
                    }
                } else {
                    e.into()
                }
            })?;
        Ok(())
    }

    /// The user who logs in as `login`.
    pub fn find_user_by_login(&self, login: &str) -> Result<Option<UserRecord>, StoreError> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE login = ?1"
            ))?
            .query_row([login], user_row)
            .optional()?
            .map(to_user)
            .transpose()
    }

    /// The user with this id.
    pub fn user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        self.conn
            .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))?
            .query_row([id.to_string()], user_row)
            .optional()?
            .map(to_user)
            .transpose()
    }

    /// Every user, by login.
    pub fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let rows = self
            .conn
            .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY login"))?
            .query_map([], user_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(to_user).collect()
    }

    /// Replaces a user's password hash and revokes their session tokens (devices stay
    /// registered; they log in again with the new password).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown login.
    pub fn set_password(&mut self, login: &str, hash: &PasswordHash) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx
            .prepare_cached("UPDATE users SET password_hash = ?2 WHERE login = ?1")?
            .execute(params![login, hash.0])?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "user",
                key: login.to_string(),
            });
        }
        tx.prepare_cached(
            "UPDATE tokens SET revoked = 1 WHERE device IN (SELECT d.id FROM devices d \
             JOIN users u ON d.user = u.id WHERE u.login = ?1)",
        )?
        .execute([login])?;
        tx.commit()?;
        Ok(())
    }

    /// Disables a user: they cannot log in, and every device of theirs is revoked (so it wipes
    /// its local data at its next request). Returns how many devices were revoked.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown login.
    pub fn disable_user(&mut self, login: &str, now: Timestamp) -> Result<usize, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx
            .prepare_cached("UPDATE users SET disabled = 1 WHERE login = ?1")?
            .execute([login])?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "user",
                key: login.to_string(),
            });
        }
        let revoked = tx
            .prepare_cached(
                "UPDATE devices SET revoked_at = ?2 WHERE revoked_at IS NULL AND user = \
                 (SELECT id FROM users WHERE login = ?1)",
            )?
            .execute(params![login, now.0])?;
        tx.prepare_cached(
            "UPDATE tokens SET revoked = 1 WHERE device IN (SELECT d.id FROM devices d \
             JOIN users u ON d.user = u.id WHERE u.login = ?1)",
        )?
        .execute([login])?;
        tx.commit()?;
        Ok(revoked)
    }

    // ---- assignments -----------------------------------------------------------------

    /// Makes `user` responsible for `enterprise` from `valid_from` (until `valid_to`, when
    /// given). Returns the assignment's row id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown user; [`StoreError::Invalid`] when the period is
    /// empty.
    pub fn set_assignment(&mut self, a: &Assignment) -> Result<i64, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = insert_assignment(&tx, a)?;
        tx.commit()?;
        Ok(id)
    }

    /// Adds many assignments in one transaction: all or nothing.
    ///
    /// # Errors
    /// As [`SqliteStore::set_assignment`]; nothing is stored then.
    pub fn import_assignments(&mut self, rows: &[Assignment]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for a in rows {
            insert_assignment(&tx, a)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Ends `user`'s open assignments to `enterprise` at `at`. Returns how many ended.
    pub fn end_assignment(
        &mut self,
        enterprise: EnterpriseId,
        user: UserId,
        at: Timestamp,
    ) -> Result<usize, StoreError> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE assignments SET valid_to = ?3 WHERE enterprise = ?1 AND user = ?2 \
                 AND valid_from < ?3 AND (valid_to IS NULL OR valid_to > ?3)",
            )?
            .execute(params![enterprise.to_string(), user.to_string(), at.0])?;
        Ok(n)
    }

    /// Moves an enterprise from one officer to another at `at`, in one transaction.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when `from` holds no open assignment of it, or `to` is unknown.
    pub fn move_assignment(
        &mut self,
        enterprise: EnterpriseId,
        from: UserId,
        to: UserId,
        at: Timestamp,
    ) -> Result<i64, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ended = tx
            .prepare_cached(
                "UPDATE assignments SET valid_to = ?3 WHERE enterprise = ?1 AND user = ?2 \
                 AND valid_from < ?3 AND (valid_to IS NULL OR valid_to > ?3)",
            )?
            .execute(params![enterprise.to_string(), from.to_string(), at.0])?;
        if ended == 0 {
            return Err(StoreError::NotFound {
                what: "assignment",
                key: format!("{enterprise} of {from}"),
            });
        }
        let id = insert_assignment(
            &tx,
            &Assignment {
                enterprise,
                user: to,
                valid_from: at,
                valid_to: None,
            },
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// The enterprises assigned to `user` at `now`.
    pub fn active_assignments(
        &self,
        user: UserId,
        now: Timestamp,
    ) -> Result<BTreeSet<EnterpriseId>, StoreError> {
        let ids = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT enterprise FROM assignments WHERE user = ?1 \
                 AND valid_from <= ?2 AND (valid_to IS NULL OR ?2 < valid_to)",
            )?
            .query_map(params![user.to_string(), now.0], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids.iter()
            .map(|id| EnterpriseId::parse(id).map_err(|e| corrupt("assignments", e)))
            .collect()
    }

    /// Every assignment, past, present and future, by enterprise then start.
    pub fn list_assignments(&self) -> Result<Vec<AssignmentEntry>, StoreError> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT id, enterprise, user, valid_from, valid_to FROM assignments \
                 ORDER BY enterprise, valid_from, id",
            )?
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(to_assignment).collect()
    }

    // ---- devices and tokens ----------------------------------------------------------

    /// Registers `id` for `user` with a new Automerge actor, or, when it is already theirs and
    /// not revoked, renames it and keeps its actor. Returns the device.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the id belongs to another user or was revoked (the caller
    /// registers a fresh id instead); [`StoreError::Duplicate`] when the actor is taken.
    pub fn register_device(
        &mut self,
        id: DeviceId,
        user: UserId,
        name: &str,
        new_actor: [u8; 16],
        now: Timestamp,
    ) -> Result<Device, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing = tx
            .prepare_cached(&format!(
                "SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1"
            ))?
            .query_row([id.to_string()], device_row)
            .optional()?
            .map(to_device)
            .transpose()?;
        match existing {
            Some(d) if d.user != user || d.revoked_at.is_some() => {
                return Err(StoreError::Conflict(format!(
                    "device {id} is registered to another user or revoked"
                )));
            }
            Some(_) => {
                tx.prepare_cached("UPDATE devices SET name = ?2, last_seen = ?3 WHERE id = ?1")?
                    .execute(params![id.to_string(), name, now.0])?;
            }
            None => {
                let actor: String = new_actor.iter().map(|b| format!("{b:02x}")).collect();
                tx.prepare_cached(
                    "INSERT INTO devices (id, user, name, actor_id, registered_at, last_seen) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                )?
                .execute(params![
                    id.to_string(),
                    user.to_string(),
                    name,
                    actor,
                    now.0
                ])
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Duplicate {
                            what: "device actor",
                            key: actor.clone(),
                        }
                    } else {
                        e.into()
                    }
                })?;
            }
        }
        let device = tx
            .prepare_cached(&format!(
                "SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1"
            ))?
            .query_row([id.to_string()], device_row)?;
        tx.commit()?;
        to_device(device)
    }

    /// Registers a device with a given actor (the demo district's devices, whose documents
    /// already name their actors).
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the id or actor is taken.
    pub fn add_device(&mut self, device: &Device) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO devices (id, user, name, actor_id, registered_at, revoked_at, \
                 last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                device.id.to_string(),
                device.user.to_string(),
                device.name,
                device.actor_id,
                device.registered_at.0,
                device.revoked_at.map(|t| t.0),
                device.last_seen.0,
            ])
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Duplicate {
                        what: "device",
                        key: device.id.to_string(),
                    }
                } else {
                    e.into()
                }
            })?;
        Ok(())
    }

    /// The device with this id.
    pub fn device(&self, id: DeviceId) -> Result<Option<Device>, StoreError> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1"
            ))?
            .query_row([id.to_string()], device_row)
            .optional()?
            .map(to_device)
            .transpose()
    }

    /// Every device with its user's login, most recently seen first; only `login`'s when given.
    pub fn list_devices(&self, login: Option<&str>) -> Result<Vec<(Device, String)>, StoreError> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT d.id, d.user, d.name, d.actor_id, d.registered_at, d.revoked_at, \
                 d.last_seen, u.login FROM devices d JOIN users u ON d.user = u.id \
                 WHERE ?1 IS NULL OR u.login = ?1 ORDER BY d.last_seen DESC, d.id",
            )?
            .query_map([login], |r| Ok((device_row(r)?, r.get::<_, String>(7)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(d, login)| Ok((to_device(d)?, login)))
            .collect()
    }

    /// Revokes a device and its tokens: its next request is refused with `device_revoked`.
    /// Revoking a revoked device changes nothing.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown device.
    pub fn revoke_device(&mut self, id: DeviceId, now: Timestamp) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx
            .prepare_cached(
                "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
            )?
            .execute(params![id.to_string(), now.0])?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "device",
                key: id.to_string(),
            });
        }
        tx.prepare_cached("UPDATE tokens SET revoked = 1 WHERE device = ?1")?
            .execute([id.to_string()])?;
        tx.commit()?;
        Ok(())
    }

    /// Notes that a device was seen now.
    pub fn touch_device(&mut self, id: DeviceId, now: Timestamp) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE devices SET last_seen = MAX(last_seen, ?2) WHERE id = ?1")?
            .execute(params![id.to_string(), now.0])?;
        Ok(())
    }

    /// Stores a token's hash for a device.
    pub fn store_token(
        &mut self,
        hash: &TokenHash,
        device: DeviceId,
        kind: TokenKind,
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO tokens (hash, device, kind, issued_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                hash.0.as_slice(),
                device.to_string(),
                kind.code(),
                issued_at.0,
                expires_at.0
            ])?;
        Ok(())
    }

    /// The token with this hash, with its device and user.
    pub fn lookup_token(&self, hash: &TokenHash) -> Result<Option<TokenLookup>, StoreError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT t.kind, t.expires_at, t.revoked, d.id, d.user, d.name, d.actor_id, \
                 d.registered_at, d.revoked_at, d.last_seen, u.id, u.login, u.name, u.role, \
                 u.org_unit, u.disabled, u.password_hash FROM tokens t \
                 JOIN devices d ON t.device = d.id JOIN users u ON d.user = u.id \
                 WHERE t.hash = ?1",
            )?
            .query_row([hash.0.as_slice()], |r| {
                let token: (String, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
                let device: DeviceRow = (
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                );
                let user: [Value; 7] = [
                    r.get(10)?,
                    r.get(11)?,
                    r.get(12)?,
                    r.get(13)?,
                    r.get(14)?,
                    r.get(15)?,
                    r.get(16)?,
                ];
                Ok((token, device, user))
            })
            .optional()?;
        let Some(((kind, expires_at, revoked), device, user)) = row else {
            return Ok(None);
        };
        let kind = match kind.as_str() {
            "access" => TokenKind::Access,
            "refresh" => TokenKind::Refresh,
            other => return Err(corrupt("tokens", format!("token kind {other:?}"))),
        };
        Ok(Some(TokenLookup {
            kind,
            expires_at: Timestamp(expires_at),
            revoked: revoked != 0,
            device: to_device(device)?,
            user: to_user(user)?,
        }))
    }

    /// Revokes one token (logout).
    pub fn revoke_token(&mut self, hash: &TokenHash) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE tokens SET revoked = 1 WHERE hash = ?1")?
            .execute([hash.0.as_slice()])?;
        Ok(())
    }

    /// Deletes tokens that expired before `now`; returns how many.
    pub fn purge_expired_tokens(&mut self, now: Timestamp) -> Result<usize, StoreError> {
        Ok(self
            .conn
            .prepare_cached("DELETE FROM tokens WHERE expires_at < ?1")?
            .execute([now.0])?)
    }

    /// The device's read-scope fingerprints.
    pub fn scope_state(&self, device: DeviceId) -> Result<ScopeState, StoreError> {
        let row: Option<(Option<String>, Option<String>, Option<i64>)> = self
            .conn
            .prepare_cached(
                "SELECT scope_confirmed, scope_pending, scope_pending_since FROM devices \
                 WHERE id = ?1",
            )?
            .query_row([device.to_string()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let Some((confirmed, pending, since)) = row else {
            return Ok(ScopeState::default());
        };
        Ok(ScopeState {
            confirmed,
            pending: match (pending, since) {
                (Some(p), Some(s)) => Some((p, u64::try_from(s).unwrap_or(0))),
                _ => None,
            },
        })
    }

    /// Records the device's read-scope fingerprints.
    pub fn set_scope_state(
        &mut self,
        device: DeviceId,
        state: &ScopeState,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE devices SET scope_confirmed = ?2, scope_pending = ?3, \
                 scope_pending_since = ?4 WHERE id = ?1",
            )?
            .execute(params![
                device.to_string(),
                state.confirmed,
                state.pending.as_ref().map(|(p, _)| p.clone()),
                state
                    .pending
                    .as_ref()
                    .map(|(_, s)| i64::try_from(*s).unwrap_or(i64::MAX)),
            ])?;
        Ok(())
    }

    // ---- what roles see ----------------------------------------------------------------

    /// Enterprises whose profile puts them in one of `towns`.
    pub fn enterprises_in(
        &self,
        towns: &BTreeSet<OrgUnitId>,
    ) -> Result<BTreeSet<EnterpriseId>, StoreError> {
        let towns: Vec<String> = towns.iter().map(ToString::to_string).collect();
        self.ids_in("SELECT id FROM enterprises WHERE town IN", &towns)?
            .iter()
            .map(|id| EnterpriseId::parse(id).map_err(|e| corrupt("enterprises", e)))
            .collect()
    }

    /// Every enterprise with a profile.
    pub fn all_enterprises(&self) -> Result<BTreeSet<EnterpriseId>, StoreError> {
        let ids = self
            .conn
            .prepare_cached("SELECT id FROM enterprises")?
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids.iter()
            .map(|id| EnterpriseId::parse(id).map_err(|e| corrupt("enterprises", e)))
            .collect()
    }

    /// The enterprise with this credit code, if its profile is stored.
    pub fn enterprise_by_credit_code(
        &self,
        credit_code: &str,
    ) -> Result<Option<EnterpriseId>, StoreError> {
        let id: Option<String> = self
            .conn
            .prepare_cached("SELECT id FROM enterprises WHERE credit_code = ?1 LIMIT 1")?
            .query_row([credit_code], |r| r.get(0))
            .optional()?;
        id.map(|id| EnterpriseId::parse(&id).map_err(|e| corrupt("enterprises", e)))
            .transpose()
    }

    /// Problems handed to one of `units`, with their enterprises.
    pub fn problems_handed_to(
        &self,
        units: &BTreeSet<OrgUnitId>,
    ) -> Result<Vec<(ProblemId, EnterpriseId)>, StoreError> {
        let units: Vec<String> = units.iter().map(ToString::to_string).collect();
        let mut out = Vec::new();
        for chunk in units.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT DISTINCT p.id, p.enterprise FROM problems p JOIN problem_units u \
                 ON u.problem = p.id WHERE u.unit IN ({marks})"
            );
            let rows = self
                .conn
                .prepare_cached(&sql)?
                .query_map(params_from_iter(chunk.iter()), |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            out.extend(rows);
        }
        parse_problem_pairs(out)
    }

    /// Problems `user` owns or created, with their enterprises.
    pub fn problems_of(&self, user: UserId) -> Result<Vec<(ProblemId, EnterpriseId)>, StoreError> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT id, enterprise FROM problems WHERE owner = ?1 OR created_by = ?1",
            )?
            .query_map([user.to_string()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        parse_problem_pairs(rows)
    }

    /// Whether a document is stored.
    pub fn has_doc(&self, doc: &DocId) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM docs WHERE doc_id = ?1")?
            .query_row([doc.as_str()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Every directory row (org units, users, assignments, devices, tokens) as sorted lines,
    /// for comparing two stores.
    pub fn directory_dump(&self) -> Result<Vec<String>, StoreError> {
        let mut lines = Vec::new();
        for table in ["org_units", "users", "assignments", "devices", "tokens"] {
            let mut stmt = self.conn.prepare(&format!("SELECT * FROM {table}"))?;
            let columns = stmt.column_count();
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let mut line = table.to_string();
                for i in 0..columns {
                    line.push('|');
                    line.push_str(&format!("{:?}", row.get::<_, Value>(i)?));
                }
                lines.push(line);
            }
        }
        lines.sort();
        Ok(lines)
    }

    fn ids_in(&self, select_in: &str, values: &[String]) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for chunk in values.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let rows = self
                .conn
                .prepare_cached(&format!("{select_in} ({marks})"))?
                .query_map(params_from_iter(chunk.iter()), |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            out.extend(rows);
        }
        Ok(out)
    }
}

fn parse_problem_pairs(
    rows: Vec<(String, String)>,
) -> Result<Vec<(ProblemId, EnterpriseId)>, StoreError> {
    rows.iter()
        .map(|(p, e)| {
            Ok((
                ProblemId::parse(p).map_err(|err| corrupt("problems", err))?,
                EnterpriseId::parse(e).map_err(|err| corrupt("problems", err))?,
            ))
        })
        .collect()
}

fn insert_assignment(tx: &rusqlite::Transaction<'_>, a: &Assignment) -> Result<i64, StoreError> {
    if a.valid_to.is_some_and(|to| to <= a.valid_from) {
        return Err(StoreError::Invalid(format!(
            "the assignment of {} ends ({}) before it starts ({})",
            a.enterprise,
            a.valid_to.map_or(0, |t| t.0),
            a.valid_from.0
        )));
    }
    let known: Option<i64> = tx
        .prepare_cached("SELECT 1 FROM users WHERE id = ?1")?
        .query_row([a.user.to_string()], |r| r.get(0))
        .optional()?;
    if known.is_none() {
        return Err(StoreError::NotFound {
            what: "user",
            key: a.user.to_string(),
        });
    }
    tx.prepare_cached(
        "INSERT INTO assignments (enterprise, user, valid_from, valid_to) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        a.enterprise.to_string(),
        a.user.to_string(),
        a.valid_from.0,
        a.valid_to.map(|t| t.0)
    ])?;
    Ok(tx.last_insert_rowid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = SqliteStore::open(&dir.path().join("d.db")).expect("opens");
        (dir, store)
    }

    fn unit(n: u8, kind: OrgUnitKind, parent: Option<OrgUnitId>) -> OrgUnit {
        OrgUnit {
            id: OrgUnitId::from_random_bytes([n; 16]),
            name: format!("unit {n}"),
            kind,
            parent,
        }
    }

    fn user(store: &mut SqliteStore, n: u8, unit: OrgUnitId) -> User {
        let user = User {
            id: UserId::from_random_bytes([n; 16]),
            login: format!("user{n}"),
            name: format!("User {n}"),
            role: Role::Officer,
            org_unit: unit,
        };
        store
            .add_user(
                &NewUser {
                    user: user.clone(),
                    password_hash: PasswordHash("$argon2id$stand-in".into()),
                },
                Timestamp(0),
            )
            .expect("added");
        user
    }

    fn setup() -> (tempfile::TempDir, SqliteStore, User, User) {
        let (dir, mut s) = store();
        let zone = unit(1, OrgUnitKind::Zone, None);
        s.add_org_unit("zone", &zone).expect("zone");
        s.add_org_unit("town", &unit(2, OrgUnitKind::Town, Some(zone.id)))
            .expect("town");
        let a = user(&mut s, 10, zone.id);
        let b = user(&mut s, 11, zone.id);
        (dir, s, a, b)
    }

    #[test]
    fn a_device_keeps_its_actor_across_logins_and_cannot_change_hands() {
        let (_dir, mut s, a, b) = setup();
        let id = DeviceId::from_random_bytes([3; 16]);
        let first = s
            .register_device(id, a.id, "phone", [7; 16], Timestamp(1))
            .expect("registered");
        assert_eq!(first.actor_id, "07".repeat(16));
        let again = s
            .register_device(id, a.id, "renamed", [8; 16], Timestamp(2))
            .expect("again");
        assert_eq!(
            (again.actor_id, again.name.as_str()),
            (first.actor_id, "renamed")
        );
        assert!(matches!(
            s.register_device(id, b.id, "stolen", [9; 16], Timestamp(3)),
            Err(StoreError::Conflict(_))
        ));
        let other = DeviceId::from_random_bytes([4; 16]);
        assert!(matches!(
            s.register_device(other, b.id, "same actor", [7; 16], Timestamp(3)),
            Err(StoreError::Duplicate { .. })
        ));
    }

    #[test]
    fn revoking_a_device_revokes_its_tokens_and_blocks_re_registration() {
        let (_dir, mut s, a, _) = setup();
        let id = DeviceId::from_random_bytes([3; 16]);
        s.register_device(id, a.id, "phone", [7; 16], Timestamp(1))
            .expect("registered");
        let hash = TokenHash([5; 32]);
        s.store_token(&hash, id, TokenKind::Access, Timestamp(1), Timestamp(100))
            .expect("stored");
        s.revoke_device(id, Timestamp(50)).expect("revoked");
        let t = s.lookup_token(&hash).expect("looked up").expect("found");
        assert!(t.revoked);
        assert_eq!(t.device.revoked_at, Some(Timestamp(50)));
        assert!(matches!(
            s.register_device(id, a.id, "phone", [8; 16], Timestamp(60)),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            s.revoke_device(DeviceId::from_random_bytes([6; 16]), Timestamp(1)),
            Err(StoreError::NotFound { what: "device", .. })
        ));
    }

    #[test]
    fn assignments_hold_for_their_period_and_move_in_one_step() {
        let (_dir, mut s, a, b) = setup();
        let e = EnterpriseId::from_random_bytes([20; 16]);
        s.set_assignment(&Assignment {
            enterprise: e,
            user: a.id,
            valid_from: Timestamp(100),
            valid_to: None,
        })
        .expect("assigned");
        assert!(
            s.active_assignments(a.id, Timestamp(99))
                .expect("q")
                .is_empty()
        );
        assert!(
            s.active_assignments(a.id, Timestamp(100))
                .expect("q")
                .contains(&e)
        );
        s.move_assignment(e, a.id, b.id, Timestamp(200))
            .expect("moved");
        assert!(
            s.active_assignments(a.id, Timestamp(200))
                .expect("q")
                .is_empty()
        );
        assert!(
            s.active_assignments(a.id, Timestamp(150))
                .expect("q")
                .contains(&e)
        );
        assert!(
            s.active_assignments(b.id, Timestamp(200))
                .expect("q")
                .contains(&e)
        );
        assert!(matches!(
            s.move_assignment(e, a.id, b.id, Timestamp(300)),
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            s.set_assignment(&Assignment {
                enterprise: e,
                user: a.id,
                valid_from: Timestamp(10),
                valid_to: Some(Timestamp(10)),
            }),
            Err(StoreError::Invalid(_))
        ));
    }

    #[test]
    fn an_org_unit_import_with_an_unknown_parent_stores_nothing() {
        let (_dir, mut s, _, _) = setup();
        let row = |code: &str, parent: &str, n: u8| OrgUnitImport {
            code: code.into(),
            name: code.into(),
            kind: OrgUnitKind::Town,
            parent: Some(parent.into()),
            new_id: OrgUnitId::from_random_bytes([n; 16]),
        };
        let err = s
            .import_org_units(&[row("a", "zone", 30), row("b", "missing", 31)])
            .expect_err("unknown parent");
        assert!(matches!(
            err,
            StoreError::NotFound {
                what: "org unit",
                ..
            }
        ));
        assert!(s.org_unit_by_code("a").expect("q").is_none());
        s.import_org_units(&[row("a", "zone", 30), row("b", "a", 31)])
            .expect("imported");
        let zone = s
            .org_unit_by_code("zone")
            .expect("q")
            .expect("zone")
            .unit
            .id;
        assert_eq!(s.org_subtree(zone).expect("q").len(), 4);
    }

    #[test]
    fn disabling_a_user_revokes_every_device_and_a_new_password_ends_sessions() {
        let (_dir, mut s, a, _) = setup();
        let id = DeviceId::from_random_bytes([3; 16]);
        s.register_device(id, a.id, "phone", [7; 16], Timestamp(1))
            .expect("registered");
        let hash = TokenHash([5; 32]);
        s.store_token(&hash, id, TokenKind::Refresh, Timestamp(1), Timestamp(100))
            .expect("stored");
        s.set_password(&a.login, &PasswordHash("$argon2id$new".into()))
            .expect("reset");
        assert!(s.lookup_token(&hash).expect("q").expect("found").revoked);
        assert_eq!(s.disable_user(&a.login, Timestamp(5)).expect("disabled"), 1);
        let u = s.find_user_by_login(&a.login).expect("q").expect("found");
        assert!(u.disabled);
        assert_eq!(format!("{:?}", u.password_hash), "PasswordHash(<redacted>)");
        assert!(
            s.device(id)
                .expect("q")
                .expect("found")
                .revoked_at
                .is_some()
        );
        assert!(matches!(
            s.disable_user("nobody", Timestamp(5)),
            Err(StoreError::NotFound { what: "user", .. })
        ));
    }
}
