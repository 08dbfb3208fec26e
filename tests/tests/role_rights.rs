//! Who may do what, through the real server's sync (in-process, a real SQLite file): every
//! workflow action and guarded field a device pushes is refused, with the rights table's
//! reason, unless the person's role (and the grant's condition) allows it.
//!
//! The property test brings fresh problems to random states by the people whose work each step
//! is, then lets a random person push a random action the state allows, and compares the
//! server's answer with the rules as the campaign states them (written out here, apart from the
//! table in `shared::workflow::rights`). Scenario tests cover extensions, past deadlines,
//! ratings and problems created already closed.

use std::sync::Arc;

use rand::{Rng as _, SeedableRng as _};
use server::AppState;
use server::sync::SyncService;
use shared::config::Config;
use shared::doc::{DocKind, NewProblem, NewVisit, ProblemDoc, VisitDoc};
use shared::model::{
    CheckIn, DAY_MS, DeviceId, EntryId, OperatingStatus, OrgUnitId, PositionFix, ProblemClass,
    ProblemId, ProblemSource, ProblemState, Rating, RatingChannel, Role, Tier, Timestamp, VisitId,
    VisitMethod,
};
use shared::sync::protocol::{DocId, Outcome, Refusal};
use shared::workflow::rights::{ActionKind, action_rule};
use shared::workflow::{self, Action};
use tempfile::TempDir;
use tests::TestServer;
use tests::device::id_bytes;
use tests::district::{self, PASSWORD, enterprise};
use tests::raw::{RawSession, doc_id, push_edit, push_new, stored};

/// The people of the district: two officers assigned the enterprise (one owns the problems),
/// handlers of the department problems are handed to and of another, the window, a leader and
/// a supervisor (both of the zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Wang,
    Li,
    H1,
    H2,
    Clerk,
    Boss,
    Sup,
}

const PEOPLE: [Who; 7] = [
    Who::Wang,
    Who::Li,
    Who::H1,
    Who::H2,
    Who::Clerk,
    Who::Boss,
    Who::Sup,
];

struct World {
    server: TestServer,
    service: Arc<SyncService>,
    _dir: TempDir,
    people: Vec<(Who, RawSession)>,
    d1: OrgUnitId,
    d2: OrgUnitId,
    next: u64,
}

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Timestamp(ms)
}

impl World {
    async fn new() -> anyhow::Result<World> {
        let dir = tempfile::tempdir()?;
        // The look-back falls due at sign-off (a district file may not say 0 days): a visit
        // checked in right after the sign-off lets it pass, which the server checks.
        let mut config = Config::default();
        config.follow_up.look_back_days = 0;
        let service = tests::sync_service_with(dir.path(), config)?;
        let server =
            TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
        district::officer(&service, "wang", [1]).await?;
        district::officer(&service, "li", [1]).await?;
        let (d1, d2) = service
            .with_store(|st| -> anyhow::Result<_> {
                let d1 = district::department(st, "d1")?;
                let d2 = district::department(st, "d2")?;
                let zone =
                    district::org_unit(st, district::ZONE, shared::model::OrgUnitKind::Zone, None)?;
                district::user(st, "h1", Role::DepartmentHandler, d1)?;
                district::user(st, "h2", Role::DepartmentHandler, d2)?;
                district::user(st, "clerk", Role::WindowClerk, zone)?;
                district::user(st, "boss", Role::Leader, zone)?;
                district::user(st, "sup", Role::Supervisor, zone)?;
                Ok((d1, d2))
            })
            .await
            .expect("the store thread ran")?;
        let base = server.url("");
        let mut people = Vec::new();
        for (n, who) in PEOPLE.iter().enumerate() {
            let login = format!("{who:?}").to_lowercase();
            let device = DeviceId::from_random_bytes(id_bytes(60, n as u64));
            people.push((
                *who,
                RawSession::login(&base, &login, PASSWORD, device).await?,
            ));
        }
        Ok(World {
            server,
            service,
            _dir: dir,
            people,
            d1,
            d2,
            next: 0,
        })
    }

