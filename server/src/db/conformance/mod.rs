//! One conformance story, two backends (issue 16 item 3): each behaviour of a use-case trait
//! is written once, as a function of a seeded backend, and run against SQLite and PostgreSQL
//! (`tokens.rs`, `sessions.rs`, `directory.rs`, `accounts.rs`, `people.rs`, `enterprises.rs`,
//! `access.rs`,
//! `bulletins.rs`, `audit.rs`, `blob_records.rs`, `reminders.rs`, `todo.rs`; the sync store,
//! whose trait is synchronous, in `sync_store/` with a runner of its own).
//!
//! PostgreSQL is the server at `LIANXIN_TEST_PG` (a URL of a role that may create databases)
//! or `postgres://postgres@127.0.0.1:5432/postgres`; each test makes a throwaway database of
//! its own, dropped when the test ends, passed or panicked ([`Throwaway`]). Without a
//! reachable PostgreSQL the PostgreSQL tests fail, saying so: they are never skipped.

use std::sync::Arc;

use shared::model::{
    DeviceId, EnterpriseId, OrgUnit, OrgUnitId, OrgUnitKind, ProblemId, Role, Timestamp, User,
    UserId,
};

use self::throwaway::Throwaway;
use super::{BlobRecords, Bulletins, Directory, Queries, Reminders, Tokens};
use crate::pg::PgDb;
use crate::store::{AuditEntry, Device, NewUser, PasswordHash, SqliteDb, StoreError};

/// When the seeded rows were made.
const T0: Timestamp = Timestamp(1_700_000_000_000);

/// The seeded directory: org units by code, parent code and kind. The zone holds two towns
/// and a department; town `a` holds a department of its own and the department `d` a
/// sub-department with one of its own, so a subtree one level deep is told from the whole one.
const UNITS: [(&str, Option<&str>, OrgUnitKind); 7] = [
    ("zone", None, OrgUnitKind::Zone),
    ("a", Some("zone"), OrgUnitKind::Town),
    ("a1", Some("a"), OrgUnitKind::Department),
    ("b", Some("zone"), OrgUnitKind::Town),
    ("d", Some("zone"), OrgUnitKind::Department),
    ("d1", Some("d"), OrgUnitKind::Department),
    ("d2", Some("d1"), OrgUnitKind::Department),
];

/// The seeded people: login, role, org unit code. `qian` is disabled.
const PEOPLE: [(&str, Role, &str); 7] = [
    ("wang", Role::Officer, "zone"),
    ("zhao", Role::Officer, "zone"),
    ("li", Role::Leader, "a"),
    ("zhou", Role::Leader, "zone"),
    ("qian", Role::Officer, "b"),
    ("sun", Role::DepartmentHandler, "d"),
    ("wu", Role::WindowClerk, "zone"),
];

/// The org unit with `code` in [`UNITS`].
fn unit_id(code: &str) -> OrgUnitId {
    let n = UNITS
        .iter()
        .position(|(c, _, _)| *c == code)
        .expect("a seeded unit");
    OrgUnitId::from_random_bytes([1 + n as u8; 16])
}

fn org_unit(code: &str) -> OrgUnit {
    let (_, parent, kind) = UNITS
        .iter()
        .find(|(c, _, _)| *c == code)
        .expect("a seeded unit");
    OrgUnit {
        id: unit_id(code),
        name: format!("单位{code}"),
        kind: *kind,
        parent: parent.map(unit_id),
    }
}

/// The person with `login` in [`PEOPLE`].
fn person(login: &str) -> User {
    let n = PEOPLE
        .iter()
        .position(|(l, _, _)| *l == login)
        .expect("a seeded person");
    let (_, role, unit) = PEOPLE[n];
    User {
        id: UserId::from_random_bytes([20 + n as u8; 16]),
        login: login.into(),
        name: format!("姓名{login}"),
        role,
        org_unit: unit_id(unit),
    }
}

fn new_user(login: &str) -> NewUser {
    NewUser {
        user: person(login),
        password_hash: PasswordHash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
    }
}

