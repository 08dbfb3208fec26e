//! The reminders' outbox ([`crate::db::Reminders`]) on both backends: a scan records each
//! reminder a problem owes once per person and channel however often it runs; in-app reminders
//! are listed to their person and marked seen once, by that person only; a claimed reminder is
//! not claimed again until its attempt failed and the backoff passed, and one acknowledged
//! never again; and claims made at once — two servers' delivery loops — never take one
//! reminder twice.

use std::collections::BTreeSet;
use std::sync::Arc;

use shared::model::Timestamp;

use super::{Seeded, person, problem, unit_id};
use crate::remind::Settings;
use crate::store::ClaimedReminder;

/// The scans' "now": an hour past the real clock, so events stamped then are after the outbox
/// started (its migration, applied when the test's database was made).
fn now() -> Timestamp {
    Timestamp(crate::auth::now().0 + 3_600_000)
}

/// Log and in-app, a failed attempt retried a second later (then two).
fn settings() -> Arc<Settings> {
    Arc::new(
        serde_json::from_str(
            r#"{"channels": ["log", "in_app"], "retry_first_seconds": 1,
                "retry_max_seconds": 2}"#,
        )
        .expect("settings"),
    )
}

/// Problem 1 of enterprise 1, wang's, past its deadline (overdue: wang's), handed out to
/// department `d` at `at` (a hand-out: sun's, its handler), due to be looked at now.
async fn overdue_and_handed_out(b: &Seeded, at: Timestamp) {
    b.enterprise(1, "a").await;
    b.problem(1, 1, "wang", "wang", &[]).await;
    let (id, sun) = (problem(1), person("sun").id);
    let sql = format!("UPDATE problems SET state = 'submitted' WHERE id = '{id}'");
    b.execute(&sql)
        .await
        .expect("a problem awaiting its result");
    let sql = format!(
        "INSERT INTO problem_events (id, problem, action, \"by\", device, role, at, reason, \
         applied, unit) VALUES ('e1', '{id}', 'assign', '{sun}', 'dev', 'leader', {}, '', 1, \
         '{}')",
        at.0,
        unit_id("d")
    );
    b.execute(&sql).await.expect("seed a hand-out");
    watch(b).await;
}

/// Asks the next scan to look at problem 1 again.
async fn watch(b: &Seeded) {
    let sql = format!(
        "INSERT INTO reminder_watch (problem, next_at) VALUES ('{}', 0) \
         ON CONFLICT (problem) DO UPDATE SET next_at = 0",
        problem(1)
    );
    b.execute(&sql).await.expect("watch the problem");
}

/// `n` reminders of the log channel due at `at`, to wang, recorded as a scan would.
async fn due_reminders(b: &Seeded, n: usize, at: Timestamp) {
    let wang = person("wang").id;
    for k in 0..n {
        let sql = format!(
            "INSERT INTO reminders (recipient, kind, problem, occasion, due_at, created_at, \
             channel, text, next_attempt_at) VALUES ('{wang}', 'overdue', 'p{k}', '0', 0, 0, \
             'log', '提醒{k}', {})",
            at.0
        );
        b.execute(&sql).await.expect("seed a reminder");
    }
}

async fn claim(b: &Seeded, at: Timestamp) -> Vec<ClaimedReminder> {
    b.reminders
        .claim_reminders(at, settings(), 100)
        .await
        .expect("claim")
}

async fn a_scan_records_each_reminder_once_however_often_it_runs(b: &Seeded) {
    let now = now();
    overdue_and_handed_out(b, now).await;
    let first = b
        .reminders
        .scan_reminders(now, settings(), Arc::new(shared::config::Config::default()))
        .await
        .expect("scan");
    assert_eq!(
        (first.problems, first.created),
        (1, 4),
        "wang's overdue and sun's hand-out, each in the log and in the app"
    );
    for _ in 0..2 {
        watch(b).await;
        let again = b
            .reminders
            .scan_reminders(now, settings(), Arc::new(shared::config::Config::default()))
            .await
            .expect("scan again");
        assert_eq!((again.problems, again.created), (1, 0), "nothing twice");
    }
    let rows = b.reminders.reminder_rows().await.expect("rows");
    let mut got: Vec<(String, &str, &str)> = rows
        .iter()
        .map(|r| (r.recipient.clone(), r.kind.as_str(), r.channel.as_str()))
        .collect();
    got.sort();
    let (wang, sun) = (person("wang").id.to_string(), person("sun").id.to_string());
    let mut expected = vec![
        (wang.clone(), "overdue", "in_app"),
        (wang, "overdue", "log"),
        (sun.clone(), "hand_out", "in_app"),
        (sun, "hand_out", "log"),
    ];
    expected.sort();
    assert_eq!(got, expected);
    assert!(
        rows.iter().all(|r| r.text.starts_with("【连心提醒】")
            && r.problem == problem(1).to_string()
            && r.attempts == 0),
        "{rows:#?}"
    );
}

