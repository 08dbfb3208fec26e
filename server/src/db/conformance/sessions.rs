//! The session writes of [`crate::db::Tokens`] on both backends: a refresh token's rotation
//! (reuse detection, the lost answer forgiven once, the expiry kept from the login, of two
//! simultaneous exchanges one pair left), a password change (also at once with a reuse), a
//! failed password check's audit.

use shared::model::{DeviceId, Timestamp};

use super::tokens::hash;
use super::{Seeded, T0};
use crate::store::{FreshTokens, PasswordHash, Rotation, StoreError, TokenKind};

/// How long after its use a refresh token may come again as a lost answer (2 min).
const GRACE: i64 = 120_000;

/// The login's refresh token expires 30 days after `T0`.
const SESSION_END: Timestamp = Timestamp(T0.0 + 30 * 24 * 3_600_000);

/// A refresh token `n` of `device` as a login stores it.
async fn refresh_token(b: &Seeded, n: u8, device: DeviceId) {
    b.tokens
        .store_token(hash(n), device, TokenKind::Refresh, T0, SESSION_END)
        .await
        .expect("store a refresh token");
}

/// Fresh tokens: access `n`, refresh `n + 1`, issued at `at` (the refresh one for 30 days from
/// then: a rotation must not take that).
fn fresh(n: u8, at: Timestamp) -> FreshTokens {
    FreshTokens {
        access: hash(n),
        access_expires_at: Timestamp(at.0 + 3_600_000),
        refresh: hash(n + 1),
        refresh_expires_at: Timestamp(at.0 + 30 * 24 * 3_600_000),
    }
}

/// Presents refresh token `n` at `at`, asking for [`fresh`] tokens `into`.
async fn present(b: &Seeded, n: u8, into: u8, at: Timestamp) -> Rotation {
    b.tokens
        .rotate_refresh_token(hash(n), fresh(into, at), at, GRACE, "from 10.0.0.7".into())
        .await
        .expect("rotate")
}

/// Whether token `n` is stored, not revoked and (a refresh token) not used.
async fn live(b: &Seeded, n: u8) -> bool {
    let found = b.tokens.lookup_token(hash(n)).await.expect("lookup");
    found.is_some_and(|t| !t.revoked && t.rotated_at.is_none())
}

/// The actions and subjects of the audit log, oldest first.
async fn audited(b: &Seeded) -> Vec<(String, String)> {
    let log = b.audit_log().await;
    log.into_iter().map(|e| (e.action, e.subject)).collect()
}

async fn a_live_refresh_token_is_exchanged_and_its_successor_ends_with_the_login(b: &Seeded) {
    let phone = b.devices[0].id;
    refresh_token(b, 1, phone).await;
    let at = Timestamp(T0.0 + 3_600_000);
    let rotation = present(b, 1, 10, at).await;
    assert!(matches!(rotation, Rotation::Rotated(_)), "{rotation:?}");
    let used = b.tokens.lookup_token(hash(1)).await.expect("lookup");
    assert_eq!(used.expect("the used token").rotated_at, Some(at));
    let access = b.tokens.lookup_token(hash(10)).await.expect("lookup");
    let access = access.expect("the new access token is stored");
    assert_eq!(
        (access.kind, access.expires_at, access.device.id),
        (TokenKind::Access, Timestamp(at.0 + 3_600_000), phone)
    );
    let refresh = b.tokens.lookup_token(hash(11)).await.expect("lookup");
    let refresh = refresh.expect("the new refresh token is stored");
    assert_eq!(refresh.kind, TokenKind::Refresh);
    assert_eq!(
        refresh.expires_at, SESSION_END,
        "the successor does not end with the login's session"
    );
    assert_eq!(
        refresh.device.last_seen, at,
        "the device's sight is not noted"
    );
    assert!(live(b, 11).await);
}

