//! 回头看 on a server on PostgreSQL (issue 16): a look-back pass is judged by the check-in
//! visits the database holds, as on SQLite (`look_back_server.rs`): an officer who checked in
//! at the enterprise and synced, then records the pass, has it accepted — the visit need not
//! travel in the same request.

use shared::config::FollowUp;
use shared::doc::DocKind;
use shared::model::{DAY_MS, EnterpriseId, EntryId, ProblemState};
use shared::sync::protocol::DocId;
use shared::workflow::Action;
use tests::device::{NativeDevice, id_bytes, wall_clock};
use tests::pg::{Throwaway, connect};
use tests::process::ServerProcess;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_look_back_pass_after_a_check_in_synced_earlier_is_accepted_on_postgres()
-> anyhow::Result<()> {
    let database = Throwaway::create().await?;
    let url = database.url();
    let cwd = tempfile::tempdir()?;
    let server = ServerProcess::start_postgres(&url, "127.0.0.1:0".parse()?, true, cwd.path())?;
    let db = connect(&url).await?;
    // A demo problem of officer1's, still signed off, signed off long enough ago that its look-back fell due,
    // not passed yet, at an enterprise with no check-in visit since it fell due.
    let look_back_ms = i64::from(FollowUp::default().look_back_days) * DAY_MS;
    let row = db
        .query_opt(
            "SELECT p.id, p.enterprise FROM problems p \
             JOIN users u ON u.id = p.owner AND u.login = 'officer1' \
             JOIN problem_events s ON s.problem = p.id AND s.action = $1 \
             WHERE p.state = $5 AND s.at + $3 < $4 \
             AND NOT EXISTS (SELECT 1 FROM problem_events l WHERE l.problem = p.id AND l.action = $2) \
             AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.enterprise = p.enterprise \
                 AND v.check_in_outcome IS NOT NULL AND v.device_time >= s.at + $3) \
             ORDER BY p.id LIMIT 1",
            &[
                &Action::SignOff { waiver: false }.code(),
                &Action::LookBackPass.code(),
                &look_back_ms,
                &wall_clock().0,
                &ProblemState::SignedOff.code(),
            ],
        )
        .await?;
    let row = row.ok_or_else(|| {
        anyhow::anyhow!("the demo district has no look-back of officer1's due and unvisited")
    })?;
    let (problem, enterprise): (String, String) = (row.get(0), row.get(1));
    let id = DocId::new(DocKind::Problem, &problem);

    let mut phone =
        NativeDevice::logged_in(1, &server.url(), "officer1", server::demo::DEMO_PASSWORD).await?;
    phone.sync().await?;
    let now = wall_clock();
    phone.record_visit_at(
        EnterpriseId::parse(&enterprise)?,
        "回头看：整改保持良好",
        now,
    )?;
    phone.sync().await?;
    assert_eq!(phone.status().waiting, 0, "the visit was stored");

    let event = EntryId::from_random_bytes(id_bytes(92, 1));
    phone.edit_problem(&id, |doc, actor| {
        doc.act(actor, now, event, Action::LookBackPass, "")?;
        Ok(())
    })?;
    phone.sync().await?;
    let status = phone.status();
    assert!(status.refused.is_empty(), "{:?}", status.refused);
    assert_eq!(status.waiting, 0, "the pass was stored");
    Ok(())
}
