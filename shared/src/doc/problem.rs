//! The problem document: one per problem, edited by officers, handlers and leaders over weeks.

use automerge::{ObjId, ROOT};

use super::fields::{Reader, Writer};
use super::{ActorId, DocError, DocKind, RecordDoc, read_stamp, write_header, write_stamp};
use crate::config::Config;
use crate::model::{
    Acknowledgement, Actor, Addressee, EnterpriseId, EntryId, LogEntry, OrgUnitId, Problem,
    ProblemClass, ProblemId, ProblemSource, ProblemState, Rating, RatingChannel, RatingRecord,
    Role, SignedConfirmation, Supervision, Tier, Timestamp, UserId, VisitId,
};
use crate::workflow::{self, Action, ActionKind, Event, Evidence};

/// What is needed to create a problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProblem {
    /// Identity, made on the device.
    pub id: ProblemId,
    /// The enterprise.
    pub enterprise: EnterpriseId,
    /// The visit it was raised on, if any.
    pub visit: Option<VisitId>,
    /// Where it came from.
    pub source: ProblemSource,
    /// Category code (must be configured).
    pub category: String,
    /// A–D class.
    pub class: ProblemClass,
    /// Tier.
    pub tier: Tier,
    /// Owning officer.
    pub owner: UserId,
    /// Responsible leader, if known.
    pub leader: Option<UserId>,
    /// Deadline; usually `derive::initial_deadline`.
    pub deadline: Timestamp,
    /// What the problem is.
    pub description: String,
    /// What the enterprise expects.
    pub expectation: String,
}

/// A problem's Automerge document.
#[derive(Debug, Clone)]
pub struct ProblemDoc {
    inner: RecordDoc,
}

/// Typed edits of a problem, all inside one change.
pub struct ProblemEdit<'a, 'w> {
    w: &'a mut Writer<'w>,
    config: &'a Config,
    actor: &'a Actor,
    now: Timestamp,
}

fn check_category(config: &Config, code: &str) -> Result<(), DocError> {
    if config.category(code).is_none() {
        return Err(DocError::NotConfigured {
            field: "category".into(),
            error: format!("{code:?} is not one of the configured categories"),
        });
    }
    Ok(())
}

