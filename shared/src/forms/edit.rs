//! Saving an edited problem form without overwriting what sync brought in meanwhile.
//!
//! A form is a copy: while a person types, another person's change to the same problem can
//! arrive by sync. Three versions of the form decide what a save writes: `opened` (the values
//! the person started from), `typed` (what the form holds) and `current` (what the record holds
//! now). Only fields the person changed are written. When the record changed the same field
//! meanwhile, free text carries both edits if they touch different parts of it ([`merge_text`]);
//! otherwise the field is an [`EditConflict`] the screen shows before anything is overwritten.
//! Departments are a set: the person's additions and removals are applied to the record's set.

use std::collections::BTreeSet;

use super::{FieldError, ParsedProblem, ProblemInput, parse_problem};
use crate::config::Config;

/// One field of the problem form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemField {
    /// Category code.
    Category,
    /// A–D class code.
    Class,
    /// Tier code.
    Tier,
    /// Description (free text).
    Description,
    /// The enterprise's expectation (free text).
    Expectation,
}

impl ProblemField {
    /// Every field, in the form's order.
    pub const ALL: [ProblemField; 5] = [
        ProblemField::Category,
        ProblemField::Class,
        ProblemField::Tier,
        ProblemField::Description,
        ProblemField::Expectation,
    ];

    /// The field's name, as in records, history and [`super::FieldError`].
    pub fn name(self) -> &'static str {
        match self {
            ProblemField::Category => "category",
            ProblemField::Class => "class",
            ProblemField::Tier => "tier",
            ProblemField::Description => "description",
            ProblemField::Expectation => "expectation",
        }
    }

    /// Whether the field is free text, which merges as text.
    pub fn is_text(self) -> bool {
        matches!(self, ProblemField::Description | ProblemField::Expectation)
    }

    /// The field's value in a form.
    pub fn of(self, input: &ProblemInput) -> &str {
        match self {
            ProblemField::Category => &input.category,
            ProblemField::Class => &input.class,
            ProblemField::Tier => &input.tier,
            ProblemField::Description => &input.description,
            ProblemField::Expectation => &input.expectation,
        }
    }

    /// Sets the field's value in a form.
    pub fn set(self, input: &mut ProblemInput, value: String) {
        match self {
            ProblemField::Category => input.category = value,
            ProblemField::Class => input.class = value,
            ProblemField::Tier => input.tier = value,
            ProblemField::Description => input.description = value,
            ProblemField::Expectation => input.expectation = value,
        }
    }
}

/// A field the person changed that someone else also changed since the form opened, to a
/// different value, and that cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditConflict {
    /// The field.
    pub field: ProblemField,
    /// What the person typed.
    pub mine: String,
    /// What the record holds now.
    pub theirs: String,
}

/// What saving an edited problem form writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProblemFormEdit {
    /// Fields to write and their new values: only fields the person changed; a text the record
    /// changed meanwhile carries both edits.
    pub writes: Vec<(ProblemField, String)>,
    /// Department ids the person added.
    pub add_departments: Vec<String>,
    /// Department ids the person took off.
    pub remove_departments: Vec<String>,
    /// Fields changed on both sides that cannot be merged: not written until the person
    /// chooses ([`ProblemFormEdit::overwriting`]).
    pub conflicts: Vec<EditConflict>,
}

impl ProblemFormEdit {
    /// Whether saving writes nothing and asks nothing.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
            && self.add_departments.is_empty()
            && self.remove_departments.is_empty()
            && self.conflicts.is_empty()
    }

    /// The edit once the person chose to keep their values for the conflicting fields.
    #[must_use]
    pub fn overwriting(mut self) -> ProblemFormEdit {
        let conflicts = std::mem::take(&mut self.conflicts);
        self.writes
            .extend(conflicts.into_iter().map(|c| (c.field, c.mine)));
        self
    }
}

fn ids(list: &[String]) -> BTreeSet<&str> {
    // By insertion, not `collect()`: collecting sorts first, with its own copy of the sort.
    let mut out = BTreeSet::new();
    for id in list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        out.insert(id);
    }
    out
}

