//! Documents a device holds that left its read scope (移出范围): what the server tells the
//! device to remove when its scope changed (`SyncResponse::gone`). What a device holds is
//! `device_docs`: every document delivered to it (acknowledged) or pushed by it; a row with
//! empty heads (never a real document's) is one the device was told is gone.

use rusqlite::params;
use shared::model::{DeviceId, EnterpriseId};
use shared::sync::protocol::DocId;
use shared::sync::validate::Scope;

use super::group::write_tx;
use super::{SqliteStore, StoreError};

impl SqliteStore {
    /// The documents `device` holds that `scope` no longer allows, in id order.
    pub fn out_of_scope(
        &mut self,
        device: DeviceId,
        scope: &Scope,
    ) -> Result<Vec<DocId>, StoreError> {
        if matches!(scope, Scope::All) {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, String)> = self
            .conn
            .prepare_cached(
                "SELECT dd.doc_id, d.enterprise FROM device_docs dd \
                 JOIN docs d ON d.doc_id = dd.doc_id WHERE dd.device = ?1 ORDER BY dd.doc_id",
            )?
            .query_map([device.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let corrupt = |detail: String| StoreError::Corrupt {
            table: "docs",
            detail,
        };
        let mut gone = Vec::new();
        for (doc, enterprise) in rows {
            let doc = DocId::parse(&doc).map_err(|e| corrupt(e.to_string()))?;
            let enterprise =
                EnterpriseId::parse(&enterprise).map_err(|e| corrupt(e.to_string()))?;
            if !scope.allows(&doc, &enterprise) {
                gone.push(doc);
            }
        }
        Ok(gone)
    }

    /// Records that `device` was told `docs` are gone: their `device_docs` rows keep no heads
    /// (nothing is known to be on the device, so were they to come back into its scope, the
    /// re-scoped feed sends them whole), but stay listed by [`SqliteStore::out_of_scope`] so an
    /// answer lost on the way names them again.
    pub fn mark_gone(&mut self, device: DeviceId, docs: &[DocId]) -> Result<(), StoreError> {
        let device = device.to_string();
        let tx = write_tx(&mut self.conn)?;
        {
            let mut mark = tx.prepare_cached(
                "UPDATE device_docs SET heads = X'' WHERE device = ?1 AND doc_id = ?2",
            )?;
            for doc in docs {
                mark.execute(params![device, doc.as_str()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The device acknowledged the answer that named its gone documents: their rows go.
    pub fn drop_gone(&mut self, device: DeviceId) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM device_docs WHERE device = ?1 AND heads = X''")?
            .execute([device.to_string()])?;
        Ok(())
    }
}