    fn session(&self, who: Who) -> &RawSession {
        &self
            .people
            .iter()
            .find(|(w, _)| *w == who)
            .expect("everyone logged in")
            .1
    }

    fn id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// A new problem of enterprise 1 raised at the window, owned by Wang, due in a week.
    async fn raise(&mut self, tier: Tier) -> anyhow::Result<DocId> {
        let n = self.id();
        let clerk = self.session(Who::Clerk);
        let wang = self.session(Who::Wang).actor.user;
        let id = ProblemId::from_random_bytes(id_bytes(61, n));
        let mut doc = window_problem(clerk, id, tier, wang)?;
        let doc_id = doc_id(DocKind::Problem, id);
        let out = clerk
            .push(vec![push_new(doc_id.clone(), doc.record())])
            .await?;
        anyhow::ensure!(
            matches!(out[0].1, Outcome::Accepted { .. }),
            "the window raises a problem: {:?}",
            out[0].1
        );
        Ok(doc_id)
    }

    /// The stored problem, as `who` would edit it.
    async fn load(
        &self,
        who: Who,
        id: &DocId,
    ) -> anyhow::Result<(ProblemDoc, Vec<automerge::ChangeHash>)> {
        let actor_id = self.session(who).actor_id.clone();
        let id = id.clone();
        let (record, base) = self
            .service
            .with_store(move |st| stored(st, &id, actor_id))
            .await
            .expect("the store thread ran")?;
        Ok((ProblemDoc::from_record(record)?, base))
    }

    /// `who` edits the stored problem with `edit` and pushes the change; the server's answer.
    async fn push(
        &self,
        who: Who,
        id: &DocId,
        edit: impl FnOnce(&mut ProblemDoc, &shared::model::Actor) -> anyhow::Result<()>,
    ) -> anyhow::Result<Outcome> {
        let session = self.session(who);
        let (mut doc, base) = self.load(who, id).await?;
        edit(&mut doc, &session.actor)?;
        let out = session
            .push(vec![push_edit(id.clone(), doc.record(), &base)])
            .await?;
        Ok(out[0].1.clone())
    }

    /// `who` takes `action` (writing the response first where the action needs one).
    async fn act(&mut self, who: Who, id: &DocId, action: Action) -> anyhow::Result<Outcome> {
        let event = EntryId::from_random_bytes(id_bytes(62, self.id()));
        self.push(who, id, |doc, actor| {
            let needs_response = matches!(
                action,
                Action::Respond | Action::ResolveOnSite | Action::SignOff { .. }
            );
            if needs_response && doc.read()?.response.trim().is_empty() {
                doc.edit(&Config::default(), actor, now(), |p| {
                    p.set_response("已协调供电公司增容")
                })?;
            }
            doc.act(actor, now(), event, action, "按规定办理")?;
            Ok(())
        })
        .await
    }

    /// `who` visits enterprise 1 and checks in (the look-back's evidence).
    async fn visit(&mut self, who: Who) -> anyhow::Result<()> {
        let n = self.id();
        let session = self.session(who);
        let id = VisitId::from_random_bytes(id_bytes(63, n));
        let visit = NewVisit {
            id,
            enterprise: enterprise(1),
            method: VisitMethod::OnSite,
            check_in: Some(CheckIn {
                device_time: now(),
                position: PositionFix::PermissionRefused,
                photo_hash: None,
            }),
            operating_status: OperatingStatus::Normal,
            notes: "回头看".into(),
        };
        let mut doc = VisitDoc::create(&visit, &session.actor, session.actor_id.clone(), now())?
            .into_record();
        let out = session
            .push(vec![push_new(doc_id(DocKind::Visit, id), &mut doc)])
            .await?;
        anyhow::ensure!(
            matches!(out[0].1, Outcome::Accepted { .. }),
            "{who:?} visits: {:?}",
            out[0].1
        );
        Ok(())
    }

