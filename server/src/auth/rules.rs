//! Authorship and role rules of writes, checked by the sync engine for every pushed document
//! (listed in ARCHITECTURE.md, "Who may write what"):
//!
//! - every new change is made with the device's own Automerge actor, and its message names the
//!   authenticated user, device and role;
//! - new records name their author (user and device) as creator;
//! - which kinds a role creates: officers any kind but monitoring (in their enterprises),
//!   leaders visits and problems, window clerks problems and enterprise profiles (any
//!   enterprise), others none;
//! - no device creates a monitoring document, neither a new one nor a second history merged
//!   into a stored one: the server creates each key enterprise's one (`crate::monitoring`), and
//!   devices edit the copy they received;
//! - workflow events, progress entries and supervision instructions record their author's
//!   user, device (and, for events, role); recorded ones are never changed or removed;
//! - only a department handler of one of the problem's handling units accepts or returns it;
//! - only a leader closes a problem as not resolvable, sets tier `city_leader` or escalates
//!   to it;
//! - only leaders and supervisors add supervision instructions (督办);
//! - department handlers do not change a problem's owner, tier, leader, deadline, category or
//!   class.

use std::collections::BTreeMap;

use shared::doc::{Author, DocKind};
use shared::model::{
    DeviceId, EnterpriseId, LogEntry, Monitoring, Problem, Role, Stamp, Tier, User,
};
use shared::sync::protocol::{DocId, Refusal};
use shared::sync::server::{ChangeHeader, WriteCheck};
use shared::sync::validate::Projection;
use shared::workflow::{Action, Event};

use crate::store::Device;

/// The rules for one user on one device.
#[derive(Debug, Clone)]
pub struct RoleRules {
    user: User,
    device: DeviceId,
    actor: String,
}

fn forbidden(why: impl Into<String>) -> Result<(), Refusal> {
    Err(Refusal::Forbidden(why.into()))
}

/// Why a device may not create a monitoring document.
pub const MONITORING_CREATED_BY_SERVER: &str = "the server creates each key enterprise's \
     monitoring record; sync to receive it, then enter figures in it";

/// Whether a monitoring projection shows two creations merged: its `enterprise`, written once
/// by the creation, holds concurrent values (two histories, whose figure maps hide each other).
fn created_twice(m: &Monitoring) -> bool {
    m.needs_decision.iter().any(|n| n.field == "enterprise")
}

impl RoleRules {
    /// The rules for `user` writing from `device`.
    pub fn new(user: User, device: &Device) -> RoleRules {
        RoleRules {
            user,
            device: device.id,
            actor: device.actor_id.to_lowercase(),
        }
    }

    fn role(&self) -> Role {
        self.user.role
    }

    /// Whether the role creates documents of `kind` (within its write scope, or anywhere for
    /// what [`WriteCheck::may_create`] allows).
    pub fn creates(role: Role, kind: DocKind) -> bool {
        match role {
            Role::Officer => kind != DocKind::Monitoring,
            Role::Leader => matches!(kind, DocKind::Visit | DocKind::Problem),
            Role::WindowClerk => matches!(kind, DocKind::Problem | DocKind::Enterprise),
            Role::DepartmentHandler | Role::Supervisor | Role::Admin => false,
        }
    }

    fn is_author(&self, stamp: &Stamp) -> bool {
        stamp.by == self.user.id && stamp.device == self.device
    }

