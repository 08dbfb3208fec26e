//! The officer app's screen logic, kept here so it is tested natively (the app crate is a
//! wasm-only `cdylib`): parsing and validating what people type into forms (this file), the
//! actions a role is offered on a problem (`actions`), batch actions (批处理) on many problems
//! (`batch`), the per-enterprise summary of the "my enterprises" list (`summary`), edits
//! that meet someone else's change (`edit`) and a check-in's distance from the enterprise
//! (`check_in`, which the server measures with too).
//! Nothing here touches the browser; the app turns each [`FieldError`] into words.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use crate::config::Config;
use crate::derive::initial_deadline;
use crate::model::{
    CreditCode, CreditCodeError, DAY_MS, EnterpriseSize, OperatingStatus, OrgUnitId, ProblemClass,
    ProblemSource, Tier, Timestamp, VisitMethod,
};

mod actions;
mod batch;
mod check_in;
mod edit;
mod summary;
pub use crate::workflow::ActionKind;
pub use crate::workflow::field_rights::EditLocks;
pub use actions::{actions_for, build_action, edit_locks, may_save_edit, parse_rating};
pub use batch::{BatchAction, BatchRefusal, apply_batch};
pub use check_in::{check_in_distance, check_in_position, registered_position};
pub use edit::{
    EditConflict, ProblemField, ProblemFormEdit, follow_record, merge_text, parse_problem_edit,
    problem_edit,
};
pub use summary::{
    EnterpriseSummary, flag_rank, follow_ups, matches_search, summarize, visit_time,
};

/// The longest free text accepted in one field, in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// The longest short text (a name, an address, an industry), in characters.
pub const MAX_LINE_CHARS: usize = 200;

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// The field must be filled in.
    Required,
    /// The text is longer than allowed.
    TooLong {
        /// The limit, in characters.
        max: usize,
    },
    /// The choice is not one of those offered (or not configured in this district).
    UnknownChoice(String),
    /// The credit code does not check out.
    CreditCode(CreditCodeError),
    /// Not a date (`YYYY-MM-DD`).
    BadDate,
    /// The date must be later than the current deadline.
    DateNotLater,
}

/// A form field that failed, with the index of the problem sub-form it belongs to, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name (`notes`, `category`, `credit_code` …).
    pub field: &'static str,
    /// For a visit's problems: which one (0-based).
    pub problem: Option<usize>,
    /// What is wrong.
    pub error: FormError,
}

impl FieldError {
    fn new(field: &'static str, error: FormError) -> Self {
        FieldError {
            field,
            problem: None,
            error,
        }
    }
}

/// Collects field errors while a form is parsed.
#[derive(Debug, Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn text(&mut self, field: &'static str, value: &str, required: bool, max: usize) -> String {
        let value = value.trim();
        if required && value.is_empty() {
            self.0.push(FieldError::new(field, FormError::Required));
        } else if value.chars().count() > max {
            self.0
                .push(FieldError::new(field, FormError::TooLong { max }));
        }
        value.to_string()
    }

    fn code<T>(
        &mut self,
        field: &'static str,
        value: &str,
        parse: impl Fn(&str) -> Result<T, crate::model::UnknownCode>,
    ) -> Option<T> {
        if value.trim().is_empty() {
            self.0.push(FieldError::new(field, FormError::Required));
            return None;
        }
        match parse(value.trim()) {
            Ok(v) => Some(v),
            Err(_) => {
                self.0.push(FieldError::new(
                    field,
                    FormError::UnknownChoice(value.chars().take(64).collect()),
                ));
                None
            }
        }
    }

    fn finish<T>(self, value: Option<T>) -> Result<T, Vec<FieldError>> {
        match value {
            Some(v) if self.0.is_empty() => Ok(v),
            _ => Err(self.0),
        }
    }
}

/// A problem form as typed: every value a string from the UI (codes for the choices).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProblemInput {
    /// Category code from the configuration.
    pub category: String,
    /// A–D class code.
    pub class: String,
    /// Tier code.
    pub tier: String,
    /// What the problem is.
    pub description: String,
    /// What the enterprise expects.
    pub expectation: String,
    /// Ids of the departments (承办部门) it is handed to, in the order picked.
    pub departments: Vec<String>,
}

/// A valid problem form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedProblem {
    /// A configured category code.
    pub category: String,
    /// A–D class.
    pub class: ProblemClass,
    /// Tier.
    pub tier: Tier,
    /// What the problem is (trimmed, not empty).
    pub description: String,
    /// What the enterprise expects (trimmed, may be empty).
    pub expectation: String,
    /// The departments it is handed to (may be none).
    pub departments: BTreeSet<OrgUnitId>,
}

