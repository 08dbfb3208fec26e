//! A device's replica: its documents, what the server has acknowledged of each, refusals, and
//! the change-feed position. The sync client works on it; the app edits documents through it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use automerge::ChangeHash;

use super::protocol::{DocId, DocPull, Refusal, from_wire};
use crate::doc::{ActorId, DocError, RecordDoc};

/// A document's content on the device: built, or the saved bytes it is built from when first
/// read or merged into.
#[derive(Debug, Clone)]
enum Body {
    /// Built: read and edited in place (boxed: an Automerge document is large).
    Loaded(Box<RecordDoc>),
    /// Saved bytes (as pulled, or as stored on the device) and their heads, not built yet.
    Stored {
        bytes: Vec<u8>,
        heads: Vec<ChangeHash>,
    },
}

/// One document on the device.
#[derive(Debug, Clone)]
pub struct Entry {
    body: Body,
    /// Heads the server acknowledged having: everything after them is in the outbox.
    pub acked: Vec<ChangeHash>,
    /// The server's refusal and the heads it refused; cleared by an acceptance or a new edit.
    pub refused: Option<(Vec<ChangeHash>, Refusal)>,
}

impl Entry {
    /// A built document.
    pub fn loaded(doc: RecordDoc, acked: Vec<ChangeHash>) -> Self {
        Entry {
            body: Body::Loaded(Box::new(doc)),
            acked,
            refused: None,
        }
    }

    /// A document kept as saved bytes whose heads are `heads`: built when first read.
    pub fn stored(bytes: Vec<u8>, heads: Vec<ChangeHash>, acked: Vec<ChangeHash>) -> Self {
        Entry {
            body: Body::Stored { bytes, heads },
            acked,
            refused: None,
        }
    }

    /// The document's heads (sorted), known without building it.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        match &mut self.body {
            Body::Loaded(doc) => doc.heads(),
            Body::Stored { heads, .. } => heads.clone(),
        }
    }

    /// Whether the document has been built (read, edited or merged into since it arrived).
    pub fn is_loaded(&self) -> bool {
        matches!(self.body, Body::Loaded(_))
    }

    /// The bytes to keep on the device: those it arrived as while not built, else a save
    /// without Automerge's per-column deflate (the form pulled documents arrive in).
    pub fn saved(&mut self) -> Vec<u8> {
        match &mut self.body {
            Body::Loaded(doc) => doc.automerge().save_nocompress(),
            Body::Stored { bytes, .. } => bytes.clone(),
        }
    }

    /// Whether the document has changes the server has not acknowledged and that are not
    /// waiting on a correction of a refusal.
    pub fn is_pending(&mut self) -> bool {
        let heads = self.heads();
        if heads == self.acked {
            return false;
        }
        !matches!(&self.refused, Some((h, _)) if *h == heads)
    }
}

/// The device's documents and sync position.
///
/// A pulled document is kept as the bytes it arrived as, with the heads the server sent, and
/// built with Automerge only when something reads it ([`Replica::read`]), edits it or merges
/// into it ([`Replica::doc_mut`]): a fresh device catching up stores bytes, not documents.
#[derive(Debug)]
pub struct Replica {
    actor: ActorId,
    docs: BTreeMap<DocId, Entry>,
    /// Change-feed cursor of the last applied response.
    pub cursor: u64,
    /// Delivery number of the last applied response.
    pub ack: u64,
    /// Documents built from stored bytes so far (tests and benches count them).
    loads: AtomicU64,
}

impl Clone for Replica {
    fn clone(&self) -> Self {
        Replica {
            actor: self.actor.clone(),
            docs: self.docs.clone(),
            cursor: self.cursor,
            ack: self.ack,
            loads: AtomicU64::new(self.loads()),
        }
    }
}

impl Replica {
    /// An empty replica whose local changes use `actor`.
    pub fn new(actor: ActorId) -> Self {
        Replica {
            actor,
            docs: BTreeMap::new(),
            cursor: 0,
            ack: 0,
            loads: AtomicU64::new(0),
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
        self.docs.insert(id, Entry::loaded(doc, Vec::new()));
    }

    /// Removes a document from the device (one created here that the server never took,
    /// discarded by the person).
    pub fn remove(&mut self, id: &DocId) -> Option<Entry> {
        self.docs.remove(id)
    }

    /// A document's sync state (heads, acknowledgement, refusal), if present.
    pub fn get(&self, id: &DocId) -> Option<&Entry> {
        self.docs.get(id)
    }

    /// A document's sync state to change, if present.
    pub fn get_mut(&mut self, id: &DocId) -> Option<&mut Entry> {
        self.docs.get_mut(id)
    }

    /// A document to read, if present: built from its bytes for this read if it is not built
    /// yet (the replica keeps the bytes; a caller reading often keeps what it read).
    pub fn read(&self, id: &DocId) -> Option<Result<Cow<'_, RecordDoc>, DocError>> {
        Some(match &self.docs.get(id)?.body {
            Body::Loaded(doc) => Ok(Cow::Borrowed(&**doc)),
            Body::Stored { bytes, .. } => self.build(bytes).map(Cow::Owned),
        })
    }

