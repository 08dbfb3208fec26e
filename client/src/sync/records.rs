//! The device's records as the screens read and save them: the parsed records of the replica
//! ([`Snapshot`], rebuilt per generation from a per-document cache keyed by heads, so a
//! document is built and read again only when it changed), one document to edit, and local
//! saves, which go through the engine's own persist batch.

use std::rc::Rc;

use automerge::ChangeHash;
use shared::doc::{DocError, DocKind, EnterpriseDoc, ProblemDoc, RecordDoc, VisitDoc};
use shared::model::{Enterprise, Problem, Visit};
use shared::sync::client::{DiscardError, Input, PersistBatch};
use shared::sync::protocol::{DocId, Refusal};
use shared::sync::replica::Replica;
use shared::todo::{Officer, TodoItem, officer_todo};
use yew::Callback;
use yew::platform::spawn_local;

use super::Core;
use crate::infra::db::DbError;
use crate::infra::{order, platform};

/// The parsed records of the device, rebuilt when anything changed.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Enterprise profiles.
    pub enterprises: Vec<Enterprise>,
    /// Visits.
    pub visits: Vec<Visit>,
    /// Problems.
    pub problems: Vec<Problem>,
    /// Documents this build cannot read, and why.
    pub unreadable: Vec<(DocId, String)>,
}

/// Why a local save failed.
#[derive(Debug, Clone, PartialEq)]
pub enum SaveError {
    /// The edit itself was refused (a field, the workflow).
    Doc(DocError),
    /// Storage failed: nothing was saved.
    Storage(DbError),
    /// Nobody is logged in.
    NoSession,
    /// A discard could not be made (the record is not refused, or cannot be rebuilt).
    Discard(DiscardError),
}

impl From<DocError> for SaveError {
    fn from(e: DocError) -> Self {
        SaveError::Doc(e)
    }
}

/// One document read.
#[derive(Debug, Clone)]
enum Parsed {
    Enterprise(Enterprise),
    Visit(Visit),
    Problem(Problem),
    /// A kind the lists do not show (monitoring).
    Other,
    Unreadable(String),
}

/// What the screens were last shown: each document read at its heads, and the snapshot of
/// one generation.
#[derive(Debug, Default)]
pub(super) struct Records {
    /// In the replica's order (by id), which a snapshot walks alongside: a sorted list, not a
    /// map, as the app carries no map code of its own for it (smaller download).
    read: Vec<(DocId, Vec<ChangeHash>, Parsed)>,
    snapshot: Option<(u64, Rc<Snapshot>)>,
}

impl Records {
    /// The snapshot of `generation`: documents whose heads moved since they were last read
    /// are built (if stored as bytes) and read again; the others are taken as read.
    pub(super) fn snapshot(&mut self, replica: &mut Replica, generation: u64) -> Rc<Snapshot> {
        if let Some((g, snapshot)) = &self.snapshot
            && *g == generation
        {
            return snapshot.clone();
        }
        let ids: Vec<DocId> = replica.ids().cloned().collect();
        let mut read = Vec::with_capacity(ids.len());
        let mut snapshot = Snapshot::default();
        // Both in id order: what was read of a document is found by walking alongside.
        let mut before = std::mem::take(&mut self.read).into_iter().peekable();
        for id in ids {
            let Some(heads) = replica.get_mut(&id).map(|e| e.heads()) else {
                continue;
            };
            while before.next_if(|(earlier, ..)| *earlier < id).is_some() {}
            let parsed = match before.next_if(|(same, ..)| *same == id) {
                Some((_, h, parsed)) if h == heads => parsed,
                _ => parse(replica, &id),
            };
            match &parsed {
                Parsed::Enterprise(e) => snapshot.enterprises.push(e.clone()),
                Parsed::Visit(v) => snapshot.visits.push(v.clone()),
                Parsed::Problem(p) => snapshot.problems.push(p.clone()),
                Parsed::Other => {}
                Parsed::Unreadable(e) => snapshot.unreadable.push((id.clone(), e.clone())),
            }
            read.push((id, heads, parsed));
        }
        self.read = read;
        // By name, equal names in the replica's order (the app's one sort, not a copy of its own).
        let enterprises = std::mem::take(&mut snapshot.enterprises);
        let by_name = order::stable_order(enterprises.len(), &|a, b| {
            enterprises[a].name.cmp(&enterprises[b].name)
        });
        snapshot.enterprises = order::rearranged(enterprises, &by_name);
        let snapshot = Rc::new(snapshot);
        self.snapshot = Some((generation, snapshot.clone()));
        snapshot
    }

    /// Forgets everything read (logout, wipe).
    pub(super) fn clear(&mut self) {
        *self = Records::default();
    }
}

