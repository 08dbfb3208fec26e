//! History as evidence (历史留痕): every field's history read from the change graph — which
//! field, what value, which actor, person and device, at what device time — and a check that
//! the hash chain linking the changes is intact.

use std::collections::BTreeSet;

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{AutoCommit, Change, ChangeHash, ReadDoc, Value};

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

/// The per-field history of a document, oldest change first (in causal order).
///
/// Read from each change's own operations (which fields it wrote), with each field's value
/// read at that change (`get_all_at`), not from Automerge's `diff`: the same entries for the
/// maps and texts Lianxin writes, and the patch code stays out of the app (−13 KB brotli).
/// Per change, one entry per field (several text splices collapse into one), by field name.
pub fn field_history(record: &mut RecordDoc) -> Vec<FieldChange> {
    let doc: &mut AutoCommit = record.automerge();
    let changes: Vec<Change> = doc.get_changes(&[]);
    // Each object's dotted path, from the operation that made it (changes come in causal
    // order, so an object's maker comes before any change that writes into it). A list, not
    // a map: a record holds a few dozen objects, and each map type is code the phone
    // downloads.
    let mut paths: Vec<(ObjectId, String)> = Vec::new();
    let mut out = Vec::new();
    for change in &changes {
        let after = [change.hash()];
        let expanded = change.decode();
        // Field → whether a map key was written (a text splice writes none): only then can
        // the field hold concurrent values, as Automerge's patches report it. Kept in field
        // order by insertion (a change writes a few fields).
        let mut seen: Vec<(String, bool)> = Vec::new();
        for (offset, op) in (0u64..).zip(&expanded.operations) {
            let base = match &op.obj {
                ObjectId::Root => Some(String::new()),
                id => paths
                    .iter()
                    .find(|(made, _)| made == id)
                    .map(|(_, path)| path.clone()),
            };
            // An object whose maker is unknown (not one Lianxin writes): nothing to name.
            let Some(base) = base else { continue };
            let (field, keyed) = match &op.key {
                Key::Map(key) if base.is_empty() => (key.to_string(), true),
                Key::Map(key) => (format!("{base}.{key}"), true),
                // A text (or list) element: the field is the text itself.
                Key::Seq(_) => (base, false),
            };
            if matches!(op.action, OpType::Make(_)) {
                let id = OpId(expanded.start_op.get() + offset, expanded.actor_id.clone());
                paths.push((ObjectId::Id(id), field.clone()));
            }
            match seen.binary_search_by(|(known, _)| known.as_str().cmp(&field)) {
                Ok(at) => seen[at].1 |= keyed,
                Err(at) => seen.insert(at, (field, keyed)),
            }
        }
        for (field, keyed) in seen {
            let (value, conflict) = value_at(doc, &field, &after);
            out.push(FieldChange {
                field,
                value,
                conflict: keyed && conflict,
                actor: change.actor_id().to_hex_string(),
                author: change.message().and_then(Author::parse),
                device_time: Timestamp(change.timestamp()),
                change: change.hash().to_string(),
            });
        }
    }
    out
}

/// Reads a dotted map path at the given heads: its value rendered (texts whole; `None` if
/// the field is not there) and whether it holds concurrent values.
fn value_at(doc: &AutoCommit, field: &str, heads: &[ChangeHash]) -> (Option<String>, bool) {
    let mut obj = automerge::ROOT;
    let mut parts = field.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            let values = doc.get_all_at(&obj, part, heads).unwrap_or_default();
            let conflict = values.len() > 1;
            // Automerge's winner is the last of the concurrent values.
            let value = values.last().and_then(|(value, id)| match value {
                Value::Object(automerge::ObjType::Text) => doc.text_at(id, heads).ok(),
                v => Some(render(v)),
            });
            return (value, conflict);
        }
        match doc.get_at(&obj, part, heads) {
            Ok(Some((_, id))) => obj = id,
            _ => return (None, false),
        }
    }
    (None, false)
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
