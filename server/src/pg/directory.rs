//! The directory in PostgreSQL ([`Directory`]): org units, people, assignments and devices,
//! added as SQLite's directory adds them and read back into the same types; a person's access
//! (the rule over `pg/access.rs`'s facts), the listing, and their own devices.

use std::collections::{BTreeMap, BTreeSet};

use shared::model::{
    Assignment, DeviceId, EnterpriseId, OrgUnit, OrgUnitId, OrgUnitKind, Role, Timestamp, User,
    UserId,
};
use tokio_postgres::Row;

use super::PgDb;
use super::audit::append;
use crate::auth::scope::{Access, access_with};
use crate::db::{DbFuture, Directory};
use crate::store::{
    AdminDevice, AuditAction, Device, ImportedUser, NewUser, OrgUnitEdit, OrgUnitEntry,
    OrgUnitImport, OwnDevice, PasswordHash, StoreError, UserRecord,
};

/// The columns [`to_user`] reads, in its order.
pub(super) const USER_COLUMNS: &str = "id, login, name, role, org_unit, disabled, password_hash";

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

    /// Assigns `a.enterprise` to `a.user` from `a.valid_from` (until `a.valid_to`); returns
    /// the assignment's id.
    ///
    /// # Errors
    /// The user is unknown, the period empty, or PostgreSQL failed.
    pub async fn set_assignment(&self, a: &Assignment) -> Result<i64, StoreError> {
        let row = self
            .client()
            .await?
            .query_one(
                "INSERT INTO assignments (enterprise, user_id, valid_from, valid_to) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
                &[
                    &a.enterprise.to_string(),
                    &a.user.to_string(),
                    &a.valid_from.0,
                    &a.valid_to.map(|t| t.0),
                ],
            )
            .await?;
        Ok(row.get(0))
    }

    /// Sets `user`'s disabled flag alone (no revocation, no audit entry: a test's seed; the
    /// administrator's command is SQLite's `disable_user` until it comes here).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown user, or PostgreSQL failed.
    #[cfg(test)]
    pub(crate) async fn set_disabled(
        &self,
        user: UserId,
        disabled: bool,
    ) -> Result<(), StoreError> {
        let n = self
            .client()
            .await?
            .execute(
                "UPDATE users SET disabled = $2 WHERE id = $1",
                &[&user.to_string(), &disabled],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "user",
                key: user.to_string(),
            });
        }
        Ok(())
    }

    /// The unit `root` and every unit below it.
    ///
    /// # Errors
    /// PostgreSQL failed, or a stored id is not one.
    pub async fn org_subtree_of(&self, root: OrgUnitId) -> Result<BTreeSet<OrgUnitId>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "WITH RECURSIVE sub(id) AS (SELECT $1::text UNION SELECT o.id FROM org_units o \
                 JOIN sub ON o.parent = sub.id) SELECT id FROM sub",
                &[&root.to_string()],
            )
            .await?;
        rows.iter()
            .map(|row| OrgUnitId::parse(row.get(0)).map_err(|e| corrupt("org_units", e)))
            .collect()
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

