//! The engine's side of "rules apply to values being set": a problem stored under one
//! configuration is still accepted, edited, by a server whose configuration dropped its
//! category — also for the server's own writes (no authorship check, e.g. the 连心卡's page),
//! which read the stored version only when a value is not configured — while a new problem of
//! that category is refused — unless the device declares an older configuration that had it.

mod common;

use common::*;
use shared::config::Config;
use shared::doc::DocKind;
use shared::sync::memory::MemoryStore;
use shared::sync::protocol::{DocId, DocPush, Outcome, Refusal, SyncRequest, to_wire};
use shared::sync::server::{SyncContext, handle_sync};
use shared::sync::validate::Scope;

fn without_power() -> Config {
    let mut config = Config::default();
    config.categories.retain(|c| c.code != "power");
    config
}

/// Pushes what `data` holds after `base` as a server-internal write under `config`.
fn push(store: &mut MemoryStore, config: &Config, push: DocPush) -> Outcome {
    push_declaring(store, config, None, push)
}

/// [`push`] from a device that declares it holds `declared`.
fn push_declaring(
    store: &mut MemoryStore,
    config: &Config,
    declared: Option<&Config>,
    push: DocPush,
) -> Outcome {
    let ctx = SyncContext {
        declared,
        device: officer_wang().actor.device,
        read: &Scope::All,
        write: &Scope::All,
        config,
        now: T0,
        limits: shared::sync::limits::Limits::DEVICE,
        authorship: None,
    };
    let request = SyncRequest {
        cursor: 0,
        ack: 0,
        device_time: T0,
        push: vec![push],
        max_response_bytes: 1 << 20,
        unsent: None,
    };
    let mut response = handle_sync(store, &ctx, &request).expect("the memory store cannot fail");
    response.results.remove(0).outcome
}

#[test]
fn a_stored_problem_of_a_dropped_category_is_still_edited_and_a_new_one_refused() {
    let mut store = MemoryStore::new();
    let mut doc = problem_by_wang();
    let id = DocId::new(DocKind::Problem, &doc.read().expect("reads").id.to_string());
    let whole = |doc: &mut shared::doc::ProblemDoc, base: &[automerge::ChangeHash]| DocPush {
        doc: id.clone(),
        base: to_wire(base),
        heads: to_wire(&doc.record().heads()),
        data: doc.record().automerge().save_after(base),
    };

    let new = whole(&mut doc, &[]);
    let refused = push(&mut store, &without_power(), new.clone());
    assert!(
        matches!(&refused, Outcome::Refused(Refusal::Invalid(why)) if why.contains("\"power\"")),
        "a new problem of the dropped category: {refused:?}"
    );
    assert!(matches!(
        push(&mut store, &Config::default(), new),
        Outcome::Accepted { .. }
    ));

    let base = doc.record().heads();
    let wang = officer_wang();
    doc.edit(&Config::default(), &wang.actor, at(1), |e| {
        e.set_description("变压器容量不足，已报供电公司")
    })
    .expect("edited");
    let edit = whole(&mut doc, &base);
    let out = push(&mut store, &without_power(), edit);
    assert!(
        matches!(out, Outcome::Accepted { .. }),
        "the edit of a stored problem: {out:?}"
    );
}

#[test]
fn a_new_problem_of_a_dropped_category_is_accepted_from_a_device_declaring_the_older_configuration()
{
    let doc = problem_by_wang();
    let id = DocId::new(DocKind::Problem, &doc.read().expect("reads").id.to_string());
    let mut doc = doc;
    let new = DocPush {
        doc: id,
        base: vec![],
        heads: to_wire(&doc.record().heads()),
        data: doc.record().automerge().save_after(&[]),
    };
    let out = push_declaring(
        &mut MemoryStore::new(),
        &without_power(),
        Some(&without_power()),
        new.clone(),
    );
    assert!(
        matches!(&out, Outcome::Refused(Refusal::Invalid(why)) if why.contains("\"power\"")),
        "declaring the current configuration: {out:?}"
    );
    let out = push_declaring(
        &mut MemoryStore::new(),
        &without_power(),
        Some(&Config::default()),
        new,
    );
    assert!(
        matches!(out, Outcome::Accepted { .. }),
        "declaring the configuration that had the category: {out:?}"
    );
}
