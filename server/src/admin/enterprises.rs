//! The administrator's edits of enterprise profiles and merges of duplicates (issue 17 item 1),
//! for the command line (`enterprises list|show|edit|merge`) and `/api/admin/enterprises…`
//! alike.
//!
//! An edit is a change to the profile's Automerge document like a phone's: loaded from the
//! store, changed where the administrator's values differ from the stored ones (so a field
//! nobody touched never conflicts with a phone's concurrent edit), committed through the sync
//! engine (validation, projections, feed) in one transaction with its audit entry. The change
//! carries the acting administrator as its author on the server's own device and Automerge
//! actor (`crate::writer`), so the record's history names them and the history audit's
//! authorship rule holds.
//!
//! A merge (合并重复企业) keeps one of two profiles with the same 统一社会信用代码: the
//! survivor takes the absorbed profile's contacts (and its position, key flag, address or
//! industry where its own is missing); every visit and problem of the absorbed profile is
//! re-pointed to the survivor (a change of its `enterprise` field, which only the server may
//! make); the absorbed profile's assignments pass to the survivor; the absorbed profile stays
//! stored, whole, with its history, marked merged (`enterprise_merges`) and left out of lists
//! and scopes. All in one transaction with the audit entry. A phone offline during the merge
//! may still push what it recorded for the absorbed profile: its write scope keeps the absorbed
//! id (`crate::auth::scope`), and [`follow_merges`] re-points such records a second later.

use std::sync::Arc;

use serde::Serialize;
use shared::config::Config;
use shared::doc::{DocKind, EnterpriseDoc, RecordDoc};
use shared::model::{Actor, Enterprise, EnterpriseId, Role, Timestamp, UserId};
use shared::sync::protocol::DocId;
use shared::sync::server::ServerStore as _;

use super::AdminError;
pub use super::enterprise_input::{
    CONTACT_TEXT_MAX, CONTACTS_MAX, ContactInput, EnterpriseEdit, NAME_MAX, PHONE_MAX,
    PositionInput, TEXT_MAX,
};
use super::enterprise_input::{changed_fields, checked, write_differences};
use crate::db::{AuditNote, ServerWrite, StoredProfile, WriteCheck};
use crate::store::enterprise_profiles::server_write;
use crate::store::{AuditAction, GroupJob, MergeRows, SqliteStore, StoreError, StoreHold};
use crate::sync::SyncService;
use crate::writer::{commit_documents, system_actor, system_actor_id};

/// A contact as answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactView {
    /// Entry id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Role (职务).
    pub title: String,
    /// Phone.
    pub phone: String,
}

/// One profile as the administrator sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnterpriseView {
    /// Id.
    pub id: String,
    /// 统一社会信用代码.
    pub credit_code: String,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Town (org unit id).
    pub town: String,
    /// Industry.
    pub industry: String,
    /// `above` / `below`.
    pub size: String,
    /// 重点企业.
    pub key_enterprise: bool,
    /// Position.
    pub position: Option<PositionInput>,
    /// Contacts, by entry id.
    pub contacts: Vec<ContactView>,
    /// The profile it was merged into, when it was.
    pub merged_into: Option<String>,
    /// Profiles merged into this one.
    pub absorbed: Vec<String>,
    /// Visits and problems stored under it.
    pub records: usize,
}

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeReport {
    /// The profile kept.
    pub survivor: String,
    /// The profile merged into it.
    pub absorbed: String,
    /// Visits and problems re-pointed to the survivor.
    pub records_moved: usize,
    /// Contacts the survivor took over.
    pub contacts_added: usize,
    /// Assignments handed to the survivor.
    pub assignments_moved: usize,
    /// Assignments ended because their user already had the survivor.
    pub assignments_ended: usize,
}

/// Who acts: the login in the audit log and the author in the records' history.
#[derive(Debug, Clone)]
pub struct Acting {
    /// The audit log's actor (`cli:<user>` from the command line).
    pub login: String,
    /// The administrator's user id (the system's from the command line).
    pub user: Option<UserId>,
}

impl Acting {
    /// The author of the changes: the administrator on the server's own device, whose
    /// Automerge actor is the system's (the history audit's authorship rule).
    fn actor(&self) -> Actor {
        let system = system_actor();
        Actor {
            user: self.user.unwrap_or(system.user),
            device: system.device,
            role: Role::Admin,
        }
    }
}

