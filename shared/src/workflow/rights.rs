//! Who may do what (权限表): the one table of role × workflow action, and of role × the fields
//! that decide scope, deadlines and KPIs.
//!
//! Each action kind is named once here (code, Chinese and English label, whether it needs a
//! reason or a date), with the roles granted it, the condition each grant carries, and the
//! reason everyone else is refused. The problem page offers what [`offered`] allows, the
//! server refuses every merged change that [`may_act`] or [`may_change`] refuses (with the
//! [`Denied`] text, which the device shows), and nothing else lists roles against actions.
//!
//! The defaults, as the campaign's rules want them:
//! - a department handler never confirms, rates, signs off, waives or passes a look-back;
//! - only a leader signs off with a waiver of the enterprise's confirmation: an officer asks
//!   for one ([`ActionKind::RequestWaiver`]) and a leader's waiver sign-off approves it;
//! - a handler's extension is a request ([`ActionKind::RequestExtension`]) that a leader
//!   approves (by extending) or refuses; until then the old deadline counts;
//! - the rating is the enterprise's word: from a device only the visiting officer records it,
//!   and the record says by which channel it came ([`crate::model::RatingChannel`]); a bad
//!   one is recorded with a [`ActionKind::BadRating`] event by the same person;
//! - the enterprise speaks for itself through its 连心卡's page ([`ENTERPRISE_ACTIONS`], and
//!   the rating): the server records it on its behalf with the enterprise's channel; its
//!   officer or a leader replaces or revokes a lost card ([`CARD`], [`may_manage_card`]);
//! - the server's backups are the administrator's ([`BACKUPS`], [`may_manage_backups`]), and so
//!   are accounts and devices, the directory's imports and assignments (包联) changed while
//!   the server runs ([`ACCOUNTS`], [`may_manage_accounts`]), and the district configuration
//!   the server runs with ([`CONFIGURATION`], [`may_manage_configuration`]).

use std::collections::BTreeSet;

use crate::model::codes::code_enum;
use crate::model::{OrgUnitId, Role, Tier};
use crate::workflow::Action;

use serde::{Deserialize, Serialize};

code_enum!(
    /// A kind of workflow action: what the table grants, a screen offers and an event records.
    ActionKind, "action" {
        /// 分类: category, class and tier checked; ready to hand out.
        Triage => "triage", "分类", "Triage";
        /// 交办: handed out to a department.
        Assign => "assign", "交办", "Hand out";
        /// 受理: the department accepts.
        Accept => "accept", "受理", "Accept";
        /// 退回: the department returns it.
        Return => "return", "退回", "Return";
        /// 开始办理.
        Start => "start", "开始办理", "Start";
        /// 答复: the answer to the enterprise is given.
        Respond => "respond", "答复企业", "Respond";
        /// 当场办结.
        ResolveOnSite => "resolve_on_site", "当场办结", "Resolve on the spot";
        /// 企业确认.
        Confirm => "confirm", "企业确认", "Enterprise confirms";
        /// 企业异议.
        Dispute => "dispute", "企业有异议", "Enterprise disputes";
        /// 企业差评: a rating at or below the configured level, recorded with the rating; it
        /// reopens the problem for a revisit.
        BadRating => "bad_rating", "企业差评", "Rated badly";
        /// 销号 with the enterprise's confirmation.
        SignOff => "sign_off", "销号", "Sign off";
        /// 销号 with a recorded waiver of the confirmation (a leader's approval).
        SignOffWaiver => "sign_off_waiver", "免确认销号", "Sign off with waiver";
        /// 申请免确认销号: an officer asks a leader for a waiver sign-off.
        RequestWaiver => "request_waiver", "申请免确认销号", "Ask for a waiver sign-off";
        /// 回头看通过.
        LookBackPass => "look_back_pass", "回头看通过", "Look-back passed";
        /// 回头看重新打开.
        LookBackReopen => "look_back_reopen", "回头看重新打开", "Look-back: reopen";
        /// 升级 one tier.
        Escalate => "escalate", "升级", "Escalate";
        /// 延期: a leader moves the deadline (approving a request, or of their own accord).
        Extend => "extend", "延期", "Extend";
        /// 申请延期: a handler asks for a later deadline.
        RequestExtension => "request_extension", "申请延期", "Ask for an extension";
        /// 驳回延期申请: a leader refuses a handler's request.
        RefuseExtension => "refuse_extension", "驳回延期申请", "Refuse the extension";
        /// 合并重复.
        MergeDuplicate => "merge_duplicate", "合并重复", "Merge as duplicate";
        /// 撤回.
        Withdraw => "withdraw", "撤回", "Withdraw";
        /// 无法解决.
        NotResolvable => "not_resolvable", "认定无法解决", "Not resolvable";
    }
);

