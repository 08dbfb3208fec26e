//! A person's access ([`crate::db::Directory::access`]) on both backends: the one rule
//! (`auth::scope::access_with`) over each backend's facts — assignments in force, the org
//! subtree, the enterprises of towns, merged profiles.

use std::collections::BTreeSet;

use shared::doc::DocKind;
use shared::model::{Assignment, Timestamp};
use shared::sync::protocol::DocId;
use shared::sync::validate::Scope;

use super::{Backend, Seeded, T0, enterprise, person, problem};

/// Assigns enterprise `n` to `login` over `[from, to)`.
async fn assign(b: &Seeded, n: u8, login: &str, from: Timestamp, to: Option<Timestamp>) {
    let a = Assignment {
        enterprise: enterprise(n),
        user: person(login).id,
        valid_from: from,
        valid_to: to,
    };
    match &b.backend {
        Backend::Sqlite(db) => {
            db.write(move |s| s.set_assignment(&a))
                .await
                .expect("writer")
                .expect("assign");
        }
        Backend::Postgres(db) => {
            db.set_assignment(&a).await.expect("assign");
        }
    }
}

/// Records that enterprise `absorbed` was merged into `survivor`.
async fn merge(b: &Seeded, absorbed: u8, survivor: u8) {
    let sql = format!(
        "INSERT INTO enterprise_merges (absorbed, survivor, merged_at, merged_by) \
         VALUES ('{}', '{}', {}, 'admin')",
        enterprise(absorbed),
        enterprise(survivor),
        T0.0
    );
    b.execute(&sql).await.expect("record a merge");
}

fn set(ns: &[u8]) -> Scope {
    Scope::Enterprises(ns.iter().map(|n| enterprise(*n)).collect::<BTreeSet<_>>())
}

async fn an_officer_reads_the_enterprises_assigned_to_them_at_that_time(b: &Seeded) {
    let hour = 3_600_000;
    assign(b, 1, "wang", Timestamp(T0.0 - hour), None).await;
    // Ended at T0 (exclusive), starting after T0, and another officer's.
    assign(b, 2, "wang", Timestamp(T0.0 - hour), Some(T0)).await;
    assign(b, 3, "wang", Timestamp(T0.0 + hour), None).await;
    assign(b, 4, "zhao", Timestamp(T0.0 - hour), None).await;
    let access = b.directory.access(b.user.clone(), b.devices[0].clone(), T0);
    let access = access.await.expect("access");
    assert_eq!(access.read, set(&[1]));
    assert_eq!(access.write, set(&[1]));
    let later = Timestamp(T0.0 + 2 * hour);
    let access = b
        .directory
        .access(b.user.clone(), b.devices[0].clone(), later);
    assert_eq!(access.await.expect("access").read, set(&[1, 3]));
}

async fn an_officer_may_still_write_a_profile_merged_into_theirs(b: &Seeded) {
    assign(b, 1, "wang", T0, None).await;
    assign(b, 4, "zhao", T0, None).await;
    merge(b, 5, 1).await;
    merge(b, 6, 4).await;
    let access = b.directory.access(b.user.clone(), b.devices[0].clone(), T0);
    let access = access.await.expect("access");
    assert_eq!(access.read, set(&[1]), "a merged profile is read");
    assert_eq!(access.write, set(&[1, 5]));
}

async fn a_town_leader_reads_the_enterprises_of_their_subtree_and_their_own(b: &Seeded) {
    b.enterprise(1, "a").await;
    b.enterprise(2, "a1").await;
    b.enterprise(3, "b").await;
    b.enterprise(7, "a").await;
    merge(b, 7, 1).await;
    assign(b, 4, "li", T0, None).await;
    let li = person("li");
    let device = b.devices[0].clone();
    let access = b.directory.access(li, device, T0).await.expect("access");
    assert_eq!(access.read, set(&[1, 2, 4]), "town b's or a merged profile");
    assert_eq!(access.write, set(&[1, 2, 4, 7]));
}

async fn the_zone_leader_reads_and_writes_everything(b: &Seeded) {
    b.enterprise(1, "a").await;
    let zhou = person("zhou");
    let access = b.directory.access(zhou, b.devices[0].clone(), T0);
    let access = access.await.expect("access");
    assert_eq!((access.read, access.write), (Scope::All, Scope::All));
}

/// Grants of the profiles of enterprises `profiles` and the problems `problems`.
fn grants(profiles: &[u8], problems: &[u8]) -> Scope {
    Scope::Grants {
        enterprises: BTreeSet::new(),
        profiles: profiles.iter().map(|n| enterprise(*n)).collect(),
        docs: problems
            .iter()
            .map(|n| DocId::new(DocKind::Problem, &problem(*n).to_string()))
            .collect(),
    }
}

async fn a_handler_reads_the_problems_handed_to_their_department_or_below(b: &Seeded) {
    b.problem(1, 1, "zhao", "zhao", &["d2"]).await;
    b.problem(2, 2, "zhao", "zhao", &["b"]).await;
    b.problem(3, 3, "zhao", "zhao", &["a", "d"]).await;
    let sun = person("sun");
    let access = b.directory.access(sun, b.devices[0].clone(), T0);
    let access = access.await.expect("access");
    assert_eq!(access.read, grants(&[1, 3], &[1, 3]));
    assert_eq!(access.write, grants(&[], &[1, 3]));
}

async fn a_window_clerk_reads_every_profile_and_the_problems_they_own_or_created(b: &Seeded) {
    for (n, town) in [(1, "a"), (2, "b"), (3, "a1"), (4, "b")] {
        b.enterprise(n, town).await;
    }
    merge(b, 4, 2).await;
    b.problem(1, 1, "wu", "zhao", &["d"]).await;
    b.problem(2, 2, "zhao", "wu", &["d"]).await;
    b.problem(3, 3, "zhao", "zhao", &["d"]).await;
    let wu = person("wu");
    let access = b.directory.access(wu, b.devices[0].clone(), T0);
    let access = access.await.expect("access");
    assert_eq!(
        access.read,
        grants(&[1, 2, 3], &[1, 2]),
        "merged profile 4 left out"
    );
    assert_eq!(access.write, grants(&[], &[1, 2]));
}

on_both_backends!(
    a_handler_reads_the_problems_handed_to_their_department_or_below,
    a_window_clerk_reads_every_profile_and_the_problems_they_own_or_created,
    an_officer_reads_the_enterprises_assigned_to_them_at_that_time,
    an_officer_may_still_write_a_profile_merged_into_theirs,
    a_town_leader_reads_the_enterprises_of_their_subtree_and_their_own,
    the_zone_leader_reads_and_writes_everything,
);
