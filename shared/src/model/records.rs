//! The records officers and departments keep as Automerge documents, in their hydrated Rust
//! form: enterprise profiles, visits (走访, the 连心卡), problems (问题/诉求) and monitoring
//! figures. `crate::doc` reads and writes them; nothing here knows about Automerge.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::codes::{
    EnterpriseSize, OperatingStatus, ProblemClass, ProblemSource, Rating, RatingChannel, Role,
    Tier, VisitMethod,
};
use super::credit_code::CreditCode;
use super::geo::{CheckIn, Position};
use super::ids::{DeviceId, EnterpriseId, EntryId, OrgUnitId, ProblemId, UserId, VisitId};
use super::time::{IsoWeek, Month, Timestamp};

/// Who did something, from which device, and when by that device's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// The person.
    pub by: UserId,
    /// Their device.
    pub device: DeviceId,
    /// The device's clock.
    pub at: Timestamp,
}

/// A person acting on a record: identity plus the role the server vouched for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The person.
    pub user: UserId,
    /// Their device.
    pub device: DeviceId,
    /// Their role.
    pub role: Role,
}

impl Actor {
    /// The stamp this actor leaves at `at`.
    pub fn stamp(&self, at: Timestamp) -> Stamp {
        Stamp {
            by: self.user,
            device: self.device,
            at,
        }
    }
}

/// A scalar field with concurrent values that Automerge kept side by side: every replica shows
/// the same winner, and people are asked to decide (待决定).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedsDecision {
    /// The field's name in the document, e.g. `category`.
    pub field: String,
    /// The value every replica shows now.
    pub shown: String,
    /// The concurrent values that lost, as stored codes.
    pub others: Vec<String>,
}

/// A contact person at an enterprise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Name.
    pub name: String,
    /// Position in the enterprise, e.g. 总经理.
    pub title: String,
    /// Phone number as given.
    pub phone: String,
}

/// An enterprise profile (企业档案).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enterprise {
    /// Identity.
    pub id: EnterpriseId,
    /// 统一社会信用代码.
    pub credit_code: CreditCode,
    /// Registered name.
    pub name: String,
    /// Address.
    pub address: String,
    /// The town/street/park it belongs to.
    pub town: OrgUnitId,
    /// Industry, free text from the district's list.
    pub industry: String,
    /// 规上/规下.
    pub size: EnterpriseSize,
    /// 重点企业: watched by economic monitoring.
    pub key_enterprise: bool,
    /// Where it is.
    pub position: Option<Position>,
    /// Contacts, by entry id.
    pub contacts: BTreeMap<EntryId, Contact>,
    /// Scalar fields with unresolved concurrent values.
    pub needs_decision: Vec<NeedsDecision>,
}

/// The enterprise's confirmation of a visit (企业确认).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitConfirmation {
    /// Name of the person who confirmed for the enterprise.
    pub by_name: String,
    /// When, by the device's clock.
    pub at: Timestamp,
    /// The signature they drew on the officer's screen (none: confirmed by name only, as
    /// every confirmation before signatures).
    #[serde(default)]
    pub signature: Option<super::Signature>,
}

/// A visit (走访): what one 连心卡 records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    /// Identity.
    pub id: VisitId,
    /// The enterprise visited.
    pub enterprise: EnterpriseId,
    /// Officers who made the visit.
    pub officers: BTreeSet<UserId>,
    /// On site, by phone or at the window.
    pub method: VisitMethod,
    /// Check-in evidence, when the method is on site.
    pub check_in: Option<CheckIn>,
    /// People met at the enterprise.
    pub attendees: BTreeSet<String>,
    /// Notes (free text, merged as text).
    pub notes: String,
    /// Operating status seen.
    pub operating_status: OperatingStatus,
    /// Problems raised on this visit.
    pub problems: BTreeSet<ProblemId>,
    /// Optional confirmation by the enterprise.
    pub confirmation: Option<VisitConfirmation>,
    /// Photos taken on site (现场照片), in the order taken (none in older documents).
    #[serde(default)]
    pub photos: Vec<super::Photo>,
    /// Who created the record.
    pub created: Stamp,
    /// Scalar fields with unresolved concurrent values.
    pub needs_decision: Vec<NeedsDecision>,
}

/// An entry in a problem's progress log (办理进展).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Identity, made on the device.
    pub id: EntryId,
    /// What was written.
    pub text: String,
    /// Who wrote it, where and when.
    pub stamp: Stamp,
}

/// To whom a supervision instruction (督办) is addressed: a person or an org unit (a
/// department's handlers, a town's people), picked by the leader from the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Addressee {
    /// One person.
    Person(UserId),
    /// Everyone whose own unit it is.
    Unit(OrgUnitId),
}

