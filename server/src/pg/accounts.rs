//! The administrator's day-one changes to people and devices in PostgreSQL
//! ([`crate::db::Directory`]'s `add_people`, `import_assignments`, `admin_devices`,
//! `revoke_device`, `disable_user`, `enable_user`, `reset_password`), as SQLite's
//! (`store/directory/users.rs`, `assignments.rs`, `devices.rs`): each one transaction with
//! its audit entries (the same details) naming the acting administrator. Two servers adding
//! one login at once: the second insert waits for the first's commit on the login's unique
//! index, then adds nothing and is refused as a duplicate.

use deadpool_postgres::Transaction;
use shared::model::{Assignment, DeviceId, Timestamp};

use super::PgDb;
use super::audit::append;
use super::directory::{corrupt, to_device};
use crate::store::{
    AdminDevice, AuditAction, ImportedUser, PasswordHash, StoreError, disabled_detail,
    period_checked, reset_detail, revoked_detail,
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
    /// Adds `people` with their phone numbers, each audited as `actor`'s `user_added` with its
    /// detail, then `import`'s `imported` entry, in one transaction.
    pub(super) async fn add_persons(
        &self,
        people: &[ImportedUser],
        now: Timestamp,
        actor: &str,
        import: Option<(&str, &str)>,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        for person in people {
            let u = &person.new.user;
            let unit = u.org_unit.to_string();
            let known = tx
                .query_opt("SELECT 1 FROM org_units WHERE id = $1", &[&unit])
                .await?;
            if known.is_none() {
                return Err(StoreError::NotFound {
                    what: "org unit",
                    key: unit,
                });
            }
            let added = tx
                .execute(
                    "INSERT INTO users (id, login, name, role, org_unit, password_hash, \
                     disabled, created_at, phone) VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7, $8) \
                     ON CONFLICT DO NOTHING",
                    &[
                        &u.id.to_string(),
                        &u.login,
                        &u.name,
                        &u.role.code(),
                        &unit,
                        &person.new.password_hash.0,
                        &now.0,
                        &person.phone,
                    ],
                )
                .await?;
            if added == 0 {
                return Err(StoreError::Duplicate {
                    what: "user",
                    key: u.login.clone(),
                });
            }
            let detail = &person.detail;
            append(&tx, now, actor, AuditAction::UserAdded, &u.login, detail).await?;
        }
        if let Some((subject, detail)) = import {
            append(&tx, now, actor, AuditAction::Imported, subject, detail).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds `rows` with the import's `imported` entry naming `subject`, as `actor`'s, in one
    /// transaction (each period checked as SQLite checks it).
    pub(super) async fn import_assigned(
        &self,
        rows: &[Assignment],
        now: Timestamp,
        actor: &str,
        subject: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        for a in rows {
            period_checked(a)?;
            tx.execute(
                "INSERT INTO assignments (enterprise, user_id, valid_from, valid_to) \
                 VALUES ($1, $2, $3, $4)",
                &[
                    &a.enterprise.to_string(),
                    &a.user.to_string(),
                    &a.valid_from.0,
                    &a.valid_to.map(|t| t.0),
                ],
            )
            .await?;
        }
        append(&tx, now, actor, AuditAction::Imported, subject, detail).await?;
        tx.commit().await?;
        Ok(())
    }

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