impl ProblemEdit<'_, '_> {
    /// Sets the category (must be configured).
    pub fn set_category(&mut self, code: &str) -> Result<(), DocError> {
        check_category(self.config, code)?;
        self.w.put(&ROOT, "category", code)
    }
    /// Sets the A–D class.
    pub fn set_class(&mut self, class: ProblemClass) -> Result<(), DocError> {
        self.w.put(&ROOT, "class", class.code())
    }
    /// Sets the tier.
    pub fn set_tier(&mut self, tier: Tier) -> Result<(), DocError> {
        self.w.put(&ROOT, "tier", tier.code())
    }
    /// Sets the owning officer.
    pub fn set_owner(&mut self, owner: UserId) -> Result<(), DocError> {
        self.w.put(&ROOT, "owner", owner.to_string())
    }
    /// Sets or clears the responsible leader.
    pub fn set_leader(&mut self, leader: Option<UserId>) -> Result<(), DocError> {
        match leader {
            Some(l) => self.w.put(&ROOT, "leader", l.to_string()),
            None => self.w.delete(&ROOT, "leader"),
        }
    }
    /// Sets the deadline.
    pub fn set_deadline(&mut self, deadline: Timestamp) -> Result<(), DocError> {
        self.w.put(&ROOT, "deadline", deadline.0)
    }
    /// Rewrites the description (merged as text).
    pub fn set_description(&mut self, text: &str) -> Result<(), DocError> {
        self.w.text(&ROOT, "description", text)
    }
    /// Rewrites the enterprise's expectation (merged as text).
    pub fn set_expectation(&mut self, text: &str) -> Result<(), DocError> {
        self.w.text(&ROOT, "expectation", text)
    }
    /// Rewrites the response to the enterprise (merged as text).
    pub fn set_response(&mut self, text: &str) -> Result<(), DocError> {
        self.w.text(&ROOT, "response", text)
    }
    /// Hands the problem to one more department as well.
    pub fn add_handling_unit(&mut self, unit: OrgUnitId) -> Result<(), DocError> {
        self.w.set_add(&ROOT, "handling_units", &unit.to_string())
    }
    /// Takes a department off the problem.
    pub fn remove_handling_unit(&mut self, unit: OrgUnitId) -> Result<(), DocError> {
        self.w
            .set_remove(&ROOT, "handling_units", &unit.to_string())
    }
    /// Adds a photo of the problem as found; the same photo again rewrites its entry.
    pub fn add_photo(&mut self, photo: &crate::model::Photo) -> Result<(), DocError> {
        super::photos::add(self.w, photo)
    }
    /// Attaches a file by hash.
    pub fn add_attachment(&mut self, hash: &str) -> Result<(), DocError> {
        self.w.set_add(&ROOT, "attachments", hash)
    }
    /// Appends a progress entry (办理进展).
    pub fn add_progress(&mut self, id: EntryId, text: &str) -> Result<(), DocError> {
        self.log_entry("progress", id, text)
    }
    /// Appends a supervision instruction (督办) with no addressee or due date (as every
    /// instruction was before they had them).
    pub fn add_supervision(&mut self, id: EntryId, text: &str) -> Result<(), DocError> {
        self.log_entry("supervision", id, text)
    }
    /// Gives a supervision instruction (督办) to `to`, due by `due`. Its entry holds an
    /// `acks` map, made with it, for the addressee's acknowledgements (so two concurrent
    /// acknowledgements are both kept, never two competing maps).
    pub fn supervise(
        &mut self,
        id: EntryId,
        text: &str,
        to: Addressee,
        due: Timestamp,
    ) -> Result<(), DocError> {
        let entry = self.w.new_entry(&ROOT, "supervision", &id.to_string())?;
        self.w.put(&entry, "text", text)?;
        match to {
            Addressee::Person(user) => self.w.put(&entry, "to_person", user.to_string())?,
            Addressee::Unit(unit) => self.w.put(&entry, "to_unit", unit.to_string())?,
        }
        self.w.put(&entry, "due", due.0)?;
        self.w.map(&entry, "acks")?;
        write_stamp(self.w, &entry, "", &self.actor.stamp(self.now))
    }
    /// Acknowledges (签收) the supervision instruction `instruction` as the acting person,
    /// recorded as entry `id` of its `acks`. Who may is `rights::may_acknowledge`'s (the
    /// caller checks it, as the server does); an instruction with no addressee has nothing
    /// to acknowledge.
    pub fn acknowledge_supervision(
        &mut self,
        instruction: EntryId,
        id: EntryId,
    ) -> Result<(), DocError> {
        let not_addressed = || DocError::BadValue {
            field: format!("supervision.{instruction}"),
            error: "no supervision instruction with an addressee has this id".into(),
        };
        let entry = self
            .w
            .entry(&ROOT, "supervision", &instruction.to_string())?
            .ok_or_else(not_addressed)?;
        // Only an instruction given with an addressee holds `acks`; making the map here
        // could race another device making its own.
        if !self.w.has_map(&entry, "acks")? {
            return Err(not_addressed());
        }
        let ack = self.w.new_entry(&entry, "acks", &id.to_string())?;
        write_stamp(self.w, &ack, "", &self.actor.stamp(self.now))
    }
    fn log_entry(&mut self, log: &str, id: EntryId, text: &str) -> Result<(), DocError> {
        let entry = self.w.new_entry(&ROOT, log, &id.to_string())?;
        self.w.put(&entry, "text", text)?;
        write_stamp(self.w, &entry, "", &self.actor.stamp(self.now))
    }
    /// Records the enterprise's rating (好差评) and the channel it came by, and nothing else:
    /// whoever records what the enterprise said uses [`ProblemDoc::rate`], which also records
    /// what a bad rating sets off.
    pub fn set_rating(
        &mut self,
        rating: Rating,
        comment: &str,
        channel: RatingChannel,
    ) -> Result<(), DocError> {
        self.w.put(&ROOT, "rating", rating.code())?;
        self.w.put(&ROOT, "rating_comment", comment)?;
        self.w.put(&ROOT, "rating_channel", channel.code())?;
        write_stamp(self.w, &ROOT, "rated_", &self.actor.stamp(self.now))
    }
}

