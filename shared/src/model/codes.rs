//! Closed vocabularies of the domain (roles, sources, tiers, states, ratings …) as enums with a
//! stable text code each: the code is what documents, the wire and the database store; the
//! Chinese and English labels are what people read.

use serde::{Deserialize, Serialize};

/// A code that is not one of an enum's known values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {code:?}")]
pub struct UnknownCode {
    /// The vocabulary that was being parsed.
    pub what: &'static str,
    /// The rejected code.
    pub code: String,
}

/// Generates an enum whose variants each have a stable code and Chinese and English labels.
macro_rules! code_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal {
        $($(#[$vdoc:meta])* $variant:ident => $code:literal, $zh:literal, $en:literal;)+
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stable code stored in documents and on the wire.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code,)+ }
            }

            /// The Simplified Chinese label.
            pub fn zh(self) -> &'static str {
                match self { $($name::$variant => $zh,)+ }
            }

            /// The English label.
            pub fn en(self) -> &'static str {
                match self { $($name::$variant => $en,)+ }
            }

            /// Parses a stable code.
            pub fn from_code(code: &str) -> Result<Self, $crate::model::codes::UnknownCode> {
                match code {
                    $($code => Ok($name::$variant),)+
                    _ => Err($crate::model::codes::UnknownCode { what: $what, code: code.chars().take(64).collect() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}
pub(crate) use code_enum;

code_enum!(
    /// What a person does in the campaign; decides what they may see and change.
    Role, "role" {
        /// 助企干部: visits assigned enterprises and records visits and problems.
        Officer => "officer", "助企干部", "Officer";
        /// 部门经办: works the problems handed to their department.
        DepartmentHandler => "department_handler", "部门经办", "Department handler";
        /// 窗口人员: takes problems in at the administrative service center's window.
        WindowClerk => "window_clerk", "窗口人员", "Window clerk";
        /// 领导: dashboards, supervision, escalation, leader-level sign-offs.
        Leader => "leader", "领导", "Leader";
        /// 督导: supervises and appraises.
        Supervisor => "supervisor", "督导", "Supervisor";
        /// 系统管理员: users, devices, reference data; sees no records by default.
        Admin => "admin", "系统管理员", "Administrator";
    }
);

code_enum!(
    /// Kind of an org unit in the zone › town › department tree.
    OrgUnitKind, "org unit kind" {
        /// 示范区: the zone, root of the tree.
        Zone => "zone", "示范区", "Zone";
        /// 镇/街道/园区: a town, street or development zone.
        Town => "town", "镇/街道/园区", "Town / street / park";
        /// 部门: a government department that handles problems.
        Department => "department", "部门", "Department";
    }
);

code_enum!(
    /// 规上/规下: whether an enterprise is above the designated size for statistics.
    EnterpriseSize, "enterprise size" {
        /// 规上企业.
        AboveDesignated => "above", "规上", "Above designated size";
        /// 规下企业.
        BelowDesignated => "below", "规下", "Below designated size";
    }
);

code_enum!(
    /// How a visit was made.
    VisitMethod, "visit method" {
        /// 实地走访: face to face at the enterprise.
        OnSite => "on_site", "实地走访", "On site";
        /// 电话: by phone.
        Phone => "phone", "电话", "By phone";
        /// 窗口: at the service window.
        Window => "window", "窗口", "At the window";
    }
);

code_enum!(
    /// The enterprise's operating status as seen on a visit.
    OperatingStatus, "operating status" {
        /// 正常生产.
        Normal => "normal", "正常生产", "Operating normally";
        /// 减产.
        Reduced => "reduced", "减产", "Reduced output";
        /// 停产.
        Suspended => "suspended", "停产", "Production suspended";
        /// 在建.
        UnderConstruction => "under_construction", "在建", "Under construction";
        /// 关停.
        Closed => "closed", "关停", "Closed";
    }
);

code_enum!(
    /// Where a problem came from (every problem records its source).
    ProblemSource, "problem source" {
        /// 走访: collected on a visit.
        Visit => "visit", "走访", "Visit";
        /// 窗口: the service window at the administrative service center.
        Window => "window", "服务窗口", "Service window";
        /// 热线: the public hotline.
        Hotline => "hotline", "热线", "Hotline";
        /// 监测: raised by an economic-monitoring rule.
        Monitoring => "monitoring", "经济监测", "Monitoring";
        /// 企业自报: reported by the enterprise itself.
        SelfReport => "self_report", "企业自报", "Self-reported";
    }
);

code_enum!(
    /// The A–D class of the "ABCD" problem list; labels come from configuration.
    ProblemClass, "problem class" {
        /// Class A.
        A => "A", "A类", "Class A";
        /// Class B.
        B => "B", "B类", "Class B";
        /// Class C.
        C => "C", "C类", "Class C";
        /// Class D.
        D => "D", "D类", "Class D";
    }
);

code_enum!(
    /// 分级解决: who solves a problem. Names come from configuration; the order is fixed.
    Tier, "tier" {
        /// 当场办: solved on the spot.
        OnSite => "on_site", "当场办", "On the spot";
        /// 部门办: handled by a department.
        Department => "department", "部门办", "By a department";
        /// 市领导办: handled by a city leader.
        CityLeader => "city_leader", "市领导办", "By a city leader";
    }
);

impl Tier {
    /// The next tier up, for escalation; `None` at the top.
    pub fn next(self) -> Option<Tier> {
        match self {
            Tier::OnSite => Some(Tier::Department),
            Tier::Department => Some(Tier::CityLeader),
            Tier::CityLeader => None,
        }
    }
}

code_enum!(
    /// 好差评: the enterprise's five-level rating of how its problem was handled.
    Rating, "rating" {
        /// 非常满意.
        VerySatisfied => "5", "非常满意", "Very satisfied";
        /// 满意.
        Satisfied => "4", "满意", "Satisfied";
        /// 基本满意.
        FairlySatisfied => "3", "基本满意", "Fairly satisfied";
        /// 不满意.
        Dissatisfied => "2", "不满意", "Dissatisfied";
        /// 非常不满意.
        VeryDissatisfied => "1", "非常不满意", "Very dissatisfied";
    }
);

code_enum!(
    /// How a rating reached the record: the 满意率 counts each channel apart, so that the
    /// enterprise's own word is told from what staff typed for it.
    RatingChannel, "rating channel" {
        /// The enterprise itself, through its 连心卡 link.
        Enterprise => "enterprise", "企业自评", "By the enterprise";
        /// The visiting officer, with the enterprise's signature.
        OfficerSigned => "officer_signed", "干部代录（企业签字）", "By the officer, signed by the enterprise";
        /// The visiting officer, without a signature.
        Officer => "officer", "干部代录", "By the officer";
    }
);

impl Rating {
    /// The level, 1 (very dissatisfied) to 5 (very satisfied).
    pub fn level(self) -> u8 {
        match self {
            Rating::VerySatisfied => 5,
            Rating::Satisfied => 4,
            Rating::FairlySatisfied => 3,
            Rating::Dissatisfied => 2,
            Rating::VeryDissatisfied => 1,
        }
    }

    /// A satisfied rating counts towards the satisfaction rate (企业满意率).
    pub fn is_satisfied(self) -> bool {
        self.level() >= 3
    }

    /// A bad rating (差评) triggers a revisit.
    pub fn is_bad(self) -> bool {
        self.level() <= 2
    }
}

code_enum!(
    /// 红/绿/黑旗 and 临期: a problem's flag, always derived by the configured rule table
    /// (`config::Config::flag_rules`), never typed in. What each means is the table's; the
    /// default reads them the way Chinese offices do (a red flag is an honour). Listed from
    /// best to worst.
    Flag, "flag" {
        /// 红旗: by default, solved and the enterprise satisfied.
        Red => "red", "红旗", "Red";
        /// 绿旗: by default, progressing within its deadline.
        Green => "green", "绿旗", "Green";
        /// 临期: by default, its deadline is near.
        DueSoon => "due_soon", "临期", "Due soon";
        /// 黑旗: by default, overdue, reopened, disputed or rated badly.
        Black => "black", "黑旗", "Black";
    }
);

code_enum!(
    /// Where a problem stands in its workflow (see `workflow`).
    ProblemState, "problem state" {
        /// 已提交.
        Submitted => "submitted", "已提交", "Submitted";
        /// 已分类.
        Triaged => "triaged", "已分类", "Triaged";
        /// 已交办.
        Assigned => "assigned", "已交办", "Handed out";
        /// 已受理.
        Accepted => "accepted", "已受理", "Accepted";
        /// 办理中.
        InProgress => "in_progress", "办理中", "In progress";
        /// 已答复.
        Responded => "responded", "已答复", "Responded";
        /// 企业已确认.
        Confirmed => "confirmed", "企业已确认", "Confirmed by the enterprise";
        /// 已销号.
        SignedOff => "signed_off", "已销号", "Signed off";
        /// 回头看通过.
        LookBackPassed => "look_back_passed", "回头看通过", "Look-back passed";
        /// 当场解决.
        ResolvedOnSite => "resolved_on_site", "当场解决", "Resolved on the spot";
        /// 已退回.
        Returned => "returned", "已退回", "Returned";
        /// 企业有异议.
        Disputed => "disputed", "企业有异议", "Disputed by the enterprise";
        /// 回头看重新打开.
        Reopened => "reopened", "重新打开", "Reopened";
        /// 重复合并.
        MergedDuplicate => "merged_duplicate", "重复合并", "Merged as duplicate";
        /// 已撤回.
        Withdrawn => "withdrawn", "已撤回", "Withdrawn";
        /// 无法解决.
        NotResolvable => "not_resolvable", "无法解决", "Not resolvable";
    }
);

impl ProblemState {
    /// Closed states need no more handling; every other state is open.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            ProblemState::SignedOff
                | ProblemState::LookBackPassed
                | ProblemState::MergedDuplicate
                | ProblemState::Withdrawn
                | ProblemState::NotResolvable
        )
    }

    /// Solved for the resolution rate (问题解决率): signed off, with or without a look-back.
    pub fn is_resolved(self) -> bool {
        matches!(self, ProblemState::SignedOff | ProblemState::LookBackPassed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_parses_back_to_its_value() {
        for s in ProblemState::ALL {
            assert_eq!(ProblemState::from_code(s.code()), Ok(*s));
        }
        for r in Rating::ALL {
            assert_eq!(Rating::from_code(r.code()), Ok(*r));
        }
        assert!(Tier::from_code("mayor").is_err());
    }

    #[test]
    fn escalation_climbs_one_tier_and_stops_at_the_top() {
        assert_eq!(Tier::OnSite.next(), Some(Tier::Department));
        assert_eq!(Tier::CityLeader.next(), None);
    }
}
