//! The administrator's org unit changes ([`crate::db::Directory`]'s `edit_org_unit` and
//! `import_org_units`) on both backends: a unit added, renamed and moved, each with its audit
//! entry; refusals (a taken code, a second zone, an unknown parent, a name the parent's units
//! have, a cycle, the zone moved, an unchanged name, an unknown code) change nothing; an
//! import adds and updates with one entry, or, making a cycle, stores nothing; changes at
//! once are judged one after the other (two moves closing a cycle between them: one done;
//! two units of one name under one parent: one added).

use shared::model::{OrgUnitId, OrgUnitKind, Timestamp};

use super::{Seeded, T0, unit_id};
use crate::store::{NewOrgUnit, OrgUnitEdit, OrgUnitEntry, OrgUnitImport, StoreError};

/// When the changes are made.
const AT: Timestamp = Timestamp(T0.0 + 5_000);

fn add(code: &str, name: &str, kind: &str, parent: Option<&str>, n: u8) -> OrgUnitEdit {
    OrgUnitEdit::Add {
        new: NewOrgUnit {
            code: code.into(),
            name: name.into(),
            kind: kind.into(),
            parent: parent.map(Into::into),
        },
        id: OrgUnitId::from_random_bytes([100 + n; 16]),
    }
}

fn rename(code: &str, name: &str) -> OrgUnitEdit {
    OrgUnitEdit::Rename {
        code: code.into(),
        name: name.into(),
    }
}

fn move_to(code: &str, parent: &str) -> OrgUnitEdit {
    OrgUnitEdit::Move {
        code: code.into(),
        parent: parent.into(),
    }
}

async fn edit(b: &Seeded, edit: OrgUnitEdit) -> Result<OrgUnitEntry, StoreError> {
    b.directory.edit_org_unit(edit, AT, "admin".into()).await
}

/// Every unit as the listing reads it: (code, name, parent code), by code.
async fn tree(b: &Seeded) -> Vec<(String, String, Option<String>)> {
    let (units, _) = b.directory.listing().await.expect("listing");
    let code = |id: OrgUnitId| {
        units
            .iter()
            .find(|u| u.unit.id == id)
            .map(|u| u.code.clone())
    };
    units
        .iter()
        .map(|u| {
            (
                u.code.clone(),
                u.unit.name.clone(),
                u.unit.parent.and_then(code),
            )
        })
        .collect()
}

/// The audit log's entries after the first `skip`: action, actor, subject, detail.
async fn entries(b: &Seeded, skip: usize) -> Vec<(String, String, String, String)> {
    b.audit_log()
        .await
        .into_iter()
        .skip(skip)
        .map(|e| (e.action, e.actor, e.subject, e.detail))
        .collect()
}

fn entry(action: &str, subject: &str, detail: &str) -> (String, String, String, String) {
    (action.into(), "admin".into(), subject.into(), detail.into())
}

async fn a_unit_is_added_renamed_and_moved_each_with_its_entry(b: &Seeded) {
    let before = b.audit_log().await.len();
    let added = edit(b, add("x", " 新区街道 ", "town", Some("zone"), 1))
        .await
        .expect("added");
    assert_eq!(added.code, "x");
    assert_eq!(added.unit.name, "新区街道", "the name is trimmed");
    assert_eq!(added.unit.kind, OrgUnitKind::Town);
    assert_eq!(added.unit.parent, Some(unit_id("zone")));
    assert_eq!(added.unit.id, OrgUnitId::from_random_bytes([101; 16]));
    let renamed = edit(b, rename("x", "新区")).await.expect("renamed");
    assert_eq!(renamed.unit.name, "新区");
    let moved = edit(b, move_to("x", "a")).await.expect("moved");
    assert_eq!(moved.unit.parent, Some(unit_id("a")));
    assert!(
        tree(b)
            .await
            .contains(&("x".into(), "新区".into(), Some("a".into())))
    );
    assert_eq!(
        entries(b, before).await,
        [
            entry("org_unit_added", "x", "新区街道 town under zone"),
            entry("org_unit_renamed", "x", "新区街道 → 新区"),
            entry("org_unit_moved", "x", "zone → a"),
        ]
    );
    let the_subtree = b.directory.org_subtree(unit_id("a")).await.expect("read");
    assert!(the_subtree.contains(&added.unit.id), "x is under a now");
}

async fn refused_changes_say_why_and_change_nothing(b: &Seeded) {
    let (units, log) = (tree(b).await, b.audit_log().await.len());
    let invalid = [
        add("new", "", "town", Some("zone"), 2),
        add("two words", "名", "town", Some("zone"), 3),
        add("z2", "第二个示范区", "zone", None, 4),
        add("t", "无上级", "town", None, 5),
        add("t", "有上级", "zone", Some("zone"), 6),
        add("t", "类型", "village", Some("zone"), 7),
        add("t", "单位a", "town", Some("zone"), 8),
        add("t", "未知上级", "town", Some("nowhere"), 9),
        rename("a", "单位b"),
        rename("a", "单位a"),
        rename("a", " "),
        move_to("d", "d2"),
        move_to("d", "d"),
        move_to("zone", "a"),
        move_to("a1", "a"),
        move_to("a", "nowhere"),
    ];
    for e in invalid {
        let why = format!("{e:?}");
        let got = edit(b, e).await;
        assert!(matches!(got, Err(StoreError::Invalid(_))), "{why}: {got:?}");
    }
    let taken = edit(b, add("a", "另一个", "town", Some("zone"), 10)).await;
    assert!(
        matches!(taken, Err(StoreError::Duplicate { .. })),
        "{taken:?}"
    );
    for e in [rename("nowhere", "名"), move_to("nowhere", "a")] {
        let got = edit(b, e).await;
        assert!(matches!(got, Err(StoreError::NotFound { .. })), "{got:?}");
    }
    assert_eq!(tree(b).await, units, "a refusal changes no unit");
    assert_eq!(b.audit_log().await.len(), log, "nor the audit log");
}

