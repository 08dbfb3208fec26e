//! Which problems an officer's to-do (`GET /api/todo`) loads.

use super::*;

#[test]
fn an_officers_to_do_leaves_out_their_settled_problems_before_loading_any_document() {
    let (_dir, mut store) = fresh();
    let wang = officer_wang();
    let mut open = problem_of(1, enterprise(1), &wang);
    let mut withdrawn = problem_of(2, enterprise(1), &wang);
    withdrawn
        .act(&wang.actor, T0, entry(1), Action::Withdraw, "重复上报")
        .expect("the officer withdraws their own problem");
    let docs = vec![doc_commit(open.record()), doc_commit(withdrawn.record())];
    let open_id = docs[0].doc.clone();
    store
        .commit(&commit_by(&wang, at(0), docs))
        .expect("committed");
    assert_eq!(
        store
            .todo_problems(&Scope::All, wang.actor.user, department())
            .expect("listed"),
        vec![open_id],
        "the withdrawn problem is settled"
    );
}