pub(super) fn corrupt(table: &'static str, detail: impl std::fmt::Display) -> StoreError {
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

/// The org unit in `row`'s columns: id, code, name, kind, parent.
pub(super) fn to_org_unit(row: &Row) -> Result<OrgUnitEntry, StoreError> {
    let t = "org_units";
    Ok(OrgUnitEntry {
        unit: OrgUnit {
            id: OrgUnitId::parse(row.get(0)).map_err(|e| corrupt(t, e))?,
            name: row.get(2),
            kind: OrgUnitKind::from_code(row.get(3)).map_err(|e| corrupt(t, e))?,
            parent: row
                .get::<_, Option<&str>>(4)
                .map(OrgUnitId::parse)
                .transpose()
                .map_err(|e| corrupt(t, e))?,
        },
        code: row.get(1),
    })
}

impl Directory for PgDb {
    fn access(&self, user: User, device: Device, now: Timestamp) -> DbFuture<'_, Access> {
        Box::pin(async move { access_with(self, &user, &device, now).await })
    }

    fn org_unit(&self, id: OrgUnitId) -> DbFuture<'_, Option<OrgUnitEntry>> {
        Box::pin(async move {
            self.client()
                .await?
                .query_opt(
                    "SELECT id, code, name, kind, parent FROM org_units WHERE id = $1",
                    &[&id.to_string()],
                )
                .await?
                .as_ref()
                .map(to_org_unit)
                .transpose()
        })
    }

    fn org_unit_by_code(&self, code: String) -> DbFuture<'_, Option<OrgUnitEntry>> {
        Box::pin(async move {
            self.client()
                .await?
                .query_opt(
                    "SELECT id, code, name, kind, parent FROM org_units WHERE code = $1",
                    &[&code],
                )
                .await?
                .as_ref()
                .map(to_org_unit)
                .transpose()
        })
    }

    fn org_subtree(&self, root: OrgUnitId) -> DbFuture<'_, BTreeSet<OrgUnitId>> {
        Box::pin(self.org_subtree_of(root))
    }

    fn user_by_login(&self, login: String) -> DbFuture<'_, Option<UserRecord>> {
        Box::pin(async move { self.find_user_by_login(&login).await })
    }

    fn listing(&self) -> DbFuture<'_, (Vec<OrgUnitEntry>, Vec<UserRecord>)> {
        Box::pin(async move {
            let mut client = self.client().await?;
            // One snapshot for both reads, as SQLite's reader gives.
            let tx = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let units = tx
                .query(
                    "SELECT id, code, name, kind, parent FROM org_units ORDER BY code",
                    &[],
                )
                .await?;
            let users_sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY login");
            let users = tx.query(users_sql.as_str(), &[]).await?;
            tx.commit().await?;
            let units = units.iter().map(to_org_unit).collect::<Result<_, _>>()?;
            let users = users
                .iter()
                .map(|row| to_user(row, 0))
                .collect::<Result<_, _>>()?;
            Ok((units, users))
        })
    }

    fn own_devices(&self, user: UserId) -> DbFuture<'_, Vec<OwnDevice>> {
        Box::pin(async move {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT d.id, d.user_id, d.name, d.actor_id, d.registered_at, d.revoked_at, \
                     d.last_seen, s.last_seen FROM devices d \
                     LEFT JOIN device_sync s ON s.device = d.id \
                     WHERE d.user_id = $1 ORDER BY d.last_seen DESC, d.id",
                    &[&user.to_string()],
                )
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(OwnDevice {
                        device: to_device(row, 0)?,
                        last_sync: row.get::<_, Option<i64>>(7).map(Timestamp),
                    })
                })
                .collect()
        })
    }

    fn revoke_own_device(
        &self,
        user: UserId,
        device: DeviceId,
        now: Timestamp,
        detail: String,
    ) -> DbFuture<'_, ()> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let device_id = device.to_string();
            // Another user's device is not told apart from an unknown one.
            let login: Option<String> = tx
                .query_opt(
                    "SELECT u.login FROM devices d JOIN users u ON d.user_id = u.id \
                     WHERE d.id = $1 AND d.user_id = $2 FOR UPDATE OF d",
                    &[&device_id, &user.to_string()],
                )
                .await?
                .map(|row| row.get(0));
            let Some(login) = login else {
                return Err(StoreError::NotFound {
                    what: "device",
                    key: device_id,
                });
            };
            tx.execute(
                "UPDATE devices SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
                &[&device_id, &now.0],
            )
            .await?;
            tx.execute(
                "UPDATE tokens SET revoked = TRUE WHERE device = $1",
                &[&device_id],
            )
            .await?;
            append(
                &tx,
                now,
                &login,
                AuditAction::OwnDeviceRevoked,
                &device_id,
                &detail,
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn admin_devices(&self) -> DbFuture<'_, Vec<AdminDevice>> {
        Box::pin(self.admin_device_list())
    }

    fn revoke_device(&self, id: DeviceId, now: Timestamp, actor: String) -> DbFuture<'_, ()> {
        Box::pin(async move { self.revoke_any_device(id, now, &actor).await })
    }

    fn disable_user(
        &self,
        login: String,
        now: Timestamp,
        actor: String,
    ) -> DbFuture<'_, Vec<DeviceId>> {
        Box::pin(async move { self.disable(&login, now, &actor).await })
    }

    fn enable_user(&self, login: String, now: Timestamp, actor: String) -> DbFuture<'_, ()> {
        Box::pin(async move { self.enable(&login, now, &actor).await })
    }

    fn reset_password(
        &self,
        login: String,
        hash: PasswordHash,
        now: Timestamp,
        actor: String,
    ) -> DbFuture<'_, Vec<DeviceId>> {
        Box::pin(async move { self.reset(&login, &hash, now, &actor).await })
    }

    fn add_people(
        &self,
        people: Vec<ImportedUser>,
        now: Timestamp,
        actor: String,
        import: Option<(String, String)>,
    ) -> DbFuture<'_, ()> {
        Box::pin(async move {
            let import = import.as_ref().map(|(s, d)| (s.as_str(), d.as_str()));
            self.add_persons(&people, now, &actor, import).await
        })
    }

    fn enterprises_by_credit_code(
        &self,
        codes: Vec<String>,
    ) -> DbFuture<'_, BTreeMap<String, EnterpriseId>> {
        Box::pin(async move {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT credit_code, id FROM enterprises WHERE credit_code = ANY($1) \
                     AND id NOT IN (SELECT absorbed FROM enterprise_merges) \
                     ORDER BY id COLLATE \"C\" DESC",
                    &[&codes],
                )
                .await?;
            // By id, largest first: the smallest of a credit code is inserted last.
            let mut found = BTreeMap::new();
            for row in &rows {
                let id: &str = row.get(1);
                let id = EnterpriseId::parse(id).map_err(|e| corrupt("enterprises", e))?;
                found.insert(row.get::<_, String>(0), id);
            }
            Ok(found)
        })
    }

    fn import_assignments(
        &self,
        rows: Vec<Assignment>,
        now: Timestamp,
        actor: String,
        subject: String,
        detail: String,
    ) -> DbFuture<'_, ()> {
        Box::pin(async move {
            self.import_assigned(&rows, now, &actor, &subject, &detail)
                .await
        })
    }

    fn end_assignments(
        &self,
        enterprise: EnterpriseId,
        now: Timestamp,
        actor: String,
    ) -> DbFuture<'_, BTreeSet<UserId>> {
        Box::pin(async move { self.end_assigned(enterprise, now, &actor).await })
    }

    fn move_assignment(
        &self,
        enterprise: EnterpriseId,
        from: Option<UserId>,
        to: UserId,
        now: Timestamp,
        actor: String,
    ) -> DbFuture<'_, ()> {
        Box::pin(async move { self.move_assigned(enterprise, from, to, now, &actor).await })
    }

    fn edit_org_unit(
        &self,
        edit: OrgUnitEdit,
        now: Timestamp,
        actor: String,
    ) -> DbFuture<'_, OrgUnitEntry> {
        Box::pin(async move { self.edit_unit(&edit, now, &actor).await })
    }

    fn import_org_units(
        &self,
        rows: Vec<OrgUnitImport>,
        now: Timestamp,
        actor: String,
        subject: String,
        detail: String,
    ) -> DbFuture<'_, ()> {
        Box::pin(async move {
            self.import_units(&rows, now, &actor, &subject, &detail)
                .await
        })
    }
}
