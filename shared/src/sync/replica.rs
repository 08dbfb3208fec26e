//! A device's replica: its documents, what the server has acknowledged of each, refusals, and
//! the change-feed position. The sync client works on it; the app edits documents through it.

use std::collections::BTreeMap;

use automerge::ChangeHash;

use super::protocol::{DocId, DocPull, Refusal, from_wire};
use crate::doc::{ActorId, DocError, RecordDoc};

/// One document on the device.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The document.
    pub doc: RecordDoc,
    /// Heads the server acknowledged having: everything after them is in the outbox.
    pub acked: Vec<ChangeHash>,
    /// The server's refusal and the heads it refused; cleared by an acceptance or a new edit.
    pub refused: Option<(Vec<ChangeHash>, Refusal)>,
}

impl Entry {
    /// Whether the document has changes the server has not acknowledged and that are not
    /// waiting on a correction of a refusal.
    pub fn is_pending(&mut self) -> bool {
        let heads = self.doc.heads();
        if heads == self.acked {
            return false;
        }
        !matches!(&self.refused, Some((h, _)) if *h == heads)
    }
}

/// The device's documents and sync position.
#[derive(Debug, Clone)]
pub struct Replica {
    actor: ActorId,
    docs: BTreeMap<DocId, Entry>,
    /// Change-feed cursor of the last applied response.
    pub cursor: u64,
    /// Delivery number of the last applied response.
    pub ack: u64,
}

impl Replica {
    /// An empty replica whose local changes use `actor`.
    pub fn new(actor: ActorId) -> Self {
        Replica {
            actor,
            docs: BTreeMap::new(),
            cursor: 0,
            ack: 0,
        }
    }

    /// The actor local changes use.
    pub fn actor(&self) -> &ActorId {
        &self.actor
    }

    /// Restores a stored entry (from IndexedDB or a file).
    pub fn restore(&mut self, id: DocId, entry: Entry) {
        self.docs.insert(id, entry);
    }

    /// Adds a document created on this device.
    pub fn insert_new(&mut self, id: DocId, doc: RecordDoc) {
        self.docs.insert(
            id,
            Entry {
                doc,
                acked: Vec::new(),
                refused: None,
            },
        );
    }

    /// A document, if present.
    pub fn get(&self, id: &DocId) -> Option<&Entry> {
        self.docs.get(id)
    }

    /// A document to edit, if present.
    pub fn get_mut(&mut self, id: &DocId) -> Option<&mut Entry> {
        self.docs.get_mut(id)
    }

    /// Every document id.
    pub fn ids(&self) -> impl Iterator<Item = &DocId> {
        self.docs.keys()
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether there are no documents.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Documents with changes waiting to upload (the outbox).
    pub fn pending(&mut self) -> Vec<DocId> {
        self.docs
            .iter_mut()
            .filter_map(|(id, e)| e.is_pending().then(|| id.clone()))
            .collect()
    }

    /// Documents the server refused and their reasons.
    pub fn refused(&self) -> Vec<(DocId, Refusal)> {
        self.docs
            .iter()
            .filter_map(|(id, e)| e.refused.as_ref().map(|(_, r)| (id.clone(), r.clone())))
            .collect()
    }

    /// Applies changes pulled from the server; returns whether the document changed.
    pub fn apply_pull(&mut self, pull: &DocPull) -> Result<bool, DocError> {
        let server_heads = from_wire(&pull.heads);
        match self.docs.get_mut(&pull.doc) {
            Some(entry) => {
                let before = entry.doc.heads();
                entry.doc.automerge().load_incremental(&pull.data)?;
                entry.acked = server_heads;
                Ok(entry.doc.heads() != before)
            }
            None => {
                let doc = RecordDoc::load(&pull.data, self.actor.clone())?;
                if doc.kind() != pull.doc.kind() {
                    return Err(DocError::WrongKind {
                        expected: pull.doc.kind().code(),
                        found: doc.kind().code().into(),
                    });
                }
                self.docs.insert(
                    pull.doc.clone(),
                    Entry {
                        doc,
                        acked: server_heads,
                        refused: None,
                    },
                );
                Ok(true)
            }
        }
    }
}

/// The device's storage behind the engine (IndexedDB in the browser, memory or files in
/// native clients): it restores the replica at start, stores each [`PersistBatch`] atomically,
/// and stores local edits before the app says "saved".
///
/// [`PersistBatch`]: super::client::PersistBatch
#[allow(async_fn_in_trait)]
pub trait LocalStore {
    /// The store's error.
    type Error: std::error::Error;

    /// Restores the replica as last stored (empty at first start).
    async fn load(&mut self, actor: ActorId) -> Result<Replica, Self::Error>;

    /// Stores one batch atomically: all of it or none of it.
    async fn persist(&mut self, batch: &super::client::PersistBatch) -> Result<(), Self::Error>;

    /// Stores a document after a local edit (its bytes; it joins the outbox).
    async fn save_local(&mut self, id: &DocId, bytes: &[u8]) -> Result<(), Self::Error>;
}

/// A [`LocalStore`] in memory: what a device would find on its disk after a restart.
#[derive(Debug, Clone, Default)]
pub struct MemoryLocalStore {
    docs: BTreeMap<DocId, Vec<u8>>,
    acked: BTreeMap<DocId, Vec<ChangeHash>>,
    refused: BTreeMap<DocId, (Vec<ChangeHash>, Refusal)>,
    cursor: u64,
    ack: u64,
}

impl LocalStore for MemoryLocalStore {
    type Error = DocError;

    async fn load(&mut self, actor: ActorId) -> Result<Replica, DocError> {
        let mut replica = Replica::new(actor.clone());
        for (id, bytes) in &self.docs {
            let doc = RecordDoc::load(bytes, actor.clone())?;
            let entry = Entry {
                doc,
                acked: self.acked.get(id).cloned().unwrap_or_default(),
                refused: self.refused.get(id).cloned(),
            };
            replica.restore(id.clone(), entry);
        }
        replica.cursor = self.cursor;
        replica.ack = self.ack;
        Ok(replica)
    }

    async fn persist(&mut self, batch: &super::client::PersistBatch) -> Result<(), DocError> {
        for (id, bytes) in &batch.docs {
            self.docs.insert(id.clone(), bytes.clone());
        }
        for (id, heads) in &batch.acked {
            self.acked.insert(id.clone(), heads.clone());
        }
        for (id, mark) in &batch.refused {
            match mark {
                Some(m) => self.refused.insert(id.clone(), m.clone()),
                None => self.refused.remove(id),
            };
        }
        self.cursor = batch.cursor;
        self.ack = batch.ack;
        Ok(())
    }

    async fn save_local(&mut self, id: &DocId, bytes: &[u8]) -> Result<(), DocError> {
        self.docs.insert(id.clone(), bytes.to_vec());
        Ok(())
    }
}
