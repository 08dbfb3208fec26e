//! The sync protocol's wire messages (同步协议), version 2; version-1 requests still decoded.
//!
//! A message on the wire is `b"LX"`, one byte of protocol version, one byte of flags (bit 0:
//! the payload is deflate-compressed), then the payload: the message encoded with postcard.
//! The version sits in the clear so a server can tell an old or new client to update before
//! trying to decode anything.
//!
//! Versions: postcard is not self-describing, so a message's layout is fixed by its version.
//! Version 2 added [`SyncRequest::unsent`] at the end of the request; version 3 added
//! [`SyncResponse::gone`] at the end of the response (requests are laid out alike in versions
//! 2 and 3). The server decodes requests of every supported version with [`decode_request`] (a
//! version-1 request reports `unsent` as unknown) and answers in the request's version
//! ([`encode_response`]: an older app's answer leaves `gone` out), so a phone still on a
//! previous cached app keeps syncing. Any other version is refused before decoding.
//!
//! Documents inside a message are Automerge bytes in any form Automerge loads: a saved
//! document, compressed per column or not, or changes. Senders write whole documents
//! uncompressed (`save_nocompress`), because the message is deflated as a whole; every reader
//! accepts both forms, so that choice is not part of the version.

use std::fmt;
use std::io::{Read, Write};

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};

use super::limits;
use crate::doc::{DocKind, MONITORING_ID_PREFIX};
use crate::model::Timestamp;

/// The protocol version this build speaks and sends.
pub const PROTOCOL_VERSION: u8 = 3;
/// The oldest version this build still decodes (see the module's notes on versions).
pub const OLDEST_PROTOCOL_VERSION: u8 = 1;
const MAGIC: &[u8; 2] = b"LX";
const FLAG_DEFLATE: u8 = 1;
pub use super::limits::MAX_DOC_BYTES;
/// The largest decoded message accepted, whatever the compressed size (a decompression bomb
/// guard).
pub const MAX_DECODED_BYTES: usize = super::limits::MAX_RESPONSE_DECODED_BYTES;

/// A document's identity on the wire and in stores: its kind and its id, `kind/id`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocId(String);

/// A text that is not a document id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a document id (kind/uuid)")]
pub struct DocIdError(String);

impl DocId {
    /// The id of a document of `kind` whose root `id` field is `id`.
    pub fn new(kind: DocKind, id: &str) -> Self {
        DocId(format!("{}/{}", kind.code(), id))
    }

    /// Parses `kind/id`.
    pub fn parse(s: &str) -> Result<Self, DocIdError> {
        let bad = || DocIdError(s.chars().take(80).collect());
        let (kind, id) = s.split_once('/').ok_or_else(bad)?;
        let kind = DocKind::from_code(kind).ok_or_else(bad)?;
        let valid = match kind {
            DocKind::Monitoring => id
                .strip_prefix(MONITORING_ID_PREFIX)
                .is_some_and(|u| uuid::Uuid::parse_str(u).is_ok()),
            _ => uuid::Uuid::parse_str(id).is_ok(),
        };
        if !valid {
            return Err(bad());
        }
        Ok(DocId(s.to_string()))
    }

    /// The document's kind.
    pub fn kind(&self) -> DocKind {
        self.0
            .split_once('/')
            .and_then(|(k, _)| DocKind::from_code(k))
            .unwrap_or(DocKind::Problem)
    }