    /// A leader sets the problem's deadline `days` ago (it is overdue).
    async fn fall_due(&self, id: &DocId, days: i64) -> anyhow::Result<()> {
        let out = self
            .push(Who::Boss, id, |doc, actor| {
                doc.edit(&Config::default(), actor, now(), |p| {
                    p.set_deadline(Timestamp(now().0 - days * DAY_MS))
                })?;
                Ok(())
            })
            .await?;
        anyhow::ensure!(matches!(out, Outcome::Accepted { .. }), "{out:?}");
        Ok(())
    }

    /// A fresh problem brought to `state` by the people whose work each step is.
    async fn problem_in(&mut self, state: ProblemState) -> anyhow::Result<DocId> {
        use ProblemState as S;
        let tier = if state == S::ResolvedOnSite {
            Tier::OnSite
        } else {
            Tier::Department
        };
        let id = self.raise(tier).await?;
        let d1 = self.d1;
        let steps: Vec<(Who, Action)> = match state {
            S::Submitted => vec![],
            S::ResolvedOnSite => vec![(Who::Wang, Action::ResolveOnSite)],
            S::Withdrawn => vec![(Who::Clerk, Action::Withdraw)],
            _ => {
                let mut steps = vec![
                    (Who::Clerk, Action::Triage),
                    (Who::Clerk, Action::Assign { unit: d1 }),
                ];
                let worked = [
                    (Who::H1, Action::Accept),
                    (Who::H1, Action::Start),
                    (Who::H1, Action::Respond),
                ];
                let closed = [
                    (Who::Wang, Action::Confirm),
                    (Who::Wang, Action::SignOff { waiver: false }),
                ];
                match state {
                    S::Triaged => steps.truncate(1),
                    S::Assigned => {}
                    S::Returned => steps.push((Who::H1, Action::Return)),
                    S::Accepted => steps.extend_from_slice(&worked[..1]),
                    S::InProgress => steps.extend_from_slice(&worked[..2]),
                    S::Responded => steps.extend_from_slice(&worked),
                    S::Disputed => {
                        steps.extend_from_slice(&worked);
                        steps.push((Who::Wang, Action::Dispute));
                    }
                    S::Confirmed => {
                        steps.extend_from_slice(&worked);
                        steps.extend_from_slice(&closed[..1]);
                    }
                    S::SignedOff | S::LookBackPassed | S::Reopened => {
                        steps.extend_from_slice(&worked);
                        steps.extend_from_slice(&closed);
                        match state {
                            S::LookBackPassed => steps.push((Who::Wang, Action::LookBackPass)),
                            S::Reopened => steps.push((Who::Boss, Action::LookBackReopen)),
                            _ => {}
                        }
                    }
                    other => anyhow::bail!("no path to {other:?} in this test"),
                }
                steps
            }
        };
        for (who, action) in steps {
            let code = action.code();
            let signs_off = matches!(action, Action::SignOff { .. });
            let out = self.act(who, &id, action).await?;
            anyhow::ensure!(
                matches!(out, Outcome::Accepted { .. }),
                "{who:?} takes {code} on the way to {state:?}: {out:?}"
            );
            if signs_off {
                self.visit(Who::Wang).await?;
            }
        }
        let (doc, _) = self.load(Who::Boss, &id).await?;
        let reached = workflow::replay(&doc.read()?).state;
        anyhow::ensure!(reached == state, "reached {reached:?}, not {state:?}");
        Ok(id)
    }
}

/// A problem of enterprise 1 raised at the window by `clerk`, owned by `owner`, due in a week.
fn window_problem(
    clerk: &RawSession,
    id: ProblemId,
    tier: Tier,
    owner: shared::model::UserId,
) -> anyhow::Result<ProblemDoc> {
    Ok(ProblemDoc::create(
        &NewProblem {
            id,
            enterprise: enterprise(1),
            visit: None,
            source: ProblemSource::Window,
            category: "power".into(),
            class: ProblemClass::A,
            tier,
            owner,
            leader: None,
            deadline: now().plus_days(7),
            description: "变压器容量不足".into(),
            expectation: "增容".into(),
        },
        &Config::default(),
        &clerk.actor,
        clerk.actor_id.clone(),
        now(),
    )?)
}

