//! Batch actions (批处理): one leader's hand-out (交办), extension (延期) or escalation (升级) applied
//! to many selected problems at once, each step checked by the rights table and the workflow's
//! guards.

use crate::doc::{DocError, ProblemDoc};
use crate::model::{Actor, EntryId, OrgUnitId, ProblemState, Role, Tier, Timestamp};
use crate::workflow::rights::{Denied, role_may};
use crate::workflow::{Action, replay};

/// A batch action (批处理) a leader applies to many selected problems at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchAction {
    /// 交办: hand out to a department; a problem still submitted is triaged first.
    HandOut {
        /// The handling department.
        unit: OrgUnitId,
    },
    /// 延期: a later deadline.
    Extend {
        /// The new deadline.
        deadline: Timestamp,
    },
    /// 升级: one tier up from the problem's effective tier.
    Escalate,
}

/// Why a batch action was not recorded on one problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BatchRefusal {
    /// The problem is at the top tier already: there is nothing to escalate to.
    #[error("the problem is at the top tier already")]
    TopTier,
    /// The rights table does not give the person this action (e.g. only a leader escalates
    /// to the city-leader tier, or extends): the server would refuse it.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// The document refused the edit: a workflow guard (`DocError::Refused`) or bad data.
    #[error(transparent)]
    Doc(#[from] DocError),
}

impl BatchAction {
    /// Whether the batch must carry a reason (the guards refuse an empty one).
    pub fn needs_reason(self) -> bool {
        matches!(self, BatchAction::Extend { .. } | BatchAction::Escalate)
    }

    /// The workflow actions that carry the batch action out on a problem in `state` at
    /// effective tier `tier`, in order. Each is still checked by its guard when recorded.
    pub fn steps(
        self,
        state: ProblemState,
        tier: Tier,
        role: Role,
    ) -> Result<Vec<Action>, BatchRefusal> {
        let steps = match self {
            BatchAction::HandOut { unit } if state == ProblemState::Submitted => {
                vec![Action::Triage, Action::Assign { unit }]
            }
            BatchAction::HandOut { unit } => vec![Action::Assign { unit }],
            BatchAction::Extend { deadline } => vec![Action::Extend { deadline }],
            BatchAction::Escalate => {
                let to = tier.next().ok_or(BatchRefusal::TopTier)?;
                vec![Action::Escalate { to }]
            }
        };
        for step in &steps {
            role_may(role, step)?;
        }
        Ok(steps)
    }
}

