//! The demo district (演示辖区): a realistic, deterministic data set for a newcomer to log in
//! and click through — one zone, 3 towns, 4 departments, 40 enterprises with valid credit
//! codes, 6 officers, 2 leaders, a handler per department, and visits and problems in every
//! workflow state spread over the last three months. [`generate`] builds it as data;
//! [`commit_documents`] stores its documents through the normal sync path.

use shared::config::Config;
use shared::derive::initial_deadline;
use shared::doc::{
    ActorId, DocError, DocKind, EnterpriseDoc, MonitoringDoc, NewEnterprise, NewProblem, NewVisit,
    ProblemDoc, RecordDoc, VisitDoc, monitoring_id,
};
use shared::model::*;
use shared::sync::protocol::DocId;
use shared::workflow::Action;

use crate::store::{Device, NewUser, SqliteStore};
pub use crate::writer::commit_documents;

/// The password of every demo login (documented in the README).
pub const DEMO_PASSWORD: &str = "lianxin-demo";

/// A demo person: the user, their password and the device their demo records came from.
#[derive(Debug, Clone)]
pub struct DemoUser {
    /// The user.
    pub user: User,
    /// Their password.
    pub password: &'static str,
    /// The device the demo records name.
    pub device: DeviceId,
    /// That device's Automerge actor.
    pub actor_id: Vec<u8>,
}

/// The whole demo district as data.
#[derive(Debug, Clone)]
pub struct DemoDistrict {
    /// Zone, towns, departments.
    pub org_units: Vec<OrgUnit>,
    /// Officers, leaders, handlers, a window clerk, an admin.
    pub users: Vec<DemoUser>,
    /// 包联 assignments.
    pub assignments: Vec<Assignment>,
    /// Every record document.
    pub documents: Vec<(DocId, RecordDoc)>,
}

/// What was seeded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoSummary {
    /// Org units.
    pub org_units: usize,
    /// Users.
    pub users: usize,
    /// Enterprises.
    pub enterprises: usize,
    /// Assignments.
    pub assignments: usize,
    /// Visits.
    pub visits: usize,
    /// Problems.
    pub problems: usize,
    /// Documents stored.
    pub documents: usize,
}

/// Why the demo could not be built or stored.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A document could not be built.
    #[error("building a demo document: {0}")]
    Doc(#[from] DocError),
    /// The store refused or failed.
    #[error("storing the demo documents: {0}")]
    Store(#[from] crate::writer::WriteError),
    /// The directory (org units, users, devices, assignments) refused or failed.
    #[error("loading the demo directory: {0}")]
    Directory(String),
    /// The database already holds the demo (or other users).
    #[error("this database already holds the demo district (officer1 exists)")]
    AlreadySeeded,
}

/// A small deterministic generator (the demo must be the same on every machine).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn bytes(&mut self) -> [u8; 16] {
        let mut b = [0u8; 16];
        for chunk in b.chunks_mut(4) {
            chunk.copy_from_slice(&(self.next() as u32).to_be_bytes());
        }
        b
    }
}

fn org(rng: &mut Lcg, name: &str, kind: OrgUnitKind, parent: Option<OrgUnitId>) -> OrgUnit {
    OrgUnit {
        id: OrgUnitId::from_random_bytes(rng.bytes()),
        name: name.into(),
        kind,
        parent,
    }
}