/// What a grant needs besides the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Nothing more.
    Always,
    /// The actor belongs to one of the departments the problem is handed to.
    HandlerOfUnit,
    /// Not to (or at) the city-leader tier: only leaders take a problem there.
    BelowCityLeader,
    /// The actor is the supervision instruction's addressee: the person it names, or one
    /// whose own unit it names.
    Addressee,
}

/// One action kind's row of the table.
#[derive(Debug)]
pub struct ActionRule {
    /// The kind.
    pub kind: ActionKind,
    /// The screen asks for a reason, and the guard refuses an empty one.
    pub needs_reason: bool,
    /// The screen asks for a date (a new deadline).
    pub needs_date: bool,
    /// Who may, and on what condition, in the order a screen lists a role's actions.
    pub grants: &'static [(Role, Condition)],
    /// Why everyone else may not (Chinese, English).
    pub why: (&'static str, &'static str),
}

use Condition::{Addressee, Always, BelowCityLeader, HandlerOfUnit};
use Role::{DepartmentHandler as Handler, Leader, Officer, Supervisor, WindowClerk as Clerk};

/// The table, one row per [`ActionKind`], in [`ActionKind::ALL`]'s order.
pub const ACTIONS: &[ActionRule] = &[
    ActionRule {
        kind: ActionKind::Triage,
        needs_reason: false,
        needs_date: false,
        grants: &[(Clerk, Always), (Leader, Always)],
        why: (
            "由窗口人员或领导分类",
            "the window or a leader triages problems",
        ),
    },
    ActionRule {
        kind: ActionKind::Assign,
        needs_reason: false,
        needs_date: false,
        grants: &[(Clerk, Always), (Leader, Always)],
        why: (
            "由窗口人员或领导交办",
            "the window or a leader hands problems out",
        ),
    },
    ActionRule {
        kind: ActionKind::Accept,
        needs_reason: false,
        needs_date: false,
        grants: &[(Handler, HandlerOfUnit)],
        why: (
            "只有承办部门的经办人员可以受理",
            "only a handler of a department the problem is handed to accepts it",
        ),
    },
    ActionRule {
        kind: ActionKind::Return,
        needs_reason: true,
        needs_date: false,
        grants: &[(Handler, HandlerOfUnit)],
        why: (
            "只有承办部门的经办人员可以退回",
            "only a handler of a department the problem is handed to returns it",
        ),
    },
    ActionRule {
        kind: ActionKind::Start,
        needs_reason: false,
        needs_date: false,
        grants: &[(Handler, HandlerOfUnit)],
        why: (
            "只有承办部门的经办人员开始办理",
            "only a handler of a department the problem is handed to starts work on it",
        ),
    },
    ActionRule {
        kind: ActionKind::Respond,
        needs_reason: false,
        needs_date: false,
        grants: &[(Officer, Always), (Handler, HandlerOfUnit)],
        why: (
            "由包联干部或承办部门答复企业",
            "the officer or a handling department responds to the enterprise",
        ),
    },
    ActionRule {
        kind: ActionKind::ResolveOnSite,
        needs_reason: false,
        needs_date: false,
        grants: &[(Officer, Always)],
        why: (
            "只有到场的干部可以当场办结",
            "only the officer on site resolves a problem on the spot",
        ),
    },
    ActionRule {
        kind: ActionKind::Confirm,
        needs_reason: false,
        needs_date: false,
        grants: &[(Officer, Always)],
        why: (
            "确认是企业的意见，只能由企业本人或走访干部记录",
            "the confirmation is the enterprise's word: only the enterprise or its visiting officer records it",
        ),
    },
    ActionRule {
        kind: ActionKind::Dispute,
        needs_reason: true,
        needs_date: false,
        grants: &[(Officer, Always)],
        why: (
            "异议是企业的意见，只能由企业本人或走访干部记录",
            "a dispute is the enterprise's word: only the enterprise or its visiting officer records it",
        ),
    },
    ActionRule {
        kind: ActionKind::BadRating,
        needs_reason: false,
        needs_date: false,
        grants: &[(Officer, Always)],
        why: (
            "评价是企业的意见，只能由企业本人或走访干部记录",
            "the rating is the enterprise's word: only the enterprise or its visiting officer records it",
        ),
    },
    ActionRule {
        kind: ActionKind::SignOff,
        needs_reason: false,
        needs_date: false,
        grants: &[(Officer, Always), (Leader, Always)],
        why: (
            "由包联干部或领导销号，承办部门不能自行销号",
            "the officer or a leader signs off: nobody certifies their own work",
        ),
    },
    ActionRule {
        kind: ActionKind::SignOffWaiver,
        needs_reason: true,
        needs_date: false,
        grants: &[(Leader, Always)],
        why: (
            "免确认销号须经领导批准：请申请免确认销号",
            "only a leader signs off without the enterprise's confirmation: ask for a waiver",
        ),
    },
    ActionRule {
        kind: ActionKind::RequestWaiver,
        needs_reason: true,
        needs_date: false,
        grants: &[(Officer, Always)],
        why: (
            "由包联干部申请免确认销号",
            "the officer asks for a waiver sign-off",
        ),
    },
    ActionRule {
        kind: ActionKind::LookBackPass,
        needs_reason: false,
        needs_date: false,
        grants: &[(Officer, Always)],
        why: (
            "回头看由包联干部走访后确认",
            "the look-back is passed by the officer who visits",
        ),
    },
    ActionRule {
        kind: ActionKind::LookBackReopen,
        needs_reason: true,
        needs_date: false,
        grants: &[(Officer, Always), (Leader, Always), (Supervisor, Always)],
        why: (
            "由干部、领导或督导重新打开",
            "an officer, a leader or a supervisor reopens after a look-back",
        ),
    },
    ActionRule {
        kind: ActionKind::Escalate,
        needs_reason: true,
        needs_date: false,
        grants: &[
            (Officer, BelowCityLeader),
            (Handler, BelowCityLeader),
            (Leader, Always),
            (Supervisor, BelowCityLeader),
        ],
        why: (
            "只有领导可以升级到市领导层级",
            "only a leader escalates a problem to the city-leader tier",
        ),
    },
    ActionRule {
        kind: ActionKind::Extend,
        needs_reason: true,
        needs_date: true,
        grants: &[(Leader, Always)],
        why: (
            "延期须经领导批准：请申请延期",
            "only a leader moves a deadline: ask for an extension",
        ),
    },
    ActionRule {
        kind: ActionKind::RequestExtension,
        needs_reason: true,
        needs_date: true,
        grants: &[(Handler, HandlerOfUnit)],
        why: (
            "由承办部门申请延期",
            "a handler of a department the problem is handed to asks for an extension",
        ),
    },
    ActionRule {
        kind: ActionKind::RefuseExtension,
        needs_reason: true,
        needs_date: false,
        grants: &[(Leader, Always)],
        why: (
            "只有领导可以驳回延期申请",
            "only a leader refuses an extension",
        ),
    },
    ActionRule {
        kind: ActionKind::MergeDuplicate,
        needs_reason: false,
        needs_date: false,
        grants: &[(Clerk, Always), (Leader, Always)],
        why: (
            "由窗口人员或领导合并重复问题",
            "the window or a leader merges duplicates",
        ),
    },
    ActionRule {
        kind: ActionKind::Withdraw,
        needs_reason: true,
        needs_date: false,
        grants: &[(Officer, Always), (Clerk, Always), (Leader, Always)],
        why: (
            "由包联干部、窗口人员或领导撤回",
            "an officer, the window or a leader withdraws it",
        ),
    },
    ActionRule {
        kind: ActionKind::NotResolvable,
        needs_reason: true,
        needs_date: false,
        grants: &[(Leader, Always)],
        why: (
            "只有领导可以认定无法解决",
            "only a leader closes a problem as not resolvable",
        ),
    },
];

