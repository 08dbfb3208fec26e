//! The fuzzer's seeds: real documents made with the project's typed API (a visit, a problem
//! taken along its workflow with progress and supervision, an enterprise profile, a monitoring
//! document with a power series), each saved whole (compressed and not) and as the change
//! chunks after its first version, and sync messages carrying them; and crafted inputs only
//! the server's weighing may see first (a change and a document claiming billions of
//! operations).

use shared::config::Config;
use shared::doc::{
    ActorId, DocKind, EnterpriseDoc, MonitoringDoc, NewEnterprise, NewProblem, NewVisit,
    ProblemDoc, RecordDoc, VisitDoc, monitoring_id,
};
use shared::model::{
    Actor, CheckIn, Contact, CreditCode, DeviceId, EnterpriseId, EnterpriseSize, EntryId, IsoWeek,
    Month, OperatingStatus, OperationFigures, OrgUnitId, Position, PositionFix, ProblemClass,
    ProblemId, ProblemSource, Role, Tier, Timestamp, UserId, VisitId, VisitMethod,
};
use shared::sync::protocol::{
    DocId, DocPull, DocPush, DocResult, Hash, Outcome, Refusal, SyncRequest, SyncRequestV1,
    SyncResponse, encode, encode_as, to_wire,
};
use shared::workflow::Action;

use crate::attack::{CLAIMS_FOUR_BILLION_OPS, DOCUMENT_CLAIMING_FOUR_BILLION_OPS};

/// 2026-11-01T00:00:00Z.
pub const T0: Timestamp = Timestamp(1_793_491_200_000);
const DAY: i64 = shared::model::DAY_MS;

/// How a seed's bytes are meant to be read.
#[derive(Debug, Clone)]
pub enum Form {
    /// A whole saved document (possibly followed by more change chunks).
    Document,
    /// Change chunks that apply on top of `base`, a saved document.
    Changes {
        /// The document the changes follow.
        base: Vec<u8>,
    },
    /// A Lianxin sync message.
    Wire,
}

/// One seed input.
#[derive(Debug, Clone)]
pub struct Seed {
    /// What it is, for crash reports.
    pub name: String,
    /// The document it is (documents and changes), for validation and merging.
    pub doc: Option<DocId>,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// How to read them.
    pub form: Form,
    /// Whether the targets that hand bytes to Automerge as they stand (load, validate) may
    /// have it: `false` for a crafted input that only the server's weighing may see first
    /// (Automerge would spend hours on it).
    pub direct: bool,
}

fn tagged(tag: u8, n: u8) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[0] = tag;
    b[15] = n;
    b
}

fn person(n: u8, role: Role) -> (Actor, ActorId) {
    (
        Actor {
            user: UserId::from_random_bytes(tagged(1, n)),
            device: DeviceId::from_random_bytes(tagged(2, n)),
            role,
        },
        ActorId::from(tagged(3, n).to_vec()),
    )
}

fn at(days: i64) -> Timestamp {
    Timestamp(T0.0 + days * DAY)
}

/// The enterprise every seed document belongs to.
pub fn enterprise() -> EnterpriseId {
    EnterpriseId::from_random_bytes(tagged(5, 1))
}

fn department() -> OrgUnitId {
    OrgUnitId::from_random_bytes(tagged(6, 1))
}

/// A new visit by officer Wang; `n` makes its id.
pub fn new_visit(n: u8) -> (DocId, VisitDoc) {
    let (wang, wang_id) = person(1, Role::Officer);
    let new = NewVisit {
        id: VisitId::from_random_bytes(tagged(8, n)),
        enterprise: enterprise(),
        method: VisitMethod::OnSite,
        check_in: Some(CheckIn {
            device_time: T0,
            position: PositionFix::Fixed(Position::new(35.09, 112.59, 8.0).expect("valid")),
            photo_hash: None,
        }),
        operating_status: OperatingStatus::Normal,
        notes: "企业反映用电紧张".into(),
    };
    let doc = VisitDoc::create(&new, &wang, wang_id, T0).expect("a valid new visit");
    (DocId::new(DocKind::Visit, &new.id.to_string()), doc)
}