const TOWNS: [&str; 3] = ["玉泉街道", "济源经济技术开发区", "克井镇"];
const DEPARTMENTS: [&str; 4] = [
    "工业和信息化局",
    "自然资源和规划局",
    "人力资源和社会保障局",
    "生态环境局",
];
const CORES: [&str; 20] = [
    "恒通", "宏达", "永兴", "瑞丰", "鑫源", "华宇", "金泰", "中联", "德胜", "天成", "润泽", "同力",
    "伟业", "嘉禾", "盛世", "远航", "亿达", "晨光", "九州", "新峰",
];
const TRADES: [(&str, &str); 8] = [
    ("精密机械", "装备制造"),
    ("新材料", "新材料"),
    ("化工", "化工"),
    ("食品", "食品加工"),
    ("建材", "建材"),
    ("电子科技", "电子信息"),
    ("钢结构", "冶金"),
    ("纺织", "纺织"),
];
const PROBLEMS: [(&str, &str, &str); 12] = [
    (
        "power",
        "新增生产线后变压器容量不足，夏季高峰经常跳闸",
        "两个月内完成增容",
    ),
    (
        "labour",
        "技术工人缺口约40人，招聘困难",
        "协助对接职业院校和招聘会",
    ),
    (
        "land",
        "二期项目用地指标尚未落实",
        "尽快明确用地指标和供地时间",
    ),
    ("funds", "流动资金紧张，银行续贷审批慢", "协调银行办理续贷"),
    ("approvals", "环评批复办理时间长", "加快审批流程"),
    (
        "environment",
        "厂区周边排水管网不畅，雨季积水",
        "协调市政疏通管网",
    ),
    (
        "infrastructure",
        "厂区门口道路破损，大车进出困难",
        "修复道路",
    ),
    (
        "market",
        "出口订单减少，希望参加展会",
        "提供展会信息和补贴政策",
    ),
    ("technology", "研发中心认定材料不清楚", "政策辅导"),
    ("policy", "稳岗补贴尚未到账", "核实并拨付补贴"),
    ("safety", "危化品仓库改造方案需专家论证", "协调专家论证"),
    ("other", "职工子女入学咨询", "提供入学政策"),
];

/// The states the demo's problems are driven to, in turn, so every state appears.
const TARGETS: [ProblemState; 16] = [
    ProblemState::Submitted,
    ProblemState::Triaged,
    ProblemState::Assigned,
    ProblemState::Accepted,
    ProblemState::InProgress,
    ProblemState::Responded,
    ProblemState::Confirmed,
    ProblemState::SignedOff,
    ProblemState::LookBackPassed,
    ProblemState::ResolvedOnSite,
    ProblemState::Returned,
    ProblemState::Disputed,
    ProblemState::Reopened,
    ProblemState::MergedDuplicate,
    ProblemState::Withdrawn,
    ProblemState::NotResolvable,
];

fn person(rng: &mut Lcg, login: &str, name: &str, role: Role, org_unit: OrgUnitId) -> DemoUser {
    DemoUser {
        user: User {
            id: UserId::from_random_bytes(rng.bytes()),
            login: login.into(),
            name: name.into(),
            role,
            org_unit,
        },
        password: DEMO_PASSWORD,
        device: DeviceId::from_random_bytes(rng.bytes()),
        actor_id: rng.bytes().to_vec(),
    }
}

fn actor(u: &DemoUser) -> Actor {
    Actor {
        user: u.user.id,
        device: u.device,
        role: u.user.role,
    }
}

/// Makes `doc`'s next changes with `u`'s device's Automerge actor: each person's actions are
/// made with their own actor, as their phone would (the server's authorship rule, and anything
/// that attributes changes by actor, reads them so).
fn acting_as(doc: &mut RecordDoc, u: &DemoUser) {
    doc.automerge().set_actor(ActorId::from(u.actor_id.clone()));
}