impl ProblemDoc {
    /// Creates a problem document; the first change holds every initial field.
    pub fn create(
        new: &NewProblem,
        config: &Config,
        actor: &Actor,
        actor_id: ActorId,
        now: Timestamp,
    ) -> Result<ProblemDoc, DocError> {
        check_category(config, &new.category)?;
        let mut inner = RecordDoc::new(DocKind::Problem, actor_id);
        inner.edit(actor, now, |w| {
            write_header(w, DocKind::Problem, &new.id.to_string())?;
            w.put(&ROOT, "enterprise", new.enterprise.to_string())?;
            if let Some(v) = new.visit {
                w.put(&ROOT, "visit", v.to_string())?;
            }
            w.put(&ROOT, "source", new.source.code())?;
            w.put(&ROOT, "category", new.category.as_str())?;
            w.put(&ROOT, "class", new.class.code())?;
            w.put(&ROOT, "tier", new.tier.code())?;
            w.put(&ROOT, "owner", new.owner.to_string())?;
            if let Some(l) = new.leader {
                w.put(&ROOT, "leader", l.to_string())?;
            }
            w.put(&ROOT, "deadline", new.deadline.0)?;
            w.text(&ROOT, "description", &new.description)?;
            w.text(&ROOT, "expectation", &new.expectation)?;
            w.text(&ROOT, "response", "")?;
            for log in [
                "handling_units",
                "attachments",
                "progress",
                "supervision",
                "events",
            ] {
                w.map(&ROOT, log)?;
            }
            write_stamp(w, &ROOT, "created_", &actor.stamp(now))
        })?;
        Ok(ProblemDoc { inner })
    }

    /// Applies typed edits as one change by `actor` at `now`.
    pub fn edit<F>(
        &mut self,
        config: &Config,
        actor: &Actor,
        now: Timestamp,
        f: F,
    ) -> Result<(), DocError>
    where
        F: FnOnce(&mut ProblemEdit<'_, '_>) -> Result<(), DocError>,
    {
        self.inner.edit(actor, now, |w| {
            f(&mut ProblemEdit {
                w,
                config,
                actor,
                now,
            })
        })?;
        Ok(())
    }

    /// Takes a workflow action: checks its guard against the current (merged) problem and
    /// records it as an event after the current tip. Returns the state it leads to. Facts
    /// from outside the document are not judged (a look-back passes without a visit): a
    /// screen recording what a person does uses [`ProblemDoc::act_with`].
    pub fn act(
        &mut self,
        actor: &Actor,
        now: Timestamp,
        event_id: EntryId,
        action: Action,
        reason: &str,
    ) -> Result<ProblemState, DocError> {
        self.record_event(actor, now, event_id, action, reason, None, None)
    }

    /// Records the enterprise's confirmation (`confirm`, with the officer's optional
    /// `reason`) with its representative `by_name`'s signature drawn on the officer's screen,
    /// in one change: the event carries the signature, so it is judged, ordered and kept as
    /// the confirmation is.
    pub fn confirm_signed(
        &mut self,
        actor: &Actor,
        now: Timestamp,
        event_id: EntryId,
        reason: &str,
        by_name: &str,
        signature: &crate::model::Signature,
    ) -> Result<ProblemState, DocError> {
        let signed = Some((by_name.trim(), signature));
        self.record_event(actor, now, event_id, Action::Confirm, reason, None, signed)
    }

    /// [`ProblemDoc::act`], judged also by the outside facts in `evidence` (a look-back passes
    /// only after a visit with a check-in).
    pub fn act_with(
        &mut self,
        actor: &Actor,
        now: Timestamp,
        event_id: EntryId,
        action: Action,
        reason: &str,
        evidence: &Evidence,
    ) -> Result<ProblemState, DocError> {
        self.record_event(actor, now, event_id, action, reason, Some(evidence), None)
    }

