//! Size measurement only, never shipped: the app the `size-stack` feature builds instead of
//! Lianxin, so `cargo xtask build-client --breakdown` can set the officer bundle beside what
//! yew and automerge cost on their own. It is a yew component that makes the automerge calls
//! the device makes (create, put, text splice, commit, save with and without compression, load,
//! incremental load, merge, changes, heads, a diff for history) and shows their results, so
//! LTO keeps that code and nothing of Lianxin's.

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
    let mut theirs = AutoCommit::load(&mine.save())?;
    theirs.put(ROOT, "tier", 2)?;
    theirs.splice_text(&notes, 0, 0, "2nd: ")?;
    theirs.commit();
    mine.load_incremental(&theirs.save_nocompress())?;
    let mut other = mine.fork();
    other.put(ROOT, "category", "funds")?;
    mine.merge(&mut other)?;
    let after = mine.get_heads();
    let patches = mine.diff(&before, &after);
    Ok(vec![
        mine.text(&notes)?,
        format!("{:?}", mine.get_all(ROOT, "category")?.len()),
        format!("{} changes", mine.get_changes(&[]).len()),
        format!("{} patches", patches.len()),
    ])
}