fn row(code: &str, name: &str, kind: OrgUnitKind, parent: Option<&str>, n: u8) -> OrgUnitImport {
    OrgUnitImport {
        code: code.into(),
        name: name.into(),
        kind,
        parent: parent.map(Into::into),
        new_id: OrgUnitId::from_random_bytes([120 + n; 16]),
    }
}

async fn an_import_adds_and_updates_with_one_entry_or_stores_nothing(b: &Seeded) {
    let log = b.audit_log().await.len();
    let rows = vec![
        row("n1", "新一", OrgUnitKind::Town, Some("zone"), 1),
        row("n2", "新二", OrgUnitKind::Department, Some("n1"), 2),
        // An existing code: renamed and moved under a unit of the same file.
        row("b", "乙镇", OrgUnitKind::Town, Some("n1"), 3),
    ];
    b.directory
        .import_org_units(
            rows,
            AT,
            "admin".into(),
            "o.csv".into(),
            "3 org unit(s)".into(),
        )
        .await
        .expect("imported");
    let units = tree(b).await;
    for expected in [
        ("n1", "新一", Some("zone")),
        ("n2", "新二", Some("n1")),
        ("b", "乙镇", Some("n1")),
    ] {
        let (code, name, parent) = expected;
        assert!(
            units.contains(&(code.into(), name.into(), parent.map(Into::into))),
            "{expected:?} in {units:?}"
        );
    }
    let (listed, _) = b.directory.listing().await.expect("listing");
    let b_now = listed.iter().find(|u| u.code == "b").expect("b");
    assert_eq!(b_now.unit.id, unit_id("b"), "an updated unit keeps its id");
    assert_eq!(
        entries(b, log).await,
        [entry("imported", "o.csv", "3 org unit(s)")]
    );

    // n1 under b while b is under n1: a cycle with what is stored.
    let cycle = vec![
        row("n3", "新三", OrgUnitKind::Town, Some("zone"), 4),
        row("n1", "新一", OrgUnitKind::Town, Some("b"), 5),
    ];
    let refused = b
        .directory
        .import_org_units(cycle, AT, "admin".into(), "c.csv".into(), "2".into())
        .await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
    let unknown = vec![row("n4", "新四", OrgUnitKind::Town, Some("nowhere"), 6)];
    let refused = b
        .directory
        .import_org_units(unknown, AT, "admin".into(), "u.csv".into(), "1".into())
        .await;
    assert!(
        matches!(refused, Err(StoreError::NotFound { .. })),
        "{refused:?}"
    );
    assert_eq!(tree(b).await, units, "a refused import stores nothing");
    assert_eq!(entries(b, log).await.len(), 1, "and writes no entry");
}

async fn two_moves_closing_a_cycle_at_once_leave_one_done(b: &Seeded) {
    for round in 0..6 {
        let (one, other) = tokio::join!(edit(b, move_to("b", "d")), edit(b, move_to("d", "b")));
        assert!(
            one.is_ok() != other.is_ok(),
            "round {round}: one move is done, the other refused: {one:?} {other:?}"
        );
        let refused = if one.is_ok() { &other } else { &one };
        assert!(
            matches!(refused, Err(StoreError::Invalid(_))),
            "round {round}: {refused:?}"
        );
        let under_zone = b
            .directory
            .org_subtree(unit_id("zone"))
            .await
            .expect("read");
        assert!(
            under_zone.contains(&unit_id("b")) && under_zone.contains(&unit_id("d")),
            "round {round}: a cycle: b or d is no longer under the zone"
        );
        let back = if one.is_ok() { "b" } else { "d" };
        edit(b, move_to(back, "zone")).await.expect("back");
    }
}

async fn two_units_of_one_name_under_one_parent_at_once_one_added(b: &Seeded) {
    for round in 0..6_u8 {
        let name = format!("同名{round}");
        let (c1, c2) = (format!("p{round}"), format!("q{round}"));
        let (one, other) = tokio::join!(
            edit(b, add(&c1, &name, "department", Some("a"), 2 * round)),
            edit(b, add(&c2, &name, "department", Some("a"), 2 * round + 1)),
        );
        assert!(
            one.is_ok() != other.is_ok(),
            "round {round}: one added, the other refused: {one:?} {other:?}"
        );
        let named = tree(b)
            .await
            .into_iter()
            .filter(|(_, n, _)| *n == name)
            .count();
        assert_eq!(named, 1, "round {round}");
    }
}

on_both_backends!(
    a_unit_is_added_renamed_and_moved_each_with_its_entry,
    refused_changes_say_why_and_change_nothing,
    an_import_adds_and_updates_with_one_entry_or_stores_nothing,
    two_moves_closing_a_cycle_at_once_leave_one_done,
    two_units_of_one_name_under_one_parent_at_once_one_added,
);
