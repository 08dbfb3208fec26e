//! A device's last sync as the leaders and the settling window read it (`device_sync`): when
//! it last synced and its clock then, when it last settled (nothing left to send) and since
//! when it has been syncing with work left. Written once over [`Sql`] and run on both
//! backends (SQLite's `SqliteStore::record_sync`, PostgreSQL's `PgSyncStore::record_sync`);
//! what the bound a commit's claimed times get from it is `store/projection.rs`'s
//! `previous_sync`.

use shared::model::{DeviceId, Timestamp};

use super::StoreError;
use super::sql::{Sql, Value};

/// How long a device's recorded last sync may lag behind while its clock skew holds, ms.
const SYNC_RECORD_EVERY_MS: i64 = 60_000;
/// A change of clock skew smaller than this is network delay, not worth a write, ms.
const SKEW_JITTER_MS: i64 = 1_000;

/// Records a successful sync of `device` received at `at` and sent at the device's
/// `device_time` (`device_sync`: the leaders' last sync and clock skew), changes or none;
/// `settled` when the device had nothing left to send after it (it reported nothing
/// unsent and every push was accepted), which bounds the times it may claim later
/// (`shared::server_time`); the first sync after a settled one that leaves work behind
/// starts the device's settling window (`unsettled_since`, see `projection`'s
/// `previous_sync`). Writes only when the stored row is older than a minute or the skew
/// moved by a second or more, or the device settled or stopped being settled, so an idle
/// device's periodic sync costs no write (a settled time up to a minute old only makes the
/// bound more lenient). The one definition, run on either backend.
pub(crate) fn record_sync(
    db: &dyn Sql,
    device: DeviceId,
    at: Timestamp,
    device_time: Timestamp,
    settled: bool,
) -> Result<(), StoreError> {
    let device = Value::Text(device.to_string());
    let stored = db
        .query_opt(
            "SELECT last_seen, last_device_time, settled_at, unsettled_since \
             FROM device_sync WHERE device = ?",
            std::slice::from_ref(&device),
        )?
        .map(|r| Ok::<_, StoreError>((r.int(0)?, r.int(1)?, r.opt_int(2)?, r.opt_int(3)?)))
        .transpose()?;
    let skew = at.0.saturating_sub(device_time.0);
    if let Some((seen, seen_device_time, settled_at, unsettled_since)) = stored
        && at.0.saturating_sub(seen) < SYNC_RECORD_EVERY_MS
        && skew
            .saturating_sub(seen.saturating_sub(seen_device_time))
            .abs()
            < SKEW_JITTER_MS
        && settled == unsettled_since.is_none()
        && (!settled || settled_at.is_some_and(|s| at.0.saturating_sub(s) < SYNC_RECORD_EVERY_MS))
    {
        return Ok(());
    }
    // The casts keep PostgreSQL from reading `?2` in a CASE as text.
    db.execute(
        "INSERT INTO device_sync (device, last_seen, last_device_time, settled_at, \
         unsettled_since) \
         VALUES (?1, ?2, ?3, CASE WHEN ?4 THEN CAST(?2 AS BIGINT) END, \
         CASE WHEN ?4 THEN NULL ELSE CAST(?2 AS BIGINT) END) \
         ON CONFLICT (device) DO UPDATE SET last_seen = excluded.last_seen, \
         last_device_time = excluded.last_device_time, \
         settled_at = CASE WHEN ?4 THEN excluded.last_seen ELSE device_sync.settled_at END, \
         unsettled_since = CASE WHEN ?4 THEN NULL \
         ELSE coalesce(device_sync.unsettled_since, excluded.last_seen) END",
        &[
            device,
            Value::Integer(at.0),
            Value::Integer(device_time.0),
            Value::from(settled),
        ],
    )?;
    Ok(())
}