async fn a_used_refresh_token_whose_pair_was_used_is_a_reuse_that_ends_the_device(b: &Seeded) {
    let (phone, tablet) = (b.devices[0].id, b.devices[1].id);
    refresh_token(b, 1, phone).await;
    refresh_token(b, 2, tablet).await;
    let at = Timestamp(T0.0 + 1_000);
    present(b, 1, 10, at).await;
    // The new pair is in use: the phone got the answer.
    b.tokens
        .note_token_use(hash(10), true, Some(phone), Timestamp(at.0 + 1))
        .await
        .expect("first use");
    let again = present(b, 1, 20, Timestamp(at.0 + 2)).await;
    assert!(matches!(again, Rotation::Reused(_)), "{again:?}");
    for n in [1, 10, 11] {
        let t = b.tokens.lookup_token(hash(n)).await.expect("lookup");
        assert!(t.expect("stored").revoked, "token {n} of the device lives");
    }
    for n in [20, 21] {
        let issued = b.tokens.lookup_token(hash(n)).await.expect("lookup");
        assert!(issued.is_none(), "a reuse issued token {n}");
    }
    assert!(live(b, 2).await, "another device's session ended");
    let last = audited(b).await.pop();
    assert_eq!(
        last,
        Some(("refresh_token_reused".into(), phone.to_string())),
        "the reuse is not audited"
    );
}

async fn a_lost_answer_is_forgiven_once_and_its_unused_pair_dies(b: &Seeded) {
    let phone = b.devices[0].id;
    refresh_token(b, 1, phone).await;
    let at = Timestamp(T0.0 + 1_000);
    present(b, 1, 10, at).await;
    // The answer was lost: the phone presents its old token again, within the grace.
    let retry = present(b, 1, 20, Timestamp(at.0 + GRACE - 1)).await;
    assert!(matches!(retry, Rotation::Retried(_)), "{retry:?}");
    for n in [10, 11] {
        assert!(!live(b, n).await, "token {n} of the lost answer lives");
    }
    for n in [20, 21] {
        assert!(live(b, n).await, "token {n} of the retry is not live");
    }
    let refresh = b.tokens.lookup_token(hash(21)).await.expect("lookup");
    assert_eq!(refresh.expect("stored").expires_at, SESSION_END);
    assert_eq!(
        audited(b).await.pop(),
        Some(("refresh_retried".into(), phone.to_string()))
    );
    // Forgiven once: a second retry is a reuse.
    let second = present(b, 1, 30, Timestamp(at.0 + 2)).await;
    assert!(matches!(second, Rotation::Reused(_)), "{second:?}");
    assert!(!live(b, 21).await, "the device's session survived a reuse");
}

async fn a_used_refresh_token_after_the_grace_is_a_reuse(b: &Seeded) {
    let phone = b.devices[0].id;
    refresh_token(b, 1, phone).await;
    let at = Timestamp(T0.0 + 1_000);
    present(b, 1, 10, at).await;
    let late = present(b, 1, 20, Timestamp(at.0 + GRACE)).await;
    assert!(matches!(late, Rotation::Reused(_)), "{late:?}");
    assert!(!live(b, 11).await);
}

async fn a_dead_or_unknown_refresh_token_changes_nothing(b: &Seeded) {
    let (phone, tablet) = (b.devices[0].id, b.devices[1].id);
    refresh_token(b, 1, phone).await;
    super::tokens::access_token(b, 2, phone).await;
    refresh_token(b, 3, tablet).await;
    b.directory
        .revoke_own_device(b.user.id, tablet, T0, "丢失".into())
        .await
        .expect("revoke the tablet");
    let log = b.audit_log().await.len();
    let expired = present(b, 1, 10, SESSION_END).await;
    assert!(matches!(expired, Rotation::Dead(_)), "{expired:?}");
    let access = present(b, 2, 20, T0).await;
    assert!(matches!(access, Rotation::Unknown), "{access:?}");
    let unknown = present(b, 9, 30, T0).await;
    assert!(matches!(unknown, Rotation::Unknown), "{unknown:?}");
    match present(b, 3, 40, T0).await {
        Rotation::Dead(t) => assert!(t.device.revoked_at.is_some()),
        other => panic!("a revoked device's token: {other:?}"),
    }
    assert!(live(b, 1).await, "an expired token was used up");
    for n in [10, 20, 30, 40] {
        let issued = b.tokens.lookup_token(hash(n)).await.expect("lookup");
        assert!(issued.is_none(), "token {n} was issued");
    }
    assert_eq!(b.audit_log().await.len(), log, "something was audited");
}