async fn in_app_reminders_are_listed_to_their_person_and_marked_seen_once(b: &Seeded) {
    let now = now();
    overdue_and_handed_out(b, now).await;
    b.reminders
        .scan_reminders(now, settings(), Arc::new(shared::config::Config::default()))
        .await
        .expect("scan");
    let (wang, sun) = (person("wang").id.to_string(), person("sun").id.to_string());
    let unseen = |user: String| b.reminders.unseen_notifications(user, 100);
    let suns = unseen(sun.clone()).await.expect("sun's");
    assert_eq!(suns.len(), 1, "{suns:?}");
    assert_eq!((suns[0].kind, suns[0].kind_zh), ("hand_out", "新交办"));
    assert!(suns[0].text_en.is_some(), "{suns:?}");
    let wangs = unseen(wang.clone()).await.expect("wang's");
    assert_eq!(wangs.len(), 1, "{wangs:?}");
    assert_eq!(wangs[0].kind, "overdue");

    let id = suns[0].id;
    let mark = |user: String| b.reminders.mark_notifications_seen(user, vec![id], now);
    assert_eq!(mark(wang.clone()).await.expect("mark"), 0, "not wang's");
    assert_eq!(mark(sun.clone()).await.expect("mark"), 1);
    assert_eq!(mark(sun.clone()).await.expect("mark"), 0, "seen already");
    assert!(unseen(sun).await.expect("sun's").is_empty());
    assert_eq!(unseen(wang).await.expect("wang's").len(), 1, "wang's stays");
}

async fn a_claimed_reminder_waits_for_its_outcome_and_a_failed_one_for_the_backoff(b: &Seeded) {
    let now = now();
    due_reminders(b, 2, now).await;
    let first = claim(b, now).await;
    assert_eq!(first.len(), 2, "{first:?}");
    assert!(claim(b, now).await.is_empty(), "claimed: not again");
    let (failed, sent) = (first[0].id, first[1].id);
    let s = settings();
    b.reminders
        .finish_reminders(
            vec![failed],
            Err("receiver answered 500".into()),
            now,
            s.clone(),
        )
        .await
        .expect("record the failure");
    b.reminders
        .finish_reminders(vec![sent], Ok(()), now, s.clone())
        .await
        .expect("record the delivery");
    assert!(claim(b, now).await.is_empty(), "the backoff first");
    let next = b
        .reminders
        .next_reminder_at(s.clone())
        .await
        .expect("next")
        .expect("one waits");
    assert_eq!(next, Timestamp(now.0 + s.backoff_ms(1)));
    let retried = claim(b, next).await;
    assert_eq!(
        retried.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![failed],
        "the failed one, never the acknowledged one"
    );
    let rows = b.reminders.reminder_rows().await.expect("rows");
    let attempts: Vec<(u32, bool, Option<&str>)> = rows
        .iter()
        .map(|r| {
            (
                r.attempts,
                r.delivered_at.is_some(),
                r.last_error.as_deref(),
            )
        })
        .collect();
    // Claimed in the order they are due, then by row: the failed one is the older row.
    assert_eq!(
        attempts,
        vec![(2, false, Some("receiver answered 500")), (1, true, None)]
    );
}

async fn claims_made_at_once_never_take_one_reminder_twice(b: &Seeded) {
    let (now, due) = (now(), 60);
    due_reminders(b, due, now).await;
    // Eight claimers side by side (each claim its own transaction), a few reminders each.
    let claimers: Vec<_> = (0..8)
        .map(|_| {
            let reminders = b.reminders.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                for _ in 0..6 {
                    let claimed = reminders
                        .claim_reminders(now, settings(), 3)
                        .await
                        .expect("claim");
                    mine.extend(claimed.into_iter().map(|c| c.id));
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.await.expect("a claimer"));
    }
    let distinct: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        all.len(),
        "a reminder claimed twice: {all:?}"
    );
    let rows = b.reminders.reminder_rows().await.expect("rows");
    assert!(
        rows.iter().all(|r| r.attempts <= 1),
        "an attempt counted twice: {rows:#?}"
    );
    let counted: u32 = rows.iter().map(|r| r.attempts).sum();
    assert_eq!(counted as usize, all.len());
}

/// A reminder's row id already taken (a copy that left the id counter behind, as `migrate`
/// once did) makes the scan fail whole, to be retried, rather than record the occasion and
/// drop the reminder without a word.
async fn a_reminder_whose_row_id_is_taken_is_never_dropped_silently(b: &Seeded) {
    let now = now();
    let sql = "INSERT INTO reminders (id, recipient, kind, problem, occasion, due_at, \
               created_at, channel, text, next_attempt_at) VALUES (1, 'someone', 'overdue', \
               'px', '0', 0, 0, 'log', 'x', 0)";
    b.execute(sql).await.expect("a row past the id counter");
    overdue_and_handed_out(b, now).await;
    let scan = b
        .reminders
        .scan_reminders(now, settings(), Arc::new(shared::config::Config::default()))
        .await;
    let made = b.reminders.reminder_rows().await.expect("rows").len() - 1;
    match scan {
        Ok(s) => assert_eq!((s.created, made), (4, 4), "every reminder owed is recorded"),
        Err(_) => assert_eq!(made, 0, "a failed scan records nothing"),
    }
}

on_both_backends!(
    a_scan_records_each_reminder_once_however_often_it_runs,
    in_app_reminders_are_listed_to_their_person_and_marked_seen_once,
    a_claimed_reminder_waits_for_its_outcome_and_a_failed_one_for_the_backoff,
    claims_made_at_once_never_take_one_reminder_twice,
    a_reminder_whose_row_id_is_taken_is_never_dropped_silently,
);
