//! Record documents (记录文档): how each kind of record lives in an Automerge document.
//!
//! Granularity: one document per enterprise profile, per visit, per problem, and one for each
//! key enterprise's monitoring figures (reasons in ARCHITECTURE.md). Every document's root
//! holds `schema` (the schema version), `kind` and `id`. Each edit is one Automerge change
//! whose time is the device's clock (ms) and whose message names the person and device
//! ([`Author`]). This module and its children are the only code that touches Automerge paths.

/// The methods every typed document wrapper shares: load a saved document of its kind, wrap
/// or unwrap a record document, reach the record (save, merge, heads, sync).
macro_rules! typed_doc {
    ($name:ident, $kind:expr, $what:literal) => {
        impl $name {
            #[doc = concat!("Loads a saved ", $what, " document.")]
            pub fn load(bytes: &[u8], actor_id: super::ActorId) -> Result<$name, super::DocError> {
                Ok($name {
                    inner: super::RecordDoc::load_kind(bytes, actor_id, $kind)?,
                })
            }

            /// Wraps a record document, checking its kind.
            pub fn from_record(inner: super::RecordDoc) -> Result<$name, super::DocError> {
                inner.expect_kind($kind)?;
                Ok($name { inner })
            }

            /// Gives back the record document.
            pub fn into_record(self) -> super::RecordDoc {
                self.inner
            }

            /// The underlying record document (save, merge, heads, sync).
            pub fn record(&mut self) -> &mut super::RecordDoc {
                &mut self.inner
            }
        }
    };
}
pub(crate) use typed_doc;

mod enterprise;
mod fields;
pub mod history;
mod monitoring;
mod photos;
mod problem;
mod signature;
mod text_edit;
mod visit;

pub use automerge::ActorId;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ROOT};

pub use enterprise::{EnterpriseDoc, EnterpriseEdit, NewEnterprise};
pub use monitoring::{MONITORING_ID_PREFIX, MonitoringDoc, MonitoringEdit, monitoring_id};
pub use problem::{NewProblem, ProblemDoc, ProblemEdit};
pub use visit::{NewVisit, VisitDoc, VisitEdit};
pub(crate) use {
    enterprise::read_record as read_enterprise_record,
    monitoring::read_record as read_monitoring_record, problem::read_record as read_problem_record,
    visit::read_record as read_visit_record,
};

use crate::model::{Actor, DeviceId, Role, Timestamp, UserId};
use crate::workflow::TransitionError;
use fields::{Reader, Writer};

/// The schema version this build writes. Older documents are upgraded on load by
/// [`upgrade`]; newer ones are refused.
pub const SCHEMA_VERSION: i64 = 1;

/// The kinds of record document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// An enterprise profile.
    Enterprise,
    /// A visit.
    Visit,
    /// A problem.
    Problem,
    /// A key enterprise's monitoring figures.
    Monitoring,
}

impl DocKind {
    /// The code stored in the document.
    pub fn code(self) -> &'static str {
        match self {
            DocKind::Enterprise => "enterprise",
            DocKind::Visit => "visit",
            DocKind::Problem => "problem",
            DocKind::Monitoring => "monitoring",
        }
    }

    /// Parses the stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        [
            DocKind::Enterprise,
            DocKind::Visit,
            DocKind::Problem,
            DocKind::Monitoring,
        ]
        .into_iter()
        .find(|k| k.code() == code)
    }
}