/// Reads one document of the replica as its kind's record.
fn parse(replica: &Replica, id: &DocId) -> Parsed {
    let doc = match replica.read(id) {
        Some(Ok(doc)) => doc.into_owned(),
        Some(Err(e)) => return Parsed::Unreadable(e.to_string()),
        None => return Parsed::Other,
    };
    let read = match id.kind() {
        DocKind::Enterprise => EnterpriseDoc::from_record(doc)
            .and_then(|d| d.read())
            .map(Parsed::Enterprise),
        DocKind::Visit => VisitDoc::from_record(doc)
            .and_then(|d| d.read())
            .map(Parsed::Visit),
        DocKind::Problem => ProblemDoc::from_record(doc)
            .and_then(|d| d.read())
            .map(Parsed::Problem),
        DocKind::Monitoring => Ok(Parsed::Other),
    };
    read.unwrap_or_else(|e| Parsed::Unreadable(e.to_string()))
}

impl Core {
    /// The refusal of one document, if the server refused it.
    pub fn refusal(&self, id: &DocId) -> Option<Refusal> {
        let engine = self.engine.borrow();
        let entry = engine.as_ref()?.replica().get(id)?;
        entry.refused.as_ref().map(|(_, r)| r.clone())
    }

    /// The logged-in person's to-do (待办) now: `shared::todo::officer_todo` (the one
    /// definition, which the server's `GET /api/todo` runs over its copies) over the problems
    /// on this device and the records the server refused; nothing when nobody is logged in.
    pub fn todo(&self) -> Vec<TodoItem> {
        let Some(session) = self.session() else {
            return Vec::new();
        };
        let me = Officer {
            user: session.user.id,
            unit: session.user.org_unit,
        };
        let refused: Vec<DocId> = self
            .status()
            .refused
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let config = self.config();
        let days = config.due_soon_days();
        officer_todo(
            me,
            &self.snapshot().problems,
            &refused,
            &config,
            platform::now(),
            days,
        )
    }

    /// A copy of a document, to edit and then [`Core::save`]. A screen that opens a document
    /// builds it from its stored bytes once; it stays built for the next.
    pub fn doc(&self, id: &DocId) -> Option<RecordDoc> {
        let mut engine = self.engine.borrow_mut();
        let doc = engine.as_mut()?.replica_mut().doc_mut(id)?;
        doc.ok().map(|d| d.clone())
    }

    /// The parsed records, cached until the next change.
    pub fn snapshot(&self) -> Rc<Snapshot> {
        let generation = self.generation.get();
        let mut engine = self.engine.borrow_mut();
        let mut records = self.records.borrow_mut();
        match engine.as_mut() {
            Some(engine) => records.snapshot(engine.replica_mut(), generation),
            None => Rc::new(Snapshot::default()),
        }
    }

    /// Saves edited or new documents: the engine merges them into the replica at once (so no
    /// other edit or pull can slip in between) and hands back the batch that stores them,
    /// which is written to IndexedDB in one transaction like a sync response's; only then is
    /// `done` called — the moment the UI may say "saved" — and the engine told.
    pub fn save(
        self: &Rc<Self>,
        docs: Vec<(DocId, RecordDoc)>,
        done: Callback<Result<(), SaveError>>,
    ) {
        let batch = {
            let mut engine = self.engine.borrow_mut();
            let Some(engine) = engine.as_mut() else {
                done.emit(Err(SaveError::NoSession));
                return;
            };
            match engine.save_local(docs) {
                Ok(batch) => batch,
                Err(e) => {
                    done.emit(Err(SaveError::Doc(e)));
                    return;
                }
            }
        };
        self.store_local(batch, done);
    }

    /// Discards this device's edits to a record the server refused ("放弃本机修改"): the
    /// record goes back to what the server has, or leaves the device if the server never took
    /// it; stored like a local save before `done` is called.
    pub fn discard(self: &Rc<Self>, id: &DocId, done: Callback<Result<(), SaveError>>) {
        let batch = {
            let mut engine = self.engine.borrow_mut();
            let Some(engine) = engine.as_mut() else {
                done.emit(Err(SaveError::NoSession));
                return;
            };
            match engine.discard(id) {
                Ok(batch) => batch,
                Err(e) => {
                    done.emit(Err(SaveError::Discard(e)));
                    return;
                }
            }
        };
        self.store_local(batch, done);
    }

    /// Writes a batch the engine made from a local decision (a save, a discard) to
    /// IndexedDB; then says so and tells the engine.
    fn store_local(self: &Rc<Self>, batch: PersistBatch, done: Callback<Result<(), SaveError>>) {
        let core = self.clone();
        spawn_local(async move {
            match core.db.persist(&batch).await {
                Ok(()) => {
                    core.notices.borrow_mut().storage_error = None;
                    core.notify();
                    done.emit(Ok(()));
                    core.feed(Input::LocalEdit);
                }
                Err(e) => {
                    core.storage_failed(&e);
                    done.emit(Err(SaveError::Storage(e)));
                }
            }
        });
    }
}