async fn one_token_exchanged_twice_at_once_leaves_one_live_pair(b: &Seeded) {
    // Rounds, each with a token of its own, so the two exchanges overlap in some.
    for round in 0..8u8 {
        let (presented, first, second) = (100 + round, 10 * round + 1, 10 * round + 5);
        refresh_token(b, presented, b.devices[0].id).await;
        let at = Timestamp(T0.0 + 1_000 + i64::from(round));
        let (one, other) = tokio::join!(
            present(b, presented, first, at),
            present(b, presented, second, at)
        );
        let rotated = [&one, &other]
            .iter()
            .filter(|r| matches!(r, Rotation::Rotated(_)))
            .count();
        let retried = [&one, &other]
            .iter()
            .filter(|r| matches!(r, Rotation::Retried(_)))
            .count();
        assert_eq!(
            (rotated, retried),
            (1, 1),
            "round {round}: {one:?} and {other:?}"
        );
        let mut pairs = 0;
        for n in [first, second] {
            if live(b, n).await && live(b, n + 1).await {
                pairs += 1;
            }
        }
        assert_eq!(pairs, 1, "round {round}: {pairs} live pairs");
    }
}

async fn a_password_change_ends_every_session_of_the_person_and_issues_fresh_tokens(b: &Seeded) {
    let (phone, tablet, theirs) = (b.devices[0].id, b.devices[1].id, b.devices[2].id);
    super::tokens::access_token(b, 1, phone).await;
    refresh_token(b, 2, tablet).await;
    super::tokens::access_token(b, 3, theirs).await;
    let at = Timestamp(T0.0 + 5_000);
    let new = PasswordHash("$argon2id$v=19$m=19456,t=2,p=1$bmV1$bmV1".into());
    let others = b
        .tokens
        .change_own_password(b.user.id, new.clone(), phone, fresh(10, at), at)
        .await
        .expect("change");
    assert_eq!(others, vec![tablet], "the other devices to close");
    for n in [1, 2] {
        assert!(!live(b, n).await, "token {n} of the person lives");
    }
    assert!(live(b, 3).await, "another person's session ended");
    for (n, kind, expires) in [
        (10, TokenKind::Access, Timestamp(at.0 + 3_600_000)),
        (
            11,
            TokenKind::Refresh,
            Timestamp(at.0 + 30 * 24 * 3_600_000),
        ),
    ] {
        let t = b.tokens.lookup_token(hash(n)).await.expect("lookup");
        let t = t.expect("the fresh token is stored");
        assert_eq!((t.kind, t.expires_at, t.device.id), (kind, expires, phone));
        assert!(!t.revoked);
    }
    let user = b
        .directory
        .user_by_login("wang".into())
        .await
        .expect("find");
    assert_eq!(user.expect("wang").password_hash, new);
    let last = b.audit_log().await.pop().expect("an entry");
    assert_eq!(
        (
            last.action.as_str(),
            last.actor.as_str(),
            last.subject.as_str()
        ),
        ("password_changed", "wang", "wang")
    );
}

