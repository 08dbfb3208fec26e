//! The audit log as the administrator reads it: a page of entries by filter, and the hash chain
//! walked whole. Entries are appended by the use cases that write what they record, in the
//! same transaction; nothing here writes.

use super::DbFuture;
use crate::store::{AuditEntry, AuditFilter, AuditVerdict};

/// What the HTTP layer reads of the audit log (`http/admin_audit.rs`). Both backends run the
/// same statements and the same walk (`store/audit_query.rs`).
pub trait AuditLog: Send + Sync + std::fmt::Debug {
    /// The entries `filter` keeps before position `before` (none: from the newest), newest
    /// first, at most `limit`.
    fn search_audit(
        &self,
        filter: AuditFilter,
        before: Option<i64>,
        limit: usize,
    ) -> DbFuture<'_, Vec<AuditEntry>>;

    /// The chain walked whole in its order (by position, the order appends take under the
    /// log's lock), over one snapshot: the first entry whose hash, link or position does not
    /// hold, or how many entries were checked.
    fn verify_audit(&self) -> DbFuture<'_, AuditVerdict>;
}
