//! How a document's snapshot is kept in its `docs` row: deflated (fast level), with the size it
//! inflates to in `inflated_size`; `inflated_size` NULL means the row holds the Automerge bytes
//! as they are (rows from before, and snapshots deflate would not shrink).

use std::io::Read as _;

use flate2::read::DeflateDecoder;
use flate2::{Compress, Compression, FlushCompress, Status};

use super::StoreError;

/// A snapshot as stored: its bytes, and the size they inflate to when deflated.
pub(super) struct Stored {
    pub(super) bytes: Vec<u8>,
    pub(super) inflated_size: Option<i64>,
}

/// Deflates `snapshot` for its row; keeps it as it is when that would not make it smaller.
pub(super) fn store(snapshot: &[u8]) -> Stored {
    store_with(&mut Deflater::default(), snapshot)
}

/// A deflate stream kept for the next snapshot: setting one up allocates and clears a few
/// hundred KiB, which cost more than deflating a small document (a tenth of the server's CPU
/// per edited document in the district benchmark, bench/NOTES.md).
pub(crate) struct Deflater(Compress);

impl Default for Deflater {
    fn default() -> Deflater {
        Deflater(Compress::new(Compression::fast(), false))
    }
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Deflater")
    }
}

/// [`store`] with `deflater`'s stream (raw deflate, fast level, reset first).
pub(super) fn store_with(deflater: &mut Deflater, snapshot: &[u8]) -> Stored {
    match deflate(&mut deflater.0, snapshot) {
        Some(bytes) => Stored {
            bytes,
            inflated_size: i64::try_from(snapshot.len()).ok(),
        },
        None => Stored {
            bytes: snapshot.to_vec(),
            inflated_size: None,
        },
    }
}

/// The deflated bytes, or `None` when they would not be smaller than `input`.
fn deflate(stream: &mut Compress, input: &[u8]) -> Option<Vec<u8>> {
    stream.reset();
    let mut out = Vec::with_capacity(input.len() / 2 + 64);
    // Bounded: a round that neither reads, writes nor finds the output full gives up, and
    // the output may not grow to the input's size.
    loop {
        let (read, written) = (stream.total_in(), stream.total_out());
        let at = usize::try_from(read).ok()?;
        let status = stream
            .compress_vec(input.get(at..)?, &mut out, FlushCompress::Finish)
            .ok()?;
        if status == Status::StreamEnd {
            return (out.len() < input.len()).then_some(out);
        }
        if out.len() >= input.len() {
            return None;
        }
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(64));
        } else if stream.total_in() == read && stream.total_out() == written {
            return None;
        }
    }
}

/// The Automerge bytes of a stored snapshot; a row whose bytes do not inflate to the size it
/// says is corrupt.
pub(super) fn load(
    bytes: Vec<u8>,
    inflated_size: Option<i64>,
    doc_id: &str,
) -> Result<Vec<u8>, StoreError> {
    let Some(size) = inflated_size else {
        return Ok(bytes);
    };
    let corrupt = |detail: String| StoreError::Corrupt {
        table: "docs",
        detail: format!("{doc_id}: {detail}"),
    };
    let size = usize::try_from(size).map_err(|_| corrupt(format!("inflated size {size}")))?;
    let mut out = Vec::with_capacity(size);
    DeflateDecoder::new(bytes.as_slice())
        .take(size as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| corrupt(format!("the snapshot does not inflate: {e}")))?;
    if out.len() != size {
        return Err(corrupt(format!(
            "the snapshot inflates to {} bytes, not {size}",
            out.len()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_deflate_stream_stores_each_snapshot_as_a_fresh_one_would() {
        let mut deflater = Deflater::default();
        let noise: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for snapshot in [
            "企业现场检查发现消防通道堆放杂物".repeat(50).into_bytes(),
            "灭火器压力不足".repeat(20_000).into_bytes(),
            noise,
            b"x".to_vec(),
        ] {
            let kept = store_with(&mut deflater, &snapshot);
            let fresh = store(&snapshot);
            assert_eq!(kept.bytes, fresh.bytes);
            assert_eq!(kept.inflated_size, fresh.inflated_size);
            assert_eq!(
                load(kept.bytes, kept.inflated_size, "visit/x").expect("inflates"),
                snapshot
            );
        }
    }

    #[test]
    fn a_snapshot_comes_back_as_it_was_stored() {
        let snapshot: Vec<u8> = "企业现场检查发现消防通道堆放杂物".repeat(50).into_bytes();
        let stored = store(&snapshot);
        assert!(stored.bytes.len() < snapshot.len() / 4, "deflated");
        assert_eq!(
            load(stored.bytes, stored.inflated_size, "visit/x").expect("inflates"),
            snapshot
        );
    }

    #[test]
    fn bytes_deflate_would_not_shrink_are_kept_as_they_are() {
        let stored = store(&[0x85, 0x6f]);
        assert_eq!(stored.inflated_size, None);
        assert_eq!(
            load(stored.bytes, None, "visit/x").expect("as they are"),
            [0x85, 0x6f]
        );
    }

    #[test]
    fn a_row_that_does_not_inflate_to_its_size_is_corrupt() {
        let stored = store(&[7u8; 1000]);
        assert!(matches!(
            load(stored.bytes.clone(), Some(999), "visit/x"),
            Err(StoreError::Corrupt { table: "docs", .. })
        ));
        assert!(matches!(
            load(vec![0xff; 10], Some(1000), "visit/x"),
            Err(StoreError::Corrupt { table: "docs", .. })
        ));
    }
}
