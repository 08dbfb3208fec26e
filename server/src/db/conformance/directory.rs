//! The directory ([`crate::db::Directory`]) on both backends: org units, subtrees, the
//! listing, a person's own devices and revoking one of them.

use std::collections::BTreeSet;

use shared::model::{OrgUnitId, Timestamp};

use super::tokens::{access_token, hash};
use super::{PEOPLE, Seeded, T0, UNITS, org_unit, person, unit_id};
use crate::store::StoreError;

async fn an_org_unit_is_found_with_its_code_kind_and_parent(b: &Seeded) {
    for code in ["zone", "a1", "d1"] {
        let found = b.directory.org_unit(unit_id(code)).await.expect("read");
        let found = found.unwrap_or_else(|| panic!("unit {code} not found"));
        assert_eq!(found.code, code);
        assert_eq!(found.unit, org_unit(code));
    }
    let unknown = b.directory.org_unit(OrgUnitId::from_random_bytes([99; 16]));
    assert_eq!(unknown.await.expect("read"), None);
}

async fn a_subtree_holds_its_root_and_every_unit_below_it_and_nothing_beside(b: &Seeded) {
    let ids = |codes: &[&str]| codes.iter().map(|c| unit_id(c)).collect::<BTreeSet<_>>();
    for (root, expected) in [
        ("zone", ids(&["zone", "a", "a1", "b", "d", "d1", "d2"])),
        ("a", ids(&["a", "a1"])),
        ("d", ids(&["d", "d1", "d2"])),
        ("d2", ids(&["d2"])),
        ("b", ids(&["b"])),
    ] {
        let subtree = b.directory.org_subtree(unit_id(root)).await;
        assert_eq!(subtree.expect("read"), expected, "the subtree of {root}");
    }
}

async fn the_listing_holds_every_unit_by_code_and_every_person_by_login(b: &Seeded) {
    let (units, users) = b.directory.listing().await.expect("read");
    let mut codes: Vec<&str> = UNITS.iter().map(|(c, _, _)| *c).collect();
    codes.sort_unstable();
    let listed: Vec<&str> = units.iter().map(|u| u.code.as_str()).collect();
    assert_eq!(listed, codes);
    for u in &units {
        assert_eq!(u.unit, org_unit(&u.code));
    }
    let mut logins: Vec<&str> = PEOPLE.iter().map(|(l, _, _)| *l).collect();
    logins.sort_unstable();
    let listed: Vec<&str> = users.iter().map(|u| u.user.login.as_str()).collect();
    assert_eq!(listed, logins);
    for u in &users {
        assert_eq!(u.user, person(&u.user.login));
        assert_eq!(
            u.disabled,
            u.user.login == "qian",
            "{}'s flag",
            u.user.login
        );
    }
}

async fn own_devices_are_the_persons_only_most_recently_seen_first(b: &Seeded) {
    let [phone, tablet, theirs, _] = &b.devices;
    // The tablet is seen later than the phone.
    let later = Timestamp(T0.0 + 60_000);
    b.tokens
        .note_token_use(hash(1), false, Some(tablet.id), later)
        .await
        .expect("touch the tablet");
    let own = b.directory.own_devices(b.user.id).await.expect("read");
    let ids: Vec<_> = own.iter().map(|d| d.device.id).collect();
    assert_eq!(ids, [tablet.id, phone.id], "not {theirs:?}, newest first");
    assert_eq!(own[0].device.last_seen, later);
    assert_eq!(own[1].device, *phone);
    assert!(own.iter().all(|d| d.last_sync.is_none()), "never synced");
}

async fn revoking_an_own_device_revokes_it_and_its_tokens_with_an_audit_entry(b: &Seeded) {
    let [phone, tablet, ..] = &b.devices;
    access_token(b, 1, phone.id).await;
    access_token(b, 2, tablet.id).await;
    let before = b.audit_log().await.len();
    let at = Timestamp(T0.0 + 5_000);
    b.directory
        .revoke_own_device(b.user.id, phone.id, at, "丢失".into())
        .await
        .expect("revoke");
    let own = b.directory.own_devices(b.user.id).await.expect("read");
    let revoked_at = |id| own.iter().find(|d| d.device.id == id).expect("listed");
    assert_eq!(revoked_at(phone.id).device.revoked_at, Some(at));
    assert_eq!(revoked_at(tablet.id).device.revoked_at, None);
    for (n, expected) in [(1, true), (2, false)] {
        let found = b.tokens.lookup_token(hash(n)).await.expect("lookup");
        assert_eq!(found.expect("found").revoked, expected, "token {n}");
    }
    let log = b.audit_log().await;
    let added: Vec<_> = log[before..]
        .iter()
        .map(|e| (e.action.as_str(), e.actor.as_str(), e.subject.clone()))
        .collect();
    assert_eq!(
        added,
        [("own_device_revoked", "wang", phone.id.to_string())],
        "the audit entries it added"
    );
}

async fn another_persons_device_is_not_revoked(b: &Seeded) {
    let theirs = &b.devices[2];
    access_token(b, 3, theirs.id).await;
    let before = b.audit_log().await.len();
    let refused = b
        .directory
        .revoke_own_device(b.user.id, theirs.id, T0, "不是我的".into())
        .await;
    assert!(
        matches!(refused, Err(StoreError::NotFound { what: "device", .. })),
        "{refused:?}"
    );
    let zhao = person("zhao");
    let listed = b.directory.own_devices(zhao.id).await.expect("read");
    assert_eq!(
        listed[0].device.revoked_at, None,
        "their device was revoked"
    );
    let token = b.tokens.lookup_token(hash(3)).await.expect("lookup");
    assert!(!token.expect("found").revoked, "their token was revoked");
    assert_eq!(b.audit_log().await.len(), before, "an entry was audited");
}

on_both_backends!(
    an_org_unit_is_found_with_its_code_kind_and_parent,
    a_subtree_holds_its_root_and_every_unit_below_it_and_nothing_beside,
    the_listing_holds_every_unit_by_code_and_every_person_by_login,
    own_devices_are_the_persons_only_most_recently_seen_first,
    revoking_an_own_device_revokes_it_and_its_tokens_with_an_audit_entry,
    another_persons_device_is_not_revoked,
);
