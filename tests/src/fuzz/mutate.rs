//! The fuzzer's mutations: byte-level edits (bit flips, byte set/insert/delete, chunk splice and
//! duplicate, integer boundary values) and the structure repairs that let mutants get past the
//! first check of their format: Automerge chunks get their length and checksum recomputed,
//! Lianxin sync messages their deflate stream re-made.

use std::io::{Read as _, Write as _};

use rand::{Rng as _, RngCore as _};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest as _, Sha256};

/// The four bytes every Automerge chunk starts with.
pub const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// Chunk type of a compressed change (its checksum is that of the uncompressed change).
const COMPRESSED_CHANGE: u8 = 2;
/// Chunk type of a change.
const CHANGE: u8 = 1;
/// The largest decoded payload the wire mutator inflates (bigger ones are mutated raw).
const MAX_WIRE_PAYLOAD: u64 = 1 << 22;

/// Appends `v` as unsigned LEB128.
pub fn write_uleb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads an unsigned LEB128 at the start of `bytes`: its value and length.
pub fn read_uleb(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, b) in bytes.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// One Automerge chunk split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Chunk type: 0 document, 1 change, 2 compressed change, 3 bundle.
    pub kind: u8,
    /// The chunk's data (after the length).
    pub data: Vec<u8>,
}

/// Splits bytes into Automerge chunks; `None` unless all of it is whole chunks.
pub fn split_chunks(mut bytes: &[u8]) -> Option<Vec<Chunk>> {
    let mut chunks = Vec::new();
    while !bytes.is_empty() {
        if bytes.len() < 9 || bytes[..4] != MAGIC {
            return None;
        }
        let kind = bytes[8];
        let (len, n) = read_uleb(&bytes[9..])?;
        let start = 9 + n;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        let data = bytes.get(start..end)?.to_vec();
        chunks.push(Chunk { kind, data });
        bytes = &bytes[end..];
    }
    (!chunks.is_empty()).then_some(chunks)
}

/// The first four bytes of SHA-256 over the chunk type, the LEB128 data length and the data.
fn checksum(kind: u8, data: &[u8]) -> [u8; 4] {
    let mut header = vec![kind];
    write_uleb(&mut header, data.len() as u64);
    let mut hasher = Sha256::new();
    hasher.update(&header);
    hasher.update(data);
    let digest = hasher.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// Inflates raw deflate data, at most `limit` bytes.
fn inflate(data: &[u8], limit: u64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(data)
        .take(limit + 1)
        .read_to_end(&mut out)
        .ok()?;
    (out.len() as u64 <= limit).then_some(out)
}

/// Raw deflate of `data`.
fn deflate(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// The valid checksum of a chunk: a compressed change's is that of its inflated change.
fn valid_checksum(kind: u8, data: &[u8]) -> [u8; 4] {
    if kind == COMPRESSED_CHANGE
        && let Some(inflated) = inflate(data, MAX_WIRE_PAYLOAD)
    {
        return checksum(CHANGE, &inflated);
    }
    checksum(kind, data)
}

/// Writes chunks back with their lengths and valid checksums.
pub fn join_chunks(chunks: &[Chunk]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in chunks {
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&valid_checksum(c.kind, &c.data));
        out.push(c.kind);
        write_uleb(&mut out, c.data.len() as u64);
        out.extend_from_slice(&c.data);
    }
    out
}

/// Recomputes, in place, the checksum of every chunk header found walking `bytes` from the
/// start (lengths as written), so that a raw mutant still passes Automerge's checksum test.
pub fn fix_checksums(bytes: &mut [u8]) {
    let mut at = 0;
    while at + 9 <= bytes.len() && bytes[at..at + 4] == MAGIC {
        let kind = bytes[at + 8];
        let Some((len, n)) = read_uleb(&bytes[at + 9..]) else {
            return;
        };
        let start = at + 9 + n;
        let Some(end) = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(l))
            .filter(|&e| e <= bytes.len())
        else {
            return;
        };
        let sum = valid_checksum(kind, &bytes[start..end]);
        bytes[at + 4..at + 8].copy_from_slice(&sum);
        at = end;
    }
}

/// Boundary values of the integer widths Automerge and postcard read.
const BOUNDARIES: &[u64] = &[
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x3fff,
    0x4000,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    i64::MAX as u64,
    i64::MIN as u64,
    u64::MAX - 1,
    u64::MAX,
];

/// Deterministic mutations drawn from a seeded ChaCha8 stream.
pub struct Mutator {
    rng: ChaCha8Rng,
}

