//! Supervision instructions (督办) as leaders follow them: the one rule of an instruction's
//! state at a given "now" (issued, acknowledged, overdue, closed), which the server's list
//! (`GET /api/supervision`), the officer's to-do and the screens all use.

use serde::{Deserialize, Serialize};

use crate::forms::{FieldError, FormError, parse_date_end};
use crate::model::codes::code_enum;
use crate::model::{Addressee, OrgUnitId, ProblemState, Supervision, Timestamp, UserId};

code_enum!(
    /// Where a supervision instruction stands.
    SupervisionState, "supervision state" {
        /// 已下达: given, not yet acknowledged, not past its due date.
        Issued => "issued", "已下达", "Issued";
        /// 已签收: the addressee acknowledged it, not past its due date.
        Acknowledged => "acknowledged", "已签收", "Acknowledged";
        /// 已超期: past its due date while the problem is still open (acknowledged or not).
        Overdue => "overdue", "已超期", "Overdue";
        /// 已办结: the problem it is about is closed.
        Closed => "closed", "已办结", "Closed";
    }
);

/// The state at `now` of an instruction on a problem in `problem_state`: closed with the
/// problem; else overdue once past its due date (an instruction without one never is); else
/// acknowledged once its addressee acknowledged it; else issued.
pub fn state_of(
    problem_state: ProblemState,
    due: Option<Timestamp>,
    acknowledged: bool,
    now: Timestamp,
) -> SupervisionState {
    if problem_state.is_closed() {
        SupervisionState::Closed
    } else if due.is_some_and(|d| now > d) {
        SupervisionState::Overdue
    } else if acknowledged {
        SupervisionState::Acknowledged
    } else {
        SupervisionState::Issued
    }
}

/// [`state_of`] for an instruction read from its document.
pub fn state(s: &Supervision, problem_state: ProblemState, now: Timestamp) -> SupervisionState {
    state_of(problem_state, s.due, s.acknowledged().is_some(), now)
}

/// Whether `user` (own unit `unit`) still has to acknowledge `s`: it is addressed to them and
/// nobody acknowledged it yet (one acknowledgement speaks for a unit).
pub fn awaits_acknowledgement(s: &Supervision, user: UserId, unit: OrgUnitId) -> bool {
    s.to.is_some_and(|to| to.includes(user, unit)) && s.acks.is_empty()
}

/// How a form's addressee picker writes `to`: `p:<user id>` or `u:<org unit id>`.
pub fn addressee_code(to: Addressee) -> String {
    match to {
        Addressee::Person(u) => format!("p:{u}"),
        Addressee::Unit(u) => format!("u:{u}"),
    }
}

fn field_error(field: &'static str, error: FormError) -> FieldError {
    FieldError {
        field,
        problem: None,
        error,
    }
}

/// A supervision instruction as a form gives it: the text, to whom, by when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// What is asked (trimmed, not empty).
    pub text: String,
    /// To whom.
    pub to: Addressee,
    /// By when (the end of the chosen day where the device is).
    pub due: Timestamp,
}

/// Parses the supervision form: `text` (required), `to` (an [`addressee_code`]) and `due`
/// (`YYYY-MM-DD`, the end of that day `utc_offset_minutes` east of UTC). The first field that
/// fails is reported.
pub fn parse_instruction(
    text: &str,
    to: &str,
    due: &str,
    utc_offset_minutes: i64,
) -> Result<Instruction, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(field_error("supervision", FormError::Required));
    }
    let to = match to.split_once(':') {
        _ if to.is_empty() => Err(FormError::Required),
        Some(("p", id)) => UserId::parse(id)
            .map(Addressee::Person)
            .map_err(|_| FormError::UnknownChoice(to.into())),
        Some(("u", id)) => OrgUnitId::parse(id)
            .map(Addressee::Unit)
            .map_err(|_| FormError::UnknownChoice(to.into())),
        _ => Err(FormError::UnknownChoice(to.into())),
    }
    .map_err(|e| field_error("supervision-to", e))?;
    if due.trim().is_empty() {
        return Err(field_error("supervision-due", FormError::Required));
    }
    let due =
        parse_date_end(due, utc_offset_minutes).map_err(|e| field_error("supervision-due", e))?;
    Ok(Instruction {
        text: text.to_string(),
        to,
        due,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_supervision_form_needs_text_an_addressee_and_a_due_date() {
        let unit = OrgUnitId::from_random_bytes([3; 16]);
        let code = addressee_code(Addressee::Unit(unit));
        let ok = parse_instruction(" 请本周反馈 ", &code, "2026-12-10", 480).expect("parses");
        assert_eq!(
            (ok.text.as_str(), ok.to),
            ("请本周反馈", Addressee::Unit(unit))
        );
        assert_eq!(ok.due, parse_date_end("2026-12-10", 480).expect("date"));
        let field = |r: Result<Instruction, FieldError>| r.map_err(|e| e.field).err();
        assert_eq!(
            field(parse_instruction("", &code, "2026-12-10", 480)),
            Some("supervision")
        );
        assert_eq!(
            field(parse_instruction("x", "", "2026-12-10", 480)),
            Some("supervision-to")
        );
        assert_eq!(
            field(parse_instruction("x", "q:1", "2026-12-10", 480)),
            Some("supervision-to")
        );
        assert_eq!(
            field(parse_instruction("x", &code, "", 480)),
            Some("supervision-due")
        );
    }

    #[test]
    fn a_closed_problem_closes_its_instructions_and_a_passed_due_date_makes_one_overdue() {
        let now = Timestamp(10_000);
        let (past, ahead) = (Some(Timestamp(9_000)), Some(Timestamp(11_000)));
        let open = ProblemState::InProgress;
        assert_eq!(state_of(open, ahead, false, now), SupervisionState::Issued);
        assert_eq!(
            state_of(open, ahead, true, now),
            SupervisionState::Acknowledged
        );
        assert_eq!(state_of(open, past, true, now), SupervisionState::Overdue);
        assert_eq!(state_of(open, None, false, now), SupervisionState::Issued);
        assert_eq!(
            state_of(ProblemState::SignedOff, past, false, now),
            SupervisionState::Closed
        );
    }
}