code_enum!(
    /// A field that decides who sees a record, when it is due, or what the KPIs count.
    GuardedField, "field" {
        /// An enterprise's town (decides which officers and leaders see it).
        Town => "town", "所属镇街", "Town";
        /// A problem's handling departments (decides which handlers see it).
        HandlingUnits => "handling_units", "承办部门", "Handling departments";
        /// A problem's owner officer.
        Owner => "owner", "包联干部", "Owner";
        /// A problem's responsible leader.
        Leader => "leader", "责任领导", "Leader";
        /// A problem's deadline as set (extensions move it through events).
        Deadline => "deadline", "办理时限", "Deadline";
        /// A problem's tier as set.
        Tier => "tier", "层级", "Tier";
        /// A problem's category and class.
        Category => "category", "类别与分类", "Category and class";
        /// The enterprise's rating.
        Rating => "rating", "企业评价", "Rating";
    }
);

/// One field's row of the table.
#[derive(Debug)]
pub struct FieldRule {
    /// The field.
    pub field: GuardedField,
    /// Who may change it once the record exists (its creator sets the first value).
    pub grants: &'static [(Role, Condition)],
    /// Why everyone else may not (Chinese, English).
    pub why: (&'static str, &'static str),
}

/// Who may change the guarded fields, one row per [`GuardedField`], in its `ALL` order.
pub const FIELDS: &[FieldRule] = &[
    FieldRule {
        field: GuardedField::Town,
        grants: &[(Clerk, Always), (Leader, Always)],
        why: (
            "企业所属镇街由窗口人员或领导调整",
            "the window or a leader moves an enterprise to another town",
        ),
    },
    FieldRule {
        field: GuardedField::HandlingUnits,
        grants: &[(Officer, Always), (Clerk, Always), (Leader, Always)],
        why: (
            "承办部门由包联干部、窗口人员或领导调整",
            "an officer, the window or a leader changes the handling departments",
        ),
    },
    FieldRule {
        field: GuardedField::Owner,
        grants: &[(Clerk, Always), (Leader, Always)],
        why: (
            "包联干部由窗口人员或领导调整",
            "the window or a leader changes the owner officer",
        ),
    },
    FieldRule {
        field: GuardedField::Leader,
        grants: &[(Clerk, Always), (Leader, Always)],
        why: (
            "责任领导由窗口人员或领导调整",
            "the window or a leader changes the responsible leader",
        ),
    },
    FieldRule {
        field: GuardedField::Deadline,
        grants: &[(Leader, Always)],
        why: (
            "时限按规定计算，只能通过延期调整",
            "the deadline follows the service levels and moves only by an extension",
        ),
    },
    FieldRule {
        field: GuardedField::Tier,
        grants: &[
            (Officer, BelowCityLeader),
            (Clerk, BelowCityLeader),
            (Leader, Always),
            (Supervisor, BelowCityLeader),
        ],
        why: (
            "承办部门不调整层级，只有领导设为市领导层级",
            "handlers do not change the tier, and only a leader sets the city-leader tier",
        ),
    },
    FieldRule {
        field: GuardedField::Category,
        grants: &[
            (Officer, Always),
            (Clerk, Always),
            (Leader, Always),
            (Supervisor, Always),
        ],
        why: (
            "承办部门不调整类别和分类：请退回",
            "handlers do not change the category or class: return the problem",
        ),
    },
    FieldRule {
        field: GuardedField::Rating,
        grants: &[(Officer, Always)],
        why: (
            "评价是企业的意见，只能由企业本人或走访干部记录",
            "the rating is the enterprise's word: only the enterprise or its visiting officer records it",
        ),
    },
];