    #[allow(clippy::too_many_arguments)]
    fn record_event(
        &mut self,
        actor: &Actor,
        now: Timestamp,
        event_id: EntryId,
        action: Action,
        reason: &str,
        evidence: Option<&Evidence>,
        signed: Option<(&str, &crate::model::Signature)>,
    ) -> Result<ProblemState, DocError> {
        let problem = self.read()?;
        let to = match evidence {
            Some(evidence) => workflow::check_new(&problem, &action, reason, evidence)?,
            None => workflow::check(&problem, &action, reason)?,
        };
        let tip = workflow::replay(&problem).tip();
        self.inner.edit(actor, now, |w| {
            let e = write_event(w, event_id, tip, actor, now, &action, reason)?;
            if let Some((by_name, signature)) = signed {
                w.put(&e, "sig_name", by_name)?;
                super::signature::write(w, &e, signature)?;
            }
            Ok(())
        })?;
        Ok(to)
    }

    /// Records the enterprise's rating (好差评) and the channel it came by, in one change with
    /// what it sets off: a rating at or below `config.follow_up.bad_rating_at_most`, given
    /// when the problem has been answered or signed off, records a [`Action::BadRating`]
    /// event (`event_id`) that reopens it for a revisit. The decision is taken here, once,
    /// and recorded: a later rating replaces the field but never the event, so the reopening
    /// and the work done after it stay in every replica's history. Returns whether it
    /// reopened the problem.
    // The rating's three parts stay apart, as `ProblemEdit::set_rating` takes them.
    #[allow(clippy::too_many_arguments)]
    pub fn rate(
        &mut self,
        config: &Config,
        actor: &Actor,
        now: Timestamp,
        event_id: EntryId,
        rating: Rating,
        comment: &str,
        channel: RatingChannel,
    ) -> Result<bool, DocError> {
        let problem = self.read()?;
        let action = Action::BadRating { rating };
        let reopens =
            config.follow_up.is_bad(rating) && workflow::check(&problem, &action, comment).is_ok();
        let tip = workflow::replay(&problem).tip();
        self.edit(config, actor, now, |p| {
            p.set_rating(rating, comment, channel)?;
            if reopens {
                write_event(p.w, event_id, tip, actor, now, &action, comment.trim())?;
            }
            Ok(())
        })?;
        Ok(reopens)
    }

    /// Reads the document into a [`Problem`], checking every field.
    pub fn read(&self) -> Result<Problem, DocError> {
        read_record(&self.inner)
    }
}

/// Writes one workflow event after `tip`; returns its entry.
fn write_event(
    w: &mut Writer<'_>,
    event_id: EntryId,
    tip: Option<EntryId>,
    actor: &Actor,
    now: Timestamp,
    action: &Action,
    reason: &str,
) -> Result<ObjId, DocError> {
    let e = w.new_entry(&ROOT, "events", &event_id.to_string())?;
    w.put(&e, "action", action.code())?;
    if let Some(t) = tip {
        w.put(&e, "after", t.to_string())?;
    }
    w.put(&e, "role", actor.role.code())?;
    w.put(&e, "reason", reason)?;
    match &action {
        Action::Assign { unit } => {
            w.put(&e, "unit", unit.to_string())?;
            w.set_add(&ROOT, "handling_units", &unit.to_string())?;
        }
        Action::SignOff { waiver } => w.put(&e, "waiver", *waiver)?,
        Action::Extend { deadline } | Action::RequestExtension { deadline } => {
            w.put(&e, "deadline", deadline.0)?
        }
        Action::Escalate { to } => w.put(&e, "to", to.code())?,
        Action::MergeDuplicate { into } => w.put(&e, "into", into.to_string())?,
        Action::BadRating { rating } => w.put(&e, "rating", rating.code())?,
        _ => {}
    }
    write_stamp(w, &e, "", &actor.stamp(now))?;
    Ok(e)
}

/// Reads a record document of this kind in place, like [`ProblemDoc::read`] without the wrapper
/// (the server validates pushed documents this way, without copying them).
pub(crate) fn read_record(inner: &RecordDoc) -> Result<Problem, DocError> {
    inner.expect_kind(DocKind::Problem)?;
    let mut r = inner.reader();
    let v = read_problem(&mut r)?;
    Ok(Problem {
        needs_decision: r.needs_decision,
        ..v
    })
}

