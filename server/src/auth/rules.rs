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
//!   user, device (and, for events, role); recorded ones are never changed or removed, nor
//!   is the enterprise's signature on a recorded confirm event;
//! - who takes each workflow action, and who changes the fields that decide scope, deadlines
//!   and KPIs (an enterprise's town; a problem's handling departments, owner, leader,
//!   deadline, tier, category and class, rating), is the rights table's say
//!   (`shared::workflow::rights`), checked here on every new event and every changed field;
//! - a new problem arrives with a workflow that replays whole (no event it carries is
//!   refused by the guards): nobody creates a problem already signed off;
//! - an extension, or a request for one, names a deadline after the event's time as the KPIs
//!   count it (its own, bounded by the server's clock and the device's previous sync:
//!   `shared::server_time::kpi_time`);
//! - a rating from a device never claims the enterprise's own channel (the card's page
//!   records those, as the server);
//! - only leaders and supervisors add supervision instructions (督办), and only an
//!   instruction's addressee adds an acknowledgement (签收) to it (`rights::SUPERVISE`,
//!   `rights::ACKNOWLEDGE`);
//! - a look-back (回头看) passes only on a visit to the enterprise with a check-in on or after
//!   it fell due (`shared::workflow::Evidence`): a visit the server holds, at the time the
//!   KPIs count it, or one the same request brings (the engine checks a request's visits
//!   before its other documents).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use shared::config::ClockRules;
use shared::doc::{Author, DocKind};
use shared::model::{
    DeviceId, EnterpriseId, EntryId, LogEntry, Monitoring, Problem, RatingChannel, Role, Stamp,
    Supervision, Timestamp, User,
};
use shared::server_time::{Receipt, kpi_time};
use shared::sync::protocol::{DocId, Refusal};
use shared::sync::server::{ChangeHeader, WriteCheck};
use shared::sync::validate::Projection;
use shared::workflow::field_rights;
use shared::workflow::rights::{self, Denied, GuardedField, Subject};
use shared::workflow::{Action, Event, Evidence, Outcome};

use crate::store::{Device, LookBackFacts};

/// The rules for one user on one device.
#[derive(Debug, Clone)]
pub struct RoleRules {
    user: User,
    device: DeviceId,
    actor: String,
    /// The server's clock when the request arrived.
    now: Timestamp,
    /// When the request's changes could have been made, as the KPIs count it.
    receipt: Receipt,
    /// Days from sign-off to the look-back (`config.follow_up.look_back_days`).
    look_back_days: u32,
    /// What the server holds that look-back passes are judged by
    /// ([`RoleRules::with_look_back`]); this request's new check-in visits are added as they
    /// pass their checks. None known: no look-back passes.
    look_back: Arc<Mutex<LookBackFacts>>,
}

fn forbidden(why: impl Into<String>) -> Result<(), Refusal> {
    Err(Refusal::Forbidden(why.into()))
}

