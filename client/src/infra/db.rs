//! The device's storage: one IndexedDB database, `lianxin`, with five object stores —
//! `docs` (Automerge bytes by document id, as pulled or saved), `heads` (each stored
//! document's heads, so the replica is restored without building documents), `acked` (heads
//! the server acknowledged), `refused` (the server's refusal and the heads it concerns) and
//! `meta` (cursor, delivery ack, session, device id); heads are 32-byte hashes concatenated.
//! The sync engine's batches — after a sync response and after a local save — are written by
//! [`Db::persist`], each one transaction that has committed before the call returns, so the UI
//! says "saved" only for data on the device. The IndexedDB calls themselves are `db.js`
//! beside this file, a small JavaScript module (open, read every store, get, one
//! transaction's writes) that release builds bundle into the app's script.

use automerge::ChangeHash;
use js_sys::{Array, Uint8Array};
use shared::sync::client::PersistBatch;
use shared::sync::protocol::{self, DocId, Hash, Refusal};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

// db.js: much less to download than Rust wrappers over web-sys's IndexedDB bindings. Each
// call rejects with the error's text.
#[wasm_bindgen(module = "/src/infra/db.js")]
extern "C" {
    /// Opens database `name` at `version`, creating the `stores` it lacks.
    #[wasm_bindgen(catch)]
    async fn open(name: &str, version: u32, stores: &Array) -> Result<JsValue, JsValue>;
    /// Each of `stores`' `[keys, values]`, in key order, from one transaction.
    #[wasm_bindgen(catch, js_name = readAll)]
    async fn read_all(db: &JsValue, stores: &Array) -> Result<JsValue, JsValue>;
    /// The value under `key` in `store`, or undefined.
    #[wasm_bindgen(catch)]
    async fn get(db: &JsValue, store: &str, key: &str) -> Result<JsValue, JsValue>;
    /// Applies `ops` (`[store, key, value]` puts, `[store, key]` deletes, `[store]` clears)
    /// in one transaction over `stores`, resolving once it has committed.
    #[wasm_bindgen(catch)]
    async fn write(db: &JsValue, stores: &Array, ops: &Array) -> Result<JsValue, JsValue>;
}

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
    /// A failed write or read, from db.js's rejection.
    fn from_js(error: JsValue) -> Self {
        let text = error.as_string().unwrap_or_default();
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

/// `[store, key, value]` (a put) or, without a value, `[store, key]` (a delete).
fn op(store: &str, key: &str, value: Option<&JsValue>) -> JsValue {
    let (store, key) = (JsValue::from_str(store), JsValue::from_str(key));
    match value {
        Some(value) => Array::of3(&store, &key, value).into(),
        None => Array::of2(&store, &key).into(),
    }
}

fn names(stores: &[&str]) -> Array {
    stores.iter().map(|name| JsValue::from_str(name)).collect()
}

/// A store's `[keys, values]` as (key, value) pairs (string keys only).
fn entries(pair: JsValue) -> Vec<(String, JsValue)> {
    let pair = Array::from(&pair);
    let values = Array::from(&pair.get(1));
    Array::from(&pair.get(0))
        .iter()
        .zip(values.iter())
        .filter_map(|(k, v)| k.as_string().map(|k| (k, v)))
        .collect()
}

/// The open database.
#[derive(Debug)]
pub struct Db {
    db: JsValue,
}

impl Db {
    /// Opens (and on first use creates) the database.
    pub async fn open() -> Result<Db, DbError> {
        let db = open(DB_NAME, DB_VERSION, &names(&ALL))
            .await
            .map_err(|e| DbError::Unavailable(e.as_string().unwrap_or_default()))?;
        Ok(Db { db })
    }

    /// Reads everything the replica is rebuilt from.
    pub async fn load(&self) -> Result<Stored, DbError> {
        let all = read_all(&self.db, &names(&ALL))
            .await
            .map_err(DbError::from_js)?;
        // In the order of ALL.
        let all = Array::from(&all);
        let mut stores = all.iter().map(entries);
        let mut next = || stores.next().unwrap_or_default();
        let (docs, heads, acked, refused, meta) = (next(), next(), next(), next(), next());
        let mut stored = Stored::default();
        // IndexedDB lists both stores in key order, so a document's heads are found by
        // walking them alongside (no map: each map type is code the phone downloads).
        let mut heads = heads.into_iter().peekable();
        for (k, v) in docs {
            while heads.next_if(|(earlier, _)| *earlier < k).is_some() {}
            let doc_heads = heads
                .next_if(|(same, _)| *same == k)
                .map(|(_, h)| heads_from(&to_bytes(&h)));
            if let Ok(id) = DocId::parse(&k) {
                stored.docs.push((id, to_bytes(&v), doc_heads));
            }
        }
        for (k, v) in acked {
            if let Ok(id) = DocId::parse(&k) {
                stored.acked.push((id, heads_from(&to_bytes(&v))));
            }
        }
        for (k, v) in refused {
            let Ok(id) = DocId::parse(&k) else { continue };
            if let Ok((heads, refusal)) = protocol::decode::<(Vec<Hash>, Refusal)>(&to_bytes(&v)) {
                stored
                    .refused
                    .push((id, protocol::from_wire(&heads), refusal));
            }
        }
        for (k, v) in meta {
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
        let ops = Array::new();
        for saved in &batch.docs {
            let id = saved.id.as_str();
            ops.push(&op(DOCS, id, Some(&bytes(&saved.bytes))));
            ops.push(&op(HEADS, id, Some(&bytes(&heads_bytes(&saved.heads)))));
        }
        for id in &batch.removed {
            for store in [DOCS, HEADS, ACKED, REFUSED] {
                ops.push(&op(store, id.as_str(), None));
            }
        }
        for (id, heads) in &batch.acked {
            ops.push(&op(ACKED, id.as_str(), Some(&bytes(&heads_bytes(heads)))));
        }
        for (id, mark) in &batch.refused {
            let value = mark.as_ref().map(|(heads, refusal)| {
                // Not deflated: the app carries no deflate compressor (`encode_plain`).
                bytes(&protocol::encode_plain(&(
                    protocol::to_wire(heads),
                    refusal.clone(),
                )))
            });
            ops.push(&op(REFUSED, id.as_str(), value.as_ref()));
        }
        if let Some(position) = batch.position {
            for (name, value) in [
                (CURSOR, position.cursor as f64),
                (ACK, position.ack as f64),
                (LAST_SYNC, js_sys::Date::now()),
            ] {
                ops.push(&op(META, name, Some(&JsValue::from_f64(value))));
            }
        }
        self.write(&ALL, ops).await
    }

    /// Writes `ops` in one transaction over `stores`, returning once it has committed.
    async fn write(&self, stores: &[&str], ops: Array) -> Result<(), DbError> {
        write(&self.db, &names(stores), &ops)
            .await
            .map(drop)
            .map_err(DbError::from_js)
    }

    /// A meta value, if set.
    pub async fn get_meta(&self, name: &str) -> Result<Option<JsValue>, DbError> {
        let value = get(&self.db, META, name).await.map_err(DbError::from_js)?;
        Ok((!value.is_undefined()).then_some(value))
    }

    /// Sets (or with `None` removes) a meta value.
    pub async fn put_meta(&self, name: &str, value: Option<&JsValue>) -> Result<(), DbError> {
        self.write(&[META], Array::of1(&op(META, name, value)))
            .await
    }

    /// Removes every record and the sync position (logout, revoked device); `keep` names meta
    /// values that stay (the device id).
    pub async fn wipe(&self, keep: &[&str]) -> Result<(), DbError> {
        let ops: Array = ALL
            .iter()
            .map(|name| Array::of1(&JsValue::from_str(name)))
            .collect();
        for name in keep {
            if let Some(v) = self.get_meta(name).await? {
                ops.push(&op(META, name, Some(&v)));
            }
        }
        self.write(&ALL, ops).await
    }
}
