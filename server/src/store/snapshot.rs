//! How a document's snapshot is kept in its `docs` row: deflated, with the size it inflates to
//! in `inflated_size` and, since migration `0023_slim_rows`, against a preset dictionary of its
//! kind (`dictionary` = 1: [`DICTIONARIES_1`], sample documents of that kind from the demo
//! district, so a small document's column layout, keys and phrases cost a back-reference
//! instead of their bytes). `inflated_size` NULL means the row holds the Automerge bytes as
//! they are (rows from before 0008, and snapshots deflate would not shrink); `dictionary` NULL
//! means plain deflate (rows from before 0023, rewritten at their next commit or compaction).
//!
//! **Invariant:** a dictionary, once a number names it, never changes: rows stored with it
//! inflate only with the same bytes (the test `the_dictionaries_are_the_ones_rows_were_stored_with`
//! pins their checksums). Better dictionaries take the next number.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use shared::doc::DocKind;

use super::StoreError;

/// The dictionary number new rows are stored with.
pub(super) const DICTIONARY: i64 = 1;

/// Dictionary 1 of each kind: a few of the demo district's documents of that kind, as
/// `cargo run -p server --example snapshot_dictionaries` wrote them (frozen since).
const DICTIONARIES_1: [(DocKind, &[u8]); 4] = [
    (
        DocKind::Enterprise,
        include_bytes!("dictionaries/enterprise-1.bin"),
    ),
    (DocKind::Visit, include_bytes!("dictionaries/visit-1.bin")),
    (
        DocKind::Problem,
        include_bytes!("dictionaries/problem-1.bin"),
    ),
    (
        DocKind::Monitoring,
        include_bytes!("dictionaries/monitoring-1.bin"),
    ),
];

/// Dictionary `number` of `kind`, if there is one.
pub(super) fn dictionary(number: i64, kind: DocKind) -> Option<&'static [u8]> {
    match number {
        1 => DICTIONARIES_1
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, bytes)| *bytes),
        _ => None,
    }
}

/// A snapshot as stored: its bytes, the size they inflate to when deflated, and the
/// dictionary they were deflated against.
pub(super) struct Stored {
    pub(super) bytes: Vec<u8>,
    pub(super) inflated_size: Option<i64>,
    pub(super) dictionary: Option<i64>,
}

/// Deflates `snapshot`, a document of `kind`, for its row; keeps it as it is when that would
/// not make it smaller.
#[cfg(test)]
fn store(kind: DocKind, snapshot: &[u8]) -> Stored {
    store_with(&mut Deflater::default(), kind, snapshot)
}

/// A deflate stream kept for the next snapshot: setting one up allocates and clears a few
/// hundred KiB, which cost more than deflating a small document (a tenth of the server's CPU
/// per edited document in the district benchmark, bench/NOTES.md).
pub(crate) struct Deflater(Compress);

impl Default for Deflater {
    fn default() -> Deflater {
        Deflater(Compress::new(Compression::default(), false))
    }
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Deflater")
    }
}

/// [`store`] with `deflater`'s stream (raw deflate, default level, reset and given the kind's
/// dictionary first).
pub(super) fn store_with(deflater: &mut Deflater, kind: DocKind, snapshot: &[u8]) -> Stored {
    let preset = dictionary(DICTIONARY, kind);
    match deflate(&mut deflater.0, preset, snapshot) {
        Some(bytes) => Stored {
            bytes,
            inflated_size: i64::try_from(snapshot.len()).ok(),
            dictionary: preset.map(|_| DICTIONARY),
        },
        None => Stored {
            bytes: snapshot.to_vec(),
            inflated_size: None,
            dictionary: None,
        },
    }
}