/// Why a document could not be read, written or loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DocError {
    /// Automerge refused the bytes or the operation.
    #[error("automerge: {0}")]
    Automerge(String),
    /// A required field is absent.
    #[error("field {0} is missing")]
    MissingField(String),
    /// A field holds the wrong type.
    #[error("field {field} should be a {expected}")]
    WrongType {
        /// The field.
        field: String,
        /// What it should hold.
        expected: &'static str,
    },
    /// A field holds a value that does not parse.
    #[error("field {field}: {error}")]
    BadValue {
        /// The field.
        field: String,
        /// What is wrong with it.
        error: String,
    },
    /// The document is of another kind than expected.
    #[error("expected a {expected} document, found {found:?}")]
    WrongKind {
        /// The kind expected.
        expected: &'static str,
        /// The kind found.
        found: String,
    },
    /// Written by a newer version of Lianxin.
    #[error("document schema {found} is newer than this app's {supported}: update the app")]
    NewerSchema {
        /// The document's schema version.
        found: i64,
        /// The newest this build reads.
        supported: i64,
    },
    /// A keyed entry with this id exists already.
    #[error("{field} already has an entry {id}")]
    DuplicateEntry {
        /// The log.
        field: String,
        /// The entry id.
        id: String,
    },
    /// A value is not allowed by the configuration (e.g. an unknown category).
    #[error("{field}: {error}")]
    NotConfigured {
        /// The field.
        field: String,
        /// What is wrong.
        error: String,
    },
    /// The workflow refused an action.
    #[error("refused: {0}")]
    Refused(#[from] TransitionError),
}

impl From<automerge::AutomergeError> for DocError {
    fn from(e: automerge::AutomergeError) -> Self {
        DocError::Automerge(e.to_string())
    }
}

/// Who made a change, as written in its message: `lianxin/1 user=… device=… role=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Author {
    /// The person.
    pub user: UserId,
    /// The device.
    pub device: DeviceId,
    /// The role they acted in.
    pub role: Role,
}

impl Author {
    /// The change message recording this author.
    pub fn message(&self) -> String {
        format!(
            "lianxin/1 user={} device={} role={}",
            self.user,
            self.device,
            self.role.code()
        )
    }

    /// Reads an author back from a change message; `None` for messages not written by Lianxin.
    pub fn parse(message: &str) -> Option<Author> {
        let rest = message.strip_prefix("lianxin/1 ")?;
        let (mut user, mut device, mut role) = (None, None, None);
        for part in rest.split(' ') {
            match part.split_once('=')? {
                ("user", v) => user = UserId::parse(v).ok(),
                ("device", v) => device = DeviceId::parse(v).ok(),
                ("role", v) => role = Role::from_code(v).ok(),
                _ => {}
            }
        }
        Some(Author {
            user: user?,
            device: device?,
            role: role?,
        })
    }
}

impl From<&Actor> for Author {
    fn from(a: &Actor) -> Self {
        Author {
            user: a.user,
            device: a.device,
            role: a.role,
        }
    }
}

/// An Automerge document of a known kind at the current schema version.
#[derive(Debug, Clone)]
pub struct RecordDoc {
    doc: AutoCommit,
    kind: DocKind,
}

/// Brings a loaded document up to [`SCHEMA_VERSION`]. Each step `n → n+1` is a function of
/// its own, written when schema `n+1` is introduced; version 1 is the first schema, so the
/// chain is empty today and `shared/tests/fixtures/` keeps version-1 documents that every
/// later build must still load. A document already at [`SCHEMA_VERSION`] is left untouched
/// ([`RecordDoc::inspect`] relies on it).
pub fn upgrade(doc: &mut AutoCommit, found: i64) -> Result<(), DocError> {
    match found {
        v if v > SCHEMA_VERSION => Err(DocError::NewerSchema {
            found: v,
            supported: SCHEMA_VERSION,
        }),
        v if v < 1 => Err(DocError::BadValue {
            field: "schema".into(),
            error: format!("unknown version {v}"),
        }),
        _ => {
            // No steps yet: schema 1 is current. Future steps go here, in order, e.g.
            // `if found < 2 { v1_to_v2(doc)?; }`, each committed as its own change.
            let _ = doc;
            Ok(())
        }
    }
}

impl RecordDoc {
    /// A new, empty document of `kind` whose local changes use `actor`.
    fn new(kind: DocKind, actor: ActorId) -> Self {
        RecordDoc {
            doc: AutoCommit::new().with_actor(actor),
            kind,
        }
    }

