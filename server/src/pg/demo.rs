//! The demo district on PostgreSQL (`lianxin-server serve --db postgres://… --demo`): the
//! district `demo::generate` makes — org units, users (password `demo::DEMO_PASSWORD`) with
//! their devices, assignments and every record document — seeded into an empty database, the
//! documents committed through the sync store as SQLite's demo commits them
//! (`writer::commit_documents`); officers and leaders get SQLite's demo phone numbers (their
//! enterprises' 连心卡 print them). Not here (SQLite's `demo` does them): the problems the
//! monitoring rule raises from the demo's power figures.

use shared::config::Config;
use shared::model::{Role, Timestamp};

use super::PgDb;
use crate::demo::{DemoError, DemoSummary, demo_phone, generate, summary, unit_code};
use crate::store::{Device, NewUser, StoreError};

fn directory(e: StoreError) -> DemoError {
    DemoError::Directory(e.to_string())
}

impl PgDb {
    /// Seeds the demo district into this database, which must hold no `officer1`.
    ///
    /// # Errors
    /// [`DemoError::AlreadySeeded`]; the database refused or failed.
    pub async fn seed_demo(
        &self,
        config: &Config,
        now: Timestamp,
    ) -> Result<DemoSummary, DemoError> {
        if self
            .find_user_by_login("officer1")
            .await
            .map_err(directory)?
            .is_some()
        {
            return Err(DemoError::AlreadySeeded);
        }
        let mut district = generate(now, config)?;
        for unit in &district.org_units {
            self.add_org_unit(&unit_code(unit), unit)
                .await
                .map_err(directory)?;
        }
        // One hash for every demo login, as SQLite's demo does.
        let password = crate::auth::Secret::new(crate::demo::DEMO_PASSWORD);
        let hash = tokio::task::spawn_blocking(move || crate::auth::password::hash(&password))
            .await
            .map_err(|e| DemoError::Directory(e.to_string()))?
            .map_err(|e| DemoError::Directory(e.to_string()))?;
        for u in &district.users {
            let new = NewUser {
                user: u.user.clone(),
                password_hash: hash.clone(),
            };
            self.add_user(&new, now).await.map_err(directory)?;
            if matches!(u.user.role, Role::Officer | Role::Leader) {
                self.client()
                    .await
                    .map_err(directory)?
                    .execute(
                        "UPDATE users SET phone = $2 WHERE id = $1",
                        &[&u.user.id.to_string(), &demo_phone(u.user.id)],
                    )
                    .await
                    .map_err(|e| directory(e.into()))?;
            }
            self.add_device(&Device {
                id: u.device,
                user: u.user.id,
                name: format!("{}的演示手机", u.user.name),
                actor_id: u.actor_id.iter().map(|b| format!("{b:02x}")).collect(),
                registered_at: now,
                revoked_at: None,
                last_seen: now,
            })
            .await
            .map_err(directory)?;
        }
        for a in &district.assignments {
            self.set_assignment(a).await.map_err(directory)?;
        }
        // The sync store runs its statements with `block_on`: on a blocking thread.
        let mut store = self.sync_store().await.map_err(directory)?;
        let config = config.clone();
        let mut documents = std::mem::take(&mut district.documents);
        let (stored, documents) = tokio::task::spawn_blocking(move || {
            let stored = crate::writer::commit_documents(&mut store, &mut documents, &config, now);
            (stored, documents)
        })
        .await
        .map_err(|e| DemoError::Directory(e.to_string()))?;
        district.documents = documents;
        Ok(summary(&district, stored?))
    }
}