/// Records a batch action on a copy of one problem's document: each step is checked by its
/// guard against the document as the steps before it left it, and a refused step leaves
/// nothing recorded (the copy is dropped). Returns the edited copy, to save, and the state it
/// leads to. `event_id` makes each step's event id; the reason goes on every step but triage.
pub fn apply_batch(
    doc: &ProblemDoc,
    action: BatchAction,
    actor: &Actor,
    now: Timestamp,
    reason: &str,
    mut event_id: impl FnMut() -> EntryId,
) -> Result<(ProblemDoc, ProblemState), BatchRefusal> {
    let outcome = replay(&doc.read()?);
    let steps = action.steps(outcome.state, outcome.tier, actor.role)?;
    let mut edited = doc.clone();
    let mut state = outcome.state;
    for step in steps {
        let why = if step == Action::Triage { "" } else { reason };
        state = edited.act(actor, now, event_id(), step, why.trim())?;
    }
    Ok((edited, state))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::derive::initial_deadline;
    use crate::doc::ProblemDoc;
    use crate::model::{
        DAY_MS, EnterpriseId, EntryId, OrgUnitId, ProblemClass, ProblemSource, ProblemState, Role,
        Tier, Timestamp,
    };
    use crate::workflow::Action;

    fn leader() -> crate::model::Actor {
        crate::model::Actor {
            user: crate::model::UserId::from_random_bytes([5; 16]),
            device: crate::model::DeviceId::from_random_bytes([6; 16]),
            role: Role::Leader,
        }
    }

    fn problem_doc(created: Timestamp) -> ProblemDoc {
        let config = Config::default();
        let new = crate::doc::NewProblem {
            id: crate::model::ProblemId::from_random_bytes([4; 16]),
            enterprise: EnterpriseId::from_random_bytes([9; 16]),
            visit: None,
            source: ProblemSource::Visit,
            category: "power".into(),
            class: ProblemClass::A,
            tier: Tier::Department,
            owner: crate::test_support::officer().user,
            leader: None,
            deadline: initial_deadline(&config, Tier::Department, created),
            description: "变压器容量不足".into(),
            expectation: String::new(),
        };
        ProblemDoc::create(
            &new,
            &config,
            &crate::test_support::officer(),
            crate::doc::ActorId::from([4; 16]),
            created,
        )
        .expect("create")
    }

    /// Event ids `[batch, n]`: unique per batch number.
    fn ids(batch: u8) -> impl FnMut() -> EntryId {
        let mut n = 0u8;
        move || {
            n += 1;
            let mut bytes = [n; 16];
            bytes[0] = batch;
            EntryId::from_random_bytes(bytes)
        }
    }

    #[test]
    fn a_batch_hand_out_triages_a_submitted_problem_then_assigns_it_to_the_department() {
        let now = Timestamp(20_000 * DAY_MS);
        let doc = problem_doc(now);
        let unit = OrgUnitId::from_random_bytes([7; 16]);
        let (edited, state) = apply_batch(
            &doc,
            BatchAction::HandOut { unit },
            &leader(),
            now,
            "请工信局牵头办理",
            ids(1),
        )
        .expect("handed out");
        assert_eq!(state, ProblemState::Assigned);
        let p = edited.read().expect("read");
        assert!(p.handling_units.contains(&unit));
        let recorded: Vec<_> = p
            .events
            .iter()
            .map(|e| (e.action.code(), e.reason.as_str()))
            .collect();
        assert!(recorded.contains(&("triage", "")));
        assert!(recorded.contains(&("assign", "请工信局牵头办理")));
        assert_eq!(replay(&p).state, ProblemState::Assigned);
    }

    #[test]
    fn a_refused_batch_step_records_nothing_and_names_the_guard() {
        let now = Timestamp(20_000 * DAY_MS);
        let doc = problem_doc(now);
        let unit = OrgUnitId::from_random_bytes([7; 16]);
        let (assigned, _) = apply_batch(
            &doc,
            BatchAction::HandOut { unit },
            &leader(),
            now,
            "",
            ids(2),
        )
        .expect("handed out");
        let again = apply_batch(
            &assigned,
            BatchAction::HandOut { unit },
            &leader(),
            now,
            "",
            ids(3),
        );
        assert_eq!(
            again.err(),
            Some(BatchRefusal::Doc(DocError::Refused(
                crate::workflow::TransitionError::NotAllowedFrom {
                    action: "assign",
                    state: ProblemState::Assigned,
                }
            )))
        );
        let no_reason = apply_batch(
            &assigned,
            BatchAction::Extend {
                deadline: now.plus_days(30),
            },
            &leader(),
            now,
            "  ",
            ids(4),
        );
        assert!(matches!(
            no_reason,
            Err(BatchRefusal::Doc(DocError::Refused(
                crate::workflow::TransitionError::ReasonRequired { .. }
            )))
        ));
        assert_eq!(assigned.read().expect("read").events.len(), 2);
        let (extended, state) = apply_batch(
            &assigned,
            BatchAction::Extend {
                deadline: now.plus_days(30),
            },
            &leader(),
            now,
            "需要协调供电公司",
            ids(5),
        )
        .expect("extended");
        assert_eq!(state, ProblemState::Assigned);
        assert_eq!(
            replay(&extended.read().expect("read")).deadline,
            now.plus_days(30)
        );
    }

    #[test]
    fn batch_escalation_goes_one_tier_up_and_only_a_leader_takes_it_to_the_city_leader() {
        let to_city =
            BatchAction::Escalate.steps(ProblemState::Assigned, Tier::Department, Role::Leader);
        assert_eq!(
            to_city,
            Ok(vec![Action::Escalate {
                to: Tier::CityLeader
            }])
        );
        assert!(matches!(
            BatchAction::Escalate.steps(ProblemState::Assigned, Tier::Department, Role::Supervisor),
            Err(BatchRefusal::Denied(_))
        ));
        assert!(matches!(
            BatchAction::Extend {
                deadline: Timestamp(1)
            }
            .steps(ProblemState::Assigned, Tier::Department, Role::Supervisor),
            Err(BatchRefusal::Denied(_))
        ));
        assert_eq!(
            BatchAction::Escalate.steps(ProblemState::Assigned, Tier::CityLeader, Role::Leader),
            Err(BatchRefusal::TopTier)
        );
        assert!(BatchAction::Escalate.needs_reason());
        let unit = OrgUnitId::from_random_bytes([7; 16]);
        assert!(!BatchAction::HandOut { unit }.needs_reason());
    }
}
