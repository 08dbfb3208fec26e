//! Validation of a merged document before the server stores it: schema, identity, workflow and
//! configuration. A failing document is refused whole with a typed reason.

use std::collections::BTreeSet;

use serde::Serialize;

use super::protocol::{DocId, Refusal};
use crate::config::Config;
use crate::doc::{DocKind, RecordDoc};
use crate::model::{Enterprise, EnterpriseId, Monitoring, Problem, Visit};
use crate::workflow::{Outcome, replay};

/// Which documents a device may read or write. Who gets which scope is decided by the
/// identity layer; the engine and stores take it as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every document (the single test scope, and server-internal use).
    All,
    /// Every document of these enterprises.
    Enterprises(BTreeSet<EnterpriseId>),
    /// Finer grants, for roles that see part of an enterprise's records.
    Grants {
        /// Every document of these enterprises.
        enterprises: BTreeSet<EnterpriseId>,
        /// Only the profile and monitoring documents of these enterprises.
        profiles: BTreeSet<EnterpriseId>,
        /// These single documents (e.g. problems handed to a department).
        docs: BTreeSet<DocId>,
    },
}

impl Scope {
    /// The empty scope (an administrator's: no records by default).
    pub fn none() -> Scope {
        Scope::Enterprises(BTreeSet::new())
    }

    /// Whether the scope holds any document of an enterprise (used where the kind is not
    /// known; prefer [`Scope::allows`]).
    pub fn contains(&self, enterprise: &EnterpriseId) -> bool {
        match self {
            Scope::All => true,
            Scope::Enterprises(set) => set.contains(enterprise),
            Scope::Grants { enterprises, .. } => enterprises.contains(enterprise),
        }
    }

    /// Whether the scope holds this document of this enterprise.
    pub fn allows(&self, doc: &DocId, enterprise: &EnterpriseId) -> bool {
        match self {
            Scope::All => true,
            Scope::Enterprises(set) => set.contains(enterprise),
            Scope::Grants {
                enterprises,
                profiles,
                docs,
            } => {
                enterprises.contains(enterprise)
                    || docs.contains(doc)
                    || (matches!(doc.kind(), DocKind::Enterprise | DocKind::Monitoring)
                        && profiles.contains(enterprise))
            }
        }
    }
}

/// What a document projects into the server's query tables.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Projection {
    /// An enterprise profile.
    Enterprise(Enterprise),
    /// A visit.
    Visit(Visit),
    /// A problem with its replayed workflow.
    Problem(Box<Problem>, Outcome),
    /// Monitoring figures.
    Monitoring(Monitoring),
}

impl Projection {
    /// The enterprise whose scope the document belongs to.
    pub fn enterprise(&self) -> EnterpriseId {
        match self {
            Projection::Enterprise(e) => e.id,
            Projection::Visit(v) => v.enterprise,
            Projection::Problem(p, _) => p.enterprise,
            Projection::Monitoring(m) => m.enterprise,
        }
    }
}

/// Checks a merged document and returns its projection, or the reason to refuse it.
pub fn validate(id: &DocId, doc: &RecordDoc, config: &Config) -> Result<Projection, Refusal> {
    if doc.kind() != id.kind() {
        return Err(Refusal::Invalid(format!(
            "a {} document sent as {}",
            doc.kind().code(),
            id
        )));
    }
    let invalid = |e: crate::doc::DocError| Refusal::Invalid(e.to_string());
    let root_id = doc.root_id().map_err(invalid)?;
    if root_id != id.root_id() {
        return Err(Refusal::Invalid(format!(
            "document id {root_id} does not match {id}"
        )));
    }
    let projection = match id.kind() {
        DocKind::Enterprise => {
            Projection::Enterprise(crate::doc::read_enterprise_record(doc).map_err(invalid)?)
        }
        DocKind::Visit => Projection::Visit(crate::doc::read_visit_record(doc).map_err(invalid)?),
        DocKind::Monitoring => {
            let m = crate::doc::read_monitoring_record(doc).map_err(invalid)?;
            if root_id != crate::doc::monitoring_id(m.enterprise) {
                return Err(Refusal::Invalid(format!(
                    "monitoring document {root_id} does not belong to enterprise {}",
                    m.enterprise
                )));
            }
            Projection::Monitoring(m)
        }
        DocKind::Problem => {
            let problem = crate::doc::read_problem_record(doc).map_err(invalid)?;
            if config.category(&problem.category).is_none() {
                return Err(Refusal::Invalid(format!(
                    "category {:?} is not configured",
                    problem.category
                )));
            }
            let outcome = replay(&problem);
            Projection::Problem(Box::new(problem), outcome)
        }
    };
    Ok(projection)
}