fn denied(d: Denied) -> Refusal {
    Refusal::Forbidden(d.en())
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
    /// The rules for `user` writing from `device`, on the server's clock at `now`.
    pub fn new(user: User, device: &Device, now: Timestamp) -> RoleRules {
        RoleRules {
            user,
            device: device.id,
            actor: device.actor_id.to_lowercase(),
            now,
            receipt: Receipt {
                received_at: now,
                not_before: None,
            },
            look_back_days: shared::config::FollowUp::default().look_back_days,
            look_back: Arc::default(),
        }
    }

    /// The same rules, with the look-back delay and what the server holds that a look-back
    /// pass is judged by (`SqliteStore::look_back_facts`).
    pub fn with_look_back(mut self, look_back_days: u32, stored: LookBackFacts) -> Self {
        self.look_back_days = look_back_days;
        self.look_back = Arc::new(Mutex::new(stored));
        self
    }

    fn look_back(&self) -> std::sync::MutexGuard<'_, LookBackFacts> {
        self.look_back
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// 回头看: a new look-back pass that the problem's workflow applies stands only on a
    /// check-in visit on or after the look-back fell due, `look_back_days` after the sign-off
    /// it follows, every time as the KPIs count it (a stored sign-off at its stored counted
    /// time, a new one at its bounded claim), so a back-dated sign-off gains nothing.
    fn look_back_visited(
        &self,
        after: &Problem,
        outcome: &Outcome,
        old_events: &BTreeMap<EntryId, &Event>,
        pass: &Event,
    ) -> Result<(), Refusal> {
        // A pass the workflow does not apply changes nothing.
        let Some(at) = outcome.applied.iter().position(|id| *id == pass.id) else {
            return Ok(());
        };
        let sign_off = outcome.applied[..at].iter().rev().find_map(|id| {
            after
                .events
                .iter()
                .find(|e| e.id == *id && matches!(e.action, Action::SignOff { .. }))
        });
        let Some(sign_off) = sign_off else {
            return Ok(());
        };
        let facts = self.look_back();
        let stored = old_events
            .contains_key(&sign_off.id)
            .then(|| facts.event_times.get(&(after.id, sign_off.id)).copied())
            .flatten();
        let signed_at =
            stored.unwrap_or_else(|| kpi_time(sign_off.stamp.at, Some(&self.receipt)).at);
        let due = signed_at.plus_days(self.look_back_days);
        let evidence = Evidence {
            look_back_days: self.look_back_days,
            check_ins: facts
                .check_ins
                .get(&after.enterprise)
                .cloned()
                .unwrap_or_default(),
        };
        drop(facts);
        evidence.look_back_visited(due).map_err(|_| {
            let day = due
                .day()
                .map_or_else(|| due.0.to_string(), |d| d.to_string());
            Refusal::Forbidden(format!(
                "回头看通过需要在 {day} 当天或之后到企业签到走访 / passing the look-back needs \
                 a visit to the enterprise with a check-in on or after {day}"
            ))
        })
    }

    /// The same rules, knowing the lower bound of the device's claims
    /// (`SqliteStore::previous_sync`: its previous settled sync, within the settling window):
    /// an event's time is then bounded as the KPIs bound it (`shared::server_time::kpi_time`),
    /// below as well as above.
    pub fn with_previous_sync(mut self, previous: Option<Timestamp>, clock: &ClockRules) -> Self {
        self.receipt = Receipt::new(self.now, previous, clock);
        self
    }

    /// The person as the rights table sees them, on a problem handed to `units`.
    fn subject<'a>(
        &self,
        units: &'a std::collections::BTreeSet<shared::model::OrgUnitId>,
    ) -> Subject<'a> {
        Subject {
            role: self.user.role,
            unit: self.user.org_unit,
            handling_units: units,
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

    /// Whether the role writes documents of `kind` at all, new or stored (its write scope
    /// and [`RoleRules::creates`]): a push of another kind is refused before it is parsed.
    pub fn writes(role: Role, kind: DocKind) -> bool {
        match role {
            Role::Officer | Role::Leader | Role::Supervisor => true,
            Role::WindowClerk => matches!(kind, DocKind::Problem | DocKind::Enterprise),
            Role::DepartmentHandler => kind == DocKind::Problem,
            Role::Admin => false,
        }
    }

    fn is_author(&self, stamp: &Stamp) -> bool {
        stamp.by == self.user.id && stamp.device == self.device
    }

    fn problem(
        &self,
        before: Option<&Problem>,
        after: &Problem,
        outcome: &Outcome,
    ) -> Result<(), Refusal> {
        let role = self.role();
        if before.is_none() && !self.is_author(&after.created) {
            return forbidden("a new problem must name its author as creator");
        }
        // Conditions (the handling departments) are read from the stored problem, so a
        // change cannot grant itself a right by editing them.
        let basis = before.unwrap_or(after);
        let subject = self.subject(&basis.handling_units);
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
            rights::may_act(&subject, &e.action).map_err(denied)?;
            // Against the event's time as the KPIs count it: its own, bounded by the server's
            // clock and the device's previous sync. A date already past then is refused (a
            // phone whose clock is set back gains nothing); an extension made offline to a
            // date still ahead then stays valid when it syncs after that date.
            if let Action::Extend { deadline } | Action::RequestExtension { deadline } = &e.action
                && *deadline <= kpi_time(e.stamp.at, Some(&self.receipt)).at
            {
                let day = deadline
                    .day()
                    .map_or_else(|| deadline.0.to_string(), |d| d.to_string());
                return forbidden(format!(
                    "新的期限（{day}）已经过去，请选择更晚的日期 / \
                     the new deadline ({day}) has already passed: choose a later date"
                ));
            }
        }
        // The enterprise's signature is written with its confirm event: one on a recorded
        // event is never added, changed or removed later.
        let old_signed = before.map(|b| b.signatures.as_slice()).unwrap_or_default();
        if after
            .signatures
            .iter()
            .any(|s| old_events.contains_key(&s.event) && !old_signed.contains(s))
            || old_signed.iter().any(|s| !after.signatures.contains(s))
        {
            return forbidden(
                "the enterprise's signature is recorded with its confirmation and never \
                 added, changed or removed later",
            );
        }
        for pass in after
            .events
            .iter()
            .filter(|e| !old_events.contains_key(&e.id) && e.action == Action::LookBackPass)
        {
            self.look_back_visited(after, outcome, &old_events, pass)?;
        }
        if old_events.len() > after.events.len()
            || old_events
                .keys()
                .any(|id| !after.events.iter().any(|e| e.id == *id))
        {
            return forbidden("workflow events cannot be removed");
        }
        if before.is_none() && !outcome.superseded.is_empty() {
            return forbidden(
                "a new problem's workflow events must each follow from the one before \
                 (a problem starts as submitted)",
            );
        }
        self.problem_fields(&subject, before, after)?;
        self.log(
            "progress",
            before.map(|b| b.progress.as_slice()).unwrap_or_default(),
            &after.progress,
        )?;
        self.supervision(
            before.map(|b| b.supervision.as_slice()).unwrap_or_default(),
            &after.supervision,
        )
    }

    /// Supervision instructions (督办): a new one is given by whom `rights::SUPERVISE` names,
    /// as its author; a recorded one never changes or goes, except that acknowledgements
    /// (签收) are added, each by its author, who must be the addressee
    /// (`rights::may_acknowledge`); recorded acknowledgements never change or go either.
    fn supervision(&self, old: &[Supervision], new: &[Supervision]) -> Result<(), Refusal> {
        let old: BTreeMap<_, &Supervision> = old.iter().map(|e| (e.id, e)).collect();
        for e in new {
            let old_acks: BTreeMap<_, _> = match old.get(&e.id) {
                Some(o) if o.as_given() != e.as_given() => {
                    return forbidden(format!("supervision entry {} cannot be changed", e.id));
                }
                Some(o) => o.acks.iter().map(|a| (a.id, a)).collect(),
                None if !self.is_author(&e.stamp) => {
                    return forbidden(format!("supervision entry {} must name its author", e.id));
                }
                None => {
                    rights::may_supervise(self.role()).map_err(denied)?;
                    BTreeMap::new()
                }
            };
            for ack in &e.acks {
                match old_acks.get(&ack.id) {
                    Some(o) if **o != *ack => {
                        return forbidden(format!("acknowledgement {} cannot be changed", ack.id));
                    }
                    Some(_) => {}
                    None if !self.is_author(&ack.stamp) => {
                        return forbidden(format!(
                            "acknowledgement {} must name its author",
                            ack.id
                        ));
                    }
                    None => {
                        rights::may_acknowledge(self.role(), self.user.id, self.user.org_unit, e.to)
                            .map_err(denied)?
                    }
                }
            }
            if old_acks
                .keys()
                .any(|id| !e.acks.iter().any(|a| a.id == *id))
            {
                return forbidden("acknowledgements cannot be removed");
            }
        }
        if old.keys().any(|id| !new.iter().any(|e| e.id == *id)) {
            return forbidden("supervision entries cannot be removed");
        }
        Ok(())
    }

    /// The guarded fields of a problem: each one changed (or, on a new problem, each one a
    /// creator may not set: the city-leader tier and the rating) must be the person's to
    /// change.
    fn problem_fields(
        &self,
        subject: &Subject<'_>,
        before: Option<&Problem>,
        after: &Problem,
    ) -> Result<(), Refusal> {
        field_rights::may_change_problem(subject, before, after).map_err(denied)?;
        let rated = after
            .rating
            .as_ref()
            .filter(|r| before.is_none_or(|b| b.rating.as_ref() != Some(*r)));
        if rated.is_some_and(|r| r.channel == RatingChannel::Enterprise) {
            return forbidden(
                "a rating from a device is recorded as the officer's: the enterprise's own \
                 ratings come through its card",
            );
        }
        let enterprises_own = before
            .and_then(|b| b.rating.as_ref())
            .filter(|r| r.channel == RatingChannel::Enterprise);
        if enterprises_own.is_some_and(|r| after.rating.as_ref() != Some(r)) {
            return forbidden(
                "the enterprise rated this problem itself through its card: only the enterprise \
                 changes its own rating (企业通过连心卡自评，只能由企业本人修改)",
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
            Projection::Problem(p, outcome) => {
                let before = match before {
                    Some(Projection::Problem(b, _)) => Some(b.as_ref()),
                    _ => None,
                };
                self.problem(before, p, outcome)
            }
            Projection::Enterprise(e) => match before {
                Some(Projection::Enterprise(b)) if b.town != e.town => {
                    let none = std::collections::BTreeSet::new();
                    rights::may_change(&self.subject(&none), GuardedField::Town, false)
                        .map_err(denied)
                }
                _ => Ok(()),
            },
            Projection::Visit(v) if before.is_none() => {
                if !self.is_author(&v.created) {
                    return forbidden("a new visit must name its author as creator");
                }
                if v.check_in.is_some() {
                    let at = kpi_time(v.created.at, Some(&self.receipt)).at;
                    self.look_back()
                        .check_ins
                        .entry(v.enterprise)
                        .or_default()
                        .push(at);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [DocKind; 4] = [
        DocKind::Enterprise,
        DocKind::Visit,
        DocKind::Problem,
        DocKind::Monitoring,
    ];

    #[test]
    fn every_role_writes_each_kind_it_creates() {
        for role in Role::ALL {
            for kind in KINDS {
                assert!(
                    !RoleRules::creates(*role, kind) || RoleRules::writes(*role, kind),
                    "{role:?} creates {kind:?} records, so it writes them"
                );
            }
        }
    }

    #[test]
    fn a_window_clerk_never_writes_a_visit_and_a_handler_writes_only_problems() {
        assert!(!RoleRules::writes(Role::WindowClerk, DocKind::Visit));
        let handler: Vec<DocKind> = KINDS
            .into_iter()
            .filter(|k| RoleRules::writes(Role::DepartmentHandler, *k))
            .collect();
        assert_eq!(handler, [DocKind::Problem]);
    }
}