/// The campaign's rules, as the issue states them: `handler_of_unit` (their department has
/// it), `to_city_leader` (an escalation to the top).
fn allowed(role: Role, kind: ActionKind, handler_of_unit: bool, to_city_leader: bool) -> bool {
    use ActionKind as K;
    use Role as R;
    match (kind, role) {
        (K::Triage | K::Assign | K::MergeDuplicate, R::WindowClerk | R::Leader) => true,
        (K::Accept | K::Return | K::Start | K::RequestExtension, R::DepartmentHandler) => {
            handler_of_unit
        }
        (K::Respond, R::Officer) => true,
        (K::Respond, R::DepartmentHandler) => handler_of_unit,
        // The enterprise's word (confirmation, dispute) and the look-back are the officer's
        // to record; a handler never certifies its own work.
        (
            K::ResolveOnSite | K::Confirm | K::Dispute | K::RequestWaiver | K::LookBackPass,
            R::Officer,
        ) => true,
        (K::SignOff, R::Officer | R::Leader) => true,
        // A waiver, an extension and its refusal, and "not resolvable" are a leader's.
        (K::SignOffWaiver | K::Extend | K::RefuseExtension | K::NotResolvable, R::Leader) => true,
        (K::LookBackReopen, R::Officer | R::Leader | R::Supervisor) => true,
        (K::Escalate, R::Leader) => true,
        (K::Escalate, R::Officer | R::DepartmentHandler | R::Supervisor) => !to_city_leader,
        (K::Withdraw, R::Officer | R::WindowClerk | R::Leader) => true,
        _ => false,
    }
}

