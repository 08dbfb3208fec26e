//! An in-memory [`ServerStore`]: the reference implementation the deterministic engine tests
//! run against, and the second backend of the store conformance story.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;

use automerge::ChangeHash;

use super::protocol::DocId;
use super::server::{Commit, DocMeta, ServerStore, StoredDoc};
use super::validate::Scope;
use crate::model::{DeviceId, EnterpriseId};

#[derive(Debug, Clone)]
struct Doc {
    enterprise: EnterpriseId,
    bytes: Vec<u8>,
    heads: Vec<ChangeHash>,
    seq: u64,
}

/// Documents, changes and delivery bookkeeping held in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    docs: BTreeMap<DocId, Doc>,
    changes: BTreeSet<(DocId, ChangeHash)>,
    seq: u64,
    known: BTreeMap<(DeviceId, DocId), Vec<ChangeHash>>,
    pending: BTreeMap<DeviceId, Vec<(u64, DocId, Vec<ChangeHash>)>>,
    deliveries: BTreeMap<DeviceId, u64>,
    /// Number of change rows stored (each hash once per document).
    pub change_rows: usize,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of documents held.
    pub fn doc_count(&self) -> usize {
        self.docs.len()
    }

    /// Forgets a document entirely (to simulate a server restored from an older backup).
    pub fn forget(&mut self, doc: &DocId) {
        self.docs.remove(doc);
        self.changes.retain(|(d, _)| d != doc);
        self.known.retain(|(_, d), _| d != doc);
    }
}

impl ServerStore for MemoryStore {
    type Error = Infallible;

    fn load_doc(&mut self, doc: &DocId) -> Result<Option<StoredDoc>, Infallible> {
        Ok(self.docs.get(doc).map(|d| StoredDoc {
            enterprise: d.enterprise,
            bytes: d.bytes.clone(),
            heads: d.heads.clone(),
        }))
    }

    fn doc_meta(&mut self, doc: &DocId) -> Result<Option<DocMeta>, Infallible> {
        Ok(self.docs.get(doc).map(|d| DocMeta {
            enterprise: d.enterprise,
            heads: d.heads.clone(),
            size: d.bytes.len(),
        }))
    }

    fn known_changes(
        &mut self,
        doc: &DocId,
        hashes: &[ChangeHash],
    ) -> Result<BTreeSet<ChangeHash>, Infallible> {
        Ok(hashes
            .iter()
            .filter(|h| self.changes.contains(&(doc.clone(), **h)))
            .copied()
            .collect())
    }

    fn commit(&mut self, commit: &Commit) -> Result<(), Infallible> {
        for dc in &commit.docs {
            for c in &dc.changes {
                if self.changes.insert((dc.doc.clone(), c.hash)) {
                    self.change_rows += 1;
                }
            }
            self.seq += 1;
            self.docs.insert(
                dc.doc.clone(),
                Doc {
                    enterprise: dc.projection.enterprise(),
                    bytes: dc.snapshot.clone(),
                    heads: dc.heads.clone(),
                    seq: self.seq,
                },
            );
            self.known
                .insert((commit.device, dc.doc.clone()), dc.device_heads.clone());
        }
        Ok(())
    }

    fn changed_since(
        &mut self,
        scope: &Scope,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(DocId, u64)>, Infallible> {
        let mut v: Vec<(DocId, u64)> = self
            .docs
            .iter()
            .filter(|(id, d)| d.seq > after && scope.allows(id, &d.enterprise))
            .map(|(id, d)| (id.clone(), d.seq))
            .collect();
        v.sort_by_key(|(_, s)| *s);
        v.truncate(limit);
        Ok(v)
    }

    fn latest_seq(&mut self) -> Result<u64, Infallible> {
        Ok(self.seq)
    }

    fn confirm_delivery(&mut self, device: DeviceId, ack: u64) -> Result<(), Infallible> {
        let pending = self.pending.remove(&device).unwrap_or_default();
        let mut later = Vec::new();
        for (n, doc, heads) in pending {
            if n == ack {
                self.known.insert((device, doc), heads);
            } else if n > ack {
                later.push((n, doc, heads));
            }
        }
        if !later.is_empty() {
            self.pending.insert(device, later);
        }
        Ok(())
    }

    fn known_heads(
        &mut self,
        device: DeviceId,
        doc: &DocId,
    ) -> Result<Option<Vec<ChangeHash>>, Infallible> {
        Ok(self.known.get(&(device, doc.clone())).cloned())
    }

    fn record_delivery(
        &mut self,
        device: DeviceId,
        docs: &[(DocId, Vec<ChangeHash>)],
    ) -> Result<u64, Infallible> {
        let n = self.deliveries.entry(device).or_insert(0);
        *n += 1;
        let number = *n;
        let list = self.pending.entry(device).or_default();
        for (doc, heads) in docs {
            list.push((number, doc.clone(), heads.clone()));
        }
        Ok(number)
    }
}
