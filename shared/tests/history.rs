//! History is evidence: per-field history with person, device and time, and a hash chain that
//! shows any rewrite.

mod common;

use common::*;
use shared::config::Config;
use shared::doc::history::{ChainError, field_history, verify_chain};
use shared::doc::{ProblemDoc, RecordDoc};

#[test]
fn field_history_names_the_field_value_person_device_and_device_time() {
    let (wang, li) = (officer_wang(), officer_li());
    let cfg = Config::default();
    let mut doc = problem_by_wang();
    doc.edit(&cfg, &li.actor, at(2), |e| e.set_category("labour"))
        .expect("edit");
    doc.edit(&cfg, &li.actor, at(3), |e| e.set_response("已对接人社局"))
        .expect("edit");
    let history = field_history(doc.record());
    let category: Vec<_> = history.iter().filter(|h| h.field == "category").collect();
    assert_eq!(category.len(), 2);
    assert_eq!(category[0].value.as_deref(), Some("power"));
    assert_eq!(category[0].author.map(|a| a.user), Some(wang.actor.user));
    assert_eq!(category[1].value.as_deref(), Some("labour"));
    let last = category[1].author.expect("written by Lianxin");
    assert_eq!((last.user, last.device), (li.actor.user, li.actor.device));
    assert_eq!(category[1].device_time, at(2));
    let response = history
        .iter()
        .rfind(|h| h.field == "response")
        .expect("text field in history");
    assert_eq!(response.value.as_deref(), Some("已对接人社局"));
}

#[test]
fn an_intact_history_passes_the_chain_check() {
    let mut doc = problem_by_wang();
    doc.edit(&Config::default(), &officer_li().actor, at(1), |e| {
        e.set_class(shared::model::ProblemClass::A)
    })
    .expect("edit");
    let heads = doc.record().heads();
    let report = verify_chain(doc.record(), &heads).expect("intact");
    assert_eq!(report.changes, 2);
    assert_eq!(report.heads, heads);
}

#[test]
fn a_flipped_byte_in_a_saved_document_is_detected() {
    let mut doc = problem_by_wang();
    let mut bytes = doc.record().save();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    // Either the bytes no longer load, or they load into a history whose chain check fails.
    match RecordDoc::load(&bytes, officer_li().actor_id()) {
        Err(_) => {}
        Ok(mut tampered) => {
            let original = doc.record().heads();
            assert!(
                verify_chain(&mut tampered, &original).is_err(),
                "tampering went unnoticed"
            );
        }
    }
}

#[test]
fn a_rewritten_history_is_detected_against_acknowledged_heads() {
    // Someone re-creates the record with the same content but different history: the heads
    // acknowledged earlier are no longer in it.
    let mut original = problem_by_wang();
    let acknowledged = original.record().heads();
    let wang = officer_wang();
    let mut forged = ProblemDoc::create(
        &new_problem(&wang, shared::model::Tier::Department),
        &Config::default(),
        &wang.actor,
        wang.actor_id(),
        at(1),
    )
    .expect("create");
    assert_eq!(
        forged.read().expect("reads").category,
        original.read().expect("reads").category
    );
    assert!(matches!(
        verify_chain(forged.record(), &acknowledged),
        Err(ChainError::AcknowledgedMissing(_))
    ));
}
