//! What a hostile client sends at the sync boundary's limits (`shared::sync::limits`): notes
//! that do not compress, bit-flipped documents with valid checksums, bodies at the wire limit,
//! bodies that inflate at the allowed ratio, pushes claiming the most heads, a change and a
//! document claiming billions of operations. Used by the boundary tests (`tests/sync_boundary.rs`), the fuzzer's
//! seeds and the bench's `hostile` scale scenario.

use std::io::Write as _;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use shared::model::Timestamp;
use shared::sync::limits::{MAX_INFLATION_RATIO, MAX_REQUEST_BYTES, MAX_REQUEST_DECODED_BYTES};
use shared::sync::protocol::{self, DocPush, Hash, SyncRequest};

/// `chars` random CJK characters: notes that do not compress (3 bytes each in UTF-8).
pub fn cjk(rng: &mut ChaCha8Rng, chars: usize) -> String {
    (0..chars)
        .map(|_| char::from_u32(rng.random_range(0x4e00..0x9fa5)).unwrap_or('企'))
        .collect()
}

/// A 74-byte Automerge change chunk with a valid checksum whose run-length encoded operation
/// columns claim 4,000,000,000 operations, each "set `a` on the root to null" (built and
/// checked by `claiming_ops` in `shared/src/sync/server/chunks/tests.rs`). Automerge decodes
/// every claimed operation when it parses a change (`Change::try_from`, `load_incremental`),
/// ~0.3 µs each in a release build: 20 minutes of CPU for 74 bytes, unless the server counts
/// the runs first.
pub const CLAIMS_FOUR_BILLION_OPS: &[u8] =
    include_bytes!("../../shared/tests/fixtures/change-claiming-4e9-ops.bin");

/// A 150-byte saved document with a valid checksum whose one change claims 4,000,000,000
/// operations (built and checked by `document_claiming_ops` in
/// `shared/src/sync/server/chunks/tests.rs`). Automerge's load walks every claimed operation
/// before it finds the heads do not match: 4 million took 2 s and ~300 MB in a release build.
pub const DOCUMENT_CLAIMING_FOUR_BILLION_OPS: &[u8] =
    include_bytes!("../../shared/tests/fixtures/document-claiming-4e9-ops.bin");

/// A saved Automerge document with one byte of its data changed and the chunk's checksum made
/// valid again, so the change reaches Automerge's column decoders rather than its checksum
/// check. `at` picks the byte (modulo the data's length).
pub fn bit_flipped(mut bytes: Vec<u8>, at: usize) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    // Header: magic (4), checksum (4), type (1), LEB128 length.
    let mut i = 9;
    while i < bytes.len() && bytes[i] & 0x80 != 0 {
        i += 1;
    }
    let data_start = i + 1;
    if data_start >= bytes.len() {
        return bytes;
    }
    let pos = data_start + at % (bytes.len() - data_start);
    bytes[pos] ^= 0x5a;
    let mut hasher = Sha256::new();
    hasher.update(&bytes[8..data_start]);
    hasher.update(&bytes[data_start..]);
    let hash = hasher.finalize();
    bytes[4..8].copy_from_slice(&hash[..4]);
    bytes
}

/// A request pushing `push` (cursor 0, a 64 KiB reply).
pub fn request(push: Vec<DocPush>, now: Timestamp) -> SyncRequest {
    SyncRequest {
        cursor: 0,
        ack: 0,
        device_time: now,
        push,
        max_response_bytes: 64 * 1024,
        unsent: Some(0),
    }
}

/// `request` encoded as the current protocol version, deflated at the best level (the
/// device's encoder uses the fastest): what inflates the most per byte on the wire.
pub fn encode_best(request: &SyncRequest) -> Vec<u8> {
    let payload = postcard::to_allocvec(request).unwrap_or_default();
    let out = vec![b'L', b'X', protocol::PROTOCOL_VERSION, 1];
    let mut enc = flate2::write::DeflateEncoder::new(out, flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(&payload);
    enc.finish().unwrap_or_default()
}

/// 32 random bytes per claimed head: `n` heads that name no change.
pub fn random_heads(rng: &mut ChaCha8Rng, n: usize) -> Vec<Hash> {
    let mut heads: Vec<Hash> = (0..n).map(|_| Hash(rng.random())).collect();
    heads.sort();
    heads
}

/// Pushes of `template`'s document with random data of `doc_bytes` each, as many as stay under
/// the wire limit (random bytes do not compress): a body at [`MAX_REQUEST_BYTES`].
pub fn at_wire_limit(
    rng: &mut ChaCha8Rng,
    template: &DocPush,
    doc_bytes: usize,
    now: Timestamp,
) -> Vec<u8> {
    let mut pushes = Vec::new();
    loop {
        let mut push = template.clone();
        push.data = (0..doc_bytes).map(|_| rng.random()).collect();
        pushes.push(push);
        let body = protocol::encode(&request(pushes.clone(), now));
        if body.len() > MAX_REQUEST_BYTES {
            pushes.pop();
            return protocol::encode(&request(pushes, now));
        }
    }
}

/// A body that inflates to about [`MAX_REQUEST_DECODED_BYTES`] at just under
/// [`MAX_INFLATION_RATIO`]: pushes of `template`'s document whose data is zeros with a random
/// byte every few hundred, deflated at the best level. Returns the body and its ratio.
pub fn at_inflation_limit(
    rng: &mut ChaCha8Rng,
    template: &DocPush,
    doc_bytes: usize,
    now: Timestamp,
) -> (Vec<u8>, f64) {
    let pushes_fit = (MAX_REQUEST_DECODED_BYTES * 15 / 16) / doc_bytes.max(1);
    let mut best = (Vec::new(), 0.0);
    for gap in [1024usize, 512, 256, 128, 64, 32] {
        let pushes: Vec<DocPush> = (0..pushes_fit.max(1))
            .map(|_| {
                let mut push = template.clone();
                push.data = (0..doc_bytes)
                    .map(|i| if i % gap == 0 { rng.random() } else { 0 })
                    .collect();
                push
            })
            .collect();
        let req = request(pushes, now);
        let decoded = postcard::to_allocvec(&req).map(|p| p.len()).unwrap_or(0);
        let body = encode_best(&req);
        let ratio = decoded as f64 / body.len().max(1) as f64;
        if ratio <= (MAX_INFLATION_RATIO as f64) * 0.95 {
            return (body, ratio);
        }
        best = (body, ratio);
    }
    best
}