    /// The id stored in the document's root.
    pub fn root_id(&self) -> &str {
        self.0.split_once('/').map(|(_, id)| id).unwrap_or("")
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for DocId {
    type Error = DocIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        DocId::parse(&value)
    }
}

impl From<DocId> for String {
    fn from(value: DocId) -> Self {
        value.0
    }
}

/// Bits of a cursor that count the change feed's sequence; the bits above them name the
/// store's **epoch** (纪元): a number the server's database gets at creation (0) and a new one
/// at each `restore`. A cursor is the device's opaque echo of the server's, so a database
/// restored from a backup knows a cursor handed out by the database it replaced (another
/// epoch): it serves that device from the start of its feed, and the device, seeing a
/// response from another epoch, offers every document again by its heads (what it had
/// acknowledged may be lost). So no range is skipped while the restored feed catches up.
pub const EPOCH_SHIFT: u32 = 40;

/// The largest epoch: cursors stay below 2^63 (SQLite's and JSON's integers).
pub const MAX_EPOCH: u64 = (1 << (63 - EPOCH_SHIFT)) - 1;

/// The cursor naming sequence `seq` of the feed of epoch `epoch`.
pub fn cursor_of(epoch: u64, seq: u64) -> u64 {
    ((epoch & MAX_EPOCH) << EPOCH_SHIFT) | cursor_seq(seq)
}

/// The epoch a cursor was handed out in.
pub fn cursor_epoch(cursor: u64) -> u64 {
    cursor >> EPOCH_SHIFT
}

/// The feed sequence a cursor counts.
pub fn cursor_seq(cursor: u64) -> u64 {
    cursor & ((1 << EPOCH_SHIFT) - 1)
}

/// A change hash on the wire (32 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Hash(pub [u8; 32]);

impl From<ChangeHash> for Hash {
    fn from(h: ChangeHash) -> Self {
        Hash(h.0)
    }
}

impl From<Hash> for ChangeHash {
    fn from(h: Hash) -> Self {
        ChangeHash(h.0)
    }
}

/// Converts heads to their wire form, sorted.
pub fn to_wire(heads: &[ChangeHash]) -> Vec<Hash> {
    // Sorted as `ChangeHash`es (the same byte order as `Hash`), unstable: equal hashes are
    // identical, so the order is the stable one, and the app reuses Automerge's sort of heads
    // instead of carrying one per hash type.
    let mut v = heads.to_vec();
    v.sort_unstable();
    v.into_iter().map(Hash::from).collect()
}

/// Converts wire heads back, sorted.
pub fn from_wire(heads: &[Hash]) -> Vec<ChangeHash> {
    let mut v: Vec<ChangeHash> = heads.iter().map(|h| ChangeHash::from(*h)).collect();
    v.sort_unstable();
    v
}

/// One document's local changes sent to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocPush {
    /// The document.
    pub doc: DocId,
    /// Heads the device knows the server has (its last acknowledgement); `data` holds every
    /// change after them.
    pub base: Vec<Hash>,
    /// The device's heads: after applying `data` the server has at least these.
    pub heads: Vec<Hash>,
    /// The changes after `base`, as Automerge bytes (a whole saved document when `base` is
    /// empty).
    pub data: Vec<u8>,
}

/// A device's sync request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The change-feed cursor of the last response the device applied durably (0 at first).
    pub cursor: u64,
    /// The `delivery` number of the last response the device applied durably (0 at first).
    pub ack: u64,
    /// The device's clock when sending (to report clock skew, never to order).
    pub device_time: Timestamp,
    /// Local changes, a chunk of them.
    pub push: Vec<DocPush>,
    /// How many bytes of documents the response may carry (the device's link budget).
    pub max_response_bytes: u32,
    /// How many documents stay in the device's outbox besides those in `push`: documents with
    /// changes the server has not acknowledged and that are not in this request, counted when
    /// the request is built. A document waiting on the correction of a refusal is not counted
    /// (it is not resent until edited), nor is a pushed one whatever its outcome. So the last
    /// request of a full sync reports 0, and a probe after a failure (which pushes nothing)
    /// reports the whole outbox. `None`: not reported (a version-1 app). Added in version 2.
    pub unsent: Option<u32>,
}

