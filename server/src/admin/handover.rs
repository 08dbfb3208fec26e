//! `lianxin-server handover import FILE`: applies a handover file (交接文件,
//! [`shared::sync::handover`]) — the unsynced changes of a phone that never gets signal again —
//! as that device's own push, through the sync engine's [`handle_sync`] with the device's
//! scopes and authorship rules ([`crate::sync::push_access`]), exactly as if the phone had
//! synced: a change of another device's actor, another user's, or outside the scope is refused
//! and reported; what the server already has changes nothing, so a file imported twice is
//! harmless. The file must be signed with the device's secret (HMAC-SHA256 keyed by the hash
//! the server keeps) and the device must be registered to the user it names and not revoked.

use shared::config::Config;
use shared::model::Timestamp;
pub use shared::sync::handover::signature;
use shared::sync::handover::{Handover, HandoverFile};
use shared::sync::protocol::{self, Outcome, SyncRequest};
use shared::sync::server::{SyncContext, handle_sync};

use super::AdminError;
use crate::store::SqliteStore;

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoverReport {
    /// The device whose changes they were.
    pub device: String,
    /// Documents stored (or already there).
    pub accepted: usize,
    /// Documents refused, with why.
    pub refused: Vec<String>,
}

/// Equal, in time independent of where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks the handover in `bytes` and applies it at `now` under `config`.
///
/// # Errors
/// [`AdminError::Invalid`] for a file that is not a handover, names an unknown, revoked or
/// unbound device or another user, or whose signature does not hold (nothing is stored); a
/// request over the sync limits; [`AdminError::Store`] when the store fails.
pub fn import_handover(
    store: &mut SqliteStore,
    config: &Config,
    bytes: &[u8],
    now: Timestamp,
) -> Result<HandoverReport, AdminError> {
    let invalid = |why: String| AdminError::Invalid(format!("not imported: {why}"));
    let file: HandoverFile = protocol::decode(bytes)
        .map_err(|e| invalid(format!("this is not a handover file ({e})")))?;
    let handover: Handover = postcard::from_bytes(&file.payload).map_err(|e| {
        invalid(format!(
            "the handover inside the file does not decode ({e})"
        ))
    })?;
    let device = store
        .device(handover.device)?
        .ok_or_else(|| invalid(format!("no device {} is registered", handover.device)))?;
    if device.user != handover.user {
        return Err(invalid(format!(
            "device {} is not registered to the user the file names",
            device.id
        )));
    }
    if device.revoked_at.is_some() {
        return Err(invalid(format!(
            "device {} is revoked; import its handover before revoking it",
            device.id
        )));
    }
    let key = store.device_secret_hash(device.id)?.ok_or_else(|| {
        invalid(format!(
            "device {} has no device secret bound, so it cannot sign a handover",
            device.id
        ))
    })?;
    if !same(&signature(&key.0, &file.payload), &file.signature) {
        return Err(invalid(format!(
            "the signature does not hold: the file was changed, or not made by device {}",
            device.id
        )));
    }
    let user = store
        .user(device.user)?
        .ok_or_else(|| invalid(format!("the user of device {} is unknown", device.id)))?;
    if user.disabled {
        return Err(invalid(format!(
            "{} is disabled; a disabled user's changes are not accepted",
            user.user.login
        )));
    }
    let access = crate::sync::push_access(store, config, &user.user, &device, &handover.push, now)?;
    let request = SyncRequest {
        cursor: 0,
        ack: 0,
        device_time: handover.created_at,
        push: handover.push,
        max_response_bytes: 0,
        unsent: Some(0),
    };
    let ctx = SyncContext {
        declared: None,
        device: device.id,
        read: &access.read,
        write: &access.write,
        config,
        now,
        limits: shared::sync::limits::Limits::DEVICE,
        authorship: Some(&access.rules),
    };
    let response = handle_sync(store, &ctx, &request)
        .map_err(|e| invalid(format!("the sync engine refused the changes: {e}")))?;
    let mut report = HandoverReport {
        device: device.id.to_string(),
        accepted: 0,
        refused: Vec::new(),
    };
    for result in response.results {
        match result.outcome {
            Outcome::Accepted { .. } => report.accepted += 1,
            Outcome::Refused(why) => report.refused.push(format!("{}: {why}", result.doc)),
            Outcome::Resend { .. } => report.refused.push(format!(
                "{}: the server lacks earlier changes of it (restored from a backup?); \
                 the phone must sync it whole",
                result.doc
            )),
        }
    }
    Ok(report)
}