const STATES: [ProblemState; 14] = [
    ProblemState::Submitted,
    ProblemState::Triaged,
    ProblemState::Assigned,
    ProblemState::Returned,
    ProblemState::Accepted,
    ProblemState::InProgress,
    ProblemState::Responded,
    ProblemState::Disputed,
    ProblemState::Confirmed,
    ProblemState::SignedOff,
    ProblemState::LookBackPassed,
    ProblemState::Reopened,
    ProblemState::ResolvedOnSite,
    ProblemState::Withdrawn,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_a_role_may_not_take_is_refused_with_its_reason_and_every_other_accepted()
-> anyhow::Result<()> {
    let mut world = World::new().await?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
    let (mut allowed_seen, mut refused_seen, mut probes) = (0, 0, 0);
    // Bounded: 160 probes the state allows, out of at most 4,000 draws.
    for _ in 0..4_000 {
        if probes == 160 {
            break;
        }
        let state = STATES[rng.random_range(0..STATES.len())];
        let who = PEOPLE[rng.random_range(0..PEOPLE.len())];
        let kind = ActionKind::ALL[rng.random_range(0..ActionKind::ALL.len())];
        // Handlers see a problem only once it is handed to their department; H2's never is.
        let handed = !matches!(
            state,
            ProblemState::Submitted
                | ProblemState::Triaged
                | ProblemState::ResolvedOnSite
                | ProblemState::Withdrawn
        );
        if who == Who::H2 || (who == Who::H1 && !handed) {
            continue;
        }
        // What the state allows is the guards' business: probe only actions it allows.
        let id = world.problem_in(state).await?;
        let (doc, _) = world.load(Who::Boss, &id).await?;
        let problem = doc.read()?;
        let outcome = workflow::replay(&problem);
        let later = Timestamp(outcome.deadline.0.max(now().0) + 30 * DAY_MS);
        let action = match kind {
            ActionKind::Assign => Some(Action::Assign { unit: world.d2 }),
            ActionKind::MergeDuplicate => Some(Action::MergeDuplicate {
                into: ProblemId::from_random_bytes(id_bytes(63, world.id())),
            }),
            other => shared::forms::build_action(other, outcome.tier, Some(later)),
        };
        let Some(action) = action else { continue };
        let mut with_response = problem.clone();
        with_response.response = "已协调供电公司增容".into();
        if workflow::check(&with_response, &action, "按规定办理").is_err() {
            continue;
        }
        probes += 1;
        let role = world.session(who).actor.role;
        let expected = allowed(
            role,
            kind,
            who == Who::H1 && problem.handling_units.contains(&world.d1),
            matches!(
                action,
                Action::Escalate {
                    to: Tier::CityLeader
                }
            ),
        );
        let out = world.act(who, &id, action).await?;
        match (&out, expected) {
            (Outcome::Accepted { .. }, true) => allowed_seen += 1,
            (Outcome::Refused(Refusal::Forbidden(why)), false) => {
                assert!(
                    why.contains(action_rule(kind).why.1),
                    "{who:?} {kind:?} in {state:?}: the refusal gives the table's reason: {why}"
                );
                refused_seen += 1;
            }
            (out, expected) => panic!(
                "{who:?} ({role:?}) {kind:?} in {state:?}: expected {}, got {out:?}",
                if expected { "accepted" } else { "refused" }
            ),
        }
    }
    assert_eq!(probes, 160, "enough probes the states allow");
    assert!(
        allowed_seen >= 20 && refused_seen >= 20,
        "both sides covered: {allowed_seen} accepted, {refused_seen} refused"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handlers_extension_is_a_request_the_deadline_moves_only_when_a_leader_approves()
-> anyhow::Result<()> {
    let mut world = World::new().await?;
    let id = world.problem_in(ProblemState::Accepted).await?;
    let (doc, _) = world.load(Who::Boss, &id).await?;
    let due = workflow::replay(&doc.read()?).deadline;
    let asked = due.plus_days(14);

    let out = world
        .act(Who::H1, &id, Action::Extend { deadline: asked })
        .await?;
    assert!(
        matches!(&out, Outcome::Refused(Refusal::Forbidden(m)) if m.contains("ask for an extension")),
        "a handler does not extend: {out:?}"
    );
    let out = world
        .act(Who::H1, &id, Action::RequestExtension { deadline: asked })
        .await?;
    assert!(matches!(out, Outcome::Accepted { .. }), "{out:?}");
    let (doc, _) = world.load(Who::Boss, &id).await?;
    let pending = workflow::replay(&doc.read()?);
    assert_eq!(
        pending.deadline, due,
        "the old deadline counts until approved"
    );
    assert_eq!(pending.pending_extension, Some(asked));

    let out = world
        .act(Who::Boss, &id, Action::Extend { deadline: asked })
        .await?;
    assert!(matches!(out, Outcome::Accepted { .. }), "{out:?}");
    let (doc, _) = world.load(Who::Boss, &id).await?;
    let approved = workflow::replay(&doc.read()?);
    assert_eq!(approved.deadline, asked);
    assert_eq!(approved.pending_extension, None);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_of_an_overdue_problem_to_a_date_already_past_is_refused_clearly()
-> anyhow::Result<()> {
    let mut world = World::new().await?;
    let id = world.problem_in(ProblemState::Accepted).await?;
    // The problem fell due ten days ago; "yesterday" is later than that, but past.
    world.fall_due(&id, 10).await?;
    let yesterday = Timestamp(now().0 - DAY_MS);
    let out = world
        .act(
            Who::Boss,
            &id,
            Action::Extend {
                deadline: yesterday,
            },
        )
        .await?;
    assert!(
        matches!(&out, Outcome::Refused(Refusal::Forbidden(m)) if m.contains("has already passed")),
        "{out:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rating_is_recorded_by_the_visiting_officer_with_its_channel_and_never_by_a_handler()
-> anyhow::Result<()> {
    let mut world = World::new().await?;
    let id = world.problem_in(ProblemState::Responded).await?;
    let rate = |channel: RatingChannel| {
        move |doc: &mut ProblemDoc, actor: &shared::model::Actor| -> anyhow::Result<()> {
            doc.edit(&Config::default(), actor, now(), |p| {
                p.set_rating(Rating::Satisfied, "响应及时", channel)
            })?;
            Ok(())
        }
    };
    let out = world
        .push(Who::H1, &id, rate(RatingChannel::Officer))
        .await?;
    assert!(
        matches!(&out, Outcome::Refused(Refusal::Forbidden(m)) if m.contains("rating")),
        "a handler does not rate its own work: {out:?}"
    );
    let out = world
        .push(Who::Wang, &id, rate(RatingChannel::Enterprise))
        .await?;
    assert!(
        matches!(&out, Outcome::Refused(Refusal::Forbidden(m)) if m.contains("through its card")),
        "a device does not claim the enterprise's own channel: {out:?}"
    );
    let out = world
        .push(Who::Wang, &id, rate(RatingChannel::Officer))
        .await?;
    assert!(matches!(out, Outcome::Accepted { .. }), "{out:?}");
    let (doc, _) = world.load(Who::Boss, &id).await?;
    let rating = doc.read()?.rating.expect("rated");
    assert_eq!(rating.channel, RatingChannel::Officer);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_clerk_cannot_create_a_problem_that_is_already_closed() -> anyhow::Result<()> {
    let world = World::new().await?;
    let clerk = world.session(Who::Clerk);
    let id = ProblemId::from_random_bytes(id_bytes(64, 1));
    let mut doc = window_problem(clerk, id, Tier::OnSite, world.session(Who::Wang).actor.user)?;
    doc.edit(&Config::default(), &clerk.actor, now(), |p| {
        p.set_response("已解决")
    })?;
    for (n, action) in [Action::ResolveOnSite, Action::SignOff { waiver: true }]
        .into_iter()
        .enumerate()
    {
        let event = EntryId::from_random_bytes(id_bytes(65, n as u64));
        doc.act(&clerk.actor, now(), event, action, "企业电话确认")?;
    }
    let out = clerk
        .push(vec![push_new(doc_id(DocKind::Problem, id), doc.record())])
        .await?;
    assert!(
        matches!(&out[0].1, Outcome::Refused(Refusal::Forbidden(m)) if m.contains("window clerk may not")),
        "{:?}",
        out[0].1
    );
    drop(world.server);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_made_offline_to_a_date_then_ahead_is_accepted_when_it_syncs_after_it()
-> anyhow::Result<()> {
    let mut world = World::new().await?;
    let id = world.problem_in(ProblemState::Accepted).await?;
    // The problem fell due ten days ago.
    world.fall_due(&id, 10).await?;
    // Made five minutes ago, offline, asking for two minutes ago: the date was ahead then. (The
    // event's time counts as made, not clamped: it is within the allowed ten minutes of the
    // phone's previous sync, here its login; a phone offline for days has synced days before.)
    let made = Timestamp(now().0 - 5 * 60_000);
    let asked = Timestamp(now().0 - 2 * 60_000);
    let event = EntryId::from_random_bytes(id_bytes(66, 1));
    let out = world
        .push(Who::H1, &id, |doc, actor| {
            doc.act(
                actor,
                made,
                event,
                Action::RequestExtension { deadline: asked },
                "等待设备到货",
            )?;
            Ok(())
        })
        .await?;
    assert!(matches!(out, Outcome::Accepted { .. }), "{out:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_leader_takes_a_problem_down_from_the_city_leader_tier() -> anyhow::Result<()> {
    let mut world = World::new().await?;
    let id = world.problem_in(ProblemState::Submitted).await?;
    let set = |tier: Tier| {
        move |doc: &mut ProblemDoc, actor: &shared::model::Actor| -> anyhow::Result<()> {
            doc.edit(&Config::default(), actor, now(), |p| p.set_tier(tier))?;
            Ok(())
        }
    };
    let out = world.push(Who::Boss, &id, set(Tier::CityLeader)).await?;
    assert!(matches!(out, Outcome::Accepted { .. }), "{out:?}");

    let out = world.push(Who::Wang, &id, set(Tier::Department)).await?;
    assert!(
        matches!(&out, Outcome::Refused(Refusal::Forbidden(m)) if m.contains("city-leader tier")),
        "{out:?}"
    );
    let out = world.push(Who::Boss, &id, set(Tier::Department)).await?;
    assert!(matches!(out, Outcome::Accepted { .. }), "{out:?}");
    Ok(())
}