/// What the enterprise does for itself on its 连心卡's page, besides rating (a bad rating is
/// recorded with its `BadRating` event) and raising a new
/// problem (source: self-report): the server records these on its behalf, stamped by the
/// card's system identity, never a device (the device rows above do not grant them to the
/// enterprise, who has no account).
pub const ENTERPRISE_ACTIONS: &[ActionKind] = &[
    ActionKind::Confirm,
    ActionKind::Dispute,
    ActionKind::BadRating,
];

/// A right of roles outside a problem's workflow: the 连心卡 ([`CARD`]), the server's backups
/// ([`BACKUPS`]).
#[derive(Debug)]
pub struct RoleRule {
    /// Who may.
    pub grants: &'static [(Role, Condition)],
    /// Why everyone else may not (Chinese, English).
    pub why: (&'static str, &'static str),
}

/// Who replaces (rotates) or revokes an enterprise's 连心卡 link when a card is lost, for
/// the enterprises in their write scope: its officer (包联干部) or a leader.
pub const CARD: RoleRule = RoleRule {
    grants: &[(Officer, Always), (Leader, Always)],
    why: (
        "连心卡由包联干部或领导更换或作废",
        "the enterprise's officer or a leader replaces or revokes its card",
    ),
};

/// Whether `role` may show, replace or revoke an enterprise's card (the caller checks the
/// enterprise is in the person's write scope).
pub fn may_manage_card(role: Role) -> Result<(), Denied> {
    let ok = granted(CARD.grants, role, |c| c == Always);
    answer(ok, role, What::Card, CARD.why)
}

