//! The KPIs a leader's dashboard shows, recomputed independently (issue 13, "Tests"): random
//! people take random actions on random problems, raise problems and record visits through the
//! real server's sync (in-process, a real SQLite file), each from a phone whose clock claims a
//! time inside the allowed window, back-dated beyond the skew or in the future, and the
//! enterprise acts on its 连心卡's page. Then the KPIs `GET /api/dashboard/kpis` answers (the
//! zone over everything, the zone over a period that ends exactly at one counted time, the
//! rest of the run, and department d1) must equal what `tests::kpi_oracle` computes from the
//! documents as stored and the receipt times the server answered each push with, applying the
//! definitions as the issue and the dashboard state them, written out apart from the server's
//! SQL and from `shared::server_time`.
//!
//! Random seeds; a failure names its seed, and `LIANXIN_KPI_SEED=<seed>` replays it.

use anyhow::Context as _;
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use server::api::Kpis;
use shared::config::Config;
use shared::doc::{DocKind, EnterpriseDoc, NewEnterprise, NewVisit, VisitDoc};
use shared::model::{
    CheckIn, CreditCode, DAY_MS, EnterpriseSize, EntryId, OperatingStatus, OrgUnitId, Position,
    PositionFix, Problem, ProblemId, Rating, RatingChannel, Tier, Timestamp, Visit, VisitId,
    VisitMethod,
};
use shared::sync::protocol::DocId;
use shared::workflow::rights::ActionKind;
use shared::workflow::{self, Action};
use tests::device::id_bytes;
use tests::district::{self, enterprise};
use tests::kpi_oracle::{Brought, Ledger, Scope, Stamp, differences, recompute, stamps};
use tests::problem_world::{PEOPLE, Pushed, Who, World, new_problem, now};
use tests::raw::{commit_as_server, doc_id, push_new};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
/// Worlds per run, and steps per world: about 20 s in a debug build.
const CASES: u64 = 5;
const STEPS: usize = 120;

// ---------------------------------------------------------------------------------------------
// The run: a district, problems and visits with random claimed times, random actions.

/// A time a phone's clock may say: inside the allowed window, back-dated beyond the skew, or
/// in the future.
fn claim(rng: &mut ChaCha8Rng) -> Timestamp {
    let t = now().0;
    Timestamp(match rng.random_range(0..4) {
        0 | 1 => t - rng.random_range(0..8 * MINUTE),
        2 => t - rng.random_range(HOUR..20 * DAY_MS),
        _ => t + rng.random_range(2 * MINUTE..10 * DAY_MS),
    })
}

/// Whose work an action usually is (others try it too, and are refused or not).
fn usual(kind: ActionKind) -> &'static [Who] {
    use ActionKind as K;
    match kind {
        K::Triage | K::Assign | K::MergeDuplicate => &[Who::Clerk, Who::Boss],
        K::Accept | K::Return | K::Start | K::RequestExtension => &[Who::H1],
        K::Respond => &[Who::H1, Who::Wang],
        K::SignOffWaiver | K::Extend | K::RefuseExtension | K::NotResolvable => &[Who::Boss],
        K::LookBackReopen => &[Who::Boss, Who::Sup, Who::Wang],
        K::Escalate => &[Who::Boss, Who::Wang],
        K::Withdraw => &[Who::Clerk, Who::Wang],
        _ => &[Who::Wang, Who::Li],
    }
}

