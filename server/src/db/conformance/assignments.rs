//! The administrator's end and move of an enterprise's assignments
//! ([`crate::db::Directory`]'s `end_assignments` and `move_assignment`) on both backends: a
//! move takes the enterprise from its one assignee (or the one named) with its audit entry,
//! refuses a move to whom it is already assigned, one from someone not assigned it, and one
//! without `from` when it has several; an end ends them all with one entry; two moves of one
//! enterprise at once leave one current assignment.

use std::collections::BTreeSet;

use shared::model::{Assignment, Timestamp};

use super::{Seeded, T0, enterprise, person};
use crate::store::StoreError;

/// When the assignments begin.
const AT: Timestamp = Timestamp(T0.0 + 9_000);
/// When they are moved or ended.
const MOVE: Timestamp = Timestamp(AT.0 + 60_000);

/// Assigns enterprise `n` to each of `logins` from [`AT`].
async fn assign(b: &Seeded, n: u8, logins: &[&str]) {
    let rows = logins
        .iter()
        .map(|login| Assignment {
            enterprise: enterprise(n),
            user: person(login).id,
            valid_from: AT,
            valid_to: None,
        })
        .collect();
    b.directory
        .import_assignments(rows, AT, "admin".into(), "a.csv".into(), "seed".into())
        .await
        .expect("assigned");
}

/// How many assignments of enterprise `n` are open-ended (counted by an update that changes
/// nothing).
async fn current(b: &Seeded, n: u8) -> u64 {
    let sql = format!(
        "UPDATE assignments SET valid_to = valid_to WHERE enterprise = '{}' \
         AND valid_to IS NULL",
        enterprise(n)
    );
    b.execute(&sql).await.expect("count")
}

/// The audit log's last entry: action, actor, subject, detail.
async fn last_entry(b: &Seeded) -> (String, String, String, String) {
    let e = b.audit_log().await.pop().expect("an entry");
    (e.action, e.actor, e.subject, e.detail)
}

async fn an_enterprise_moves_from_its_one_assignee_with_its_entry(b: &Seeded) {
    assign(b, 7, &["wang"]).await;
    let to = |login: &str, from: Option<&str>| {
        b.directory.move_assignment(
            enterprise(7),
            from.map(|l| person(l).id),
            person(login).id,
            MOVE,
            "admin".into(),
        )
    };
    to("zhao", None).await.expect("moved");
    assert_eq!(current(b, 7).await, 1, "one current assignment");
    assert_eq!(
        last_entry(b).await,
        (
            "assignment_moved".into(),
            "admin".into(),
            enterprise(7).to_string(),
            "wang -> zhao".into()
        )
    );
    let later = |login: &str, from: Option<&str>| {
        b.directory.move_assignment(
            enterprise(7),
            from.map(|l| person(l).id),
            person(login).id,
            Timestamp(MOVE.0 + 1),
            "admin".into(),
        )
    };
    let again = later("zhao", None).await;
    assert!(matches!(again, Err(StoreError::Invalid(_))), "{again:?}");
    let not_theirs = later("li", Some("wang")).await;
    assert!(
        matches!(not_theirs, Err(StoreError::NotFound { .. })),
        "{not_theirs:?}"
    );
    later("li", Some("zhao")).await.expect("moved on");
    assert_eq!(current(b, 7).await, 1);
}

async fn an_enterprise_of_several_moves_from_the_one_named_and_an_end_ends_them_all(b: &Seeded) {
    assign(b, 8, &["wang", "li"]).await;
    let several = b
        .directory
        .move_assignment(enterprise(8), None, person("zhao").id, MOVE, "a".into())
        .await;
    assert!(
        matches!(several, Err(StoreError::Invalid(_))),
        "{several:?}"
    );
    assert_eq!(current(b, 8).await, 2, "a refused move changes nothing");

    let ended = b
        .directory
        .end_assignments(enterprise(8), MOVE, "admin".into())
        .await
        .expect("ended");
    assert_eq!(ended, BTreeSet::from([person("wang").id, person("li").id]));
    assert_eq!(current(b, 8).await, 0);
    let (action, actor, subject, detail) = last_entry(b).await;
    assert_eq!(
        (action.as_str(), actor.as_str()),
        ("assignment_ended", "admin")
    );
    assert_eq!(subject, enterprise(8).to_string());
    let mut logins: Vec<&str> = detail.split(',').collect();
    logins.sort_unstable();
    assert_eq!(logins, ["li", "wang"]);
    let none = b
        .directory
        .end_assignments(enterprise(8), Timestamp(MOVE.0 + 1), "admin".into())
        .await;
    assert!(matches!(none, Err(StoreError::NotFound { .. })), "{none:?}");
}

async fn two_moves_of_one_enterprise_at_once_leave_one_current_assignment(b: &Seeded) {
    assign(b, 9, &["wang"]).await;
    for round in 0..5_i64 {
        let at = Timestamp(MOVE.0 + round * 1_000);
        let (one, other) = tokio::join!(
            b.directory
                .move_assignment(enterprise(9), None, person("zhao").id, at, "a".into()),
            b.directory
                .move_assignment(enterprise(9), None, person("li").id, at, "b".into()),
        );
        assert!(
            one.is_ok() || other.is_ok(),
            "round {round}: neither moved: {one:?} {other:?}"
        );
        assert_eq!(current(b, 9).await, 1, "round {round}: {one:?} {other:?}");
    }
}

on_both_backends!(
    an_enterprise_moves_from_its_one_assignee_with_its_entry,
    an_enterprise_of_several_moves_from_the_one_named_and_an_end_ends_them_all,
    two_moves_of_one_enterprise_at_once_leave_one_current_assignment,
);