/// Builds the demo district as of `now`: records dated over the 90 days before it.
pub fn generate(now: Timestamp, config: &Config) -> Result<DemoDistrict, DemoError> {
    let mut rng = Lcg(0x006c_6961_6e78_696e);
    let zone = org(&mut rng, "济源示范区", OrgUnitKind::Zone, None);
    let towns: Vec<OrgUnit> = TOWNS
        .iter()
        .map(|n| org(&mut rng, n, OrgUnitKind::Town, Some(zone.id)))
        .collect();
    let depts: Vec<OrgUnit> = DEPARTMENTS
        .iter()
        .map(|n| org(&mut rng, n, OrgUnitKind::Department, Some(zone.id)))
        .collect();

    let officer_names = ["王磊", "李娜", "张伟", "刘洋", "陈静", "杨帆"];
    let officers: Vec<DemoUser> = officer_names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            person(
                &mut rng,
                &format!("officer{}", i + 1),
                n,
                Role::Officer,
                towns[i / 2].id,
            )
        })
        .collect();
    let leaders = vec![
        person(&mut rng, "leader1", "赵国强", Role::Leader, zone.id),
        person(&mut rng, "leader2", "孙丽", Role::Leader, towns[0].id),
    ];
    let handler_names = ["周敏", "吴刚", "郑洁", "冯涛"];
    let handlers: Vec<DemoUser> = handler_names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            person(
                &mut rng,
                &format!("handler{}", i + 1),
                n,
                Role::DepartmentHandler,
                depts[i].id,
            )
        })
        .collect();
    let clerk = person(&mut rng, "window1", "何芳", Role::WindowClerk, zone.id);
    let admin = person(&mut rng, "admin", "系统管理员", Role::Admin, zone.id);

    let start = Timestamp(now.0 - 90 * DAY_MS);
    let mut documents = Vec::new();
    let mut assignments = Vec::new();
    let mut enterprises = Vec::new();
    for i in 0..40usize {
        let town = i % 3;
        let (trade, industry) = TRADES[i % TRADES.len()];
        let name = format!(
            "济源市{}{}有限公司",
            CORES[i % CORES.len()],
            if i < 20 { trade } else { TRADES[(i + 3) % 8].0 }
        );
        let code = CreditCode::from_parts('9', '1', "419001", &format!("MA4{:05}", 1000 + i * 37))
            .map_err(|e| {
                DemoError::Doc(DocError::BadValue {
                    field: "credit_code".into(),
                    error: e.to_string(),
                })
            })?;
        let position = Position::new(
            35.07 + (i as f64) * 0.004,
            112.57 + (town as f64) * 0.05,
            15.0,
        )
        .map_err(|e| {
            DemoError::Doc(DocError::BadValue {
                field: "position".into(),
                error: e.to_string(),
            })
        })?;
        let e = NewEnterprise {
            id: EnterpriseId::from_random_bytes(rng.bytes()),
            credit_code: code,
            name,
            address: format!("{}工业路{}号", TOWNS[town], 10 + i * 3),
            town: towns[town].id,
            industry: industry.into(),
            size: if i % 3 == 0 {
                EnterpriseSize::BelowDesignated
            } else {
                EnterpriseSize::AboveDesignated
            },
            key_enterprise: i % 4 == 0,
            position: Some(position),
        };
        // The two officers of the town share its enterprises.
        let officer = &officers[town * 2 + (i / 3) % 2];
        let mut doc = EnterpriseDoc::create(
            &e,
            &actor(&admin),
            ActorId::from(admin.actor_id.clone()),
            start,
        )?;
        acting_as(doc.record(), officer);
        doc.edit(&actor(officer), start, |w| {
            w.put_contact(
                EntryId::from_random_bytes(bytes_for(i as u64, 1)),
                &Contact {
                    name: format!("{}经理", ["陈", "王", "李", "赵", "刘"][i % 5]),
                    title: "总经理".into(),
                    phone: format!("1390391{:04}", 1000 + i),
                },
            )
        })?;
        documents.push((
            DocId::new(DocKind::Enterprise, &e.id.to_string()),
            doc.into_record(),
        ));
        assignments.push(Assignment {
            enterprise: e.id,
            user: officer.user.id,
            valid_from: start,
            valid_to: None,
        });
        if e.key_enterprise {
            assignments.push(Assignment {
                enterprise: e.id,
                user: leaders[0].user.id,
                valid_from: start,
                valid_to: None,
            });
            // The server creates every key enterprise's monitoring document (so devices only
            // edit the one they receive); the officer then entered a month of power use.
            let (_, mut created) = crate::monitoring::new_monitoring_document(e.id)?;
            let mut m =
                MonitoringDoc::load(&created.save(), ActorId::from(officer.actor_id.clone()))?;
            m.edit(&actor(officer), now, |w| {
                for d in 0..30i64 {
                    let day = Timestamp(now.0 - (30 - d) * DAY_MS)
                        .day()
                        .unwrap_or_default();
                    let dip = if i % 8 == 0 && d > 25 { 0.55 } else { 1.0 };
                    w.record_power(
                        day,
                        (8_000.0 + (i as f64) * 150.0 + ((d * 37) % 11) as f64 * 90.0) * dip,
                    )?;
                }
                Ok(())
            })?;
            documents.push((
                DocId::new(DocKind::Monitoring, &monitoring_id(e.id)),
                m.into_record(),
            ));
        }
        enterprises.push((e, officer.clone()));
    }

    let mut problem_no = 0usize;
    let mut visit_no = 0u64;
    for (i, (e, officer)) in enterprises.iter().enumerate() {
        let visits = 1 + rng.below(3);
        for v in 0..visits {
            visit_no += 1;
            let at =
                Timestamp(start.0 + ((i as i64 * 7 + v as i64 * 29) % 85) * DAY_MS + 9 * 3_600_000);
            let visit_id = VisitId::from_random_bytes(rng.bytes());
            let refused = visit_no.is_multiple_of(9);
            // Now and then a check-in 2.3 km from the enterprise (no draw of the generator).
            let away = visit_no.is_multiple_of(7);
            let check_in = CheckIn {
                device_time: at,
                position: match e.position {
                    Some(p) if !refused => PositionFix::Fixed(if away {
                        Position::new(p.lat + 0.0207, p.lon, 25.0).unwrap_or(p)
                    } else {
                        p
                    }),
                    _ => PositionFix::PermissionRefused,
                },
                photo_hash: None,
            };
            let new_visit = NewVisit {
                id: visit_id,
                enterprise: e.id,
                method: if v == 2 {
                    VisitMethod::Phone
                } else {
                    VisitMethod::OnSite
                },
                check_in: Some(check_in),
                operating_status: if i % 11 == 5 {
                    OperatingStatus::Reduced
                } else {
                    OperatingStatus::Normal
                },
                notes: format!(
                    "走访{}，了解生产经营情况；企业负责人介绍了订单、用工和用电情况。",
                    e.name
                ),
            };
            let who = actor(officer);
            let mut visit = VisitDoc::create(
                &new_visit,
                &who,
                ActorId::from(officer.actor_id.clone()),
                at,
            )?;
            let raised = if v == 0 || rng.below(2) == 0 {
                1 + rng.below(2)
            } else {
                0
            };
            for _ in 0..raised {
                let (category, description, expectation) = PROBLEMS[problem_no % PROBLEMS.len()];
                let target = TARGETS[problem_no % TARGETS.len()];
                let tier = match target {
                    ProblemState::ResolvedOnSite => Tier::OnSite,
                    _ if problem_no % 7 == 3 => Tier::CityLeader,
                    _ => Tier::Department,
                };
                let dept = &handlers[problem_no % handlers.len()];
                let pid = ProblemId::from_random_bytes(rng.bytes());
                let new = NewProblem {
                    id: pid,
                    enterprise: e.id,
                    visit: Some(visit_id),
                    source: ProblemSource::Visit,
                    category: category.into(),
                    class: ProblemClass::ALL[problem_no % 4],
                    tier,
                    owner: officer.user.id,
                    leader: Some(leaders[problem_no % 2].user.id),
                    deadline: initial_deadline(config, tier, at),
                    description: description.into(),
                    expectation: expectation.into(),
                };
                let mut p = ProblemDoc::create(
                    &new,
                    config,
                    &who,
                    ActorId::from(officer.actor_id.clone()),
                    at,
                )?;
                drive(
                    &mut p,
                    config,
                    target,
                    at,
                    officer,
                    dept,
                    &leaders[0],
                    &mut rng,
                )?;
                visit.edit(&who, at, |w| w.add_problem(pid))?;
                documents.push((
                    DocId::new(DocKind::Problem, &pid.to_string()),
                    p.into_record(),
                ));
                problem_no += 1;
            }
            visit.edit(&who, at, |w| {
                w.add_attendee(&format!("{}经理", ["陈", "王", "李", "赵", "刘"][i % 5]))?;
                if v % 2 == 0 {
                    w.confirm(
                        &format!("{}经理", ["陈", "王", "李", "赵", "刘"][i % 5]),
                        at,
                    )
                } else {
                    Ok(())
                }
            })?;
            documents.push((
                DocId::new(DocKind::Visit, &visit_id.to_string()),
                visit.into_record(),
            ));
        }
    }

    let mut org_units = vec![zone];
    org_units.extend(towns);
    org_units.extend(depts);
    let mut users = officers;
    users.extend(leaders);
    users.extend(handlers);
    users.push(clerk);
    users.push(admin);
    Ok(DemoDistrict {
        org_units,
        users,
        assignments,
        documents,
    })
}