fn read_log(r: &mut Reader<'_>, log: &str) -> Result<Vec<LogEntry>, DocError> {
    // Keyed by (time, id, position as read): in (time, id) order, equal keys in document
    // order, built by insertion (no copy of the standard library's sort for `LogEntry`, and no
    // shifting of a vector, which is quadratic when entries arrive out of time order).
    let mut out: std::collections::BTreeMap<(Timestamp, EntryId, usize), LogEntry> =
        std::collections::BTreeMap::new();
    for (key, obj) in r.entries(&ROOT, log)? {
        let id = EntryId::parse(&key).map_err(|e| DocError::BadValue {
            field: log.into(),
            error: e.to_string(),
        })?;
        let text = r.str(&obj, "text", &format!("{log}.{key}.text"))?;
        let stamp = read_stamp(r, &obj, "")?;
        let position = out.len();
        out.insert((stamp.at, id, position), LogEntry { id, text, stamp });
    }
    Ok(out.into_values().collect())
}

fn read_supervision(r: &mut Reader<'_>) -> Result<Vec<Supervision>, DocError> {
    // In (time, id) order, as `read_log` orders its entries.
    let mut out = std::collections::BTreeMap::new();
    for (key, obj) in r.entries(&ROOT, "supervision")? {
        let label = |f: &str| format!("supervision.{key}.{f}");
        let id = EntryId::parse(&key).map_err(|e| DocError::BadValue {
            field: "supervision".into(),
            error: e.to_string(),
        })?;
        let text = r.str(&obj, "text", &label("text"))?;
        let stamp = read_stamp(r, &obj, "")?;
        let person = r.opt_parse(&obj, "to_person", &label("to_person"), UserId::parse)?;
        let unit = r.opt_parse(&obj, "to_unit", &label("to_unit"), OrgUnitId::parse)?;
        let to = person.map(Addressee::Person).or(unit.map(Addressee::Unit));
        let due = r.opt_i64(&obj, "due", &label("due"))?.map(Timestamp);
        let mut acks = std::collections::BTreeMap::new();
        for (ack_key, ack) in r.entries(&obj, "acks")? {
            let ack_id = EntryId::parse(&ack_key).map_err(|e| DocError::BadValue {
                field: label("acks"),
                error: e.to_string(),
            })?;
            let stamp = read_stamp(r, &ack, "")?;
            acks.insert((stamp.at, ack_id), Acknowledgement { id: ack_id, stamp });
        }
        let position = out.len();
        out.insert(
            (stamp.at, id, position),
            Supervision {
                id,
                text,
                stamp,
                to,
                due,
                acks: acks.into_values().collect(),
            },
        );
    }
    Ok(out.into_values().collect())
}

fn read_event(r: &mut Reader<'_>, key: &str, e: &ObjId) -> Result<Event, DocError> {
    let id = EntryId::parse(key).map_err(|err| DocError::BadValue {
        field: "events".into(),
        error: err.to_string(),
    })?;
    let label = |f: &str| format!("events.{key}.{f}");
    let code = r.str(e, "action", &label("action"))?;
    let kind = ActionKind::from_code(&code).map_err(|err| DocError::BadValue {
        field: label("action"),
        error: err.to_string(),
    })?;
    let deadline = |r: &mut Reader<'_>| -> Result<Timestamp, DocError> {
        Ok(Timestamp(r.i64(e, "deadline", &label("deadline"))?))
    };
    let action = match kind {
        ActionKind::Triage => Action::Triage,
        ActionKind::Assign => Action::Assign {
            unit: r.parse(e, "unit", &label("unit"), OrgUnitId::parse)?,
        },
        ActionKind::Accept => Action::Accept,
        ActionKind::Return => Action::Return,
        ActionKind::Start => Action::Start,
        ActionKind::Respond => Action::Respond,
        ActionKind::ResolveOnSite => Action::ResolveOnSite,
        ActionKind::Confirm => Action::Confirm,
        ActionKind::Dispute => Action::Dispute,
        ActionKind::BadRating => Action::BadRating {
            rating: r.parse(e, "rating", &label("rating"), Rating::from_code)?,
        },
        ActionKind::SignOff => Action::SignOff {
            waiver: r.bool(e, "waiver", &label("waiver"))?,
        },
        ActionKind::LookBackPass => Action::LookBackPass,
        ActionKind::LookBackReopen => Action::LookBackReopen,
        ActionKind::RequestWaiver => Action::RequestWaiver,
        ActionKind::Extend => Action::Extend {
            deadline: deadline(r)?,
        },
        ActionKind::RequestExtension => Action::RequestExtension {
            deadline: deadline(r)?,
        },
        ActionKind::RefuseExtension => Action::RefuseExtension,
        ActionKind::Escalate => Action::Escalate {
            to: r.parse(e, "to", &label("to"), Tier::from_code)?,
        },
        ActionKind::MergeDuplicate => Action::MergeDuplicate {
            into: r.parse(e, "into", &label("into"), ProblemId::parse)?,
        },
        ActionKind::Withdraw => Action::Withdraw,
        ActionKind::NotResolvable => Action::NotResolvable,
        // Events store both sign-offs as `sign_off` with a `waiver` flag.
        ActionKind::SignOffWaiver => {
            return Err(DocError::BadValue {
                field: label("action"),
                error: "a waiver sign-off is stored as sign_off with waiver = true".into(),
            });
        }
    };
    Ok(Event {
        id,
        after: r.opt_parse(e, "after", &label("after"), EntryId::parse)?,
        action,
        stamp: read_stamp(r, e, "")?,
        role: r.parse(e, "role", &label("role"), Role::from_code)?,
        reason: r.str(e, "reason", &label("reason"))?,
    })
}

