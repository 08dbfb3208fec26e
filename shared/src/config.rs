//! District configuration as data (配置): the problem categories of the collection guide, the
//! A–D class labels, tier names, the SLA policy and the flag rules. Loaded from TOML over
//! built-in defaults and validated once; the rest of the code takes a valid [`Config`].

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::{Flag, ProblemClass, ProblemState, Tier, VisitMethod};

/// A label in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// Simplified Chinese.
    pub zh: String,
    /// English.
    pub en: String,
}

fn label(zh: &str, en: &str) -> Label {
    Label {
        zh: zh.into(),
        en: en.into(),
    }
}

/// One category of the problem collection guide (重点问题收集指导清单).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// Stable code stored in documents, `[a-z0-9_]+`.
    pub code: String,
    /// Simplified Chinese label.
    pub zh: String,
    /// English label.
    pub en: String,
}

/// Labels of the "ABCD" problem list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub struct ClassLabels {
    /// Class A.
    pub A: Label,
    /// Class B.
    pub B: Label,
    /// Class C.
    pub C: Label,
    /// Class D.
    pub D: Label,
}

impl ClassLabels {
    /// The label of a class.
    pub fn of(&self, class: ProblemClass) -> &Label {
        match class {
            ProblemClass::A => &self.A,
            ProblemClass::B => &self.B,
            ProblemClass::C => &self.C,
            ProblemClass::D => &self.D,
        }
    }
}

/// Names of the three tiers (分级解决).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierNames {
    /// 当场办.
    pub on_site: Label,
    /// 部门办.
    pub department: Label,
    /// 市领导办.
    pub city_leader: Label,
}

impl TierNames {
    /// The name of a tier.
    pub fn of(&self, tier: Tier) -> &Label {
        match tier {
            Tier::OnSite => &self.on_site,
            Tier::Department => &self.department,
            Tier::CityLeader => &self.city_leader,
        }
    }
}

/// Time limits (限时办结), in days from submission. The default follows Jiaozuo's "13710":
/// routed in 1 day, first feedback in 3, routine problems solved in 7, major ones in 30.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaPolicy {
    /// Days to route (triage and hand out).
    pub route_days: u32,
    /// Days to the first feedback to the enterprise.
    pub first_feedback_days: u32,
    /// Days to solve an on-the-spot problem.
    pub on_site_days: u32,
    /// Days to solve a routine (department) problem.
    pub routine_days: u32,
    /// Days to solve a major (city leader) problem.
    pub major_days: u32,
}

impl SlaPolicy {
    /// Days allowed to solve a problem of a tier.
    pub fn days_for(&self, tier: Tier) -> u32 {
        match tier {
            Tier::OnSite => self.on_site_days,
            Tier::Department => self.routine_days,
            Tier::CityLeader => self.major_days,
        }
    }
}

/// One row of the flag rule table: when every given condition holds, the problem gets `flag`.
/// Rules are tried in order; the first match wins. Written by hand (`wire`): TOML and JSON
/// leave out the conditions a rule does not set, the binary form writes every field.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagRule {
    /// The flag this rule gives.
    pub flag: Option<Flag>,
    /// The state is one of these.
    #[serde(default)]
    pub states: Vec<ProblemState>,
    /// The problem is closed (`true`) or open (`false`).
    #[serde(default)]
    pub closed: Option<bool>,
    /// The problem is overdue (`true`) or not (`false`).
    #[serde(default)]
    pub overdue: Option<bool>,
    /// The deadline is at most this many days away (and the problem is awaiting its result).
    #[serde(default)]
    pub due_within_days: Option<u32>,
    /// The enterprise's rating is at most this level (1–5).
    #[serde(default)]
    pub rating_at_most: Option<u8>,
    /// The problem was signed off after a bad rating and no look-back has passed since
    /// (`true`), or not (`false`).
    #[serde(default)]
    pub look_back_owed: Option<bool>,
}