/// The version-1 layout of [`SyncRequest`] (no `unsent`): decoded from phones still on the
/// previous app, and encoded by tests that play one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequestV1 {
    /// See [`SyncRequest::cursor`].
    pub cursor: u64,
    /// See [`SyncRequest::ack`].
    pub ack: u64,
    /// See [`SyncRequest::device_time`].
    pub device_time: Timestamp,
    /// See [`SyncRequest::push`].
    pub push: Vec<DocPush>,
    /// See [`SyncRequest::max_response_bytes`].
    pub max_response_bytes: u32,
}

impl From<SyncRequestV1> for SyncRequest {
    fn from(v1: SyncRequestV1) -> Self {
        SyncRequest {
            cursor: v1.cursor,
            ack: v1.ack,
            device_time: v1.device_time,
            push: v1.push,
            max_response_bytes: v1.max_response_bytes,
            unsent: None,
        }
    }
}

/// Why the server refused a document. The device keeps the record and shows the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// The bytes are not Automerge changes of this document.
    Malformed(String),
    /// The merged document breaks the schema, the workflow or a field rule.
    Invalid(String),
    /// The document is outside what this device may write.
    OutOfScope,
    /// A change claims another user's or device's authorship, or a rule forbids the role.
    Forbidden(String),
    /// The document is larger than the server accepts.
    TooLarge {
        /// The limit, in bytes.
        limit: u32,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Malformed(m) => write!(f, "malformed: {m}"),
            Refusal::Invalid(m) => write!(f, "invalid: {m}"),
            Refusal::OutOfScope => f.write_str("outside your assigned enterprises"),
            Refusal::Forbidden(m) => write!(f, "forbidden: {m}"),
            Refusal::TooLarge { limit } => {
                write!(f, "larger than the server's limit of {limit} bytes")
            }
        }
    }
}

/// What happened to one pushed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Stored durably; the server's heads after the merge.
    Accepted {
        /// Heads on the server.
        heads: Vec<Hash>,
    },
    /// Refused whole; nothing of it was stored.
    Refused(Refusal),
    /// The server lacks changes `data` depends on (e.g. restored from a backup): send
    /// everything after these heads instead.
    Resend {
        /// Heads the server has.
        server_heads: Vec<Hash>,
    },
}

/// The outcome of one pushed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocResult {
    /// The document.
    pub doc: DocId,
    /// What happened.
    pub outcome: Outcome,
}

/// Changes the device lacks for one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocPull {
    /// The document.
    pub doc: DocId,
    /// The server's heads: after applying `data` the device has at least these.
    pub heads: Vec<Hash>,
    /// Automerge bytes: a saved document, or the changes after what the device has.
    pub data: Vec<u8>,
}

/// The server's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// Send this as `cursor` once everything below is stored on the device.
    pub cursor: u64,
    /// This response's delivery number, to send back as `ack` once applied; the server counts
    /// what it delivered as known to the device only then.
    pub delivery: u64,
    /// More documents are waiting: ask again at once.
    pub more: bool,
    /// One outcome per pushed document, in request order.
    pub results: Vec<DocResult>,
    /// Documents the device lacks (including server-side changes to pushed documents).
    pub pulls: Vec<DocPull>,
    /// The server's clock, to show skew.
    pub server_time: Timestamp,
    /// Documents that left the device's read scope (an enterprise moved to another officer, an
    /// assignment ended): the device removes them unless they hold changes the server has not
    /// acknowledged. Sent by the response that serves a changed scope (and again until the
    /// device acknowledges it). Added in version 3.
    pub gone: Vec<DocId>,
}

/// The layout of [`SyncResponse`] in versions 1 and 2 (no `gone`): how the server answers a
/// phone still on an older app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponseV2 {
    /// See [`SyncResponse::cursor`].
    pub cursor: u64,
    /// See [`SyncResponse::delivery`].
    pub delivery: u64,
    /// See [`SyncResponse::more`].
    pub more: bool,
    /// See [`SyncResponse::results`].
    pub results: Vec<DocResult>,
    /// See [`SyncResponse::pulls`].
    pub pulls: Vec<DocPull>,
    /// See [`SyncResponse::server_time`].
    pub server_time: Timestamp,
}

