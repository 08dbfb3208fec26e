//! One conformance story, two backends (issue 16 item 3): each behaviour of a use-case trait
//! is written once, as a function of a seeded backend, and run against SQLite and PostgreSQL.
//!
//! PostgreSQL is the server at `LIANXIN_TEST_PG` (a URL of a role that may create databases)
//! or `postgres://postgres@127.0.0.1:5432/postgres`; each test makes a throwaway database of
//! its own and drops it. Without a reachable PostgreSQL the PostgreSQL tests fail, saying so:
//! they are never skipped.

use std::sync::Arc;

use shared::model::{DeviceId, OrgUnit, OrgUnitId, OrgUnitKind, Role, Timestamp, User, UserId};

use super::Tokens;
use crate::pg::PgDb;
use crate::store::{Device, NewUser, PasswordHash, SqliteDb, TokenHash, TokenKind};

/// Where the PostgreSQL tests connect when `LIANXIN_TEST_PG` is not set.
const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// When the seeded rows were made.
const T0: Timestamp = Timestamp(1_700_000_000_000);

/// A backend with one officer (`wang`) and two devices of theirs, and what to clean up.
struct Seeded {
    tokens: Arc<dyn Tokens>,
    user: User,
    /// Two devices of the user: phone and tablet.
    devices: [Device; 2],
    /// The SQLite file's folder, kept while the test runs.
    _dir: Option<tempfile::TempDir>,
    /// The throwaway PostgreSQL database, dropped by [`Seeded::finish`].
    throwaway: Option<Throwaway>,
}

impl Seeded {
    /// Drops what the backend made outside the process.
    async fn finish(self) {
        drop(self.tokens);
        if let Some(throwaway) = self.throwaway {
            throwaway.drop_database().await;
        }
    }
}

fn unit() -> OrgUnit {
    OrgUnit {
        id: OrgUnitId::from_random_bytes([1; 16]),
        name: "示范区".into(),
        kind: OrgUnitKind::Zone,
        parent: None,
    }
}

fn officer() -> NewUser {
    NewUser {
        user: User {
            id: UserId::from_random_bytes([2; 16]),
            login: "wang".into(),
            name: "王芳".into(),
            role: Role::Officer,
            org_unit: unit().id,
        },
        password_hash: PasswordHash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
    }
}

fn device(n: u8, name: &str) -> Device {
    Device {
        id: DeviceId::from_random_bytes([10 + n; 16]),
        user: officer().user.id,
        name: name.into(),
        actor_id: format!("{n:032x}"),
        registered_at: T0,
        revoked_at: None,
        last_seen: T0,
    }
}

fn devices() -> [Device; 2] {
    [device(1, "王芳的手机"), device(2, "王芳的平板")]
}

async fn sqlite() -> Seeded {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Arc::new(SqliteDb::open(&dir.path().join("conformance.db"), None).expect("open"));
    db.write(|s| -> Result<(), crate::store::StoreError> {
        s.add_org_unit("zone", &unit())?;
        s.add_user(&officer(), T0)?;
        for d in devices() {
            s.add_device(&d)?;
        }
        Ok(())
    })
    .await
    .expect("writer")
    .expect("seed SQLite");
    Seeded {
        tokens: Arc::new(db),
        user: officer().user,
        devices: devices(),
        _dir: Some(dir),
        throwaway: None,
    }
}

/// A database made for one test on the PostgreSQL server, and a connection to drop it with.
struct Throwaway {
    admin: tokio_postgres::Client,
    name: String,
}