/// What a step does to a problem.
#[derive(Debug)]
enum Move {
    /// A workflow action from a phone.
    Act(ActionKind, Action),
    /// A rating recorded on an officer's phone.
    Rate(Rating, RatingChannel),
    /// The enterprise on its card's page: `confirm`, `dispute` or `rate`.
    Card(&'static str, Rating),
}

struct Run {
    world: World,
    rng: ChaCha8Rng,
    ledger: Ledger,
    problems: Vec<DocId>,
    visits: Vec<DocId>,
    card: String,
    http: reqwest::Client,
}

impl Run {
    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.rng.random_range(0..from.len())]
    }

    fn person(&mut self, usual: &[Who]) -> Who {
        if self.rng.random_bool(0.7) {
            self.pick(usual)
        } else {
            self.pick(&PEOPLE)
        }
    }

    /// `who`'s device's previous settled sync (or registration) as the server has recorded it:
    /// the bound of the times it may claim in its next push.
    async fn recorded(&self, who: Who) -> anyhow::Result<Option<Timestamp>> {
        let device = self.world.session(who).actor.device;
        Ok(self
            .world
            .service
            .with_store(move |st| st.previous_sync(device, now(), &Config::demo().clock))
            .await
            .context("the store thread stopped")??)
    }

    async fn stored_problem(&self, id: &DocId) -> anyhow::Result<Problem> {
        Ok(self.world.load(Who::Boss, id).await?.0.read()?)
    }

    async fn stored_visit(&self, id: &DocId) -> anyhow::Result<Visit> {
        let id = id.clone();
        let s = self
            .world
            .service
            .with_store(move |st| shared::sync::server::ServerStore::load_doc(st, &id))
            .await
            .context("the store thread stopped")??
            .context("the visit is stored")?;
        Ok(VisitDoc::load(&s.bytes, shared::doc::ActorId::from([9; 16]))?.read()?)
    }

    /// Problems the server recorded days ago (existing records, on its own clock at the time).
    async fn old_problem(&mut self) -> anyhow::Result<()> {
        let age = self.rng.random_range(1..=40) * DAY_MS + self.rng.random_range(HOUR..23 * HOUR);
        let created = Timestamp(now().0 - age);
        let tier = self.pick(&[Tier::OnSite, Tier::Department]);
        let id = ProblemId::from_random_bytes(id_bytes(80, self.world.id()));
        let wang = self.world.session(Who::Wang);
        let doc = new_problem(
            &wang.actor,
            wang.actor_id.clone(),
            id,
            tier,
            wang.actor.user,
            created,
        )?;
        let id = doc_id(DocKind::Problem, id);
        let record = (id.clone(), doc.into_record());
        self.world
            .service
            .with_store(move |st| commit_as_server(st, vec![record], created))
            .await
            .context("the store thread stopped")??;
        let p = self.stored_problem(&id).await?;
        // Pushed as the server's fixture device: received "then", no earlier sync known.
        let by = Brought::Device {
            received_at: created,
            settled: None,
        };
        self.ledger.observe(&p, by);
        self.problems.push(id);
        Ok(())
    }

    /// Someone raises a problem (the window, an officer, the leader; or someone who may not).
    async fn raise(&mut self) -> anyhow::Result<()> {
        let who = self.person(&[Who::Clerk, Who::Wang, Who::Li, Who::Boss]);
        let tier = self.pick(&[Tier::OnSite, Tier::Department]);
        let (claimed, settled) = (claim(&mut self.rng), self.rng.random_bool(0.3));
        let recorded = self.recorded(who).await?;
        let (id, pushed) = self.world.raise_as(who, tier, claimed, settled).await?;
        let by = self.ledger.pushed(who, &pushed, settled, recorded)?;
        if pushed.accepted() {
            let p = self.stored_problem(&id).await?;
            self.ledger.observe(&p, by);
            self.problems.push(id);
        }
        Ok(())
    }

    /// An officer (or someone else) records a visit to enterprise 1: mostly on site, checked
    /// in up to 1.5 km north of the enterprise's gate or without permission, with a photo or
    /// not (what the on-site evidence KPI judges).
    async fn visit(&mut self) -> anyhow::Result<()> {
        let who = self.person(&[Who::Wang, Who::Li]);
        let (claimed, settled) = (claim(&mut self.rng), self.rng.random_bool(0.3));
        let n = self.world.id();
        let id = VisitId::from_random_bytes(id_bytes(81, n));
        let method = if self.rng.random_bool(0.8) {
            VisitMethod::OnSite
        } else {
            VisitMethod::Phone
        };
        let position = if self.rng.random_bool(0.8) {
            let north = self.rng.random_range(0.0..0.0135);
            PositionFix::Fixed(Position::new(35.07 + north, 112.6, 15.0)?)
        } else {
            PositionFix::PermissionRefused
        };
        let photo_hash = self.rng.random_bool(0.6).then(|| format!("{n:064x}"));
        let new = NewVisit {
            id,
            enterprise: enterprise(1),
            method,
            check_in: Some(CheckIn {
                device_time: claimed,
                position,
                photo_hash,
            }),
            operating_status: OperatingStatus::Normal,
            notes: "走访了解用电情况".into(),
        };
        let recorded = self.recorded(who).await?;
        let session = self.world.session(who);
        let mut doc = VisitDoc::create(&new, &session.actor, session.actor_id.clone(), claimed)?;
        let id = doc_id(DocKind::Visit, id);
        let (out, received_at) = session
            .push_timed(vec![push_new(id.clone(), doc.record())], settled)
            .await?;
        let outcome = out.into_iter().next().context("an outcome")?.1;
        let pushed = Pushed {
            outcome,
            received_at,
        };
        let by = self.ledger.pushed(who, &pushed, settled, recorded)?;
        if pushed.accepted() {
            let v = self.stored_visit(&id).await?;
            self.ledger
                .brought
                .insert(Stamp::Created(v.id.to_string()), by);
            self.visits.push(id);
        }
        Ok(())
    }

    /// The workflow actions `p`'s state allows now.
    fn actions(&mut self, p: &Problem) -> Vec<Move> {
        let outcome = workflow::replay(p);
        let later = Timestamp(
            outcome.deadline.0.max(now().0)
                + self.rng.random_range(3..40) * DAY_MS
                + self.rng.random_range(HOUR..20 * HOUR),
        );
        let mut answered = p.clone();
        answered.response = "已协调供电公司增容".into();
        let mut moves = Vec::new();
        for &kind in ActionKind::ALL {
            let action = match kind {
                ActionKind::Assign => Some(Action::Assign {
                    unit: if self.rng.random_bool(0.9) {
                        self.world.d1
                    } else {
                        self.world.d2
                    },
                }),
                ActionKind::MergeDuplicate => self.problems.first().and_then(|first| {
                    let into = ProblemId::parse(first.root_id()).ok()?;
                    (into != p.id).then_some(Action::MergeDuplicate { into })
                }),
                other => shared::forms::build_action(other, outcome.tier, Some(later)),
            };
            if let Some(action) = action
                && workflow::check(&answered, &action, "按规定办理").is_ok()
            {
                moves.push(Move::Act(kind, action));
            }
        }
        moves
    }

    /// A move on `p`: mostly an action its state allows, else a rating from a phone, else the
    /// enterprise on its card's page (which allows 60 requests per 10 minutes).
    fn choose(&mut self, p: &Problem) -> Move {
        let rating = self.pick(Rating::ALL);
        let mut actions = self.actions(p);
        // Closing without a solution ends a problem's story, and an escalation gives it a
        // month: mostly left out, so most problems get further and some fall due.
        if self.rng.random_bool(0.8) {
            actions.retain(|m| {
                !matches!(
                    m,
                    Move::Act(
                        ActionKind::Withdraw
                            | ActionKind::MergeDuplicate
                            | ActionKind::NotResolvable
                            | ActionKind::Escalate,
                        _
                    )
                )
            });
        }
        match self.rng.random_range(0..100) {
            0..12 => Move::Card(self.pick(&["confirm", "dispute", "rate"]), rating),
            12..24 => Move::Rate(
                rating,
                self.pick(&[RatingChannel::Officer, RatingChannel::OfficerSigned]),
            ),
            _ if actions.is_empty() => Move::Rate(rating, RatingChannel::Officer),
            _ => actions.swap_remove(self.rng.random_range(0..actions.len())),
        }
    }

    /// A random move on a random problem, by a random person from a phone with a random clock.
    async fn step(&mut self) -> anyhow::Result<()> {
        let id = self.problems[self.rng.random_range(0..self.problems.len())].clone();
        let p = self.stored_problem(&id).await?;
        let chosen = self.choose(&p);
        let (claimed, settled) = (claim(&mut self.rng), self.rng.random_bool(0.3));
        let who = match &chosen {
            Move::Act(kind, _) => self.person(usual(*kind)),
            _ => self.person(&[Who::Wang, Who::Li]),
        };
        let recorded = self.recorded(who).await?;
        let pushed = match chosen {
            Move::Act(_, action) => {
                self.world
                    .act_at(who, &id, action, claimed, settled)
                    .await?
            }
            Move::Rate(rating, channel) => {
                let event = EntryId::from_random_bytes(id_bytes(82, self.world.id()));
                self.world
                    .push_timed(who, &id, settled, |doc, actor| {
                        let config = Config::default();
                        doc.rate(&config, actor, claimed, event, rating, "评价", channel)?;
                        Ok(())
                    })
                    .await?
            }
            Move::Card(op, rating) => {
                let url = format!("{}/p/{}/{op}", self.card, p.id);
                let level = rating.level().to_string();
                let form = [
                    ("rating", level.as_str()),
                    ("comment", "企业自评"),
                    ("reason", "问题没有解决"),
                ];
                self.http.post(&url).form(&form).send().await?;
                let p = self.stored_problem(&id).await?;
                self.ledger.observe(&p, Brought::Server);
                return Ok(());
            }
        };
        let by = self.ledger.pushed(who, &pushed, settled, recorded)?;
        if pushed.accepted() {
            let p = self.stored_problem(&id).await?;
            self.ledger.observe(&p, by);
        }
        Ok(())
    }

    /// The KPIs the leader's dashboard answers for `[from, to)` (and `unit`), with the server's
    /// clock bracketed.
    async fn dashboard(
        &self,
        (from, to): (i64, i64),
        unit: Option<OrgUnitId>,
    ) -> anyhow::Result<(Kpis, (i64, i64))> {
        let mut url = format!("/api/dashboard/kpis?from={from}&to={to}");
        if let Some(u) = unit {
            url.push_str(&format!("&unit={u}"));
        }
        let before = now().0;
        let resp = self
            .http
            .get(self.world.server.url(&url))
            .bearer_auth(&self.world.session(Who::Boss).token)
            .send()
            .await?;
        anyhow::ensure!(resp.status() == 200, "{url}: {}", resp.status());
        let kpis: Kpis = resp.json().await?;
        Ok((kpis, (before, now().0)))
    }
}

