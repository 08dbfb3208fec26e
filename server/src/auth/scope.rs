//! What each role may read and write, computed from the directory and the query tables at the
//! time of the request:
//!
//! | role | reads | writes |
//! |---|---|---|
//! | officer | every document of the enterprises actively assigned to them | the same, new documents included, and the profiles merged into them (what a phone recorded before a merge) |
//! | department handler | the problems handed to their department (and units below it), and those enterprises' profiles (not their monitoring figures) | those problems |
//! | leader, supervisor | every document of the enterprises whose town is in their org unit's subtree, plus their own assignments; the zone sees everything | the same, and the profiles merged into them |
//! | window clerk | the profiles of all enterprises (not their monitoring figures), and the problems they own or created | those problems; new problems and new enterprise profiles for any enterprise |
//! | admin | nothing | nothing |
//!
//! Profiles an administrator merged into another (`store/directory/merges.rs`) are in no read
//! scope but the zone's.
//!
//! Which kinds a role may create, and the field rules, are in `rules`.

use std::collections::BTreeSet;
use std::future::ready;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use sha2::{Digest as _, Sha256};
use shared::doc::DocKind;
use shared::model::{
    EnterpriseId, OrgUnitId, OrgUnitKind, ProblemId, Role, Timestamp, User, UserId,
};
use shared::sync::protocol::DocId;
use shared::sync::validate::Scope;

use super::RoleRules;
use crate::store::{Device, SqliteStore, StoreError};

/// Whether `role` reads the lists of records (the problem list, the visit list): leaders and
/// supervisors (their unit's records), department handlers (their inbox). Each list keeps its
/// rows inside the caller's read scope ([`access_for`]); this says who asks at all.
pub fn reads_lists(role: Role) -> bool {
    matches!(
        role,
        Role::Leader | Role::Supervisor | Role::DepartmentHandler
    )
}

/// What one request may read and write, and the rules its writes must keep.
#[derive(Debug, Clone)]
pub struct Access {
    /// Documents it receives.
    pub read: Scope,
    /// Stored documents it may change.
    pub write: Scope,
    /// Authorship, creation and field rules.
    pub rules: RoleRules,
}

fn grants(profiles: BTreeSet<shared::model::EnterpriseId>, docs: BTreeSet<DocId>) -> Scope {
    Scope::Grants {
        enterprises: BTreeSet::new(),
        profiles,
        docs,
    }
}

/// The facts the access rule ([`access_with`]) is judged on, as a database answers them: the
/// rule is written once, for every backend. SQLite answers at once ([`access_for`]),
/// PostgreSQL over its pool (`pg/access.rs`).
pub trait ScopeFacts {
    /// The enterprises assigned to `user` at `now`.
    fn assigned(
        &self,
        user: UserId,
        now: Timestamp,
    ) -> impl Future<Output = Result<BTreeSet<EnterpriseId>, StoreError>> + Send;

    /// The unit `root` and every unit under it.
    fn subtree(
        &self,
        root: OrgUnitId,
    ) -> impl Future<Output = Result<BTreeSet<OrgUnitId>, StoreError>> + Send;

    /// Whether `unit` is a zone (an unknown unit is not).
    fn is_zone(&self, unit: OrgUnitId) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The enterprises whose profile puts them in one of `towns`, merged profiles left out.
    fn enterprises_of(
        &self,
        towns: &BTreeSet<OrgUnitId>,
    ) -> impl Future<Output = Result<BTreeSet<EnterpriseId>, StoreError>> + Send;

    /// Every enterprise with a profile, merged profiles left out.
    fn every_enterprise(
        &self,
    ) -> impl Future<Output = Result<BTreeSet<EnterpriseId>, StoreError>> + Send;

    /// The problems handed to one of `units`, with their enterprises.
    fn handed_to(
        &self,
        units: &BTreeSet<OrgUnitId>,
    ) -> impl Future<Output = Result<Vec<(ProblemId, EnterpriseId)>, StoreError>> + Send;

    /// The problems `user` owns or created, with their enterprises.
    fn owned_or_created(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<(ProblemId, EnterpriseId)>, StoreError>> + Send;

    /// The profiles merged into any of `survivors`.
    fn absorbed(
        &self,
        survivors: &BTreeSet<EnterpriseId>,
    ) -> impl Future<Output = Result<BTreeSet<EnterpriseId>, StoreError>> + Send;
}

impl ScopeFacts for SqliteStore {
    fn assigned(
        &self,
        user: UserId,
        now: Timestamp,
    ) -> impl Future<Output = Result<BTreeSet<EnterpriseId>, StoreError>> + Send {
        ready(self.active_assignments(user, now))
    }

    fn subtree(
        &self,
        root: OrgUnitId,
    ) -> impl Future<Output = Result<BTreeSet<OrgUnitId>, StoreError>> + Send {
        ready(self.org_subtree(root))
    }

    fn is_zone(&self, unit: OrgUnitId) -> impl Future<Output = Result<bool, StoreError>> + Send {
        ready(
            self.org_unit(unit)
                .map(|u| u.is_some_and(|u| u.unit.kind == OrgUnitKind::Zone)),
        )
    }