fn not_found(id: &str) -> AdminError {
    AdminError::Store(StoreError::NotFound {
        what: "enterprise",
        key: id.to_string(),
    })
}

/// Parses an enterprise id given by the administrator.
///
/// # Errors
/// [`StoreError::NotFound`] when it is not an id.
pub fn parse_id(id: &str) -> Result<EnterpriseId, AdminError> {
    EnterpriseId::parse(id).map_err(|_| not_found(id))
}

fn load(store: &mut SqliteStore, id: EnterpriseId) -> Result<(DocId, EnterpriseDoc), AdminError> {
    let doc_id = DocId::new(DocKind::Enterprise, &id.to_string());
    let stored = store
        .load_doc(&doc_id)?
        .ok_or_else(|| not_found(&id.to_string()))?;
    let doc = EnterpriseDoc::load(&stored.bytes, system_actor_id())
        .map_err(|e| AdminError::Invalid(format!("enterprise {id} cannot be read: {e}")))?;
    Ok((doc_id, doc))
}

/// Profile `id` as the administrator sees it: its stored document read, with the facts
/// `stored` carries (the rule of `GET /api/admin/enterprises/{id}` and `enterprises show`, on
/// either database).
///
/// # Errors
/// [`AdminError::Invalid`] when the document cannot be read.
pub fn view_of(id: EnterpriseId, stored: &StoredProfile) -> Result<EnterpriseView, AdminError> {
    let e = EnterpriseDoc::load(&stored.bytes, system_actor_id())
        .and_then(|doc| doc.read())
        .map_err(|err| AdminError::Invalid(format!("enterprise {id} cannot be read: {err}")))?;
    Ok(EnterpriseView {
        id: e.id.to_string(),
        credit_code: e.credit_code.as_str().to_string(),
        name: e.name,
        address: e.address,
        town: e.town.to_string(),
        industry: e.industry,
        size: e.size.code().to_string(),
        key_enterprise: e.key_enterprise,
        position: e.position.map(|p| PositionInput {
            lat: p.lat,
            lon: p.lon,
            accuracy_m: p.accuracy_m,
        }),
        contacts: e
            .contacts
            .iter()
            .map(|(id, c)| ContactView {
                id: id.to_string(),
                name: c.name.clone(),
                title: c.title.clone(),
                phone: c.phone.clone(),
            })
            .collect(),
        merged_into: stored.merged_into.map(|s| s.to_string()),
        absorbed: stored.absorbed.iter().map(ToString::to_string).collect(),
        records: stored.records,
    })
}

/// Profile `id` as stored, or [`StoreError::NotFound`].
///
/// # Errors
/// As said.
pub fn found(id: EnterpriseId, stored: Option<StoredProfile>) -> Result<StoredProfile, AdminError> {
    stored.ok_or_else(|| not_found(&id.to_string()))
}

/// One profile, read from its document.
///
/// # Errors
/// [`StoreError::NotFound`] for an unknown id; the store's failures.
pub fn show(store: &mut SqliteStore, id: EnterpriseId) -> Result<EnterpriseView, AdminError> {
    view_of(id, &found(id, store.profile(id)?)?)
}

/// Commits `docs` through the sync engine and runs `then` (the audit entry, the merge's rows)
/// in the same transaction.
fn commit_with<T: Send>(
    store: &mut SqliteStore,
    mut docs: Vec<(DocId, RecordDoc)>,
    config: &Config,
    now: Timestamp,
    then: impl FnOnce(&mut SqliteStore) -> Result<T, StoreError> + Send,
) -> Result<T, AdminError> {
    let job: GroupJob<'_, T> = Box::new(move |s| {
        commit_documents(s, &mut docs, config, now)
            .map_err(|e| StoreError::Invalid(format!("storing the records: {e}")))?;
        then(s)
    });
    match store.group(vec![job]).pop() {
        Some(r) => Ok(r?),
        None => Err(AdminError::Invalid("nothing was committed".into())),
    }
}

fn merged(id: EnterpriseId, survivor: EnterpriseId) -> AdminError {
    AdminError::Invalid(crate::store::enterprise_profiles::merged_message(
        id, survivor,
    ))
}

fn refuse_merged(store: &SqliteStore, id: EnterpriseId) -> Result<(), AdminError> {
    match store.merged_into(id)? {
        Some(survivor) => Err(merged(id, survivor)),
        None => Ok(()),
    }
}

