//! The administrator's changes to people and devices ([`crate::db::Directory`]'s
//! `admin_devices`, `revoke_device`, `disable_user`, `enable_user`, `reset_password`) on both
//! backends: each does what it says to the person's devices and tokens, with its audit entry
//! naming the administrator.

use shared::model::Timestamp;

use super::tokens::{access_token, hash};
use super::{Seeded, T0};
use crate::store::{PasswordHash, StoreError};

/// Whether token `n` is stored and not revoked.
async fn live(b: &Seeded, n: u8) -> bool {
    let found = b.tokens.lookup_token(hash(n)).await.expect("lookup");
    found.is_some_and(|t| !t.revoked)
}

/// The last audit entry: action, actor, subject, detail.
async fn last_entry(b: &Seeded) -> (String, String, String, String) {
    let e = b.audit_log().await.pop().expect("an entry");
    (e.action, e.actor, e.subject, e.detail)
}

fn entry(action: &str, subject: &str, detail: &str) -> (String, String, String, String) {
    (action.into(), "admin".into(), subject.into(), detail.into())
}

async fn an_administrator_revokes_a_device_and_its_tokens_only(b: &Seeded) {
    let (phone, tablet) = (b.devices[0].id, b.devices[1].id);
    access_token(b, 1, phone).await;
    access_token(b, 2, tablet).await;
    let at = Timestamp(T0.0 + 7_000);
    b.directory
        .revoke_device(phone, at, "admin".into())
        .await
        .expect("revoke");
    assert!(!live(b, 1).await, "the revoked device's token lives");
    assert!(live(b, 2).await, "another device's token died");
    let listed = b.directory.admin_devices().await.expect("list");
    let revoked = listed
        .iter()
        .find(|d| d.device.id == phone)
        .expect("listed");
    assert_eq!(revoked.device.revoked_at, Some(at));
    assert_eq!(
        last_entry(b).await,
        entry("device_revoked", &phone.to_string(), "of wang")
    );
    let unknown = shared::model::DeviceId::from_random_bytes([99; 16]);
    let refused = b.directory.revoke_device(unknown, at, "admin".into()).await;
    assert!(
        matches!(refused, Err(StoreError::NotFound { .. })),
        "{refused:?}"
    );
}

async fn disabling_a_person_revokes_their_devices_and_enabling_does_not_bring_them_back(
    b: &Seeded,
) {
    let (phone, tablet, theirs) = (b.devices[0].id, b.devices[1].id, b.devices[2].id);
    access_token(b, 1, phone).await;
    access_token(b, 2, theirs).await;
    let at = Timestamp(T0.0 + 7_000);
    let revoked = b
        .directory
        .disable_user("wang".into(), at, "admin".into())
        .await
        .expect("disable");
    assert_eq!(revoked, vec![phone, tablet]);
    assert!(!live(b, 1).await, "the disabled person's token lives");
    assert!(live(b, 2).await, "another person's token died");
    let wang = b
        .directory
        .user_by_login("wang".into())
        .await
        .expect("find");
    assert!(wang.expect("wang").disabled);
    assert_eq!(
        last_entry(b).await,
        entry("user_disabled", "wang", "2 device(s) revoked")
    );
    b.directory
        .enable_user("wang".into(), at, "admin".into())
        .await
        .expect("enable");
    let wang = b
        .directory
        .user_by_login("wang".into())
        .await
        .expect("find");
    assert!(!wang.expect("wang").disabled);
    let listed = b.directory.admin_devices().await.expect("list");
    for d in listed.iter().filter(|d| d.login == "wang") {
        assert_eq!(d.device.revoked_at, Some(at), "{} came back", d.device.name);
    }
    assert_eq!(last_entry(b).await, entry("user_enabled", "wang", ""));
    for refused in [
        b.directory
            .disable_user("nobody".into(), at, "admin".into())
            .await
            .map(|_| ()),
        b.directory
            .enable_user("nobody".into(), at, "admin".into())
            .await,
    ] {
        assert!(
            matches!(refused, Err(StoreError::NotFound { .. })),
            "{refused:?}"
        );
    }
}

async fn a_password_reset_sets_the_hash_and_ends_the_persons_sessions(b: &Seeded) {
    let (phone, tablet, theirs) = (b.devices[0].id, b.devices[1].id, b.devices[2].id);
    access_token(b, 1, phone).await;
    access_token(b, 2, tablet).await;
    access_token(b, 3, theirs).await;
    let new = PasswordHash("$argon2id$v=19$m=19456,t=2,p=1$cmVz$cmVz".into());
    let ended = b
        .directory
        .reset_password("wang".into(), new.clone(), T0, "admin".into())
        .await
        .expect("reset");
    assert_eq!(ended, vec![phone, tablet]);
    assert!(!live(b, 1).await && !live(b, 2).await, "a session lives");
    assert!(live(b, 3).await, "another person's session ended");
    let wang = b
        .directory
        .user_by_login("wang".into())
        .await
        .expect("find");
    assert_eq!(wang.expect("wang").password_hash, new);
    assert_eq!(
        last_entry(b).await,
        entry("password_reset", "wang", "sessions ended on 2 device(s)")
    );
    let unknown = b
        .directory
        .reset_password("nobody".into(), new, T0, "admin".into())
        .await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound { .. })),
        "{unknown:?}"
    );
}

async fn the_device_list_names_each_persons_login_most_recently_seen_first(b: &Seeded) {
    access_token(b, 1, b.devices[2].id).await;
    let later = Timestamp(T0.0 + 60_000);
    b.tokens
        .note_token_use(hash(1), false, Some(b.devices[2].id), later)
        .await
        .expect("touch");
    let listed = b.directory.admin_devices().await.expect("list");
    let seen: Vec<(String, String)> = listed
        .iter()
        .map(|d| (d.login.clone(), d.device.name.clone()))
        .collect();
    // Then the others, seen at the same time, by id (the seeded ids increase).
    let expected: Vec<(String, String)> = [(2, "zhao"), (0, "wang"), (1, "wang"), (3, "qian")]
        .into_iter()
        .map(|(n, login)| (login.to_string(), b.devices[n].name.clone()))
        .collect();
    assert_eq!(seen, expected);
    assert!(
        listed
            .iter()
            .all(|d| d.last_sync.is_none() && d.unsent.is_none())
    );
}

on_both_backends!(
    an_administrator_revokes_a_device_and_its_tokens_only,
    disabling_a_person_revokes_their_devices_and_enabling_does_not_bring_them_back,
    a_password_reset_sets_the_hash_and_ends_the_persons_sessions,
    the_device_list_names_each_persons_login_most_recently_seen_first,
);