/// Works out what saving writes, from the form as `opened`, as `typed` and the record's
/// values now (`current`); see the module doc.
pub fn problem_edit(
    opened: &ProblemInput,
    typed: &ProblemInput,
    current: &ProblemInput,
) -> ProblemFormEdit {
    let mut edit = ProblemFormEdit::default();
    for field in ProblemField::ALL {
        let (base, mine, theirs) = (field.of(opened), field.of(typed), field.of(current));
        if mine == base {
            continue; // not touched: whatever the record holds stays
        }
        if theirs == base || theirs == mine {
            edit.writes.push((field, mine.to_string()));
            continue;
        }
        match field
            .is_text()
            .then(|| merge_text(base, mine, theirs))
            .flatten()
        {
            Some(merged) => edit.writes.push((field, merged)),
            None => edit.conflicts.push(EditConflict {
                field,
                mine: mine.to_string(),
                theirs: theirs.to_string(),
            }),
        }
    }
    let (base, mine, theirs) = (
        ids(&opened.departments),
        ids(&typed.departments),
        ids(&current.departments),
    );
    edit.add_departments = mine
        .difference(&base)
        .filter(|d| !theirs.contains(*d))
        .map(|d| (*d).to_string())
        .collect();
    edit.remove_departments = base
        .difference(&mine)
        .filter(|d| theirs.contains(*d))
        .map(|d| (*d).to_string())
        .collect();
    edit
}

/// Parses an edited problem form: [`parse_problem`], except that the category the form opened
/// with stays valid when the district no longer configures it. Rules apply to values being
/// set, as on the server (`crate::sync::validate::check_configured`): an older problem of a
/// removed category can be edited without choosing another one, but no problem can be moved to
/// a category that is not configured.
pub fn parse_problem_edit(
    opened: &ProblemInput,
    typed: &ProblemInput,
    config: &Config,
) -> Result<ParsedProblem, Vec<FieldError>> {
    let kept = typed.category.trim();
    let stored_and_dropped =
        !kept.is_empty() && kept == opened.category.trim() && config.category(kept).is_none();
    match config.categories.first() {
        Some(configured) if stored_and_dropped => {
            // The other fields are judged as usual (a category never affects them).
            let others = ProblemInput {
                category: configured.code.clone(),
                ..typed.clone()
            };
            let mut parsed = parse_problem(&others, config)?;
            parsed.category = kept.to_string();
            Ok(parsed)
        }
        _ => parse_problem(typed, config),
    }
}

/// Keeps an open form in step with the record: fields the person has not touched take the
/// record's value (in both `opened` and `typed`); touched ones keep what was typed and their
/// `opened` value, so a save still sees what sync changed. Departments: the record's set with
/// the person's additions and removals. Returns the new `(opened, typed)`.
pub fn follow_record(
    opened: &ProblemInput,
    typed: &ProblemInput,
    current: &ProblemInput,
) -> (ProblemInput, ProblemInput) {
    let (mut next_opened, mut next_typed) = (opened.clone(), typed.clone());
    for field in ProblemField::ALL {
        if field.of(typed) == field.of(opened) {
            field.set(&mut next_opened, field.of(current).to_string());
            field.set(&mut next_typed, field.of(current).to_string());
        }
    }
    let (base, mine) = (ids(&opened.departments), ids(&typed.departments));
    next_opened.departments.clone_from(&current.departments);
    let mut departments: Vec<String> = current
        .departments
        .iter()
        // Drop what the person took off; keep everything else the record holds.
        .filter(|d| !base.contains(d.trim()) || mine.contains(d.trim()))
        .cloned()
        .collect();
    for added in mine.difference(&base) {
        if !departments.iter().any(|d| d.trim() == *added) {
            departments.push((*added).to_string());
        }
    }
    next_typed.departments = departments;
    (next_opened, next_typed)
}

/// One edit of a text as a single splice: `base[start..end]` became `insert`.
struct Splice {
    start: usize,
    end: usize,
    insert: Vec<char>,
}

