//! KPIs on the server's clock (issue 13, item 5), through the real server's sync and dashboard
//! API: a time a device claims later than the server received it, or earlier than the device's
//! previous sync less the allowed skew, counts at that bound in every KPI and is counted as
//! clamped; a problem's deadline is the configured SLA's on the server's clock, whatever the
//! device wrote, and moves only when a leader extends it; an extension to a date already past
//! is refused with a clear message; a device that keeps reporting work left to send keeps its
//! last settled bound only within the settling window.

use std::sync::Arc;

use server::AppState;
use server::sync::SyncService;
use shared::config::{Config, SlaPolicy};
use shared::doc::{DocKind, NewProblem, ProblemDoc};
use shared::model::{
    DAY_MS, DeviceId, EntryId, OrgUnitId, OrgUnitKind, ProblemClass, ProblemId, ProblemSource,
    Role, Tier, Timestamp,
};
use shared::sync::protocol::{DocId, Outcome, Refusal};
use shared::workflow::Action;
use tempfile::TempDir;
use tests::TestServer;
use tests::device::{id_bytes, wall_clock as now};
use tests::district::{self, PASSWORD, enterprise};
use tests::raw::{RawSession, commit_as_server, doc_id, push_edit, push_new, stored};

const MINUTE: i64 = 60_000;

/// Officer Wang (assigned enterprise 1), handler H1 of department d1, and a zone leader.
struct World {
    server: TestServer,
    service: Arc<SyncService>,
    _dir: TempDir,
    wang: RawSession,
    h1: RawSession,
    boss: RawSession,
    /// Before anyone logged in: the devices' registrations are later.
    started: Timestamp,
    d1: OrgUnitId,
    next: u64,
}

impl World {
    async fn new() -> anyhow::Result<World> {
        World::with_config(Config::demo()).await
    }