    fn problem(&self, before: Option<&Problem>, after: &Problem) -> Result<(), Refusal> {
        let role = self.role();
        if before.is_none() && !self.is_author(&after.created) {
            return forbidden("a new problem must name its author as creator");
        }
        let old_events: BTreeMap<_, &Event> = before
            .map(|b| b.events.iter().map(|e| (e.id, e)).collect())
            .unwrap_or_default();
        for e in &after.events {
            if let Some(old) = old_events.get(&e.id) {
                if *old != e {
                    return forbidden(format!("workflow event {} cannot be changed", e.id));
                }
                continue;
            }
            if !self.is_author(&e.stamp) || e.role != role {
                return forbidden(format!(
                    "workflow event {} must record its author's user, device and role ({})",
                    e.id,
                    role.code()
                ));
            }
            match &e.action {
                Action::Accept | Action::Return
                    if role != Role::DepartmentHandler
                        || !after.handling_units.contains(&self.user.org_unit) =>
                {
                    return forbidden(format!(
                        "only a handler of a department the problem is handed to may {}",
                        e.action.code()
                    ));
                }
                Action::NotResolvable if role != Role::Leader => {
                    return forbidden("only a leader closes a problem as not resolvable");
                }
                Action::Escalate {
                    to: Tier::CityLeader,
                } if role != Role::Leader => {
                    return forbidden("only a leader escalates a problem to the city-leader tier");
                }
                _ => {}
            }
        }
        if old_events.len() > after.events.len()
            || old_events
                .keys()
                .any(|id| !after.events.iter().any(|e| e.id == *id))
        {
            return forbidden("workflow events cannot be removed");
        }
        let set_city_leader =
            after.tier == Tier::CityLeader && before.is_none_or(|b| b.tier != Tier::CityLeader);
        if set_city_leader && role != Role::Leader {
            return forbidden("only a leader sets the city-leader tier");
        }
        for (log, old, new) in [
            (
                "progress",
                before.map(|b| b.progress.as_slice()),
                &after.progress,
            ),
            (
                "supervision",
                before.map(|b| b.supervision.as_slice()),
                &after.supervision,
            ),
        ] {
            self.log(log, old.unwrap_or_default(), new)?;
        }
        let supervised = after.supervision.len() > before.map_or(0, |b| b.supervision.len());
        if supervised && !matches!(role, Role::Leader | Role::Supervisor) {
            return forbidden("only leaders and supervisors give supervision instructions");
        }
        if role == Role::DepartmentHandler
            && let Some(b) = before
            && (b.owner != after.owner
                || b.tier != after.tier
                || b.leader != after.leader
                || b.deadline != after.deadline
                || b.category != after.category
                || b.class != after.class)
        {
            return forbidden(
                "a department handler does not change the owner, tier, leader, deadline, \
                 category or class: return the problem or ask for an extension",
            );
        }
        Ok(())
    }

    fn log(&self, log: &str, old: &[LogEntry], new: &[LogEntry]) -> Result<(), Refusal> {
        let old: BTreeMap<_, &LogEntry> = old.iter().map(|e| (e.id, e)).collect();
        for e in new {
            match old.get(&e.id) {
                Some(o) if *o != e => {
                    return forbidden(format!("{log} entry {} cannot be changed", e.id));
                }
                Some(_) => {}
                None if !self.is_author(&e.stamp) => {
                    return forbidden(format!("{log} entry {} must name its author", e.id));
                }
                None => {}
            }
        }
        if old.keys().any(|id| !new.iter().any(|e| e.id == *id)) {
            return forbidden(format!("{log} entries cannot be removed"));
        }
        Ok(())
    }
}

impl WriteCheck for RoleRules {
    fn change(&self, change: &ChangeHeader) -> Result<(), String> {
        let actor = change.actor.to_hex_string();
        if actor != self.actor {
            return Err(format!(
                "change by actor {actor}, which is not this device's"
            ));
        }
        let Some(author) = change.message.as_deref().and_then(Author::parse) else {
            return Err("a change must name its author (lianxin/1 user=… device=… role=…)".into());
        };
        if author.user != self.user.id {
            return Err(format!("a change names another user ({})", author.user));
        }
        if author.device != self.device {
            return Err(format!("a change names another device ({})", author.device));
        }
        if author.role != self.user.role {
            return Err(format!(
                "a change claims the role {} but the user is a {}",
                author.role.code(),
                self.user.role.code()
            ));
        }
        Ok(())
    }

    fn may_create(&self, doc: &DocId, _enterprise: &EnterpriseId) -> bool {
        self.role() == Role::WindowClerk && Self::creates(Role::WindowClerk, doc.kind())
    }

    fn document(
        &self,
        doc: &DocId,
        before: Option<&Projection>,
        after: &Projection,
    ) -> Result<(), Refusal> {
        // A device's own monitoring document is refused whether the server has none yet or
        // has one (then the push would merge as a second history); checked on the merged
        // document, after the scope checks, so the answer says nothing about other scopes.
        if doc.kind() == DocKind::Monitoring
            && (before.is_none()
                || matches!(after, Projection::Monitoring(m) if created_twice(m))
                    && !matches!(before, Some(Projection::Monitoring(b)) if created_twice(b)))
        {
            return forbidden(MONITORING_CREATED_BY_SERVER);
        }
        if before.is_none() && !Self::creates(self.role(), doc.kind()) {
            return forbidden(format!(
                "a {} does not create {} records",
                self.role().en().to_lowercase(),
                doc.kind().code()
            ));
        }
        match after {
            Projection::Problem(p, _) => {
                let before = match before {
                    Some(Projection::Problem(b, _)) => Some(b.as_ref()),
                    _ => None,
                };
                self.problem(before, p)
            }
            Projection::Visit(v) if before.is_none() && !self.is_author(&v.created) => {
                forbidden("a new visit must name its author as creator")
            }
            _ => Ok(()),
        }
    }
}