impl Throwaway {
    async fn drop_database(self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = self.admin.batch_execute(&sql).await {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}

async fn postgres() -> Seeded {
    let url = std::env::var("LIANXIN_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.to_string());
    let unreachable = |e: &dyn std::fmt::Display| -> ! {
        panic!(
            "PostgreSQL is needed by the storage conformance tests and is not reachable at \
             {url} ({e}); start it (it listens on 127.0.0.1:5432 on the project's machines) or \
             set LIANXIN_TEST_PG to a URL of a role that may create databases"
        )
    };
    let config: tokio_postgres::Config = url.parse().unwrap_or_else(|e| unreachable(&e));
    let (admin, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| unreachable(&e));
    tokio::spawn(connection);
    let name = format!("lianxin_test_{:016x}", rand::random::<u64>());
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| unreachable(&e));
    let throwaway = Throwaway { admin, name };
    let mut own = config.clone();
    own.dbname(&throwaway.name);
    let db = PgDb::open(own).await.expect("open the test database");
    db.add_org_unit("zone", &unit()).await.expect("seed unit");
    db.add_user(&officer(), T0).await.expect("seed user");
    for d in devices() {
        db.add_device(&d).await.expect("seed device");
    }
    Seeded {
        tokens: Arc::new(db),
        user: officer().user,
        devices: devices(),
        _dir: None,
        throwaway: Some(throwaway),
    }
}

fn hash(n: u8) -> TokenHash {
    TokenHash([n; 32])
}

/// An access token for an hour from `T0`.
async fn access_token(b: &Seeded, n: u8, device: DeviceId) {
    b.tokens
        .store_token(
            hash(n),
            device,
            TokenKind::Access,
            T0,
            Timestamp(T0.0 + 3_600_000),
        )
        .await
        .expect("store a token");
}

async fn a_stored_token_is_found_with_its_device_and_user(b: &Seeded) {
    access_token(b, 1, b.devices[0].id).await;
    let found = b
        .tokens
        .lookup_token(hash(1))
        .await
        .expect("lookup")
        .expect("the token is found");
    assert_eq!(found.kind, TokenKind::Access);
    assert_eq!(found.expires_at, Timestamp(T0.0 + 3_600_000));
    assert!(!found.revoked);
    assert_eq!((found.rotated_at, found.used_at), (None, None));
    assert_eq!(found.device, b.devices[0]);
    assert_eq!(found.user.user, b.user);
    assert!(!found.user.disabled);
}

async fn an_unknown_token_is_not_found(b: &Seeded) {
    access_token(b, 1, b.devices[0].id).await;
    let found = b.tokens.lookup_token(hash(2)).await.expect("lookup");
    assert!(found.is_none(), "found {found:?}");
}

async fn a_token_keeps_its_first_use(b: &Seeded) {
    access_token(b, 1, b.devices[0].id).await;
    let first = Timestamp(T0.0 + 1_000);
    b.tokens
        .note_token_use(hash(1), true, None, first)
        .await
        .expect("first use");
    b.tokens
        .note_token_use(hash(1), true, None, Timestamp(T0.0 + 2_000))
        .await
        .expect("second note");
    let found = b.tokens.lookup_token(hash(1)).await.expect("lookup");
    assert_eq!(found.expect("found").used_at, Some(first));
}

async fn a_device_is_never_seen_earlier_than_it_was(b: &Seeded) {
    access_token(b, 1, b.devices[0].id).await;
    let later = Timestamp(T0.0 + 10_000);
    let device = Some(b.devices[0].id);
    b.tokens
        .note_token_use(hash(1), false, device, later)
        .await
        .expect("touch");
    b.tokens
        .note_token_use(hash(1), false, device, Timestamp(T0.0 + 5_000))
        .await
        .expect("an older touch");
    let found = b.tokens.lookup_token(hash(1)).await.expect("lookup");
    let found = found.expect("found");
    assert_eq!(found.device.last_seen, later);
    assert_eq!(found.used_at, None, "a touch alone noted a first use");
}

async fn revoking_a_device_revokes_its_tokens_only(b: &Seeded) {
    access_token(b, 1, b.devices[0].id).await;
    b.tokens
        .store_token(
            hash(2),
            b.devices[0].id,
            TokenKind::Refresh,
            T0,
            Timestamp(T0.0 + 1),
        )
        .await
        .expect("store a refresh token");
    access_token(b, 3, b.devices[1].id).await;
    let revoked = b.tokens.revoke_device_tokens(b.devices[0].id).await;
    assert_eq!(revoked.expect("revoke"), 2);
    for (n, expected) in [(1, true), (2, true), (3, false)] {
        let found = b.tokens.lookup_token(hash(n)).await.expect("lookup");
        assert_eq!(found.expect("found").revoked, expected, "token {n}");
    }
    let again = b.tokens.revoke_device_tokens(b.devices[0].id).await;
    assert_eq!(
        again.expect("revoke again"),
        0,
        "revoked tokens counted again"
    );
}

/// Runs each behaviour on a fresh SQLite database and a fresh PostgreSQL database.
macro_rules! on_both_backends {
    ($($behaviour:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $behaviour() {
                    let seeded = super::sqlite().await;
                    super::$behaviour(&seeded).await;
                    seeded.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $behaviour() {
                    let seeded = super::postgres().await;
                    super::$behaviour(&seeded).await;
                    seeded.finish().await;
                }
            )*
        }
    };
}

on_both_backends!(
    a_stored_token_is_found_with_its_device_and_user,
    an_unknown_token_is_not_found,
    a_token_keeps_its_first_use,
    a_device_is_never_seen_earlier_than_it_was,
    revoking_a_device_revokes_its_tokens_only,
);