fn device(n: u8, login: &str, name: &str) -> Device {
    Device {
        id: DeviceId::from_random_bytes([40 + n; 16]),
        user: person(login).id,
        name: name.into(),
        actor_id: format!("{n:032x}"),
        registered_at: T0,
        revoked_at: None,
        last_seen: T0,
    }
}

/// The seeded devices: `wang`'s phone and tablet, `zhao`'s phone, `qian`'s (disabled) phone.
fn devices() -> [Device; 4] {
    [
        device(1, "wang", "王芳的手机"),
        device(2, "wang", "王芳的平板"),
        device(3, "zhao", "赵磊的手机"),
        device(4, "qian", "钱进的手机"),
    ]
}

/// Enterprise number `n` (its profile is seeded only by [`Seeded::enterprise`]).
fn enterprise(n: u8) -> EnterpriseId {
    EnterpriseId::from_random_bytes([60 + n; 16])
}

/// Problem number `n` (seeded only by [`Seeded::problem`]).
fn problem(n: u8) -> ProblemId {
    ProblemId::from_random_bytes([80 + n; 16])
}

/// The backend itself, for what no use-case trait offers (seeding query tables, reading the
/// audit log, trying what the database must refuse).
enum Backend {
    Sqlite(Arc<SqliteDb>),
    Postgres(PgDb),
}

/// The use cases a [`Seeded`] backend is reached through.
type Handles = (
    Arc<dyn Tokens>,
    Arc<dyn Directory>,
    Arc<dyn Bulletins>,
    Arc<dyn BlobRecords>,
    Arc<dyn Reminders>,
    Arc<dyn Queries>,
);

/// A backend holding the seeded directory ([`UNITS`], [`PEOPLE`], [`devices`]), and what to
/// clean up.
struct Seeded {
    tokens: Arc<dyn Tokens>,
    directory: Arc<dyn Directory>,
    bulletins: Arc<dyn Bulletins>,
    blob_records: Arc<dyn BlobRecords>,
    reminders: Arc<dyn Reminders>,
    queries: Arc<dyn Queries>,
    backend: Backend,
    /// `wang`, the officer most behaviours speak for.
    user: User,
    /// [`devices`].
    devices: [Device; 4],
    /// The SQLite file's folder, kept while the test runs.
    _dir: Option<tempfile::TempDir>,
    /// The throwaway PostgreSQL database, dropped with this (last: after the pool).
    _throwaway: Option<Throwaway>,
}

impl Seeded {
    fn new(
        backend: Backend,
        dir: Option<tempfile::TempDir>,
        throwaway: Option<Throwaway>,
    ) -> Seeded {
        let (tokens, directory, bulletins, blob_records, reminders, queries): Handles =
            match &backend {
                Backend::Sqlite(db) => (
                    Arc::new(db.clone()),
                    Arc::new(db.clone()),
                    Arc::new(db.clone()),
                    Arc::new(db.clone()),
                    Arc::new(db.clone()),
                    Arc::new(db.clone()),
                ),
                Backend::Postgres(db) => (
                    Arc::new(db.clone()),
                    Arc::new(db.clone()),
                    Arc::new(db.clone()),
                    Arc::new(db.clone()),
                    Arc::new(db.clone()),
                    Arc::new(db.clone()),
                ),
            };
        Seeded {
            tokens,
            directory,
            bulletins,
            blob_records,
            reminders,
            queries,
            backend,
            user: person("wang"),
            devices: devices(),
            _dir: dir,
            _throwaway: throwaway,
        }
    }