/// Enterprise 1's profile in town-1, as the server stores existing records.
async fn profile(world: &World) -> anyhow::Result<()> {
    let town = world
        .service
        .with_store(|st| district::town(st, "town-1"))
        .await
        .context("the store thread stopped")??;
    let new = NewEnterprise {
        id: enterprise(1),
        credit_code: CreditCode::from_parts('9', '1', "419001", "30000013")?,
        name: "济源市连心测试有限公司".into(),
        address: "玉泉街道".into(),
        town,
        industry: "装备制造".into(),
        size: EnterpriseSize::AboveDesignated,
        key_enterprise: false,
        position: None,
    };
    let boss = world.session(Who::Boss);
    let doc = EnterpriseDoc::create(&new, &boss.actor, boss.actor_id.clone(), now())?;
    let record = (
        doc_id(DocKind::Enterprise, enterprise(1)),
        doc.into_record(),
    );
    world
        .service
        .with_store(move |st| commit_as_server(st, vec![record], now()))
        .await
        .context("the store thread stopped")??;
    Ok(())
}

/// What the runs exercised (the zone over everything), for the coverage check.
#[derive(Debug, Default)]
struct Seen {
    problems: u64,
    clamped: u64,
    answered: u64,
    late: u64,
    resolved: u64,
    overdue: u64,
    rated: u64,
    rated_by_enterprise: u64,
    look_backs: u64,
    visits: u64,
    visits_with_evidence: u64,
}