impl Addressee {
    /// Whether `user`, whose own unit is `unit`, is (one of) the addressee(s).
    pub fn includes(&self, user: UserId, unit: OrgUnitId) -> bool {
        match self {
            Addressee::Person(p) => *p == user,
            Addressee::Unit(u) => *u == unit,
        }
    }
}

/// The addressee's acknowledgement (签收) of a supervision instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    /// Identity, made on the device.
    pub id: EntryId,
    /// Who acknowledged it, where and when.
    pub stamp: Stamp,
}

/// A supervision instruction (督办): what a leader or supervisor asks, of whom, by when, and
/// who acknowledged it. Instructions written before addressees existed have none, no due
/// date and no acknowledgements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supervision {
    /// Identity, made on the device.
    pub id: EntryId,
    /// What was asked.
    pub text: String,
    /// Who gave it, where and when.
    pub stamp: Stamp,
    /// To whom.
    pub to: Option<Addressee>,
    /// By when.
    pub due: Option<Timestamp>,
    /// Acknowledgements, in time order (concurrent ones are all kept).
    pub acks: Vec<Acknowledgement>,
}

impl Supervision {
    /// The instruction as it was given, without its acknowledgements (what is never changed
    /// once recorded).
    pub fn as_given(&self) -> (EntryId, &str, Stamp, Option<Addressee>, Option<Timestamp>) {
        (self.id, &self.text, self.stamp, self.to, self.due)
    }

    /// The first acknowledgement, if any.
    pub fn acknowledged(&self) -> Option<&Acknowledgement> {
        self.acks.first()
    }
}

/// The enterprise's rating of how its problem was handled (好差评).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingRecord {
    /// The level.
    pub rating: Rating,
    /// The enterprise's words.
    pub comment: String,
    /// How it reached the record (records made before channels were kept read as
    /// [`RatingChannel::Officer`]).
    pub channel: RatingChannel,
    /// Who recorded it.
    pub stamp: Stamp,
}

/// A problem (问题/诉求) followed until it is solved and the enterprise is satisfied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Identity.
    pub id: ProblemId,
    /// The enterprise that has the problem.
    pub enterprise: EnterpriseId,
    /// The visit it was raised on, if any.
    pub visit: Option<VisitId>,
    /// Where it came from.
    pub source: ProblemSource,
    /// Category code from the configured 12-category guide.
    pub category: String,
    /// A–D class.
    pub class: ProblemClass,
    /// Tier as set by people (escalations raise the effective tier, see `workflow`).
    pub tier: Tier,
    /// Officer who owns the follow-up.
    pub owner: UserId,
    /// Departments it is handed to (a set: concurrent additions both stay).
    pub handling_units: BTreeSet<OrgUnitId>,
    /// Responsible leader.
    pub leader: Option<UserId>,
    /// Deadline as set by people (extensions move the effective deadline, see `workflow`).
    pub deadline: Timestamp,
    /// What the problem is.
    pub description: String,
    /// What the enterprise expects.
    pub expectation: String,
    /// The answer given to the enterprise (答复).
    pub response: String,
    /// Progress log.
    pub progress: Vec<LogEntry>,
    /// Supervision instructions (督办), in time order.
    pub supervision: Vec<Supervision>,
    /// Workflow events, in id order; `workflow::replay` orders and applies them.
    pub events: Vec<crate::workflow::Event>,
    /// The enterprise's rating, when given.
    pub rating: Option<RatingRecord>,
    /// Hashes of attached files (a set).
    pub attachments: BTreeSet<String>,
    /// Photos of the problem as found, in the order taken (none in older documents).
    #[serde(default)]
    pub photos: Vec<super::Photo>,
    /// The enterprise's signatures on its confirmations (`confirm` events), in time order
    /// (none in older documents).
    #[serde(default)]
    pub signatures: Vec<super::SignedConfirmation>,
    /// Who created it.
    pub created: Stamp,
    /// Scalar fields with unresolved concurrent values.
    pub needs_decision: Vec<NeedsDecision>,
}

/// Figures of a month's operation analysis (运行月分析).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationFigures {
    /// Output value, in 10,000 yuan (万元).
    pub output_value: f64,
    /// Revenue, in 10,000 yuan.
    pub revenue: f64,
    /// Employees at month end.
    pub employees: i64,
}

/// Economic monitoring of a key enterprise: power per day, prices per week, operation per month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Monitoring {
    /// The enterprise.
    pub enterprise: EnterpriseId,
    /// 电量日监测: kWh per day, by ISO date.
    pub power: BTreeMap<chrono::NaiveDate, f64>,
    /// 价格周报告: price per product, per week.
    pub prices: BTreeMap<IsoWeek, BTreeMap<String, f64>>,
    /// 运行月分析.
    pub operation: BTreeMap<Month, OperationFigures>,
    /// Entries with unresolved concurrent values.
    pub needs_decision: Vec<NeedsDecision>,
}