/// A message that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Not a Lianxin sync message.
    #[error("not a Lianxin sync message")]
    NotSync,
    /// A protocol version this build does not speak.
    #[error(
        "protocol version {found} is not supported (this side speaks {supported}): update the app"
    )]
    Version {
        /// The message's version.
        found: u8,
        /// Ours.
        supported: u8,
    },
    /// The message is cut short or corrupt.
    #[error("the message is truncated or corrupt: {0}")]
    Corrupt(String),
    /// The decoded message is too large.
    #[error("the message decodes to more than {0} bytes")]
    TooLarge(usize),
    /// The message inflates far more than real messages do (a decompression bomb).
    #[error("the message inflates to more than {ratio} times its {wire} bytes")]
    Inflation {
        /// Its size on the wire.
        wire: usize,
        /// The largest ratio accepted.
        ratio: usize,
    },
}

/// Encodes a message in this build's version: header, then the deflated postcard payload.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    encode_as(msg, PROTOCOL_VERSION)
}

/// Encodes a message under the header of `version`. The caller picks a layout that version
/// has: the server answers a request in the request's version (responses are laid out alike
/// in every supported version); tests encode a [`SyncRequestV1`] as version 1.
pub fn encode_as<T: Serialize>(msg: &T, version: u8) -> Vec<u8> {
    let payload = postcard::to_allocvec(msg).unwrap_or_default();
    let mut out = Vec::with_capacity(payload.len() / 2 + 8);
    out.extend_from_slice(MAGIC);
    out.push(version);
    out.push(FLAG_DEFLATE);
    let mut enc = flate2::write::DeflateEncoder::new(out, flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(&payload);
    enc.finish().unwrap_or_default()
}

/// Encodes a message in this build's version with its payload left undeflated (flag clear),
/// for a sender that deflates the payload itself ([`plain_payload`], [`with_deflated_payload`]):
/// the web client, whose browser deflates (`CompressionStream`), so the app carries no
/// deflate compressor; it also stores refusals in this form. Receivers decode it as it is.
pub fn encode_plain<T: Serialize>(msg: &T) -> Vec<u8> {
    let payload = postcard::to_allocvec(msg).unwrap_or_default();
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.extend_from_slice(MAGIC);
    out.extend([PROTOCOL_VERSION, 0]);
    out.extend_from_slice(&payload);
    out
}

/// The payload of a message whose payload is not deflated (from [`encode_plain`]); `None` for
/// anything else.
pub fn plain_payload(message: &[u8]) -> Option<&[u8]> {
    match message {
        [b'L', b'X', _, flags, payload @ ..] if flags & FLAG_DEFLATE == 0 => Some(payload),
        _ => None,
    }
}

/// The message `plain` (from [`encode_plain`]) with its payload replaced by `deflated`, that
/// payload as a raw DEFLATE stream (RFC 1951: what the browser's
/// `CompressionStream("deflate-raw")` writes): the message [`encode`] writes, deflated by
/// someone else.
pub fn with_deflated_payload(plain: &[u8], deflated: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(deflated.len() + 4);
    out.extend_from_slice(&plain[..plain.len().min(4)]);
    if let Some(flags) = out.get_mut(3) {
        *flags |= FLAG_DEFLATE;
    }
    out.extend_from_slice(deflated);
    out
}

/// Encodes a response in the layout of the request's `version` (see the module's notes).
pub fn encode_response(response: &SyncResponse, version: u8) -> Vec<u8> {
    if version >= 3 {
        return encode_as(response, version);
    }
    let older = SyncResponseV2 {
        cursor: response.cursor,
        delivery: response.delivery,
        more: response.more,
        results: response.results.clone(),
        pulls: response.pulls.clone(),
        server_time: response.server_time,
    };
    encode_as(&older, version)
}

/// Decodes a response of any supported version (one of version 1 or 2 has no `gone`).
pub fn decode_response(bytes: &[u8]) -> Result<SyncResponse, WireError> {
    if check_header(bytes)? >= 3 {
        return decode(bytes);
    }
    let v2: SyncResponseV2 = decode(bytes)?;
    Ok(SyncResponse {
        cursor: v2.cursor,
        delivery: v2.delivery,
        more: v2.more,
        results: v2.results,
        pulls: v2.pulls,
        server_time: v2.server_time,
        gone: Vec::new(),
    })
}

/// Checks only the header: is this a sync message of a version we decode? Returns the version.
pub fn check_header(bytes: &[u8]) -> Result<u8, WireError> {
    if bytes.len() < 4 || &bytes[..2] != MAGIC {
        return Err(WireError::NotSync);
    }
    let version = bytes[2];
    if !(OLDEST_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&version) {
        return Err(WireError::Version {
            found: version,
            supported: PROTOCOL_VERSION,
        });
    }
    Ok(version)
}

/// How far a message may inflate.
#[derive(Debug, Clone, Copy)]
struct Inflation {
    /// Largest decoded payload, in bytes.
    max: usize,
    /// Largest ratio of decoded to wire size, checked past the floor (requests only).
    ratio: Option<(usize, usize)>,
}

/// What a device accepts in a response.
const RESPONSE: Inflation = Inflation {
    max: MAX_DECODED_BYTES,
    ratio: None,
};

/// What a server accepts in a request.
const REQUEST: Inflation = Inflation {
    max: limits::MAX_REQUEST_DECODED_BYTES,
    ratio: Some((limits::MAX_INFLATION_RATIO, limits::INFLATION_FLOOR)),
};

/// The postcard payload of a message whose header [`check_header`] accepted, inflated within
/// `bound`. Bytes after the end of the deflate stream are refused.
fn payload(bytes: &[u8], bound: Inflation) -> Result<Vec<u8>, WireError> {
    let body = &bytes[4..];
    if bytes[3] & FLAG_DEFLATE == 0 {
        return Ok(body.to_vec());
    }
    let mut max = bound.max;
    if let Some((ratio, floor)) = bound.ratio {
        max = max.min(floor.max(body.len().saturating_mul(ratio)));
    }
    let mut out = Vec::new();
    let mut dec = flate2::bufread::DeflateDecoder::new(body);
    (&mut dec)
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| WireError::Corrupt(e.to_string()))?;
    if out.len() > max {
        return Err(if max < bound.max {
            WireError::Inflation {
                wire: body.len(),
                ratio: bound.ratio.map(|(r, _)| r).unwrap_or(0),
            }
        } else {
            WireError::TooLarge(bound.max)
        });
    }
    if !dec.into_inner().is_empty() {
        return Err(WireError::Corrupt(
            "bytes after the end of the compressed payload".into(),
        ));
    }
    Ok(out)
}

