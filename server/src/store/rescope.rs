//! Re-scoping a device whose read scope changed (an enterprise moved to another officer, a
//! person moved to another unit), written once for both backends. The device's cursor counts
//! in the scope it last confirmed (`devices.scope_confirmed`); a request made in another scope
//! is served from cursor 0, and its answer names the documents the device holds that the new
//! scope no longer allows (`SyncResponse::gone`, from `device_docs`) so the device removes
//! them. The new scope is pending (`scope_pending`, with the delivery that served it) until the
//! device acknowledges that delivery: then it is confirmed and the gone rows are dropped.
//!
//! SQLite runs [`begin`] and [`finish`] under its writer lock (`sync::read_phase`,
//! `sync::finish_phase`); PostgreSQL runs them on the request's connection
//! (`PgSyncStore`), each statement on its own: [`finish`] reads the state again before
//! writing it, so a request of the same device that confirmed a scope meanwhile is not undone.

use shared::model::{DeviceId, EnterpriseId};
use shared::sync::protocol::{DocId, SyncResponse};
use shared::sync::validate::Scope;

use super::sql::{Lite, Sql, Value, values};
use super::{ScopeState, SqliteStore, StoreError};

/// A store the re-scoping rule runs on: its statements, and an empty delivery of the engine's.
pub(crate) trait ScopeStore {
    /// Runs `f` on the store's connection.
    fn with_sql<T>(
        &mut self,
        f: impl FnOnce(&dyn Sql) -> Result<T, StoreError>,
    ) -> Result<T, StoreError>;

    /// Records a delivery of nothing to `device`: the number the device acknowledges.
    fn empty_delivery(&mut self, device: DeviceId) -> Result<u64, StoreError>;
}

impl ScopeStore for SqliteStore {
    fn with_sql<T>(
        &mut self,
        f: impl FnOnce(&dyn Sql) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        f(&Lite(&self.conn))
    }

    fn empty_delivery(&mut self, device: DeviceId) -> Result<u64, StoreError> {
        shared::sync::server::ServerStore::record_delivery(self, device, &[])
    }
}

/// Phase one of a request of `device` made in the scope whose fingerprint is `current`,
/// having acknowledged delivery `ack`: confirms a pending scope the device has now applied
/// (dropping the rows of what it was told is gone), and answers whether the request is
/// re-scoped (to be served from cursor 0).
///
/// # Errors
/// The database failed.
pub(crate) fn begin(
    store: &mut impl ScopeStore,
    device: DeviceId,
    current: &str,
    ack: u64,
) -> Result<bool, StoreError> {
    store.with_sql(|sql| {
        let mut state = scope_state(sql, device)?;
        if let Some((pending, since)) = &state.pending
            && pending == current
            && ack >= *since
        {
            state.confirmed = Some(current.to_string());
            state.pending = None;
            set_scope_state(sql, device, &state)?;
            // The device applied the answer that named what left its scope.
            drop_gone(sql, device)?;
        }
        Ok(state.confirmed.as_deref() != Some(current))
    })
}

/// Phase three of a re-scoped request (after its commit): names in `response` what the device
/// holds that `read` no longer allows, makes sure the device has a delivery to acknowledge,
/// and leaves the scope `current` pending on that delivery.
///
/// # Errors
/// The database failed.
pub(crate) fn finish(
    store: &mut impl ScopeStore,
    device: DeviceId,
    read: &Scope,
    current: &str,
    ack: u64,
    response: &mut SyncResponse,
) -> Result<(), StoreError> {
    response.gone = store.with_sql(|sql| {
        let gone = out_of_scope(sql, device, read)?;
        mark_gone(sql, device, &gone)?;
        Ok(gone)
    })?;
    if response.delivery == ack {
        // Nothing was delivered, but the device must still say it applied this response.
        response.delivery = store.empty_delivery(device)?;
    }
    let delivery = response.delivery;
    store.with_sql(|sql| {
        // Read again: another request of the device may have confirmed a scope since phase
        // one, and writing back what phase one read would undo that.
        let mut state = scope_state(sql, device)?;
        if state.confirmed.as_deref() != Some(current) {
            state.pending = Some((current.to_string(), delivery));
            // What was confirmed before no longer says what the device holds (it removes
            // what this answer names gone): a return to that scope is re-scoped too.
            state.confirmed = None;
            set_scope_state(sql, device, &state)?;
        }
        Ok(())
    })
}