impl ParsedProblem {
    /// The deadline the SLA policy gives a problem of this tier created at `now`.
    pub fn deadline(&self, config: &Config, now: Timestamp) -> Timestamp {
        initial_deadline(config, self.tier, now)
    }
}

/// Parses a problem form against the district's configuration.
pub fn parse_problem(
    input: &ProblemInput,
    config: &Config,
) -> Result<ParsedProblem, Vec<FieldError>> {
    let mut errors = Errors::default();
    let category = input.category.trim();
    let category = if category.is_empty() {
        errors
            .0
            .push(FieldError::new("category", FormError::Required));
        None
    } else if config.category(category).is_none() {
        errors.0.push(FieldError::new(
            "category",
            FormError::UnknownChoice(category.chars().take(64).collect()),
        ));
        None
    } else {
        Some(category.to_string())
    };
    let class = errors.code("class", &input.class, ProblemClass::from_code);
    let tier = errors.code("tier", &input.tier, Tier::from_code);
    let description = errors.text("description", &input.description, true, MAX_TEXT_CHARS);
    let expectation = errors.text("expectation", &input.expectation, false, MAX_TEXT_CHARS);
    let mut departments = BTreeSet::new();
    for d in &input.departments {
        match OrgUnitId::parse(d.trim()) {
            Ok(id) => {
                departments.insert(id);
            }
            Err(_) => errors.0.push(FieldError::new(
                "departments",
                FormError::UnknownChoice(d.chars().take(64).collect()),
            )),
        }
    }
    let parsed = match (category, class, tier) {
        (Some(category), Some(class), Some(tier)) => Some(ParsedProblem {
            category,
            class,
            tier,
            description,
            expectation,
            departments,
        }),
        _ => None,
    };
    errors.finish(parsed)
}

/// A visit form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisitInput {
    /// Visit method code.
    pub method: String,
    /// Operating status code.
    pub operating_status: String,
    /// People met, separated by commas, 、 or new lines.
    pub attendees: String,
    /// Notes.
    pub notes: String,
    /// Problems raised on the visit.
    pub problems: Vec<ProblemInput>,
}

/// A valid visit form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedVisit {
    /// How the visit was made.
    pub method: VisitMethod,
    /// Operating status seen.
    pub operating_status: OperatingStatus,
    /// People met, trimmed, without duplicates, in the order typed.
    pub attendees: Vec<String>,
    /// Notes.
    pub notes: String,
    /// Problems raised.
    pub problems: Vec<ParsedProblem>,
}

/// Splits the attendees field into names: commas (, ，), 、, semicolons and new lines separate
/// them; blanks and repeats are dropped.
pub fn parse_attendees(text: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    text.split([',', '，', '、', ';', '；', '\n'])
        .map(str::trim)
        .filter(|name| !name.is_empty() && seen.insert(name.to_string()))
        .map(str::to_string)
        .collect()
}

/// Parses a visit form and each of its problem sub-forms; every error is reported at once.
pub fn parse_visit(input: &VisitInput, config: &Config) -> Result<ParsedVisit, Vec<FieldError>> {
    let mut errors = Errors::default();
    let method = errors.code("method", &input.method, VisitMethod::from_code);
    let operating_status = errors.code(
        "operating_status",
        &input.operating_status,
        OperatingStatus::from_code,
    );
    let attendees = parse_attendees(&input.attendees);
    if attendees.iter().any(|a| a.chars().count() > MAX_LINE_CHARS) {
        errors.0.push(FieldError::new(
            "attendees",
            FormError::TooLong {
                max: MAX_LINE_CHARS,
            },
        ));
    }
    let notes = errors.text("notes", &input.notes, false, MAX_TEXT_CHARS);
    let mut problems = Vec::new();
    for (i, p) in input.problems.iter().enumerate() {
        match parse_problem(p, config) {
            Ok(p) => problems.push(p),
            Err(errs) => errors.0.extend(errs.into_iter().map(|mut e| {
                e.problem = Some(i);
                e
            })),
        }
    }
    let parsed = match (method, operating_status) {
        (Some(method), Some(operating_status)) => Some(ParsedVisit {
            method,
            operating_status,
            attendees,
            notes,
            problems,
        }),
        _ => None,
    };
    errors.finish(parsed)
}

/// An enterprise registered on the spot, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnterpriseInput {
    /// 统一社会信用代码.
    pub credit_code: String,
    /// Registered name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Industry.
    pub industry: String,
    /// Size code (`above` / `below`).
    pub size: String,
}

/// A valid new enterprise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEnterprise {
    /// The checked credit code.
    pub credit_code: CreditCode,
    /// Registered name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Industry.
    pub industry: String,
    /// 规上/规下.
    pub size: EnterpriseSize,
}

