//! A user's own sessions (会话) in the store: exchanging a refresh token for its successor
//! (rotation, with reuse detection that forgives a lost answer once), changing one's own
//! password, and one's own devices with their last sync. Each write is one immediate
//! transaction with its audit entry inside it, so of simultaneous requests presenting one
//! refresh token at most one is a rotation and at most one a forgiven retry. The rotation's
//! rule ([`presented_state`], [`may_be_lost_answer`], [`LOST_PAIR`]) and the audit details
//! are here once; PostgreSQL's transactions (`pg/sessions.rs`) apply them too.

use rusqlite::{OptionalExtension as _, Transaction, TransactionBehavior, params};
use shared::model::{DeviceId, Timestamp, UserId};

use super::*;
use crate::store::audit::{AuditAction, append};
use crate::store::{SqliteStore, StoreError};

/// New tokens for a device, already hashed, with their expiry.
#[derive(Debug, Clone, Copy)]
pub struct FreshTokens {
    /// The access token's hash.
    pub access: TokenHash,
    /// When the access token expires.
    pub access_expires_at: Timestamp,
    /// The refresh token's hash.
    pub refresh: TokenHash,
    /// When the refresh token expires (ignored by a rotation: the successor keeps the
    /// expiry of the token it replaces, so a session still ends 30 days after its login).
    pub refresh_expires_at: Timestamp,
}

/// What presenting a refresh token did (`db::Tokens::rotate_refresh_token`, on SQLite
/// [`SqliteStore::rotate_refresh_token`]).
#[derive(Debug)]
pub enum Rotation {
    /// It was live: it is now used up, and the fresh tokens are stored for its device.
    Rotated(TokenLookup),
    /// It was used up already, but as a lost answer (丢失的应答): presented again within the
    /// grace window, once, while the pair issued for it was never used. That pair is revoked,
    /// the fresh tokens are stored in its place, and the retry is in the audit log.
    Retried(TokenLookup),
    /// It was used up already (a copy presented after the original was exchanged, or the
    /// other way round): every token of its device is now revoked, and the reuse is in the
    /// audit log.
    Reused(TokenLookup),
    /// No refresh token of the store: nothing changed.
    Unknown,
    /// Known, but revoked, expired, of a revoked device or a disabled user: nothing changed.
    Dead(TokenLookup),
}

/// One of a user's own devices, as the account screen lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnDevice {
    /// The device.
    pub device: Device,
    /// When it last synchronised (its last commit or sync), if ever.
    pub last_sync: Option<Timestamp>,
}

