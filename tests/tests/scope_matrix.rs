//! Who sees and writes what, as a property over random (person, document, operation) tuples
//! against the real server in-process with a real SQLite file. A small district — two towns,
//! two departments, four enterprises with their profiles, visits, problems and monitoring — is
//! seeded once; a model says what each role may read, change and create. For every tuple:
//!
//! - a read from scratch returns exactly the documents the model says are visible: anything
//!   else answers exactly as a document that does not exist (it is simply never sent);
//! - a write outside the write scope is refused `OutOfScope` — the same answer as a push for an
//!   enterprise that has no records — and nothing of it reaches the database;
//! - a write in scope that breaks a role rule is refused `Forbidden` and not stored;
//! - a forged actor or a change naming another user is refused;
//! - everything else is accepted, and the model learns what was created.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, OnceLock};

use proptest::prelude::*;
use server::AppState;
use server::store::SqliteStore;
use server::sync::SyncService;
use shared::config::Config;
use shared::doc::{
    ActorId, DocKind, EnterpriseDoc, MonitoringDoc, NewEnterprise, NewProblem, NewVisit,
    ProblemDoc, RecordDoc, VisitDoc, monitoring_id,
};
use shared::model::{
    Actor, CreditCode, DeviceId, EnterpriseId, EnterpriseSize, EntryId, OperatingStatus, OrgUnitId,
    ProblemClass, ProblemId, ProblemSource, Role, Tier, Timestamp, User, UserId, VisitId,
    VisitMethod,
};
use shared::sync::protocol::{DocId, Outcome, Refusal};
use shared::workflow::Action;
use tests::TestServer;
use tests::district::{self, PASSWORD};
use tests::raw::{RawSession, commit_as_server, doc_id, push_edit, push_new, stored};

const NOW: Timestamp = Timestamp(1_790_000_000_000);

/// A person of the district with two devices: one that writes, one that only reads (so what
/// it receives never depends on what it pushed).
struct Person {
    user: User,
    writer: RawSession,
    reader: RawSession,
    /// The person's org unit and every unit below it.
    subtree: BTreeSet<OrgUnitId>,
    zone: bool,
}

/// What the model knows of one document.
#[derive(Debug, Clone)]
struct ModelDoc {
    id: DocId,
    enterprise: EnterpriseId,
    handed: BTreeSet<OrgUnitId>,
    owner: Option<UserId>,
    city_leader_tier: bool,
}

struct World {
    _server: TestServer,
    service: std::sync::Arc<SyncService>,
    _dir: tempfile::TempDir,
    people: Vec<Person>,
    docs: Vec<ModelDoc>,
    /// Enterprises with a stored profile, and their towns.
    towns_of: BTreeMap<EnterpriseId, OrgUnitId>,
    assigned: BTreeMap<UserId, BTreeSet<EnterpriseId>>,
    /// Towns a new enterprise may be put in.
    towns: Vec<OrgUnitId>,
    config: Config,
    counter: u64,
}

fn bytes(tag: u8, n: u64) -> [u8; 16] {
    tests::device::id_bytes(tag, n)
}

/// A valid credit code made from a number (both check characters computed).
fn credit_code(n: u64) -> CreditCode {
    let body = format!("{:08}", 10_000_000 + n % 89_999_999);
    CreditCode::from_parts('9', '1', "419001", &body).expect("a valid credit code")
}

/// What a profile grant (department handlers', window clerks') covers: the profile, not the
/// economic-monitoring figures.
fn is_profile(kind: DocKind) -> bool {
    kind == DocKind::Enterprise
}