impl Mutator {
    /// A mutator whose choices all come from `rng`.
    pub fn new(rng: ChaCha8Rng) -> Self {
        Mutator { rng }
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n.max(1))
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.rng.random_range(0..100) < percent
    }

    /// A mutant of `input`, possibly with bytes of `donor` spliced in. Automerge chunks are
    /// mutated inside their data and written back with a valid length and checksum (most of
    /// the time); a deflated sync message is inflated, mutated and deflated again.
    pub fn mutate(&mut self, input: &[u8], donor: &[u8]) -> Vec<u8> {
        if input.starts_with(&MAGIC) {
            if let Some(mut chunks) = split_chunks(input)
                && self.chance(80)
            {
                let i = self.below(chunks.len());
                let donor_data = split_chunks(donor)
                    .and_then(|d| d.into_iter().next())
                    .map(|c| c.data)
                    .unwrap_or_else(|| donor.to_vec());
                if chunks.len() > 1 && self.chance(5) {
                    // Drop, repeat or reorder whole chunks.
                    match self.below(3) {
                        0 => {
                            chunks.remove(i);
                        }
                        1 => chunks.insert(i, chunks[i].clone()),
                        _ => {
                            let j = self.below(chunks.len());
                            chunks.swap(i, j);
                        }
                    }
                } else if chunks[i].kind == COMPRESSED_CHANGE
                    && let Some(mut inflated) = inflate(&chunks[i].data, MAX_WIRE_PAYLOAD)
                {
                    self.havoc(&mut inflated, &donor_data);
                    chunks[i].data = deflate(&inflated);
                } else {
                    self.havoc(&mut chunks[i].data, &donor_data);
                }
                return join_chunks(&chunks);
            }
            let mut out = input.to_vec();
            self.havoc(&mut out, donor);
            if self.chance(90) {
                fix_checksums(&mut out);
            }
            return out;
        }
        if input.len() >= 4 && input.starts_with(b"LX") && self.chance(80) {
            let body = &input[4..];
            let payload = if input[3] & 1 == 1 {
                inflate(body, MAX_WIRE_PAYLOAD)
            } else {
                Some(body.to_vec())
            };
            if let Some(mut payload) = payload {
                self.havoc(&mut payload, donor);
                let mut out = input[..4].to_vec();
                if self.chance(10) {
                    // Header mutations: version and flags.
                    let k = self.below(2) + 2;
                    out[k] = self.rng.next_u32() as u8;
                }
                if out[3] & 1 == 1 {
                    out.extend_from_slice(&deflate(&payload));
                } else {
                    out.extend_from_slice(&payload);
                }
                return out;
            }
        }
        let mut out = input.to_vec();
        self.havoc(&mut out, donor);
        out
    }

    /// One to eight stacked byte-level mutations of `data`.
    pub fn havoc(&mut self, data: &mut Vec<u8>, donor: &[u8]) {
        let rounds = 1 << self.below(4);
        for _ in 0..rounds {
            self.one(data, donor);
        }
    }

    fn one(&mut self, data: &mut Vec<u8>, donor: &[u8]) {
        if data.is_empty() {
            let n = self.below(8) + 1;
            data.extend((0..n).map(|_| self.rng.next_u32() as u8));
            return;
        }
        let len = data.len();
        let at = self.below(len);
        match self.below(10) {
            0 => data[at] ^= 1 << self.below(8),
            1 => data[at] = [0, 1, 0x7f, 0x80, 0xff][self.below(5)],
            2 => data[at] = self.rng.next_u32() as u8,
            3 => {
                let n = self.below(8) + 1;
                let bytes: Vec<u8> = (0..n).map(|_| self.rng.next_u32() as u8).collect();
                data.splice(at..at, bytes);
            }
            4 => {
                let n = (self.below(16) + 1).min(len - at);
                data.drain(at..at + n);
            }
            5 => {
                // Splice a piece of the donor over or into the data.
                if donor.is_empty() {
                    return;
                }
                let from = self.below(donor.len());
                let n = (self.below(64) + 1).min(donor.len() - from);
                let piece = donor[from..from + n].to_vec();
                if self.chance(50) {
                    let end = (at + n).min(len);
                    data.splice(at..end, piece);
                } else {
                    data.splice(at..at, piece);
                }
            }
            6 => {
                // Duplicate a piece of the data.
                let n = (self.below(64) + 1).min(len - at);
                let piece = data[at..at + n].to_vec();
                let to = self.below(len + 1);
                data.splice(to..to, piece);
            }
            7 => {
                // A fixed-width integer boundary value, little or big endian.
                let v = BOUNDARIES[self.below(BOUNDARIES.len())];
                let width = [1usize, 2, 4, 8][self.below(4)].min(len - at);
                let bytes = if self.chance(50) {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                };
                data[at..at + width].copy_from_slice(&bytes[..width]);
            }
            8 => {
                // A LEB128 boundary value (signed or not) in place of the LEB128 at `at`.
                let v = BOUNDARIES[self.below(BOUNDARIES.len())];
                let mut bytes = Vec::new();
                write_uleb(&mut bytes, v);
                let old = read_uleb(&data[at..]).map_or(1, |(_, n)| n);
                data.splice(at..at + old, bytes);
            }
            _ => {
                // Arithmetic on one byte.
                let delta = self.below(35) as u8;
                data[at] = if self.chance(50) {
                    data[at].wrapping_add(delta)
                } else {
                    data[at].wrapping_sub(delta)
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_split_and_join_back_to_the_same_bytes_automerge_loads() {
        let mut doc = automerge::AutoCommit::new();
        automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "k", 1).expect("put");
        let saved = doc.save_nocompress();
        let chunks = split_chunks(&saved).expect("one chunk");
        assert_eq!(join_chunks(&chunks), saved);
    }

    #[test]
    fn a_mutated_chunk_with_its_checksum_fixed_gets_past_the_checksum_test() {
        let mut doc = automerge::AutoCommit::new();
        automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "k", 1).expect("put");
        let mut saved = doc.save_nocompress();
        let last = saved.len() - 1;
        saved[last] ^= 0x40;
        let load_error = |bytes: &[u8]| {
            automerge::AutoCommit::load(bytes)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(
            load_error(&saved).contains("checksum"),
            "{}",
            load_error(&saved)
        );
        fix_checksums(&mut saved);
        assert!(
            !load_error(&saved).contains("checksum"),
            "{}",
            load_error(&saved)
        );
    }
}