/// Who gives supervision instructions (督办), each with an addressee and a due date: leaders
/// and supervisors.
pub const SUPERVISE: RoleRule = RoleRule {
    grants: &[(Leader, Always), (Supervisor, Always)],
    why: (
        "只有领导和督导可以督办",
        "only leaders and supervisors give supervision instructions",
    ),
};

/// Whether `role` may give a supervision instruction.
pub fn may_supervise(role: Role) -> Result<(), Denied> {
    let ok = granted(SUPERVISE.grants, role, |c| c == Always);
    answer(ok, role, What::Supervise, SUPERVISE.why)
}

/// Who acknowledges (签收) a supervision instruction: its addressee, whatever their role.
pub const ACKNOWLEDGE: RoleRule = RoleRule {
    grants: &[
        (Officer, Addressee),
        (Handler, Addressee),
        (Clerk, Addressee),
        (Leader, Addressee),
        (Supervisor, Addressee),
    ],
    why: (
        "督办由被督办的人员或单位签收",
        "only the person or unit a supervision instruction names acknowledges it",
    ),
};

/// Whether `user` (role `role`, own unit `unit`) may acknowledge an instruction addressed to
/// `to` (`None`: an instruction from before addressees, which nobody acknowledges).
pub fn may_acknowledge(
    role: Role,
    user: crate::model::UserId,
    unit: OrgUnitId,
    to: Option<crate::model::Addressee>,
) -> Result<(), Denied> {
    let is_addressee = to.is_some_and(|to| to.includes(user, unit));
    let ok = granted(ACKNOWLEDGE.grants, role, |c| c == Addressee && is_addressee);
    answer(ok, role, What::Acknowledge, ACKNOWLEDGE.why)
}

/// Who lists the server's backups (备份) and runs one now (`/api/admin/backups`): the IT
/// administrator alone.
pub const BACKUPS: RoleRule = RoleRule {
    grants: &[(Role::Admin, Always)],
    why: (
        "备份由系统管理员管理",
        "only an administrator manages the server's backups",
    ),
};

/// Whether `role` may list and run the server's backups.
pub fn may_manage_backups(role: Role) -> bool {
    granted(BACKUPS.grants, role, |c| c == Always)
}

/// Who lists, adds, disables, enables users, resets their passwords and lists and revokes
/// devices (账号与设备管理, `/api/admin/users…`, `/api/admin/devices…`), imports org units,
/// enterprises and assignments, ends or moves assignments and edits and merges enterprise
/// profiles (`/api/admin/imports/…`, `/api/admin/assignments/…`, `/api/admin/enterprises…`):
/// the IT administrator alone.
pub const ACCOUNTS: RoleRule = RoleRule {
    grants: &[(Role::Admin, Always)],
    why: (
        "账号与设备由系统管理员管理",
        "only an administrator manages accounts and devices",
    ),
};