fn bytes_for(a: u64, b: u64) -> [u8; 16] {
    let mut x = [0u8; 16];
    x[..8].copy_from_slice(&a.to_be_bytes());
    x[8..].copy_from_slice(&b.to_be_bytes());
    x
}

/// Takes a problem along its workflow to `target`, each step a day after the previous one.
#[allow(clippy::too_many_arguments)]
fn drive(
    p: &mut ProblemDoc,
    config: &Config,
    target: ProblemState,
    at: Timestamp,
    officer: &DemoUser,
    handler: &DemoUser,
    leader: &DemoUser,
    rng: &mut Lcg,
) -> Result<(), DemoError> {
    use ProblemState as S;
    let (o, h, l) = (actor(officer), actor(handler), actor(leader));
    // Each action with its author's own Automerge actor.
    let people = [officer, handler, leader];
    let as_author = |p: &mut ProblemDoc, who: &Actor| {
        if let Some(u) = people.iter().find(|u| u.user.id == who.user) {
            acting_as(p.record(), u);
        }
    };
    let mut day = 0i64;
    let mut step = |p: &mut ProblemDoc,
                    who: &Actor,
                    action: Action,
                    reason: &str,
                    rng: &mut Lcg|
     -> Result<(), DemoError> {
        day += 1 + rng.below(3) as i64;
        as_author(p, who);
        p.act(
            who,
            Timestamp(at.0 + day * DAY_MS),
            EntryId::from_random_bytes(rng.bytes()),
            action,
            reason,
        )?;
        Ok(())
    };
    let respond = |p: &mut ProblemDoc, who: &Actor, text: &str| -> Result<(), DemoError> {
        as_author(p, who);
        p.edit(config, who, Timestamp(at.0 + 3 * DAY_MS), |e| {
            e.set_response(text)
        })?;
        Ok(())
    };
    if target == S::Submitted {
        return Ok(());
    }
    if target == S::ResolvedOnSite {
        respond(p, &o, "现场协调解决，企业当场认可")?;
        return step(p, &o, Action::ResolveOnSite, "", rng);
    }
    if matches!(target, S::MergedDuplicate | S::Withdrawn | S::NotResolvable) {
        step(p, &o, Action::Triage, "", rng)?;
        return match target {
            S::MergedDuplicate => step(
                p,
                &o,
                Action::MergeDuplicate {
                    into: ProblemId::from_random_bytes(rng.bytes()),
                },
                "与同企业另一诉求重复",
                rng,
            ),
            S::Withdrawn => step(p, &o, Action::Withdraw, "企业已自行解决，撤回诉求", rng),
            _ => step(
                p,
                &l,
                Action::NotResolvable,
                "涉及国家政策调整，现阶段无法解决，已向企业解释",
                rng,
            ),
        };
    }
    step(p, &o, Action::Triage, "", rng)?;
    if target == S::Triaged {
        return Ok(());
    }
    step(
        p,
        &l,
        Action::Assign {
            unit: handler.user.org_unit,
        },
        "",
        rng,
    )?;
    if target == S::Assigned {
        return Ok(());
    }
    if target == S::Returned {
        return step(
            p,
            &h,
            Action::Return,
            "不属于本部门职责，建议转交自然资源部门",
            rng,
        );
    }
    step(p, &h, Action::Accept, "", rng)?;
    if target == S::Accepted {
        return Ok(());
    }
    step(p, &h, Action::Start, "", rng)?;
    as_author(p, &h);
    p.edit(config, &h, Timestamp(at.0 + 2 * DAY_MS), |e| {
        e.add_progress(
            EntryId::from_random_bytes(rng.bytes()),
            "已现场对接，正在协调相关单位",
        )
    })?;
    if target == S::InProgress {
        return Ok(());
    }
    respond(p, &h, "已协调相关单位办理完毕，并向企业反馈结果")?;
    step(p, &h, Action::Respond, "", rng)?;
    if target == S::Responded {
        return Ok(());
    }
    if target == S::Disputed {
        return step(p, &o, Action::Dispute, "企业认为问题仅部分解决", rng);
    }
    step(p, &o, Action::Confirm, "", rng)?;
    // About half with the enterprise's signature on the officer's phone (no draw of the
    // generator, so the rest of the demo stays as it was).
    let channel = if (at.0 / DAY_MS) % 2 == 0 {
        shared::model::RatingChannel::OfficerSigned
    } else {
        shared::model::RatingChannel::Officer
    };
    as_author(p, &o);
    p.edit(config, &o, Timestamp(at.0 + 6 * DAY_MS), |e| {
        e.set_rating(
            Rating::ALL[(rng.below(3)) as usize],
            "办理及时，态度好",
            channel,
        )
    })?;
    if target == S::Confirmed {
        return Ok(());
    }
    step(p, &o, Action::SignOff { waiver: false }, "", rng)?;
    match target {
        S::LookBackPassed => step(
            p,
            &o,
            Action::LookBackPass,
            "回头看：问题已解决，企业满意",
            rng,
        ),
        S::Reopened => step(
            p,
            &o,
            Action::LookBackReopen,
            "回头看：问题反复，重新办理",
            rng,
        ),
        _ => Ok(()),
    }
}

