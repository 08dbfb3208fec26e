//! A district for workflow tests through the real server's sync (in-process, a real SQLite
//! file): the people whose work a problem is, logged in with the protocol by hand, problems of
//! enterprise 1 raised and acted on by them with the time each one's phone claims, and the
//! receipt time the server answered with (`SyncResponse::server_time`, the time it counts a
//! request as received at). Shared by the rights and KPI property tests.

use std::sync::Arc;

use server::AppState;
use server::sync::SyncService;
use shared::config::Config;
use shared::doc::{DocKind, NewProblem, NewVisit, ProblemDoc, VisitDoc};
use shared::model::{
    Actor, CheckIn, DAY_MS, DeviceId, EntryId, OperatingStatus, OrgUnitId, OrgUnitKind,
    PositionFix, ProblemClass, ProblemId, ProblemSource, ProblemState, Role, Tier, Timestamp,
    UserId, VisitId, VisitMethod,
};
use shared::sync::protocol::{DocId, Outcome};
use shared::workflow::{self, Action};
use tempfile::TempDir;

use crate::TestServer;
use crate::device::{id_bytes, wall_clock};
use crate::district::{self, PASSWORD, enterprise};
use crate::raw::{RawSession, doc_id, push_edit, push_new, stored};

/// The people of the district: two officers assigned enterprise 1 (Wang owns its problems),
/// handlers of the department problems are handed to (d1) and of another (d2), the window, a
/// leader and a supervisor (both of the zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Who {
    /// Officer, owner of the problems.
    Wang,
    /// Officer.
    Li,
    /// Handler of d1.
    H1,
    /// Handler of d2.
    H2,
    /// Window clerk.
    Clerk,
    /// Zone leader.
    Boss,
    /// Zone supervisor.
    Sup,
}

/// Everyone, in a fixed order.
pub const PEOPLE: [Who; 7] = [
    Who::Wang,
    Who::Li,
    Who::H1,
    Who::H2,
    Who::Clerk,
    Who::Boss,
    Who::Sup,
];

/// The server's answer to one push: the outcome and when the server counts it received.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// Accepted or refused.
    pub outcome: Outcome,
    /// `SyncResponse::server_time`: the request's receipt on the server's clock.
    pub received_at: Timestamp,
}

impl Pushed {
    /// Whether the push was accepted.
    pub fn accepted(&self) -> bool {
        matches!(self.outcome, Outcome::Accepted { .. })
    }
}

/// The server, its store and the logged-in people.
pub struct World {
    /// The running server.
    pub server: TestServer,
    /// Its sync service (and store).
    pub service: Arc<SyncService>,
    _dir: TempDir,
    people: Vec<(Who, RawSession)>,
    /// The department problems are handed to.
    pub d1: OrgUnitId,
    /// Another department.
    pub d2: OrgUnitId,
    next: u64,
}

/// The wall clock.
pub fn now() -> Timestamp {
    wall_clock()
}

impl World {
    /// A fresh database with the district's people, each logged in on a device of their own.
    ///
    /// # Errors
    /// When the server, the store or a login fails.
    pub async fn new() -> anyhow::Result<World> {
        World::with_config(Config::demo()).await
    }

