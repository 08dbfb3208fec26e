//! The audit log (审计日志): who did what to the district's accounts, devices, directory,
//! configuration, cards, bulletins and backups — logins and failed logins, logouts, admin
//! commands, revocations, imports, configuration changes. Append-only (the table refuses
//! updates and deletes) and hash-chained like a record's history: each entry's hash covers the
//! previous entry's hash and its own fields, so [`SqliteStore::verify_audit`] finds the first
//! entry changed, removed or inserted behind the server's back. Searched and walked on either
//! backend by `store/audit_query.rs`; here the actions, the hash and SQLite's append.

use rusqlite::{OptionalExtension as _, params};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use shared::model::Timestamp;

use super::{SqliteStore, StoreError};

/// What was done: the one list of audited actions, with their stored codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// A login succeeded.
    Login,
    /// A login was refused (wrong password, unknown login, disabled account, throttled).
    LoginFailed,
    /// A device logged out.
    Logout,
    /// An administrator added a user.
    UserAdded,
    /// An administrator disabled a user (their devices are revoked).
    UserDisabled,
    /// An administrator enabled a disabled user again.
    UserEnabled,
    /// An administrator set a user's password.
    PasswordReset,
    /// An administrator revoked a device.
    DeviceRevoked,
    /// Org units, enterprises, assignments or users imported from a file.
    Imported,
    /// A backup was written.
    BackedUp,
    /// The database was replaced by a backup.
    Restored,
    /// The server started with a district configuration of another version than before.
    ConfigApplied,
    /// An enterprise's 连心卡 link was replaced or revoked.
    CardChanged,
    /// A leader issued a bulletin.
    BulletinIssued,
    /// A refresh token already exchanged was presented again (a stolen copy, or the thief's
    /// use after the owner's): every token of the device was revoked.
    RefreshTokenReused,
    /// A used refresh token was presented again soon after, while the tokens issued for it
    /// were never used: a phone retrying after the answer was lost. Those tokens were revoked
    /// and new ones issued.
    RefreshRetried,
    /// A user changed their own password (their other devices' sessions ended).
    PasswordChanged,
    /// A user revoked one of their own devices.
    OwnDeviceRevoked,
    /// A device's handover file (its unsynced changes) was applied.
    HandoverImported,
    /// An administrator ended an enterprise's open assignments (包联结束).
    AssignmentEnded,
    /// An administrator moved an enterprise from one officer to another (包联调整).
    AssignmentMoved,
    /// An administrator edited an enterprise's profile (name, address, contacts …).
    EnterpriseEdited,
    /// An administrator merged two profiles of one enterprise (same credit code).
    EnterpriseMerged,
    /// An administrator added an org unit (a town, a department).
    OrgUnitAdded,
    /// An administrator renamed an org unit.
    OrgUnitRenamed,
    /// An administrator put an org unit under another parent.
    OrgUnitMoved,
}

impl AuditAction {
    /// Every action, in the order they were added.
    pub const ALL: [AuditAction; 26] = [
        AuditAction::Login,
        AuditAction::LoginFailed,
        AuditAction::Logout,
        AuditAction::UserAdded,
        AuditAction::UserDisabled,
        AuditAction::UserEnabled,
        AuditAction::PasswordReset,
        AuditAction::DeviceRevoked,
        AuditAction::Imported,
        AuditAction::BackedUp,
        AuditAction::Restored,
        AuditAction::ConfigApplied,
        AuditAction::CardChanged,
        AuditAction::BulletinIssued,
        AuditAction::RefreshTokenReused,
        AuditAction::RefreshRetried,
        AuditAction::PasswordChanged,
        AuditAction::OwnDeviceRevoked,
        AuditAction::HandoverImported,
        AuditAction::AssignmentEnded,
        AuditAction::AssignmentMoved,
        AuditAction::EnterpriseEdited,
        AuditAction::EnterpriseMerged,
        AuditAction::OrgUnitAdded,
        AuditAction::OrgUnitRenamed,
        AuditAction::OrgUnitMoved,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            AuditAction::Login => "login",
            AuditAction::LoginFailed => "login_failed",
            AuditAction::Logout => "logout",
            AuditAction::UserAdded => "user_added",
            AuditAction::UserDisabled => "user_disabled",
            AuditAction::UserEnabled => "user_enabled",
            AuditAction::PasswordReset => "password_reset",
            AuditAction::DeviceRevoked => "device_revoked",
            AuditAction::Imported => "imported",
            AuditAction::BackedUp => "backed_up",
            AuditAction::Restored => "restored",
            AuditAction::ConfigApplied => "config_applied",
            AuditAction::CardChanged => "card_changed",
            AuditAction::BulletinIssued => "bulletin_issued",
            AuditAction::RefreshTokenReused => "refresh_token_reused",
            AuditAction::RefreshRetried => "refresh_retried",
            AuditAction::PasswordChanged => "password_changed",
            AuditAction::OwnDeviceRevoked => "own_device_revoked",
            AuditAction::HandoverImported => "handover_imported",
            AuditAction::AssignmentEnded => "assignment_ended",
            AuditAction::AssignmentMoved => "assignment_moved",
            AuditAction::EnterpriseEdited => "enterprise_edited",
            AuditAction::EnterpriseMerged => "enterprise_merged",
            AuditAction::OrgUnitAdded => "org_unit_added",
            AuditAction::OrgUnitRenamed => "org_unit_renamed",
            AuditAction::OrgUnitMoved => "org_unit_moved",
        }
    }
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Position in the log, from 1.
    pub seq: i64,
    /// When, on the server's clock (ms).
    pub at: Timestamp,
    /// Who: a login, `cli` for the administrator's command line, `server` for the server.
    pub actor: String,
    /// What ([`AuditAction::code`]).
    pub action: String,
    /// On what: a login, a device, a file, an enterprise, a bulletin.
    pub subject: String,
    /// Anything else worth knowing (a client address, a count, a version).
    pub detail: String,
    /// The entry's hash, hex.
    pub hash: String,
}

