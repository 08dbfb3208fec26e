//! People: adding, finding and listing users, setting a password (which ends their sessions)
//! and disabling an account (which revokes its devices).

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use shared::model::{Timestamp, UserId};

use super::*;
use crate::store::{SqliteStore, StoreError};

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
}