    fn enterprises_of(
        &self,
        towns: &BTreeSet<OrgUnitId>,
    ) -> impl Future<Output = Result<BTreeSet<EnterpriseId>, StoreError>> + Send {
        ready(self.enterprises_in(towns))
    }

    fn every_enterprise(
        &self,
    ) -> impl Future<Output = Result<BTreeSet<EnterpriseId>, StoreError>> + Send {
        ready(self.all_enterprises())
    }

    fn handed_to(
        &self,
        units: &BTreeSet<OrgUnitId>,
    ) -> impl Future<Output = Result<Vec<(ProblemId, EnterpriseId)>, StoreError>> + Send {
        ready(self.problems_handed_to(units))
    }

    fn owned_or_created(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<(ProblemId, EnterpriseId)>, StoreError>> + Send {
        ready(self.problems_of(user))
    }

    fn absorbed(
        &self,
        survivors: &BTreeSet<EnterpriseId>,
    ) -> impl Future<Output = Result<BTreeSet<EnterpriseId>, StoreError>> + Send {
        ready(self.absorbed_into(survivors))
    }
}

/// The scopes and rules of `user` on `device` at `now`, from the SQLite store ([`access_with`]).
///
/// # Errors
/// When the store fails.
pub fn access_for(
    store: &SqliteStore,
    user: &User,
    device: &Device,
    now: Timestamp,
) -> Result<Access, StoreError> {
    let mut answer = pin!(access_with(store, user, device, now));
    match answer
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(access) => access,
        // SQLite answers every fact at once (`ready`), so the rule never waits.
        Poll::Pending => Err(StoreError::Unavailable),
    }
}

/// The scopes and rules of `user` on `device` at `now`, judged on `facts`.
///
/// # Errors
/// When the database fails.
pub async fn access_with<F: ScopeFacts + ?Sized>(
    facts: &F,
    user: &User,
    device: &Device,
    now: Timestamp,
) -> Result<Access, StoreError> {
    let rules = RoleRules::new(user.clone(), device, now);
    let (read, write) = match user.role {
        Role::Officer => {
            let mine = facts.assigned(user.id, now).await?;
            let write = with_absorbed(facts, &mine).await?;
            (Scope::Enterprises(mine), write)
        }
        Role::DepartmentHandler => {
            let units = facts.subtree(user.org_unit).await?;
            let handed = facts.handed_to(&units).await?;
            let docs: BTreeSet<DocId> = handed
                .iter()
                .map(|(p, _)| DocId::new(DocKind::Problem, &p.to_string()))
                .collect();
            let profiles = handed.iter().map(|(_, e)| *e).collect();
            (
                grants(profiles, docs.clone()),
                grants(BTreeSet::new(), docs),
            )
        }
        Role::Leader | Role::Supervisor => {
            if facts.is_zone(user.org_unit).await? {
                (Scope::All, Scope::All)
            } else {
                let towns = facts.subtree(user.org_unit).await?;
                let mut set = facts.enterprises_of(&towns).await?;
                set.extend(facts.assigned(user.id, now).await?);
                let write = with_absorbed(facts, &set).await?;
                (Scope::Enterprises(set), write)
            }
        }
        Role::WindowClerk => {
            let own: BTreeSet<DocId> = facts
                .owned_or_created(user.id)
                .await?
                .iter()
                .map(|(p, _)| DocId::new(DocKind::Problem, &p.to_string()))
                .collect();
            (
                grants(facts.every_enterprise().await?, own.clone()),
                grants(BTreeSet::new(), own),
            )
        }
        Role::Admin => (Scope::none(), Scope::none()),
    };
    Ok(Access { read, write, rules })
}

/// A write scope of `enterprises` and the profiles merged into them: a phone that recorded a
/// visit or problem for a profile before an administrator merged it into another may still
/// push it (the server re-points it to the survivor: `crate::admin::enterprises`), while its
/// read scope leaves the absorbed profile out, so the profile leaves the phone.
async fn with_absorbed<F: ScopeFacts + ?Sized>(
    facts: &F,
    enterprises: &BTreeSet<EnterpriseId>,
) -> Result<Scope, StoreError> {
    let mut set = enterprises.clone();
    set.extend(facts.absorbed(enterprises).await?);
    Ok(Scope::Enterprises(set))
}

/// A short, stable fingerprint of a scope: equal scopes give equal fingerprints.
pub fn fingerprint(scope: &Scope) -> String {
    let mut h = Sha256::new();
    match scope {
        Scope::All => h.update(b"all"),
        Scope::Enterprises(set) => {
            h.update(b"enterprises");
            for e in set {
                h.update(e.as_bytes());
            }
        }
        Scope::Grants {
            enterprises,
            profiles,
            docs,
        } => {
            h.update(b"grants;enterprises");
            for e in enterprises {
                h.update(e.as_bytes());
            }
            h.update(b";profiles");
            for e in profiles {
                h.update(e.as_bytes());
            }
            h.update(b";docs");
            for d in docs {
                h.update(d.as_str().as_bytes());
                h.update(b"\n");
            }
        }
    }
    super::token::hex(&h.finalize()[..16])
}