/// The whole district configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The problem categories, in display order.
    pub categories: Vec<Category>,
    /// A–D labels.
    pub classes: ClassLabels,
    /// Tier names.
    pub tiers: TierNames,
    /// Time limits.
    pub sla: SlaPolicy,
    /// Flag rules, tried in order.
    pub flag_rules: Vec<FlagRule>,
    /// The flag when no rule matches.
    pub default_flag: Flag,
    /// Economic-monitoring rules that turn anomalies into problems.
    pub monitoring: MonitoringRules,
    /// The public hotline (服务热线) printed on every 连心卡 and shown on its page, also when a
    /// card is no longer valid. Required: no default fits a real district, so the defaults
    /// leave it empty and validation refuses a configuration without one; the demo district
    /// sets its own ([`Config::demo`]).
    pub hotline: String,
    /// How far a device's clock is trusted for KPIs.
    pub clock: ClockRules,
    /// What a bad rating sets off, and when look-backs fall due.
    pub follow_up: FollowUp,
    /// How far from the enterprise a check-in counts as on site.
    pub check_in: CheckInRules,
}

/// 签到核验: an on-site visit's check-in is measured from the enterprise's registered position;
/// one farther than `radius_m`, or without a position, is marked (and is not on-site
/// evidence for the KPIs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckInRules {
    /// Metres, 10 to 50,000 (default 500).
    pub radius_m: u32,
}

impl Default for CheckInRules {
    fn default() -> Self {
        CheckInRules { radius_m: 500 }
    }
}

impl CheckInRules {
    /// Whether a visit made by `method` whose check-in is `distance_m` metres from the
    /// enterprise (none: no position, or nothing to measure from) is marked: an on-site visit
    /// farther than the radius or without a distance. The server's lists and KPIs apply the
    /// same rule in SQL (`OUTSIDE_RADIUS_SQL` in `server/src/store/visits_query.rs`).
    pub fn marks(&self, method: VisitMethod, distance_m: Option<f64>) -> bool {
        method == VisitMethod::OnSite && distance_m.is_none_or(|d| d > f64::from(self.radius_m))
    }
}

/// 服务器时间: the KPIs count a device's claimed times only within the bounds of what the
/// server saw (`crate::server_time`); `allowed_skew_minutes` is how much earlier than the
/// device's previous sync a claimed time may be (clock error and a slow upload).
/// `settle_within_hours` is how long a device back online may keep uploading work it made
/// offline (the bound stays at its last sync with nothing left to send) before the bound
/// moves to its previous sync whatever it says is left: a device that never settles cannot
/// back-date to its last settled sync for ever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClockRules {
    /// Minutes, 0 to 1,440.
    pub allowed_skew_minutes: u32,
    /// Hours, 1 to 720.
    pub settle_within_hours: u32,
}

impl Default for ClockRules {
    fn default() -> Self {
        ClockRules {
            allowed_skew_minutes: 10,
            settle_within_hours: 24,
        }
    }
}

/// 差评重办与回头看: a rating at or below `bad_rating_at_most` reopens the problem for a revisit
/// (回访) due `revisit_days` after the rating (or a dispute); a look-back (回头看) falls due
/// `look_back_days` after sign-off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FollowUp {
    /// The worst-but-one level that still counts as bad, 1–5 (default 2: 不满意 or worse).
    pub bad_rating_at_most: u8,
    /// Days from the bad rating or dispute to the revisit's deadline.
    pub revisit_days: u32,
    /// Days from sign-off to the look-back.
    pub look_back_days: u32,
}

impl Default for FollowUp {
    fn default() -> Self {
        FollowUp {
            bad_rating_at_most: 2,
            revisit_days: 3,
            look_back_days: 30,
        }
    }
}

impl ClockRules {
    /// The allowed skew in ms.
    pub fn allowed_skew_ms(&self) -> i64 {
        i64::from(self.allowed_skew_minutes) * 60_000
    }