/// The write that edits stored profile `id` as `acting` (the rule of
/// `POST /api/admin/enterprises/{id}/edit` and `enterprises edit`, on either database): the
/// fields of `edit` that differ from the stored ones, one change, with its audit entry
/// (`enterprise_edited`, naming the fields). `None` when nothing differs.
///
/// # Errors
/// [`AdminError::Invalid`] naming every bad field, or when the profile was merged into
/// another.
pub fn edited(
    id: EnterpriseId,
    stored: &StoredProfile,
    edit: &EnterpriseEdit,
    now: Timestamp,
    acting: &Acting,
) -> Result<Option<ServerWrite>, AdminError> {
    if let Some(survivor) = stored.merged_into {
        return Err(merged(id, survivor));
    }
    let mut doc = EnterpriseDoc::load(&stored.bytes, system_actor_id())
        .map_err(|e| AdminError::Invalid(format!("enterprise {id} cannot be read: {e}")))?;
    let current = doc
        .read()
        .map_err(|e| AdminError::Invalid(format!("enterprise {id} cannot be read: {e}")))?;
    let next = checked(&current, edit)?;
    if !write_differences(&mut doc, &current, &next, &acting.actor(), now)? {
        return Ok(None);
    }
    Ok(Some(ServerWrite {
        docs: vec![(
            DocId::new(DocKind::Enterprise, &id.to_string()),
            doc.into_record(),
        )],
        audit: AuditNote {
            actor: acting.login.clone(),
            action: AuditAction::EnterpriseEdited,
            subject: id.to_string(),
            detail: changed_fields(&current, &next).join(","),
        },
        check: WriteCheck {
            edited: Some(id),
            ..WriteCheck::default()
        },
    }))
}

/// Edits profile `id` as `acting` on SQLite's store (the command line): [`edited`], committed
/// with its audit entry in one transaction. Returns the profile as stored after.
///
/// # Errors
/// [`StoreError::NotFound`] for an unknown id; as [`edited`]; the store's failures.
pub fn edit(
    store: &mut SqliteStore,
    id: EnterpriseId,
    edit: &EnterpriseEdit,
    config: &Config,
    now: Timestamp,
    acting: &Acting,
) -> Result<EnterpriseView, AdminError> {
    let stored = found(id, store.profile(id)?)?;
    if let Some(write) = edited(id, &stored, edit, now, acting)? {
        server_write(store, write, config, now)?;
    }
    show(store, id)
}

/// Merges profile `absorbed` into `survivor` as `acting` (see the module's description).
///
/// # Errors
/// [`StoreError::NotFound`] for an unknown id; [`AdminError::Invalid`] when both are the same
/// profile, their credit codes differ, or either was merged already.
pub fn merge(
    store: &mut SqliteStore,
    survivor: EnterpriseId,
    absorbed: EnterpriseId,
    config: &Config,
    now: Timestamp,
    acting: &Acting,
) -> Result<MergeReport, AdminError> {
    if survivor == absorbed {
        return Err(AdminError::Invalid(
            "不能与自身合并 / a profile is not merged with itself".into(),
        ));
    }
    let (survivor_id, mut kept) = load(store, survivor)?;
    let (_, gone) = load(store, absorbed)?;
    refuse_merged(store, survivor)?;
    refuse_merged(store, absorbed)?;
    let read = |d: &EnterpriseDoc, id: EnterpriseId| {
        d.read()
            .map_err(|e| AdminError::Invalid(format!("enterprise {id} cannot be read: {e}")))
    };
    let current = read(&kept, survivor)?;
    let other = read(&gone, absorbed)?;
    if current.credit_code != other.credit_code {
        return Err(AdminError::Invalid(format!(
            "统一社会信用代码不同（{} / {}），不是同一企业 / different credit codes ({} and {}): \
             only two profiles of one enterprise are merged",
            current.credit_code.as_str(),
            other.credit_code.as_str(),
            current.credit_code.as_str(),
            other.credit_code.as_str()
        )));
    }
    let actor = acting.actor();
    let next = absorbed_fields(&current, &other);
    let contacts_added = next.contacts.len() - current.contacts.len();
    let mut docs = Vec::new();
    if write_differences(&mut kept, &current, &next, &actor, now)? {
        docs.push((survivor_id, kept.into_record()));
    }
    let records = store.records_of_enterprise(absorbed)?;
    let records_moved = records.len();
    for id in records {
        docs.push(repointed(store, id, survivor, &actor, now)?);
    }
    let login = acting.login.clone();
    let detail = format!(
        "{} {}: {records_moved} record(s), {contacts_added} contact(s)",
        current.credit_code.as_str(),
        other.name
    );
    let rows: MergeRows = commit_with(store, docs, config, now, move |s| {
        s.record_enterprise_merge(absorbed, survivor, now, &login, &detail)
    })?;
    Ok(MergeReport {
        survivor: survivor.to_string(),
        absorbed: absorbed.to_string(),
        records_moved,
        contacts_added,
        assignments_moved: rows.assignments_moved,
        assignments_ended: rows.assignments_ended,
    })
}

