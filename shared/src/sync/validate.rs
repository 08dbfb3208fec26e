//! Validation of a merged document before the server stores it: schema, identity, workflow and
//! configuration. A failing document is refused whole with a typed reason.
//!
//! The configuration's rules apply to values being set, not to values already stored
//! ([`check_configured`]): a district that removes a category keeps every older problem
//! editable, and only a new or changed category must be one the district configures.

use std::collections::BTreeSet;

use serde::Serialize;

use super::protocol::{DocId, Refusal};
use crate::config::Config;
use crate::doc::{DocKind, RecordDoc};
use crate::model::{Enterprise, EnterpriseId, Monitoring, Problem, Visit};
use crate::workflow::{Outcome, replay};

/// The kinds a profile grant ([`Scope::Grants`]' `profiles`) covers: the enterprise's profile
/// only. Its economic-monitoring figures go to the officers and leaders who work with them,
/// not to the departments and window clerks who only need to know whom a problem concerns.
pub const PROFILE_KINDS: [DocKind; 1] = [DocKind::Enterprise];

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
        /// Only the profile documents of these enterprises ([`PROFILE_KINDS`]).
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
                    || (PROFILE_KINDS.contains(&doc.kind()) && profiles.contains(enterprise))
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

/// Checks a document that has no stored version (or is judged as if it had none) and returns
/// its projection, or the reason to refuse it: [`project`], then [`check_configured`] against
/// nothing stored.
pub fn validate(id: &DocId, doc: &RecordDoc, config: &Config) -> Result<Projection, Refusal> {
    let projection = project(id, doc)?;
    check_configured(config, None, &projection)?;
    Ok(projection)
}

/// Reads a document's projection, checking its schema, identity and workflow but not the
/// configuration: what a stored document is compared with, whatever the district's
/// configuration has become since it was stored.
pub fn project(id: &DocId, doc: &RecordDoc) -> Result<Projection, Refusal> {
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
            let outcome = replay(&problem);
            Projection::Problem(Box::new(problem), outcome)
        }
    };
    let photos = match &projection {
        Projection::Visit(v) => v.photos.as_slice(),
        Projection::Problem(p, _) => p.photos.as_slice(),
        Projection::Enterprise(_) | Projection::Monitoring(_) => &[],
    };
    crate::model::photo::check_photos(photos).map_err(|e| Refusal::Invalid(e.to_string()))?;
    let (visit, problem) = match &projection {
        Projection::Visit(v) => (Some(v), None),
        Projection::Problem(p, _) => (None, Some(p.as_ref())),
        Projection::Enterprise(_) | Projection::Monitoring(_) => (None, None),
    };
    crate::model::signature::check_signed(visit, problem)
        .map_err(|e| Refusal::Invalid(e.to_string()))?;
    Ok(projection)
}

/// The configuration's rules on the values a write sets: every configured choice a document
/// holds (a problem's category) must be configured when it is new or differs from the stored
/// version `before` (`None`: nothing stored). A value already stored stays valid after the
/// district's configuration dropped it, so an older record can still be edited and taken
/// through its workflow. (Classes and tiers are fixed by the model, not configured: the
/// configuration only names them.)
pub fn check_configured(
    config: &Config,
    before: Option<&Projection>,
    after: &Projection,
) -> Result<(), Refusal> {
    if let Projection::Problem(problem, _) = after {
        let stored = match before {
            Some(Projection::Problem(b, _)) => Some(b.category.as_str()),
            _ => None,
        };
        if stored != Some(problem.category.as_str()) && config.category(&problem.category).is_none()
        {
            let configured: Vec<&str> = config.categories.iter().map(|c| c.code.as_str()).collect();
            return Err(Refusal::Invalid(format!(
                "category {:?} is not one of the district's configured categories ({}); \
                 problems that already have it keep it, but it cannot be set",
                problem.category,
                configured.join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{ActorId, NewProblem, ProblemDoc};
    use crate::model::{ProblemClass, ProblemId, ProblemSource, Tier, Timestamp};
    use crate::test_support::officer;

    /// A problem of category `power`, made under the default configuration.
    fn power_problem() -> (DocId, ProblemDoc) {
        let id = ProblemId::from_random_bytes([7; 16]);
        let new = NewProblem {
            id,
            enterprise: EnterpriseId::from_random_bytes([5; 16]),
            visit: None,
            source: ProblemSource::Visit,
            category: "power".into(),
            class: ProblemClass::C,
            tier: Tier::Department,
            owner: officer().user,
            leader: None,
            deadline: Timestamp(1_000_000),
            description: "变压器容量不足".into(),
            expectation: "增容".into(),
        };
        let doc = ProblemDoc::create(
            &new,
            &Config::default(),
            &officer(),
            ActorId::from([3; 16]),
            Timestamp(1),
        )
        .expect("created");
        (DocId::new(DocKind::Problem, &id.to_string()), doc)
    }

    fn without_power() -> Config {
        let mut config = Config::default();
        config.categories.retain(|c| c.code != "power");
        config
    }

    #[test]
    fn a_stored_category_the_district_no_longer_configures_stays_valid() {
        let (id, mut doc) = power_problem();
        let before = project(&id, doc.record()).expect("projects without the configuration");
        doc.edit(&Config::default(), &officer(), Timestamp(2), |e| {
            e.set_description("变压器容量不足，已报供电公司")
        })
        .expect("edited");
        let after = project(&id, doc.record()).expect("projects");
        assert_eq!(
            check_configured(&without_power(), Some(&before), &after),
            Ok(())
        );
    }

    #[test]
    fn a_new_problem_or_a_changed_category_must_be_configured() {
        let (id, mut doc) = power_problem();
        let config = without_power();
        let new = project(&id, doc.record()).expect("projects");
        let refused = check_configured(&config, None, &new).expect_err("a new problem");
        assert!(
            refused.to_string().contains("\"power\" is not one of"),
            "{refused}"
        );
        assert!(validate(&id, doc.record(), &config).is_err());

        doc.edit(&Config::default(), &officer(), Timestamp(2), |e| {
            e.set_category("land")
        })
        .expect("edited");
        let land = project(&id, doc.record()).expect("projects");
        doc.edit(&Config::default(), &officer(), Timestamp(3), |e| {
            e.set_category("power")
        })
        .expect("edited");
        let back = project(&id, doc.record()).expect("projects");
        assert!(check_configured(&config, Some(&land), &back).is_err());
    }
}