    /// Loads a saved document (or a concatenation of saved changes), checks its kind and
    /// upgrades its schema. Local changes will use `actor`.
    pub fn load(bytes: &[u8], actor: ActorId) -> Result<Self, DocError> {
        let mut doc = AutoCommit::load(bytes)?.with_actor(actor);
        let mut r = Reader::new(&doc);
        let kind_code = r.str(&ROOT, "kind", "kind")?;
        let kind = DocKind::from_code(&kind_code).ok_or(DocError::WrongKind {
            expected: "record",
            found: kind_code.clone(),
        })?;
        let schema = r.i64(&ROOT, "schema", "schema")?;
        upgrade(&mut doc, schema)?;
        Ok(RecordDoc { doc, kind })
    }

    /// The document as it was at `heads` (changes after them left out), whose local changes
    /// use `actor`: what a device keeps when it discards edits the server refused.
    pub fn fork_at(&mut self, heads: &[ChangeHash], actor: ActorId) -> Result<Self, DocError> {
        let doc = self
            .doc
            .fork_at(heads)
            .map_err(|e| DocError::Automerge(e.to_string()))?
            .with_actor(actor);
        Ok(RecordDoc {
            doc,
            kind: self.kind,
        })
    }

    /// Wraps an Automerge document already in memory, checking its kind and upgrading its
    /// schema like [`RecordDoc::load`].
    pub fn from_automerge(mut doc: AutoCommit) -> Result<Self, DocError> {
        let mut r = Reader::new(&doc);
        let kind_code = r.str(&ROOT, "kind", "kind")?;
        let kind = DocKind::from_code(&kind_code).ok_or(DocError::WrongKind {
            expected: "record",
            found: kind_code.clone(),
        })?;
        let schema = r.i64(&ROOT, "schema", "schema")?;
        upgrade(&mut doc, schema)?;
        Ok(RecordDoc { doc, kind })
    }

    /// Reads an Automerge document as a record with `read` and gives it back as it was: what
    /// upgrading writes is never kept. A document at the current schema is read in place (an
    /// upgrade writes nothing to it); an older one is upgraded in a copy, which `read` sees.
    /// The server uses it to validate a pushed document without storing changes of its own.
    pub fn inspect<T>(
        doc: AutoCommit,
        read: impl FnOnce(&RecordDoc) -> T,
    ) -> Result<(T, AutoCommit), DocError> {
        let current = Reader::new(&doc).i64(&ROOT, "schema", "schema")? == SCHEMA_VERSION;
        if current {
            let record = RecordDoc::from_automerge(doc)?;
            let value = read(&record);
            Ok((value, record.doc))
        } else {
            let record = RecordDoc::from_automerge(doc.clone())?;
            Ok((read(&record), doc))
        }
    }

    fn load_kind(bytes: &[u8], actor: ActorId, expected: DocKind) -> Result<Self, DocError> {
        let doc = RecordDoc::load(bytes, actor)?;
        doc.expect_kind(expected)?;
        Ok(doc)
    }

    /// `Ok` when the document is of kind `expected`, else [`DocError::WrongKind`].
    pub(crate) fn expect_kind(&self, expected: DocKind) -> Result<(), DocError> {
        if self.kind != expected {
            return Err(DocError::WrongKind {
                expected: expected.code(),
                found: self.kind.code().into(),
            });
        }
        Ok(())
    }

    /// The `id` field of the document's root.
    pub fn root_id(&self) -> Result<String, DocError> {
        self.reader().str(&ROOT, "id", "id")
    }

    /// The kind of record.
    pub fn kind(&self) -> DocKind {
        self.kind
    }