fn splice(base: &[char], edited: &[char]) -> Splice {
    let prefix = base.iter().zip(edited).take_while(|(a, b)| a == b).count();
    let max_suffix = base.len().min(edited.len()) - prefix;
    let suffix = base
        .iter()
        .rev()
        .zip(edited.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    Splice {
        start: prefix,
        end: base.len() - suffix,
        insert: edited[prefix..edited.len() - suffix].to_vec(),
    }
}

/// Merges two edits of the same text made from `base`: `mine` and `theirs`. Each is taken as
/// the one stretch it replaced; when the stretches are apart, the result carries both. `None`
/// when they overlap or insert at the same place (which text goes first is the person's call).
pub fn merge_text(base: &str, mine: &str, theirs: &str) -> Option<String> {
    if mine == theirs {
        return Some(mine.to_string());
    }
    let base: Vec<char> = base.chars().collect();
    let a = splice(&base, &mine.chars().collect::<Vec<_>>());
    let b = splice(&base, &theirs.chars().collect::<Vec<_>>());
    let (first, second) = if (a.start, a.end) <= (b.start, b.end) {
        (a, b)
    } else {
        (b, a)
    };
    // Apart: the first ends before the second starts; touching is fine unless both are at the
    // same point (two insertions there, or an insertion at the edge of a replaced stretch).
    let apart = first.end < second.start
        || (first.end == second.start && first.start < first.end && second.start < second.end);
    if !apart {
        return None;
    }
    let mut out: Vec<char> = Vec::with_capacity(base.len() + first.insert.len());
    out.extend(&base[..first.start]);
    out.extend(&first.insert);
    out.extend(&base[first.end..second.start]);
    out.extend(&second.insert);
    out.extend(&base[second.end..]);
    Some(out.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(category: &str, description: &str, departments: &[&str]) -> ProblemInput {
        ProblemInput {
            category: category.into(),
            class: "B".into(),
            tier: "department".into(),
            description: description.into(),
            expectation: "年底前落实".into(),
            departments: departments.iter().map(|d| (*d).to_string()).collect(),
        }
    }

    #[test]
    fn a_stored_category_the_district_dropped_stays_valid_but_cannot_be_chosen() {
        let mut config = Config::default();
        config.categories.retain(|c| c.code != "power");
        let opened = form("power", "变压器容量不足", &[]);
        let typed = form("power", "变压器容量不足，已报供电公司", &[]);
        let parsed = parse_problem_edit(&opened, &typed, &config).expect("kept category");
        assert_eq!(parsed.category, "power");
        assert_eq!(parsed.description, "变压器容量不足，已报供电公司");

        let emptied = form("power", " ", &[]);
        let errors = parse_problem_edit(&opened, &emptied, &config).expect_err("no description");
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["description"]);

        let moved = form("power", "用地指标不足", &[]);
        let errors = parse_problem_edit(&form("land", "用地指标不足", &[]), &moved, &config)
            .expect_err("moved to a dropped category");
        assert_eq!(errors[0].field, "category");
    }

    #[test]
    fn a_field_the_person_did_not_touch_is_not_written_so_a_synced_change_to_it_stays() {
        let opened = form("land", "用地指标不足", &[]);
        // The person edits the description; meanwhile sync changes the category.
        let typed = form("land", "用地指标不足，影响二期", &[]);
        let current = form("power", "用地指标不足", &[]);
        let edit = problem_edit(&opened, &typed, &current);
        assert_eq!(
            edit.writes,
            vec![(ProblemField::Description, "用地指标不足，影响二期".into())]
        );
        assert!(edit.conflicts.is_empty());
    }

    #[test]
    fn a_text_changed_by_sync_while_being_typed_in_keeps_both_edits() {
        // The typing race: the person appends to the description while another officer's
        // correction of its start arrives by sync. Writing the typed text would undo it.
        let opened = form("land", "二期用地指标不足", &[]);
        let typed = form("land", "二期用地指标不足，希望年内解决", &[]);
        let current = form("land", "二期项目用地指标不足", &[]);
        let edit = problem_edit(&opened, &typed, &current);
        assert_eq!(
            edit.writes,
            vec![(
                ProblemField::Description,
                "二期项目用地指标不足，希望年内解决".into()
            )]
        );
        assert!(edit.conflicts.is_empty());
    }

    #[test]
    fn a_choice_changed_on_both_sides_is_shown_before_it_is_overwritten() {
        let opened = form("land", "用地", &[]);
        let typed = form("funds", "用地", &[]);
        let current = form("power", "用地", &[]);
        let edit = problem_edit(&opened, &typed, &current);
        assert!(edit.writes.is_empty(), "nothing overwritten yet");
        assert_eq!(
            edit.conflicts,
            vec![EditConflict {
                field: ProblemField::Category,
                mine: "funds".into(),
                theirs: "power".into(),
            }]
        );
        let chosen = edit.overwriting();
        assert_eq!(
            chosen.writes,
            vec![(ProblemField::Category, "funds".into())]
        );
        assert!(chosen.conflicts.is_empty());
    }

    #[test]
    fn the_same_text_edit_made_on_both_sides_is_no_conflict() {
        let opened = form("land", "用地", &[]);
        let typed = form("land", "用地不足", &[]);
        let edit = problem_edit(&opened, &typed, &typed.clone());
        assert_eq!(
            edit.writes,
            vec![(ProblemField::Description, "用地不足".into())]
        );
        assert!(edit.conflicts.is_empty());
    }

    #[test]
    fn overlapping_text_edits_are_a_conflict() {
        let opened = form("land", "变压器容量不足", &[]);
        let typed = form("land", "变压器容量严重不足", &[]);
        let current = form("land", "变压器容量略显不足", &[]);
        let edit = problem_edit(&opened, &typed, &current);
        assert!(edit.writes.is_empty());
        assert_eq!(edit.conflicts.len(), 1);
        assert_eq!(edit.conflicts[0].field, ProblemField::Description);
    }

    #[test]
    fn departments_apply_the_persons_additions_and_removals_to_the_records_set() {
        let opened = form("land", "用地", &["d1", "d2"]);
        let typed = form("land", "用地", &["d2", "d3"]);
        // Sync meanwhile took d2 off and added d4.
        let current = form("land", "用地", &["d1", "d4"]);
        let edit = problem_edit(&opened, &typed, &current);
        assert_eq!(edit.add_departments, vec!["d3".to_string()]);
        assert_eq!(edit.remove_departments, vec!["d1".to_string()]);
        assert!(edit.writes.is_empty());
    }

    #[test]
    fn an_untouched_form_writes_nothing() {
        let opened = form("land", "用地", &["d1"]);
        let current = form("power", "用电", &[]);
        assert!(problem_edit(&opened, &opened.clone(), &current).is_empty());
    }

    #[test]
    fn an_open_form_follows_the_record_in_the_fields_the_person_has_not_touched() {
        let opened = form("land", "用地", &["d1"]);
        let typed = form("land", "用地紧张", &["d1", "d2"]);
        let current = form("power", "用地（已核实）", &["d1", "d4"]);
        let (next_opened, next_typed) = follow_record(&opened, &typed, &current);
        assert_eq!(
            next_typed.category, "power",
            "untouched: follows the record"
        );
        assert_eq!(next_opened.category, "power");
        assert_eq!(
            next_typed.description, "用地紧张",
            "touched: what was typed"
        );
        assert_eq!(
            next_opened.description, "用地",
            "and its base, for the save"
        );
        assert_eq!(next_typed.departments, vec!["d1", "d4", "d2"]);
        let edit = problem_edit(&next_opened, &next_typed, &current);
        assert_eq!(edit.add_departments, vec!["d2".to_string()]);
        assert_eq!(
            edit.conflicts.len(),
            1,
            "the description changed on both sides"
        );
    }

    #[test]
    fn text_edits_apart_merge_and_insertions_at_one_place_do_not() {
        assert_eq!(
            merge_text("abcdef", "Xabcdef", "abcdefY").as_deref(),
            Some("XabcdefY")
        );
        assert_eq!(
            merge_text("abcdef", "abXcdef", "abcdYef").as_deref(),
            Some("abXcdYef")
        );
        assert_eq!(merge_text("abcdef", "abXcdef", "abYcdef"), None);
        assert_eq!(merge_text("abcdef", "abef", "abcXef"), None);
        assert_eq!(merge_text("", "x", "y"), None);
    }
}