    /// How long a device may upload work left from before it came back, in ms.
    pub fn settle_within_ms(&self) -> i64 {
        i64::from(self.settle_within_hours) * 3_600_000
    }
}

impl FollowUp {
    /// Whether `rating` is bad enough to reopen the problem.
    pub fn is_bad(&self, rating: crate::model::Rating) -> bool {
        rating.level() <= self.bad_rating_at_most
    }
}

/// 电量日监测: a key enterprise whose daily power use stays below `drop_ratio` of the median of
/// the `baseline_days` before for `consecutive_days` days gets a problem (source: monitoring).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitoringRules {
    /// E.g. 0.7: below 70% of the baseline median.
    pub power_drop_ratio: f64,
    /// Days of history the baseline median is taken over (e.g. 28: four weeks).
    pub baseline_days: u32,
    /// Fewest days of history needed before a day is judged.
    pub min_baseline_days: u32,
    /// Consecutive low days that make an anomaly.
    pub consecutive_days: u32,
}

impl Default for MonitoringRules {
    fn default() -> Self {
        MonitoringRules {
            power_drop_ratio: 0.7,
            baseline_days: 28,
            min_baseline_days: 14,
            consecutive_days: 3,
        }
    }
}

impl Eq for MonitoringRules {}

impl Default for Config {
    fn default() -> Self {
        let cat = |code: &str, zh: &str, en: &str| Category {
            code: code.into(),
            zh: zh.into(),
            en: en.into(),
        };
        Config {
            categories: vec![
                cat("land", "用地", "Land"),
                cat("funds", "资金", "Funds"),
                cat("power", "电力能源", "Power and energy"),
                cat("labour", "用工", "Labour"),
                cat("approvals", "审批手续", "Approvals"),
                cat("environment", "环保", "Environment"),
                cat(
                    "infrastructure",
                    "基础设施与交通",
                    "Infrastructure and transport",
                ),
                cat("market", "市场与订单", "Market and orders"),
                cat("technology", "科技创新", "Technology"),
                cat("policy", "政策落实", "Policy implementation"),
                cat("safety", "安全生产", "Work safety"),
                cat("other", "其他", "Other"),
            ],
            classes: ClassLabels {
                A: label("A类 政策咨询", "A: policy questions"),
                B: label("B类 协调服务", "B: coordination"),
                C: label("C类 要素保障", "C: production factors"),
                D: label("D类 重大事项", "D: major matters"),
            },
            tiers: TierNames {
                on_site: label("当场办", "On the spot"),
                department: label("部门办", "By a department"),
                city_leader: label("市领导办", "By a city leader"),
            },
            sla: SlaPolicy {
                route_days: 1,
                first_feedback_days: 3,
                on_site_days: 1,
                routine_days: 7,
                major_days: 30,
            },
            flag_rules: default_flag_rules(),
            default_flag: Flag::Green,
            monitoring: MonitoringRules::default(),
            clock: ClockRules::default(),
            // Each district's own (see `Config::demo` for the demo's).
            hotline: String::new(),
            follow_up: FollowUp::default(),
            check_in: CheckInRules::default(),
        }
    }
}

/// Days before its deadline a problem still waiting for its result is due soon (临期) in the
/// default rule table, and the due-soon window of a table without a 临期 rule
/// ([`Config::due_soon_days`]).
pub const DUE_SOON_DAYS: u32 = 2;

