//! The directory's org units, people and devices in PostgreSQL: what tokens are bound to,
//! added as SQLite's directory adds them, and read back into the same types.

use shared::model::{DeviceId, OrgUnit, OrgUnitId, Role, Timestamp, User, UserId};
use tokio_postgres::Row;

use super::PgDb;
use crate::store::{Device, NewUser, PasswordHash, StoreError, UserRecord};

impl PgDb {
    /// Adds an org unit with its CSV code.
    ///
    /// # Errors
    /// The code or id is taken, or PostgreSQL failed.
    pub async fn add_org_unit(&self, code: &str, unit: &OrgUnit) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO org_units (id, code, name, kind, parent) VALUES ($1, $2, $3, $4, $5)",
                &[
                    &unit.id.to_string(),
                    &code,
                    &unit.name,
                    &unit.kind.code(),
                    &unit.parent.map(|p| p.to_string()),
                ],
            )
            .await?;
        Ok(())
    }

    /// Adds a user.
    ///
    /// # Errors
    /// The login is taken, the org unit unknown, or PostgreSQL failed.
    pub async fn add_user(&self, new: &NewUser, now: Timestamp) -> Result<(), StoreError> {
        let u = &new.user;
        self.client()
            .await?
            .execute(
                "INSERT INTO users (id, login, name, role, org_unit, password_hash, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &u.id.to_string(),
                    &u.login,
                    &u.name,
                    &u.role.code(),
                    &u.org_unit.to_string(),
                    &new.password_hash.0,
                    &now.0,
                ],
            )
            .await?;
        Ok(())
    }

    /// Adds a registered device.
    ///
    /// # Errors
    /// The id or actor is taken, the user unknown, or PostgreSQL failed.
    pub async fn add_device(&self, device: &Device) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO devices (id, user_id, name, actor_id, registered_at, revoked_at, \
                 last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &device.id.to_string(),
                    &device.user.to_string(),
                    &device.name,
                    &device.actor_id,
                    &device.registered_at.0,
                    &device.revoked_at.map(|t| t.0),
                    &device.last_seen.0,
                ],
            )
            .await?;
        Ok(())
    }
}

fn corrupt(table: &'static str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table,
        detail: detail.to_string(),
    }
}

/// The device in `row`'s columns from `at`: id, user, name, actor, registered, revoked, last
/// seen.
pub(super) fn to_device(row: &Row, at: usize) -> Result<Device, StoreError> {
    let t = "devices";
    Ok(Device {
        id: DeviceId::parse(row.get(at)).map_err(|e| corrupt(t, e))?,
        user: UserId::parse(row.get(at + 1)).map_err(|e| corrupt(t, e))?,
        name: row.get(at + 2),
        actor_id: row.get(at + 3),
        registered_at: Timestamp(row.get(at + 4)),
        revoked_at: row.get::<_, Option<i64>>(at + 5).map(Timestamp),
        last_seen: Timestamp(row.get(at + 6)),
    })
}

/// The user in `row`'s columns from `at`: id, login, name, role, org unit, disabled, password
/// hash.
pub(super) fn to_user(row: &Row, at: usize) -> Result<UserRecord, StoreError> {
    let t = "users";
    Ok(UserRecord {
        user: User {
            id: UserId::parse(row.get(at)).map_err(|e| corrupt(t, e))?,
            login: row.get(at + 1),
            name: row.get(at + 2),
            role: Role::from_code(row.get(at + 3)).map_err(|e| corrupt(t, e))?,
            org_unit: OrgUnitId::parse(row.get(at + 4)).map_err(|e| corrupt(t, e))?,
        },
        disabled: row.get(at + 5),
        password_hash: PasswordHash(row.get(at + 6)),
    })
}