/// Parses a new enterprise; the credit code must pass both of its check characters.
pub fn parse_enterprise(input: &EnterpriseInput) -> Result<ParsedEnterprise, Vec<FieldError>> {
    let mut errors = Errors::default();
    let credit_code = if input.credit_code.trim().is_empty() {
        errors
            .0
            .push(FieldError::new("credit_code", FormError::Required));
        None
    } else {
        match CreditCode::parse(&input.credit_code) {
            Ok(code) => Some(code),
            Err(e) => {
                errors
                    .0
                    .push(FieldError::new("credit_code", FormError::CreditCode(e)));
                None
            }
        }
    };
    let name = errors.text("name", &input.name, true, MAX_LINE_CHARS);
    let address = errors.text("address", &input.address, false, MAX_LINE_CHARS);
    let industry = errors.text("industry", &input.industry, false, MAX_LINE_CHARS);
    let size = errors.code("size", &input.size, EnterpriseSize::from_code);
    let parsed = match (credit_code, size) {
        (Some(credit_code), Some(size)) => Some(ParsedEnterprise {
            credit_code,
            name,
            address,
            industry,
            size,
        }),
        _ => None,
    };
    errors.finish(parsed)
}

/// The sources an intake without a visit may record.
pub const INTAKE_SOURCES: &[ProblemSource] = &[
    ProblemSource::Window,
    ProblemSource::Hotline,
    ProblemSource::SelfReport,
];

/// Parses the source of an intake: the service window, the hotline or the enterprise itself.
pub fn parse_intake_source(code: &str) -> Result<ProblemSource, FieldError> {
    match ProblemSource::from_code(code.trim()) {
        Ok(source) if INTAKE_SOURCES.contains(&source) => Ok(source),
        Ok(_) | Err(_) => Err(FieldError::new(
            "source",
            FormError::UnknownChoice(code.chars().take(64).collect()),
        )),
    }
}

