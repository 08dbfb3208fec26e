//! The directory's use cases over a real SQLite file: devices, tokens, assignments, org-unit
//! imports and disabled users.

use super::*;
use crate::store::SqliteStore;

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = SqliteStore::open(&dir.path().join("d.db")).expect("opens");
    (dir, store)
}

fn unit(n: u8, kind: OrgUnitKind, parent: Option<OrgUnitId>) -> OrgUnit {
    OrgUnit {
        id: OrgUnitId::from_random_bytes([n; 16]),
        name: format!("unit {n}"),
        kind,
        parent,
    }
}

fn user(store: &mut SqliteStore, n: u8, unit: OrgUnitId) -> User {
    let user = User {
        id: UserId::from_random_bytes([n; 16]),
        login: format!("user{n}"),
        name: format!("User {n}"),
        role: Role::Officer,
        org_unit: unit,
    };
    store
        .add_user(
            &NewUser {
                user: user.clone(),
                password_hash: PasswordHash("$argon2id$stand-in".into()),
            },
            Timestamp(0),
        )
        .expect("added");
    user
}

fn setup() -> (tempfile::TempDir, SqliteStore, User, User) {
    let (dir, mut s) = store();
    let zone = unit(1, OrgUnitKind::Zone, None);
    s.add_org_unit("zone", &zone).expect("zone");
    s.add_org_unit("town", &unit(2, OrgUnitKind::Town, Some(zone.id)))
        .expect("town");
    let a = user(&mut s, 10, zone.id);
    let b = user(&mut s, 11, zone.id);
    (dir, s, a, b)
}

#[test]
fn a_device_keeps_its_actor_across_logins_and_cannot_change_hands() {
    let (_dir, mut s, a, b) = setup();
    let id = DeviceId::from_random_bytes([3; 16]);
    let first = s
        .register_device(id, a.id, "phone", None, [7; 16], Timestamp(1))
        .expect("registered");
    assert_eq!(first.actor_id, "07".repeat(16));
    let again = s
        .register_device(id, a.id, "renamed", None, [8; 16], Timestamp(2))
        .expect("again");
    assert_eq!(
        (again.actor_id, again.name.as_str()),
        (first.actor_id, "renamed")
    );
    assert!(matches!(
        s.register_device(id, b.id, "stolen", None, [9; 16], Timestamp(3)),
        Err(StoreError::Conflict(_))
    ));
    let other = DeviceId::from_random_bytes([4; 16]);
    assert!(matches!(
        s.register_device(other, b.id, "same actor", None, [7; 16], Timestamp(3)),
        Err(StoreError::Duplicate { .. })
    ));
}

#[test]
fn a_device_id_is_bound_to_the_secret_of_the_phone_that_registered_it() {
    let (_dir, mut s, a, _) = setup();
    let id = DeviceId::from_random_bytes([3; 16]);
    let (phone, copy) = (TokenHash([1; 32]), TokenHash([2; 32]));
    let first = s
        .register_device(id, a.id, "phone", Some(&phone), [7; 16], Timestamp(1))
        .expect("registered");
    let again = s
        .register_device(id, a.id, "phone", Some(&phone), [8; 16], Timestamp(2))
        .expect("the same phone again");
    assert_eq!(again.actor_id, first.actor_id, "the phone keeps its actor");
    for presented in [Some(&copy), None] {
        assert!(
            matches!(
                s.register_device(id, a.id, "copy", presented, [9; 16], Timestamp(3)),
                Err(StoreError::Conflict(_))
            ),
            "another secret, or none, does not get the device"
        );
    }
    assert_eq!(s.device(id).expect("reads"), Some(again), "nothing changed");
}