/// Seeds of one document given its first and final versions.
fn versions(name: &str, id: &DocId, first: &mut RecordDoc, last: &mut RecordDoc) -> Vec<Seed> {
    let base = first.automerge().save_nocompress();
    let base_heads = first.heads();
    let changes = last.automerge().save_after(&base_heads);
    let mut stored = base.clone();
    stored.extend_from_slice(&changes);
    let doc = Some(id.clone());
    let seed = |suffix: &str, bytes: Vec<u8>, form: Form| Seed {
        name: format!("{name}-{suffix}"),
        doc: doc.clone(),
        bytes,
        form,
        direct: true,
    };
    vec![
        seed("first", base.clone(), Form::Document),
        seed("save", last.automerge().save(), Form::Document),
        seed(
            "nocompress",
            last.automerge().save_nocompress(),
            Form::Document,
        ),
        seed("changes", changes, Form::Changes { base }),
        seed("stored", stored, Form::Document),
    ]
}

/// Every document seed: visit, problem, enterprise profile, monitoring document, and the two
/// version-1 fixtures of `shared/tests/fixtures`.
pub fn documents() -> Vec<Seed> {
    let config = Config::default();
    let (wang, _) = person(1, Role::Officer);
    let (zhao, zhao_id) = person(3, Role::DepartmentHandler);
    let (chen, _) = person(4, Role::Leader);
    let mut seeds = Vec::new();

    let (visit_id, mut visit) = new_visit(1);
    let mut first = visit.clone().into_record();
    visit
        .edit(&wang, at(1), |e| {
            e.set_notes("王：已协调供电；企业扩产需要增容")
        })
        .expect("edit");
    seeds.extend(versions(
        "visit",
        &visit_id,
        &mut first,
        &mut visit.into_record(),
    ));

    let problem = NewProblem {
        id: ProblemId::from_random_bytes(tagged(7, 1)),
        enterprise: enterprise(),
        visit: None,
        source: ProblemSource::Visit,
        category: "power".into(),
        class: ProblemClass::C,
        tier: Tier::Department,
        owner: wang.user,
        leader: None,
        deadline: shared::derive::initial_deadline(&config, Tier::Department, T0),
        description: "厂区变压器容量不足，扩产后经常跳闸".into(),
        expectation: "一个月内完成增容".into(),
    };
    let problem_id = DocId::new(DocKind::Problem, &problem.id.to_string());
    let (_, wang_id) = person(1, Role::Officer);
    let mut doc = ProblemDoc::create(&problem, &config, &wang, wang_id, T0).expect("a problem");
    let mut first = doc.clone().into_record();
    let entry = |n: u8| EntryId::from_random_bytes(tagged(9, n));
    let steps = [
        (&wang, Action::Triage),
        (&chen, Action::Assign { unit: department() }),
        (&zhao, Action::Accept),
        (&zhao, Action::Start),
    ];
    for (i, (who, action)) in steps.into_iter().enumerate() {
        doc.act(who, at(i as i64 + 1), entry(i as u8), action, "")
            .expect("a step of the main path");
    }
    // Zhao's replica edits concurrently with Wang's (two actors in the log).
    let mut zhaos = ProblemDoc::load(&doc.record().save(), zhao_id).expect("zhao's replica loads");
    zhaos
        .edit(&config, &zhao, at(5), |e| {
            e.add_progress(entry(20), "已联系供电公司现场勘查")?;
            e.set_response("已协调供电公司增容")
        })
        .expect("progress");
    doc.edit(&config, &chen, at(5), |e| {
        e.add_supervision(entry(21), "请加快办理")
    })
    .expect("supervision");
    doc.record()
        .merge(zhaos.record())
        .expect("the replicas merge");
    doc.act(&zhao, at(6), entry(30), Action::Respond, "")
        .expect("respond");
    doc.act(&wang, at(7), entry(31), Action::Confirm, "")
        .expect("confirm");
    seeds.extend(versions(
        "problem",
        &problem_id,
        &mut first,
        &mut doc.into_record(),
    ));

    let new = NewEnterprise {
        id: enterprise(),
        credit_code: CreditCode::from_parts('9', '1', "419001", "MA4K0012").expect("valid"),
        name: "河南凯华万洋新型建材有限公司".into(),
        address: "济源市玉川产业集聚区".into(),
        town: OrgUnitId::from_random_bytes(tagged(6, 9)),
        industry: "建材".into(),
        size: EnterpriseSize::AboveDesignated,
        key_enterprise: true,
        position: Some(Position::new(35.1, 112.5, 20.0).expect("valid")),
    };
    let (_, wang_id) = person(1, Role::Officer);
    let mut profile = EnterpriseDoc::create(&new, &wang, wang_id, T0).expect("a profile");
    let mut first = profile.clone().into_record();
    profile
        .edit(&wang, at(1), |w| {
            w.put_contact(
                entry(40),
                &Contact {
                    name: "陈伟".into(),
                    title: "总经理".into(),
                    phone: "13800000000".into(),
                },
            )?;
            w.set_address("济源市玉川产业集聚区纬二路")
        })
        .expect("edit");
    seeds.extend(versions(
        "enterprise",
        &DocId::new(DocKind::Enterprise, &enterprise().to_string()),
        &mut first,
        &mut profile.into_record(),
    ));

    let (_, wang_id) = person(1, Role::Officer);
    let mut monitoring =
        MonitoringDoc::create(enterprise(), &wang, wang_id, T0).expect("a monitoring document");
    let mut first = monitoring.clone().into_record();
    let start = chrono::NaiveDate::from_ymd_opt(2026, 9, 1).expect("date");
    for week in 0..8u64 {
        monitoring
            .edit(&wang, at(week as i64), |w| {
                for d in 0..7u64 {
                    let day = start + chrono::Days::new(week * 7 + d);
                    w.record_power(day, 12_000.0 + (d * 100) as f64 - (week * 50) as f64)?;
                }
                w.record_price(
                    IsoWeek::of(start + chrono::Days::new(week * 7)),
                    "水泥",
                    420.0,
                )
            })
            .expect("figures");
    }
    monitoring
        .edit(&wang, at(60), |w| {
            w.record_operation(
                Month {
                    year: 2026,
                    month: 10,
                },
                &OperationFigures {
                    output_value: 3200.0,
                    revenue: 2900.0,
                    employees: 410,
                },
            )
        })
        .expect("operation");
    seeds.extend(versions(
        "monitoring",
        &DocId::new(DocKind::Monitoring, &monitoring_id(enterprise())),
        &mut first,
        &mut monitoring.into_record(),
    ));

    for (name, bytes) in [
        (
            "fixture-problem-v1",
            &include_bytes!("../../../shared/tests/fixtures/problem-v1.automerge")[..],
        ),
        (
            "fixture-visit-v1",
            &include_bytes!("../../../shared/tests/fixtures/visit-v1.automerge")[..],
        ),
    ] {
        let doc = RecordDoc::load(bytes, ActorId::from(tagged(3, 99).to_vec()))
            .ok()
            .and_then(|r| {
                let kind = r.kind();
                r.root_id().ok().map(|id| DocId::new(kind, &id))
            });
        seeds.push(Seed {
            name: name.into(),
            doc,
            bytes: bytes.to_vec(),
            form: Form::Document,
            direct: true,
        });
    }
    seeds
}