/// The default flag rule table (红绿黑旗), read the way Chinese offices read flags: 黑旗 —
/// reopened or disputed, overdue, rated badly while open, or signed off after a bad rating
/// with the look-back still owed; 红旗, an honour — solved and the enterprise satisfied
/// (confirmed, signed off, look-back passed or resolved on the spot, and not rated badly, which
/// the black rules take first); 临期 — waiting for its result with the deadline less than
/// [`DUE_SOON_DAYS`] away; 绿旗 (the default flag) — everything else: progressing within its
/// deadline, and problems closed without a result (withdrawn, merged, not resolvable).
/// A district's file replaces the whole table (`[[flag_rules]]`) and `default_flag`.
pub fn default_flag_rules() -> Vec<FlagRule> {
    let bad = FollowUp::default().bad_rating_at_most;
    vec![
        FlagRule {
            flag: Some(Flag::Black),
            states: vec![ProblemState::Reopened, ProblemState::Disputed],
            ..FlagRule::default()
        },
        FlagRule {
            flag: Some(Flag::Black),
            overdue: Some(true),
            ..FlagRule::default()
        },
        FlagRule {
            flag: Some(Flag::Black),
            closed: Some(false),
            rating_at_most: Some(bad),
            ..FlagRule::default()
        },
        FlagRule {
            flag: Some(Flag::Black),
            look_back_owed: Some(true),
            ..FlagRule::default()
        },
        FlagRule {
            flag: Some(Flag::Red),
            states: vec![
                ProblemState::Confirmed,
                ProblemState::SignedOff,
                ProblemState::LookBackPassed,
                ProblemState::ResolvedOnSite,
            ],
            ..FlagRule::default()
        },
        FlagRule {
            flag: Some(Flag::DueSoon),
            due_within_days: Some(DUE_SOON_DAYS),
            ..FlagRule::default()
        },
    ]
}

impl Config {
    /// The demo district's configuration: the defaults with the demo's hotline (the
    /// government service hotline of Jiyuan). What a server runs with when it is given no
    /// configuration file, and what the demo and the tests use.
    pub fn demo() -> Config {
        Config {
            hotline: "0391-12345".into(),
            ..Config::default()
        }
    }
}

impl Default for ClassLabels {
    fn default() -> Self {
        Config::default().classes
    }
}

impl Default for TierNames {
    fn default() -> Self {
        Config::default().tiers
    }
}

impl Default for SlaPolicy {
    fn default() -> Self {
        Config::default().sla
    }
}

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Not valid TOML, or a field of the wrong type or name.
    #[error("configuration is not valid TOML for Lianxin: {0}")]
    Parse(String),
    /// Parsed, but breaks the rules; every problem found is listed.
    #[error("configuration is invalid:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}

impl Config {
    /// Days before its deadline a problem waiting for its result is due soon: the window of
    /// the flag table's first 临期 rule, or [`DUE_SOON_DAYS`] when the table has none. The one
    /// number the flag, the officer's to-do and the handler's inbox share.
    pub fn due_soon_days(&self) -> u32 {
        self.flag_rules
            .iter()
            .filter(|r| r.flag == Some(Flag::DueSoon))
            .find_map(|r| r.due_within_days)
            .unwrap_or(DUE_SOON_DAYS)
    }

    /// Parses TOML over the defaults (absent sections keep their defaults) and validates.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// The configuration as TOML (what `config show` prints).
    pub fn to_toml(&self) -> Result<String, ConfigError> {
        toml::to_string_pretty(self).map_err(|e| ConfigError::Parse(e.to_string()))
    }

