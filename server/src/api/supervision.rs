//! Supervision (督办): the instructions list's filter, rows and page.

use serde::Serialize;
use shared::model::{OrgUnitId, UserId};
use shared::supervision::SupervisionState;

/// What the supervision list is filtered by.
#[derive(Debug, Clone, Default)]
pub struct SupervisionFilter {
    /// States to keep; empty: every state but closed (the open items).
    pub states: Vec<SupervisionState>,
    /// Addressed to this person.
    pub to_person: Option<UserId>,
    /// Addressed to this unit.
    pub to_unit: Option<OrgUnitId>,
    /// The enterprise's town.
    pub town: Option<OrgUnitId>,
    /// Rows per page, 1..=[`MAX_PAGE`].
    pub limit: u32,
    /// Rows skipped.
    pub offset: u64,
}

/// A person or unit by id and name (the name empty when the directory lacks it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Named {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// One supervision instruction in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupervisionRow {
    /// The instruction's entry id.
    pub id: String,
    /// Its problem.
    pub problem: String,
    /// The problem's description.
    pub description: String,
    /// The problem's state (code).
    pub problem_state: String,
    /// The enterprise.
    pub enterprise: Named,
    /// What was asked.
    pub text: String,
    /// Who gave it.
    pub by: Named,
    /// When (the giver's device time, ms).
    pub at: i64,
    /// Addressed to a person, if so.
    pub to_person: Option<Named>,
    /// Addressed to a unit, if so.
    pub to_unit: Option<Named>,
    /// Due (ms), if given.
    pub due: Option<i64>,
    /// Who acknowledged it first, if anyone.
    pub acknowledged_by: Option<Named>,
    /// When (device time, ms).
    pub acknowledged_at: Option<i64>,
    /// Where it stands now.
    pub state: SupervisionState,
}

/// One page of the list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SupervisionPage {
    /// Rows matching the filters, all pages together.
    pub total: u64,
    /// Rows skipped.
    pub offset: u64,
    /// Rows asked for.
    pub limit: u32,
    /// How many matching rows are in each state (before paging), in the states' order.
    pub by_state: Vec<(SupervisionState, u64)>,
    /// This page.
    pub rows: Vec<SupervisionRow>,
}