impl Seen {
    fn add(&mut self, k: &Kpis) {
        self.problems += k.problems;
        self.clamped += k.clamped;
        self.answered += k.answered;
        self.late += k.answered - k.on_time;
        self.resolved += k.resolved;
        self.overdue += k.overdue;
        self.rated += k.rated;
        self.rated_by_enterprise += k.rated_by_channel.enterprise.rated;
        self.look_backs += k.look_backs_passed + k.look_backs_reopened;
        self.visits += k.visits;
        self.visits_with_evidence += k.visits_with_evidence;
    }
}

async fn case(seed: u64, seen: &mut Seen) -> anyhow::Result<()> {
    let world = World::new().await?;
    profile(&world).await?;
    let http = reqwest::Client::new();
    let card: serde_json::Value = http
        .get(
            world
                .server
                .url(&format!("/api/enterprises/{}/card", enterprise(1))),
        )
        .bearer_auth(&world.session(Who::Wang).token)
        .send()
        .await?
        .json()
        .await?;
    let card = card["link"]
        .as_str()
        .context("the card's link")?
        .to_string();
    let mut run = Run {
        world,
        rng: ChaCha8Rng::seed_from_u64(seed),
        ledger: Ledger::default(),
        problems: Vec::new(),
        visits: Vec::new(),
        card,
        http,
    };
    let start = now().0;
    // Every phone syncs once with nothing to send: the bound of what it claims next.
    for who in PEOPLE {
        let (_, at) = run.world.session(who).push_timed(vec![], true).await?;
        run.ledger.settled.insert(who, at);
    }
    for _ in 0..run.rng.random_range(3..=6) {
        run.old_problem().await?;
    }
    for _ in 0..3 {
        run.raise().await?;
    }
    for _ in 0..STEPS {
        match run.rng.random_range(0..100) {
            0..10 => run.raise().await?,
            10..18 => run.visit().await?,
            _ => run.step().await?,
        }
    }
    let end = now().0;

    let mut problems = Vec::new();
    for id in &run.problems {
        problems.push(run.stored_problem(id).await?);
    }
    let mut visits = Vec::new();
    for id in &run.visits {
        visits.push(run.stored_visit(id).await?);
    }
    // A period cut exactly at one of the times counted during the run.
    let counted_times: Vec<i64> = problems
        .iter()
        .flat_map(stamps)
        .filter_map(|(s, claimed)| run.ledger.counted(&s, claimed).ok())
        .map(|(at, _)| at)
        .filter(|at| *at >= start)
        .collect();
    let cut = if counted_times.is_empty() {
        end
    } else {
        run.pick(&counted_times)
    };
    let back = run.rng.random_range(2..10) * DAY_MS + run.rng.random_range(0..DAY_MS);
    let all = (start - 60 * DAY_MS, end + DAY_MS);
    let d1 = run.world.d1;
    let questions = [
        ("the zone, everything", all, None, Scope::Zone),
        (
            "the zone, up to the cut",
            (start - back, cut),
            None,
            Scope::Zone,
        ),
        (
            "the zone, from the cut",
            (cut, end + DAY_MS),
            None,
            Scope::Zone,
        ),
        ("department d1", all, Some(d1), Scope::Department(d1)),
    ];
    for (name, period, unit, scope) in questions {
        let (got, (before, after)) = run.dashboard(period, unit).await?;
        let want = recompute(scope, &problems, &visits, &run.ledger, period, before)?;
        let also = recompute(scope, &problems, &visits, &run.ledger, period, after)?;
        anyhow::ensure!(
            want.overdue == also.overdue,
            "{name}: a deadline fell due during the query"
        );
        let diff = differences(
            &serde_json::to_value(&want)?,
            &serde_json::to_value(&got)?,
            "",
        );
        anyhow::ensure!(
            diff.is_empty(),
            "{name} {period:?}: the dashboard disagrees with the definitions:\n  {}",
            diff.join("\n  ")
        );
        if name == "the zone, everything" {
            seen.add(&want);
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboards_kpis_equal_the_definitions_applied_to_the_documents_and_receipts()
-> anyhow::Result<()> {
    let seed = std::env::var("LIANXIN_KPI_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("seed {seed} (replay with LIANXIN_KPI_SEED={seed})");
    let mut seen = Seen::default();
    for n in 0..CASES {
        case(seed.wrapping_add(n), &mut seen)
            .await
            .with_context(|| format!("seed {seed}, case {n} (LIANXIN_KPI_SEED={seed})"))?;
    }
    eprintln!("covered: {seen:?}");
    anyhow::ensure!(
        seen.clamped > 0
            && seen.problems > seen.clamped / 10
            && seen.answered > 0
            && seen.visits > seen.visits_with_evidence
            && seen.visits_with_evidence > 0,
        "seed {seed}: the run exercised too little: {seen:?}"
    );
    Ok(())
}
