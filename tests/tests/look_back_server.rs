//! 回头看 on the server (issue 13, item 4): a look-back passes only on a visit to the
//! enterprise with a check-in on or after it fell due, and the server judges it whatever the
//! phone checked, through the real server's sync (a real SQLite file, real sockets). The
//! devices here record the pass without the phone's own check, as an old or hostile app would.

use server::AppState;
use server::sync::SyncService;
use shared::config::Config;
use shared::doc::{DocKind, NewProblem, ProblemDoc};
use shared::model::{DAY_MS, EntryId, ProblemClass, ProblemId, ProblemSource, Tier, Timestamp};
use shared::sync::protocol::{DocId, Refusal};
use shared::workflow::Action;
use std::sync::Arc;
use tests::TestServer;
use tests::device::{NativeDevice, id_bytes, wall_clock};
use tests::district::{self, PASSWORD, enterprise};
use tests::raw::{commit_as_server, doc_id};

/// An officer's phone on a fresh district whose enterprise 1 is Wang's.
struct World {
    service: Arc<SyncService>,
    wang: NativeDevice,
    _server: TestServer,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new() -> anyhow::Result<World> {
        let dir = tempfile::tempdir()?;
        let service = tests::sync_service(dir.path())?;
        let server =
            TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
        district::officer(&service, "wang", [1]).await?;
        let wang = NativeDevice::logged_in(1, &server.url(""), "wang", PASSWORD).await?;
        Ok(World {
            service,
            wang,
            _server: server,
            _dir: dir,
        })
    }

    /// A problem of Wang's at enterprise 1, resolved on the spot, confirmed and signed off by Wang
    /// `days_ago`, stored as the server stores existing records; Wang's phone has it.
    async fn signed_off(&mut self, n: u8, days_ago: i64) -> anyhow::Result<DocId> {
        let config = Config::default();
        let at = Timestamp(wall_clock().0 - days_ago * DAY_MS);
        let actor = self.wang.actor;
        let id = ProblemId::from_random_bytes(id_bytes(90, u64::from(n)));
        let mut doc = ProblemDoc::create(
            &NewProblem {
                id,
                enterprise: enterprise(1),
                visit: None,
                source: ProblemSource::Visit,
                category: "power".into(),
                class: ProblemClass::B,
                tier: Tier::OnSite,
                owner: actor.user,
                leader: None,
                deadline: at.plus_days(7),
                description: "配电柜漏电".into(),
                expectation: "更换配电柜".into(),
            },
            &config,
            &actor,
            self.wang.actor_id.clone(),
            at,
        )?;
        doc.edit(&config, &actor, at, |p| p.set_response("已更换"))?;
        for (k, action) in [
            (1, Action::ResolveOnSite),
            (2, Action::Confirm),
            (3, Action::SignOff { waiver: false }),
        ] {
            let event = EntryId::from_random_bytes(id_bytes(91, u64::from(n) * 10 + k));
            doc.act(&actor, at, event, action, "")?;
        }
        let id = doc_id(DocKind::Problem, id);
        let record = (id.clone(), doc.into_record());
        let now = wall_clock();
        self.service
            .with_store(move |st| commit_as_server(st, vec![record], now))
            .await
            .expect("the store thread ran")?;
        self.wang.sync().await?;
        Ok(id)
    }

    /// Wang records the look-back as passed on the phone, at `at`, without the phone's check.
    fn pass_look_back(&mut self, id: &DocId, n: u64, at: Timestamp) -> anyhow::Result<()> {
        let event = EntryId::from_random_bytes(id_bytes(92, n));
        self.wang.edit_problem(id, |doc, actor| {
            doc.act(actor, at, event, Action::LookBackPass, "")?;
            Ok(())
        })
    }

    /// Why the server refused `id`, if it did.
    fn refusal(&mut self, id: &DocId) -> Option<Refusal> {
        self.wang
            .status()
            .refused
            .into_iter()
            .find(|(d, _)| d == id)
            .map(|(_, r)| r)
    }
}

fn assert_refused_for_want_of_a_visit(refusal: Option<Refusal>) {
    let Some(Refusal::Forbidden(why)) = &refusal else {
        panic!("the pass is refused: {refusal:?}");
    };
    assert!(
        why.contains("回头看") && why.contains("check-in on or after"),
        "{why}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_look_back_pass_with_no_check_in_visit_since_it_fell_due_is_refused_with_the_reason()
-> anyhow::Result<()> {
    let mut world = World::new().await?;
    // Signed off 40 days ago: the look-back fell due 10 days ago; nobody has visited since.
    let id = world.signed_off(1, 40).await?;
    world.pass_look_back(&id, 1, wall_clock())?;
    world.wang.sync().await?;
    assert_refused_for_want_of_a_visit(world.refusal(&id));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_look_back_pass_synced_with_its_check_in_visit_in_one_request_is_accepted()
-> anyhow::Result<()> {
    let mut world = World::new().await?;
    let id = world.signed_off(2, 40).await?;
    // Wang visits today, checks in, passes the look-back, and syncs once: the visit and the
    // pass travel in the same request.
    let now = wall_clock();
    world
        .wang
        .record_visit_at(enterprise(1), "回头看：设备运行正常", now)?;
    world.pass_look_back(&id, 2, now)?;
    world.wang.sync().await?;
    let status = world.wang.status();
    assert!(status.refused.is_empty(), "{:?}", status.refused);
    assert_eq!(status.waiting, 0, "both records were stored");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_back_dated_sign_off_brings_its_look_back_no_closer() -> anyhow::Result<()> {
    let mut world = World::new().await?;
    // A problem Wang resolved on the spot today, then confirmed and signed off on a phone whose clock says
    // 40 days ago: the server counts the sign-off at the phone's registration (less the
    // allowed skew), so the look-back falls due 30 days from about now.
    let id = world
        .wang
        .resolved_on_site(3, enterprise(1), world.wang.actor.user)?;
    world.wang.sync().await?;
    let back = Timestamp(wall_clock().0 - 40 * DAY_MS);
    world.wang.edit_problem(&id, |doc, actor| {
        for (k, action) in [(1, Action::Confirm), (2, Action::SignOff { waiver: false })] {
            let event = EntryId::from_random_bytes(id_bytes(93, k));
            doc.act(actor, back, event, action, "")?;
        }
        Ok(())
    })?;
    world.wang.sync().await?;
    assert_eq!(world.refusal(&id), None, "the sign-off itself is accepted");

    // A visit today and the pass: refused, the look-back is not due yet.
    let now = wall_clock();
    world.wang.record_visit_at(enterprise(1), "回头看", now)?;
    world.pass_look_back(&id, 3, now)?;
    world.wang.sync().await?;
    assert_refused_for_want_of_a_visit(world.refusal(&id));
    Ok(())
}
