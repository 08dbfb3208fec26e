//! What arrived of a sync request cut in transit (中断的请求): the complete pushes in the
//! received prefix of its body, so the server can keep them and a link that keeps dropping
//! loses only what was on the air.
//!
//! A request is laid out alike in every version up to its pushes (`cursor`, `ack`,
//! `device_time`, the number of pushes, then each push; [`protocol::SyncRequest`]): a prefix
//! of its body, inflated as far as it goes, holds those fields and every push whose last byte
//! arrived. Each push is length-prefixed throughout (its id, heads and data), so a push either
//! decodes whole, exactly as the device wrote it, or not at all; nothing after the first push
//! that did not arrive whole is read. The prefix is held to the limits of a whole request (the
//! inflation bounds of [`protocol::decode_request`]; the pushes then go through the same
//! weighing, checks and commit), and what a cut request lacks is taken as unknown: `unsent`
//! is not reported and the response, which nobody will read, carries no documents.

use serde::Deserialize;

use super::limits::MAX_PUSHES;
use super::protocol::{self, DocPush, SyncRequest, WireError};
use crate::model::Timestamp;

/// The fields a request opens with, in every version.
#[derive(Deserialize)]
struct Opening {
    cursor: u64,
    ack: u64,
    device_time: Timestamp,
}

/// Decodes the received prefix of a request body whose transfer was cut: the request with
/// the pushes that arrived whole (possibly none), and its version. At most
/// [`MAX_PUSHES`]` + 1` pushes are read, so a prefix claiming more is refused by the same
/// weighing as a whole request.
///
/// # Errors
/// The header is not a sync request of a version spoken here, the received bytes are corrupt
/// (not merely short), the prefix inflates past a whole request's bounds, or the prefix ends
/// before the number of pushes.
pub fn decode_cut_request(bytes: &[u8]) -> Result<(SyncRequest, u8), WireError> {
    let version = protocol::check_header(bytes)?;
    let payload = protocol::request_prefix_payload(bytes)?;
    let corrupt = |e: postcard::Error| WireError::Corrupt(e.to_string());
    let (opening, rest): (Opening, &[u8]) = postcard::take_from_bytes(&payload).map_err(corrupt)?;
    let (count, mut rest): (usize, &[u8]) = postcard::take_from_bytes(rest).map_err(corrupt)?;
    let mut push = Vec::new();
    while push.len() < count.min(MAX_PUSHES + 1) {
        // A push cut short ends what arrived; the rest of the prefix is not read.
        let Ok((one, after)) = postcard::take_from_bytes::<DocPush>(rest) else {
            break;
        };
        push.push(one);
        rest = after;
    }
    Ok((
        SyncRequest {
            cursor: opening.cursor,
            ack: opening.ack,
            device_time: opening.device_time,
            push,
            max_response_bytes: 0,
            unsent: None,
        },
        version,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::protocol::{DocId, Hash, encode, encode_plain};

    /// A request of five pushes whose data does not compress much.
    fn request() -> SyncRequest {
        let push = (0..5u8)
            .map(|n| DocPush {
                doc: DocId::parse(&format!("visit/0b8f5bbe-3b39-4d5e-9d4c-2f7c1b0f0a1{n}"))
                    .expect("valid"),
                base: vec![],
                heads: vec![Hash([n; 32])],
                data: (0..600u32)
                    .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ n)
                    .collect(),
            })
            .collect();
        SyncRequest {
            cursor: 7,
            ack: 3,
            device_time: Timestamp(1),
            push,
            max_response_bytes: 32 * 1024,
            unsent: Some(12),
        }
    }

    #[test]
    fn every_prefix_of_a_cut_request_yields_only_pushes_that_arrived_whole() {
        let whole = request();
        for bytes in [encode(&whole), encode_plain(&whole)] {
            let mut seen = 0;
            for cut in 0..=bytes.len() {
                let Ok((got, version)) = decode_cut_request(&bytes[..cut]) else {
                    assert_eq!(seen, 0, "a longer prefix refused after pushes arrived");
                    continue;
                };
                assert_eq!(version, 3);
                assert_eq!((got.cursor, got.ack), (7, 3));
                assert_eq!((got.max_response_bytes, got.unsent), (0, None));
                assert!(got.push.len() >= seen, "a longer prefix never yields fewer");
                seen = got.push.len();
                assert_eq!(
                    got.push[..],
                    whole.push[..seen],
                    "each push exactly as sent"
                );
            }
            assert_eq!(seen, 5, "the whole body yields every push");
        }
    }

    #[test]
    fn a_prefix_ending_inside_the_third_push_yields_the_first_two() {
        let whole = request();
        let bytes = encode_plain(&whole);
        // Header, opening, then the pushes: cut 6 bytes before the third push's end.
        let opening = postcard::to_allocvec(&(7u64, 3u64, Timestamp(1), 5usize)).expect("encodes");
        let three: usize = whole.push[..3]
            .iter()
            .map(|p| postcard::to_allocvec(p).expect("encodes").len())
            .sum();
        let cut = 4 + opening.len() + three - 6;
        let (got, _) = decode_cut_request(&bytes[..cut]).expect("a prefix");
        assert_eq!(got.push, whole.push[..2]);
    }

    #[test]
    fn a_cut_prefix_is_held_to_the_inflation_bounds_of_a_whole_request() {
        let mut big = request();
        big.push[0].data = vec![7; 2 * 1024 * 1024];
        let bomb = encode(&big);
        assert!(matches!(
            decode_cut_request(&bomb[..bomb.len() - 8]),
            Err(WireError::Inflation { .. })
        ));
    }

    #[test]
    fn a_prefix_claiming_more_pushes_than_the_limit_stops_reading_one_past_it() {
        let mut many = request();
        let one = many.push[0].clone();
        many.push = vec![one; MAX_PUSHES + 50];
        let bytes = encode(&many);
        let (got, _) = decode_cut_request(&bytes[..bytes.len() - 100]).expect("a prefix");
        assert_eq!(
            got.push.len(),
            MAX_PUSHES + 1,
            "refused later by the weighing"
        );
    }

    #[test]
    fn a_prefix_that_is_not_a_request_is_refused() {
        assert!(decode_cut_request(b"LX").is_err(), "no header");
        assert!(decode_cut_request(b"GET / HTTP/1.1").is_err());
        let bytes = encode_plain(&request());
        assert!(decode_cut_request(&bytes[..5]).is_err(), "the opening cut");
    }
}
