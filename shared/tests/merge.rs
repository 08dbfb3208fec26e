//! What happens when people edit the same record offline and their replicas merge.

mod common;

use common::*;
use shared::config::Config;
use shared::doc::history::field_history;
use shared::model::{ProblemClass, ProblemState as S};
use shared::workflow::{Action, replay};

fn merged(a: &mut shared::doc::ProblemDoc, b: &mut shared::doc::ProblemDoc) {
    a.record().merge(b.record()).expect("merge a<-b");
    b.record().merge(a.record()).expect("merge b<-a");
    assert_eq!(a.record().heads(), b.record().heads());
}

#[test]
fn two_officers_editing_different_fields_offline_both_keep_their_edits() {
    let (wang, li) = (officer_wang(), officer_li());
    let cfg = Config::default();
    let mut a = problem_by_wang();
    let mut b = replica(&mut a, &li);
    a.edit(&cfg, &wang.actor, at(1), |e| e.set_category("land"))
        .expect("edit");
    b.edit(&cfg, &li.actor, at(1), |e| e.set_class(ProblemClass::D))
        .expect("edit");
    merged(&mut a, &mut b);
    for doc in [&a, &b] {
        let p = doc.read().expect("reads");
        assert_eq!((p.category.as_str(), p.class), ("land", ProblemClass::D));
        assert!(p.needs_decision.is_empty());
    }
}

#[test]
fn the_same_field_resolves_to_one_winner_everywhere_and_the_loser_is_visible() {
    let (wang, li) = (officer_wang(), officer_li());
    let cfg = Config::default();
    let mut a = problem_by_wang();
    let mut b = replica(&mut a, &li);
    a.edit(&cfg, &wang.actor, at(1), |e| e.set_category("land"))
        .expect("edit");
    b.edit(&cfg, &li.actor, at(1), |e| e.set_category("funds"))
        .expect("edit");
    merged(&mut a, &mut b);
    let (pa, pb) = (a.read().expect("reads"), b.read().expect("reads"));
    assert_eq!(pa.category, pb.category, "the same winner on every replica");
    let decision = pa
        .needs_decision
        .iter()
        .find(|d| d.field == "category")
        .expect("surfaced as needs decision");
    let loser = if pa.category == "land" {
        "funds"
    } else {
        "land"
    };
    assert_eq!(decision.others, vec![loser.to_string()]);
    assert_eq!(pa.needs_decision, pb.needs_decision);
    let history = field_history(a.record());
    let values: Vec<_> = history
        .iter()
        .filter(|h| h.field == "category")
        .filter_map(|h| h.value.clone())
        .collect();
    assert!(
        values.contains(&loser.to_string()),
        "the losing value stays in history: {values:?}"
    );

    // A decision by a third person settles the conflict everywhere.
    a.edit(&cfg, &leader_chen().actor, at(2), |e| {
        e.set_category("funds")
    })
    .expect("decide");
    merged(&mut a, &mut b);
    assert!(b.read().expect("reads").needs_decision.is_empty());
}

#[test]
fn concurrent_progress_entries_are_both_kept() {
    let (wang, zhao) = (officer_wang(), handler_zhao());
    let cfg = Config::default();
    let mut a = problem_by_wang();
    let mut b = replica(&mut a, &zhao);
    a.edit(&cfg, &wang.actor, at(1), |e| {
        e.add_progress(entry(1), "已联系供电公司")
    })
    .expect("edit");
    b.edit(&cfg, &zhao.actor, at(1), |e| {
        e.add_progress(entry(2), "现场勘查完成")
    })
    .expect("edit");
    merged(&mut a, &mut b);
    let texts: Vec<_> = a
        .read()
        .expect("reads")
        .progress
        .into_iter()
        .map(|p| p.text)
        .collect();
    assert_eq!(texts.len(), 2);
    assert!(
        texts.contains(&"已联系供电公司".to_string())
            && texts.contains(&"现场勘查完成".to_string())
    );
}

#[test]
fn concurrent_text_edits_in_different_places_merge_as_text() {
    let (wang, li) = (officer_wang(), officer_li());
    let cfg = Config::default();
    let mut a = problem_by_wang();
    let mut b = replica(&mut a, &li);
    a.edit(&cfg, &wang.actor, at(1), |e| {
        e.set_description("【紧急】厂区变压器容量不足，扩产后经常跳闸")
    })
    .expect("edit");
    b.edit(&cfg, &li.actor, at(1), |e| {
        e.set_description("厂区变压器容量不足，扩产后经常跳闸，影响夜班")
    })
    .expect("edit");
    merged(&mut a, &mut b);
    assert_eq!(
        a.read().expect("reads").description,
        "【紧急】厂区变压器容量不足，扩产后经常跳闸，影响夜班"
    );
}

