//! Session tokens ([`crate::db::Tokens`]) on both backends.

use shared::model::{DeviceId, Timestamp};

use super::{Seeded, T0};
use crate::store::{TokenHash, TokenKind};

pub(super) fn hash(n: u8) -> TokenHash {
    TokenHash([n; 32])
}

/// An access token for an hour from `T0`.
pub(super) async fn access_token(b: &Seeded, n: u8, device: DeviceId) {
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

async fn a_token_of_a_disabled_user_says_so(b: &Seeded) {
    access_token(b, 1, b.devices[3].id).await;
    access_token(b, 2, b.devices[0].id).await;
    let disabled = b.tokens.lookup_token(hash(1)).await.expect("lookup");
    let disabled = disabled.expect("found");
    assert_eq!(disabled.user.user.login, "qian");
    assert!(
        disabled.user.disabled,
        "a disabled user's token reads enabled"
    );
    let enabled = b.tokens.lookup_token(hash(2)).await.expect("lookup");
    assert!(
        !enabled.expect("found").user.disabled,
        "an enabled user reads disabled"
    );
}

on_both_backends!(
    a_token_of_a_disabled_user_says_so,
    a_stored_token_is_found_with_its_device_and_user,
    an_unknown_token_is_not_found,
    a_token_keeps_its_first_use,
    a_device_is_never_seen_earlier_than_it_was,
    revoking_a_device_revokes_its_tokens_only,
);