/// Short codes of the demo's org units, for CSV files and the admin CLI.
pub(crate) fn unit_code(unit: &OrgUnit) -> String {
    let known = [
        ("济源示范区", "zone"),
        ("玉泉街道", "yuquan"),
        ("济源经济技术开发区", "jingkai"),
        ("克井镇", "kejing"),
        ("工业和信息化局", "gongxin"),
        ("自然资源和规划局", "ziran"),
        ("人力资源和社会保障局", "renshe"),
        ("生态环境局", "shengtai"),
    ];
    known
        .iter()
        .find(|(n, _)| *n == unit.name)
        .map(|(_, c)| (*c).to_string())
        .unwrap_or_else(|| unit.id.to_string())
}

/// A made-up mobile number for a demo person (138 and eight digits from their id).
pub(crate) fn demo_phone(user: shared::model::UserId) -> String {
    let n = user
        .to_string()
        .bytes()
        .fold(0u64, |n, b| (n * 31 + u64::from(b)) % 100_000_000);
    format!("138{n:08}")
}

/// Seeds the demo district into an empty database: org units, users (password
/// [`DEMO_PASSWORD`]) with the devices their demo records name, assignments, every document,
/// and the problems the monitoring rule raises from the demo's power figures.
pub fn seed(
    store: &mut SqliteStore,
    config: &Config,
    now: Timestamp,
) -> Result<DemoSummary, DemoError> {
    if store
        .find_user_by_login("officer1")
        .map_err(store_err)?
        .is_some()
    {
        return Err(DemoError::AlreadySeeded);
    }
    let mut district = generate(now, config)?;
    for unit in &district.org_units {
        store
            .add_org_unit(&unit_code(unit), unit)
            .map_err(store_err)?;
    }
    // One hash for every demo login: argon2 is slow on purpose, and the demo shares a password.
    let hash = crate::auth::password::hash(&crate::auth::Secret::new(DEMO_PASSWORD))
        .map_err(|e| DemoError::Directory(e.to_string()))?;
    for u in &district.users {
        store
            .add_user(
                &NewUser {
                    user: u.user.clone(),
                    password_hash: hash.clone(),
                },
                now,
            )
            .map_err(store_err)?;
        // Officers and leaders print on their enterprises' cards (连心卡) with a phone number.
        if matches!(u.user.role, Role::Officer | Role::Leader) {
            store
                .set_user_phone(u.user.id, Some(&demo_phone(u.user.id)))
                .map_err(store_err)?;
        }
        store
            .add_device(&Device {
                id: u.device,
                user: u.user.id,
                name: format!("{}的演示手机", u.user.name),
                actor_id: u.actor_id.iter().map(|b| format!("{b:02x}")).collect(),
                registered_at: now,
                revoked_at: None,
                last_seen: now,
            })
            .map_err(store_err)?;
    }
    store
        .import_assignments(&district.assignments)
        .map_err(store_err)?;
    let stored = commit_documents(store, &mut district.documents, config, now)?;
    let raised = crate::monitoring::run_power_rule(store, config, now)
        .map_err(|e| DemoError::Directory(e.to_string()))?;
    let mut s = summary(&district, stored + raised.len());
    s.problems += raised.len();
    Ok(s)
}

