//! History as evidence (历史留痕): every field's history read from the change graph — which
//! field, what value, which actor, person and device, at what device time — and a check that
//! the hash chain linking the changes is intact.

use std::collections::{BTreeMap, BTreeSet};

use automerge::patches::PatchAction;
use automerge::{AutoCommit, Change, ChangeHash, ObjId, Prop, ReadDoc, Value};

use super::{Author, RecordDoc};
use crate::model::Timestamp;

/// One field set by one change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldChange {
    /// Dotted path of the field, e.g. `category`, `progress.<id>.text`, `handling_units.<id>`.
    pub field: String,
    /// The field's value right after the change (text fields: the whole text); `None` when the
    /// change removed it.
    pub value: Option<String>,
    /// Whether other replicas held a concurrent value at that point.
    pub conflict: bool,
    /// Hex of the Automerge actor that made the change.
    pub actor: String,
    /// The person and device named in the change message, if written by Lianxin.
    pub author: Option<Author>,
    /// The device's clock when the change was made.
    pub device_time: Timestamp,
    /// Hex of the change's hash.
    pub change: String,
}

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

/// The per-field history of a document, oldest change first (in causal order).
pub fn field_history(record: &mut RecordDoc) -> Vec<FieldChange> {
    let doc: &mut AutoCommit = record.automerge();
    let changes: Vec<Change> = doc.get_changes(&[]);
    let mut out = Vec::new();
    for change in &changes {
        let after = [change.hash()];
        let patches = doc.diff(change.deps(), &after);
        // One entry per field per change: several text splices collapse into one.
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

fn join(base: &[String], key: Option<&String>) -> String {
    let mut parts: Vec<&str> = base.iter().map(String::as_str).collect();
    if let Some(k) = key {
        parts.push(k);
    }
    parts.join(".")
}

/// Reads a dotted map path at the given heads and renders its value.
fn value_at(doc: &AutoCommit, field: &str, heads: &[ChangeHash]) -> Option<String> {
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

/// Why a document's history is not intact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// A change's bytes do not hash to the hash it is known by.
    #[error("change {0} does not match its hash")]
    HashMismatch(String),
    /// A change depends on a change the document does not hold.
    #[error("change {change} depends on missing change {missing}")]
    MissingDependency {
        /// The dependent change.
        change: String,
        /// The missing dependency.
        missing: String,
    },
    /// The document's heads are not the changes nothing depends on.
    #[error("the document's heads do not match its change graph")]
    HeadsMismatch,
    /// A change acknowledged earlier is not in the document: history was rewritten.
    #[error("acknowledged change {0} is missing: the history was rewritten")]
    AcknowledgedMissing(String),
}

/// A summary of an intact history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Number of changes checked.
    pub changes: usize,
    /// The heads the chain ends in.
    pub heads: Vec<ChangeHash>,
}

/// Checks that every change hashes to its hash, every dependency is present, the heads are the
/// changes nothing depends on, and every `acknowledged` change (e.g. the heads the server
/// acknowledged earlier) is still part of the history.
pub fn verify_chain(
    record: &mut RecordDoc,
    acknowledged: &[ChangeHash],
) -> Result<ChainReport, ChainError> {
    let doc = record.automerge();
    let changes = doc.get_changes(&[]);
    let mut known: BTreeSet<ChangeHash> = BTreeSet::new();
    let mut depended: BTreeSet<ChangeHash> = BTreeSet::new();
    for change in &changes {
        let hash = change.hash();
        let rehashed = Change::from_bytes(change.raw_bytes().to_vec())
            .map_err(|_| ChainError::HashMismatch(hash.to_string()))?;
        if rehashed.hash() != hash {
            return Err(ChainError::HashMismatch(hash.to_string()));
        }
        for dep in change.deps() {
            if !known.contains(dep) {
                return Err(ChainError::MissingDependency {
                    change: hash.to_string(),
                    missing: dep.to_string(),
                });
            }
            depended.insert(*dep);
        }
        known.insert(hash);
    }
    let computed: BTreeSet<ChangeHash> = known.difference(&depended).copied().collect();
    let heads: BTreeSet<ChangeHash> = doc.get_heads().into_iter().collect();
    if computed != heads {
        return Err(ChainError::HeadsMismatch);
    }
    for a in acknowledged {
        if !known.contains(a) {
            return Err(ChainError::AcknowledgedMissing(a.to_string()));
        }
    }
    Ok(ChainReport {
        changes: changes.len(),
        heads: heads.into_iter().collect(),
    })
}
