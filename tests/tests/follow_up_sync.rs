//! A bad rating acts across devices (issue 13, item 3), through the real server's sync (a
//! real SQLite file, real sockets): the rating recorded on one officer's phone reopens the
//! problem on the owner's phone, with the revisit task in the owner's follow-ups.

use server::AppState;
use shared::config::Config;
use shared::derive::{TaskKind, derive};
use shared::model::{Flag, ProblemState, Rating};
use tests::TestServer;
use tests::device::{NativeDevice, wall_clock};
use tests::district::{self, PASSWORD, enterprise};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_rating_synced_from_one_phone_reopens_the_problem_on_the_owners_with_a_revisit()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    let server =
        TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
    let base = server.url("");
    district::officer(&service, "wang", [1]).await?;
    district::officer(&service, "li", [1]).await?;
    let config = Config::default();

    // Wang resolves a problem on the spot at enterprise 1, and syncs.
    let mut wang = NativeDevice::logged_in(1, &base, "wang", PASSWORD).await?;
    let id = wang.resolved_on_site(1, enterprise(1), wang.actor.user)?;
    wang.sync().await?;
    assert_eq!(
        derive(&wang.problem(&id)?, &config, wall_clock())
            .outcome
            .state,
        ProblemState::ResolvedOnSite
    );

    // Li, visiting, records the enterprise's rating: dissatisfied.
    let mut li = NativeDevice::logged_in(2, &base, "li", PASSWORD).await?;
    li.sync().await?;
    let rated_at = wall_clock();
    assert!(
        li.rate(&id, Rating::Dissatisfied, "线路还是经常跳闸")?,
        "a bad rating reopens the problem"
    );
    li.sync().await?;
    let refused = li.status().refused;
    assert!(
        refused.is_empty(),
        "the server accepts the rating and its reopening: {refused:?}"
    );

    // Wang's phone, after a sync: reopened, black, and the revisit in Wang's follow-ups.
    wang.sync().await?;
    let problem = wang.problem(&id)?;
    let now = wall_clock();
    let d = derive(&problem, &config, now);
    assert_eq!(
        (d.outcome.state, d.flag),
        (ProblemState::Reopened, Flag::Black)
    );
    let tasks = shared::forms::follow_ups(
        wang.actor.user,
        std::slice::from_ref(&problem),
        &config,
        now,
    );
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let (task_problem, _, task) = tasks[0];
    assert_eq!((task_problem, task.kind), (problem.id, TaskKind::Revisit));
    let due = task.due.0 - config.follow_up.revisit_days as i64 * shared::model::DAY_MS;
    assert!(
        (rated_at.0..=now.0).contains(&due),
        "due the configured days after the rating"
    );
    Ok(())
}
