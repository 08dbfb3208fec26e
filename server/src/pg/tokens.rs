//! Session tokens in PostgreSQL: [`crate::db::Tokens`], the same facts as SQLite's
//! `store/directory/devices.rs`; the session writes (a refresh token's rotation, a password
//! change) are `pg/sessions.rs`.

use shared::model::{DeviceId, Timestamp, UserId};
use tokio_postgres::Row;

use super::PgDb;
use super::audit::append;
use super::directory::{to_device, to_user};
use crate::db::{DbFuture, Tokens};
use crate::store::{
    AuditAction, FreshTokens, PasswordHash, Rotation, StoreError, TokenHash, TokenKind, TokenLookup,
};

/// A token hashed `$1` with its device and user, as [`to_lookup`] reads it (`FOR UPDATE OF t`
/// appended, the token's row is locked).
pub(super) const LOOKUP: &str = "SELECT t.kind, t.expires_at, t.revoked, t.rotated_at, t.used_at, \
     d.id, d.user_id, d.name, d.actor_id, d.registered_at, d.revoked_at, \
     d.last_seen, u.id, u.login, u.name, u.role, u.org_unit, u.disabled, \
     u.password_hash \
     FROM tokens t \
     JOIN devices d ON t.device = d.id JOIN users u ON d.user_id = u.id \
     WHERE t.hash = $1";

/// A row of [`LOOKUP`].
pub(super) fn to_lookup(row: &Row) -> Result<TokenLookup, StoreError> {
    let kind: String = row.get(0);
    let kind = TokenKind::from_code(&kind).ok_or_else(|| StoreError::Corrupt {
        table: "tokens",
        detail: format!("token kind {kind:?}"),
    })?;
    Ok(TokenLookup {
        kind,
        expires_at: Timestamp(row.get(1)),
        revoked: row.get(2),
        rotated_at: row.get::<_, Option<i64>>(3).map(Timestamp),
        used_at: row.get::<_, Option<i64>>(4).map(Timestamp),
        device: to_device(row, 5)?,
        user: to_user(row, 12)?,
    })
}

impl Tokens for PgDb {
    fn store_token(
        &self,
        hash: TokenHash,
        device: DeviceId,
        kind: TokenKind,
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> DbFuture<'_, ()> {
        Box::pin(async move {
            let client = self.client().await?;
            super::sessions::insert_token(&client, hash, device, kind, issued_at, expires_at).await
        })
    }

    fn lookup_token(&self, hash: TokenHash) -> DbFuture<'_, Option<TokenLookup>> {
        Box::pin(async move {
            let row = self
                .client()
                .await?
                .query_opt(LOOKUP, &[&hash.0.as_slice()])
                .await?;
            row.map(|row| to_lookup(&row)).transpose()
        })
    }

    fn note_token_use(
        &self,
        hash: TokenHash,
        first_use: bool,
        touched: Option<DeviceId>,
        now: Timestamp,
    ) -> DbFuture<'_, ()> {
        Box::pin(async move {
            let client = self.client().await?;
            if first_use {
                client
                    .execute(
                        "UPDATE tokens SET used_at = $2 WHERE hash = $1 AND used_at IS NULL",
                        &[&hash.0.as_slice(), &now.0],
                    )
                    .await?;
            }
            if let Some(device) = touched {
                client
                    .execute(
                        "UPDATE devices SET last_seen = GREATEST(last_seen, $2) WHERE id = $1",
                        &[&device.to_string(), &now.0],
                    )
                    .await?;
            }
            Ok(())
        })
    }

    fn revoke_device_tokens(&self, device: DeviceId) -> DbFuture<'_, usize> {
        Box::pin(async move {
            let revoked = self
                .client()
                .await?
                .execute(
                    "UPDATE tokens SET revoked = TRUE WHERE device = $1 AND NOT revoked",
                    &[&device.to_string()],
                )
                .await?;
            Ok(usize::try_from(revoked).unwrap_or(usize::MAX))
        })
    }

    fn log_out(&self, device: DeviceId, login: String, at: Timestamp) -> DbFuture<'_, ()> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            tx.execute(
                "UPDATE tokens SET revoked = TRUE WHERE device = $1 AND NOT revoked",
                &[&device.to_string()],
            )
            .await?;
            append(
                &tx,
                at,
                &login,
                AuditAction::Logout,
                &device.to_string(),
                "",
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn rotate_refresh_token(
        &self,
        presented: TokenHash,
        fresh: FreshTokens,
        now: Timestamp,
        grace_ms: i64,
        from: String,
    ) -> DbFuture<'_, Rotation> {
        Box::pin(async move {
            super::sessions::rotate_refresh_token(self, presented, fresh, now, grace_ms, &from)
                .await
        })
    }

    fn change_own_password(
        &self,
        user: UserId,
        hash: PasswordHash,
        device: DeviceId,
        fresh: FreshTokens,
        now: Timestamp,
    ) -> DbFuture<'_, Vec<DeviceId>> {
        Box::pin(async move {
            super::sessions::change_own_password(self, user, &hash, device, &fresh, now).await
        })
    }

    fn audit_failed_login(
        &self,
        at: Timestamp,
        from: String,
        attempted: String,
        detail: String,
    ) -> DbFuture<'_, ()> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            append(
                &tx,
                at,
                &from,
                AuditAction::LoginFailed,
                &attempted,
                &detail,
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }
}