/// Sync messages: requests (this version and 1, deflated and not) pushing the document seeds,
/// an empty request, and responses with every outcome and pulls.
pub fn messages(documents: &[Seed]) -> Vec<Seed> {
    let pushes: Vec<DocPush> = documents
        .iter()
        .filter_map(|s| {
            let doc = s.doc.clone()?;
            Some(DocPush {
                doc,
                base: match &s.form {
                    Form::Changes { .. } => vec![Hash([7; 32])],
                    _ => vec![],
                },
                heads: vec![Hash([3; 32])],
                data: s.bytes.clone(),
            })
        })
        .take(4)
        .collect();
    let request = |push: Vec<DocPush>| SyncRequest {
        cursor: 7,
        ack: 3,
        device_time: T0,
        push,
        max_response_bytes: 256 * 1024,
        unsent: Some(2),
    };
    let v1 = SyncRequestV1 {
        cursor: 1,
        ack: 0,
        device_time: T0,
        push: pushes.iter().take(1).cloned().collect(),
        max_response_bytes: 4096,
    };
    let (visit_id, mut visit) = new_visit(2);
    let mut visit = visit.record().clone();
    let response = SyncResponse {
        cursor: 12,
        delivery: 4,
        more: true,
        results: vec![
            DocResult {
                doc: visit_id.clone(),
                outcome: Outcome::Accepted {
                    heads: to_wire(&visit.heads()),
                },
            },
            DocResult {
                doc: visit_id.clone(),
                outcome: Outcome::Refused(Refusal::Invalid("a problem's state".into())),
            },
            DocResult {
                doc: visit_id.clone(),
                outcome: Outcome::Refused(Refusal::TooLarge { limit: 1 << 20 }),
            },
            DocResult {
                doc: visit_id.clone(),
                outcome: Outcome::Resend {
                    server_heads: vec![Hash([1; 32])],
                },
            },
        ],
        pulls: vec![DocPull {
            doc: visit_id.clone(),
            heads: to_wire(&visit.heads()),
            data: visit.automerge().save_nocompress(),
        }],
        server_time: T0,
        gone: vec![visit_id],
    };
    let plain = |bytes: Vec<u8>| -> Vec<u8> {
        // The same message with its payload stored, not deflated (flag bit 0 clear).
        let mut out = bytes[..4].to_vec();
        out[3] = 0;
        let mut payload = Vec::new();
        let _ = std::io::Read::read_to_end(
            &mut flate2::read::DeflateDecoder::new(&bytes[4..]),
            &mut payload,
        );
        out.extend_from_slice(&payload);
        out
    };
    let mut out = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>| {
        out.push(Seed {
            name: format!("{name}-plain"),
            doc: None,
            bytes: plain(bytes.clone()),
            form: Form::Wire,
            direct: true,
        });
        out.push(Seed {
            name: name.into(),
            doc: None,
            bytes,
            form: Form::Wire,
            direct: true,
        });
    };
    add("request-empty", encode(&request(vec![])));
    add("request-pushes", encode(&request(pushes.clone())));
    add("request-v1", encode_as(&v1, 1));
    add("response", encode(&response));
    out
}

/// Crafted inputs for the merge target alone (not [`Seed::direct`]): new visits pushed as the
/// change and as the document claiming 4,000,000,000 operations ([`CLAIMS_FOUR_BILLION_OPS`],
/// [`DOCUMENT_CLAIMING_FOUR_BILLION_OPS`]).
pub fn crafted() -> Vec<Seed> {
    vec![
        Seed {
            name: "change-claiming-4e9-ops".into(),
            doc: Some(new_visit(3).0),
            bytes: CLAIMS_FOUR_BILLION_OPS.to_vec(),
            form: Form::Changes { base: Vec::new() },
            direct: false,
        },
        Seed {
            name: "document-claiming-4e9-ops".into(),
            doc: Some(new_visit(4).0),
            bytes: DOCUMENT_CLAIMING_FOUR_BILLION_OPS.to_vec(),
            form: Form::Document,
            direct: false,
        },
    ]
}

/// Every seed: documents, then messages, then crafted inputs.
pub fn all() -> Vec<Seed> {
    let mut seeds = documents();
    let messages = messages(&seeds);
    seeds.extend(messages);
    seeds.extend(crafted());
    seeds
}
