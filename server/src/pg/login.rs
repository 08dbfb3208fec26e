//! What a login writes on PostgreSQL (`auth::session::login`): the user found by login, the
//! device registered (SQLite's rule, `store/directory/devices.rs`: an id of another user, a
//! revoked one or one bound to another phone's secret is refused, and the caller tries a fresh
//! id), the login's audit entry and the session's two tokens — one transaction.

use shared::model::{DeviceId, Timestamp, UserId};

use super::PgDb;
use super::audit::append;
use super::directory::{USER_COLUMNS, corrupt, to_device, to_user};
use crate::store::{AuditAction, Device, StoreError, TokenHash, TokenKind, UserRecord};

/// A device to register at a login.
#[derive(Debug)]
pub struct NewDevice<'a> {
    /// The id the client presented.
    pub id: DeviceId,
    /// Its user.
    pub user: UserId,
    /// Its name.
    pub name: &'a str,
    /// The device's secret, hashed, if the client sent one.
    pub secret: Option<&'a TokenHash>,
    /// The actor a new device gets.
    pub new_actor: [u8; 16],
}

/// A token to store with the login.
#[derive(Debug, Clone, Copy)]
pub struct NewToken {
    /// Its hash.
    pub hash: TokenHash,
    /// Access or refresh.
    pub kind: TokenKind,
    /// Valid until.
    pub expires_at: Timestamp,
}

impl PgDb {
    /// The user whose login is `login`, if any.
    ///
    /// # Errors
    /// PostgreSQL failed, or a stored value is corrupt.
    pub async fn find_user_by_login(&self, login: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE login = $1"),
                &[&login],
            )
            .await?;
        row.map(|r| to_user(&r, 0)).transpose()
    }

    /// Registers `device` (or notes its new name and sight), appends the login's audit entry
    /// (`detail`) and stores `tokens` for it, in one transaction; the device as stored.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the id belongs to another user, is revoked or is bound to
    /// another secret (nothing stored); PostgreSQL failed.
    pub async fn log_in_device(
        &self,
        device: NewDevice<'_>,
        login: &str,
        detail: &str,
        tokens: &[NewToken],
        now: Timestamp,
    ) -> Result<Device, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let id = device.id.to_string();
        let existing = tx
            .query_opt(
                "SELECT id, user_id, name, actor_id, registered_at, revoked_at, last_seen, \
                 secret_hash FROM devices WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?;
        let presented = device.secret.map(|h| h.0.to_vec());
        match existing {
            Some(row) => {
                let stored = to_device(&row, 0)?;
                let secret: Option<Vec<u8>> = row.get(7);
                if stored.user != device.user || stored.revoked_at.is_some() {
                    return Err(StoreError::Conflict(format!(
                        "device {id} is registered to another user or revoked"
                    )));
                }
                if secret.is_some() && secret != presented {
                    return Err(StoreError::Conflict(format!(
                        "device {id} is bound to another phone's secret"
                    )));
                }
                tx.execute(
                    "UPDATE devices SET name = $2, last_seen = $3, \
                     secret_hash = COALESCE(secret_hash, $4) WHERE id = $1",
                    &[&id, &device.name, &now.0, &presented],
                )
                .await?;
            }
            None => {
                let actor: String = device
                    .new_actor
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                tx.execute(
                    "INSERT INTO devices (id, user_id, name, actor_id, registered_at, \
                     last_seen, secret_hash) VALUES ($1, $2, $3, $4, $5, $5, $6)",
                    &[
                        &id,
                        &device.user.to_string(),
                        &device.name,
                        &actor,
                        &now.0,
                        &presented,
                    ],
                )
                .await?;
            }
        }
        let row = tx
            .query_one(
                "SELECT id, user_id, name, actor_id, registered_at, revoked_at, last_seen \
                 FROM devices WHERE id = $1",
                &[&id],
            )
            .await?;
        let stored = to_device(&row, 0)?;
        append(&tx, now, login, AuditAction::Login, &id, detail).await?;
        for token in tokens {
            let kind = token.kind.code();
            tx.execute(
                "INSERT INTO tokens (hash, device, kind, issued_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &token.hash.0.as_slice(),
                    &id,
                    &kind,
                    &now.0,
                    &token.expires_at.0,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(stored)
    }

    /// The store's epoch (`store_epoch`).
    ///
    /// # Errors
    /// PostgreSQL failed, or the row is missing.
    pub async fn epoch(&self) -> Result<u64, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT epoch FROM store_epoch WHERE id = 1", &[])
            .await?
            .ok_or_else(|| corrupt("store_epoch", "the row is missing"))?;
        crate::store::to_u64(row.get(0), "store_epoch")
    }
}