    /// A document to edit or merge into, if present: built from its bytes on first use and
    /// kept built.
    pub fn doc_mut(&mut self, id: &DocId) -> Option<Result<&mut RecordDoc, DocError>> {
        let entry = self.docs.get_mut(id)?;
        if let Body::Stored { bytes, .. } = &entry.body {
            self.loads.fetch_add(1, Ordering::Relaxed);
            match RecordDoc::load(bytes, self.actor.clone()) {
                Ok(doc) => entry.body = Body::Loaded(Box::new(doc)),
                Err(e) => return Some(Err(e)),
            }
        }
        match &mut entry.body {
            Body::Loaded(doc) => Some(Ok(doc)),
            Body::Stored { .. } => None,
        }
    }

    fn build(&self, bytes: &[u8]) -> Result<RecordDoc, DocError> {
        self.loads.fetch_add(1, Ordering::Relaxed);
        RecordDoc::load(bytes, self.actor.clone())
    }

    /// How many documents have been built from stored bytes (by [`Replica::read`] or
    /// [`Replica::doc_mut`]) since the replica was made.
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    /// Every document id, in id order.
    pub fn ids(&self) -> impl Iterator<Item = &DocId> {
        self.docs.keys()
    }

    /// Forgets every acknowledgement (the server's database was restored and may lack what it
    /// acknowledged); returns every document's id, in id order.
    pub fn forget_acks(&mut self) -> Vec<DocId> {
        let mut ids = Vec::with_capacity(self.docs.len());
        for (id, entry) in &mut self.docs {
            entry.acked.clear();
            ids.push(id.clone());
        }
        ids
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

    /// Applies changes pulled from the server; returns whether the document changed. A
    /// document new to the device is kept as the pulled bytes (built when first read); changes
    /// to one it has are merged into it, building it.
    pub fn apply_pull(&mut self, pull: &DocPull) -> Result<bool, DocError> {
        let server_heads = from_wire(&pull.heads);
        if !self.docs.contains_key(&pull.doc) {
            // The server's heads are the document's: the device had nothing of it.
            self.docs.insert(
                pull.doc.clone(),
                Entry::stored(pull.data.clone(), server_heads.clone(), server_heads),
            );
            return Ok(true);
        }
        let doc = match self.doc_mut(&pull.doc) {
            Some(doc) => doc?,
            None => return Ok(false),
        };
        let before = doc.heads();
        doc.automerge().load_incremental(&pull.data)?;
        let changed = doc.heads() != before;
        if let Some(entry) = self.docs.get_mut(&pull.doc) {
            entry.acked = server_heads;
        }
        Ok(changed)
    }
}

/// The device's storage behind the engine (IndexedDB in the browser, memory or files in
/// native clients): it restores the replica at start (documents as stored bytes with their
/// heads, built when first read) and stores each [`PersistBatch`] atomically — the engine's
/// batches after a sync response and after a local save alike, so a local edit is on the
/// device before the app says "saved".
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
}

/// A [`LocalStore`] in memory: what a device would find on its disk after a restart.
#[derive(Debug, Clone, Default)]
pub struct MemoryLocalStore {
    docs: BTreeMap<DocId, (Vec<u8>, Vec<ChangeHash>)>,
    acked: BTreeMap<DocId, Vec<ChangeHash>>,
    refused: BTreeMap<DocId, (Vec<ChangeHash>, Refusal)>,
    cursor: u64,
    ack: u64,
}

impl LocalStore for MemoryLocalStore {
    type Error = DocError;

    async fn load(&mut self, actor: ActorId) -> Result<Replica, DocError> {
        let mut replica = Replica::new(actor);
        for (id, (bytes, heads)) in &self.docs {
            let mut entry = Entry::stored(
                bytes.clone(),
                heads.clone(),
                self.acked.get(id).cloned().unwrap_or_default(),
            );
            entry.refused = self.refused.get(id).cloned();
            replica.restore(id.clone(), entry);
        }
        replica.cursor = self.cursor;
        replica.ack = self.ack;
        Ok(replica)
    }

    async fn persist(&mut self, batch: &super::client::PersistBatch) -> Result<(), DocError> {
        for saved in &batch.docs {
            self.docs
                .insert(saved.id.clone(), (saved.bytes.clone(), saved.heads.clone()));
        }
        for id in &batch.removed {
            self.docs.remove(id);
            self.acked.remove(id);
            self.refused.remove(id);
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
        if let Some(position) = batch.position {
            self.cursor = position.cursor;
            self.ack = position.ack;
        }
        Ok(())
    }
}