impl SqliteStore {
    /// Exchanges the refresh token hashed `presented` for `fresh` tokens at `now`, in one
    /// immediate transaction: the presented token is marked used (`rotated_at`) only if it was
    /// not already, and remembers the pair issued for it, so of two simultaneous exchanges one
    /// wins. A used token presented again is a lost answer ([`Rotation::Retried`]) when
    /// [`lost_answer`] says so, and otherwise a reuse: every token of the device is revoked.
    /// Retries and reuses are audited (`from`: where the request came from).
    ///
    /// # Errors
    /// The store failed; nothing was written.
    pub fn rotate_refresh_token(
        &mut self,
        presented: &TokenHash,
        fresh: &FreshTokens,
        now: Timestamp,
        grace_ms: i64,
        from: &str,
    ) -> Result<Rotation, StoreError> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let Some(found) = self
            .lookup_token(presented)?
            .filter(|t| t.kind == TokenKind::Refresh)
        else {
            return Ok(Rotation::Unknown);
        };
        match presented_state(&found, now) {
            Presented::Dead => return Ok(Rotation::Dead(found)),
            Presented::Live => {
                let marked = tx
                    .prepare_cached(
                        "UPDATE tokens SET rotated_at = ?2, successor_refresh = ?3, \
                         successor_access = ?4 WHERE hash = ?1 AND rotated_at IS NULL \
                         AND revoked = 0",
                    )?
                    .execute(params![
                        presented.0.as_slice(),
                        now.0,
                        fresh.refresh.0.as_slice(),
                        fresh.access.0.as_slice()
                    ])?;
                if marked == 1 {
                    issue(&tx, &found, fresh, now)?;
                    tx.commit()?;
                    return Ok(Rotation::Rotated(found));
                }
            }
            Presented::Used => {
                if let Some(lost) = lost_answer(&tx, presented, &found, now, grace_ms)? {
                    // The lost pair's refresh token counts as used: should it turn up after
                    // all, it reached someone other than the phone, and that is a reuse.
                    tx.prepare_cached(
                        "UPDATE tokens SET revoked = 1, rotated_at = COALESCE(rotated_at, ?3) \
                         WHERE hash IN (?1, ?2)",
                    )?
                    .execute(params![
                        lost[0].0.as_slice(),
                        lost[1].0.as_slice(),
                        now.0
                    ])?;
                    tx.prepare_cached(
                        "UPDATE tokens SET retried_at = ?2, successor_refresh = ?3, \
                         successor_access = ?4 WHERE hash = ?1",
                    )?
                    .execute(params![
                        presented.0.as_slice(),
                        now.0,
                        fresh.refresh.0.as_slice(),
                        fresh.access.0.as_slice()
                    ])?;
                    issue(&tx, &found, fresh, now)?;
                    append(
                        &tx,
                        now,
                        &found.user.user.login,
                        AuditAction::RefreshRetried,
                        &found.device.id.to_string(),
                        &retried_detail(from),
                    )?;
                    tx.commit()?;
                    return Ok(Rotation::Retried(found));
                }
            }
        }
        let revoked = tx
            .prepare_cached("UPDATE tokens SET revoked = 1 WHERE device = ?1 AND revoked = 0")?
            .execute([found.device.id.to_string()])?;
        append(
            &tx,
            now,
            &found.user.user.login,
            AuditAction::RefreshTokenReused,
            &found.device.id.to_string(),
            &reused_detail(revoked, from),
        )?;
        tx.commit()?;
        Ok(Rotation::Reused(found))
    }

    /// Sets `user`'s own password hash, ends the sessions of all their devices (every token
    /// revoked; the devices stay registered and log in again with the new password) and gives
    /// the calling `device` `fresh` tokens, with the audit entry, in one transaction. Returns
    /// the user's other devices that are not revoked, whose open streams the caller closes.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown user or a device not theirs.
    pub fn change_own_password(
        &mut self,
        user: UserId,
        hash: &PasswordHash,
        device: DeviceId,
        fresh: &FreshTokens,
        now: Timestamp,
    ) -> Result<Vec<DeviceId>, StoreError> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let login: Option<String> = tx
            .prepare_cached("SELECT login FROM users WHERE id = ?1")?
            .query_row([user.to_string()], |r| r.get(0))
            .optional()?;
        let Some(login) = login else {
            return Err(StoreError::NotFound {
                what: "user",
                key: user.to_string(),
            });
        };
        let mut live = Vec::new();
        for id in tx
            .prepare_cached("SELECT id FROM devices WHERE user = ?1 AND revoked_at IS NULL")?
            .query_map([user.to_string()], |r| r.get::<_, String>(0))?
        {
            live.push(DeviceId::parse(&id?).map_err(|e| corrupt("devices", e))?);
        }
        let devices = others_than(device, live)?;
        tx.prepare_cached("UPDATE users SET password_hash = ?2 WHERE id = ?1")?
            .execute(params![user.to_string(), hash.0])?;
        tx.prepare_cached(
            "UPDATE tokens SET revoked = 1 WHERE revoked = 0 AND device IN \
             (SELECT id FROM devices WHERE user = ?1)",
        )?
        .execute([user.to_string()])?;
        for (hash, kind, expires) in [
            (fresh.access, TokenKind::Access, fresh.access_expires_at),
            (fresh.refresh, TokenKind::Refresh, fresh.refresh_expires_at),
        ] {
            super::devices::insert_token(&tx, &hash, device, kind, now, expires)?;
        }
        append(
            &tx,
            now,
            &login,
            AuditAction::PasswordChanged,
            &login,
            &password_changed_detail(device, devices.len()),
        )?;
        tx.commit()?;
        Ok(devices)
    }

    /// `user`'s own devices with their last sync, most recently seen first.
    pub fn own_devices(&self, user: UserId) -> Result<Vec<OwnDevice>, StoreError> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT d.id, d.user, d.name, d.actor_id, d.registered_at, d.revoked_at, \
                 d.last_seen, s.last_seen FROM devices d \
                 LEFT JOIN device_sync s ON s.device = d.id \
                 WHERE d.user = ?1 ORDER BY d.last_seen DESC, d.id",
            )?
            .query_map([user.to_string()], |r| {
                Ok((device_row(r)?, r.get::<_, Option<i64>>(7)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(d, last_sync)| {
                Ok(OwnDevice {
                    device: to_device(d)?,
                    last_sync: last_sync.map(Timestamp),
                })
            })
            .collect()
    }

    /// Revokes `device` for its own `user` (their lost phone), with the audit entry.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when no such device is theirs (another user's device is not
    /// told apart from an unknown one).
    pub fn revoke_own_device(
        &mut self,
        user: UserId,
        device: DeviceId,
        now: Timestamp,
        detail: &str,
    ) -> Result<(), StoreError> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let login: Option<String> = tx
            .prepare_cached(
                "SELECT u.login FROM devices d JOIN users u ON d.user = u.id \
                 WHERE d.id = ?1 AND d.user = ?2",
            )?
            .query_row(params![device.to_string(), user.to_string()], |r| r.get(0))
            .optional()?;
        let Some(login) = login else {
            return Err(StoreError::NotFound {
                what: "device",
                key: device.to_string(),
            });
        };
        tx.prepare_cached(
            "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
        )?
        .execute(params![device.to_string(), now.0])?;
        tx.prepare_cached("UPDATE tokens SET revoked = 1 WHERE device = ?1")?
            .execute([device.to_string()])?;
        append(
            &tx,
            now,
            &login,
            AuditAction::OwnDeviceRevoked,
            &device.to_string(),
            detail,
        )?;
        tx.commit()?;
        Ok(())
    }
}