    /// Runs one SQL statement as it is; how many rows it changed, or the database's refusal.
    async fn execute(&self, sql: &str) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                let sql = sql.to_string();
                db.write(move |s| crate::store::test_support::execute_raw(s, &sql))
                    .await
                    .unwrap_or(Err(StoreError::Unavailable))
                    .map(|n| n as u64)
            }
            Backend::Postgres(db) => db.execute_raw(sql).await,
        }
    }

    /// Seeds the profile of enterprise `n` in `town` (the query table a projection fills).
    async fn enterprise(&self, n: u8, town: &str) {
        let (id, town) = (enterprise(n), unit_id(town));
        let sql = format!(
            "INSERT INTO enterprises (id, credit_code, name, address, town, industry, size, \
             key_enterprise) VALUES ('{id}', '91410100MA00000000', '企业{n}', '', '{town}', \
             'other', 'small', 0)"
        );
        self.execute(&sql).await.expect("seed an enterprise");
    }

    /// Seeds problem `n` of enterprise `of`, owned by `owner`, created by `creator` and
    /// handed to the units `units` (the query tables a projection fills).
    async fn problem(&self, n: u8, of: u8, owner: &str, creator: &str, units: &[&str]) {
        let (id, e) = (problem(n), enterprise(of));
        let (owner, creator) = (person(owner).id, person(creator).id);
        let sql = format!(
            "INSERT INTO problems (id, enterprise, source, category, class, tier, set_tier, \
             owner, deadline, state, description, expectation, response, created_at, \
             created_by, superseded_events) VALUES ('{id}', '{e}', 'visit', 'other', \
             'general', 'town', 'town', '{owner}', 0, 'open', '', '', '', 0, '{creator}', 0)"
        );
        self.execute(&sql).await.expect("seed a problem");
        for unit in units {
            let sql = format!(
                "INSERT INTO problem_units (problem, unit) VALUES ('{id}', '{}')",
                unit_id(unit)
            );
            self.execute(&sql).await.expect("hand a problem to a unit");
        }
    }

    /// The audit log, oldest first.
    async fn audit_log(&self) -> Vec<AuditEntry> {
        match &self.backend {
            Backend::Sqlite(db) => db
                .read(|s| s.audit_log(0, 1000))
                .await
                .expect("a reader")
                .expect("read the audit log"),
            Backend::Postgres(db) => db.audit_log(0, 1000).await.expect("read the audit log"),
        }
    }
}

async fn sqlite() -> Seeded {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Arc::new(SqliteDb::open(&dir.path().join("conformance.db"), None).expect("open"));
    db.write(|s| -> Result<(), StoreError> {
        for (code, _, _) in UNITS {
            s.add_org_unit(code, &org_unit(code))?;
        }
        for (login, _, _) in PEOPLE {
            s.add_user(&new_user(login), T0)?;
        }
        s.disable_user("qian", T0, "cli")?;
        for d in devices() {
            s.add_device(&d)?;
        }
        Ok(())
    })
    .await
    .expect("writer")
    .expect("seed SQLite");
    Seeded::new(Backend::Sqlite(db), Some(dir), None)
}

async fn postgres() -> Seeded {
    let (throwaway, config) = Throwaway::create().await;
    let db = PgDb::open(config).await.expect("open the test database");
    for (code, _, _) in UNITS {
        db.add_org_unit(code, &org_unit(code))
            .await
            .expect("seed unit");
    }
    for (login, _, _) in PEOPLE {
        db.add_user(&new_user(login), T0).await.expect("seed user");
    }
    db.set_disabled(person("qian").id, true)
        .await
        .expect("disable a user");
    for d in devices() {
        db.add_device(&d).await.expect("seed device");
    }
    Seeded::new(Backend::Postgres(db), None, Some(throwaway))
}

/// Runs each behaviour on a fresh SQLite database and a fresh PostgreSQL database.
macro_rules! on_both_backends {
    ($($behaviour:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $behaviour() {
                    let seeded = crate::db::conformance::sqlite().await;
                    super::$behaviour(&seeded).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $behaviour() {
                    let seeded = crate::db::conformance::postgres().await;
                    super::$behaviour(&seeded).await;
                }
            )*
        }
    };
}

// After the macro, which they use.
mod access;
mod accounts;
mod assignments;
mod audit;
mod blob_records;
mod bulletins;
mod cards;
mod directory;
mod enterprises;
mod jobs;
mod migrate;
mod migrate_reminders;
mod org_units;
mod people;
mod reminders;
mod sessions;
mod sync_store;
mod throttle;
mod throwaway;
mod todo;
mod tokens;
