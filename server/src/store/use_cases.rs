//! The SQLite implementation of the storage boundary's use-case traits ([`crate::db`]): each
//! call runs the store's query on a blocking thread, on a reader when it only reads and on the
//! writer when it writes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use shared::config::{CheckInRules, Config};
use shared::model::{Assignment, DeviceId, EnterpriseId, OrgUnitId, Timestamp, User, UserId};
use shared::sync::protocol::DocId;
use shared::sync::server::ServerStore as _;
use shared::sync::validate::Scope;

use super::{
    AdminDevice, AuditAction, Device, FreshTokens, ImportedUser, OrgUnitEdit, OrgUnitEntry,
    OrgUnitImport, OwnDevice, PasswordHash, Rotation, SqliteDb, SqliteStore, StoreError, TokenHash,
    TokenKind, TokenLookup, UserRecord,
};
use super::{ClaimedReminder, Outcome, ReminderRow, ScanReport};
use crate::api::{
    BreakdownQuery, BreakdownRow, Bulletin, BulletinSummary, HistoryVerdict, Kpis, Notification,
    OfficerFreshness, ProblemFilter, ProblemPage, SupervisionFilter, SupervisionPage, Timeline,
    Unit, VisitFilter, VisitPage,
};
use crate::auth::scope::{Access, access_for};
use crate::blobs::BlobHash;
use crate::db::{
    BlobRecords, Bulletins, DbFuture, Directory, Opening, Queries, Reminders, Tokens, UploadRow,
    within_budget,
};
use crate::remind::Settings;

/// Runs `f` on one of `db`'s readers.
pub(super) fn on_reader<T: Send + 'static>(
    db: &Arc<SqliteDb>,
    f: impl FnOnce(&mut SqliteStore) -> Result<T, StoreError> + Send + 'static,
) -> DbFuture<'static, T> {
    let db = db.clone();
    Box::pin(async move { db.read(f).await.unwrap_or(Err(StoreError::Unavailable)) })
}

/// Runs `f` on `db`'s writer.
pub(super) fn on_writer<T: Send + 'static>(
    db: &Arc<SqliteDb>,
    f: impl FnOnce(&mut SqliteStore) -> Result<T, StoreError> + Send + 'static,
) -> DbFuture<'static, T> {
    let db = db.clone();
    Box::pin(async move { db.write(f).await.unwrap_or(Err(StoreError::Unavailable)) })
}