/// Stores `fresh` for the device of the refresh token `replaced`: the new refresh token keeps
/// its expiry (a session still ends 30 days after its login).
fn issue(
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
        super::devices::insert_token(tx, &hash, device, kind, now, expires)?;
    }
    tx.prepare_cached("UPDATE devices SET last_seen = MAX(last_seen, ?2) WHERE id = ?1")?
        .execute(params![device.to_string(), now.0])?;
    Ok(())
}

/// What a refresh token presented at `now` is, before anything is written: the first half of
/// the rule both backends' rotations apply (SQLite's [`SqliteStore::rotate_refresh_token`],
/// PostgreSQL's in `pg/sessions.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presented {
    /// Of a revoked device; or never used, but revoked, expired or of a disabled user:
    /// nothing changes ([`Rotation::Dead`]).
    Dead,
    /// Never used and valid: it is exchanged ([`Rotation::Rotated`]).
    Live,
    /// Used already: a lost answer ([`may_be_lost_answer`] and [`LOST_PAIR`]) or a reuse.
    Used,
}

/// What the refresh token `found` presented at `now` is ([`Presented`]).
pub(crate) fn presented_state(found: &TokenLookup, now: Timestamp) -> Presented {
    if found.device.revoked_at.is_some() {
        Presented::Dead
    } else if found.rotated_at.is_some() {
        Presented::Used
    } else if found.revoked || found.user.disabled || now >= found.expires_at {
        Presented::Dead
    } else {
        Presented::Live
    }
}

