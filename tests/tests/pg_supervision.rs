//! Supervision (督办) on `lianxin-server serve --db postgres://…` (issue 16): a leader's phone
//! gives two instructions on an open problem, one past due and one due in two days, and syncs; the
//! leader's `GET /api/supervision` lists them with their states, due first, as on SQLite
//! (`supervision_todo.rs`), and filters them by state.

use std::net::SocketAddr;

use shared::config::Config;
use shared::doc::DocKind;
use shared::model::{Addressee, DAY_MS, EntryId, Timestamp};
use tests::device::{NativeDevice, id_bytes, wall_clock};
use tests::pg::Throwaway;
use tests::process::ServerProcess;

fn entry(n: u64) -> EntryId {
    EntryId::from_random_bytes(id_bytes(92, n))
}

/// (entry id, state, addressee's name) of each row of a supervision page.
fn rows(page: &serde_json::Value) -> Vec<(String, String, String)> {
    page["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
            (
                text(&r["id"]),
                text(&r["state"]),
                text(&r["to_person"]["name"]),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaders_instructions_on_postgres_are_listed_with_their_states_due_first()
-> anyhow::Result<()> {
    let database = Throwaway::create().await?;
    let cwd = tempfile::tempdir()?;
    let free: SocketAddr = "127.0.0.1:0".parse()?;
    let server = ServerProcess::start_postgres(&database.url(), free, true, cwd.path())?;
    let base = server.url();
    let mut leader =
        NativeDevice::logged_in(1, &base, "leader1", server::demo::DEMO_PASSWORD).await?;
    leader.sync().await?;
    // An open problem: a closed one's instructions are closed with it.
    let problems: Vec<_> = leader
        .client
        .replica()
        .ids()
        .filter(|id| id.kind() == DocKind::Problem)
        .cloned()
        .collect();
    let problem = problems
        .into_iter()
        .find(|id| {
            leader.problem(id).is_ok_and(|p| {
                let derived = shared::derive::derive(&p, &Config::demo(), wall_clock());
                !derived.outcome.state.is_closed()
            })
        })
        .ok_or_else(|| anyhow::anyhow!("the leader holds no open problem"))?;
    let owner = leader.problem(&problem)?.owner;
    let now = wall_clock();
    leader.edit_problem(&problem, |doc, actor| {
        doc.edit(&Config::demo(), actor, wall_clock(), |e| {
            e.supervise(
                entry(1),
                "请两日内拿出方案",
                Addressee::Person(owner),
                Timestamp(now.0 + 2 * DAY_MS),
            )?;
            e.supervise(
                entry(2),
                "请包联干部当面回访",
                Addressee::Person(owner),
                Timestamp(now.0 - DAY_MS),
            )
        })?;
        Ok(())
    })?;
    leader.sync().await?;
    assert!(
        leader.status().refused.is_empty(),
        "{:?}",
        leader.status().refused
    );

    let http = reqwest::Client::new();
    let token = leader.token.clone().unwrap_or_default();
    let get = |query: &'static str| {
        http.get(format!("{base}/api/supervision{query}"))
            .bearer_auth(&token)
            .send()
    };
    let answer = get("").await?;
    assert_eq!(answer.status().as_u16(), 200);
    let page: serde_json::Value = answer.json().await?;
    let listed = rows(&page);
    let states: Vec<(String, String)> = listed
        .iter()
        .map(|(id, state, _)| (id.clone(), state.clone()))
        .collect();
    assert_eq!(
        states,
        [
            (entry(2).to_string(), "overdue".to_string()),
            (entry(1).to_string(), "issued".to_string()),
        ],
        "due first: {page}"
    );
    assert!(
        listed.iter().all(|(_, _, name)| !name.is_empty()),
        "the addressee is named: {page}"
    );
    assert_eq!(page["total"], 2, "{page}");
    let overdue: serde_json::Value = get("?state=overdue").await?.json().await?;
    assert_eq!(rows(&overdue).len(), 1, "{overdue}");
    Ok(())
}
