//! Enterprise profiles for the administrator: the list, one profile's stored document with the
//! facts its view needs, and documents the server writes itself (an import's new profiles, an
//! edit) committed through the sync store's commit path with their audit entry in the same
//! transaction. The rules (what a file or an edit becomes) are `crate::admin`'s, written once.

use shared::config::Config;
use shared::doc::RecordDoc;
use shared::model::{EnterpriseId, Timestamp};
use shared::sync::protocol::DocId;

use super::DbFuture;
use crate::store::{AuditAction, EnterpriseQuery, EnterpriseRow};

/// A stored profile: its document's bytes and what the administrator's view adds to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProfile {
    /// The profile document's Automerge bytes.
    pub bytes: Vec<u8>,
    /// The profile it was merged into, when it was.
    pub merged_into: Option<EnterpriseId>,
    /// Profiles merged into it, by id.
    pub absorbed: Vec<EnterpriseId>,
    /// Visits and problems stored under it.
    pub records: usize,
}

/// The audit entry a server write carries, stored in the write's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditNote {
    /// Who acted (a login, `cli:<user>` from the command line).
    pub actor: String,
    /// What was done.
    pub action: AuditAction,
    /// What it was done to.
    pub subject: String,
    /// Details.
    pub detail: String,
}

/// Documents the server writes itself, committed in one transaction with their audit entry.
#[derive(Debug)]
pub struct ServerWrite {
    /// The documents, each as the server made or changed it.
    pub docs: Vec<(DocId, RecordDoc)>,
    /// The entry written in the same transaction.
    pub audit: AuditNote,
    /// What the commit checks first.
    pub check: WriteCheck,
}

/// What a server write's commit checks before it stores anything, against what other writes
/// (on any server) stored since the write was made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteCheck {
    /// Credit codes the write gives new profiles: when a profile not merged into another holds
    /// one of them (another import stored it meanwhile), nothing is stored and the write
    /// answers `Duplicate` naming it.
    pub new_credit_codes: Vec<String>,
    /// The profile an edit changes: when it was merged into another meanwhile, nothing is
    /// stored and the write answers `Invalid` saying so, as the edit would have been refused.
    pub edited: Option<EnterpriseId>,
}

/// What the administrator's enterprise routes need from the database.
pub trait Enterprises: Send + Sync + std::fmt::Debug {
    /// The administrator's list: profiles by name (compared by bytes), filtered by `query`,
    /// each with how many other live profiles share its credit code.
    fn admin_enterprises(&self, query: EnterpriseQuery) -> DbFuture<'_, Vec<EnterpriseRow>>;

    /// Profile `id`'s document and facts, read together; `None` when it is not stored.
    fn profile(&self, id: EnterpriseId) -> DbFuture<'_, Option<StoredProfile>>;

    /// Commits `write` through the sync engine (validation, projections, feed, history
    /// verdicts) as the system's device, with its audit entry, in one transaction, after its
    /// [`WriteCheck`]; answers the feed's position after it. Two writes giving one credit code
    /// at once, on any server, store one: the later answers `Duplicate` (SQLite: its one
    /// writer; PostgreSQL: the check runs in the commit, under the feed's lock every commit
    /// takes first). `Invalid` when the engine refused a document or the edited profile was
    /// merged (nothing stored).
    fn commit_server_write(
        &self,
        write: ServerWrite,
        config: Config,
        now: Timestamp,
    ) -> DbFuture<'_, u64>;
}