/// The rule that tells a lost answer from a stolen token (OAuth 2.0 Security BCP's grace
/// period), its first half: the used refresh token `found`, presented again at `now`, may be a
/// phone retrying after the answer to its refresh was lost when
/// - it is not revoked, not expired, and its user is not disabled;
/// - it comes less than `grace_ms` after the token was used (`rotated_at`).
///
/// The second half is in the database, [`LOST_PAIR`]; anything else is a reuse.
pub(crate) fn may_be_lost_answer(found: &TokenLookup, now: Timestamp, grace_ms: i64) -> bool {
    let Some(used) = found.rotated_at else {
        return false;
    };
    !(found.revoked
        || found.user.disabled
        || now >= found.expires_at
        || now.0 >= used.0.saturating_add(grace_ms))
}

/// The second half of the lost-answer rule ([`may_be_lost_answer`]), one text both backends
/// run (PostgreSQL with its placeholder numbered and the pair's rows locked): the pair issued
/// for the used token hashed `?1` (refresh, access) when
/// - the used token was not forgiven before (`retried_at`): a lost answer is forgiven once,
///   so of two retries one is a reuse;
/// - the pair was never used: its refresh token never presented, its access token never
///   authenticated a request (`used_at`), neither revoked.
///
/// No row is a reuse.
pub(crate) const LOST_PAIR: &str = "SELECT r.hash, a.hash FROM tokens p \
     JOIN tokens r ON r.hash = p.successor_refresh \
     JOIN tokens a ON a.hash = p.successor_access \
     WHERE p.hash = ?1 AND p.retried_at IS NULL \
     AND r.rotated_at IS NULL AND NOT r.revoked AND a.used_at IS NULL AND NOT a.revoked";

/// The audit detail of a forgiven lost answer, the request from `from`.
pub(crate) fn retried_detail(from: &str) -> String {
    format!("the unused tokens of the lost answer revoked, new ones issued; {from}")
}

/// The audit detail of a reuse that revoked `revoked` tokens, the request from `from`.
pub(crate) fn reused_detail(revoked: usize, from: &str) -> String {
    format!("{revoked} token(s) of the device revoked; {from}")
}

/// The audit detail of a password change made on `device`, ending the sessions of `others`
/// other devices.
/// A person's live devices other than `device`, which must be among `live` (a password is
/// changed from one's own unrevoked device).
///
/// # Errors
/// [`StoreError::NotFound`] when `device` is not among them.
pub(crate) fn others_than(
    device: DeviceId,
    live: Vec<DeviceId>,
) -> Result<Vec<DeviceId>, StoreError> {
    if !live.contains(&device) {
        return Err(StoreError::NotFound {
            what: "device",
            key: device.to_string(),
        });
    }
    Ok(live.into_iter().filter(|d| *d != device).collect())
}

pub(crate) fn password_changed_detail(device: DeviceId, others: usize) -> String {
    format!("on device {device}; sessions ended on {others} other device(s)")
}

/// A token hash as the database gave it.
pub(crate) fn token_hash(bytes: Vec<u8>) -> Result<TokenHash, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(TokenHash)
        .map_err(|_| corrupt("tokens", "a token hash of another length"))
}

/// The used refresh token `found` (hashed `presented`) presented again at `now` is a phone
/// retrying after the answer to its refresh was lost when [`may_be_lost_answer`] and
/// [`LOST_PAIR`] say so. Returns that pair's hashes (refresh, access), to be revoked; `None`
/// is a reuse.
fn lost_answer(
    tx: &Transaction<'_>,
    presented: &TokenHash,
    found: &TokenLookup,
    now: Timestamp,
    grace_ms: i64,
) -> Result<Option<[TokenHash; 2]>, StoreError> {
    if !may_be_lost_answer(found, now, grace_ms) {
        return Ok(None);
    }
    let pair: Option<(Vec<u8>, Vec<u8>)> = tx
        .prepare_cached(LOST_PAIR)?
        .query_row([presented.0.as_slice()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((refresh, access)) = pair else {
        return Ok(None);
    };
    Ok(Some([token_hash(refresh)?, token_hash(access)?]))
}
