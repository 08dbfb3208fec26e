//! The enterprise's signature (企业签字): what a visit's confirmation and a problem's `confirm`
//! event keep of it, how records from before read, the bounds the server checks, and that the
//! signature is one of the record's blobs but not one of its photos.

mod common;

use common::*;
use shared::config::Config;
use shared::doc::{DocKind, ProblemDoc, VisitDoc};
use shared::model::signature::{MAX_SIGNATURE_BYTES, MAX_SIGNER_CHARS};
use shared::model::{ProblemState, SIGNATURE_TYPE, Signature};
use shared::sync::protocol::DocId;
use shared::sync::validate;
use shared::workflow::Action;

fn png(n: u8) -> Signature {
    Signature {
        hash: format!("{n:02x}").repeat(32),
        size: 9_000 + u64::from(n),
        media_type: SIGNATURE_TYPE.into(),
    }
}

/// Officer Wang's visit, confirmed by `name`'s signature `signature`.
fn signed_visit(name: &str, signature: &Signature) -> VisitDoc {
    let wang = officer_wang();
    let mut doc = visit_by_wang();
    doc.edit(&wang.actor, at(1), |v| v.sign(name, at(1), signature))
        .expect("signed");
    doc
}

/// Wang's problem, answered by the department and confirmed by `name`'s signature, with
/// Wang's words "线路已更换".
fn confirmed_problem(name: &str, signature: &Signature) -> ProblemDoc {
    let (wang, zhao, chen) = (officer_wang(), handler_zhao(), leader_chen());
    let mut doc = problem_by_wang();
    walk(
        &mut doc,
        &[
            (&wang, Action::Triage, ""),
            (&chen, Action::Assign { unit: department() }, ""),
            (&zhao, Action::Accept, ""),
            (&zhao, Action::Start, ""),
        ],
    );
    doc.edit(&Config::default(), &zhao.actor, at(5), |e| {
        e.set_response("已协调供电公司增容")
    })
    .expect("answer written");
    doc.act(&zhao.actor, at(6), entry(1), Action::Respond, "")
        .expect("answered");
    let state = doc
        .confirm_signed(&wang.actor, at(7), entry(2), "线路已更换", name, signature)
        .expect("confirmed with a signature");
    assert_eq!(state, ProblemState::Confirmed);
    doc
}

#[test]
fn a_visits_signature_survives_save_and_load_with_its_signer_and_time() {
    let mut doc = signed_visit(" 张经理 ", &png(1));
    let loaded = VisitDoc::load(&doc.record().save(), officer_li().actor_id()).expect("loads");
    let confirmation = loaded
        .read()
        .expect("reads")
        .confirmation
        .expect("confirmed");
    assert_eq!(confirmation.by_name, "张经理");
    assert_eq!(confirmation.at, at(1));
    assert_eq!(confirmation.signature, Some(png(1)));
}

#[test]
fn a_problems_confirmation_carries_its_signature_on_the_confirm_event() {
    let mut doc = confirmed_problem("张经理", &png(2));
    let loaded = ProblemDoc::load(&doc.record().save(), officer_li().actor_id()).expect("loads");
    let problem = loaded.read().expect("reads");
    let confirm = problem
        .events
        .iter()
        .find(|e| e.action == Action::Confirm)
        .expect("the confirm event");
    assert_eq!(
        confirm.reason, "线路已更换",
        "the officer's words kept with it"
    );
    assert_eq!(problem.signatures.len(), 1);
    let signed = &problem.signatures[0];
    assert_eq!(
        (signed.event, signed.by_name.as_str(), signed.at),
        (confirm.id, "张经理", at(7))
    );
    assert_eq!(signed.signature, png(2));
}

#[test]
fn records_from_before_signatures_read_as_unsigned() {
    let wang = officer_wang();
    let mut visit = visit_by_wang();
    // Confirmed by name, as every confirmation was before signatures.
    visit
        .edit(&wang.actor, at(1), |v| v.confirm("张经理", at(1)))
        .expect("confirmed by name");
    let confirmation = visit
        .read()
        .expect("reads")
        .confirmation
        .expect("confirmed");
    assert_eq!(confirmation.signature, None);
    let mut problem = problem_by_wang();
    walk(&mut problem, &[(&wang, Action::Triage, "")]);
    let read = problem.read().expect("reads");
    assert!(read.signatures.is_empty());
}

#[test]
fn a_signature_is_one_of_the_records_blobs_but_not_one_of_its_photos() {
    let visit = signed_visit("张经理", &png(3)).read().expect("reads");
    assert!(visit.photo_hashes().is_empty());
    assert_eq!(visit.blob_hashes(), vec![png(3).hash.as_str()]);
    let problem = confirmed_problem("张经理", &png(4)).read().expect("reads");
    assert!(problem.photo_hashes().is_empty());
    assert_eq!(problem.blob_hashes(), vec![png(4).hash.as_str()]);
}

/// The server's judgement of a visit signed by `name` with `signature`, and of a problem
/// confirmed so.
fn judged(name: &str, signature: &Signature) -> [Result<(), String>; 2] {
    let mut visit = signed_visit(name, signature);
    let id = DocId::new(DocKind::Visit, &visit.read().expect("reads").id.to_string());
    let v = validate::validate(&id, visit.record(), &Config::default());
    let mut problem = confirmed_problem(name, signature);
    let id = DocId::new(
        DocKind::Problem,
        &problem.read().expect("reads").id.to_string(),
    );
    let p = validate::validate(&id, problem.record(), &Config::default());
    [v.map(|_| ()), p.map(|_| ())].map(|r| r.map_err(|e| e.to_string()))
}

#[test]
fn the_server_takes_a_signature_within_the_bounds() {
    let largest = Signature {
        size: MAX_SIGNATURE_BYTES,
        ..png(1)
    };
    let name = "张".repeat(MAX_SIGNER_CHARS);
    assert_eq!(judged(&name, &largest), [Ok(()), Ok(())]);
}

#[test]
fn the_server_refuses_a_signature_that_breaks_a_bound() {
    let cases = [
        (
            "张经理".to_string(),
            Signature {
                hash: "AB".repeat(32),
                ..png(1)
            },
            "not a SHA-256",
        ),
        ("张经理".into(), Signature { size: 0, ..png(1) }, "bytes"),
        (
            "张经理".into(),
            Signature {
                size: MAX_SIGNATURE_BYTES + 1,
                ..png(1)
            },
            "bytes",
        ),
        (
            "张经理".into(),
            Signature {
                media_type: "image/jpeg".into(),
                ..png(1)
            },
            "image/jpeg",
        ),
        ("张".repeat(MAX_SIGNER_CHARS + 1), png(1), "signer's name"),
        ("  ".into(), png(1), "signer's name"),
    ];
    for (name, signature, says) in cases {
        for refused in judged(&name, &signature) {
            let refused = refused.expect_err("out of bounds");
            assert!(refused.contains(says), "{says:?} in {refused}");
        }
    }
}