#[test]
fn a_device_registered_without_a_secret_is_bound_by_the_first_one_presented() {
    let (_dir, mut s, a, _) = setup();
    let id = DeviceId::from_random_bytes([3; 16]);
    let old_app = s
        .register_device(id, a.id, "phone", None, [7; 16], Timestamp(1))
        .expect("registered by an app without secrets");
    let same = s
        .register_device(id, a.id, "phone", None, [8; 16], Timestamp(2))
        .expect("the old app again");
    assert_eq!(same.actor_id, old_app.actor_id);
    let updated = s
        .register_device(
            id,
            a.id,
            "phone",
            Some(&TokenHash([1; 32])),
            [8; 16],
            Timestamp(3),
        )
        .expect("the updated app binds it");
    assert_eq!(updated.actor_id, old_app.actor_id, "keeping its actor");
    assert!(matches!(
        s.register_device(id, a.id, "phone", None, [9; 16], Timestamp(4)),
        Err(StoreError::Conflict(_))
    ));
}

#[test]
fn revoking_a_device_revokes_its_tokens_and_blocks_re_registration() {
    let (_dir, mut s, a, _) = setup();
    let id = DeviceId::from_random_bytes([3; 16]);
    s.register_device(id, a.id, "phone", None, [7; 16], Timestamp(1))
        .expect("registered");
    let hash = TokenHash([5; 32]);
    s.store_token(&hash, id, TokenKind::Access, Timestamp(1), Timestamp(100))
        .expect("stored");
    s.revoke_device(id, Timestamp(50), "test").expect("revoked");
    let t = s.lookup_token(&hash).expect("looked up").expect("found");
    assert!(t.revoked);
    assert_eq!(t.device.revoked_at, Some(Timestamp(50)));
    assert!(matches!(
        s.register_device(id, a.id, "phone", None, [8; 16], Timestamp(60)),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.revoke_device(DeviceId::from_random_bytes([6; 16]), Timestamp(1), "test"),
        Err(StoreError::NotFound { what: "device", .. })
    ));
}

#[test]
fn assignments_hold_for_their_period_and_move_in_one_step() {
    let (_dir, mut s, a, b) = setup();
    let e = EnterpriseId::from_random_bytes([20; 16]);
    s.set_assignment(&Assignment {
        enterprise: e,
        user: a.id,
        valid_from: Timestamp(100),
        valid_to: None,
    })
    .expect("assigned");
    assert!(
        s.active_assignments(a.id, Timestamp(99))
            .expect("q")
            .is_empty()
    );
    assert!(
        s.active_assignments(a.id, Timestamp(100))
            .expect("q")
            .contains(&e)
    );
    s.move_assignment(e, a.id, b.id, Timestamp(200))
        .expect("moved");
    assert!(
        s.active_assignments(a.id, Timestamp(200))
            .expect("q")
            .is_empty()
    );
    assert!(
        s.active_assignments(a.id, Timestamp(150))
            .expect("q")
            .contains(&e)
    );
    assert!(
        s.active_assignments(b.id, Timestamp(200))
            .expect("q")
            .contains(&e)
    );
    assert!(matches!(
        s.move_assignment(e, a.id, b.id, Timestamp(300)),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        s.set_assignment(&Assignment {
            enterprise: e,
            user: a.id,
            valid_from: Timestamp(10),
            valid_to: Some(Timestamp(10)),
        }),
        Err(StoreError::Invalid(_))
    ));
}

#[test]
fn an_org_unit_import_with_an_unknown_parent_stores_nothing() {
    let (_dir, mut s, _, _) = setup();
    let row = |code: &str, parent: &str, n: u8| OrgUnitImport {
        code: code.into(),
        name: code.into(),
        kind: OrgUnitKind::Town,
        parent: Some(parent.into()),
        new_id: OrgUnitId::from_random_bytes([n; 16]),
    };
    let err = s
        .import_org_units(&[row("a", "zone", 30), row("b", "missing", 31)])
        .expect_err("unknown parent");
    assert!(matches!(
        err,
        StoreError::NotFound {
            what: "org unit",
            ..
        }
    ));
    assert!(s.org_unit_by_code("a").expect("q").is_none());
    s.import_org_units(&[row("a", "zone", 30), row("b", "a", 31)])
        .expect("imported");
    let zone = s
        .org_unit_by_code("zone")
        .expect("q")
        .expect("zone")
        .unit
        .id;
    assert_eq!(s.org_subtree(zone).expect("q").len(), 4);
}