/// What the received prefix of a request's body (its header accepted by [`check_header`])
/// inflates to, as far as it goes, within a whole request's bounds ([`decode_request`]): a
/// deflate stream cut short is not an error here, corrupt bytes are.
pub(crate) fn request_prefix_payload(bytes: &[u8]) -> Result<Vec<u8>, WireError> {
    let body = &bytes[4..];
    if bytes[3] & FLAG_DEFLATE == 0 {
        return Ok(body.to_vec());
    }
    let (ratio, floor) = (limits::MAX_INFLATION_RATIO, limits::INFLATION_FLOOR);
    let max = REQUEST.max.min(floor.max(body.len().saturating_mul(ratio)));
    let mut inflate = flate2::Decompress::new(false);
    let mut out: Vec<u8> = Vec::new();
    loop {
        if out.len() == out.capacity() {
            // Doubling, from 64 KiB, never past one byte over the bound.
            out.reserve(out.len().max(64 * 1024).min(max + 1 - out.len()));
        }
        let (read, written) = (inflate.total_in(), out.len());
        let at = usize::try_from(read).unwrap_or(usize::MAX).min(body.len());
        let status = inflate
            .decompress_vec(&body[at..], &mut out, flate2::FlushDecompress::None)
            .map_err(|e| WireError::Corrupt(e.to_string()))?;
        if out.len() > max {
            return Err(if max < REQUEST.max {
                WireError::Inflation {
                    wire: body.len(),
                    ratio,
                }
            } else {
                WireError::TooLarge(REQUEST.max)
            });
        }
        let stuck = inflate.total_in() == read && out.len() == written;
        if status == flate2::Status::StreamEnd || (stuck && out.len() < out.capacity()) {
            return Ok(out);
        }
    }
}

