//! The administrator's day-one changes to people and devices in PostgreSQL
//! ([`crate::db::Directory`]'s `admin_devices`, `revoke_device`, `disable_user`,
//! `enable_user`, `reset_password`), as SQLite's (`store/directory/users.rs`, `devices.rs`):
//! each one transaction with its audit entry (the same details) naming the acting
//! administrator.

use deadpool_postgres::Transaction;
use shared::model::{DeviceId, Timestamp};

use super::PgDb;
use super::audit::append;
use super::directory::{corrupt, to_device};
use crate::store::{
    AdminDevice, AuditAction, PasswordHash, StoreError, disabled_detail, reset_detail,
    revoked_detail,
};

/// `NotFound` for the login `login`.
fn no_user(login: &str) -> StoreError {
    StoreError::NotFound {
        what: "user",
        key: login.to_string(),
    }
}

/// The devices of the person with id `user`, by id; only those not revoked when `live_only`.
async fn devices_of(
    tx: &Transaction<'_>,
    user: &str,
    live_only: bool,
) -> Result<Vec<DeviceId>, StoreError> {
    let rows = tx
        .query(
            "SELECT id FROM devices WHERE user_id = $1 AND (NOT $2 OR revoked_at IS NULL) \
             ORDER BY id COLLATE \"C\"",
            &[&user, &live_only],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let id: String = row.get(0);
            DeviceId::parse(&id).map_err(|_| corrupt("devices", format!("device id {id:?}")))
        })
        .collect()
}

/// Revokes every token of the devices of the person with id `user`.
async fn revoke_tokens_of(tx: &Transaction<'_>, user: &str) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE tokens SET revoked = TRUE WHERE NOT revoked AND device IN \
         (SELECT id FROM devices WHERE user_id = $1)",
        &[&user],
    )
    .await?;
    Ok(())
}

impl PgDb {
    /// Every device with its person's login, last sync and reported outbox, most recently
    /// seen first.
    pub(super) async fn admin_device_list(&self) -> Result<Vec<AdminDevice>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT d.id, d.user_id, d.name, d.actor_id, d.registered_at, d.revoked_at, \
                 d.last_seen, u.login, s.last_seen, o.unsent FROM devices d \
                 JOIN users u ON d.user_id = u.id LEFT JOIN device_sync s ON s.device = d.id \
                 LEFT JOIN device_outbox o ON o.device = d.id \
                 ORDER BY d.last_seen DESC, d.id COLLATE \"C\"",
                &[],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(AdminDevice {
                    device: to_device(row, 0)?,
                    login: row.get(7),
                    last_sync: row.get::<_, Option<i64>>(8).map(Timestamp),
                    unsent: row
                        .get::<_, Option<i32>>(9)
                        .and_then(|n| u64::try_from(n).ok()),
                })
            })
            .collect()
    }

    /// Revokes device `id` and its tokens, audited as `actor`'s.
    pub(super) async fn revoke_any_device(
        &self,
        id: DeviceId,
        now: Timestamp,
        actor: &str,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let key = id.to_string();
        let Some(row) = tx
            .query_opt(
                "SELECT u.login FROM devices d JOIN users u ON d.user_id = u.id \
                 WHERE d.id = $1 FOR UPDATE OF d",
                &[&key],
            )
            .await?
        else {
            return Err(StoreError::NotFound {
                what: "device",
                key,
            });
        };
        let login: String = row.get(0);
        tx.execute(
            "UPDATE devices SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
            &[&key, &now.0],
        )
        .await?;
        tx.execute(
            "UPDATE tokens SET revoked = TRUE WHERE device = $1",
            &[&key],
        )
        .await?;
        let detail = revoked_detail(&login);
        append(&tx, now, actor, AuditAction::DeviceRevoked, &key, &detail).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Disables `login` and revokes their devices, audited as `actor`'s; the devices revoked.
    pub(super) async fn disable(
        &self,
        login: &str,
        now: Timestamp,
        actor: &str,
    ) -> Result<Vec<DeviceId>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(row) = tx
            .query_opt(
                "UPDATE users SET disabled = TRUE WHERE login = $1 RETURNING id",
                &[&login],
            )
            .await?
        else {
            return Err(no_user(login));
        };
        let user: String = row.get(0);
        let revoked = devices_of(&tx, &user, true).await?;
        tx.execute(
            "UPDATE devices SET revoked_at = $2 WHERE revoked_at IS NULL AND user_id = $1",
            &[&user, &now.0],
        )
        .await?;
        revoke_tokens_of(&tx, &user).await?;
        let detail = disabled_detail(revoked.len());
        append(&tx, now, actor, AuditAction::UserDisabled, login, &detail).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    /// Enables `login` again, audited as `actor`'s.
    pub(super) async fn enable(
        &self,
        login: &str,
        now: Timestamp,
        actor: &str,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let changed = tx
            .execute(
                "UPDATE users SET disabled = FALSE WHERE login = $1",
                &[&login],
            )
            .await?;
        if changed == 0 {
            return Err(no_user(login));
        }
        append(&tx, now, actor, AuditAction::UserEnabled, login, "").await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets `login`'s password hash and revokes their devices' tokens, audited as `actor`'s
    /// reset; their devices.
    pub(super) async fn reset(
        &self,
        login: &str,
        hash: &PasswordHash,
        now: Timestamp,
        actor: &str,
    ) -> Result<Vec<DeviceId>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(row) = tx
            .query_opt(
                "UPDATE users SET password_hash = $2 WHERE login = $1 RETURNING id",
                &[&login, &hash.0],
            )
            .await?
        else {
            return Err(no_user(login));
        };
        let user: String = row.get(0);
        let devices = devices_of(&tx, &user, false).await?;
        revoke_tokens_of(&tx, &user).await?;
        let detail = reset_detail(devices.len());
        append(&tx, now, actor, AuditAction::PasswordReset, login, &detail).await?;
        tx.commit().await?;
        Ok(devices)
    }
}