    /// [`World::new`] on a server with `config` (not validated).
    async fn with_config(config: Config) -> anyhow::Result<World> {
        let started = now();
        let dir = tempfile::tempdir()?;
        let service = tests::sync_service_with(dir.path(), config)?;
        let server =
            TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
        district::officer(&service, "wang", [1]).await?;
        let d1 = service
            .with_store(|st| -> anyhow::Result<_> {
                let d1 = district::department(st, "d1")?;
                let zone = district::org_unit(st, district::ZONE, OrgUnitKind::Zone, None)?;
                district::user(st, "h1", Role::DepartmentHandler, d1)?;
                district::user(st, "boss", Role::Leader, zone)?;
                Ok(d1)
            })
            .await
            .expect("the store thread ran")?;
        let base = server.url("");
        let login = |name: &'static str, n: u64| {
            let base = base.clone();
            async move {
                let device = DeviceId::from_random_bytes(id_bytes(70, n));
                RawSession::login(&base, name, PASSWORD, device).await
            }
        };
        Ok(World {
            wang: login("wang", 1).await?,
            h1: login("h1", 2).await?,
            boss: login("boss", 3).await?,
            server,
            service,
            _dir: dir,
            started,
            d1,
            next: 0,
        })
    }

    fn next(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// Wang raises a problem of `tier` on a phone whose clock says `claimed`, with the
    /// deadline field set to `deadline`.
    async fn raise(
        &mut self,
        tier: Tier,
        claimed: Timestamp,
        deadline: Timestamp,
    ) -> anyhow::Result<DocId> {
        let id = ProblemId::from_random_bytes(id_bytes(71, self.next()));
        let mut doc = ProblemDoc::create(
            &NewProblem {
                id,
                enterprise: enterprise(1),
                visit: None,
                source: ProblemSource::Visit,
                category: "power".into(),
                class: ProblemClass::B,
                tier,
                owner: self.wang.actor.user,
                leader: None,
                deadline,
                description: "变压器容量不足".into(),
                expectation: "增容".into(),
            },
            &Config::default(),
            &self.wang.actor,
            self.wang.actor_id.clone(),
            claimed,
        )?;
        let doc_id = doc_id(DocKind::Problem, id);
        let out = self
            .wang
            .push(vec![push_new(doc_id.clone(), doc.record())])
            .await?;
        anyhow::ensure!(
            matches!(out[0].1, Outcome::Accepted { .. }),
            "{:?}",
            out[0].1
        );
        Ok(doc_id)
    }

    /// `who` takes `action` on a phone whose clock says `claimed` (writing the response
    /// first where the action needs one); the server's answer.
    async fn act(
        &mut self,
        who: &RawSession,
        id: &DocId,
        action: Action,
        claimed: Timestamp,
    ) -> anyhow::Result<Outcome> {
        let event = EntryId::from_random_bytes(id_bytes(72, self.next()));
        let actor_id = who.actor_id.clone();
        let stored_id = id.clone();
        let (record, base) = self
            .service
            .with_store(move |st| stored(st, &stored_id, actor_id))
            .await
            .expect("the store thread ran")?;
        let mut doc = ProblemDoc::from_record(record)?;
        if matches!(action, Action::Respond | Action::ResolveOnSite)
            && doc.read()?.response.trim().is_empty()
        {
            doc.edit(&Config::default(), &who.actor, claimed, |p| {
                p.set_response("已协调供电公司增容")
            })?;
        }
        doc.act(&who.actor, claimed, event, action, "按规定办理")?;
        let out = who
            .push(vec![push_edit(id.clone(), doc.record(), &base)])
            .await?;
        Ok(out[0].1.clone())
    }

    /// The zone's KPIs of problems created in `[from, to)`, from the dashboard API.
    async fn kpis(&self, from: Timestamp, to: Timestamp) -> anyhow::Result<serde_json::Value> {
        let resp = reqwest::Client::new()
            .get(
                self.server
                    .url(&format!("/api/dashboard/kpis?from={}&to={}", from.0, to.0)),
            )
            .bearer_auth(&self.boss.token)
            .send()
            .await?;
        anyhow::ensure!(resp.status() == 200, "{}", resp.status());
        Ok(resp.json().await?)
    }

    /// The problem's row in the leader's problem list.
    async fn row(&self, id: &DocId) -> anyhow::Result<serde_json::Value> {
        let page: serde_json::Value = reqwest::Client::new()
            .get(self.server.url("/api/problems?limit=200"))
            .bearer_auth(&self.boss.token)
            .send()
            .await?
            .json()
            .await?;
        page["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["id"].as_str() == Some(id.root_id()))
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("{id} is not listed: {page}"))
    }

    /// A department problem of Wang's, triaged and handed to d1 by the leader and accepted by
    /// H1, all at the right time.
    async fn accepted(&mut self) -> anyhow::Result<DocId> {
        let t = now();
        let id = self.raise(Tier::Department, t, t.plus_days(7)).await?;
        let boss = self.boss.clone();
        let h1 = self.h1.clone();
        for (who, action) in [
            (&boss, Action::Triage),
            (&boss, Action::Assign { unit: self.d1 }),
            (&h1, Action::Accept),
        ] {
            let out = self.act(who, &id, action.clone(), now()).await?;
            anyhow::ensure!(
                matches!(out, Outcome::Accepted { .. }),
                "{action:?}: {out:?}"
            );
        }
        Ok(id)
    }
}

