//! The device's storage: one IndexedDB database, `lianxin`, with five object stores —
//! `docs` (Automerge bytes by document id, as pulled or saved), `heads` (each stored
//! document's heads, so the replica is restored without building documents), `acked` (heads
//! the server acknowledged), `refused` (the server's refusal and the heads it concerns) and
//! `meta` (cursor, delivery ack, session, device id); heads are 32-byte hashes concatenated.
//! The sync engine's batches — after a sync response and after a local save — are written by
//! [`Db::persist`], each one transaction that has committed before the call returns, so the UI
//! says "saved" only for data on the device.

use automerge::ChangeHash;
use idb::{Database, DatabaseEvent as _, Factory, ObjectStoreParams, TransactionMode};
use js_sys::Uint8Array;
use shared::sync::client::PersistBatch;
use shared::sync::protocol::{self, DocId, Hash, Refusal};
use wasm_bindgen::JsValue;

const DB_NAME: &str = "lianxin";
/// Version 2 added `heads`; documents stored by version 1 have none and are built at start.
const DB_VERSION: u32 = 2;
const DOCS: &str = "docs";
const HEADS: &str = "heads";
const ACKED: &str = "acked";
const REFUSED: &str = "refused";
const META: &str = "meta";
const ALL: [&str; 5] = [DOCS, HEADS, ACKED, REFUSED, META];

/// Meta key of the change-feed cursor.
const CURSOR: &str = "cursor";
/// Meta key of the delivery acknowledgement.
const ACK: &str = "ack";
/// Meta key of the time of the last stored sync response (ms).
const LAST_SYNC: &str = "last_sync";

/// Why storage failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbError {
    /// The browser offers no IndexedDB (private mode, blocked storage).
    Unavailable(String),
    /// The device's storage quota is full: nothing of the write was kept.
    Quota(String),
    /// Any other failure: nothing of the write was kept.
    Failed(String),
}

impl DbError {
    fn from_idb(error: idb::Error) -> Self {
        let text = error.to_string();
        if text.contains("Quota") || text.contains("quota") {
            DbError::Quota(text)
        } else {
            DbError::Failed(text)
        }
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::Unavailable(m) | DbError::Quota(m) | DbError::Failed(m) => f.write_str(m),
        }
    }
}

/// Everything the sync replica is rebuilt from at start.
#[derive(Debug, Default)]
pub struct Stored {
    /// Stored documents and their heads (`None` for one stored before heads were kept).
    pub docs: Vec<(DocId, Vec<u8>, Option<Vec<ChangeHash>>)>,
    /// Acknowledged heads per document.
    pub acked: Vec<(DocId, Vec<ChangeHash>)>,
    /// Refusals per document, with the heads they concern.
    pub refused: Vec<(DocId, Vec<ChangeHash>, Refusal)>,
    /// Change-feed cursor.
    pub cursor: u64,
    /// Delivery acknowledgement.
    pub ack: u64,
    /// When the last sync response was stored (ms since the epoch).
    pub last_sync: Option<i64>,
}

fn bytes(value: &[u8]) -> JsValue {
    Uint8Array::from(value).into()
}

fn to_bytes(value: &JsValue) -> Vec<u8> {
    Uint8Array::new(value).to_vec()
}

fn key(id: &DocId) -> JsValue {
    JsValue::from_str(id.as_str())
}

