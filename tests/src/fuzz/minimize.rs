//! Greedy minimization of a panicking input: drop whole chunks, then whole columns of a
//! document chunk (inflating deflated ones), remove ranges of bytes (halving their size down to
//! one), then zero bytes, keeping each step that still panics at the same place. Automerge
//! chunks are edited inside their data and written back with valid lengths and checksums
//! (column lengths too), so every candidate reaches the same decoder.

use std::io::Read as _;

use super::mutate::{Chunk, fix_checksums, join_chunks, read_uleb, split_chunks, write_uleb};

/// A column of a document chunk: its specification and data.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    spec: u64,
    data: Vec<u8>,
}

/// A document chunk's data split into its sections.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DocData {
    /// Actors and heads, as written.
    prefix: Vec<u8>,
    changes: Vec<Column>,
    ops: Vec<Column>,
    /// Head indexes, as written.
    suffix: Vec<u8>,
}

/// Bit of a column specification saying its data is deflated.
const DEFLATE: u64 = 0b1000;

fn uleb_at(data: &[u8], at: &mut usize) -> Option<u64> {
    let (v, n) = read_uleb(data.get(*at..)?)?;
    *at += n;
    Some(v)
}

impl DocData {
    fn parse(data: &[u8]) -> Option<DocData> {
        let mut at = 0;
        for _ in 0..uleb_at(data, &mut at)? {
            let len = usize::try_from(uleb_at(data, &mut at)?).ok()?;
            at = at.checked_add(len)?;
        }
        let heads = usize::try_from(uleb_at(data, &mut at)?).ok()?;
        at = at.checked_add(heads.checked_mul(32)?)?;
        let prefix = data.get(..at)?.to_vec();
        let meta = |at: &mut usize| -> Option<Vec<(u64, usize)>> {
            (0..uleb_at(data, at)?)
                .map(|_| {
                    let spec = uleb_at(data, at)?;
                    Some((spec, usize::try_from(uleb_at(data, at)?).ok()?))
                })
                .collect()
        };
        let change_meta = meta(&mut at)?;
        let ops_meta = meta(&mut at)?;
        let columns = |specs: Vec<(u64, usize)>, at: &mut usize| -> Option<Vec<Column>> {
            specs
                .into_iter()
                .map(|(spec, len)| {
                    let end = at.checked_add(len)?;
                    let column = Column {
                        spec,
                        data: data.get(*at..end)?.to_vec(),
                    };
                    *at = end;
                    Some(column)
                })
                .collect()
        };
        let changes = columns(change_meta, &mut at)?;
        let ops = columns(ops_meta, &mut at)?;
        Some(DocData {
            prefix,
            changes,
            ops,
            suffix: data.get(at..)?.to_vec(),
        })
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = self.prefix.clone();
        for cols in [&self.changes, &self.ops] {
            write_uleb(&mut out, cols.len() as u64);
            for c in cols {
                write_uleb(&mut out, c.spec);
                write_uleb(&mut out, c.data.len() as u64);
            }
        }
        for c in self.changes.iter().chain(&self.ops) {
            out.extend_from_slice(&c.data);
        }
        out.extend_from_slice(&self.suffix);
        out
    }
}

/// One part of the input: a chunk, a document chunk split in sections, or raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Chunk(Chunk),
    Document(DocData),
    Raw(Vec<u8>),
}