/// Which entries a reader wants (`store/audit_query.rs`, either backend); an unset field
/// filters nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this action ([`AuditAction::code`]).
    pub action: Option<String>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Only entries whose actor, subject or detail contains this text.
    pub text: Option<String>,
    /// Only entries at or after this instant.
    pub from: Option<Timestamp>,
    /// Only entries before this instant.
    pub to: Option<Timestamp>,
}

/// What [`SqliteStore::verify_audit`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum AuditVerdict {
    /// Every entry's hash holds and links to the one before.
    Intact {
        /// How many entries were checked.
        entries: i64,
    },
    /// The first entry whose hash or link does not hold.
    Broken {
        /// Its position.
        seq: i64,
        /// What is wrong.
        reason: String,
    },
}

/// The hash before the first entry.
pub(crate) const GENESIS: [u8; 32] = [0; 32];

/// An entry's hash: SHA-256 over the previous hash and each field, length-prefixed.
pub(crate) fn entry_hash(prev: &[u8], seq: i64, at: i64, fields: [&str; 4]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(at.to_be_bytes());
    for field in fields {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    h.finalize().into()
}

type Row = (i64, i64, String, String, String, String, Vec<u8>, Vec<u8>);

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

fn to_entry((seq, at, actor, action, subject, detail, _, hash): Row) -> AuditEntry {
    AuditEntry {
        seq,
        at: Timestamp(at),
        actor,
        action,
        subject,
        detail,
        hash: crate::auth::token::hex(&hash),
    }
}

const COLUMNS: &str = "seq, at, actor, action, subject, detail, prev_hash, hash";

/// Appends an entry at the end of the chain inside the caller's transaction `tx` (so the
/// entry is written with what it records, or not at all); returns its position.
pub(super) fn append(
    tx: &rusqlite::Connection,
    at: Timestamp,
    actor: &str,
    action: AuditAction,
    subject: &str,
    detail: &str,
) -> Result<i64, StoreError> {
    let last: Option<(i64, Vec<u8>)> = tx
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (seq, prev) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_vec()),
    };
    let hash = entry_hash(&prev, seq, at.0, [actor, action.code(), subject, detail]);
    tx.prepare_cached(
        "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        seq,
        at.0,
        actor,
        action.code(),
        subject,
        detail,
        prev,
        hash.as_slice()
    ])?;
    Ok(seq)
}

impl SqliteStore {
    /// Appends an entry at the end of the chain; returns its position.
    pub fn audit(
        &mut self,
        at: Timestamp,
        actor: &str,
        action: AuditAction,
        subject: &str,
        detail: &str,
    ) -> Result<i64, StoreError> {
        // Immediate: the entry reads the chain's last hash and then appends, so it takes the
        // write lock first (waiting the busy timeout for a running server's commit) instead of
        // failing at once when a deferred read has to become a write (a backup from the CLI).
        // Inside a group commit (an administrator's edit of a document and its entry, one
        // transaction) it is a savepoint of the group's transaction.
        let tx = super::group::write_tx(&mut self.conn)?;
        let seq = append(&tx, at, actor, action, subject, detail)?;
        tx.commit()?;
        Ok(seq)
    }