fn read_problem(r: &mut Reader<'_>) -> Result<Problem, DocError> {
    let mut events = Vec::new();
    let mut signatures = Vec::new();
    for (key, obj) in r.entries(&ROOT, "events")? {
        let event = read_event(r, &key, &obj)?;
        let label = format!("events.{key}");
        if event.action == Action::Confirm
            && let Some(signature) = super::signature::read(r, &obj, &label)?
        {
            let signed = SignedConfirmation {
                event: event.id,
                by_name: r.str(&obj, "sig_name", &format!("{label}.sig_name"))?,
                at: event.stamp.at,
                signature,
            };
            // In time order by insertion (no sort of its own for the phone to download).
            let at = signatures
                .iter()
                .position(|s: &SignedConfirmation| (s.at, s.event) > (signed.at, signed.event))
                .unwrap_or(signatures.len());
            signatures.insert(at, signed);
        }
        events.push(event);
    }
    let rating = match r.opt_parse(&ROOT, "rating", "rating", Rating::from_code)? {
        Some(rating) => Some(RatingRecord {
            rating,
            comment: r
                .opt_str(&ROOT, "rating_comment", "rating_comment")?
                .unwrap_or_default(),
            channel: r
                .opt_parse(
                    &ROOT,
                    "rating_channel",
                    "rating_channel",
                    RatingChannel::from_code,
                )?
                .unwrap_or(RatingChannel::Officer),
            stamp: read_stamp(r, &ROOT, "rated_")?,
        }),
        None => None,
    };
    Ok(Problem {
        id: r.parse(&ROOT, "id", "id", ProblemId::parse)?,
        enterprise: r.parse(&ROOT, "enterprise", "enterprise", EnterpriseId::parse)?,
        visit: r.opt_parse(&ROOT, "visit", "visit", VisitId::parse)?,
        source: r.parse(&ROOT, "source", "source", ProblemSource::from_code)?,
        category: r.str(&ROOT, "category", "category")?,
        class: r.parse(&ROOT, "class", "class", ProblemClass::from_code)?,
        tier: r.parse(&ROOT, "tier", "tier", Tier::from_code)?,
        owner: r.parse(&ROOT, "owner", "owner", UserId::parse)?,
        handling_units: r.parsed_set(&ROOT, "handling_units", OrgUnitId::parse)?,
        leader: r.opt_parse(&ROOT, "leader", "leader", UserId::parse)?,
        deadline: Timestamp(r.i64(&ROOT, "deadline", "deadline")?),
        description: r.text(&ROOT, "description")?,
        expectation: r.text(&ROOT, "expectation")?,
        response: r.text(&ROOT, "response")?,
        progress: read_log(r, "progress")?,
        supervision: read_supervision(r)?,
        events,
        rating,
        attachments: r.string_set(&ROOT, "attachments")?,
        photos: super::photos::read(r)?,
        signatures,
        created: read_stamp(r, &ROOT, "created_")?,
        needs_decision: Vec::new(),
    })
}

