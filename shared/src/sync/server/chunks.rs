//! Splits pushed Automerge bytes into their chunks by reading only each chunk's header, so the
//! server can look at a push's changes one by one before any document is loaded.
//!
//! A chunk is the magic bytes `85 6f 4a 83`, a 4-byte checksum, one byte of chunk type
//! (0 document, 1 change, 2 deflated change, 3 bundle), the data's length as unsigned LEB128,
//! then the data. The checksum is left to Automerge, which verifies it when parsing the chunk.
//!
//! Automerge inflates a deflated change chunk, and a document's deflated columns, without a
//! bound; [`check_inflation`] inflates them first within one, so a small push cannot make the
//! server allocate gigabytes.

use std::io::Read;

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

/// Checks that the deflated parts of one chunk from [`split`] inflate to at most `budget`
/// bytes (a deflated change chunk's data, a document's deflated columns), and takes what they
/// inflate to from it: one budget serves every chunk of a push.
pub(crate) fn check_inflation(chunk: &[u8], budget: &mut usize) -> Result<(), String> {
    let cap = *budget;
    let too_much = || format!("the document inflates to more than {cap} bytes");
    for deflated in deflated_parts(chunk)? {
        let mut out = std::io::sink();
        let read = std::io::copy(
            &mut flate2::bufread::DeflateDecoder::new(deflated).take(*budget as u64 + 1),
            &mut out,
        )
        .map_err(|e| format!("a deflated part does not inflate: {e}"))?;
        let read = usize::try_from(read).unwrap_or(usize::MAX);
        *budget = budget.checked_sub(read).ok_or_else(too_much)?;
    }
    Ok(())
}

/// Whether a chunk from [`split`] holds anything deflated (a deflated change, a document saved
/// with Automerge's per-column compression).
pub(crate) fn is_deflated(chunk: &[u8]) -> Result<bool, String> {
    Ok(!deflated_parts(chunk)?.is_empty())
}

/// The deflated parts of one chunk from [`split`]: a deflated change chunk's data, a
/// document's deflated columns.
fn deflated_parts(chunk: &[u8]) -> Result<Vec<&[u8]>, String> {
    let (len, len_bytes) = uleb128(&chunk[9..]).ok_or("bad chunk length")?;
    let data = chunk
        .get(9 + len_bytes..9 + len_bytes + len)
        .ok_or("chunk cut short")?;
    match chunk[8] {
        2 => Ok(vec![data]),
        0 => {
            let mut r = Reader { bytes: data, at: 0 };
            for _ in 0..r.number()? {
                let len = r.number()?;
                r.skip(len)?;
            }
            let heads = r.number()?;
            r.skip(heads.checked_mul(32).ok_or("too many heads")?)?;
            let mut columns = Vec::new();
            for _ in 0..2 {
                for _ in 0..r.number()? {
                    let spec = r.number()?;
                    columns.push((spec & 0b1000 != 0, r.number()?));
                }
            }
            let mut parts = Vec::new();
            for (deflated, len) in columns {
                let part = r.take(len)?;
                if deflated {
                    parts.push(part);
                }
            }
            Ok(parts)
        }
        _ => Ok(Vec::new()),
    }
}

/// Reads a document chunk's numbers and parts, refusing anything cut short.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn number(&mut self) -> Result<usize, String> {
        let (n, used) = uleb128(self.bytes.get(self.at..).unwrap_or(&[]))
            .ok_or("a document's layout is cut short")?;
        self.at += used;
        Ok(n)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or("a document's layout runs past its end")?;
        let part = &self.bytes[self.at..end];
        self.at = end;
        Ok(part)
    }

    fn skip(&mut self, len: usize) -> Result<(), String> {
        self.take(len).map(|_| ())
    }
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

    /// A document whose one text value is 300 KB of one repeated character: its value column is
    /// deflated in `save()` to a few hundred bytes.
    fn repetitive() -> AutoCommit {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "notes", "企".repeat(100_000)).expect("put");
        doc.commit();
        doc
    }

    #[test]
    fn a_document_whose_deflated_columns_inflate_past_the_cap_is_refused_before_automerge() {
        let bytes = repetitive().save();
        assert!(bytes.len() < 10_000, "deflated: {}", bytes.len());
        let chunks = split(&bytes).expect("splits");
        let mut budget = 1 << 20;
        assert!(check_inflation(chunks[0].1, &mut budget).is_ok());
        assert_eq!(budget, (1 << 20) - 300_000, "what it inflated to was taken");
        let err = check_inflation(chunks[0].1, &mut 100_000).expect_err("over the cap");
        assert!(err.contains("100000"), "{err}");
    }

    #[test]
    fn a_document_saved_without_per_column_deflate_is_not_deflated() {
        let mut doc = repetitive();
        let plain = doc.save_nocompress();
        let deflated = doc.save();
        assert!(!is_deflated(split(&plain).expect("splits")[0].1).expect("a document"));
        assert!(is_deflated(split(&deflated).expect("splits")[0].1).expect("a document"));
    }

    #[test]
    fn a_deflated_change_inflating_past_the_cap_is_refused() {
        let mut doc = repetitive();
        let mut change = doc.get_changes(&[]).remove(0);
        let deflated = change.bytes().into_owned();
        assert_eq!(deflated[8], 2, "a deflated change chunk");
        assert!(check_inflation(&deflated, &mut (1 << 20)).is_ok());
        assert!(check_inflation(&deflated, &mut 100_000).is_err());
        // Two of them share one budget.
        let mut budget = 500_000;
        assert!(check_inflation(&deflated, &mut budget).is_ok());
        assert!(check_inflation(&deflated, &mut budget).is_err());
        // A plain change has nothing to inflate.
        assert!(check_inflation(change.raw_bytes(), &mut 10).is_ok());
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
