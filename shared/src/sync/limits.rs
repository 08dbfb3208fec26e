//! The sync boundary's limits (同步边界): how much work one request may ask of the server, in
//! one place. The server checks each before the work it bounds (decoding, loading a stored
//! document, merging), answers a request-wide limit with HTTP 413 and a code naming it, and
//! refuses a document over a per-document limit alone; the device keeps its requests inside
//! them and splits a request the server answered 413.

/// Largest sync request body on the wire (compressed), in bytes.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;

/// Largest decoded (inflated) sync request, in bytes.
pub const MAX_REQUEST_DECODED_BYTES: usize = 16 * 1024 * 1024;

/// Largest decoded response a device accepts, in bytes (a decompression-bomb guard; a response
/// carries at most one document over its budget, and documents are at most
/// [`MAX_STORED_DOC_BYTES`]).
pub const MAX_RESPONSE_DECODED_BYTES: usize = 64 * 1024 * 1024;

/// How many times its size on the wire a request may inflate to, once it decodes to more than
/// [`INFLATION_FLOOR`] bytes. Real requests inflate a few times; a deflate bomb about 1,000.
pub const MAX_INFLATION_RATIO: usize = 64;

/// Decoded size below which the inflation ratio is not checked.
pub const INFLATION_FLOOR: usize = 1024 * 1024;

/// Most documents one request may push (counting repeats).
pub const MAX_PUSHES: usize = 500;

/// Largest pushed document (`DocPush::data`), in bytes. A device pushes a new document
/// uncompressed when that fits, per-column compressed otherwise.
pub const MAX_DOC_BYTES: u32 = 2 * 1024 * 1024;

/// Largest document the server stores, in bytes of its compacted snapshot: a push that would
/// make a document larger is refused, so no single document can outgrow what a device accepts
/// in one response.
pub const MAX_STORED_DOC_BYTES: usize = 8 * 1024 * 1024;

/// Most bytes of stored documents one request may make the server load to merge its pushes.
/// Always more than [`MAX_STORED_DOC_BYTES`], so a request pushing one document fits.
pub const MAX_MERGE_BYTES: usize = 16 * 1024 * 1024;

/// Most operations one pushed document may hold, counted from its chunks' run headers before
/// Automerge builds anything. Automerge holds far more of a built document than its encoded
/// bytes: a valid 2 MiB push of 700,000 random CJK characters moved the server's memory by
/// about 120 MB. 262,144 operations is a document's whole history of that many typed
/// characters, far past what an officer's record gathers (a resend carries the whole
/// document, so the cap must hold a grown one too); a document over it is refused alone, as
/// too large.
pub const MAX_PUSH_OPS: u64 = 262_144;

/// Most operations all of one request's pushes may hold: over it, the request is answered 413
/// `too_much_work` and the device sends fewer documents. A device's chunk carries at most
/// 2 MiB of document bytes (`policy::MAX_CHUNK_DOC_BYTES`), a few hundred thousand operations
/// of text at most, so an honest request stays under it.
pub const MAX_REQUEST_OPS: u64 = 1_048_576;

/// The limits one sync request is held to. Devices get [`Limits::DEVICE`]; documents the
/// server writes itself (imports, the demo district, monitoring) [`Limits::SERVER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most documents pushed in one request.
    pub pushes: usize,
    /// Largest pushed document, in bytes.
    pub doc_bytes: u32,
    /// Largest stored document, in bytes of its snapshot.
    pub stored_doc_bytes: usize,
    /// Most bytes of stored documents loaded to merge one request.
    pub merge_bytes: usize,
    /// Most operations one pushed document holds.
    pub push_ops: u64,
    /// Most operations all of one request's pushes hold.
    pub request_ops: u64,
}

impl Limits {
    /// What a device's request is held to.
    pub const DEVICE: Limits = Limits {
        pushes: MAX_PUSHES,
        doc_bytes: MAX_DOC_BYTES,
        stored_doc_bytes: MAX_STORED_DOC_BYTES,
        merge_bytes: MAX_MERGE_BYTES,
        push_ops: MAX_PUSH_OPS,
        request_ops: MAX_REQUEST_OPS,
    };

    /// The server's own writes: trusted, not bounded.
    pub const SERVER: Limits = Limits {
        pushes: usize::MAX,
        doc_bytes: u32::MAX,
        stored_doc_bytes: usize::MAX,
        merge_bytes: usize::MAX,
        push_ops: u64::MAX,
        request_ops: u64::MAX,
    };
}

/// A request-wide limit a request broke: answered with HTTP 413 and [`Limit::code`], before
/// the work it bounds. The device halves the documents it pushes and tries again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Limit {
    /// The body on the wire is larger than [`MAX_REQUEST_BYTES`].
    #[error("the request is larger than {MAX_REQUEST_BYTES} bytes: send fewer documents")]
    RequestBytes,
    /// More than [`MAX_PUSHES`] pushed documents.
    #[error("the request pushes {0} documents; at most {MAX_PUSHES} are accepted at once")]
    Pushes(usize),
    /// Merging the pushes would load more than [`MAX_MERGE_BYTES`] of stored documents.
    #[error(
        "the request's documents are {0} bytes on the server; at most {MAX_MERGE_BYTES} are \
         merged at once: send fewer documents"
    )]
    MergeBytes(usize),
    /// The pushes hold more than [`MAX_REQUEST_OPS`] operations.
    #[error(
        "the request's documents hold {0} operations; at most {MAX_REQUEST_OPS} are merged at \
         once: send fewer documents"
    )]
    Ops(u64),
}

impl Limit {
    /// The stable code in the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            Limit::RequestBytes => "too_large",
            Limit::Pushes(_) => "too_many_documents",
            Limit::MergeBytes(_) | Limit::Ops(_) => "too_much_work",
        }
    }
}

// One document of the largest size fits every request-wide limit, and a response carrying one
// document over its budget stays within what a device accepts: checked when compiling.
const _: () = {
    assert!(MAX_STORED_DOC_BYTES < MAX_MERGE_BYTES);
    assert!((MAX_DOC_BYTES as usize) < MAX_REQUEST_BYTES);
    assert!(MAX_REQUEST_BYTES <= MAX_REQUEST_DECODED_BYTES);
    assert!(MAX_STORED_DOC_BYTES * 2 < MAX_RESPONSE_DECODED_BYTES);
};
