//! A user's own sessions in PostgreSQL, as SQLite's (`store/directory/sessions.rs`, whose rule
//! they apply: [`presented_state`], [`may_be_lost_answer`], [`LOST_PAIR`]): exchanging a
//! refresh token for its successor and changing one's own password, each one transaction with
//! its audit entry.
//!
//! **Invariant:** a rotation locks the presented token's row (`SELECT … FOR UPDATE`) before it
//! judges the token, so of several servers receiving one refresh token at once (a phone
//! retrying on another node) one rotates it and each other one, having waited for the lock,
//! finds it used: a forgiven retry (once) or a reuse, never a second rotation. A forgiven
//! retry locks the lost pair's rows too, so a first use of that pair on another server either
//! lands before (and the retry is a reuse) or after the pair is revoked.
//!
//! **Lock order:** the person's row, then tokens. A rotation takes the person's row shared
//! before its token, a password change takes it exclusively before every token of the person:
//! a reuse (which revokes the device's other tokens) and a password change at once run one
//! after the other instead of deadlocking.

use deadpool_postgres::{GenericClient, Transaction};
use shared::model::{DeviceId, Timestamp, UserId};

use super::PgDb;
use super::audit::append;
use super::directory::corrupt;
use super::sql::numbered;
use super::tokens::{LOOKUP, to_lookup};
use crate::store::{
    AuditAction, FreshTokens, LOST_PAIR, PasswordHash, Presented, Rotation, StoreError, TokenHash,
    TokenKind, TokenLookup, may_be_lost_answer, others_than, password_changed_detail,
    presented_state, retried_detail, reused_detail, token_hash,
};

/// [`crate::db::Tokens::rotate_refresh_token`] on PostgreSQL: one transaction, the presented
/// token's row locked first. Returning early rolls back (nothing was written).
pub(super) async fn rotate_refresh_token(
    db: &PgDb,
    presented: TokenHash,
    fresh: FreshTokens,
    now: Timestamp,
    grace_ms: i64,
    from: &str,
) -> Result<Rotation, StoreError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    // The person's row first, shared, as a password change locks it (exclusively) before
    // their tokens: locked in one order, the two never wait on each other in a circle.
    tx.execute(
        "SELECT 1 FROM users WHERE id = (SELECT d.user_id FROM tokens t \
         JOIN devices d ON d.id = t.device WHERE t.hash = $1) FOR SHARE",
        &[&presented.0.as_slice()],
    )
    .await?;
    let row = tx
        .query_opt(
            &format!("{LOOKUP} FOR UPDATE OF t"),
            &[&presented.0.as_slice()],
        )
        .await?;
    let Some(found) = row
        .map(|row| to_lookup(&row))
        .transpose()?
        .filter(|t| t.kind == TokenKind::Refresh)
    else {
        return Ok(Rotation::Unknown);
    };
    match presented_state(&found, now) {
        Presented::Dead => return Ok(Rotation::Dead(found)),
        Presented::Live => {
            let marked = tx
                .execute(
                    "UPDATE tokens SET rotated_at = $2, successor_refresh = $3, \
                     successor_access = $4 WHERE hash = $1 AND rotated_at IS NULL \
                     AND NOT revoked",
                    &[
                        &presented.0.as_slice(),
                        &now.0,
                        &fresh.refresh.0.as_slice(),
                        &fresh.access.0.as_slice(),
                    ],
                )
                .await?;
            if marked == 1 {
                issue(&tx, &found, &fresh, now).await?;
                tx.commit().await?;
                return Ok(Rotation::Rotated(found));
            }
        }
        Presented::Used => {
            if let Some([refresh, access]) =
                lost_answer(&tx, &presented, &found, now, grace_ms).await?
            {
                // The lost pair's refresh token counts as used: should it turn up after all,
                // it reached someone other than the phone, and that is a reuse.
                tx.execute(
                    "UPDATE tokens SET revoked = TRUE, rotated_at = COALESCE(rotated_at, $3) \
                     WHERE hash IN ($1, $2)",
                    &[&refresh.0.as_slice(), &access.0.as_slice(), &now.0],
                )
                .await?;
                tx.execute(
                    "UPDATE tokens SET retried_at = $2, successor_refresh = $3, \
                     successor_access = $4 WHERE hash = $1",
                    &[
                        &presented.0.as_slice(),
                        &now.0,
                        &fresh.refresh.0.as_slice(),
                        &fresh.access.0.as_slice(),
                    ],
                )
                .await?;
                issue(&tx, &found, &fresh, now).await?;
                append(
                    &tx,
                    now,
                    &found.user.user.login,
                    AuditAction::RefreshRetried,
                    &found.device.id.to_string(),
                    &retried_detail(from),
                )
                .await?;
                tx.commit().await?;
                return Ok(Rotation::Retried(found));
            }
        }
    }
    let revoked = tx
        .execute(
            "UPDATE tokens SET revoked = TRUE WHERE device = $1 AND NOT revoked",
            &[&found.device.id.to_string()],
        )
        .await?;
    append(
        &tx,
        now,
        &found.user.user.login,
        AuditAction::RefreshTokenReused,
        &found.device.id.to_string(),
        &reused_detail(usize::try_from(revoked).unwrap_or(usize::MAX), from),
    )
    .await?;
    tx.commit().await?;
    Ok(Rotation::Reused(found))
}