/// Whether `role` may manage accounts and devices.
pub fn may_manage_accounts(role: Role) -> bool {
    granted(ACCOUNTS.grants, role, |c| c == Always)
}

/// Who views, validates and applies the district configuration while the server runs (配置,
/// `/api/admin/config…`): the IT administrator alone.
pub const CONFIGURATION: RoleRule = RoleRule {
    grants: &[(Role::Admin, Always)],
    why: (
        "区县配置由系统管理员管理",
        "only an administrator manages the district configuration",
    ),
};

/// Whether `role` may view, validate and apply the district configuration.
pub fn may_manage_configuration(role: Role) -> bool {
    granted(CONFIGURATION.grants, role, |c| c == Always)
}

/// The row of `kind`.
pub fn action_rule(kind: ActionKind) -> &'static ActionRule {
    // ACTIONS follows ActionKind::ALL's order (checked by a test), so the index is the kind's.
    &ACTIONS[kind as usize]
}

/// The row of `field`.
pub fn field_rule(field: GuardedField) -> &'static FieldRule {
    &FIELDS[field as usize]
}

/// Who is acting, and on which problem: what a grant's condition looks at.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The actor's role.
    pub role: Role,
    /// The actor's own unit (a handler's department).
    pub unit: OrgUnitId,
    /// The problem's handling departments.
    pub handling_units: &'a BTreeSet<OrgUnitId>,
}

/// What a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// Taking a workflow action.
    Action(ActionKind),
    /// Changing a guarded field.
    Field(GuardedField),
    /// Replacing or revoking an enterprise's 连心卡.
    Card,
    /// Giving a supervision instruction (督办).
    Supervise,
    /// Acknowledging a supervision instruction (签收督办).
    Acknowledge,
}

/// A refusal by the table: the role, what it tried, and why not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.en())]
pub struct Denied {
    /// The actor's role.
    pub role: Role,
    /// What was tried.
    pub what: What,
    /// Why not (Chinese, English).
    pub why: (&'static str, &'static str),
}

impl Denied {
    /// The refusal in English (what the server answers).
    pub fn en(&self) -> String {
        let role = self.role.en().to_ascii_lowercase();
        match self.what {
            What::Action(kind) => format!("a {role} may not “{}”: {}", kind.en(), self.why.1),
            What::Field(field) => format!(
                "a {role} may not change the {}: {}",
                field.en().to_ascii_lowercase(),
                self.why.1
            ),
            What::Card => format!("a {role} may not replace the card: {}", self.why.1),
            What::Supervise => format!("a {role} may not supervise: {}", self.why.1),
            What::Acknowledge => format!(
                "a {role} may not acknowledge this supervision instruction: {}",
                self.why.1
            ),
        }
    }

    /// The refusal in Chinese.
    pub fn zh(&self) -> String {
        let role = self.role.zh();
        match self.what {
            What::Action(kind) => format!("{role}不能“{}”：{}", kind.zh(), self.why.0),
            What::Field(field) => format!("{role}不能修改{}：{}", field.zh(), self.why.0),
            What::Card => format!("{role}不能更换连心卡：{}", self.why.0),
            What::Supervise => format!("{role}不能督办：{}", self.why.0),
            What::Acknowledge => format!("{role}不能签收这条督办：{}", self.why.0),
        }
    }
}

/// Whether `grants` give `role` the act: `meets` decides each grant's condition.
fn granted(grants: &[(Role, Condition)], role: Role, meets: impl Fn(Condition) -> bool) -> bool {
    grants
        .iter()
        .any(|(r, condition)| *r == role && meets(*condition))
}

