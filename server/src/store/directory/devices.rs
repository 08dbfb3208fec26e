//! Registered devices and their session tokens: registration (one actor per device, never
//! changing hands, bound to the phone that registered it by the hash of its device secret),
//! revocation, last-seen times, hashed tokens and each device's scope state.

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use shared::model::{DeviceId, Timestamp, UserId};

use super::*;
use crate::store::audit::{AuditAction, append};
use crate::store::{SqliteStore, StoreError};

/// A device as the administrator's list shows it ([`SqliteStore::admin_devices`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminDevice {
    /// The device.
    pub device: Device,
    /// Its user's login.
    pub login: String,
    /// When it last synchronised, if ever.
    pub last_sync: Option<Timestamp>,
    /// Documents it last reported holding unsent; `None`: never reported.
    pub unsent: Option<u64>,
}

/// The audit detail of an administrator's revoking a device of `login` (both backends write
/// it).
pub(crate) fn revoked_detail(login: &str) -> String {
    format!("of {login}")
}

impl SqliteStore {
    /// Registers `id` for `user` with a new Automerge actor and the hash of the phone's device
    /// secret, or, when it is already theirs, not revoked and the phone's (see below), renames
    /// it and keeps its actor. Returns the device.
    ///
    /// The phone's: the stored secret hash is `secret`, or none is stored (a device registered
    /// before secrets, or by an app that sends none) and then a presented secret binds it.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the id belongs to another user, was revoked, or is bound
    /// to another secret (another phone presenting the id, or an old app presenting none) —
    /// the caller registers a fresh id instead; [`StoreError::Duplicate`] when the actor is
    /// taken.
    pub fn register_device(
        &mut self,
        id: DeviceId,
        user: UserId,
        name: &str,
        secret: Option<&TokenHash>,
        new_actor: [u8; 16],
        now: Timestamp,
    ) -> Result<Device, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing = tx
            .prepare_cached(&format!(
                "SELECT {DEVICE_COLUMNS}, secret_hash FROM devices WHERE id = ?1"
            ))?
            .query_row([id.to_string()], |r| {
                Ok((device_row(r)?, r.get::<_, Option<Vec<u8>>>(7)?))
            })
            .optional()?
            .map(|(d, h)| to_device(d).map(|d| (d, h)))
            .transpose()?;
        let presented = secret.map(|h| h.0.to_vec());
        match existing {
            Some((d, _)) if d.user != user || d.revoked_at.is_some() => {
                return Err(StoreError::Conflict(format!(
                    "device {id} is registered to another user or revoked"
                )));
            }
            Some((_, Some(stored))) if presented.as_ref() != Some(&stored) => {
                return Err(StoreError::Conflict(format!(
                    "device {id} is bound to another phone's secret"
                )));
            }
            Some(_) => {
                tx.prepare_cached(
                    "UPDATE devices SET name = ?2, last_seen = ?3, \
                     secret_hash = COALESCE(secret_hash, ?4) WHERE id = ?1",
                )?
                .execute(params![id.to_string(), name, now.0, presented])?;
            }
            None => {
                let actor: String = new_actor.iter().map(|b| format!("{b:02x}")).collect();
                tx.prepare_cached(
                    "INSERT INTO devices (id, user, name, actor_id, registered_at, last_seen, \
                     secret_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
                )?
                .execute(params![
                    id.to_string(),
                    user.to_string(),
                    name,
                    actor,
                    now.0,
                    presented
                ])
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Duplicate {
                            what: "device actor",
                            key: actor.clone(),
                        }
                    } else {
                        e.into()
                    }
                })?;
            }
        }
        let device = tx
            .prepare_cached(&format!(
                "SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1"
            ))?
            .query_row([id.to_string()], device_row)?;
        tx.commit()?;
        to_device(device)
    }

    /// Registers a device with a given actor (the demo district's devices, whose documents
    /// already name their actors).
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the id or actor is taken.
    pub fn add_device(&mut self, device: &Device) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO devices (id, user, name, actor_id, registered_at, revoked_at, \
                 last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                device.id.to_string(),
                device.user.to_string(),
                device.name,
                device.actor_id,
                device.registered_at.0,
                device.revoked_at.map(|t| t.0),
                device.last_seen.0,
            ])
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Duplicate {
                        what: "device",
                        key: device.id.to_string(),
                    }
                } else {
                    e.into()
                }
            })?;
        Ok(())
    }

    /// The device with this id.
    pub fn device(&self, id: DeviceId) -> Result<Option<Device>, StoreError> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1"
            ))?
            .query_row([id.to_string()], device_row)
            .optional()?
            .map(to_device)
            .transpose()
    }

    /// The hash of the device secret `id` is bound to, if any (what a handover file is signed
    /// with, `admin::handover`).
    pub fn device_secret_hash(&self, id: DeviceId) -> Result<Option<TokenHash>, StoreError> {
        let blob: Option<Option<Vec<u8>>> = self
            .conn
            .prepare_cached("SELECT secret_hash FROM devices WHERE id = ?1")?
            .query_row([id.to_string()], |r| r.get(0))
            .optional()?;
        blob.flatten()
            .map(|b| {
                <[u8; 32]>::try_from(b.as_slice())
                    .map(TokenHash)
                    .map_err(|_| corrupt("devices", "a secret hash of another length than 32"))
            })
            .transpose()
    }

    /// Every device with its user's login, most recently seen first; only `login`'s when given.
    pub fn list_devices(&self, login: Option<&str>) -> Result<Vec<(Device, String)>, StoreError> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT d.id, d.user, d.name, d.actor_id, d.registered_at, d.revoked_at, \
                 d.last_seen, u.login FROM devices d JOIN users u ON d.user = u.id \
                 WHERE ?1 IS NULL OR u.login = ?1 ORDER BY d.last_seen DESC, d.id",
            )?
            .query_map([login], |r| Ok((device_row(r)?, r.get::<_, String>(7)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(d, login)| Ok((to_device(d)?, login)))
            .collect()
    }

    /// Revokes a device and its tokens: its next request is refused with `device_revoked`;
    /// audited as `actor`'s [`AuditAction::DeviceRevoked`] in the same transaction. Revoking a
    /// revoked device changes nothing but the log.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown device.
    pub fn revoke_device(
        &mut self,
        id: DeviceId,
        now: Timestamp,
        actor: &str,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let login: Option<String> = tx
            .prepare_cached(
                "SELECT u.login FROM devices d JOIN users u ON d.user = u.id WHERE d.id = ?1",
            )?
            .query_row([id.to_string()], |r| r.get(0))
            .optional()?;
        let Some(login) = login else {
            return Err(StoreError::NotFound {
                what: "device",
                key: id.to_string(),
            });
        };
        tx.prepare_cached(
            "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
        )?
        .execute(params![id.to_string(), now.0])?;
        tx.prepare_cached("UPDATE tokens SET revoked = 1 WHERE device = ?1")?
            .execute([id.to_string()])?;
        let detail = revoked_detail(&login);
        append(
            &tx,
            now,
            actor,
            AuditAction::DeviceRevoked,
            &id.to_string(),
            &detail,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Every device for the administrator's list, most recently seen first: its user's login,
    /// its last sync and the unsent documents it last reported (`device_outbox`).
    pub fn admin_devices(&self) -> Result<Vec<AdminDevice>, StoreError> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT d.id, d.user, d.name, d.actor_id, d.registered_at, d.revoked_at, \
                 d.last_seen, u.login, s.last_seen, o.unsent FROM devices d \
                 JOIN users u ON d.user = u.id LEFT JOIN device_sync s ON s.device = d.id \
                 LEFT JOIN device_outbox o ON o.device = d.id \
                 ORDER BY d.last_seen DESC, d.id",
            )?
            .query_map([], |r| {
                Ok((
                    device_row(r)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, Option<i64>>(8)?,
                    r.get::<_, Option<i64>>(9)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(d, login, last_sync, unsent)| {
                Ok(AdminDevice {
                    device: to_device(d)?,
                    login,
                    last_sync: last_sync.map(Timestamp),
                    unsent: unsent.and_then(|n| u64::try_from(n).ok()),
                })
            })
            .collect()
    }

    /// Notes that a device was seen now.
    pub fn touch_device(&mut self, id: DeviceId, now: Timestamp) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE devices SET last_seen = MAX(last_seen, ?2) WHERE id = ?1")?
            .execute(params![id.to_string(), now.0])?;
        Ok(())
    }

    /// Stores a token's hash for a device.
    pub fn store_token(
        &mut self,
        hash: &TokenHash,
        device: DeviceId,
        kind: TokenKind,
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        insert_token(&self.conn, hash, device, kind, issued_at, expires_at)
    }

    /// The token with this hash, with its device and user.
    pub fn lookup_token(&self, hash: &TokenHash) -> Result<Option<TokenLookup>, StoreError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT t.kind, t.expires_at, t.revoked, d.id, d.user, d.name, d.actor_id, \
                 d.registered_at, d.revoked_at, d.last_seen, u.id, u.login, u.name, u.role, \
                 u.org_unit, u.disabled, u.password_hash, t.rotated_at, t.used_at \
                 FROM tokens t \
                 JOIN devices d ON t.device = d.id JOIN users u ON d.user = u.id \
                 WHERE t.hash = ?1",
            )?
            .query_row([hash.0.as_slice()], |r| {
                let token: (String, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
                let device: DeviceRow = (
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                );
                let user: [Value; 7] = [
                    r.get(10)?,
                    r.get(11)?,
                    r.get(12)?,
                    r.get(13)?,
                    r.get(14)?,
                    r.get(15)?,
                    r.get(16)?,
                ];
                let used: (Option<i64>, Option<i64>) = (r.get(17)?, r.get(18)?);
                Ok((token, device, user, used))
            })
            .optional()?;
        let Some(((kind, expires_at, revoked), device, user, (rotated_at, used_at))) = row else {
            return Ok(None);
        };
        let kind = TokenKind::from_code(&kind)
            .ok_or_else(|| corrupt("tokens", format!("token kind {kind:?}")))?;
        Ok(Some(TokenLookup {
            kind,
            expires_at: Timestamp(expires_at),
            revoked: revoked != 0,
            rotated_at: rotated_at.map(Timestamp),
            used_at: used_at.map(Timestamp),
            device: to_device(device)?,
            user: to_user(user)?,
        }))
    }

    /// Notes that the access token hashed `hash` authenticated a request at `now`, the first
    /// time only (`used_at` is set once): the bearer check calls it while the token's
    /// [`TokenLookup::used_at`] is empty, so it is one write per token, not per request. A
    /// used pair is no longer a lost refresh answer ([`SqliteStore::rotate_refresh_token`]).
    pub fn mark_token_used(&mut self, hash: &TokenHash, now: Timestamp) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE tokens SET used_at = ?2 WHERE hash = ?1 AND used_at IS NULL")?
            .execute(params![hash.0.as_slice(), now.0])?;
        Ok(())
    }

    /// Revokes every token of `device`, access and refresh (logout: the session ends on that
    /// phone, and a kept refresh token cannot start it again).
    pub fn revoke_device_tokens(&mut self, device: DeviceId) -> Result<usize, StoreError> {
        Ok(self
            .conn
            .prepare_cached("UPDATE tokens SET revoked = 1 WHERE device = ?1 AND revoked = 0")?
            .execute([device.to_string()])?)
    }

    /// Deletes tokens that expired before `now`; returns how many.
    pub fn purge_expired_tokens(&mut self, now: Timestamp) -> Result<usize, StoreError> {
        Ok(self
            .conn
            .prepare_cached("DELETE FROM tokens WHERE expires_at < ?1")?
            .execute([now.0])?)
    }

    /// The device's read-scope fingerprints (`store::rescope`).
    pub fn scope_state(&self, device: DeviceId) -> Result<ScopeState, StoreError> {
        crate::store::rescope::scope_state(&crate::store::sql::Lite(&self.conn), device)
    }
}

/// Stores a token's hash for a device on `conn` (the store's connection, or a transaction
/// that issues tokens together with other changes).
pub(super) fn insert_token(
    conn: &rusqlite::Connection,
    hash: &TokenHash,
    device: DeviceId,
    kind: TokenKind,
    issued_at: Timestamp,
    expires_at: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO tokens (hash, device, kind, issued_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        hash.0.as_slice(),
        device.to_string(),
        kind.code(),
        issued_at.0,
        expires_at.0
    ])?;
    Ok(())
}
