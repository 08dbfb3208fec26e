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

use sha2::{Digest as _, Sha256};
use shared::doc::DocKind;
use shared::model::{EnterpriseId, OrgUnitKind, Role, Timestamp, User};
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

/// The scopes and rules of `user` on `device` at `now`.
///
/// # Errors
/// When the store fails.
pub fn access_for(
    store: &SqliteStore,
    user: &User,
    device: &Device,
    now: Timestamp,
) -> Result<Access, StoreError> {
    let rules = RoleRules::new(user.clone(), device, now);
    let (read, write) = match user.role {
        Role::Officer => {
            let mine = store.active_assignments(user.id, now)?;
            let write = with_absorbed(store, &mine)?;
            (Scope::Enterprises(mine), write)
        }
        Role::DepartmentHandler => {
            let units = store.org_subtree(user.org_unit)?;
            let handed = store.problems_handed_to(&units)?;
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
            let zone = store
                .org_unit(user.org_unit)?
                .is_some_and(|u| u.unit.kind == OrgUnitKind::Zone);
            if zone {
                (Scope::All, Scope::All)
            } else {
                let towns = store.org_subtree(user.org_unit)?;
                let mut set = store.enterprises_in(&towns)?;
                set.extend(store.active_assignments(user.id, now)?);
                let write = with_absorbed(store, &set)?;
                (Scope::Enterprises(set), write)
            }
        }
        Role::WindowClerk => {
            let own: BTreeSet<DocId> = store
                .problems_of(user.id)?
                .iter()
                .map(|(p, _)| DocId::new(DocKind::Problem, &p.to_string()))
                .collect();
            (
                grants(store.all_enterprises()?, own.clone()),
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
fn with_absorbed(
    store: &SqliteStore,
    enterprises: &BTreeSet<EnterpriseId>,
) -> Result<Scope, StoreError> {
    let mut set = enterprises.clone();
    set.extend(store.absorbed_into(enterprises)?);
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