impl Directory for Arc<SqliteDb> {
    fn access(&self, user: User, device: Device, now: Timestamp) -> DbFuture<'_, Access> {
        on_reader(self, move |s| access_for(s, &user, &device, now))
    }

    fn org_unit(&self, id: OrgUnitId) -> DbFuture<'_, Option<OrgUnitEntry>> {
        on_reader(self, move |s| s.org_unit(id))
    }

    fn org_unit_by_code(&self, code: String) -> DbFuture<'_, Option<OrgUnitEntry>> {
        on_reader(self, move |s| s.org_unit_by_code(&code))
    }

    fn org_subtree(&self, root: OrgUnitId) -> DbFuture<'_, BTreeSet<OrgUnitId>> {
        on_reader(self, move |s| s.org_subtree(root))
    }

    fn user_by_login(&self, login: String) -> DbFuture<'_, Option<UserRecord>> {
        on_reader(self, move |s| s.find_user_by_login(&login))
    }

    fn listing(&self) -> DbFuture<'_, (Vec<OrgUnitEntry>, Vec<UserRecord>)> {
        on_reader(self, |s| Ok((s.list_org_units()?, s.list_users()?)))
    }

    fn own_devices(&self, user: UserId) -> DbFuture<'_, Vec<OwnDevice>> {
        on_reader(self, move |s| s.own_devices(user))
    }

    fn revoke_own_device(
        &self,
        user: UserId,
        device: DeviceId,
        now: Timestamp,
        detail: String,
    ) -> DbFuture<'_, ()> {
        on_writer(self, move |s| {
            s.revoke_own_device(user, device, now, &detail)
        })
    }

    fn admin_devices(&self) -> DbFuture<'_, Vec<AdminDevice>> {
        on_reader(self, |s| s.admin_devices())
    }

    fn revoke_device(&self, id: DeviceId, now: Timestamp, actor: String) -> DbFuture<'_, ()> {
        on_writer(self, move |s| s.revoke_device(id, now, &actor))
    }

    fn disable_user(
        &self,
        login: String,
        now: Timestamp,
        actor: String,
    ) -> DbFuture<'_, Vec<DeviceId>> {
        on_writer(self, move |s| s.disable_user(&login, now, &actor))
    }

    fn enable_user(&self, login: String, now: Timestamp, actor: String) -> DbFuture<'_, ()> {
        on_writer(self, move |s| s.enable_user(&login, now, &actor))
    }

    fn reset_password(
        &self,
        login: String,
        hash: PasswordHash,
        now: Timestamp,
        actor: String,
    ) -> DbFuture<'_, Vec<DeviceId>> {
        on_writer(self, move |s| s.set_password(&login, &hash, now, &actor))
    }

    fn add_people(
        &self,
        people: Vec<ImportedUser>,
        now: Timestamp,
        actor: String,
        import: Option<(String, String)>,
    ) -> DbFuture<'_, ()> {
        on_writer(self, move |s| {
            let import = import.as_ref().map(|(s, d)| (s.as_str(), d.as_str()));
            s.create_users(&people, now, &actor, import)
        })
    }

    fn enterprises_by_credit_code(
        &self,
        codes: Vec<String>,
    ) -> DbFuture<'_, BTreeMap<String, EnterpriseId>> {
        on_reader(self, move |s| {
            let mut found = BTreeMap::new();
            for code in codes {
                if let Some(id) = s.enterprise_by_credit_code(&code)? {
                    found.insert(code, id);
                }
            }
            Ok(found)
        })
    }

    fn import_assignments(
        &self,
        rows: Vec<Assignment>,
        now: Timestamp,
        actor: String,
        subject: String,
        detail: String,
    ) -> DbFuture<'_, ()> {
        on_writer(self, move |s| {
            s.import_assignments_audited(&rows, now, &actor, &subject, &detail)
        })
    }

    fn end_assignments(
        &self,
        enterprise: EnterpriseId,
        now: Timestamp,
        actor: String,
    ) -> DbFuture<'_, BTreeSet<UserId>> {
        on_writer(self, move |s| {
            s.end_assignments_audited(enterprise, now, &actor)
        })
    }

    fn move_assignment(
        &self,
        enterprise: EnterpriseId,
        from: Option<UserId>,
        to: UserId,
        now: Timestamp,
        actor: String,
    ) -> DbFuture<'_, ()> {
        on_writer(self, move |s| {
            s.move_assignment_audited(enterprise, from, to, now, &actor)
                .map(|_| ())
        })
    }

    fn edit_org_unit(
        &self,
        edit: OrgUnitEdit,
        now: Timestamp,
        actor: String,
    ) -> DbFuture<'_, OrgUnitEntry> {
        on_writer(self, move |s| s.edit_org_unit_audited(&edit, now, &actor))
    }

    fn import_org_units(
        &self,
        rows: Vec<OrgUnitImport>,
        now: Timestamp,
        actor: String,
        subject: String,
        detail: String,
    ) -> DbFuture<'_, ()> {
        on_writer(self, move |s| {
            s.import_org_units_audited(&rows, now, &actor, &subject, &detail)
        })
    }
}

impl Tokens for Arc<SqliteDb> {
    fn store_token(
        &self,
        hash: TokenHash,
        device: DeviceId,
        kind: TokenKind,
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> DbFuture<'_, ()> {
        on_writer(self, move |s| {
            s.store_token(&hash, device, kind, issued_at, expires_at)
        })
    }