    /// Checks the rules a configuration must keep, reporting every violation at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut errors = Vec::new();
        if self.categories.is_empty() {
            errors.push("at least one problem category is needed".to_string());
        }
        let mut seen = BTreeSet::new();
        for (i, c) in self.categories.iter().enumerate() {
            let valid_code = !c.code.is_empty()
                && c.code.len() <= 32
                && c.code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid_code {
                errors.push(format!(
                    "category {} has code {:?}: use 1-32 of a-z, 0-9 and _",
                    i + 1,
                    c.code
                ));
            }
            if !seen.insert(c.code.as_str()) {
                errors.push(format!("category code {:?} appears twice", c.code));
            }
            if c.zh.trim().is_empty() || c.en.trim().is_empty() {
                errors.push(format!(
                    "category {:?} needs both a Chinese and an English label",
                    c.code
                ));
            }
        }
        let labels = [
            ("class A", &self.classes.A),
            ("class B", &self.classes.B),
            ("class C", &self.classes.C),
            ("class D", &self.classes.D),
            ("tier on_site", &self.tiers.on_site),
            ("tier department", &self.tiers.department),
            ("tier city_leader", &self.tiers.city_leader),
        ];
        for (what, l) in labels {
            if l.zh.trim().is_empty() || l.en.trim().is_empty() {
                errors.push(format!("{what} needs both a Chinese and an English label"));
            }
        }
        let s = &self.sla;
        let days = [
            ("route_days", s.route_days),
            ("first_feedback_days", s.first_feedback_days),
            ("on_site_days", s.on_site_days),
            ("routine_days", s.routine_days),
            ("major_days", s.major_days),
        ];
        for (name, d) in days {
            if d == 0 || d > 366 {
                errors.push(format!("sla.{name} is {d}: use 1 to 366 days"));
            }
        }
        if !(s.route_days <= s.first_feedback_days
            && s.on_site_days <= s.routine_days
            && s.routine_days <= s.major_days)
        {
            errors.push(
                "sla days must grow: route ≤ first feedback, on site ≤ routine ≤ major".to_string(),
            );
        }
        if self.clock.allowed_skew_minutes > 1_440 {
            errors.push(format!(
                "clock.allowed_skew_minutes is {}: use 0 to 1440 minutes",
                self.clock.allowed_skew_minutes
            ));
        }
        if !(1..=720).contains(&self.clock.settle_within_hours) {
            errors.push(format!(
                "clock.settle_within_hours is {}: use 1 to 720 hours",
                self.clock.settle_within_hours
            ));
        }
        let m = &self.monitoring;
        for (name, d) in [
            ("consecutive_days", m.consecutive_days),
            ("min_baseline_days", m.min_baseline_days),
        ] {
            if d == 0 {
                errors.push(format!("monitoring.{name} is 0: use at least 1 day"));
            }
        }
        if !(m.power_drop_ratio > 0.0 && m.power_drop_ratio <= 1.0) {
            errors.push(format!(
                "monitoring.power_drop_ratio is {}: use a ratio above 0 and at most 1",
                m.power_drop_ratio
            ));
        }
        let f = &self.follow_up;
        if !(1..=5).contains(&f.bad_rating_at_most) {
            errors.push(format!(
                "follow_up.bad_rating_at_most is {}: use a level from 1 to 5",
                f.bad_rating_at_most
            ));
        }
        for (name, d) in [
            ("revisit_days", f.revisit_days),
            ("look_back_days", f.look_back_days),
        ] {
            if d == 0 || d > 366 {
                errors.push(format!("follow_up.{name} is {d}: use 1 to 366 days"));
            }
        }
        if !(10..=50_000).contains(&self.check_in.radius_m) {
            errors.push(format!(
                "check_in.radius_m is {}: use 10 to 50000 metres",
                self.check_in.radius_m
            ));
        }
        for (i, rule) in self.flag_rules.iter().enumerate() {
            if rule.flag.is_none() {
                errors.push(format!("flag rule {} names no flag", i + 1));
            }
            if rule.rating_at_most.is_some_and(|r| !(1..=5).contains(&r)) {
                errors.push(format!(
                    "flag rule {}: rating_at_most must be 1 to 5",
                    i + 1
                ));
            }
        }
        let hotline_ok = (3..=32).contains(&self.hotline.chars().count())
            && self
                .hotline
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '+' | '(' | ')'));
        if self.hotline.trim().is_empty() {
            errors.push(
                "hotline is missing: give the public service number (服务热线) every 连心卡 and \
                 its pages show, e.g. hotline = \"0391-12345\""
                    .to_string(),
            );
        } else if !hotline_ok {
            errors.push(format!(
                "hotline {:?}: use 3-32 digits, spaces, +, -, ( and )",
                self.hotline
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(errors))
        }
    }

    /// The category with this code, if configured.
    pub fn category(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }
}

pub mod wire;

#[cfg(test)]
mod tests;
