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

/// The history as Automerge's own patches tell it (the device read it this way until the
/// history page stopped linking `diff`): the reference [`field_history`] must agree with.
mod by_diff {
    use std::collections::BTreeMap;

    use automerge::patches::PatchAction;
    use automerge::{Change, ChangeHash, ObjId, Prop, ReadDoc, Value};
    use shared::doc::history::FieldChange;
    use shared::doc::{Author, RecordDoc};
    use shared::model::Timestamp;

    fn render(v: &Value<'_>) -> String {
        match v {
            Value::Scalar(s) => match s.as_ref() {
                automerge::ScalarValue::Str(s) => s.to_string(),
                other => other.to_string(),
            },
            Value::Object(t) => format!("<{t:?}>"),
        }
    }

    fn prop_str(p: &Prop) -> String {
        match p {
            Prop::Map(k) => k.clone(),
            Prop::Seq(i) => i.to_string(),
        }
    }

    fn join(base: &[String], key: Option<&String>) -> String {
        let mut parts: Vec<&str> = base.iter().map(String::as_str).collect();
        if let Some(k) = key {
            parts.push(k);
        }
        parts.join(".")
    }

    fn value_at(doc: &automerge::AutoCommit, field: &str, heads: &[ChangeHash]) -> Option<String> {
        let mut obj = automerge::ROOT;
        let mut parts = field.split('.').peekable();
        while let Some(part) = parts.next() {
            let (value, id) = doc.get_at(&obj, part, heads).ok()??;
            if parts.peek().is_none() {
                return Some(match value {
                    Value::Object(automerge::ObjType::Text) => doc.text_at(&id, heads).ok()?,
                    v => render(&v),
                });
            }
            obj = id;
        }
        None
    }

    pub fn field_history(record: &mut RecordDoc) -> Vec<FieldChange> {
        let doc = record.automerge();
        let changes: Vec<Change> = doc.get_changes(&[]);
        let mut out = Vec::new();
        for change in &changes {
            let after = [change.hash()];
            let patches = doc.diff(change.deps(), &after);
            let mut seen: BTreeMap<String, (Option<ObjId>, bool, bool)> = BTreeMap::new();
            for patch in patches {
                let base: Vec<String> = patch.path.iter().map(|(_, p)| prop_str(p)).collect();
                let (field, text_obj, deleted, conflict) = match &patch.action {
                    PatchAction::PutMap { key, conflict, .. } => {
                        (join(&base, Some(key)), None, false, *conflict)
                    }
                    PatchAction::DeleteMap { key } => (join(&base, Some(key)), None, true, false),
                    PatchAction::SpliceText { .. } | PatchAction::DeleteSeq { .. } => {
                        (join(&base, None), Some(patch.obj.clone()), false, false)
                    }
                    PatchAction::Conflict { prop } => {
                        (join(&base, Some(&prop_str(prop))), None, false, true)
                    }
                    _ => (join(&base, None), None, false, false),
                };
                let e = seen
                    .entry(field)
                    .or_insert((text_obj.clone(), deleted, conflict));
                e.1 = deleted;
                e.2 |= conflict;
            }
            for (field, (text_obj, deleted, conflict)) in seen {
                let value = if deleted {
                    None
                } else if let Some(obj) = text_obj {
                    doc.text_at(&obj, &after).ok()
                } else {
                    value_at(doc, &field, &after)
                };
                out.push(FieldChange {
                    field,
                    value,
                    conflict,
                    actor: change.actor_id().to_hex_string(),
                    author: change.message().and_then(Author::parse),
                    device_time: Timestamp(change.timestamp()),
                    change: change.hash().to_string(),
                });
            }
        }
        out
    }
}

#[test]
fn the_history_read_from_operations_matches_automerges_patches() {
    let (wang, li, zhao, chen) = (officer_wang(), officer_li(), handler_zhao(), leader_chen());
    let cfg = Config::default();
    // A problem along the main path, with texts written, rewritten and appended to, set
    // members added and taken off, and a logged progress entry.
    let mut doc = problem_by_wang();
    walk(
        &mut doc,
        &[
            (&wang, shared::workflow::Action::Triage, ""),
            (
                &chen,
                shared::workflow::Action::Assign { unit: department() },
                "",
            ),
            (&zhao, shared::workflow::Action::Accept, ""),
        ],
    );
    doc.edit(&cfg, &zhao.actor, at(4), |e| {
        e.set_response("已对接")?;
        e.add_progress(entry(1), "约谈企业")?;
        e.add_handling_unit(shared::model::OrgUnitId::from_random_bytes(bytes(5, 9)))
    })
    .expect("edit");
    doc.edit(&cfg, &zhao.actor, at(5), |e| {
        e.set_response("已对接人社局")?;
        e.remove_handling_unit(shared::model::OrgUnitId::from_random_bytes(bytes(5, 9)))?;
        e.set_leader(Some(chen.actor.user))
    })
    .expect("edit");
    doc.edit(&cfg, &zhao.actor, at(6), |e| {
        e.set_leader(None)?;
        e.set_description("企业用电紧张，需协调")
    })
    .expect("edit");
    // Concurrent edits of one field and of a text, merged both ways: conflicts in history.
    let mut other = replica(&mut doc, &li);
    doc.edit(&cfg, &wang.actor, at(7), |e| {
        e.set_category("land")?;
        e.set_response("已对接人社局，待回复")
    })
    .expect("edit");
    other
        .edit(&cfg, &li.actor, at(7), |e| {
            e.set_category("funds")?;
            e.set_response("人社局已回复")
        })
        .expect("edit");
    doc.record().merge(other.record()).expect("merge");
    other.record().merge(doc.record()).expect("merge");
    // An edit after the merge settles the conflict.
    other
        .edit(&cfg, &li.actor, at(8), |e| e.set_category("labour"))
        .expect("edit");
    let mut visit = visit_by_wang();

    for record in [doc.record(), other.record(), visit.record()] {
        let expected = by_diff::field_history(record);
        assert!(expected.len() > 5, "a history worth comparing");
        assert_eq!(field_history(record), expected);
    }
}