/// Which bytes of a part a piece is.
#[derive(Debug, Clone, Copy)]
enum Piece {
    Whole,
    Prefix,
    Change(usize),
    Op(usize),
    Suffix,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Model(Vec<Part>);

impl Model {
    fn of(bytes: &[u8]) -> Model {
        match split_chunks(bytes) {
            Some(chunks) => Model(
                chunks
                    .into_iter()
                    .map(|c| match (c.kind, DocData::parse(&c.data)) {
                        (0, Some(d)) if d.bytes() == c.data => Part::Document(d),
                        _ => Part::Chunk(c),
                    })
                    .collect(),
            ),
            None => Model(vec![Part::Raw(bytes.to_vec())]),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        if let [Part::Raw(b)] = self.0.as_slice() {
            let mut b = b.clone();
            fix_checksums(&mut b);
            return b;
        }
        let chunks: Vec<Chunk> = self
            .0
            .iter()
            .map(|p| match p {
                Part::Chunk(c) => c.clone(),
                Part::Document(d) => Chunk {
                    kind: 0,
                    data: d.bytes(),
                },
                Part::Raw(b) => Chunk {
                    kind: 1,
                    data: b.clone(),
                },
            })
            .collect();
        join_chunks(&chunks)
    }

    fn pieces(&self) -> Vec<(usize, Piece)> {
        let mut out = Vec::new();
        for (i, p) in self.0.iter().enumerate() {
            match p {
                Part::Chunk(_) | Part::Raw(_) => out.push((i, Piece::Whole)),
                Part::Document(d) => {
                    out.push((i, Piece::Prefix));
                    out.extend((0..d.changes.len()).map(|c| (i, Piece::Change(c))));
                    out.extend((0..d.ops.len()).map(|c| (i, Piece::Op(c))));
                    out.push((i, Piece::Suffix));
                }
            }
        }
        out
    }

    fn piece(&mut self, (part, piece): (usize, Piece)) -> &mut Vec<u8> {
        match (&mut self.0[part], piece) {
            (Part::Chunk(c), _) => &mut c.data,
            (Part::Raw(b), _) => b,
            (Part::Document(d), Piece::Prefix | Piece::Whole) => &mut d.prefix,
            (Part::Document(d), Piece::Change(c)) => &mut d.changes[c].data,
            (Part::Document(d), Piece::Op(c)) => &mut d.ops[c].data,
            (Part::Document(d), Piece::Suffix) => &mut d.suffix,
        }
    }

    /// Candidates that change the structure: a part or a column fewer, a column inflated, a
    /// document without op columns or without actors and heads.
    fn structural(&self) -> Vec<Model> {
        let mut out = Vec::new();
        if self.0.len() > 1 {
            for i in 0..self.0.len() {
                let mut m = self.clone();
                m.0.remove(i);
                out.push(m);
            }
        }
        for (i, p) in self.0.iter().enumerate() {
            let Part::Document(d) = p else { continue };
            if !d.ops.is_empty() {
                let mut m = self.clone();
                m.0[i] = Part::Document(DocData {
                    ops: vec![],
                    ..d.clone()
                });
                out.push(m);
            }
            if d.prefix != [0, 0] || !d.suffix.is_empty() {
                // No actors, no heads (and so no head indexes).
                let mut m = self.clone();
                m.0[i] = Part::Document(DocData {
                    prefix: vec![0, 0],
                    suffix: vec![],
                    ..d.clone()
                });
                out.push(m);
            }
            for ops in [false, true] {
                let cols = if ops { &d.ops } else { &d.changes };
                for c in 0..cols.len() {
                    let edit = |f: &dyn Fn(&mut Vec<Column>)| {
                        let mut d = d.clone();
                        f(if ops { &mut d.ops } else { &mut d.changes });
                        let mut m = self.clone();
                        m.0[i] = Part::Document(d);
                        m
                    };
                    out.push(edit(&|cols| {
                        cols.remove(c);
                    }));
                    if cols[c].spec & DEFLATE != 0 {
                        let mut inflated = Vec::new();
                        if flate2::read::DeflateDecoder::new(&cols[c].data[..])
                            .take(1 << 24)
                            .read_to_end(&mut inflated)
                            .is_ok()
                        {
                            out.push(edit(&|cols| {
                                cols[c].spec &= !DEFLATE;
                                cols[c].data = inflated.clone();
                            }));
                        }
                    }
                }
            }
        }
        out
    }
}

/// The smallest input found, within `max_tries` calls of `still_fails`, that still fails
/// (`still_fails(input)` must be true).
pub fn minimize(
    input: &[u8],
    mut still_fails: impl FnMut(&[u8]) -> bool,
    max_tries: usize,
) -> Vec<u8> {
    let mut best = Model::of(input);
    let tries = std::cell::Cell::new(0usize);
    let mut attempt = |candidate: &Model| -> bool {
        tries.set(tries.get() + 1);
        tries.get() <= max_tries && still_fails(&candidate.bytes())
    };
    loop {
        let before = best.clone();
        // Structure: parts and columns.
        let mut progress = true;
        while progress {
            progress = false;
            for candidate in best.structural() {
                if attempt(&candidate) {
                    best = candidate;
                    progress = true;
                    break;
                }
            }
        }
        // Ranges of bytes, halving.
        for piece in best.pieces() {
            let mut size = best.piece(piece).len() / 2;
            while size >= 1 {
                let mut at = 0;
                while at + size <= best.piece(piece).len() {
                    let mut candidate = best.clone();
                    candidate.piece(piece).drain(at..at + size);
                    if attempt(&candidate) {
                        best = candidate;
                    } else {
                        at += size;
                    }
                }
                size /= 2;
            }
        }
        // Zeroed bytes.
        for piece in best.pieces() {
            for at in 0..best.piece(piece).len() {
                if best.piece(piece)[at] == 0 {
                    continue;
                }
                let mut candidate = best.clone();
                candidate.piece(piece)[at] = 0;
                if attempt(&candidate) {
                    best = candidate;
                }
            }
        }
        if best == before || tries.get() > max_tries {
            // Inflating columns can make an input longer: never return more than was given.
            let out = best.bytes();
            return if out.len() <= input.len() {
                out
            } else {
                input.to_vec()
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimizing_keeps_only_what_the_failure_needs() {
        let input: Vec<u8> = (0..200u8).collect();
        let fails = |b: &[u8]| b.contains(&7) && b.contains(&9);
        let out = minimize(&input, fails, 100_000);
        assert_eq!(out, vec![7, 9]);
    }

    #[test]
    fn a_document_chunk_splits_into_columns_and_writes_back_the_same() {
        let mut doc = automerge::AutoCommit::new();
        automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "k", "v")
            .expect("put");
        for saved in [doc.save(), doc.save_nocompress()] {
            let model = Model::of(&saved);
            assert!(matches!(model.0.as_slice(), [Part::Document(_)]));
            assert_eq!(model.bytes(), saved);
        }
    }
}