impl World {
    async fn build() -> anyhow::Result<World> {
        let dir = tempfile::tempdir()?;
        let service = tests::sync_service(dir.path())?;
        let server =
            TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
        let base = server.url("");
        let config = Config::default();
        let e: Vec<EnterpriseId> = (1..=4)
            .map(|n| EnterpriseId::from_random_bytes(bytes(5, n)))
            .collect();
        let seeded = service
            .with_store({
                let e = e.clone();
                let config = config.clone();
                move |s| seed(s, &e, &config)
            })
            .await
            .expect("the store thread ran")?;
        let mut people = Vec::new();
        for (i, (user, subtree, zone)) in seeded.people.into_iter().enumerate() {
            let n = i as u64;
            let writer = RawSession::login(
                &base,
                &user.login,
                PASSWORD,
                DeviceId::from_random_bytes(bytes(30, n)),
            )
            .await?;
            let reader = RawSession::login(
                &base,
                &user.login,
                PASSWORD,
                DeviceId::from_random_bytes(bytes(31, n)),
            )
            .await?;
            people.push(Person {
                user,
                writer,
                reader,
                subtree,
                zone,
            });
        }
        Ok(World {
            _server: server,
            service,
            _dir: dir,
            people,
            docs: seeded.docs,
            towns_of: seeded.towns_of,
            assigned: seeded.assigned,
            towns: seeded.towns,
            config,
            counter: 0,
        })
    }

    fn town_of(&self, e: &EnterpriseId) -> Option<OrgUnitId> {
        self.towns_of.get(e).copied()
    }

    fn enterprises(&self) -> Vec<EnterpriseId> {
        self.towns_of.keys().copied().collect()
    }

    /// The enterprises a leader or supervisor covers (the zone: every one).
    fn covers(&self, p: &Person, e: &EnterpriseId) -> bool {
        p.zone
            || self.town_of(e).is_some_and(|t| p.subtree.contains(&t))
            || self.assigned.get(&p.user.id).is_some_and(|a| a.contains(e))
    }

    fn handed_to(&self, p: &Person, d: &ModelDoc) -> bool {
        d.id.kind() == DocKind::Problem && d.handed.contains(&p.user.org_unit)
    }

    fn readable(&self, p: &Person, d: &ModelDoc) -> bool {
        match p.user.role {
            Role::Officer => self
                .assigned
                .get(&p.user.id)
                .is_some_and(|a| a.contains(&d.enterprise)),
            Role::DepartmentHandler => {
                self.handed_to(p, d)
                    || (is_profile(d.id.kind())
                        && self
                            .docs
                            .iter()
                            .any(|q| q.enterprise == d.enterprise && self.handed_to(p, q)))
            }
            Role::Leader | Role::Supervisor => self.covers(p, &d.enterprise),
            Role::WindowClerk => {
                (is_profile(d.id.kind()) && self.towns_of.contains_key(&d.enterprise))
                    || (d.id.kind() == DocKind::Problem && d.owner == Some(p.user.id))
            }
            Role::Admin => false,
        }
    }

    fn writable(&self, p: &Person, d: &ModelDoc) -> bool {
        match p.user.role {
            Role::Officer | Role::Leader | Role::Supervisor => self.readable(p, d),
            Role::DepartmentHandler => self.handed_to(p, d),
            Role::WindowClerk => d.id.kind() == DocKind::Problem && d.owner == Some(p.user.id),
            Role::Admin => false,
        }
    }