/// The lost pair of the used token `found` (hashed `presented`), rows locked, when the rule
/// forgives its presentation at `now` ([`may_be_lost_answer`], [`LOST_PAIR`]); `None` is a
/// reuse.
async fn lost_answer(
    tx: &Transaction<'_>,
    presented: &TokenHash,
    found: &TokenLookup,
    now: Timestamp,
    grace_ms: i64,
) -> Result<Option<[TokenHash; 2]>, StoreError> {
    if !may_be_lost_answer(found, now, grace_ms) {
        return Ok(None);
    }
    let row = tx
        .query_opt(
            &format!("{} FOR UPDATE OF r, a", numbered(LOST_PAIR)),
            &[&presented.0.as_slice()],
        )
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some([token_hash(row.get(0))?, token_hash(row.get(1))?]))
}

/// Stores `fresh` for the device of the refresh token `replaced` (the new refresh token keeps
/// its expiry) and notes the device's sight.
async fn issue(
    tx: &Transaction<'_>,
    replaced: &TokenLookup,
    fresh: &FreshTokens,
    now: Timestamp,
) -> Result<(), StoreError> {
    let device = replaced.device.id;
    for (hash, kind, expires) in [
        (fresh.refresh, TokenKind::Refresh, replaced.expires_at),
        (fresh.access, TokenKind::Access, fresh.access_expires_at),
    ] {
        insert_token(tx, hash, device, kind, now, expires).await?;
    }
    tx.execute(
        "UPDATE devices SET last_seen = GREATEST(last_seen, $2) WHERE id = $1",
        &[&device.to_string(), &now.0],
    )
    .await?;
    Ok(())
}

/// Stores the token hashed `hash` for `device`, valid from `issued_at` until `expires_at`.
pub(super) async fn insert_token(
    client: &impl GenericClient,
    hash: TokenHash,
    device: DeviceId,
    kind: TokenKind,
    issued_at: Timestamp,
    expires_at: Timestamp,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO tokens (hash, device, kind, issued_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &hash.0.as_slice(),
                &device.to_string(),
                &kind.code(),
                &issued_at.0,
                &expires_at.0,
            ],
        )
        .await?;
    Ok(())
}

/// [`crate::db::Tokens::change_own_password`] on PostgreSQL, as SQLite's
/// `SqliteStore::change_own_password`: one transaction, the user's row locked (two changes of
/// one password at once run one after the other).
pub(super) async fn change_own_password(
    db: &PgDb,
    user: UserId,
    hash: &PasswordHash,
    device: DeviceId,
    fresh: &FreshTokens,
    now: Timestamp,
) -> Result<Vec<DeviceId>, StoreError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    let user_id = user.to_string();
    let Some(row) = tx
        .query_opt(
            "SELECT login FROM users WHERE id = $1 FOR UPDATE",
            &[&user_id],
        )
        .await?
    else {
        return Err(StoreError::NotFound {
            what: "user",
            key: user_id,
        });
    };
    let login: String = row.get(0);
    let mut live = Vec::new();
    for row in tx
        .query(
            "SELECT id FROM devices WHERE user_id = $1 AND revoked_at IS NULL",
            &[&user_id],
        )
        .await?
    {
        let id: String = row.get(0);
        live.push(DeviceId::parse(&id).map_err(|e| corrupt("devices", e))?);
    }
    let others = others_than(device, live)?;
    tx.execute(
        "UPDATE users SET password_hash = $2 WHERE id = $1",
        &[&user_id, &hash.0],
    )
    .await?;
    tx.execute(
        "UPDATE tokens SET revoked = TRUE WHERE NOT revoked AND device IN \
         (SELECT id FROM devices WHERE user_id = $1)",
        &[&user_id],
    )
    .await?;
    for (hash, kind, expires) in [
        (fresh.access, TokenKind::Access, fresh.access_expires_at),
        (fresh.refresh, TokenKind::Refresh, fresh.refresh_expires_at),
    ] {
        insert_token(&tx, hash, device, kind, now, expires).await?;
    }
    append(
        &tx,
        now,
        &login,
        AuditAction::PasswordChanged,
        &login,
        &password_changed_detail(device, others.len()),
    )
    .await?;
    tx.commit().await?;
    Ok(others)
}