/// Decodes a postcard payload that must be read to its last byte.
fn whole<T: for<'de> Deserialize<'de>>(payload: &[u8]) -> Result<T, WireError> {
    let (value, rest) =
        postcard::take_from_bytes(payload).map_err(|e| WireError::Corrupt(e.to_string()))?;
    if !rest.is_empty() {
        return Err(WireError::Corrupt(format!(
            "{} bytes after the end of the message",
            rest.len()
        )));
    }
    Ok(value)
}

/// Decodes a message whose layout is the same in every supported version (anything but a
/// [`SyncRequest`], which goes through [`decode_request`], or a [`SyncResponse`] of an older
/// version, which goes through [`decode_response`]), refusing other
/// versions, corrupt bytes, trailing bytes and decompression bombs.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, WireError> {
    check_header(bytes)?;
    whole(&payload(bytes, RESPONSE)?)
}

/// Decodes a sync request of any supported version; returns it with the version it came in
/// (to answer in). A version-1 request has `unsent: None`. A request inflating past
/// [`limits::MAX_REQUEST_DECODED_BYTES`], or more than [`limits::MAX_INFLATION_RATIO`] times
/// its wire size, or with bytes after its end, is refused.
pub fn decode_request(bytes: &[u8]) -> Result<(SyncRequest, u8), WireError> {
    let version = check_header(bytes)?;
    let payload = payload(bytes, REQUEST)?;
    let request = if version == 1 {
        whole::<SyncRequestV1>(&payload)?.into()
    } else {
        whole::<SyncRequest>(&payload)?
    };
    Ok((request, version))
}

