//! Splits pushed Automerge bytes into their chunks by reading only each chunk's header, so the
//! server can look at a push's changes one by one before any document is loaded.
//!
//! A chunk is the magic bytes `85 6f 4a 83`, a 4-byte checksum, one byte of chunk type
//! (0 document, 1 change, 2 deflated change, 3 bundle), the data's length as unsigned LEB128,
//! then the data. The checksum is left to Automerge, which verifies it when parsing the chunk.

/// The bytes every Automerge chunk starts with.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// What one chunk holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChunkKind {
    /// A whole saved document.
    Document,
    /// One change, plain or deflated.
    Change,
}

/// Splits `data` into its chunks, each whole (header included). Refuses anything that is not a
/// sequence of document and change chunks with a reason fit to show the device.
pub(crate) fn split(data: &[u8]) -> Result<Vec<(ChunkKind, &[u8])>, String> {
    let mut chunks = Vec::new();
    let mut at = 0usize;
    while at < data.len() {
        let rest = &data[at..];
        if rest.len() < 9 || rest[..4] != MAGIC {
            return Err(format!("byte {at} does not start an Automerge chunk"));
        }
        let kind = match rest[8] {
            0 => ChunkKind::Document,
            1 | 2 => ChunkKind::Change,
            other => return Err(format!("chunk type {other} at byte {at} is not accepted")),
        };
        let (len, len_bytes) =
            uleb128(&rest[9..]).ok_or_else(|| format!("chunk at byte {at} has a bad length"))?;
        let end = 9usize
            .checked_add(len_bytes)
            .and_then(|h| h.checked_add(len))
            .filter(|end| *end <= rest.len())
            .ok_or_else(|| format!("chunk at byte {at} runs past the end of the data"))?;
        chunks.push((kind, &rest[..end]));
        at += end;
    }
    Ok(chunks)
}

/// An unsigned LEB128 number at the start of `bytes` and how many bytes it took; `None` when
/// it is cut short or does not fit a `usize`.
fn uleb128(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value: u64 = 0;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        let part = u64::from(byte & 0x7f);
        let shifted = part.checked_shl(7 * i as u32)?;
        if i == 9 && part > 1 {
            return None;
        }
        value |= shifted;
        if byte & 0x80 == 0 {
            return usize::try_from(value).ok().map(|v| (v, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    fn doc_with_two_changes() -> AutoCommit {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "a", 1).expect("put");
        doc.commit();
        doc.put(ROOT, "b", "二").expect("put");
        doc.commit();
        doc
    }

    #[test]
    fn a_saved_document_is_one_document_chunk() {
        let mut doc = doc_with_two_changes();
        for bytes in [doc.save(), doc.save_nocompress()] {
            let chunks = split(&bytes).expect("splits");
            assert_eq!(chunks.len(), 1);
            assert_eq!(chunks[0].0, ChunkKind::Document);
            assert_eq!(chunks[0].1.len(), bytes.len());
        }
    }

    #[test]
    fn saved_changes_split_into_one_chunk_each_that_automerge_parses() {
        let mut doc = doc_with_two_changes();
        let bytes = doc.save_after(&[]);
        let chunks = split(&bytes).expect("splits");
        assert_eq!(chunks.len(), 2);
        for (kind, chunk) in chunks {
            assert_eq!(kind, ChunkKind::Change);
            automerge::Change::try_from(chunk).expect("a whole change");
        }
    }

    #[test]
    fn bytes_that_are_not_chunks_are_refused_with_where() {
        let mut doc = doc_with_two_changes();
        let mut bytes = doc.save_after(&[]);
        bytes.push(0);
        assert!(split(&bytes).expect_err("trailing byte").contains("byte"));
        let cut = &doc.save()[..20];
        assert!(split(cut).is_err());
        assert!(
            split(&[0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 3, 0]).is_err(),
            "bundle"
        );
        assert!(split(&[0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1, 0xff, 0xff]).is_err());
        assert_eq!(split(&[]).expect("nothing"), vec![]);
    }
}