    /// The outcome the model expects for creating a `kind` record of enterprise `e`.
    fn expect_create(&self, p: &Person, kind: DocKind, e: &EnterpriseId) -> Expect {
        let in_scope = match p.user.role {
            Role::Officer => self.assigned.get(&p.user.id).is_some_and(|a| a.contains(e)),
            Role::Leader | Role::Supervisor => self.covers(p, e),
            _ => false,
        };
        let clerk_may = p.user.role == Role::WindowClerk
            && matches!(kind, DocKind::Problem | DocKind::Enterprise);
        let creates = match p.user.role {
            Role::Officer => kind != DocKind::Monitoring,
            Role::Leader => matches!(kind, DocKind::Visit | DocKind::Problem),
            Role::WindowClerk => matches!(kind, DocKind::Problem | DocKind::Enterprise),
            _ => false,
        };
        if !in_scope && !clerk_may {
            Expect::OutOfScope
        } else if !creates {
            Expect::Forbidden
        } else {
            Expect::Accepted
        }
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    async fn stored_heads(&self, doc: &DocId) -> Option<Vec<automerge::ChangeHash>> {
        let doc = doc.clone();
        self.service
            .with_store(move |s| {
                shared::sync::server::ServerStore::load_doc(s, &doc)
                    .ok()
                    .flatten()
                    .map(|d| d.heads)
            })
            .await
            .flatten()
    }

    async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SqliteStore) -> T + Send + 'static,
    ) -> T {
        self.service
            .with_store(f)
            .await
            .expect("the store thread ran")
    }

    /// Runs one tuple and checks it against the model.
    async fn check(&mut self, person: usize, op: Op, target: usize) -> anyhow::Result<()> {
        let n = self.next();
        let p = &self.people[person % self.people.len()];
        let role = p.user.role;
        match op {
            Op::Read => {
                let got = p.reader.read_all().await?;
                let mut want: Vec<DocId> = self
                    .docs
                    .iter()
                    .filter(|d| self.readable(p, d))
                    .map(|d| d.id.clone())
                    .collect();
                want.sort();
                anyhow::ensure!(
                    got == want,
                    "{} ({role}) received {got:?}, the model says {want:?}",
                    p.user.login
                );
            }
            Op::Edit | Op::ForgedActor | Op::OtherUser | Op::CityLeaderTier => {
                let candidates: Vec<usize> = (0..self.docs.len())
                    .filter(|i| {
                        op != Op::CityLeaderTier || self.docs[*i].id.kind() == DocKind::Problem
                    })
                    .collect();
                let index = candidates[target % candidates.len()];
                let d = self.docs[index].clone();
                let writable = self.writable(p, &d);
                let expect = match op {
                    _ if !writable => Expect::OutOfScope,
                    Op::Edit => Expect::Accepted,
                    Op::CityLeaderTier if d.city_leader_tier || role == Role::Leader => {
                        Expect::Accepted
                    }
                    _ => Expect::Forbidden,
                };
                let mut actor = p.writer.actor;
                let mut actor_id = p.writer.actor_id.clone();
                match op {
                    Op::ForgedActor => actor_id = ActorId::from(bytes(99, n)),
                    Op::OtherUser => {
                        let other = &self.people[(person + 1) % self.people.len()];
                        actor.user = other.user.id;
                    }
                    _ => {}
                }
                let id = d.id.clone();
                let config = self.config.clone();
                let (mut doc, base) = {
                    let id = id.clone();
                    let actor_id = actor_id.clone();
                    self.with_store(move |s| stored(s, &id, actor_id)).await?
                };
                edit(&mut doc, &actor, &config, op, n)?;
                let push = push_edit(id.clone(), &mut doc, &base);
                let outcome = p.writer.push(vec![push]).await?;
                expect.check(
                    &outcome[0].1,
                    &format!("{} ({role}) {op:?} {id}", p.user.login),
                )?;
                let after = self.stored_heads(&id).await;
                if expect == Expect::Accepted {
                    if op == Op::CityLeaderTier {
                        self.docs[index].city_leader_tier = true;
                    }
                } else {
                    let mut base = base;
                    base.sort();
                    anyhow::ensure!(
                        after.as_ref() == Some(&base),
                        "a refused edit of {id} changed the stored document"
                    );
                }
            }
            Op::Create(kind) => {
                let enterprises = self.enterprises();
                let (enterprise, town) = if kind == DocKind::Enterprise {
                    let e = EnterpriseId::from_random_bytes(bytes(60, n));
                    (e, Some(self.towns[target % self.towns.len()]))
                } else {
                    (enterprises[target % enterprises.len()], None)
                };
                let expect = self.expect_create(p, kind, &enterprise);
                let (id, mut doc) = new_record(kind, enterprise, town, &p.writer, &self.config, n)?;
                let outcome = p.writer.push(vec![push_new(id.clone(), &mut doc)]).await?;
                expect.check(
                    &outcome[0].1,
                    &format!("{} ({role}) creates {id}", p.user.login),
                )?;
                let exists = {
                    let id = id.clone();
                    self.with_store(move |s| s.has_doc(&id)).await?
                };
                anyhow::ensure!(
                    exists == (expect == Expect::Accepted),
                    "{id} stored: {exists}, expected {expect:?}"
                );
                if expect == Expect::Accepted {
                    if let Some(t) = town {
                        self.towns_of.insert(enterprise, t);
                    }
                    self.docs.push(ModelDoc {
                        id,
                        enterprise,
                        handed: BTreeSet::new(),
                        owner: (kind == DocKind::Problem).then_some(p.user.id),
                        city_leader_tier: false,
                    });
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Accepted,
    OutOfScope,
    Forbidden,
}

impl Expect {
    fn check(self, outcome: &Outcome, what: &str) -> anyhow::Result<()> {
        let ok = matches!(
            (self, outcome),
            (Expect::Accepted, Outcome::Accepted { .. })
                | (Expect::OutOfScope, Outcome::Refused(Refusal::OutOfScope))
                | (Expect::Forbidden, Outcome::Refused(Refusal::Forbidden(_)))
        );
        anyhow::ensure!(ok, "{what}: expected {self:?}, got {outcome:?}");
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Read,
    Edit,
    Create(DocKind),
    ForgedActor,
    OtherUser,
    CityLeaderTier,
}

/// A small edit of a stored record, by `actor`.
fn edit(doc: &mut RecordDoc, actor: &Actor, config: &Config, op: Op, n: u64) -> anyhow::Result<()> {
    let now = Timestamp(NOW.0 + n as i64);
    let record = doc.clone();
    *doc = match doc.kind() {
        DocKind::Enterprise => {
            let mut d = EnterpriseDoc::from_record(record)?;
            d.edit(actor, now, |e| e.set_address(&format!("济源市第{n}号")))?;
            d.into_record()
        }
        DocKind::Visit => {
            let mut d = VisitDoc::from_record(record)?;
            d.edit(actor, now, |e| e.set_notes(&format!("第{n}次修改")))?;
            d.into_record()
        }
        DocKind::Problem => {
            let mut d = ProblemDoc::from_record(record)?;
            d.edit(config, actor, now, |e| {
                if op == Op::CityLeaderTier {
                    e.set_tier(Tier::CityLeader)
                } else {
                    e.add_progress(
                        EntryId::from_random_bytes(bytes(70, n)),
                        &format!("进展{n}"),
                    )
                }
            })?;
            d.into_record()
        }
        DocKind::Monitoring => {
            let mut d = MonitoringDoc::from_record(record)?;
            let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1 + (n % 28) as u32).expect("a day");
            d.edit(actor, now, |e| e.record_power(day, n as f64))?;
            d.into_record()
        }
    };
    Ok(())
}

/// A new record of `kind` for `enterprise`, made on `device`.
fn new_record(
    kind: DocKind,
    enterprise: EnterpriseId,
    town: Option<OrgUnitId>,
    device: &RawSession,
    config: &Config,
    n: u64,
) -> anyhow::Result<(DocId, RecordDoc)> {
    let actor = device.actor;
    let actor_id = device.actor_id.clone();
    let now = Timestamp(NOW.0 + n as i64);
    Ok(match kind {
        DocKind::Visit => {
            let id = VisitId::from_random_bytes(bytes(61, n));
            let doc = VisitDoc::create(&visit(id, enterprise, n), &actor, actor_id, now)?;
            (doc_id(kind, id), doc.into_record())
        }
        DocKind::Problem => {
            let id = ProblemId::from_random_bytes(bytes(62, n));
            let doc = ProblemDoc::create(
                &problem(id, enterprise, actor.user, n),
                config,
                &actor,
                actor_id,
                now,
            )?;
            (doc_id(kind, id), doc.into_record())
        }
        DocKind::Enterprise => {
            let doc = EnterpriseDoc::create(
                &profile(
                    enterprise,
                    town.unwrap_or(OrgUnitId::from_random_bytes([1; 16])),
                    n,
                ),
                &actor,
                actor_id,
                now,
            )?;
            (doc_id(kind, enterprise), doc.into_record())
        }
        DocKind::Monitoring => {
            let doc = MonitoringDoc::create(enterprise, &actor, actor_id, now)?;
            (
                DocId::new(kind, &monitoring_id(enterprise)),
                doc.into_record(),
            )
        }
    })
}

fn visit(id: VisitId, enterprise: EnterpriseId, n: u64) -> NewVisit {
    NewVisit {
        id,
        enterprise,
        method: VisitMethod::Phone,
        check_in: None,
        operating_status: OperatingStatus::Normal,
        notes: format!("走访记录{n}"),
    }
}

fn problem(id: ProblemId, enterprise: EnterpriseId, owner: UserId, n: u64) -> NewProblem {
    NewProblem {
        id,
        enterprise,
        visit: None,
        source: ProblemSource::Visit,
        category: "labour".into(),
        class: ProblemClass::B,
        tier: Tier::Department,
        owner,
        leader: None,
        deadline: NOW.plus_days(7),
        description: format!("用工缺口{n}人"),
        expectation: "对接招聘会".into(),
    }
}

fn profile(id: EnterpriseId, town: OrgUnitId, n: u64) -> NewEnterprise {
    NewEnterprise {
        id,
        credit_code: credit_code(n),
        name: format!("济源测试企业{n}有限公司"),
        address: "济源市".into(),
        town,
        industry: "装备制造".into(),
        size: EnterpriseSize::AboveDesignated,
        key_enterprise: false,
        position: None,
    }
}

struct Seeded {
    people: Vec<(User, BTreeSet<OrgUnitId>, bool)>,
    docs: Vec<ModelDoc>,
    towns_of: BTreeMap<EnterpriseId, OrgUnitId>,
    assigned: BTreeMap<UserId, BTreeSet<EnterpriseId>>,
    towns: Vec<OrgUnitId>,
}

/// The district: zone › towns t1, t2 and departments d1, d2; enterprises e1, e2 in t1 and e3,
/// e4 in t2; officer o1 assigned e1 and e3, officer o2 assigned e2; handlers h1 (d1) and h2
/// (d2); leader l1 of t1 and l0 of the zone; supervisor s2 of t2; window clerk w; admin a.
/// Records: every profile, monitoring of e1 and e3, visits of e1, e2, e3, problems p1 (e1,
/// handed to d1), p2 (e3, handed to d2), p3 (e2, taken in by w) and p4 (e4, nobody's).
fn seed(store: &mut SqliteStore, e: &[EnterpriseId], config: &Config) -> anyhow::Result<Seeded> {
    let t1 = district::town(store, "t1")?;
    let t2 = district::town(store, "t2")?;
    let d1 = district::department(store, "d1")?;
    let d2 = district::department(store, "d2")?;
    let zone = district::org_unit(
        store,
        district::ZONE,
        shared::model::OrgUnitKind::Zone,
        None,
    )?;
    let person = |store: &mut SqliteStore, login: &str, role: Role, unit: OrgUnitId| {
        district::user(store, login, role, unit)
    };
    let o1 = person(store, "o1", Role::Officer, t1)?;
    let o2 = person(store, "o2", Role::Officer, t2)?;
    let h1 = person(store, "h1", Role::DepartmentHandler, d1)?;
    let h2 = person(store, "h2", Role::DepartmentHandler, d2)?;
    let l1 = person(store, "l1", Role::Leader, t1)?;
    let l0 = person(store, "l0", Role::Leader, zone)?;
    let s2 = person(store, "s2", Role::Supervisor, t2)?;
    let w = person(store, "w", Role::WindowClerk, zone)?;
    let a = person(store, "a", Role::Admin, zone)?;
    district::assign(store, o1.id, [e[0], e[2]])?;
    district::assign(store, o2.id, [e[1]])?;

    let as_actor = |u: &User, n: u64| {
        (
            Actor {
                user: u.id,
                device: DeviceId::from_random_bytes(bytes(80, n)),
                role: u.role,
            },
            ActorId::from(bytes(81, n)),
        )
    };
    let towns_of: BTreeMap<EnterpriseId, OrgUnitId> =
        [(e[0], t1), (e[1], t1), (e[2], t2), (e[3], t2)].into();
    let mut records: Vec<(DocId, RecordDoc)> = Vec::new();
    let mut docs = Vec::new();
    let mut add = |id: DocId, doc: RecordDoc, enterprise, handed: &[OrgUnitId], owner| {
        docs.push(ModelDoc {
            id: id.clone(),
            enterprise,
            handed: handed.iter().copied().collect(),
            owner,
            city_leader_tier: false,
        });
        records.push((id, doc));
    };
    let (sys, sys_id) = as_actor(&a, 0);
    for (n, (ent, town)) in towns_of.iter().enumerate() {
        let doc =
            EnterpriseDoc::create(&profile(*ent, *town, n as u64), &sys, sys_id.clone(), NOW)?;
        add(
            doc_id(DocKind::Enterprise, ent),
            doc.into_record(),
            *ent,
            &[],
            None,
        );
    }
    for ent in [e[0], e[2]] {
        let doc = MonitoringDoc::create(ent, &sys, sys_id.clone(), NOW)?;
        add(
            DocId::new(DocKind::Monitoring, &monitoring_id(ent)),
            doc.into_record(),
            ent,
            &[],
            None,
        );
    }
    for (n, (ent, by)) in [(e[0], &o1), (e[1], &o2), (e[2], &o1)]
        .into_iter()
        .enumerate()
    {
        let (actor, actor_id) = as_actor(by, 1 + n as u64);
        let id = VisitId::from_random_bytes(bytes(82, n as u64));
        let doc = VisitDoc::create(&visit(id, ent, n as u64), &actor, actor_id, NOW)?;
        add(
            doc_id(DocKind::Visit, id),
            doc.into_record(),
            ent,
            &[],
            None,
        );
    }
    let problems = [
        (e[0], &o1, Some(d1)),
        (e[2], &o1, Some(d2)),
        (e[1], &w, None),
        (e[3], &l0, None),
    ];
    for (n, (ent, by, unit)) in problems.into_iter().enumerate() {
        let n = n as u64;
        let (actor, actor_id) = as_actor(by, 10 + n);
        let id = ProblemId::from_random_bytes(bytes(83, n));
        let mut doc =
            ProblemDoc::create(&problem(id, ent, by.id, n), config, &actor, actor_id, NOW)?;
        if let Some(unit) = unit {
            doc.act(
                &actor,
                NOW,
                EntryId::from_random_bytes(bytes(84, n)),
                Action::Triage,
                "",
            )?;
            doc.act(
                &actor,
                NOW,
                EntryId::from_random_bytes(bytes(85, n)),
                Action::Assign { unit },
                "",
            )?;
        }
        let handed: Vec<OrgUnitId> = unit.into_iter().collect();
        add(
            doc_id(DocKind::Problem, id),
            doc.into_record(),
            ent,
            &handed,
            Some(by.id),
        );
    }
    commit_as_server(store, records, NOW)?;

    let mut people = Vec::new();
    for u in [o1.clone(), o2.clone(), h1, h2, l1, l0, s2, w, a] {
        let subtree = store.org_subtree(u.org_unit)?;
        let is_zone = u.org_unit == zone;
        people.push((u, subtree, is_zone));
    }
    Ok(Seeded {
        people,
        docs,
        towns_of,
        assigned: [(o1.id, [e[0], e[2]].into()), (o2.id, [e[1]].into())].into(),
        towns: vec![t1, t2],
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

fn world() -> &'static Mutex<World> {
    static WORLD: OnceLock<Mutex<World>> = OnceLock::new();
    WORLD.get_or_init(|| {
        Mutex::new(
            runtime()
                .block_on(World::build())
                .expect("the district is seeded"),
        )
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Read),
        3 => Just(Op::Edit),
        1 => Just(Op::Create(DocKind::Visit)),
        1 => Just(Op::Create(DocKind::Problem)),
        1 => Just(Op::Create(DocKind::Enterprise)),
        1 => Just(Op::ForgedActor),
        1 => Just(Op::OtherUser),
        1 => Just(Op::CityLeaderTier),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn every_role_reads_and_writes_exactly_its_scope(
        person in 0usize..9,
        op in op(),
        target in 0usize..64,
    ) {
        let mut world = world().lock().unwrap_or_else(|p| p.into_inner());
        let result = runtime().block_on(world.check(person, op, target));
        prop_assert!(result.is_ok(), "{:?}", result.err());
    }
}
