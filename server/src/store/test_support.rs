//! Test fixtures over a real SQLite file: the demo district with its directory rows, and a
//! store lock that counts its holds.

use std::collections::BTreeMap;

use rusqlite::params;
use shared::config::Config;
use shared::derive::{Derived, derive};
use shared::doc::{DocKind, EnterpriseDoc, ProblemDoc};
use shared::model::{EnterpriseId, OrgUnitId, Problem, Timestamp};

use super::SqliteStore;
use crate::demo;

/// The demo district in a real SQLite file, with its directory rows.
pub(crate) fn demo_store(
    dir: &std::path::Path,
    now: Timestamp,
) -> (SqliteStore, demo::DemoDistrict) {
    let config = Config::default();
    let mut district = demo::generate(now, &config).expect("generates");
    let mut store = SqliteStore::open(&dir.join("kpi.db")).expect("opens");
    demo::commit_documents(&mut store, &mut district.documents, &config, now).expect("stores");
    for o in &district.org_units {
        store
            .conn
            .execute(
                "INSERT INTO org_units (id, code, name, kind, parent) VALUES (?1, ?1, ?2, ?3, ?4)",
                params![
                    o.id.to_string(),
                    o.name,
                    o.kind.code(),
                    o.parent.map(|p| p.to_string())
                ],
            )
            .expect("org unit");
    }
    for u in &district.users {
        store
            .conn
            .execute(
                "INSERT INTO users (id, login, name, role, org_unit, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 'x', 0)",
                params![u.user.id.to_string(), u.user.login, u.user.name, u.user.role.code(), u.user.org_unit.to_string()],
            )
            .expect("user");
    }
    for a in &district.assignments {
        store
            .conn
            .execute(
                "INSERT INTO assignments (enterprise, user, valid_from, valid_to) VALUES (?1, ?2, ?3, ?4)",
                params![a.enterprise.to_string(), a.user.to_string(), a.valid_from.0, a.valid_to.map(|t| t.0)],
            )
            .expect("assignment");
    }
    (store, district)
}

/// The demo district's problems as their documents say, each with what is derived at `now`,
/// and each enterprise's town: what the query tables must agree with.
pub(crate) fn demo_problems(
    d: &demo::DemoDistrict,
    now: Timestamp,
) -> (Vec<(Problem, Derived)>, BTreeMap<EnterpriseId, OrgUnitId>) {
    let config = Config::default();
    let mut problems = Vec::new();
    let mut towns = BTreeMap::new();
    for (id, doc) in &d.documents {
        match id.kind() {
            DocKind::Problem => {
                let p = ProblemDoc::from_record(doc.clone())
                    .expect("problem")
                    .read()
                    .expect("reads");
                let derived = derive(&p, &config, now);
                problems.push((p, derived));
            }
            DocKind::Enterprise => {
                let e = EnterpriseDoc::from_record(doc.clone())
                    .expect("enterprise")
                    .read()
                    .expect("reads");
                towns.insert(e.id, e.town);
            }
            _ => {}
        }
    }
    (problems, towns)
}

/// The server's store: one mutex, each hold counted.
pub(crate) struct CountedLock<'a> {
    /// The store.
    pub store: &'a std::sync::Mutex<SqliteStore>,
    /// Holds so far.
    pub holds: usize,
}

impl super::StoreHold for CountedLock<'_> {
    fn hold<T>(&mut self, f: impl FnOnce(&mut SqliteStore) -> T) -> T {
        self.holds += 1;
        (&mut &*self.store).hold(f)
    }
}

/// Runs one SQL statement on `store` as it is (a conformance test's seed of query tables, or
/// its attempt at what the database must refuse); how many rows it changed.
pub(crate) fn execute_raw(store: &SqliteStore, sql: &str) -> Result<usize, super::StoreError> {
    Ok(store.conn.execute(sql, [])?)
}
