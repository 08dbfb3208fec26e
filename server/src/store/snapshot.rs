//! How a document's snapshot is kept in its `docs` row: deflated (fast level), with the size it
//! inflates to in `inflated_size`; `inflated_size` NULL means the row holds the Automerge bytes
//! as they are (rows from before, and snapshots deflate would not shrink).

use std::io::{Read as _, Write as _};

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;

use super::StoreError;

/// A snapshot as stored: its bytes, and the size they inflate to when deflated.
pub(super) struct Stored {
    pub(super) bytes: Vec<u8>,
    pub(super) inflated_size: Option<i64>,
}

/// Deflates `snapshot` for its row; keeps it as it is when that would not make it smaller.
pub(super) fn store(snapshot: &[u8]) -> Stored {
    let mut encoder =
        DeflateEncoder::new(Vec::with_capacity(snapshot.len() / 2), Compression::fast());
    // Writing into a Vec cannot fail.
    let deflated = encoder.write_all(snapshot).and_then(|()| encoder.finish());
    match deflated {
        Ok(bytes) if bytes.len() < snapshot.len() => Stored {
            bytes,
            inflated_size: i64::try_from(snapshot.len()).ok(),
        },
        _ => Stored {
            bytes: snapshot.to_vec(),
            inflated_size: None,
        },
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