    fn lookup_token(&self, hash: TokenHash) -> DbFuture<'_, Option<TokenLookup>> {
        on_reader(self, move |s| s.lookup_token(&hash))
    }

    fn note_token_use(
        &self,
        hash: TokenHash,
        first_use: bool,
        touched: Option<DeviceId>,
        now: Timestamp,
    ) -> DbFuture<'_, ()> {
        on_writer(self, move |s| {
            if first_use {
                s.mark_token_used(&hash, now)?;
            }
            if let Some(device) = touched {
                s.touch_device(device, now)?;
            }
            Ok(())
        })
    }

    fn revoke_device_tokens(&self, device: DeviceId) -> DbFuture<'_, usize> {
        on_writer(self, move |s| s.revoke_device_tokens(device))
    }

    fn log_out(&self, device: DeviceId, login: String, at: Timestamp) -> DbFuture<'_, ()> {
        on_writer(self, move |s| {
            s.revoke_device_tokens(device)?;
            s.audit(at, &login, AuditAction::Logout, &device.to_string(), "")?;
            Ok(())
        })
    }

    fn rotate_refresh_token(
        &self,
        presented: TokenHash,
        fresh: FreshTokens,
        now: Timestamp,
        grace_ms: i64,
        from: String,
    ) -> DbFuture<'_, Rotation> {
        on_writer(self, move |s| {
            s.rotate_refresh_token(&presented, &fresh, now, grace_ms, &from)
        })
    }

    fn change_own_password(
        &self,
        user: UserId,
        hash: PasswordHash,
        device: DeviceId,
        fresh: FreshTokens,
        now: Timestamp,
    ) -> DbFuture<'_, Vec<DeviceId>> {
        on_writer(self, move |s| {
            s.change_own_password(user, &hash, device, &fresh, now)
        })
    }

    fn audit_failed_login(
        &self,
        at: Timestamp,
        from: String,
        attempted: String,
        detail: String,
    ) -> DbFuture<'_, ()> {
        on_writer(self, move |s| {
            s.audit(at, &from, AuditAction::LoginFailed, &attempted, &detail)
                .map(|_| ())
        })
    }
}

impl Queries for Arc<SqliteDb> {
    fn feed_position(&self) -> DbFuture<'_, u64> {
        on_reader(self, |s| s.latest_seq())
    }

    fn kpis(
        &self,
        unit: Unit,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
        check_in: CheckInRules,
    ) -> DbFuture<'_, Kpis> {
        on_reader(self, move |s| s.kpis(unit, from, to, now, &check_in))
    }

    fn breakdown(
        &self,
        query: BreakdownQuery,
        now: Timestamp,
        config: Arc<Config>,
    ) -> DbFuture<'_, Vec<BreakdownRow>> {
        on_reader(self, move |s| s.breakdown(query, now, &config))
    }

    fn officer_freshness(
        &self,
        units: Option<BTreeSet<OrgUnitId>>,
    ) -> DbFuture<'_, Vec<OfficerFreshness>> {
        on_reader(self, move |s| s.officer_freshness(units.as_ref()))
    }

    fn problems(
        &self,
        scope: Scope,
        filter: ProblemFilter,
        config: Arc<Config>,
        now: Timestamp,
    ) -> DbFuture<'_, ProblemPage> {
        on_reader(self, move |s| {
            s.list_problems(&scope, &filter, &config, now)
        })
    }

    fn visits(
        &self,
        scope: Scope,
        filter: VisitFilter,
        check_in: CheckInRules,
    ) -> DbFuture<'_, VisitPage> {
        on_reader(self, move |s| s.list_visits(&scope, &filter, &check_in))
    }

    fn timeline(&self, enterprise: EnterpriseId, scope: Scope) -> DbFuture<'_, Option<Timeline>> {
        on_reader(self, move |s| s.enterprise_timeline(enterprise, &scope))
    }

    fn history_verdict(&self, doc: DocId) -> DbFuture<'_, Option<(EnterpriseId, HistoryVerdict)>> {
        on_reader(self, move |s| s.history_verdict(&doc))
    }

    fn supervision(
        &self,
        scope: Scope,
        filter: SupervisionFilter,
        now: Timestamp,
    ) -> DbFuture<'_, SupervisionPage> {
        on_reader(self, move |s| s.list_supervision(&scope, &filter, now))
    }

    fn todo_documents(
        &self,
        scope: Scope,
        user: UserId,
        unit: OrgUnitId,
    ) -> DbFuture<'_, Vec<Vec<u8>>> {
        on_reader(self, move |s| {
            let ids = s.todo_problems(&scope, user, unit)?;
            let mut docs = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(stored) = s.load_doc(&id)? {
                    docs.push(stored.bytes);
                }
            }
            Ok(docs)
        })
    }
}