fn n(v: &serde_json::Value) -> i64 {
    v.as_i64().unwrap_or(i64::MIN)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backdated_and_future_dated_times_count_at_the_servers_bounds_and_are_counted_as_clamped()
-> anyhow::Result<()> {
    let mut world = World::new().await?;
    let t = now();
    // A phone set a month back raises a problem and resolves it on the spot "the next day";
    // one set five days ahead raises another.
    let backdated = world
        .raise(Tier::OnSite, Timestamp(t.0 - 30 * DAY_MS), t.plus_days(1))
        .await?;
    let wang = world.wang.clone();
    let out = world
        .act(
            &wang,
            &backdated,
            Action::ResolveOnSite,
            Timestamp(t.0 - 29 * DAY_MS),
        )
        .await?;
    assert!(matches!(out, Outcome::Accepted { .. }), "{out:?}");
    let future = world
        .raise(Tier::Department, t.plus_days(5), t.plus_days(12))
        .await?;
    let after = now();

    // Neither counts where its claimed time would put it.
    let claimed_month = world
        .kpis(Timestamp(t.0 - 40 * DAY_MS), Timestamp(t.0 - 20 * DAY_MS))
        .await?;
    assert_eq!(claimed_month["problems"], 0, "{claimed_month}");
    let claimed_week = world.kpis(t.plus_days(4), t.plus_days(6)).await?;
    assert_eq!(claimed_week["problems"], 0, "{claimed_week}");

    // Both count today, with their three clamped times (two creations, one resolution).
    let today = world.kpis(Timestamp(t.0 - DAY_MS), t.plus_days(1)).await?;
    assert_eq!(today["problems"], 2, "{today}");
    assert_eq!(today["clamped"], 3, "{today}");
    // The response time is measured between the bounded times, not the claimed day.
    let median = today["first_response_hours"][0]
        .as_f64()
        .unwrap_or(f64::MAX);
    assert!(median < 1.0, "claimed 24 h, counted {median} h: {today}");
    assert_eq!(today["on_time"], 1, "{today}");

    // The backdated creation counts at Wang's registration less the ten minutes allowed; the
    // future one at its receipt.
    let row = world.row(&backdated).await?;
    let created = n(&row["created_at"]);
    assert!(
        created >= world.started.0 - 10 * MINUTE && created <= after.0,
        "{row}"
    );
    let row = world.row(&future).await?;
    let created = n(&row["created_at"]);
    assert!(created >= t.0 && created <= after.0, "{row}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_a_device_writes_against_the_sla_does_not_count_the_servers_does()
-> anyhow::Result<()> {
    let mut world = World::new().await?;
    let sla = SlaPolicy::default();
    let t = now();
    // The phone says the problem was due two days ago (it would be overdue) …
    let early = world
        .raise(Tier::Department, t, Timestamp(t.0 - 2 * DAY_MS))
        .await?;
    // … and that another one is due in a year, then answers it "in three days" (past the SLA).
    let generous = world.raise(Tier::OnSite, t, t.plus_days(365)).await?;
    let wang = world.wang.clone();
    let out = world
        .act(&wang, &generous, Action::ResolveOnSite, t.plus_days(3))
        .await?;
    assert!(matches!(out, Outcome::Accepted { .. }), "{out:?}");

    for (id, days) in [(&early, sla.routine_days), (&generous, sla.on_site_days)] {
        let row = world.row(id).await?;
        assert_eq!(
            n(&row["deadline"]),
            n(&row["created_at"]) + i64::from(days) * DAY_MS,
            "the SLA's deadline from the server's creation time: {row}"
        );
        assert_eq!(row["overdue"], false, "{row}");
    }
    let kpis = world.kpis(Timestamp(t.0 - DAY_MS), t.plus_days(1)).await?;
    assert_eq!(kpis["overdue"], 0, "{kpis}");
    // The answer dated past the SLA deadline counts at its receipt: on time.
    assert_eq!(kpis["answered"], 1, "{kpis}");
    assert_eq!(kpis["on_time"], 1, "{kpis}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handlers_extension_request_leaves_the_servers_deadline_until_a_leader_extends()
-> anyhow::Result<()> {
    let mut world = World::new().await?;
    let id = world.accepted().await?;
    let due = n(&world.row(&id).await?["deadline"]);
    let asked = Timestamp(due + 14 * DAY_MS);

    let h1 = world.h1.clone();
    let out = world
        .act(
            &h1,
            &id,
            Action::RequestExtension { deadline: asked },
            now(),
        )
        .await?;
    assert!(matches!(out, Outcome::Accepted { .. }), "{out:?}");
    assert_eq!(
        n(&world.row(&id).await?["deadline"]),
        due,
        "the SLA deadline counts until a leader approves"
    );

    let boss = world.boss.clone();
    let out = world
        .act(&boss, &id, Action::Extend { deadline: asked }, now())
        .await?;
    assert!(matches!(out, Outcome::Accepted { .. }), "{out:?}");
    assert_eq!(n(&world.row(&id).await?["deadline"]), asked.0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_to_a_past_date_is_refused_in_both_languages_even_from_a_phone_set_back()
-> anyhow::Result<()> {
    let mut world = World::new().await?;
    // A problem recorded ten days ago (stored as the server stores existing records), handed
    // to d1 and accepted: it fell due three days ago.
    let t = now();
    let id = ProblemId::from_random_bytes(id_bytes(73, 1));
    let created = Timestamp(t.0 - 10 * DAY_MS);
    let doc = ProblemDoc::create(
        &NewProblem {
            id,
            enterprise: enterprise(1),
            visit: None,
            source: ProblemSource::Visit,
            category: "power".into(),
            class: ProblemClass::B,
            tier: Tier::Department,
            owner: world.wang.actor.user,
            leader: None,
            deadline: created.plus_days(7),
            description: "变压器容量不足".into(),
            expectation: "增容".into(),
        },
        &Config::default(),
        &world.wang.actor,
        world.wang.actor_id.clone(),
        created,
    )?;
    let id = doc_id(DocKind::Problem, id);
    let record = (id.clone(), doc.into_record());
    world
        .service
        .with_store(move |st| commit_as_server(st, vec![record], t))
        .await
        .expect("the store thread ran")?;
    let (boss, h1) = (world.boss.clone(), world.h1.clone());
    for (who, action) in [
        (&boss, Action::Triage),
        (&boss, Action::Assign { unit: world.d1 }),
        (&h1, Action::Accept),
    ] {
        let out = world.act(who, &id, action.clone(), now()).await?;
        assert!(
            matches!(out, Outcome::Accepted { .. }),
            "{action:?}: {out:?}"
        );
    }
    assert_eq!(world.row(&id).await?["overdue"], true);

    // "Yesterday" is later than the deadline, but past: refused from an honest clock, and
    // from a phone whose clock says it is three days ago (yesterday would be ahead of it).
    let yesterday = Timestamp(now().0 - DAY_MS);
    for (who, action, claimed) in [
        (
            &boss,
            Action::Extend {
                deadline: yesterday,
            },
            now(),
        ),
        (
            &h1,
            Action::RequestExtension {
                deadline: yesterday,
            },
            Timestamp(now().0 - 3 * DAY_MS),
        ),
    ] {
        let out = world.act(who, &id, action, claimed).await?;
        let Outcome::Refused(Refusal::Forbidden(why)) = &out else {
            panic!("a past date is refused: {out:?}");
        };
        assert!(
            why.contains("已经过去") && why.contains("has already passed"),
            "{why}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_never_settles_keeps_its_old_bound_only_within_the_settling_window()
-> anyhow::Result<()> {
    // No skew allowed, so the bound is exactly the recorded time. Wang's phone never reports
    // that nothing is left to send; its second push claims a time between its registration
    // and its first push.
    for (window_hours, clamped) in [(24, 0), (0, 1)] {
        let mut config = Config::demo();
        config.clock.allowed_skew_minutes = 0;
        config.clock.settle_within_hours = window_hours;
        let mut world = World::with_config(config).await?;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let between = now();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        world
            .raise(Tier::Department, now(), now().plus_days(7))
            .await?;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let id = world
            .raise(Tier::Department, between, between.plus_days(7))
            .await?;

        let row = world.row(&id).await?;
        let counted = n(&row["created_at"]);
        let today = world
            .kpis(Timestamp(between.0 - DAY_MS), between.plus_days(1))
            .await?;
        assert_eq!(
            (today["clamped"].as_i64(), counted == between.0),
            (Some(clamped), clamped == 0),
            "window {window_hours} h: within it the work left from before its first push \
             counts as claimed; past it the bound is its previous sync: {row} {today}"
        );
    }
    Ok(())
}