#[test]
fn concurrent_additions_to_handling_units_both_stay() {
    let (wang, chen) = (officer_wang(), leader_chen());
    let cfg = Config::default();
    let mut a = problem_by_wang();
    let mut b = replica(&mut a, &chen);
    let other = shared::model::OrgUnitId::from_random_bytes(bytes(6, 2));
    a.edit(&cfg, &wang.actor, at(1), |e| {
        e.add_handling_unit(department())
    })
    .expect("edit");
    b.edit(&cfg, &chen.actor, at(1), |e| e.add_handling_unit(other))
        .expect("edit");
    merged(&mut a, &mut b);
    assert_eq!(a.read().expect("reads").handling_units.len(), 2);
}

/// Brings a problem to "confirmed by the enterprise".
fn confirmed_problem() -> shared::doc::ProblemDoc {
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
    doc.edit(&Config::default(), &zhao.actor, at(5), |e| {
        e.set_response("已完成增容")
    })
    .expect("edit");
    doc.act(&zhao.actor, at(6), entry(1), Action::Respond, "")
        .expect("respond");
    doc.act(&wang.actor, at(7), entry(2), Action::Confirm, "")
        .expect("confirm");
    doc
}

#[test]
fn a_concurrent_look_back_reopen_beats_a_sign_off() {
    // The server's copy was signed off by Wang; Li, offline, had seen the sign-off of an earlier
    // replica and records a failed look-back while Chen, also offline, signs off again.
    let (wang, li, chen) = (officer_wang(), officer_li(), leader_chen());
    let mut server = confirmed_problem();
    let mut chen_copy = replica(&mut server, &chen);
    server
        .act(
            &wang.actor,
            at(8),
            entry(3),
            Action::SignOff { waiver: false },
            "",
        )
        .expect("sign off");
    let mut li_copy = replica(&mut server, &li);
    li_copy
        .act(
            &li.actor,
            at(9),
            entry(4),
            Action::LookBackReopen,
            "回访发现仍然跳闸",
        )
        .expect("reopen");
    chen_copy
        .act(
            &chen.actor,
            at(9),
            entry(5),
            Action::SignOff { waiver: false },
            "",
        )
        .expect("sign off");
    for order in [[0usize, 1], [1, 0]] {
        let mut target = replica(&mut server, &wang);
        for i in order {
            let source = if i == 0 { &mut li_copy } else { &mut chen_copy };
            target.record().merge(source.record()).expect("merge");
        }
        let outcome = replay(&target.read().expect("reads"));
        assert_eq!(outcome.state, S::Reopened, "merge order {order:?}");
        assert_eq!(
            outcome.superseded.len(),
            1,
            "the second sign-off is kept but superseded"
        );
    }
}

#[test]
fn a_concurrent_dispute_beats_a_sign_off_with_a_waiver() {
    let (wang, li) = (officer_wang(), officer_li());
    let mut a = confirmed_problem();
    let mut b = replica(&mut a, &li);
    a.act(
        &wang.actor,
        at(8),
        entry(3),
        Action::SignOff { waiver: true },
        "电话确认",
    )
    .expect("sign off");
    b.act(
        &li.actor,
        at(8),
        entry(4),
        Action::Dispute,
        "企业表示电压仍不稳定",
    )
    .expect("dispute");
    merged(&mut a, &mut b);
    let (oa, ob) = (
        replay(&a.read().expect("reads")),
        replay(&b.read().expect("reads")),
    );
    assert_eq!(oa.state, S::Disputed);
    assert_eq!(oa, ob);
    assert_eq!(oa.superseded.first().map(|s| s.event), Some(entry(3)));
}

#[test]
fn a_sign_off_whose_guard_fails_after_a_merge_is_superseded() {
    // Li clears the response while Wang signs off: after the merge the sign-off no longer has a
    // response to stand on, so the problem is not closed (no fake closures): every event that
    // needs the response waits, superseded, until a response is written again.
    let (wang, li) = (officer_wang(), officer_li());
    let mut a = confirmed_problem();
    let mut b = replica(&mut a, &li);
    a.act(
        &wang.actor,
        at(8),
        entry(3),
        Action::SignOff { waiver: false },
        "",
    )
    .expect("sign off");
    b.edit(&Config::default(), &li.actor, at(8), |e| e.set_response(""))
        .expect("edit");
    merged(&mut a, &mut b);
    let outcome = replay(&a.read().expect("reads"));
    assert_eq!(outcome.state, S::Accepted);
    assert_eq!(
        outcome.superseded.len(),
        3,
        "respond, confirm and sign-off wait for a response"
    );

    a.edit(&Config::default(), &li.actor, at(9), |e| {
        e.set_response("已完成增容，电压稳定")
    })
    .expect("edit");
    assert_eq!(
        replay(&a.read().expect("reads")).state,
        S::SignedOff,
        "a written response restores them"
    );
}