/// Parses a date typed as `YYYY-MM-DD` into the last millisecond of that day where the device
/// is (`utc_offset_minutes` east of UTC, e.g. 480 in China).
pub fn parse_date_end(text: &str, utc_offset_minutes: i64) -> Result<Timestamp, FormError> {
    // Parsed by hand: chrono's format parser would add kilobytes to the app's download.
    let mut parts = text.trim().splitn(3, '-');
    let mut number = |digits: usize| -> Result<u32, FormError> {
        let part = parts.next().ok_or(FormError::BadDate)?;
        if part.len() != digits || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FormError::BadDate);
        }
        part.parse().map_err(|_| FormError::BadDate)
    };
    let (year, month, day) = (number(4)?, number(2)?, number(2)?);
    let day = NaiveDate::from_ymd_opt(
        i32::try_from(year).map_err(|_| FormError::BadDate)?,
        month,
        day,
    )
    .ok_or(FormError::BadDate)?;
    let midnight_utc = day
        .and_hms_opt(0, 0, 0)
        .ok_or(FormError::BadDate)?
        .and_utc()
        .timestamp_millis();
    Ok(Timestamp(
        midnight_utc + DAY_MS - 1 - utc_offset_minutes * 60_000,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem_input() -> ProblemInput {
        ProblemInput {
            category: "land".into(),
            class: "B".into(),
            tier: "department".into(),
            description: "  厂房扩建用地指标不足  ".into(),
            expectation: "年底前落实".into(),
            departments: Vec::new(),
        }
    }

    #[test]
    fn a_complete_problem_form_parses_and_gets_its_deadline_from_the_sla() {
        let config = Config::default();
        let p = parse_problem(&problem_input(), &config).expect("valid");
        assert_eq!(p.category, "land");
        assert_eq!(p.class, ProblemClass::B);
        assert_eq!(p.tier, Tier::Department);
        assert_eq!(p.description, "厂房扩建用地指标不足");
        let now = Timestamp(1_000 * DAY_MS);
        assert_eq!(p.deadline(&config, now), now.plus_days(7));
        let major = ParsedProblem {
            tier: Tier::CityLeader,
            ..p
        };
        assert_eq!(major.deadline(&config, now), now.plus_days(30));
    }

    #[test]
    fn every_problem_error_is_reported_at_once() {
        let input = ProblemInput {
            category: "casino".into(),
            class: String::new(),
            tier: "mayor".into(),
            description: "   ".into(),
            expectation: "x".repeat(MAX_TEXT_CHARS + 1),
            departments: vec!["not-an-id".into()],
        };
        let errors = parse_problem(&input, &Config::default()).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| (e.field, e.error.clone())).collect();
        assert_eq!(
            fields,
            vec![
                ("category", FormError::UnknownChoice("casino".into())),
                ("class", FormError::Required),
                ("tier", FormError::UnknownChoice("mayor".into())),
                ("description", FormError::Required),
                (
                    "expectation",
                    FormError::TooLong {
                        max: MAX_TEXT_CHARS
                    }
                ),
                ("departments", FormError::UnknownChoice("not-an-id".into())),
            ]
        );
    }

    #[test]
    fn a_category_the_district_does_not_configure_is_refused() {
        let mut config = Config::default();
        config.categories.retain(|c| c.code != "other");
        let input = ProblemInput {
            category: "other".into(),
            ..problem_input()
        };
        assert!(parse_problem(&input, &config).is_err());
        assert!(parse_problem(&input, &Config::default()).is_ok());
    }

    #[test]
    fn attendees_split_on_chinese_and_latin_separators_without_repeats() {
        assert_eq!(
            parse_attendees("张总，李会计、王工; 张总\n\n  赵主任 ,"),
            vec!["张总", "李会计", "王工", "赵主任"]
        );
        assert!(parse_attendees("  ").is_empty());
    }

    #[test]
    fn a_visit_reports_errors_of_its_problems_with_their_index() {
        let input = VisitInput {
            method: "on_site".into(),
            operating_status: "normal".into(),
            attendees: "张总".into(),
            notes: "生产正常".into(),
            problems: vec![
                problem_input(),
                ProblemInput {
                    description: String::new(),
                    ..problem_input()
                },
            ],
        };
        let errors = parse_visit(&input, &Config::default()).expect_err("second problem");
        assert_eq!(
            errors,
            vec![FieldError {
                field: "description",
                problem: Some(1),
                error: FormError::Required
            }]
        );
        let ok = VisitInput {
            problems: vec![problem_input()],
            ..input
        };
        let visit = parse_visit(&ok, &Config::default()).expect("valid");
        assert_eq!(visit.method, VisitMethod::OnSite);
        assert_eq!(visit.attendees, vec!["张总"]);
        assert_eq!(visit.problems.len(), 1);
    }

    #[test]
    fn a_visit_needs_a_method_and_an_operating_status() {
        let errors = parse_visit(&VisitInput::default(), &Config::default()).expect_err("empty");
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["method", "operating_status"]);
    }

    #[test]
    fn a_new_enterprise_needs_a_credit_code_that_checks_out() {
        let good = EnterpriseInput {
            credit_code: "91410881MA9F8KXY2L".into(),
            name: "济源市示例钢铁有限公司".into(),
            address: "济源市玉泉街道".into(),
            industry: "钢铁".into(),
            size: "above".into(),
        };
        let code = CreditCode::from_parts('9', '1', "419001", "MA9F8KXY").expect("valid parts");
        let good = EnterpriseInput {
            credit_code: code.as_str().to_lowercase(),
            ..good
        };
        let parsed = parse_enterprise(&good).expect("valid");
        assert_eq!(parsed.credit_code, code);
        assert_eq!(parsed.size, EnterpriseSize::AboveDesignated);

        let mut bad_check = code.as_str().to_string();
        let last = bad_check.pop().expect("18 chars");
        bad_check.push(if last == '0' { '1' } else { '0' });
        let errors = parse_enterprise(&EnterpriseInput {
            credit_code: bad_check,
            name: String::new(),
            ..good.clone()
        })
        .expect_err("bad check character and no name");
        assert!(matches!(
            errors[0].error,
            FormError::CreditCode(CreditCodeError::Check { .. })
        ));
        assert_eq!(errors[1].field, "name");
        let short = parse_enterprise(&EnterpriseInput {
            credit_code: "9141".into(),
            ..good
        })
        .expect_err("short");
        assert_eq!(
            short[0].error,
            FormError::CreditCode(CreditCodeError::Length(4))
        );
    }

    #[test]
    fn intake_takes_window_hotline_or_self_report_only() {
        assert_eq!(parse_intake_source("window"), Ok(ProblemSource::Window));
        assert_eq!(parse_intake_source("hotline"), Ok(ProblemSource::Hotline));
        assert!(parse_intake_source("visit").is_err());
        assert!(parse_intake_source("").is_err());
    }

    #[test]
    fn a_typed_date_ends_at_the_last_millisecond_of_that_local_day() {
        // 2026-12-01 in China (UTC+8) ends at 2026-12-01T15:59:59.999Z.
        let end = parse_date_end("2026-12-01", 480).expect("valid");
        let utc = chrono::DateTime::from_timestamp_millis(end.0).expect("in range");
        assert_eq!(utc.to_rfc3339(), "2026-12-01T15:59:59.999+00:00");
        assert_eq!(parse_date_end("2026-13-01", 0), Err(FormError::BadDate));
        assert_eq!(parse_date_end("soon", 0), Err(FormError::BadDate));
        assert_eq!(parse_date_end("2026-2-1", 0), Err(FormError::BadDate));
        assert_eq!(parse_date_end("2026-02-30", 0), Err(FormError::BadDate));
    }
}
