//! Who may do what, through the real server's sync (in-process, a real SQLite file): every
//! workflow action and guarded field a device pushes is refused, with the rights table's
//! reason, unless the person's role (and the grant's condition) allows it.
//!
//! The property test brings fresh problems to random states by the people whose work each step
//! is, then lets a random person push a random action the state allows, and compares the
//! server's answer with the rules as the campaign states them (written out here, apart from the
//! table in `shared::workflow::rights`). Scenario tests cover extensions, past deadlines,
//! ratings and problems created already closed.

use rand::{Rng as _, SeedableRng as _};
use shared::config::Config;
use shared::doc::{DocKind, ProblemDoc};
use shared::model::{
    DAY_MS, EntryId, ProblemId, ProblemState, Rating, RatingChannel, Role, Tier, Timestamp,
};
use shared::sync::protocol::{Outcome, Refusal};
use shared::workflow::rights::{ActionKind, action_rule};
use shared::workflow::{self, Action};
use tests::device::id_bytes;
use tests::problem_world::{PEOPLE, Who, World, new_problem, now};
use tests::raw::{doc_id, push_new};

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

/// The district, on a server whose look-back falls due at sign-off (a district file may not
/// say 0 days): the visit the district records after each sign-off lets a look-back pass,
/// which the server checks.
async fn world() -> anyhow::Result<World> {
    let mut config = Config::demo();
    config.follow_up.look_back_days = 0;
    World::with_config(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_a_role_may_not_take_is_refused_with_its_reason_and_every_other_accepted()
-> anyhow::Result<()> {
    let mut world = world().await?;
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
    let mut world = world().await?;
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
    let mut world = world().await?;
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
    let mut world = world().await?;
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
    let world = world().await?;
    let clerk = world.session(Who::Clerk);
    let id = ProblemId::from_random_bytes(id_bytes(64, 1));
    let wang = world.session(Who::Wang).actor.user;
    let mut doc = new_problem(
        &clerk.actor,
        clerk.actor_id.clone(),
        id,
        Tier::OnSite,
        wang,
        now(),
    )?;
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
    let mut world = world().await?;
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
    let mut world = world().await?;
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
