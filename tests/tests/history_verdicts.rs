//! Tamper evidence, checked (issue 14, item 6), through the real server's sync and HTTP API
//! on a real SQLite file: a record's hash-linked history is judged when it is committed and by
//! the audit; a record whose stored copy was rewritten behind the server's back, or whose
//! changes carry another person's actor, shows as broken on the leader's list and on its own
//! verdict (`GET /api/history/{kind}/{id}`), which only those who may read the record get.

use server::history_audit;
use shared::config::Config;
use shared::doc::DocKind;
use shared::model::{ProblemId, Tier};
use shared::sync::protocol::{DocId, Outcome};
use tests::device::id_bytes;
use tests::problem_world::{Who, World, new_problem, now};
use tests::raw::{commit_as_server, doc_id};

/// `GET /api/history/<doc>` as `who`: status and body.
async fn verdict(world: &World, who: Who, doc: &DocId) -> anyhow::Result<(u16, serde_json::Value)> {
    let resp = reqwest::Client::new()
        .get(world.server.url(&format!("/api/history/{}", doc.as_str())))
        .bearer_auth(&world.session(who).token)
        .send()
        .await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await?))
}

/// The leader's problem-list row of `doc`.
async fn list_row(world: &World, doc: &DocId) -> anyhow::Result<serde_json::Value> {
    let page: serde_json::Value = reqwest::Client::new()
        .get(world.server.url("/api/problems?limit=200"))
        .bearer_auth(&world.session(Who::Boss).token)
        .send()
        .await?
        .json()
        .await?;
    let id = doc.root_id().to_string();
    page["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["id"] == id.as_str()))
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("{id} is not listed: {page}"))
}

/// Runs the audit over every record (what `serve` does a minute at a time).
async fn audit(world: &World) -> anyhow::Result<history_audit::AuditReport> {
    world
        .service
        .with_store_holds(|mut store| history_audit::audit(&mut store, 10_000, false, now()))
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))?
        .map_err(Into::into)
}

#[tokio::test]
async fn a_record_rewritten_behind_the_servers_back_is_found_broken_by_the_audit()
-> anyhow::Result<()> {
    let mut world = World::new().await?;
    let doc = world.raise(Tier::Department).await?;
    // Judged at its commit: a new record whose every change is its author's.
    let (status, v) = verdict(&world, Who::Boss, &doc).await?;
    assert_eq!((status, v["intact"].as_bool()), (200, Some(true)), "{v}");

    // Its stored copy as it is now, then an edit on top of it.
    let db = world.db_path();
    let old: (Vec<u8>, Option<i64>, Vec<u8>) = rusqlite::Connection::open(&db)?.query_row(
        "SELECT snapshot, inflated_size, heads FROM docs WHERE doc_id = ?1",
        [doc.as_str()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let out = world
        .push(Who::Clerk, &doc, |p, actor| {
            p.edit(&Config::default(), actor, now(), |e| {
                e.set_description("用地指标仍未落实")
            })?;
            Ok(())
        })
        .await?;
    assert!(matches!(out, Outcome::Accepted { .. }), "{out:?}");
    let (_, v) = verdict(&world, Who::Boss, &doc).await?;
    assert_eq!(v["intact"], true, "an edit on an intact history: {v}");
    assert_eq!(audit(&world).await?.broken, 0, "nothing broken yet");

    // Someone with the file puts the old copy back: the edit is gone from the record.
    rusqlite::Connection::open(&db)?.execute(
        "UPDATE docs SET snapshot = ?2, inflated_size = ?3, heads = ?4 WHERE doc_id = ?1",
        rusqlite::params![doc.as_str(), old.0, old.1, old.2],
    )?;
    let report = audit(&world).await?;
    assert_eq!(report.broken, 1, "{report:?}");
    let (_, v) = verdict(&world, Who::Boss, &doc).await?;
    assert_eq!(v["intact"], false, "{v}");
    let why = v["broken"].as_str().unwrap_or_default();
    assert!(why.contains("history was rewritten"), "{why}");
    let row = list_row(&world, &doc).await?;
    assert_eq!(row["history_intact"], false, "{row}");
    assert_eq!(row["history_broken"], why);
    Ok(())
}

#[tokio::test]
async fn changes_made_with_another_persons_actor_are_broken_from_their_commit() -> anyhow::Result<()>
{
    let world = World::new().await?;
    // What the demo generator did: the leader's name on the change, the officer's actor.
    let boss = world.session(Who::Boss);
    let wang = world.session(Who::Wang);
    let id = ProblemId::from_random_bytes(id_bytes(90, 1));
    let doc = new_problem(
        &boss.actor,
        wang.actor_id.clone(),
        id,
        Tier::Department,
        wang.actor.user,
        now(),
    )?;
    let doc_id = doc_id(DocKind::Problem, id);
    let record = (doc_id.clone(), doc.into_record());
    world
        .service
        .with_store(move |s| commit_as_server(s, vec![record], now()))
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
    // No audit has run: the commit judged it.
    let row = list_row(&world, &doc_id).await?;
    assert_eq!(row["history_intact"], false, "{row}");
    let why = row["history_broken"].as_str().unwrap_or_default();
    assert!(
        why.contains(&boss.actor.device.to_string()) && why.contains("carries actor"),
        "{why}"
    );
    // The audit finds the same.
    assert_eq!(audit(&world).await?.broken, 1);
    Ok(())
}

#[tokio::test]
async fn a_records_verdict_is_for_those_who_may_read_the_record() -> anyhow::Result<()> {
    let mut world = World::new().await?;
    let doc = world.raise(Tier::Department).await?;
    // Wang (assigned the enterprise) reads it; the handler of a department it was never
    // handed to, and anyone asking for a record that does not exist, get a 404.
    assert_eq!(verdict(&world, Who::Wang, &doc).await?.0, 200);
    assert_eq!(verdict(&world, Who::H2, &doc).await?.0, 404);
    let nowhere = doc_id(
        DocKind::Problem,
        ProblemId::from_random_bytes(id_bytes(90, 9)),
    );
    assert_eq!(verdict(&world, Who::Boss, &nowhere).await?.0, 404);
    let resp = reqwest::Client::new()
        .get(world.server.url("/api/history/spreadsheet/1"))
        .bearer_auth(&world.session(Who::Boss).token)
        .send()
        .await?;
    assert_eq!(resp.status(), 404);
    Ok(())
}