/// The deflated bytes, or `None` when they would not be smaller than `input`.
pub(super) fn deflate(
    stream: &mut Compress,
    preset: Option<&[u8]>,
    input: &[u8],
) -> Option<Vec<u8>> {
    stream.reset();
    if let Some(preset) = preset {
        stream.set_dictionary(preset).ok()?;
    }
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
/// says, or names a dictionary this build does not have, is corrupt.
pub(crate) fn load(
    bytes: Vec<u8>,
    inflated_size: Option<i64>,
    dictionary_number: Option<i64>,
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
    let preset = match dictionary_number {
        None => None,
        Some(number) => {
            let kind = doc_id
                .split_once('/')
                .and_then(|(code, _)| DocKind::from_code(code));
            Some(
                kind.and_then(|kind| dictionary(number, kind))
                    .ok_or_else(|| corrupt(format!("no dictionary {number} for this kind")))?,
            )
        }
    };
    let out = inflate(&bytes, preset, size).map_err(corrupt)?;
    if out.len() != size {
        return Err(corrupt(format!(
            "the snapshot inflates to {} bytes, not {size}",
            out.len()
        )));
    }
    Ok(out)
}

/// Inflates raw deflate `bytes` (against `preset`), reading at most `size` + 1 bytes out
/// (the output grows as it fills, up to that bound).
pub(super) fn inflate(bytes: &[u8], preset: Option<&[u8]>, size: usize) -> Result<Vec<u8>, String> {
    let mut stream = Decompress::new(false);
    if let Some(preset) = preset {
        stream
            .set_dictionary(preset)
            .map_err(|e| format!("the dictionary is refused: {e}"))?;
    }
    let limit = size.saturating_add(1);
    let mut out = Vec::with_capacity(limit.min(bytes.len().saturating_mul(4).max(4096)));
    // Bounded: each round reads, writes or grows the output towards `limit`, or it stops.
    loop {
        let (read, written) = (stream.total_in(), stream.total_out());
        let at = usize::try_from(read).map_err(|e| e.to_string())?;
        let status = stream
            .decompress_vec(
                bytes.get(at..).unwrap_or_default(),
                &mut out,
                FlushDecompress::Finish,
            )
            .map_err(|e| format!("the snapshot does not inflate: {e}"))?;
        if status == Status::StreamEnd || out.len() > size {
            return Ok(out);
        }
        if out.len() == out.capacity() {
            out.reserve(out.capacity().min(limit - out.len()).max(1));
        } else if stream.total_in() == read && stream.total_out() == written {
            return Err(format!(
                "the snapshot does not inflate: it ends after {} bytes",
                out.len()
            ));
        }
    }
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
        for (kind, snapshot) in [
            (
                DocKind::Visit,
                "企业现场检查发现消防通道堆放杂物".repeat(50).into_bytes(),
            ),
            (
                DocKind::Problem,
                "灭火器压力不足".repeat(20_000).into_bytes(),
            ),
            (DocKind::Enterprise, noise),
            (DocKind::Monitoring, b"x".to_vec()),
        ] {
            let kept = store_with(&mut deflater, kind, &snapshot);
            let fresh = store(kind, &snapshot);
            assert_eq!(kept.bytes, fresh.bytes);
            assert_eq!(kept.inflated_size, fresh.inflated_size);
            assert_eq!(kept.dictionary, fresh.dictionary);
            let id = format!("{}/x", kind.code());
            assert_eq!(
                load(kept.bytes, kept.inflated_size, kept.dictionary, &id).expect("inflates"),
                snapshot
            );
        }
    }

    #[test]
    fn a_snapshot_comes_back_as_it_was_stored() {
        let snapshot: Vec<u8> = "企业现场检查发现消防通道堆放杂物".repeat(50).into_bytes();
        let stored = store(DocKind::Visit, &snapshot);
        assert!(stored.bytes.len() < snapshot.len() / 4, "deflated");
        assert_eq!(stored.dictionary, Some(DICTIONARY));
        assert_eq!(
            load(
                stored.bytes,
                stored.inflated_size,
                stored.dictionary,
                "visit/x"
            )
            .expect("inflates"),
            snapshot
        );
    }

    #[test]
    fn a_document_like_the_dictionarys_samples_costs_a_fraction_of_plain_deflate() {
        // A sample itself, with one byte changed: nearly all of it is a back-reference.
        let mut snapshot = dictionary(DICTIONARY, DocKind::Problem)
            .expect("a problem dictionary")
            .to_vec();
        let last = snapshot.len() - 1;
        snapshot[last] ^= 1;
        let with = store(DocKind::Problem, &snapshot);
        let mut plain = Compress::new(Compression::default(), false);
        let without = deflate(&mut plain, None, &snapshot).expect("deflates");
        assert!(
            with.bytes.len() * 4 < without.len(),
            "{} bytes with the dictionary, {} without",
            with.bytes.len(),
            without.len()
        );
    }

    /// Dictionary 1 of each kind: its length and FNV-1a hash.
    const PINNED_1: [(DocKind, usize, u64); 4] = [
        (DocKind::Enterprise, 7621, 7_468_748_975_121_027_518),
        (DocKind::Visit, 7655, 16_120_873_647_657_765_983),
        (DocKind::Problem, 7635, 1_090_217_068_698_467_306),
        (DocKind::Monitoring, 7868, 12_336_550_302_981_551_933),
    ];

    fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    #[test]
    fn the_dictionaries_are_the_ones_rows_were_stored_with() {
        // Rows deflated against dictionary 1 inflate only with these exact bytes.
        let sums: Vec<(DocKind, usize, u64)> = DICTIONARIES_1
            .iter()
            .map(|(kind, bytes)| (*kind, bytes.len(), fnv1a(bytes)))
            .collect();
        assert_eq!(sums, PINNED_1);
    }

    #[test]
    fn a_row_stored_before_dictionaries_loads_as_plain_deflate() {
        let snapshot: Vec<u8> = "企业现场检查发现消防通道堆放杂物".repeat(50).into_bytes();
        let mut plain = Compress::new(Compression::fast(), false);
        let bytes = deflate(&mut plain, None, &snapshot).expect("deflates");
        let size = Some(snapshot.len() as i64);
        assert_eq!(
            load(bytes.clone(), size, None, "visit/x").expect("inflates"),
            snapshot
        );
    }

    #[test]
    fn bytes_deflate_would_not_shrink_are_kept_as_they_are() {
        let stored = store(DocKind::Visit, &[0x85, 0x6f]);
        assert_eq!(stored.inflated_size, None);
        assert_eq!(stored.dictionary, None);
        assert_eq!(
            load(stored.bytes, None, None, "visit/x").expect("as they are"),
            [0x85, 0x6f]
        );
    }

    #[test]
    fn a_row_that_does_not_inflate_to_its_size_or_names_an_unknown_dictionary_is_corrupt() {
        let stored = store(DocKind::Visit, &[7u8; 1000]);
        for (bytes, size, dictionary) in [
            (stored.bytes.clone(), Some(999), stored.dictionary),
            (stored.bytes.clone(), Some(1000), Some(2)),
            (vec![0xff; 10], Some(1000), stored.dictionary),
        ] {
            assert!(
                matches!(
                    load(bytes, size, dictionary, "visit/x"),
                    Err(StoreError::Corrupt { table: "docs", .. })
                ),
                "{size:?} {dictionary:?}"
            );
        }
    }
}