/// Whether `subject` meets `condition`, for an act that takes the problem to the city-leader
/// tier when `to_city_leader`.
fn meets(subject: &Subject<'_>, condition: Condition, to_city_leader: bool) -> bool {
    match condition {
        Always => true,
        HandlerOfUnit => subject.handling_units.contains(&subject.unit),
        BelowCityLeader => !to_city_leader,
        // Granted by `may_acknowledge`, which knows the instruction; no workflow action.
        Addressee => false,
    }
}

/// Whether `action` takes the problem to the city-leader tier.
fn to_city_leader(action: &Action) -> bool {
    matches!(
        action,
        Action::Escalate {
            to: Tier::CityLeader
        }
    )
}

/// `Ok` when granted, else the refusal of `what` for `role` with the row's reason.
fn answer(
    granted: bool,
    role: Role,
    what: What,
    why: (&'static str, &'static str),
) -> Result<(), Denied> {
    if granted {
        Ok(())
    } else {
        Err(Denied { role, what, why })
    }
}

/// Whether `subject` may take `action` (the guards of `workflow::check` still decide whether
/// the problem's state allows it).
pub fn may_act(subject: &Subject<'_>, action: &Action) -> Result<(), Denied> {
    let kind = action.kind();
    let rule = action_rule(kind);
    let city = to_city_leader(action);
    let ok = granted(rule.grants, subject.role, |c| meets(subject, c, city));
    answer(ok, subject.role, What::Action(kind), rule.why)
}

/// Whether `subject` may change `field` of an existing record; `to_city_leader`: the change
/// sets the city-leader tier.
pub fn may_change(
    subject: &Subject<'_>,
    field: GuardedField,
    to_city_leader: bool,
) -> Result<(), Denied> {
    let rule = field_rule(field);
    let ok = granted(rule.grants, subject.role, |c| {
        meets(subject, c, to_city_leader)
    });
    answer(ok, subject.role, What::Field(field), rule.why)
}

/// The action kinds a screen offers `subject` on a problem whose effective tier is `tier`, in
/// the table's order (the guards still decide whether each is possible in the current state).
pub fn offered(subject: &Subject<'_>, tier: Tier) -> Vec<ActionKind> {
    let escalates_to_city_leader = tier.next() == Some(Tier::CityLeader);
    ACTIONS
        .iter()
        .filter(|rule| {
            let city = rule.kind == ActionKind::Escalate && escalates_to_city_leader;
            granted(rule.grants, subject.role, |c| meets(subject, c, city))
        })
        .map(|rule| rule.kind)
        .collect()
}

/// Whether some grant of `kind` names `role`, whatever its condition (to show or hide a form
/// that has its own screen, such as hand-out).
pub fn role_has(role: Role, kind: ActionKind) -> bool {
    granted(action_rule(kind).grants, role, |_| true)
}