super::typed_doc!(ProblemDoc, DocKind::Problem, "problem");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::officer;

    fn entry(n: u8) -> EntryId {
        EntryId::from_random_bytes([n; 16])
    }

    fn problem() -> ProblemDoc {
        let new = NewProblem {
            id: ProblemId::from_random_bytes([7; 16]),
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
        ProblemDoc::create(
            &new,
            &Config::default(),
            &officer(),
            ActorId::from([3; 16]),
            Timestamp(1),
        )
        .expect("created")
    }

    fn handler(n: u8) -> Actor {
        Actor {
            user: UserId::from_random_bytes([n; 16]),
            device: crate::model::DeviceId::from_random_bytes([n + 1; 16]),
            role: Role::DepartmentHandler,
        }
    }

    #[test]
    fn an_addressed_instruction_keeps_concurrent_acknowledgements_and_reads_as_before_for_old_apps()
    {
        let config = Config::default();
        let dept = OrgUnitId::from_random_bytes([9; 16]);
        let mut doc = problem();
        doc.edit(&config, &officer(), Timestamp(10), |e| {
            e.add_supervision(entry(1), "旧督办")?;
            e.supervise(
                entry(2),
                "请三日内反馈",
                Addressee::Unit(dept),
                Timestamp(500),
            )
        })
        .expect("given");
        // Two handlers of the department acknowledge it at once, on their own copies.
        let mut a = doc.clone();
        let mut b = ProblemDoc::load(&doc.inner.save(), ActorId::from([4; 16])).expect("copy");
        a.edit(&config, &handler(20), Timestamp(20), |e| {
            e.acknowledge_supervision(entry(2), entry(3))
        })
        .expect("acknowledged");
        b.edit(&config, &handler(30), Timestamp(30), |e| {
            e.acknowledge_supervision(entry(2), entry(4))
        })
        .expect("acknowledged");
        a.inner.merge(&mut b.inner).expect("merged");
        let read = a.read().expect("reads");
        let old = &read.supervision[0];
        assert_eq!((old.to, old.due, old.acks.len()), (None, None, 0));
        let given = &read.supervision[1];
        assert_eq!(
            (given.to, given.due),
            (Some(Addressee::Unit(dept)), Some(Timestamp(500)))
        );
        let acks: Vec<_> = given.acks.iter().map(|k| k.id).collect();
        assert_eq!(acks, vec![entry(3), entry(4)], "both kept, in time order");
        // An instruction without an addressee has nothing to acknowledge.
        let refused = a.edit(&config, &handler(20), Timestamp(40), |e| {
            e.acknowledge_supervision(entry(1), entry(5))
        });
        assert!(
            matches!(refused, Err(DocError::BadValue { .. })),
            "{refused:?}"
        );
        // The apps before addressees read the supervision log as a plain log: the new entry
        // still reads there, with its text and author.
        let mut r = a.inner.reader();
        let as_old_apps_read = read_log(&mut r, "supervision").expect("reads as a log");
        let texts: Vec<_> = as_old_apps_read.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, vec!["旧督办", "请三日内反馈"]);
    }

    #[test]
    fn progress_entries_read_in_time_order_and_equal_times_in_id_order() {
        let mut doc = problem();
        // (id, time): ids sort in another order than the times.
        for (n, at) in [(1, 30), (2, 10), (4, 20), (3, 20)] {
            doc.edit(&Config::default(), &officer(), Timestamp(at), |e| {
                e.add_progress(entry(n), &format!("entry {n}"))
            })
            .expect("added");
        }
        let read: Vec<_> = doc
            .read()
            .expect("reads")
            .progress
            .into_iter()
            .map(|e| (e.id, e.stamp.at.0))
            .collect();
        assert_eq!(
            read,
            vec![
                (entry(2), 10),
                (entry(3), 20),
                (entry(4), 20),
                (entry(1), 30)
            ]
        );
    }
}