    /// The entries after position `after`, oldest first, at most `limit`.
    pub fn audit_log(&self, after: i64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2"
            ))?
            .query_map(params![after, limit], read_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows.into_iter().map(to_entry).collect())
    }

    /// The detail of the last entry of `action`, if any (the configuration version the server
    /// last started with).
    pub fn last_audit_detail(&self, action: AuditAction) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT detail FROM audit_log WHERE action = ?1 ORDER BY seq DESC LIMIT 1",
            )?
            .query_row([action.code()], |r| r.get(0))
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("audit.db")).expect("opens");
        (dir, store)
    }

    fn three(store: &mut SqliteStore) {
        for (n, action) in [
            AuditAction::Login,
            AuditAction::UserAdded,
            AuditAction::Logout,
        ]
        .into_iter()
        .enumerate()
        {
            store
                .audit(
                    Timestamp(1000 + n as i64),
                    "wang",
                    action,
                    "wang",
                    "203.0.113.1",
                )
                .expect("appended");
        }
    }

    #[test]
    fn appended_entries_read_back_in_order_and_the_chain_verifies() {
        let (_dir, mut s) = store();
        assert_eq!(
            s.verify_audit().expect("verifies"),
            AuditVerdict::Intact { entries: 0 }
        );
        three(&mut s);
        let log = s.audit_log(0, 10).expect("reads");
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["login", "user_added", "logout"]);
        assert_eq!(s.audit_log(2, 10).expect("reads").len(), 1);
        assert_eq!(
            s.verify_audit().expect("verifies"),
            AuditVerdict::Intact { entries: 3 }
        );
    }

    #[test]
    fn a_search_pages_newest_first_and_keeps_only_what_the_filter_names() {
        let (_dir, mut s) = store();
        three(&mut s);
        s.audit(
            Timestamp(2000),
            "li",
            AuditAction::Login,
            "li",
            "198.51.100.7",
        )
        .expect("appended");
        let seqs = |f: &AuditFilter, before, limit| -> Vec<i64> {
            s.audit_search(f, before, limit)
                .expect("reads")
                .iter()
                .map(|e| e.seq)
                .collect()
        };
        let all = AuditFilter::default();
        assert_eq!(seqs(&all, None, 2), [4, 3]);
        assert_eq!(seqs(&all, Some(3), 10), [2, 1]);
        let logins = AuditFilter {
            action: Some("login".into()),
            ..AuditFilter::default()
        };
        assert_eq!(seqs(&logins, None, 10), [4, 1]);
        let by_text = AuditFilter {
            text: Some("198.51".into()),
            ..AuditFilter::default()
        };
        assert_eq!(seqs(&by_text, None, 10), [4]);
        let window = AuditFilter {
            actor: Some("wang".into()),
            from: Some(Timestamp(1001)),
            to: Some(Timestamp(1002)),
            ..AuditFilter::default()
        };
        assert_eq!(seqs(&window, None, 10), [2]);
    }

    #[test]
    fn the_table_refuses_updates_and_deletes() {
        let (_dir, mut s) = store();
        three(&mut s);
        assert!(
            s.conn
                .execute("UPDATE audit_log SET actor = 'li' WHERE seq = 2", [])
                .is_err()
        );
        assert!(
            s.conn
                .execute("DELETE FROM audit_log WHERE seq = 3", [])
                .is_err()
        );
    }

    #[test]
    fn an_entry_changed_or_removed_behind_the_servers_back_is_found() {
        let (_dir, mut s) = store();
        three(&mut s);
        // Someone with the file drops the triggers and edits the middle entry.
        s.conn
            .execute_batch(
                "DROP TRIGGER audit_log_is_append_only_update; \
                 DROP TRIGGER audit_log_is_append_only_delete; \
                 UPDATE audit_log SET actor = 'li' WHERE seq = 2;",
            )
            .expect("tampered");
        assert!(matches!(
            s.verify_audit().expect("verifies"),
            AuditVerdict::Broken { seq: 2, .. }
        ));
        s.conn
            .execute("DELETE FROM audit_log WHERE seq = 2", [])
            .expect("removed");
        assert!(matches!(
            s.verify_audit().expect("verifies"),
            AuditVerdict::Broken { seq: 2, .. }
        ));
    }
}
