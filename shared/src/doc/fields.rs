//! The only place that touches raw Automerge paths: typed reads (with concurrent values
//! surfaced) and writes of scalars, text, sets and keyed entries.

use std::collections::BTreeSet;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value};

use super::DocError;
use crate::model::NeedsDecision;

/// Reads fields of one document, collecting scalar fields that hold concurrent values.
pub(crate) struct Reader<'a> {
    pub doc: &'a AutoCommit,
    pub needs_decision: Vec<NeedsDecision>,
}

fn render(value: &Value<'_>) -> String {
    match value {
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(s) => s.to_string(),
            other => other.to_string(),
        },
        Value::Object(t) => format!("<{t:?}>"),
    }
}

impl<'a> Reader<'a> {
    pub fn new(doc: &'a AutoCommit) -> Self {
        Reader {
            doc,
            needs_decision: Vec::new(),
        }
    }

    /// The winning value of a field, noting any concurrent losers under `label`.
    fn winner(
        &mut self,
        obj: &ObjId,
        key: &str,
        label: &str,
    ) -> Result<Option<Value<'a>>, DocError> {
        // One seek: Automerge's winner (what `get` answers) is the last of `get_all`'s values.
        let mut all = self.doc.get_all(obj, key)?;
        let Some((value, _)) = all.pop() else {
            return Ok(None);
        };
        if !all.is_empty() {
            let others = all.iter().map(|(v, _)| render(v)).collect();
            self.needs_decision.push(NeedsDecision {
                field: label.to_string(),
                shown: render(&value),
                others,
            });
        }
        Ok(Some(value))
    }

    /// A child object (map or text) under `key`, if present.
    pub fn obj(&self, obj: &ObjId, key: &str) -> Result<Option<ObjId>, DocError> {
        match self.doc.get(obj, key)? {
            Some((Value::Object(_), id)) => Ok(Some(id)),
            Some(_) => Err(DocError::WrongType {
                field: key.to_string(),
                expected: "object",
            }),
            None => Ok(None),
        }
    }

    /// An optional string scalar; `label` names it in `needs_decision`.
    pub fn opt_str(
        &mut self,
        obj: &ObjId,
        key: &str,
        label: &str,
    ) -> Result<Option<String>, DocError> {
        match self.winner(obj, key, label)? {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(|s| Some(s.to_string()))
                .ok_or(DocError::WrongType {
                    field: label.to_string(),
                    expected: "string",
                }),
        }
    }

    /// A required string scalar.
    pub fn str(&mut self, obj: &ObjId, key: &str, label: &str) -> Result<String, DocError> {
        self.opt_str(obj, key, label)?
            .ok_or_else(|| DocError::MissingField(label.to_string()))
    }

    /// A required string scalar parsed into a domain type.
    pub fn parse<T, E: std::fmt::Display>(
        &mut self,
        obj: &ObjId,
        key: &str,
        label: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, DocError> {
        let s = self.str(obj, key, label)?;
        parse(&s).map_err(|e| DocError::BadValue {
            field: label.to_string(),
            error: e.to_string(),
        })
    }

    /// An optional string scalar parsed into a domain type.
    pub fn opt_parse<T, E: std::fmt::Display>(
        &mut self,
        obj: &ObjId,
        key: &str,
        label: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, DocError> {
        match self.opt_str(obj, key, label)? {
            None => Ok(None),
            Some(s) => parse(&s).map(Some).map_err(|e| DocError::BadValue {
                field: label.to_string(),
                error: e.to_string(),
            }),
        }
    }

    /// An optional integer scalar.
    pub fn opt_i64(
        &mut self,
        obj: &ObjId,
        key: &str,
        label: &str,
    ) -> Result<Option<i64>, DocError> {
        match self.winner(obj, key, label)? {
            None => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or(DocError::WrongType {
                field: label.to_string(),
                expected: "integer",
            }),
        }
    }

    /// A required integer scalar.
    pub fn i64(&mut self, obj: &ObjId, key: &str, label: &str) -> Result<i64, DocError> {
        self.opt_i64(obj, key, label)?
            .ok_or_else(|| DocError::MissingField(label.to_string()))
    }

    /// An optional float scalar.
    pub fn opt_f64(
        &mut self,
        obj: &ObjId,
        key: &str,
        label: &str,
    ) -> Result<Option<f64>, DocError> {
        match self.winner(obj, key, label)? {
            None => Ok(None),
            Some(v) => v.as_f64().map(Some).ok_or(DocError::WrongType {
                field: label.to_string(),
                expected: "number",
            }),
        }
    }

    /// A required float scalar.
    pub fn f64(&mut self, obj: &ObjId, key: &str, label: &str) -> Result<f64, DocError> {
        self.opt_f64(obj, key, label)?
            .ok_or_else(|| DocError::MissingField(label.to_string()))
    }

    /// A boolean scalar, `false` when absent.
    pub fn bool(&mut self, obj: &ObjId, key: &str, label: &str) -> Result<bool, DocError> {
        match self.winner(obj, key, label)? {
            None => Ok(false),
            Some(v) => v.as_bool().ok_or(DocError::WrongType {
                field: label.to_string(),
                expected: "boolean",
            }),
        }
    }

    /// A text object's content, empty when absent.
    pub fn text(&self, obj: &ObjId, key: &str) -> Result<String, DocError> {
        match self.obj(obj, key)? {
            Some(id) => Ok(self.doc.text(&id)?),
            None => Ok(String::new()),
        }
    }

    /// The keys of a set (a map whose keys are the members).
    pub fn set(&self, obj: &ObjId, key: &str) -> Result<Vec<String>, DocError> {
        match self.obj(obj, key)? {
            Some(id) => Ok(self.doc.keys(&id).collect()),
            None => Ok(Vec::new()),
        }
    }

    /// The members of a set, each parsed into a domain type. Built by insertion, not by
    /// `collect()`: collecting into a `BTreeSet` sorts first, and every element type's sort is
    /// its own copy of the standard library's sort in the wasm client.
    pub fn parsed_set<T: Ord, E: std::fmt::Display>(
        &self,
        obj: &ObjId,
        key: &str,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<BTreeSet<T>, DocError> {
        let mut out = BTreeSet::new();
        for member in self.set(obj, key)? {
            let value = parse(&member).map_err(|e| DocError::BadValue {
                field: key.into(),
                error: e.to_string(),
            })?;
            out.insert(value);
        }
        Ok(out)
    }

    /// The members of a set of strings (built by insertion, see [`Reader::parsed_set`]).
    pub fn string_set(&self, obj: &ObjId, key: &str) -> Result<BTreeSet<String>, DocError> {
        let mut out = BTreeSet::new();
        for member in self.set(obj, key)? {
            out.insert(member);
        }
        Ok(out)
    }

    /// The keys of an object.
    pub fn doc_keys(&self, obj: &ObjId) -> Vec<String> {
        self.doc.keys(obj).collect()
    }

    /// The entries of every concurrent map under `key` (two devices that each made the map
    /// before seeing the other's keep both's entries), as (key, entry object) pairs; entries
    /// that are not maps are left out.
    pub fn entries_of_all(&self, obj: &ObjId, key: &str) -> Result<Vec<(String, ObjId)>, DocError> {
        let mut out = Vec::new();
        for (value, id) in self.doc.get_all(obj, key)? {
            if let Value::Object(ObjType::Map) = value {
                for item in self.doc.map_range(&id, ..) {
                    if let automerge::ValueRef::Object(_) = item.value {
                        out.push((item.key.to_string(), item.id()));
                    }
                }
            }
        }
        Ok(out)
    }

    /// The entries of a keyed map of maps, as (key, entry object) pairs in key order.
    pub fn entries(&self, obj: &ObjId, key: &str) -> Result<Vec<(String, ObjId)>, DocError> {
        let Some(id) = self.obj(obj, key)? else {
            return Ok(Vec::new());
        };
        // One pass over the map (its keys in order, each with its winning value), not a seek
        // per key.
        let mut out = Vec::new();
        for item in self.doc.map_range(&id, ..) {
            match item.value {
                automerge::ValueRef::Object(_) => out.push((item.key.to_string(), item.id())),
                automerge::ValueRef::Scalar(_) => {
                    return Err(DocError::WrongType {
                        field: format!("{key}.{}", item.key),
                        expected: "map",
                    });
                }
            }
        }
        Ok(out)
    }
}

/// Writes fields of one document inside an open (auto) transaction.
pub(crate) struct Writer<'a> {
    pub doc: &'a mut AutoCommit,
}

impl Writer<'_> {
    /// Puts a scalar, unless it already holds exactly that value with no conflict (so a no-op
    /// edit makes no change).
    pub fn put<V: Into<ScalarValue>>(
        &mut self,
        obj: &ObjId,
        key: &str,
        value: V,
    ) -> Result<(), DocError> {
        let value = value.into();
        let all = self.doc.get_all(obj, key)?;
        if let [(Value::Scalar(current), _)] = all.as_slice()
            && current.as_ref() == &value
        {
            return Ok(());
        }
        self.doc.put(obj, key, value)?;
        Ok(())
    }

    /// Removes a field if present.
    pub fn delete(&mut self, obj: &ObjId, key: &str) -> Result<(), DocError> {
        if self.doc.get(obj, key)?.is_some() {
            self.doc.delete(obj, key)?;
        }
        Ok(())
    }

    /// The child map under `key`, created when missing.
    pub fn map(&mut self, obj: &ObjId, key: &str) -> Result<ObjId, DocError> {
        match self.doc.get(obj, key)? {
            Some((Value::Object(ObjType::Map), id)) => Ok(id),
            Some(_) => Err(DocError::WrongType {
                field: key.to_string(),
                expected: "map",
            }),
            None => Ok(self.doc.put_object(obj, key, ObjType::Map)?),
        }
    }

    /// Makes a text field hold `value`, as a minimal edit of the text already there, so
    /// concurrent edits elsewhere in the text merge.
    pub fn text(&mut self, obj: &ObjId, key: &str, value: &str) -> Result<(), DocError> {
        let id = match self.doc.get(obj, key)? {
            Some((Value::Object(ObjType::Text), id)) => id,
            Some(_) => {
                return Err(DocError::WrongType {
                    field: key.to_string(),
                    expected: "text",
                });
            }
            None => self.doc.put_object(obj, key, ObjType::Text)?,
        };
        // Not Automerge's `update_text`: its diff is code the phone would download (see
        // `text_edit`).
        let old = self.doc.text(&id)?;
        for s in super::text_edit::splices(&old, value) {
            let delete = isize::try_from(s.delete).unwrap_or(isize::MAX);
            self.doc.splice_text(&id, s.at, delete, &s.insert)?;
        }
        Ok(())
    }

    /// Adds a member to a set.
    pub fn set_add(&mut self, obj: &ObjId, key: &str, member: &str) -> Result<(), DocError> {
        let set = self.map(obj, key)?;
        if self.doc.get(&set, member)?.is_none() {
            self.doc.put(&set, member, true)?;
        }
        Ok(())
    }

    /// Removes a member from a set (a concurrent re-add wins).
    pub fn set_remove(&mut self, obj: &ObjId, key: &str, member: &str) -> Result<(), DocError> {
        let set = self.map(obj, key)?;
        self.delete(&set, member)
    }

    /// The existing entry map `key.id`, if there is one.
    pub fn entry(&mut self, obj: &ObjId, key: &str, id: &str) -> Result<Option<ObjId>, DocError> {
        let Some((Value::Object(ObjType::Map), parent)) = self.doc.get(obj, key)? else {
            return Ok(None);
        };
        match self.doc.get(&parent, id)? {
            Some((Value::Object(ObjType::Map), entry)) => Ok(Some(entry)),
            _ => Ok(None),
        }
    }

    /// Whether `key` holds a map.
    pub fn has_map(&mut self, obj: &ObjId, key: &str) -> Result<bool, DocError> {
        Ok(matches!(
            self.doc.get(obj, key)?,
            Some((Value::Object(ObjType::Map), _))
        ))
    }

    /// A new entry map `key.id`, for logs whose entries are written once.
    pub fn new_entry(&mut self, obj: &ObjId, key: &str, id: &str) -> Result<ObjId, DocError> {
        let parent = self.map(obj, key)?;
        if self.doc.get(&parent, id)?.is_some() {
            return Err(DocError::DuplicateEntry {
                field: key.to_string(),
                id: id.to_string(),
            });
        }
        Ok(self.doc.put_object(&parent, id, ObjType::Map)?)
    }
}