#[test]
fn a_users_import_audits_each_user_and_the_file_or_stores_nothing() {
    let (_dir, mut s, taken, _) = setup();
    let zone = taken.org_unit;
    let imported = |n: u8, login: &str| ImportedUser {
        new: NewUser {
            user: User {
                id: UserId::from_random_bytes([n; 16]),
                login: login.into(),
                name: format!("User {n}"),
                role: Role::Officer,
                org_unit: zone,
            },
            password_hash: PasswordHash("$argon2id$stand-in".into()),
        },
        phone: None,
        detail: format!("{login} (users.csv)"),
    };
    let entries = |s: &SqliteStore| s.audit_log(0, 100).expect("log");

    // The second login is taken: neither user nor any entry is stored.
    let err = s
        .create_users(
            &[imported(40, "new-a"), imported(41, &taken.login)],
            Timestamp(5),
            "it",
            Some(("users.csv", "2 user(s)")),
        )
        .expect_err("a taken login");
    assert!(matches!(err, StoreError::Duplicate { .. }), "{err:?}");
    assert!(s.find_user_by_login("new-a").expect("q").is_none());
    assert!(entries(&s).is_empty());

    s.create_users(
        &[imported(40, "new-a"), imported(42, "new-b")],
        Timestamp(6),
        "it",
        Some(("users.csv", "2 user(s)")),
    )
    .expect("imported");
    let logged: Vec<(String, String, String, String)> = entries(&s)
        .into_iter()
        .map(|e| (e.actor, e.action, e.subject, e.detail))
        .collect();
    let entry = |action: &str, subject: &str, detail: &str| {
        (
            "it".to_string(),
            action.to_string(),
            subject.to_string(),
            detail.to_string(),
        )
    };
    assert_eq!(
        logged,
        [
            entry("user_added", "new-a", "new-a (users.csv)"),
            entry("user_added", "new-b", "new-b (users.csv)"),
            entry("imported", "users.csv", "2 user(s)"),
        ]
    );
}

#[test]
fn disabling_a_user_revokes_every_device_and_a_new_password_ends_sessions() {
    let (_dir, mut s, a, _) = setup();
    let id = DeviceId::from_random_bytes([3; 16]);
    s.register_device(id, a.id, "phone", None, [7; 16], Timestamp(1))
        .expect("registered");
    let hash = TokenHash([5; 32]);
    s.store_token(&hash, id, TokenKind::Refresh, Timestamp(1), Timestamp(100))
        .expect("stored");
    s.set_password(
        &a.login,
        &PasswordHash("$argon2id$new".into()),
        Timestamp(4),
        "test",
    )
    .expect("reset");
    assert!(s.lookup_token(&hash).expect("q").expect("found").revoked);
    assert_eq!(
        s.disable_user(&a.login, Timestamp(5), "test")
            .expect("disabled"),
        vec![id]
    );
    let u = s.find_user_by_login(&a.login).expect("q").expect("found");
    assert!(u.disabled);
    assert_eq!(format!("{:?}", u.password_hash), "PasswordHash(<redacted>)");
    assert!(
        s.device(id)
            .expect("q")
            .expect("found")
            .revoked_at
            .is_some()
    );
    assert!(matches!(
        s.disable_user("nobody", Timestamp(5), "test"),
        Err(StoreError::NotFound { what: "user", .. })
    ));
}