fn heads_bytes(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

fn heads_from(bytes: &[u8]) -> Vec<ChangeHash> {
    bytes
        .chunks_exact(32)
        .filter_map(|c| <[u8; 32]>::try_from(c).ok())
        .map(ChangeHash)
        .collect()
}

/// The open database.
#[derive(Debug)]
pub struct Db {
    db: Database,
}

impl Db {
    /// Opens (and on first use creates) the database.
    pub async fn open() -> Result<Db, DbError> {
        let factory = Factory::new().map_err(|e| DbError::Unavailable(e.to_string()))?;
        let mut request = factory
            .open(DB_NAME, Some(DB_VERSION))
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        request.on_upgrade_needed(|event| {
            let Ok(db) = event.database() else {
                return;
            };
            let existing = db.store_names();
            for name in ALL {
                if !existing.iter().any(|n| n == name) {
                    // A failure here aborts the upgrade, and `open` reports it.
                    let _ = db.create_object_store(name, ObjectStoreParams::new());
                }
            }
        });
        let db = request
            .await
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        Ok(Db { db })
    }

    async fn all(
        &self,
        tx: &idb::Transaction,
        store: &str,
    ) -> Result<Vec<(String, JsValue)>, DbError> {
        let store = tx.object_store(store).map_err(DbError::from_idb)?;
        let keys = store
            .get_all_keys(None, None)
            .map_err(DbError::from_idb)?
            .await
            .map_err(DbError::from_idb)?;
        let values = store
            .get_all(None, None)
            .map_err(DbError::from_idb)?
            .await
            .map_err(DbError::from_idb)?;
        Ok(keys
            .into_iter()
            .zip(values)
            .filter_map(|(k, v)| k.as_string().map(|k| (k, v)))
            .collect())
    }

    /// Reads everything the replica is rebuilt from.
    pub async fn load(&self) -> Result<Stored, DbError> {
        let tx = self
            .db
            .transaction(&ALL, TransactionMode::ReadOnly)
            .map_err(DbError::from_idb)?;
        let mut stored = Stored::default();
        // IndexedDB lists both stores in key order, so a document's heads are found by
        // walking them alongside (no map: each map type is code the phone downloads).
        let mut heads = self.all(&tx, HEADS).await?.into_iter().peekable();
        for (k, v) in self.all(&tx, DOCS).await? {
            while heads.next_if(|(earlier, _)| *earlier < k).is_some() {}
            let doc_heads = heads
                .next_if(|(same, _)| *same == k)
                .map(|(_, h)| heads_from(&to_bytes(&h)));
            if let Ok(id) = DocId::parse(&k) {
                stored.docs.push((id, to_bytes(&v), doc_heads));
            }
        }
        for (k, v) in self.all(&tx, ACKED).await? {
            if let Ok(id) = DocId::parse(&k) {
                stored.acked.push((id, heads_from(&to_bytes(&v))));
            }
        }
        for (k, v) in self.all(&tx, REFUSED).await? {
            let Ok(id) = DocId::parse(&k) else { continue };
            if let Ok((heads, refusal)) = protocol::decode::<(Vec<Hash>, Refusal)>(&to_bytes(&v)) {
                stored
                    .refused
                    .push((id, protocol::from_wire(&heads), refusal));
            }
        }
        for (k, v) in self.all(&tx, META).await? {
            match k.as_str() {
                CURSOR => stored.cursor = v.as_f64().unwrap_or(0.0) as u64,
                ACK => stored.ack = v.as_f64().unwrap_or(0.0) as u64,
                LAST_SYNC => stored.last_sync = v.as_f64().map(|ms| ms as i64),
                _ => {}
            }
        }
        Ok(stored)
    }

    /// Writes one batch the sync engine asked for, atomically; a batch from a sync response
    /// (one with a feed position) also records when it was stored.
    pub async fn persist(&self, batch: &PersistBatch) -> Result<(), DbError> {
        let tx = self
            .db
            .transaction(&ALL, TransactionMode::ReadWrite)
            .map_err(DbError::from_idb)?;
        let store = |name: &str| tx.object_store(name).map_err(DbError::from_idb);
        let (docs, heads, acked, refused, meta) = (
            store(DOCS)?,
            store(HEADS)?,
            store(ACKED)?,
            store(REFUSED)?,
            store(META)?,
        );
        for saved in &batch.docs {
            docs.put(&bytes(&saved.bytes), Some(&key(&saved.id)))
                .map_err(DbError::from_idb)?;
            heads
                .put(&bytes(&heads_bytes(&saved.heads)), Some(&key(&saved.id)))
                .map_err(DbError::from_idb)?;
        }
        for id in &batch.removed {
            for store in [&docs, &heads, &acked, &refused] {
                store.delete(key(id)).map_err(DbError::from_idb)?;
            }
        }
        for (id, heads) in &batch.acked {
            acked
                .put(&bytes(&heads_bytes(heads)), Some(&key(id)))
                .map_err(DbError::from_idb)?;
        }
        for (id, mark) in &batch.refused {
            match mark {
                Some((heads, refusal)) => {
                    // Not deflated: the app carries no deflate compressor (`encode_plain`).
                    let encoded =
                        protocol::encode_plain(&(protocol::to_wire(heads), refusal.clone()));
                    refused
                        .put(&bytes(&encoded), Some(&key(id)))
                        .map_err(DbError::from_idb)?;
                }
                None => {
                    refused.delete(key(id)).map_err(DbError::from_idb)?;
                }
            }
        }
        if let Some(position) = batch.position {
            for (name, value) in [
                (CURSOR, position.cursor as f64),
                (ACK, position.ack as f64),
                (LAST_SYNC, js_sys::Date::now()),
            ] {
                meta.put(&JsValue::from_f64(value), Some(&JsValue::from_str(name)))
                    .map_err(DbError::from_idb)?;
            }
        }
        commit(tx).await
    }

    /// A meta value, if set.
    pub async fn get_meta(&self, name: &str) -> Result<Option<JsValue>, DbError> {
        let tx = self
            .db
            .transaction(&[META], TransactionMode::ReadOnly)
            .map_err(DbError::from_idb)?;
        let meta = tx.object_store(META).map_err(DbError::from_idb)?;
        meta.get(JsValue::from_str(name))
            .map_err(DbError::from_idb)?
            .await
            .map_err(DbError::from_idb)
    }

    /// Sets (or with `None` removes) a meta value.
    pub async fn put_meta(&self, name: &str, value: Option<&JsValue>) -> Result<(), DbError> {
        let tx = self
            .db
            .transaction(&[META], TransactionMode::ReadWrite)
            .map_err(DbError::from_idb)?;
        let meta = tx.object_store(META).map_err(DbError::from_idb)?;
        match value {
            Some(v) => {
                meta.put(v, Some(&JsValue::from_str(name)))
                    .map_err(DbError::from_idb)?;
            }
            None => {
                meta.delete(JsValue::from_str(name))
                    .map_err(DbError::from_idb)?;
            }
        }
        commit(tx).await
    }

    /// Removes every record and the sync position (logout, revoked device); `keep` names meta
    /// values that stay (the device id).
    pub async fn wipe(&self, keep: &[&str]) -> Result<(), DbError> {
        let kept = {
            let mut kept = Vec::new();
            for name in keep {
                if let Some(v) = self.get_meta(name).await? {
                    kept.push((*name, v));
                }
            }
            kept
        };
        let tx = self
            .db
            .transaction(&ALL, TransactionMode::ReadWrite)
            .map_err(DbError::from_idb)?;
        for name in ALL {
            tx.object_store(name)
                .map_err(DbError::from_idb)?
                .clear()
                .map_err(DbError::from_idb)?;
        }
        let meta = tx.object_store(META).map_err(DbError::from_idb)?;
        for (name, value) in &kept {
            meta.put(value, Some(&JsValue::from_str(name)))
                .map_err(DbError::from_idb)?;
        }
        commit(tx).await
    }
}

async fn commit(tx: idb::Transaction) -> Result<(), DbError> {
    let result = tx
        .commit()
        .map_err(DbError::from_idb)?
        .await
        .map_err(DbError::from_idb)?;
    if result.is_committed() {
        Ok(())
    } else {
        Err(DbError::Failed(
            "the storage transaction was aborted".into(),
        ))
    }
}