/// Whether `role` may take `action` on any problem, by a grant whose condition does not look
/// at the problem or the person (for batch actions, chosen before the problems are).
pub fn role_may(role: Role, action: &Action) -> Result<(), Denied> {
    let kind = action.kind();
    let rule = action_rule(kind);
    let city = to_city_leader(action);
    let ok = granted(rule.grants, role, |c| match c {
        Always => true,
        BelowCityLeader => !city,
        HandlerOfUnit | Addressee => false,
    });
    answer(ok, role, What::Action(kind), rule.why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(role: Role, units: &BTreeSet<OrgUnitId>) -> Subject<'_> {
        Subject {
            role,
            unit: OrgUnitId::from_random_bytes([7; 16]),
            handling_units: units,
        }
    }

    #[test]
    fn the_tables_follow_the_kinds_order() {
        for (i, kind) in ActionKind::ALL.iter().enumerate() {
            assert_eq!(ACTIONS[i].kind, *kind);
        }
        for (i, field) in GuardedField::ALL.iter().enumerate() {
            assert_eq!(FIELDS[i].field, *field);
        }
    }

    #[test]
    fn a_handler_never_confirms_rates_signs_off_waives_or_passes_a_look_back() {
        let units = BTreeSet::from([OrgUnitId::from_random_bytes([7; 16])]);
        let handler = subject(Role::DepartmentHandler, &units);
        for action in [
            Action::Confirm,
            Action::SignOff { waiver: false },
            Action::SignOff { waiver: true },
            Action::LookBackPass,
            Action::Extend {
                deadline: crate::model::Timestamp(1),
            },
        ] {
            let denied = may_act(&handler, &action).expect_err("refused");
            assert!(!denied.to_string().is_empty() && !denied.zh().is_empty());
        }
        assert!(may_change(&handler, GuardedField::Rating, false).is_err());
        assert!(may_act(&handler, &Action::Accept).is_ok());
        assert!(
            may_act(
                &handler,
                &Action::RequestExtension {
                    deadline: crate::model::Timestamp(1)
                }
            )
            .is_ok()
        );
    }

    #[test]
    fn a_handler_of_another_department_may_not_accept() {
        let units = BTreeSet::from([OrgUnitId::from_random_bytes([8; 16])]);
        let handler = subject(Role::DepartmentHandler, &units);
        assert!(may_act(&handler, &Action::Accept).is_err());
        assert!(offered(&handler, Tier::OnSite).contains(&ActionKind::Escalate));
        assert!(!offered(&handler, Tier::Department).contains(&ActionKind::Accept));
    }

    #[test]
    fn only_a_leader_escalates_to_the_city_leader_tier() {
        let units = BTreeSet::new();
        let to_city = Action::Escalate {
            to: Tier::CityLeader,
        };
        assert!(may_act(&subject(Role::Officer, &units), &to_city).is_err());
        assert!(may_act(&subject(Role::Leader, &units), &to_city).is_ok());
        let last_step = Tier::CityLeader;
        let before_last = Tier::ALL
            .iter()
            .copied()
            .find(|t| t.next() == Some(last_step))
            .expect("a tier below the top");
        assert!(
            !offered(&subject(Role::Officer, &units), before_last).contains(&ActionKind::Escalate)
        );
        assert!(
            offered(&subject(Role::Officer, &units), Tier::OnSite).contains(&ActionKind::Escalate)
        );
    }

    #[test]
    fn an_officer_or_a_leader_replaces_a_card_and_a_handler_may_not() {
        assert!(may_manage_card(Role::Officer).is_ok());
        assert!(may_manage_card(Role::Leader).is_ok());
        let denied = may_manage_card(Role::DepartmentHandler).expect_err("refused");
        assert!(denied.zh().starts_with("部门经办不能更换连心卡"));
        assert!(ENTERPRISE_ACTIONS.contains(&ActionKind::Confirm));
    }

    #[test]
    fn only_the_addressee_acknowledges_a_supervision_instruction() {
        use crate::model::{Addressee as To, UserId};
        let (me, other) = (
            UserId::from_random_bytes([1; 16]),
            UserId::from_random_bytes([2; 16]),
        );
        let (dept, town) = (
            OrgUnitId::from_random_bytes([3; 16]),
            OrgUnitId::from_random_bytes([4; 16]),
        );
        let handler = Role::DepartmentHandler;
        assert!(may_acknowledge(handler, me, dept, Some(To::Unit(dept))).is_ok());
        assert!(may_acknowledge(Role::Officer, me, town, Some(To::Person(me))).is_ok());
        let denied =
            may_acknowledge(handler, other, town, Some(To::Unit(dept))).expect_err("not theirs");
        assert!(denied.zh().starts_with("部门经办不能签收这条督办"));
        assert!(may_acknowledge(Role::Leader, other, dept, Some(To::Person(me))).is_err());
        assert!(may_acknowledge(handler, me, dept, None).is_err());
        assert!(may_supervise(Role::Supervisor).is_ok());
        assert!(may_supervise(Role::DepartmentHandler).is_err());
    }

    #[test]
    fn refusals_read_in_both_languages() {
        let units = BTreeSet::new();
        let denied = may_act(&subject(Role::DepartmentHandler, &units), &Action::Confirm)
            .expect_err("refused");
        assert_eq!(
            denied.to_string(),
            "a department handler may not “Enterprise confirms”: the confirmation is the \
             enterprise's word: only the enterprise or its visiting officer records it"
        );
        assert!(denied.zh().starts_with("部门经办不能“企业确认”"));
    }
}