fn store_err(e: crate::store::StoreError) -> DemoError {
    DemoError::Directory(e.to_string())
}

/// Counts of a generated district.
pub fn summary(district: &DemoDistrict, stored: usize) -> DemoSummary {
    let count = |k: DocKind| {
        district
            .documents
            .iter()
            .filter(|(id, _)| id.kind() == k)
            .count()
    };
    DemoSummary {
        org_units: district.org_units.len(),
        users: district.users.len(),
        enterprises: count(DocKind::Enterprise),
        assignments: district.assignments.len(),
        visits: count(DocKind::Visit),
        problems: count(DocKind::Problem),
        documents: stored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::workflow::replay;

    const NOW: Timestamp = Timestamp(1_795_000_000_000);

    #[test]
    fn the_demo_has_the_promised_shape_and_every_problem_state() {
        let d = generate(NOW, &Config::default()).expect("generates");
        let s = summary(&d, 0);
        assert_eq!(s.enterprises, 40);
        assert_eq!(
            d.org_units
                .iter()
                .filter(|o| o.kind == OrgUnitKind::Town)
                .count(),
            3
        );
        assert_eq!(
            d.org_units
                .iter()
                .filter(|o| o.kind == OrgUnitKind::Department)
                .count(),
            4
        );
        let role_count = |r: Role| d.users.iter().filter(|u| u.user.role == r).count();
        assert_eq!(
            (
                role_count(Role::Officer),
                role_count(Role::Leader),
                role_count(Role::DepartmentHandler)
            ),
            (6, 2, 4)
        );
        let mut states = std::collections::BTreeSet::new();
        for (id, doc) in &d.documents {
            if id.kind() == DocKind::Problem {
                let p = ProblemDoc::from_record(doc.clone())
                    .expect("a problem")
                    .read()
                    .expect("reads");
                let outcome = replay(&p);
                assert!(
                    outcome.superseded.is_empty(),
                    "{id}: {:?}",
                    outcome.superseded
                );
                states.insert(outcome.state);
            }
        }
        assert_eq!(
            states.len(),
            ProblemState::ALL.len(),
            "every state appears: {states:?}"
        );
    }

    #[test]
    fn the_demo_is_the_same_every_time() {
        let mut a = generate(NOW, &Config::default()).expect("generates");
        let mut b = generate(NOW, &Config::default()).expect("generates");
        let heads = |d: &mut DemoDistrict| {
            d.documents
                .iter_mut()
                .map(|(_, doc)| doc.heads())
                .collect::<Vec<_>>()
        };
        assert_eq!(heads(&mut a), heads(&mut b));
    }

    #[test]
    fn every_demo_document_is_accepted_by_the_server_path() {
        let config = Config::default();
        let mut d = generate(NOW, &config).expect("generates");
        let mut store = shared::sync::memory::MemoryStore::new();
        let n = commit_documents(&mut store, &mut d.documents, &config, NOW).expect("stored");
        assert_eq!(n, d.documents.len());
        assert_eq!(store.doc_count(), n);
    }
}