    /// The whole document, compacted.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The current heads (hashes of the latest changes), sorted.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        let mut h = self.doc.get_heads();
        // Heads are distinct, so an unstable sort gives the stable order; it is the one
        // Automerge sorts its heads with, so the app carries no second sort of hashes.
        h.sort_unstable();
        h
    }

    /// Merges another replica of the same document into this one.
    pub fn merge(&mut self, other: &mut RecordDoc) -> Result<(), DocError> {
        if other.kind != self.kind {
            return Err(DocError::WrongKind {
                expected: self.kind.code(),
                found: other.kind.code().into(),
            });
        }
        self.doc.merge(&mut other.doc)?;
        Ok(())
    }

    /// Re-points a visit or a problem to `enterprise` as one change by `actor` at `now`: what
    /// the server writes when an administrator merges two profiles of one enterprise (a device
    /// is refused such a change by the sync engine). Other kinds are refused.
    pub fn move_to_enterprise(
        &mut self,
        enterprise: crate::model::EnterpriseId,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<(), DocError> {
        if !matches!(self.kind, DocKind::Visit | DocKind::Problem) {
            return Err(DocError::WrongKind {
                expected: "visit or problem",
                found: self.kind.code().into(),
            });
        }
        self.edit(actor, now, |w| {
            w.put(&ROOT, "enterprise", enterprise.to_string())
        })?;
        Ok(())
    }

    /// The underlying Automerge document, for the sync engine and history only.
    pub fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    /// Runs `f` as one change by `actor` at `now`. On error nothing is kept. Returns the new
    /// change's hash, or `None` when `f` changed nothing.
    fn edit<F>(
        &mut self,
        actor: &Actor,
        now: Timestamp,
        f: F,
    ) -> Result<Option<ChangeHash>, DocError>
    where
        F: FnOnce(&mut Writer<'_>) -> Result<(), DocError>,
    {
        let result = f(&mut Writer { doc: &mut self.doc });
        match result {
            Ok(()) => {
                if self.doc.pending_ops() == 0 {
                    self.doc.rollback();
                    return Ok(None);
                }
                let opts = automerge::transaction::CommitOptions::default()
                    .with_message(Author::from(actor).message())
                    .with_time(now.0);
                Ok(self.doc.commit_with(opts))
            }
            Err(e) => {
                self.doc.rollback();
                Err(e)
            }
        }
    }

    fn reader(&self) -> Reader<'_> {
        Reader::new(&self.doc)
    }
}

/// Writes the root fields every document carries.
fn write_header(w: &mut Writer<'_>, kind: DocKind, id: &str) -> Result<(), DocError> {
    w.put(&ROOT, "schema", SCHEMA_VERSION)?;
    w.put(&ROOT, "kind", kind.code())?;
    w.put(&ROOT, "id", id)?;
    Ok(())
}

/// Reads a stamp stored as `<prefix>by`, `<prefix>device`, `<prefix>at` in `obj`.
fn read_stamp(
    r: &mut Reader<'_>,
    obj: &automerge::ObjId,
    prefix: &str,
) -> Result<crate::model::Stamp, DocError> {
    let by = r.parse(
        obj,
        &format!("{prefix}by"),
        &format!("{prefix}by"),
        UserId::parse,
    )?;
    let device = r.parse(
        obj,
        &format!("{prefix}device"),
        &format!("{prefix}device"),
        DeviceId::parse,
    )?;
    let at = Timestamp(r.i64(obj, &format!("{prefix}at"), &format!("{prefix}at"))?);
    Ok(crate::model::Stamp { by, device, at })
}

/// Writes a stamp as `<prefix>by`, `<prefix>device`, `<prefix>at` in `obj`.
fn write_stamp(
    w: &mut Writer<'_>,
    obj: &automerge::ObjId,
    prefix: &str,
    s: &crate::model::Stamp,
) -> Result<(), DocError> {
    w.put(obj, &format!("{prefix}by"), s.by.to_string())?;
    w.put(obj, &format!("{prefix}device"), s.device.to_string())?;
    w.put(obj, &format!("{prefix}at"), s.at.0)?;
    Ok(())
}