impl Bulletins for Arc<SqliteDb> {
    fn list(&self) -> DbFuture<'_, Vec<BulletinSummary>> {
        on_reader(self, |s| s.bulletins())
    }

    fn get(&self, id: i64) -> DbFuture<'_, Option<Bulletin>> {
        on_reader(self, move |s| s.bulletin(id))
    }

    fn issue(&self, mut b: Bulletin, login: String) -> DbFuture<'_, Bulletin> {
        on_writer(self, move |s| {
            b.id = s.store_bulletin(&b)?;
            let subject = b.id.to_string();
            s.audit(
                b.issued_at,
                &login,
                AuditAction::BulletinIssued,
                &subject,
                &b.title,
            )?;
            Ok(b)
        })
    }
}

impl BlobRecords for Arc<SqliteDb> {
    fn blob_references(&self, hash: BlobHash) -> DbFuture<'_, Vec<(DocId, EnterpriseId)>> {
        on_reader(self, move |s| s.blob_references(&hash))
    }

    fn open_upload(&self, row: UploadRow, since: Timestamp, budget: u64) -> DbFuture<'_, Opening> {
        // On the one writer: no other upload opens between the count and the record.
        on_writer(self, move |s| {
            let used = s.upload_bytes_since(row.user, since)?;
            if !within_budget(used, row.charged, budget) {
                return Ok(Opening::OverBudget { used });
            }
            s.create_upload(&row)?;
            Ok(Opening::Opened)
        })
    }

    fn upload(&self, id: String) -> DbFuture<'_, Option<UploadRow>> {
        on_reader(self, move |s| s.upload(&id))
    }

    fn finish_upload(&self, id: String, at: Timestamp) -> DbFuture<'_, ()> {
        on_writer(self, move |s| s.finish_upload(&id, at))
    }

    fn delete_upload(&self, id: String) -> DbFuture<'_, ()> {
        on_writer(self, move |s| s.delete_upload(&id))
    }
}

impl Reminders for Arc<SqliteDb> {
    fn scan_reminders(
        &self,
        now: Timestamp,
        settings: Arc<Settings>,
        config: Arc<Config>,
    ) -> DbFuture<'_, ScanReport> {
        on_writer(self, move |s| s.scan_reminders(now, &settings, &config))
    }

    fn claim_reminders(
        &self,
        now: Timestamp,
        settings: Arc<Settings>,
        limit: usize,
    ) -> DbFuture<'_, Vec<ClaimedReminder>> {
        on_writer(self, move |s| s.claim_reminders(now, &settings, limit))
    }

    fn finish_reminders(
        &self,
        ids: Vec<i64>,
        outcome: Outcome,
        now: Timestamp,
        settings: Arc<Settings>,
    ) -> DbFuture<'_, ()> {
        on_writer(self, move |s| {
            s.finish_reminders(&ids, &outcome, now, &settings)
        })
    }

    fn next_reminder_at(&self, settings: Arc<Settings>) -> DbFuture<'_, Option<Timestamp>> {
        on_reader(self, move |s| s.next_reminder_at(&settings))
    }

    fn unseen_notifications(&self, user: String, limit: usize) -> DbFuture<'_, Vec<Notification>> {
        on_reader(self, move |s| s.unseen_notifications(&user, limit))
    }

    fn mark_notifications_seen(
        &self,
        user: String,
        ids: Vec<i64>,
        now: Timestamp,
    ) -> DbFuture<'_, usize> {
        on_writer(self, move |s| s.mark_notifications_seen(&user, &ids, now))
    }

    fn reminder_rows(&self) -> DbFuture<'_, Vec<ReminderRow>> {
        on_reader(self, |s| s.reminder_rows())
    }
}
