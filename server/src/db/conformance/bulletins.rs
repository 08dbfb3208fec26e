//! Bulletins ([`crate::db::Bulletins`]) on both backends: stored as issued, listed newest
//! first, and never changed afterwards — the database itself refuses.

use shared::model::Timestamp;

use super::{Seeded, T0, person, unit_id};
use crate::api::{Bulletin, Kpis, RankRow};

fn kpis(problems: u64, resolved: u64) -> Kpis {
    Kpis {
        problems,
        resolved,
        resolution_rate: Some(resolved as f64 / problems as f64),
        satisfaction_rate: Some(0.75),
        first_response_hours: Some((2.5, 30.0)),
        ..Kpis::default()
    }
}

/// A computed bulletin issued at `T0 + at` by the leader `li`, not yet numbered.
fn bulletin(title: &str, at: i64) -> Bulletin {
    Bulletin {
        id: 0,
        title: title.into(),
        period_from: Timestamp(T0.0 - 86_400_000),
        period_to: T0,
        issued_at: Timestamp(T0.0 + at),
        issued_by: person("li").id,
        zone: kpis(8, 6),
        towns: vec![RankRow {
            rank: 1,
            unit: unit_id("a"),
            name: "单位a".into(),
            kpis: kpis(4, 4),
        }],
        departments: vec![],
    }
}

async fn an_issued_bulletin_reads_back_as_issued_with_its_audit_entry(b: &Seeded) {
    let before = b.audit_log().await.len();
    let issued = b
        .bulletins
        .issue(bulletin("十一月通报", 0), "li".into())
        .await;
    let issued = issued.expect("issue");
    assert_eq!(
        issued,
        Bulletin {
            id: issued.id,
            ..bulletin("十一月通报", 0)
        }
    );
    let read = b.bulletins.get(issued.id).await.expect("read");
    assert_eq!(read.as_ref(), Some(&issued));
    assert_eq!(b.bulletins.get(issued.id + 1).await.expect("read"), None);
    let log = b.audit_log().await;
    let added: Vec<_> = log[before..]
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.actor.as_str(),
                e.subject.clone(),
                e.detail.as_str(),
            )
        })
        .collect();
    assert_eq!(
        added,
        [("bulletin_issued", "li", issued.id.to_string(), "十一月通报")]
    );
}

async fn bulletins_are_listed_newest_first_with_their_zone_headline(b: &Seeded) {
    let first = b.bulletins.issue(bulletin("一", 0), "li".into()).await;
    let second = b.bulletins.issue(bulletin("二", 1_000), "li".into()).await;
    let (first, second) = (first.expect("issue"), second.expect("issue"));
    assert_ne!(first.id, second.id);
    let listed = b.bulletins.list().await.expect("list");
    let titles: Vec<&str> = listed.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, ["二", "一"]);
    let s = &listed[1];
    assert_eq!(s.id, first.id);
    assert_eq!(
        (s.period_from, s.period_to),
        (first.period_from, first.period_to)
    );
    assert_eq!(s.issued_at, first.issued_at);
    assert_eq!(s.issued_by, person("li").id);
    assert_eq!(s.issued_by_name.as_deref(), Some("姓名li"));
    assert_eq!(s.problems, 8);
    assert_eq!(s.resolution_rate, Some(0.75));
    assert_eq!(s.satisfaction_rate, Some(0.75));
}

async fn an_issued_bulletin_cannot_be_updated_or_deleted(b: &Seeded) {
    let issued = b.bulletins.issue(bulletin("通报", 0), "li".into()).await;
    let issued = issued.expect("issue");
    let id = issued.id;
    for sql in [
        format!("UPDATE bulletins SET title = '改过的标题' WHERE id = {id}"),
        format!("UPDATE bulletins SET body = body WHERE id = {id}"),
        format!("DELETE FROM bulletins WHERE id = {id}"),
        "DELETE FROM bulletins".to_string(),
    ] {
        let refused = b.execute(&sql).await;
        let message = format!("{:?}", refused.as_ref().map_err(ToString::to_string));
        assert!(refused.is_err(), "{sql}: {message}");
        assert!(
            message.contains("immutable"),
            "{sql} refused otherwise: {message}"
        );
    }
    let read = b.bulletins.get(id).await.expect("read");
    assert_eq!(read, Some(issued), "the bulletin changed");
}

on_both_backends!(
    an_issued_bulletin_reads_back_as_issued_with_its_audit_entry,
    bulletins_are_listed_newest_first_with_their_zone_headline,
    an_issued_bulletin_cannot_be_updated_or_deleted,
);

/// The bulletin `Db::issue_bulletin` composes through the use cases (`db::compose`) says
/// what the SQLite store's own `issue_bulletin` says (SQLite only: `Queries` is not yet on
/// PostgreSQL).
#[tokio::test]
async fn a_composed_bulletin_ranks_every_town_and_department_as_the_store_does() {
    let b = super::sqlite().await;
    let super::Backend::Sqlite(db) = &b.backend else {
        unreachable!("a SQLite backend")
    };
    let new = crate::db::NewBulletin {
        title: "通报".into(),
        from: Timestamp(T0.0 - 86_400_000),
        to: T0,
        now: T0,
        by: person("li").id,
        login: "li".into(),
        check_in: shared::config::CheckInRules::default(),
    };
    let composed = crate::db::compose(db, db, &new).await.expect("compose");
    let stored = db
        .write(move |s| {
            s.issue_bulletin(&new.title, new.from, new.to, new.now, new.by, &new.check_in)
        })
        .await
        .expect("writer")
        .expect("issue");
    assert_eq!(composed, Bulletin { id: 0, ..stored });
    let names = |rows: &[RankRow]| rows.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&composed.towns), ["单位a", "单位b"]);
    assert_eq!(
        names(&composed.departments),
        ["单位a1", "单位d", "单位d1", "单位d2"]
    );
}
