//! Greedy minimization of a panicking input: drop whole chunks, remove ranges of bytes (halving
//! their size down to one), then zero bytes, keeping each step that still panics at the same
//! place. Automerge chunks are edited inside their data and written back with a valid length
//! and checksum, so every candidate reaches the same decoder.

use super::mutate::{Chunk, fix_checksums, join_chunks, split_chunks};

/// The input as chunks when it is whole Automerge chunks, else one raw piece.
enum Shape {
    Chunks(Vec<Chunk>),
    Raw(Vec<u8>),
}

impl Shape {
    fn of(bytes: &[u8]) -> Shape {
        split_chunks(bytes).map_or_else(|| Shape::Raw(bytes.to_vec()), Shape::Chunks)
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Shape::Chunks(c) => join_chunks(c),
            Shape::Raw(b) => {
                let mut b = b.clone();
                fix_checksums(&mut b);
                b
            }
        }
    }

    /// The editable pieces: each chunk's data, or the raw bytes.
    fn pieces(&self) -> usize {
        match self {
            Shape::Chunks(c) => c.len(),
            Shape::Raw(_) => 1,
        }
    }

    fn piece(&self, i: usize) -> &[u8] {
        match self {
            Shape::Chunks(c) => &c[i].data,
            Shape::Raw(b) => b,
        }
    }

    fn with_piece(&self, i: usize, data: Vec<u8>) -> Shape {
        match self {
            Shape::Chunks(c) => {
                let mut c = c.clone();
                c[i].data = data;
                Shape::Chunks(c)
            }
            Shape::Raw(_) => Shape::Raw(data),
        }
    }
}

/// The smallest input found, within `max_tries` calls of `still_fails`, that still fails
/// (`still_fails(input)` must be true).
pub fn minimize(
    input: &[u8],
    mut still_fails: impl FnMut(&[u8]) -> bool,
    max_tries: usize,
) -> Vec<u8> {
    let mut best = Shape::of(input);
    let tries = std::cell::Cell::new(0usize);
    let mut attempt = |candidate: Shape, best: &mut Shape| -> bool {
        tries.set(tries.get() + 1);
        if tries.get() > max_tries {
            return false;
        }
        if still_fails(&candidate.bytes()) {
            *best = candidate;
            true
        } else {
            false
        }
    };
    loop {
        let before = best.bytes();
        // Whole chunks.
        if let Shape::Chunks(chunks) = &best {
            let mut i = 0;
            let mut chunks = chunks.clone();
            while chunks.len() > 1 && i < chunks.len() {
                let mut fewer = chunks.clone();
                fewer.remove(i);
                if attempt(Shape::Chunks(fewer.clone()), &mut best) {
                    chunks = fewer;
                } else {
                    i += 1;
                }
            }
        }
        // Ranges of bytes, halving.
        for p in 0..best.pieces() {
            let mut size = best.piece(p).len() / 2;
            while size >= 1 {
                let mut at = 0;
                while at + size <= best.piece(p).len() {
                    let mut data = best.piece(p).to_vec();
                    data.drain(at..at + size);
                    if !attempt(best.with_piece(p, data), &mut best) {
                        at += size;
                    }
                }
                size /= 2;
            }
        }
        // Zeroed bytes.
        for p in 0..best.pieces() {
            for at in 0..best.piece(p).len() {
                if best.piece(p)[at] == 0 {
                    continue;
                }
                let mut data = best.piece(p).to_vec();
                data[at] = 0;
                attempt(best.with_piece(p, data), &mut best);
            }
        }
        if best.bytes() == before || tries.get() > max_tries {
            return best.bytes();
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
}
