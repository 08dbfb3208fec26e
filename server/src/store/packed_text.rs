//! Long texts of the query tables kept deflated (migration `0023_slim_rows`): a visit's notes
//! are in its snapshot already, and the `visits` row repeated them as text (a 500-character
//! note is 1.5 KB). The column keeps short texts as TEXT and a text deflate shrinks as a BLOB:
//! one byte naming the dictionary (`store/snapshot.rs`'s number, the visit kind's), then raw
//! deflate. Rows from before hold TEXT and read as they are.

use std::cell::RefCell;

use flate2::{Compress, Compression};
use rusqlite::types::{Value, ValueRef};
use shared::doc::DocKind;

use super::{StoreError, snapshot};

/// Texts shorter than this stay TEXT (a few bytes of deflate would not pay for the lookup).
const PACK_FROM_BYTES: usize = 128;

thread_local! {
    /// One deflate stream per thread: setting one up costs more than deflating a note.
    static STREAM: RefCell<Compress> = RefCell::new(Compress::new(Compression::default(), false));
}

/// The column value for `text`: TEXT, or the packed BLOB when that is smaller.
pub(super) fn pack(text: &str) -> Value {
    if text.len() < PACK_FROM_BYTES {
        return Value::Text(text.to_string());
    }
    let preset = snapshot::dictionary(snapshot::DICTIONARY, DocKind::Visit);
    let packed =
        STREAM.with(|stream| snapshot::deflate(&mut stream.borrow_mut(), preset, text.as_bytes()));
    match (packed, u8::try_from(snapshot::DICTIONARY)) {
        (Some(deflated), Ok(number)) if deflated.len() + 1 < text.len() => {
            let mut blob = Vec::with_capacity(deflated.len() + 1);
            blob.push(number);
            blob.extend_from_slice(&deflated);
            Value::Blob(blob)
        }
        _ => Value::Text(text.to_string()),
    }
}

/// The text a column value holds (see [`pack`]); `table` names it in an error.
pub(crate) fn unpack(value: ValueRef<'_>, table: &'static str) -> Result<String, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt { table, detail };
    match value {
        ValueRef::Text(text) => String::from_utf8(text.to_vec())
            .map_err(|e| corrupt(format!("a text is not UTF-8: {e}"))),
        ValueRef::Blob(blob) => {
            let (&number, deflated) = blob
                .split_first()
                .ok_or_else(|| corrupt("an empty packed text".into()))?;
            let preset = snapshot::dictionary(i64::from(number), DocKind::Visit)
                .ok_or_else(|| corrupt(format!("a packed text names dictionary {number}")))?;
            // A note is bounded by the document it came from (the stored-size limit).
            let bytes =
                snapshot::inflate(deflated, Some(preset), MAX_TEXT_BYTES).map_err(corrupt)?;
            if bytes.len() > MAX_TEXT_BYTES {
                return Err(corrupt("a packed text inflates past its bound".into()));
            }
            String::from_utf8(bytes).map_err(|e| corrupt(format!("a text is not UTF-8: {e}")))
        }
        other => Err(corrupt(format!(
            "a text column holds {:?}",
            other.data_type()
        ))),
    }
}

/// The most a packed text inflates to: the stored-size limit of a document.
const MAX_TEXT_BYTES: usize = shared::sync::limits::MAX_STORED_DOC_BYTES;

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> (Value, String) {
        let value = pack(text);
        let back = unpack(ValueRef::from(&value), "visits").expect("unpacks");
        (value, back)
    }

    #[test]
    fn a_long_note_is_kept_deflated_and_reads_as_it_was() {
        let note = "企业现场检查发现消防通道堆放杂物，要求企业立即整改。".repeat(20);
        let (value, back) = round_trip(&note);
        let Value::Blob(blob) = &value else {
            panic!("not packed: {value:?}");
        };
        assert!(
            blob.len() * 3 < note.len(),
            "{} of {}",
            blob.len(),
            note.len()
        );
        assert_eq!(back, note);
    }

    #[test]
    fn a_short_note_stays_text_and_every_note_reads_back_as_it_was() {
        let noise: String = (0..200u32)
            .map(|i| char::from_u32(0x4E00 + (i.wrapping_mul(2_654_435_761) >> 20) % 20_000))
            .map(|c| c.unwrap_or('一'))
            .collect();
        // 105 bytes that deflate would halve, under the threshold.
        let short = "已复查，整改完成。".repeat(4);
        let (value, back) = round_trip(&short);
        assert_eq!(value, Value::Text(short.clone()));
        assert_eq!(back, short);
        let (_, back) = round_trip(&noise);
        assert_eq!(back, noise);
    }

    #[test]
    fn a_packed_text_that_does_not_inflate_is_corrupt() {
        for blob in [vec![], vec![9, 1, 2], vec![1, 0xff, 0xff]] {
            assert!(matches!(
                unpack(ValueRef::Blob(&blob), "visits"),
                Err(StoreError::Corrupt {
                    table: "visits",
                    ..
                })
            ));
        }
    }
}
