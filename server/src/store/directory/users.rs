//! People: adding, finding and listing users, setting a password (which ends their sessions)
//! and disabling an account (which revokes its devices) or enabling it again. An
//! administrator's change (the command line's or `/api/admin/users…`'s) is written with its
//! audit entry, naming the acting administrator, in one transaction.

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use shared::model::{DeviceId, Timestamp, UserId};

use super::*;
use crate::store::audit::{AuditAction, append};
use crate::store::{SqliteStore, StoreError};

/// The devices of `login` (whose tokens an administrator's change revokes).
/// The audit detail of an administrator's password reset that ended the sessions of
/// `devices` devices (both backends write it).
pub(crate) fn reset_detail(devices: usize) -> String {
    format!("sessions ended on {devices} device(s)")
}

/// The audit detail of disabling a person, which revoked `devices` devices.
pub(crate) fn disabled_detail(devices: usize) -> String {
    format!("{devices} device(s) revoked")
}

fn devices_of(tx: &Connection, login: &str, live_only: bool) -> Result<Vec<DeviceId>, StoreError> {
    let ids = tx
        .prepare_cached(
            "SELECT d.id FROM devices d JOIN users u ON d.user = u.id \
             WHERE u.login = ?1 AND (?2 = 0 OR d.revoked_at IS NULL) ORDER BY d.id",
        )?
        .query_map(params![login, i64::from(live_only)], |r| {
            r.get::<_, String>(0)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    ids.iter()
        .map(|id| DeviceId::parse(id).map_err(|_| corrupt("devices", format!("device id {id:?}"))))
        .collect()
}

fn insert_user(conn: &Connection, new: &NewUser, now: Timestamp) -> Result<(), StoreError> {
    conn.prepare_cached(
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

impl SqliteStore {
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
        insert_user(&self.conn, new, now)
    }

    /// Adds users with their phone numbers for the cards (one the administrator added, or a
    /// bulk import's), each audited as `actor`'s [`AuditAction::UserAdded`] with its own
    /// detail, then for an import (`import`: its subject and detail) one
    /// [`AuditAction::Imported`] entry, all in one transaction: every user and every entry, or
    /// none (PostgreSQL's `Directory::add_people` does the same).
    ///
    /// # Errors
    /// As [`SqliteStore::add_user`] for the first user refused; nothing is written then.
    pub fn create_users(
        &mut self,
        users: &[ImportedUser],
        now: Timestamp,
        actor: &str,
        import: Option<(&str, &str)>,
    ) -> Result<(), StoreError> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        for u in users {
            if self.org_unit(u.new.user.org_unit)?.is_none() {
                return Err(StoreError::NotFound {
                    what: "org unit",
                    key: u.new.user.org_unit.to_string(),
                });
            }
            insert_user(&tx, &u.new, now)?;
            tx.prepare_cached("UPDATE users SET phone = ?2 WHERE id = ?1")?
                .execute(params![u.new.user.id.to_string(), u.phone])?;
            append(
                &tx,
                now,
                actor,
                AuditAction::UserAdded,
                &u.new.user.login,
                &u.detail,
            )?;
        }
        if let Some((subject, detail)) = import {
            append(&tx, now, actor, AuditAction::Imported, subject, detail)?;
        }
        tx.commit()?;
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
    /// registered; they log in again with the new password), audited as `actor`'s
    /// [`AuditAction::PasswordReset`]. Returns the user's devices, whose sessions ended.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown login.
    pub fn set_password(
        &mut self,
        login: &str,
        hash: &PasswordHash,
        now: Timestamp,
        actor: &str,
    ) -> Result<Vec<DeviceId>, StoreError> {
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
        let devices = devices_of(&tx, login, false)?;
        tx.prepare_cached(
            "UPDATE tokens SET revoked = 1 WHERE device IN (SELECT d.id FROM devices d \
             JOIN users u ON d.user = u.id WHERE u.login = ?1)",
        )?
        .execute([login])?;
        let detail = reset_detail(devices.len());
        append(&tx, now, actor, AuditAction::PasswordReset, login, &detail)?;
        tx.commit()?;
        Ok(devices)
    }

    /// Disables a user: they cannot log in, and every device of theirs is revoked (so it wipes
    /// its local data at its next request), audited as `actor`'s
    /// [`AuditAction::UserDisabled`]. Returns the devices it revoked.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown login.
    pub fn disable_user(
        &mut self,
        login: &str,
        now: Timestamp,
        actor: &str,
    ) -> Result<Vec<DeviceId>, StoreError> {
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
        let revoked = devices_of(&tx, login, true)?;
        tx.prepare_cached(
            "UPDATE devices SET revoked_at = ?2 WHERE revoked_at IS NULL AND user = \
             (SELECT id FROM users WHERE login = ?1)",
        )?
        .execute(params![login, now.0])?;
        tx.prepare_cached(
            "UPDATE tokens SET revoked = 1 WHERE device IN (SELECT d.id FROM devices d \
             JOIN users u ON d.user = u.id WHERE u.login = ?1)",
        )?
        .execute([login])?;
        let detail = disabled_detail(revoked.len());
        append(&tx, now, actor, AuditAction::UserDisabled, login, &detail)?;
        tx.commit()?;
        Ok(revoked)
    }

    /// Enables a disabled user again, audited as `actor`'s [`AuditAction::UserEnabled`]: they
    /// log in with their password; their revoked devices stay revoked (a login registers a
    /// fresh one).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown login.
    pub fn enable_user(
        &mut self,
        login: &str,
        now: Timestamp,
        actor: &str,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx
            .prepare_cached("UPDATE users SET disabled = 0 WHERE login = ?1")?
            .execute([login])?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "user",
                key: login.to_string(),
            });
        }
        append(&tx, now, actor, AuditAction::UserEnabled, login, "")?;
        tx.commit()?;
        Ok(())
    }
}
