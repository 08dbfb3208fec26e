//! Schema versions: documents written by schema 1 (committed under `tests/fixtures/`) keep
//! loading; documents from a newer schema or of another kind are refused with a typed error.
//!
//! `LIANXIN_WRITE_FIXTURES=1 cargo test -p shared --test schema` rewrites the fixtures; do that
//! only when adding a new schema version's fixtures, never to make an old one pass.

mod common;

use std::path::PathBuf;

use automerge::transaction::Transactable;
use common::*;
use shared::config::Config;
use shared::doc::*;
use shared::model::*;
use shared::workflow::{Action, replay};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn v1_problem() -> ProblemDoc {
    let (wang, zhao) = (officer_wang(), handler_zhao());
    let mut doc = problem_by_wang();
    walk(
        &mut doc,
        &[
            (&wang, Action::Triage, ""),
            (&wang, Action::Assign { unit: department() }, ""),
            (&zhao, Action::Accept, ""),
        ],
    );
    doc.edit(&Config::default(), &zhao.actor, at(3), |e| {
        e.add_progress(entry(1), "已现场勘查")?;
        e.set_response("已协调供电公司增容")
    })
    .expect("edit");
    doc
}

fn v1_visit() -> VisitDoc {
    let mut v = visit_by_wang();
    v.edit(&officer_wang().actor, at(0), |e| {
        e.add_attendee("张经理")?;
        e.confirm("张经理", at(0))
    })
    .expect("edit");
    v
}

fn write_or_read(name: &str, make: impl FnOnce() -> Vec<u8>) -> Vec<u8> {
    let path = fixture(name);
    if std::env::var_os("LIANXIN_WRITE_FIXTURES").is_some() {
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(&path, make()).expect("write fixture");
    }
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {} missing ({e})", path.display()))
}

#[test]
fn a_schema_1_problem_still_loads_with_its_workflow() {
    let bytes = write_or_read("problem-v1.automerge", || v1_problem().record().save());
    let doc = ProblemDoc::load(&bytes, officer_li().actor_id()).expect("a v1 problem loads");
    let p = doc.read().expect("and reads");
    assert_eq!(p.category, "power");
    assert_eq!(p.response, "已协调供电公司增容");
    assert_eq!(p.progress.len(), 1);
    assert_eq!(replay(&p).state, ProblemState::Accepted);
}

#[test]
fn a_schema_1_visit_still_loads_with_its_check_in() {
    let bytes = write_or_read("visit-v1.automerge", || v1_visit().record().save());
    let v = VisitDoc::load(&bytes, officer_li().actor_id())
        .expect("a v1 visit loads")
        .read()
        .expect("reads");
    assert!(matches!(
        v.check_in.map(|c| c.position),
        Some(PositionFix::Fixed(_))
    ));
    assert_eq!(
        v.confirmation.map(|c| c.by_name),
        Some("张经理".to_string())
    );
    assert!(v.attendees.contains("张经理"));
}

#[test]
fn a_document_from_a_newer_schema_is_refused_with_a_clear_error() {
    let mut doc = problem_by_wang();
    let am = doc.record().automerge();
    am.put(automerge::ROOT, "schema", SCHEMA_VERSION + 1)
        .expect("put");
    am.commit();
    let bytes = doc.record().save();
    let err = ProblemDoc::load(&bytes, officer_li().actor_id()).expect_err("newer schema");
    assert_eq!(
        err,
        DocError::NewerSchema {
            found: SCHEMA_VERSION + 1,
            supported: SCHEMA_VERSION
        }
    );
    assert!(err.to_string().contains("update the app"));
}

#[test]
fn a_document_of_another_kind_is_refused() {
    let bytes = visit_by_wang().record().save();
    let err =
        ProblemDoc::load(&bytes, officer_li().actor_id()).expect_err("a visit is not a problem");
    assert!(
        matches!(
            err,
            DocError::WrongKind {
                expected: "problem",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn bytes_that_are_not_a_document_are_refused() {
    let err = RecordDoc::load(b"not an automerge document", officer_li().actor_id())
        .expect_err("garbage");
    assert!(matches!(err, DocError::Automerge(_)), "{err}");
    let err = RecordDoc::load(&[], officer_li().actor_id()).expect_err("empty");
    assert!(matches!(err, DocError::MissingField(_)), "{err}");
}

#[test]
fn enterprise_and_monitoring_documents_round_trip() {
    let wang = officer_wang();
    let code = CreditCode::from_parts('9', '1', "419001", "MA4K0012").expect("valid");
    let new = NewEnterprise {
        id: enterprise(),
        credit_code: code.clone(),
        name: "河南凯华万洋新型建材有限公司".into(),
        address: "济源市玉川产业集聚区".into(),
        town: OrgUnitId::from_random_bytes(bytes(6, 9)),
        industry: "建材".into(),
        size: EnterpriseSize::AboveDesignated,
        key_enterprise: true,
        position: Some(Position::new(35.1, 112.5, 20.0).expect("valid")),
    };
    let mut e = EnterpriseDoc::create(&new, &wang.actor, wang.actor_id(), T0).expect("create");
    e.edit(&wang.actor, at(1), |w| {
        w.put_contact(
            entry(1),
            &Contact {
                name: "陈伟".into(),
                title: "总经理".into(),
                phone: "13800000000".into(),
            },
        )
    })
    .expect("edit");
    let loaded = EnterpriseDoc::load(&e.record().save(), wang.actor_id())
        .expect("load")
        .read()
        .expect("read");
    assert_eq!(loaded.credit_code, code);
    assert_eq!(loaded.contacts.len(), 1);
    assert!(loaded.key_enterprise);

    let mut m =
        MonitoringDoc::create(enterprise(), &wang.actor, wang.actor_id(), T0).expect("create");
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).expect("date");
    m.edit(&wang.actor, at(1), |w| {
        w.record_power(day, 12_500.0)?;
        w.record_price(IsoWeek::of(day), "水泥", 420.0)?;
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
    .expect("edit");
    let err = m
        .edit(&wang.actor, at(1), |w| w.record_power(day, f64::NAN))
        .expect_err("NaN refused");
    assert!(matches!(err, DocError::BadValue { .. }));
    let loaded = MonitoringDoc::load(&m.record().save(), wang.actor_id())
        .expect("load")
        .read()
        .expect("read");
    assert_eq!(loaded.power.get(&day), Some(&12_500.0));
    assert_eq!(
        loaded.prices.values().next().and_then(|p| p.get("水泥")),
        Some(&420.0)
    );
    assert_eq!(loaded.operation.len(), 1);
}
