//! Size measurement only, never shipped: the app the `size-stack` feature builds instead of
//! Lianxin, so `cargo xtask build-client --breakdown` can set the officer bundle beside what
//! yew and automerge cost on their own. It is a yew component that makes the automerge calls
//! the device makes (create, put, text splice, commit, save without compression — the device
//! deflates nothing itself —, load and incremental load, which inflate compressed documents,
//! merge, changes, heads, and for history a change's operations and a field's values at a
//! change) and shows their results, so LTO keeps that code and nothing of Lianxin's.

use automerge::transaction::Transactable as _;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc as _};
use yew::prelude::*;

/// The probe's one screen: a line per automerge result, or the error.
#[component]
pub fn StackProbe() -> Html {
    let lines = use_memo((), |()| match round_trip() {
        Ok(lines) => lines,
        Err(error) => vec![error.to_string()],
    });
    html! {
        <ul>{ for lines.iter().map(|line| html! { <li>{ line }</li> }) }</ul>
    }
}

fn round_trip() -> Result<Vec<String>, automerge::AutomergeError> {
    let mut mine = AutoCommit::new();
    mine.put(ROOT, "category", "land")?;
    let notes = mine.put_object(ROOT, "notes", ObjType::Text)?;
    mine.splice_text(&notes, 0, 0, "visited the workshop")?;
    mine.commit();
    let before = mine.get_heads();
    let mut theirs = AutoCommit::load(&mine.save_nocompress())?;
    theirs.put(ROOT, "tier", 2)?;
    theirs.splice_text(&notes, 0, 0, "2nd: ")?;
    theirs.commit();
    mine.load_incremental(&theirs.save_nocompress())?;
    let mut other = mine.fork();
    other.put(ROOT, "category", "funds")?;
    mine.merge(&mut other)?;
    let after = mine.get_heads();
    let last = mine.get_changes(&before);
    let operations: usize = last.iter().map(|c| c.decode().operations.len()).sum();
    let at_after = mine.get_all_at(ROOT, "category", &after)?.len();
    Ok(vec![
        mine.text(&notes)?,
        format!("{:?}", mine.get_all(ROOT, "category")?.len()),
        format!("{} changes", mine.get_changes(&[]).len()),
        format!("{operations} operations, {at_after} values"),
    ])
}