#[test]
fn two_connections_exchanging_one_refresh_token_at_once_give_one_rotation_and_one_reuse() {
    let (dir, mut s) = store();
    let zone = unit(1, OrgUnitKind::Zone, None);
    s.add_org_unit("zone", &zone).expect("zone");
    let a = user(&mut s, 1, zone.id);
    let id = DeviceId::from_random_bytes([1; 16]);
    s.register_device(id, a.id, "phone", None, [7; 16], Timestamp(1))
        .expect("registered");
    let presented = TokenHash([1; 32]);
    s.store_token(
        &presented,
        id,
        TokenKind::Refresh,
        Timestamp(1),
        Timestamp(1_000_000),
    )
    .expect("stored");
    drop(s);
    // Two processes on one file (a server and a second one, or the CLI), each its own
    // connection, racing from one barrier.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let racers: Vec<_> = (2u8..4)
        .map(|n| {
            let (path, barrier) = (dir.path().join("d.db"), barrier.clone());
            std::thread::spawn(move || {
                let mut store = SqliteStore::open(&path).expect("opens");
                let fresh = FreshTokens {
                    access: TokenHash([n; 32]),
                    access_expires_at: Timestamp(1_000),
                    refresh: TokenHash([n + 10; 32]),
                    refresh_expires_at: Timestamp(1_000_000),
                };
                barrier.wait();
                // No grace window: the loser is never taken for a lost answer's retry.
                store
                    .rotate_refresh_token(&presented, &fresh, Timestamp(10), 0, "from a test")
                    .expect("answered")
            })
        })
        .collect();
    let outcomes: Vec<Rotation> = racers
        .into_iter()
        .map(|r| r.join().expect("joined"))
        .collect();
    let rotated = outcomes
        .iter()
        .filter(|o| matches!(o, Rotation::Rotated(_)))
        .count();
    let reused = outcomes
        .iter()
        .filter(|o| matches!(o, Rotation::Reused(_)))
        .count();
    assert_eq!((rotated, reused), (1, 1), "{outcomes:?}");
}

#[test]
fn two_connections_retrying_one_lost_answer_at_once_give_one_retry_and_one_reuse() {
    let (dir, mut s) = store();
    let zone = unit(1, OrgUnitKind::Zone, None);
    s.add_org_unit("zone", &zone).expect("zone");
    let a = user(&mut s, 1, zone.id);
    let id = DeviceId::from_random_bytes([1; 16]);
    s.register_device(id, a.id, "phone", None, [7; 16], Timestamp(1))
        .expect("registered");
    let presented = TokenHash([1; 32]);
    s.store_token(
        &presented,
        id,
        TokenKind::Refresh,
        Timestamp(1),
        Timestamp(1_000_000),
    )
    .expect("stored");
    let fresh = |n: u8| FreshTokens {
        access: TokenHash([n; 32]),
        access_expires_at: Timestamp(100_000),
        refresh: TokenHash([n + 10; 32]),
        refresh_expires_at: Timestamp(1_000_000),
    };
    // The refresh whose answer is lost.
    let lost = s
        .rotate_refresh_token(&presented, &fresh(2), Timestamp(10), 1_000, "from a test")
        .expect("rotated");
    assert!(matches!(lost, Rotation::Rotated(_)), "{lost:?}");
    drop(s);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let racers: Vec<_> = (3u8..5)
        .map(|n| {
            let (path, barrier) = (dir.path().join("d.db"), barrier.clone());
            std::thread::spawn(move || {
                let mut store = SqliteStore::open(&path).expect("opens");
                barrier.wait();
                store
                    .rotate_refresh_token(
                        &presented,
                        &fresh(n),
                        Timestamp(20),
                        1_000,
                        "from a test",
                    )
                    .expect("answered")
            })
        })
        .collect();
    let outcomes: Vec<Rotation> = racers
        .into_iter()
        .map(|r| r.join().expect("joined"))
        .collect();
    let retried = outcomes
        .iter()
        .filter(|o| matches!(o, Rotation::Retried(_)))
        .count();
    let reused = outcomes
        .iter()
        .filter(|o| matches!(o, Rotation::Reused(_)))
        .count();
    assert_eq!((retried, reused), (1, 1), "{outcomes:?}");
}