/// The device's read-scope fingerprints (nothing recorded: the default, never confirmed).
pub(crate) fn scope_state(sql: &dyn Sql, device: DeviceId) -> Result<ScopeState, StoreError> {
    let Some(row) = sql.query_opt(
        "SELECT scope_confirmed, scope_pending, scope_pending_since FROM devices WHERE id = ?1",
        &values![device.to_string()],
    )?
    else {
        return Ok(ScopeState::default());
    };
    let (confirmed, pending, since) = (row.opt_text(0)?, row.opt_text(1)?, row.opt_int(2)?);
    Ok(ScopeState {
        confirmed,
        pending: match (pending, since) {
            (Some(p), Some(s)) => Some((p, u64::try_from(s).unwrap_or(0))),
            _ => None,
        },
    })
}

/// Records the device's read-scope fingerprints.
pub(crate) fn set_scope_state(
    sql: &dyn Sql,
    device: DeviceId,
    state: &ScopeState,
) -> Result<(), StoreError> {
    let pending = state.pending.as_ref();
    sql.execute(
        "UPDATE devices SET scope_confirmed = ?2, scope_pending = ?3, scope_pending_since = ?4 \
         WHERE id = ?1",
        &[
            Value::Text(device.to_string()),
            state.confirmed.clone().map_or(Value::Null, Value::Text),
            pending.map_or(Value::Null, |(p, _)| Value::Text(p.clone())),
            pending.map_or(Value::Null, |(_, s)| {
                Value::Integer(i64::try_from(*s).unwrap_or(i64::MAX))
            }),
        ],
    )?;
    Ok(())
}

/// The documents `device` holds that `scope` no longer allows, in id order. What a device
/// holds is `device_docs`: every document delivered to it (acknowledged) or pushed by it.
pub(crate) fn out_of_scope(
    sql: &dyn Sql,
    device: DeviceId,
    scope: &Scope,
) -> Result<Vec<DocId>, StoreError> {
    if matches!(scope, Scope::All) {
        return Ok(Vec::new());
    }
    let order = sql.dialect().bytewise("dd.doc_id");
    let rows = sql.query(
        &format!(
            "SELECT dd.doc_id, d.enterprise FROM device_docs dd \
             JOIN docs d ON d.doc_id = dd.doc_id WHERE dd.device = ?1 ORDER BY {order}"
        ),
        &values![device.to_string()],
    )?;
    let corrupt = |detail: String| StoreError::Corrupt {
        table: "docs",
        detail,
    };
    let mut gone = Vec::new();
    for row in rows {
        let doc = DocId::parse(&row.text(0)?).map_err(|e| corrupt(e.to_string()))?;
        let enterprise = EnterpriseId::parse(&row.text(1)?).map_err(|e| corrupt(e.to_string()))?;
        if !scope.allows(&doc, &enterprise) {
            gone.push(doc);
        }
    }
    Ok(gone)
}

/// Records that `device` was told `docs` are gone: their `device_docs` rows keep no heads
/// (empty heads are never a real document's: nothing is known to be on the device, so were
/// they to come back into its scope, the re-scoped feed sends them whole), but stay listed by
/// [`out_of_scope`] so an answer lost on the way names them again.
pub(crate) fn mark_gone(sql: &dyn Sql, device: DeviceId, docs: &[DocId]) -> Result<(), StoreError> {
    if docs.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = docs.iter().map(DocId::as_str).collect();
    let ids = serde_json::to_string(&ids).map_err(|e| StoreError::Invalid(e.to_string()))?;
    sql.execute(
        &format!(
            "UPDATE device_docs SET heads = ? WHERE device = ? AND doc_id IN ({})",
            sql.dialect().json_texts()
        ),
        &[
            Value::Blob(Vec::new()),
            Value::Text(device.to_string()),
            Value::Text(ids),
        ],
    )?;
    Ok(())
}

/// The device acknowledged the answer that named its gone documents: their rows go.
pub(crate) fn drop_gone(sql: &dyn Sql, device: DeviceId) -> Result<(), StoreError> {
    sql.execute(
        "DELETE FROM device_docs WHERE device = ?1 AND length(heads) = 0",
        &values![device.to_string()],
    )?;
    Ok(())
}