async fn a_password_change_from_another_persons_device_changes_nothing(b: &Seeded) {
    super::tokens::access_token(b, 1, b.devices[0].id).await;
    let before = b
        .directory
        .user_by_login("wang".into())
        .await
        .expect("find");
    let new = PasswordHash("$argon2id$v=19$m=19456,t=2,p=1$bmV1$bmV1".into());
    let refused = b
        .tokens
        .change_own_password(b.user.id, new, b.devices[2].id, fresh(10, T0), T0)
        .await;
    assert!(
        matches!(refused, Err(StoreError::NotFound { .. })),
        "{refused:?}"
    );
    let after = b
        .directory
        .user_by_login("wang".into())
        .await
        .expect("find");
    assert_eq!(
        after.map(|u| u.password_hash),
        before.map(|u| u.password_hash)
    );
    assert!(live(b, 1).await, "a refused change ended a session");
    let issued = b.tokens.lookup_token(hash(10)).await.expect("lookup");
    assert!(issued.is_none(), "a refused change issued tokens");
}

async fn a_failed_password_check_is_audited_and_a_person_found_by_login(b: &Seeded) {
    b.tokens
        .audit_failed_login(T0, "from 10.0.0.7".into(), "wang".into(), "为何".into())
        .await
        .expect("audit");
    let last = b.audit_log().await.pop().expect("an entry");
    assert_eq!(
        (
            last.action.as_str(),
            last.actor.as_str(),
            last.subject.as_str(),
            last.detail.as_str()
        ),
        ("login_failed", "from 10.0.0.7", "wang", "为何")
    );
    let disabled = b
        .directory
        .user_by_login("qian".into())
        .await
        .expect("find");
    assert!(disabled.expect("a disabled person is found").disabled);
    let nobody = b
        .directory
        .user_by_login("nobody".into())
        .await
        .expect("find");
    assert!(nobody.is_none());
}

async fn a_reuse_and_a_password_change_of_one_person_at_once_both_finish(b: &Seeded) {
    let (phone, tablet) = (b.devices[0].id, b.devices[1].id);
    // Rounds, each with tokens of their own, so the two writes overlap in some.
    for round in 0..8u8 {
        let base = 20 + 8 * round;
        let at = Timestamp(T0.0 + 10_000 * i64::from(round + 1));
        // An access token stored before the refresh token, so a password change meets it
        // first among the phone's tokens.
        super::tokens::access_token(b, base, phone).await;
        refresh_token(b, base + 1, phone).await;
        present(b, base + 1, base + 2, at).await;
        b.tokens
            .note_token_use(hash(base + 2), true, Some(phone), Timestamp(at.0 + 1))
            .await
            .expect("first use");
        let new = PasswordHash(format!("$argon2id$v=19$m=19456,t=2,p=1$bmV1$round{round}"));
        let later = Timestamp(at.0 + 2);
        let (reuse, change) = tokio::join!(
            b.tokens.rotate_refresh_token(
                hash(base + 1),
                fresh(base + 4, later),
                later,
                GRACE,
                "from 10.0.0.7".into(),
            ),
            b.tokens
                .change_own_password(b.user.id, new, tablet, fresh(base + 6, later), later)
        );
        let reuse = reuse.unwrap_or_else(|e| panic!("round {round}: the reuse failed: {e}"));
        assert!(
            matches!(reuse, Rotation::Reused(_) | Rotation::Dead(_)),
            "round {round}: {reuse:?}"
        );
        change.unwrap_or_else(|e| panic!("round {round}: the password change failed: {e}"));
        for n in [base, base + 1, base + 2, base + 3] {
            assert!(!live(b, n).await, "round {round}: token {n} lives");
        }
    }
}

on_both_backends!(
    a_live_refresh_token_is_exchanged_and_its_successor_ends_with_the_login,
    a_used_refresh_token_whose_pair_was_used_is_a_reuse_that_ends_the_device,
    a_lost_answer_is_forgiven_once_and_its_unused_pair_dies,
    a_used_refresh_token_after_the_grace_is_a_reuse,
    a_dead_or_unknown_refresh_token_changes_nothing,
    one_token_exchanged_twice_at_once_leaves_one_live_pair,
    a_password_change_ends_every_session_of_the_person_and_issues_fresh_tokens,
    a_password_change_from_another_persons_device_changes_nothing,
    a_reuse_and_a_password_change_of_one_person_at_once_both_finish,
    a_failed_password_check_is_audited_and_a_person_found_by_login,
);