    /// [`World::new`] on a server with `config`.
    ///
    /// # Errors
    /// When the server, the store or a login fails.
    pub async fn with_config(config: Config) -> anyhow::Result<World> {
        let dir = tempfile::tempdir()?;
        let service = crate::sync_service_with(dir.path(), config)?;
        let server =
            TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
        district::officer(&service, "wang", [1]).await?;
        district::officer(&service, "li", [1]).await?;
        let (d1, d2) = service
            .with_store(|st| -> anyhow::Result<_> {
                let d1 = district::department(st, "d1")?;
                let d2 = district::department(st, "d2")?;
                let zone = district::org_unit(st, district::ZONE, OrgUnitKind::Zone, None)?;
                district::user(st, "h1", Role::DepartmentHandler, d1)?;
                district::user(st, "h2", Role::DepartmentHandler, d2)?;
                district::user(st, "clerk", Role::WindowClerk, zone)?;
                district::user(st, "boss", Role::Leader, zone)?;
                district::user(st, "sup", Role::Supervisor, zone)?;
                Ok((d1, d2))
            })
            .await
            .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
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

    /// Stops the server and starts another on the same SQLite file with `config` (a district
    /// that changed its configuration); everyone stays logged in (sessions live in the file).
    ///
    /// # Errors
    /// When the store or the port fails.
    pub async fn restart(&mut self, config: Config) -> anyhow::Result<()> {
        self.server.stop();
        let service = crate::sync_service_with(self._dir.path(), config)?;
        self.server = TestServer::start(AppState::new(
            self._dir.path().join("no-site"),
            service.clone(),
        ))
        .await?;
        self.service = service;
        let base = self.server.url("");
        for (_, session) in &mut self.people {
            session.base.clone_from(&base);
        }
        Ok(())
    }

    /// `who`'s session.
    ///
    /// # Panics
    /// Never: everyone logged in.
    pub fn session(&self, who: Who) -> &RawSession {
        &self
            .people
            .iter()
            .find(|(w, _)| *w == who)
            .expect("everyone logged in")
            .1
    }

    /// The server's SQLite file.
    pub fn db_path(&self) -> std::path::PathBuf {
        self._dir.path().join("lianxin.db")
    }

    /// A number not used before in this world (for ids).
    pub fn id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// A new problem of enterprise 1 raised at the window, owned by Wang, due in a week.
    ///
    /// # Errors
    /// When the push fails or is refused.
    pub async fn raise(&mut self, tier: Tier) -> anyhow::Result<DocId> {
        let (id, pushed) = self.raise_as(Who::Clerk, tier, now(), false).await?;
        anyhow::ensure!(
            pushed.accepted(),
            "the window raises a problem: {:?}",
            pushed.outcome
        );
        Ok(id)
    }

    /// `who` raises a problem of enterprise 1 owned by Wang on a phone whose clock says
    /// `claimed`, reporting nothing else unsent when `settled`; the server's answer.
    ///
    /// # Errors
    /// When the document cannot be made or the push fails.
    pub async fn raise_as(
        &mut self,
        who: Who,
        tier: Tier,
        claimed: Timestamp,
        settled: bool,
    ) -> anyhow::Result<(DocId, Pushed)> {
        let n = self.id();
        let session = self.session(who);
        let wang = self.session(Who::Wang).actor.user;
        let id = ProblemId::from_random_bytes(id_bytes(61, n));
        let mut doc = new_problem(
            &session.actor,
            session.actor_id.clone(),
            id,
            tier,
            wang,
            claimed,
        )?;
        let doc_id = doc_id(DocKind::Problem, id);
        let (out, received_at) = session
            .push_timed(vec![push_new(doc_id.clone(), doc.record())], settled)
            .await?;
        let outcome = out
            .into_iter()
            .next()
            .map(|(_, o)| o)
            .ok_or_else(|| anyhow::anyhow!("no outcome"))?;
        Ok((
            doc_id,
            Pushed {
                outcome,
                received_at,
            },
        ))
    }

    /// The stored problem, as `who` would edit it.
    ///
    /// # Errors
    /// When it is not stored or does not load.
    pub async fn load(
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
            .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
        Ok((ProblemDoc::from_record(record)?, base))
    }

    /// `who` edits the stored problem with `edit` and pushes the change; the server's answer.
    ///
    /// # Errors
    /// When loading, the edit or the push fails.
    pub async fn push(
        &self,
        who: Who,
        id: &DocId,
        edit: impl FnOnce(&mut ProblemDoc, &Actor) -> anyhow::Result<()>,
    ) -> anyhow::Result<Outcome> {
        Ok(self.push_timed(who, id, false, edit).await?.outcome)
    }

    /// [`World::push`], reporting nothing else unsent when `settled`, with the receipt.
    ///
    /// # Errors
    /// When loading, the edit or the push fails.
    pub async fn push_timed(
        &self,
        who: Who,
        id: &DocId,
        settled: bool,
        edit: impl FnOnce(&mut ProblemDoc, &Actor) -> anyhow::Result<()>,
    ) -> anyhow::Result<Pushed> {
        let session = self.session(who);
        let (mut doc, base) = self.load(who, id).await?;
        edit(&mut doc, &session.actor)?;
        let (out, received_at) = session
            .push_timed(vec![push_edit(id.clone(), doc.record(), &base)], settled)
            .await?;
        let outcome = out
            .into_iter()
            .next()
            .map(|(_, o)| o)
            .ok_or_else(|| anyhow::anyhow!("no outcome"))?;
        Ok(Pushed {
            outcome,
            received_at,
        })
    }

    /// `who` takes `action` now (writing the response first where the action needs one).
    ///
    /// # Errors
    /// When the action's guard fails on the stored problem or the push fails.
    pub async fn act(&mut self, who: Who, id: &DocId, action: Action) -> anyhow::Result<Outcome> {
        Ok(self.act_at(who, id, action, now(), false).await?.outcome)
    }

    /// `who` takes `action` on a phone whose clock says `claimed` (writing the response first
    /// where the action needs one), reporting nothing else unsent when `settled`.
    ///
    /// # Errors
    /// When the action's guard fails on the stored problem or the push fails.
    pub async fn act_at(
        &mut self,
        who: Who,
        id: &DocId,
        action: Action,
        claimed: Timestamp,
        settled: bool,
    ) -> anyhow::Result<Pushed> {
        let event = EntryId::from_random_bytes(id_bytes(62, self.id()));
        self.push_timed(who, id, settled, |doc, actor| {
            let needs_response = matches!(
                action,
                Action::Respond | Action::ResolveOnSite | Action::SignOff { .. }
            );
            if needs_response && doc.read()?.response.trim().is_empty() {
                doc.edit(&Config::default(), actor, claimed, |p| {
                    p.set_response("已协调供电公司增容")
                })?;
            }
            doc.act(actor, claimed, event, action, "按规定办理")?;
            Ok(())
        })
        .await
    }

    /// `who` visits enterprise 1 and checks in (a look-back's evidence).
    ///
    /// # Errors
    /// When the push fails or is refused.
    pub async fn visit(&mut self, who: Who) -> anyhow::Result<()> {
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
    ///
    /// # Errors
    /// When the push fails or is refused.
    pub async fn fall_due(&self, id: &DocId, days: i64) -> anyhow::Result<()> {
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
    ///
    /// # Errors
    /// When a step is refused or the state is not reached.
    pub async fn problem_in(&mut self, state: ProblemState) -> anyhow::Result<DocId> {
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

/// A problem of enterprise 1 raised at the window by `actor` on a phone whose clock says
/// `claimed`, owned by `owner`, the deadline field a week after `claimed`.
///
/// # Errors
/// When the document cannot be made.
pub fn new_problem(
    actor: &Actor,
    actor_id: shared::doc::ActorId,
    id: ProblemId,
    tier: Tier,
    owner: UserId,
    claimed: Timestamp,
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
            deadline: claimed.plus_days(7),
            description: "变压器容量不足".into(),
            expectation: "增容".into(),
        },
        &Config::default(),
        actor,
        actor_id,
        claimed,
    )?)
}