/// The change-feed sequence a push-channel event announces: `GET /api/events` sends
/// `event: changed` with the feed's latest sequence as its `data`, on the same scale as a
/// response's `cursor`. `None` when the event carries no readable number (an older server):
/// the device then syncs as for any notice.
pub fn notice_seq(event: &str) -> Option<u64> {
    event
        .lines()
        .find_map(|line| line.strip_prefix("data:"))
        .and_then(|data| data.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> SyncRequest {
        SyncRequest {
            cursor: 7,
            ack: 3,
            device_time: Timestamp(1),
            push: vec![DocPush {
                doc: DocId::parse("visit/0b8f5bbe-3b39-4d5e-9d4c-2f7c1b0f0a11").expect("valid"),
                base: vec![],
                heads: vec![Hash([3; 32])],
                data: vec![1, 2, 3],
            }],
            max_response_bytes: 32 * 1024,
            unsent: Some(12),
        }
    }

    /// A request exactly as the version-1 app wrote it, by hand from that layout (header with
    /// version 1 and no deflate flag, then postcard): cursor 7, ack 3, device time 1, one
    /// pushed visit, a 32 KiB response budget — and nothing after.
    fn version_1_request_bytes() -> Vec<u8> {
        let doc = b"visit/0b8f5bbe-3b39-4d5e-9d4c-2f7c1b0f0a11";
        let mut bytes = vec![b'L', b'X', 1, 0];
        bytes.extend([7, 3, 2, 1, doc.len() as u8]);
        bytes.extend(doc);
        bytes.extend([0, 1]);
        bytes.extend([3; 32]);
        bytes.extend([3, 1, 2, 3]);
        bytes.extend([0x80, 0x80, 0x02]);
        bytes
    }

    #[test]
    fn a_request_round_trips_through_the_wire_form() {
        let bytes = encode(&request());
        assert_eq!(bytes[2], 3, "this build sends version 3");
        assert_eq!(decode_request(&bytes), Ok((request(), 3)));
    }

    #[test]
    fn a_version_1_request_from_the_previous_app_decodes_with_unsent_unknown() {
        let bytes = version_1_request_bytes();
        let expected = SyncRequest {
            unsent: None,
            ..request()
        };
        assert_eq!(decode_request(&bytes), Ok((expected, 1)));
        let v1 = SyncRequestV1 {
            cursor: 7,
            ack: 3,
            device_time: Timestamp(1),
            push: request().push,
            max_response_bytes: 32 * 1024,
        };
        let deflated = encode_as(&v1, 1);
        assert_eq!(
            decode_request(&deflated).map(|(r, v)| (r.unsent, v)),
            Ok((None, 1))
        );
    }

    #[test]
    fn a_response_to_an_older_app_leaves_out_what_its_version_lacks() {
        let gone = DocId::parse("visit/0b8f5bbe-3b39-4d5e-9d4c-2f7c1b0f0a11").expect("valid");
        let response = SyncResponse {
            cursor: 9,
            delivery: 4,
            more: false,
            results: vec![],
            pulls: vec![],
            server_time: Timestamp(5),
            gone: vec![gone],
        };
        for version in [1, 2] {
            let bytes = encode_response(&response, version);
            assert_eq!(bytes[2], version);
            let older: SyncResponseV2 = decode(&bytes).expect("the older layout");
            assert_eq!(older.cursor, 9);
            let read = decode_response(&bytes).expect("read by this build");
            assert!(read.gone.is_empty(), "version {version} has no gone");
        }
        let bytes = encode_response(&response, 3);
        assert_eq!(decode_response(&bytes), Ok(response.clone()));
        assert_eq!(decode::<SyncResponse>(&bytes), Ok(response));
    }

    #[test]
    fn every_truncation_of_a_message_is_refused_not_misread() {
        let bytes = encode(&request());
        for cut in 0..bytes.len() {
            assert!(
                decode_request(&bytes[..cut]).is_err(),
                "cut at {cut} decoded"
            );
        }
        let v1 = version_1_request_bytes();
        for cut in 0..v1.len() {
            assert!(
                decode_request(&v1[..cut]).is_err(),
                "v1 cut at {cut} decoded"
            );
        }
    }

    /// A request's header (version 2) around a payload, deflated or not.
    fn framed(payload: &[u8], deflate: bool) -> Vec<u8> {
        let mut bytes = vec![b'L', b'X', 2, u8::from(deflate)];
        if deflate {
            let mut enc = flate2::write::DeflateEncoder::new(bytes, flate2::Compression::best());
            enc.write_all(payload).expect("to memory");
            enc.finish().expect("to memory")
        } else {
            bytes.extend_from_slice(payload);
            bytes
        }
    }

    #[test]
    fn a_request_left_plain_and_deflated_by_the_sender_decodes_like_one_deflated_here() {
        let plain = encode_plain(&request());
        assert_eq!(decode_request(&plain), Ok((request(), 3)), "plain as it is");
        let payload = plain_payload(&plain).expect("a plain payload");
        // What the browser's CompressionStream("deflate-raw") writes: a raw DEFLATE stream.
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(payload).expect("to memory");
        let deflated = with_deflated_payload(&plain, &enc.finish().expect("to memory"));
        assert_eq!(
            &deflated[..4],
            &encode(&request())[..4],
            "the header encode writes"
        );
        assert_eq!(decode_request(&deflated), Ok((request(), 3)));
        assert_eq!(plain_payload(&deflated), None, "already deflated");
        assert_eq!(plain_payload(b"LX"), None, "no header");
    }

    #[test]
    fn bytes_after_the_end_of_a_request_are_refused() {
        let mut payload = postcard::to_allocvec(&request()).expect("encodes");
        payload.push(0);
        for deflate in [false, true] {
            let err = decode_request(&framed(&payload, deflate)).expect_err("trailing byte");
            assert!(err.to_string().contains("after the end"), "{err}");
        }
        let mut after_stream = encode(&request());
        after_stream.extend_from_slice(b"garbage");
        assert!(decode_request(&after_stream).is_err());
    }

    #[test]
    fn sixty_four_mebibytes_of_zeros_are_refused_not_read_as_an_empty_request() {
        let zeros = vec![0u8; 64 * 1024 * 1024];
        let deflated = framed(&zeros, true);
        assert!(deflated.len() < limits::MAX_REQUEST_BYTES);
        assert!(matches!(
            decode_request(&deflated),
            Err(WireError::Inflation { .. })
        ));
        let plain = framed(&zeros[..1024 * 1024], false);
        assert!(matches!(decode_request(&plain), Err(WireError::Corrupt(_))));
    }

    #[test]
    fn a_request_inflating_past_the_ratio_is_refused_but_a_small_one_is_not_checked() {
        // 2 MiB of one byte repeated deflates about a thousandfold.
        let mut big = request();
        big.push[0].data = vec![7; 2 * 1024 * 1024];
        let bomb = encode(&big);
        assert!(matches!(
            decode_request(&bomb),
            Err(WireError::Inflation { .. })
        ));
        // Below the floor, a request may inflate as much as it likes.
        let mut small = request();
        small.push[0].data = vec![7; 512 * 1024];
        assert_eq!(decode_request(&encode(&small)).map(|(r, _)| r), Ok(small));
    }

    #[test]
    fn another_protocol_version_is_refused_with_an_update_message() {
        for version in [0, 4, 9] {
            let mut bytes = encode(&request());
            bytes[2] = version;
            let err = decode_request(&bytes).expect_err("an unsupported version");
            assert_eq!(
                err,
                WireError::Version {
                    found: version,
                    supported: 3
                }
            );
            assert!(err.to_string().contains("update the app"));
            assert!(decode::<SyncResponse>(&bytes).is_err());
        }
    }

    #[test]
    fn a_cursor_carries_its_epoch_above_the_feed_sequence() {
        let c = cursor_of(3, 12_345);
        assert_eq!((cursor_epoch(c), cursor_seq(c)), (3, 12_345));
        assert_eq!(
            cursor_of(0, 77),
            77,
            "epoch 0 is the cursor as before epochs"
        );
        assert!(cursor_of(MAX_EPOCH, (1 << EPOCH_SHIFT) - 1) < 1 << 63);
    }

    #[test]
    fn document_ids_name_a_kind_and_a_uuid() {
        assert!(DocId::parse("problem/0b8f5bbe-3b39-4d5e-9d4c-2f7c1b0f0a11").is_ok());
        assert!(DocId::parse("monitoring/monitoring-0b8f5bbe-3b39-4d5e-9d4c-2f7c1b0f0a11").is_ok());
        assert!(DocId::parse("problem/../../etc").is_err());
        assert!(DocId::parse("secret/0b8f5bbe-3b39-4d5e-9d4c-2f7c1b0f0a11").is_err());
    }

    #[test]
    fn a_push_notice_tells_its_sequence_or_nothing_when_unreadable() {
        assert_eq!(notice_seq("event: changed\ndata: 4711\n\n"), Some(4711));
        assert_eq!(notice_seq("event:changed\r\ndata:12\r\n\r\n"), Some(12));
        assert_eq!(notice_seq("event: changed\n\n"), None);
        assert_eq!(notice_seq("event: changed\ndata: soon\n\n"), None);
    }
}