/// The survivor as it is after taking the absorbed profile's contacts (those it lacks, by id
/// and by name and phone) and the fields it has no value for.
fn absorbed_fields(survivor: &Enterprise, absorbed: &Enterprise) -> Enterprise {
    let mut next = survivor.clone();
    for (id, c) in &absorbed.contacts {
        let known = next.contacts.contains_key(id)
            || next
                .contacts
                .values()
                .any(|k| k.name == c.name && k.phone == c.phone);
        if !known && next.contacts.len() < CONTACTS_MAX {
            next.contacts.insert(*id, c.clone());
        }
    }
    if next.position.is_none() {
        next.position = absorbed.position;
    }
    next.key_enterprise |= absorbed.key_enterprise;
    if next.address.is_empty() {
        next.address.clone_from(&absorbed.address);
    }
    if next.industry.is_empty() {
        next.industry.clone_from(&absorbed.industry);
    }
    next
}

/// A stored visit or problem with its `enterprise` changed to `survivor`.
fn repointed(
    store: &mut SqliteStore,
    id: DocId,
    survivor: EnterpriseId,
    actor: &Actor,
    now: Timestamp,
) -> Result<(DocId, RecordDoc), AdminError> {
    let stored = store.load_doc(&id)?.ok_or_else(|| {
        AdminError::Store(StoreError::NotFound {
            what: "record",
            key: id.to_string(),
        })
    })?;
    let mut doc = RecordDoc::load(&stored.bytes, system_actor_id())
        .map_err(|e| AdminError::Invalid(format!("{id} cannot be read: {e}")))?;
    doc.move_to_enterprise(survivor, actor, now)
        .map_err(|e| AdminError::Invalid(format!("{id}: {e}")))?;
    Ok((id, doc))
}

/// Re-points the visits and problems that still name an absorbed profile (a phone offline
/// during the merge pushed them later), 100 at a time, signed by the system; returns how many.
///
/// # Errors
/// The store's failures, or a record that cannot be re-pointed.
pub fn repoint_strays(
    mut store: impl StoreHold,
    config: &Config,
    now: Timestamp,
) -> Result<usize, AdminError> {
    let mut total = 0;
    loop {
        let strays = store.hold(|s| s.stray_records(100))?;
        if strays.is_empty() {
            return Ok(total);
        }
        let count = strays.len();
        store.hold(|s| -> Result<(), AdminError> {
            let mut docs = Vec::with_capacity(count);
            for (id, survivor) in strays {
                docs.push(repointed(s, id, survivor, &system_actor(), now)?);
            }
            commit_with(s, docs, config, now, |_| Ok(()))
        })?;
        total += count;
    }
}

/// Follows the commits and re-points, about a second after a burst, records pushed for a
/// profile merged into another ([`repoint_strays`]); announces the feed when it did. Runs for
/// the life of the server process.
pub async fn follow_merges(sync: Arc<SyncService>) {
    let mut commits = sync.subscribe();
    while crate::sync::next_burst(&mut commits).await {
        let Some(_run) = sync.db().job_run(crate::db::Job::EnterpriseMerges).await else {
            continue;
        };
        let config = sync.config().clone();
        let now = crate::auth::now();
        let done = sync
            .db()
            .holds(move |mut store| -> Result<_, AdminError> {
                let moved = repoint_strays(&mut store, &config, now)?;
                Ok((moved, store.hold(|s| s.latest_seq())?))
            })
            .await;
        match done {
            Some(Ok((0, _))) => {}
            Some(Ok((moved, seq))) => {
                tracing::info!(records = moved, "re-pointed records of merged enterprises");
                sync.announce(seq);
            }
            Some(Err(error)) => tracing::warn!(%error, "re-pointing merged records failed"),
            None => tracing::error!("re-pointing merged records did not finish"),
        }
    }
}
