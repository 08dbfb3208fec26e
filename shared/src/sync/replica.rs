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
