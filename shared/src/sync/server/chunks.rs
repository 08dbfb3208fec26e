//! Splits pushed Automerge bytes into their chunks by reading only each chunk's header, so the
//! server can look at a push's changes one by one before any document is loaded.
//!
//! A chunk is the magic bytes `85 6f 4a 83`, a 4-byte checksum, one byte of chunk type
//! (0 document, 1 change, 2 deflated change, 3 bundle), the data's length as unsigned LEB128,
//! then the data. The checksum is left to Automerge, which verifies it when parsing the chunk.
//!
//! Automerge inflates a deflated change chunk, and a document's deflated columns, without a
//! bound, and decodes every row a run-length encoded column claims (a few bytes can claim
//! billions of operations); [`check_weight`] inflates and counts them first within one budget,
//! so a small push cannot make the server allocate gigabytes or loop for hours.

use std::io::Read;

/// Why [`check_weight`] refuses a chunk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WeightError {
    /// The bytes are not what an Automerge chunk holds.
    #[error("{0}")]
    Malformed(String),
    /// What Automerge would build of it is over the budget.
    #[error("{0}")]
    TooHeavy(String),
}

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

/// Weighs one chunk from [`split`] against `budget`, taking from it what Automerge will build
/// of the chunk before any of our checks see its content: the bytes its deflated parts (a
/// deflated change chunk's data, a document's deflated columns) inflate to, and one unit per
/// row its columns claim. Run-length encoding lets a few bytes claim billions of operations
/// (or changes), which Automerge decodes one by one when it parses the chunk; counting the
/// runs reads only the encoded bytes. One budget serves every chunk of a push.
/// Returns how many rows (operations and changes) the chunk claims.
pub(crate) fn check_weight(chunk: &[u8], budget: &mut usize) -> Result<u64, WeightError> {
    let cap = *budget;
    let bad = WeightError::Malformed;
    let data = chunk_data(chunk).map_err(bad)?;
    match chunk[8] {
        1 => take_rows(change_rows(data).map_err(bad)?, budget, cap),
        2 => {
            let inflated = inflate(data, budget, cap)?;
            take_rows(change_rows(&inflated).map_err(bad)?, budget, cap)
        }
        0 => {
            // The most rows of any change column (Automerge builds one entry per change) and
            // of any operation column (one operation per row).
            let mut most = [0u64; 2];
            for (set, column) in document_columns(data).map_err(bad)? {
                let rows = if column.deflated {
                    column_rows(column.spec, &inflate(column.data, budget, cap)?)
                } else {
                    column_rows(column.spec, column.data)
                }
                .map_err(bad)?;
                most[set] = most[set].max(rows);
            }
            take_rows(most[0].saturating_add(most[1]), budget, cap)
        }
        _ => Ok(0),
    }
}

/// Whether a chunk from [`split`] holds anything deflated (a deflated change, a document saved
/// with Automerge's per-column compression).
pub(crate) fn is_deflated(chunk: &[u8]) -> Result<bool, String> {
    match chunk[8] {
        2 => Ok(true),
        0 => Ok(document_columns(chunk_data(chunk)?)?
            .iter()
            .any(|(_, c)| c.deflated)),
        _ => Ok(false),
    }
}

/// A chunk's data, after its header.
fn chunk_data(chunk: &[u8]) -> Result<&[u8], String> {
    let (len, len_bytes) = uleb128(chunk.get(9..).unwrap_or(&[])).ok_or("bad chunk length")?;
    chunk
        .get(9 + len_bytes..)
        .and_then(|rest| rest.get(..len))
        .ok_or_else(|| "chunk cut short".to_string())
}

/// Inflates `deflated` within `budget`, taking what it inflated to from it.
fn inflate(deflated: &[u8], budget: &mut usize, cap: usize) -> Result<Vec<u8>, WeightError> {
    let mut out = Vec::new();
    flate2::bufread::DeflateDecoder::new(deflated)
        .take(*budget as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| WeightError::Malformed(format!("a deflated part does not inflate: {e}")))?;
    *budget = budget.checked_sub(out.len()).ok_or_else(|| {
        WeightError::TooHeavy(format!("the document inflates to more than {cap} bytes"))
    })?;
    Ok(out)
}

/// Takes one unit of `budget` for each of `rows` (operations or changes); returns `rows`.
fn take_rows(rows: u64, budget: &mut usize, cap: usize) -> Result<u64, WeightError> {
    *budget = usize::try_from(rows)
        .ok()
        .and_then(|rows| budget.checked_sub(rows))
        .ok_or_else(|| {
            WeightError::TooHeavy(format!(
                "the document claims more operations than its budget of {cap} allows"
            ))
        })?;
    Ok(rows)
}

/// One column of a chunk: its specification (id, type, deflate bit) and its encoded bytes.
struct Column<'a> {
    spec: usize,
    deflated: bool,
    data: &'a [u8],
}

/// The columns' metadata (count, then spec and length of each) and then their data, from `r`.
fn columns<'a>(r: &mut Reader<'a>, sets: usize) -> Result<Vec<(usize, Column<'a>)>, String> {
    let mut layout = Vec::new();
    for set in 0..sets {
        for _ in 0..r.number()? {
            let spec = r.number()?;
            layout.push((set, spec, r.number()?));
        }
    }
    let mut columns = Vec::with_capacity(layout.len());
    for (set, spec, len) in layout {
        columns.push((
            set,
            Column {
                spec,
                deflated: spec & 0b1000 != 0,
                data: r.take(len)?,
            },
        ));
    }
    Ok(columns)
}

/// A document chunk's columns: its changes' (set 0) and its operations' (set 1).
fn document_columns(data: &[u8]) -> Result<Vec<(usize, Column<'_>)>, String> {
    let mut r = Reader { bytes: data, at: 0 };
    for _ in 0..r.number()? {
        let len = r.number()?;
        r.skip(len)?;
    }
    let heads = r.number()?;
    r.skip(heads.checked_mul(32).ok_or("too many heads")?)?;
    columns(&mut r, 2)
}

/// The most rows any operation column of a change's data claims (Automerge reads one operation
/// per row of the action column; the largest column bounds what it reads).
fn change_rows(data: &[u8]) -> Result<u64, String> {
    let mut r = Reader { bytes: data, at: 0 };
    let deps = r.number()?;
    r.skip(deps.checked_mul(32).ok_or("too many dependencies")?)?;
    let actor = r.number()?;
    r.skip(actor)?;
    r.number()?; // seq
    r.number()?; // start op
    r.number()?; // time (signed: the same bytes to skip)
    let message = r.number()?;
    r.skip(message)?;
    for _ in 0..r.number()? {
        let len = r.number()?;
        r.skip(len)?;
    }
    let mut most = 0;
    for (_, column) in columns(&mut r, 1)? {
        if column.deflated {
            return Err("a change's columns may not be deflated".into());
        }
        most = most.max(column_rows(column.spec, column.data)?);
    }
    Ok(most)
}

/// How many rows an encoded column holds, from its run headers (the values are skipped).
/// Types (the low three bits of the spec): 0 group, 1 actor, 2 integer and 6 value metadata
/// (run-length encoded unsigned numbers), 3 delta (run-length encoded signed numbers), 4
/// boolean (alternating run lengths), 5 string (run-length encoded, length-prefixed), 7 raw
/// values (no rows of their own: the value metadata counts them).
fn column_rows(spec: usize, data: &[u8]) -> Result<u64, String> {
    let mut r = Reader { bytes: data, at: 0 };
    let mut rows: u64 = 0;
    let add = |rows: u64, n: u64| rows.checked_add(n).ok_or("a column claims too many rows");
    match spec & 0b111 {
        7 => {}
        4 => {
            while !r.done() {
                rows = add(rows, r.number_u64()?)?;
            }
        }
        kind => {
            let string = kind == 5;
            while !r.done() {
                let run = r.signed()?;
                if run > 0 {
                    r.value(string)?;
                    rows = add(rows, run.unsigned_abs())?;
                } else if run < 0 {
                    // A literal run: each value is there, at least one byte each.
                    for _ in 0..run.unsigned_abs() {
                        r.value(string)?;
                        rows = add(rows, 1)?;
                    }
                } else {
                    rows = add(rows, r.number_u64()?)?;
                }
            }
        }
    }
    Ok(rows)
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

    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    /// An unsigned LEB128 number of up to 64 bits.
    fn number_u64(&mut self) -> Result<u64, String> {
        let rest = self.bytes.get(self.at..).unwrap_or(&[]);
        let (n, used) = leb128(rest, false).ok_or("a column is cut short")?;
        self.at += used;
        Ok(n as u64)
    }

    /// A signed LEB128 number of up to 64 bits.
    fn signed(&mut self) -> Result<i64, String> {
        let rest = self.bytes.get(self.at..).unwrap_or(&[]);
        let (n, used) = leb128(rest, true).ok_or("a column is cut short")?;
        self.at += used;
        Ok(n)
    }

    /// Skips one value of a run: a length-prefixed string, or a LEB128 number.
    fn value(&mut self, string: bool) -> Result<(), String> {
        let n = self.number_u64()?;
        if string {
            self.skip(usize::try_from(n).map_err(|_| "a string too long")?)?;
        }
        Ok(())
    }
}

/// A LEB128 number at the start of `bytes` (signed or not) as 64 bits and how many bytes it
/// took; `None` when it is cut short or longer than ten bytes.
fn leb128(bytes: &[u8], signed: bool) -> Option<(i64, usize)> {
    let mut value: u64 = 0;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f)
            .checked_shl(7 * i as u32)
            .unwrap_or(0);
        if byte & 0x80 == 0 {
            let shift = 7 * (i as u32 + 1);
            if signed && shift < 64 && byte & 0x40 != 0 {
                value |= u64::MAX << shift;
            }
            return Some((value as i64, i + 1));
        }
    }
    None
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
        assert!(check_weight(chunks[0].1, &mut budget).is_ok());
        assert_eq!(
            budget,
            (1 << 20) - 300_000 - 2,
            "what it inflated to was taken, and its one change and one operation"
        );
        let err = check_weight(chunks[0].1, &mut 100_000).expect_err("over the cap");
        assert!(err.to_string().contains("100000"), "{err}");
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
        assert!(check_weight(&deflated, &mut (1 << 20)).is_ok());
        assert!(check_weight(&deflated, &mut 100_000).is_err());
        // Two of them share one budget.
        let mut budget = 500_000;
        assert!(check_weight(&deflated, &mut budget).is_ok());
        assert!(check_weight(&deflated, &mut budget).is_err());
        // A plain change has nothing to inflate.
        assert!(check_weight(change.raw_bytes(), &mut 10).is_ok());
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

    /// A change chunk whose columns claim `ops` operations, each "set `a` on the root to null",
    /// in a few dozen bytes: every column one run.
    fn claiming_ops(ops: u64) -> Vec<u8> {
        fn uleb(out: &mut Vec<u8>, mut n: u64) {
            loop {
                let byte = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    out.push(byte);
                    return;
                }
                out.push(byte | 0x80);
            }
        }
        fn sleb(out: &mut Vec<u8>, n: u64) {
            // `n` is positive and below 2^62: its LEB128 with a clear sign bit.
            let mut v = n;
            loop {
                let byte = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 && byte & 0x40 == 0 {
                    out.push(byte);
                    return;
                }
                out.push(byte | 0x80);
            }
        }
        let run = |value: &[u8]| {
            let mut c = Vec::new();
            sleb(&mut c, ops);
            c.extend_from_slice(value);
            c
        };
        let mut bools = Vec::new();
        uleb(&mut bools, ops);
        // (spec, data): key string "a", insert false, action 1 (set), value null, no preds.
        let columns: Vec<(u64, Vec<u8>)> = vec![
            (0x15, run(&[1, b'a'])),
            (0x34, bools),
            (0x42, run(&[1])),
            (0x56, run(&[0])),
            (0x70, run(&[0])),
        ];
        let mut data = vec![0, 16];
        data.extend_from_slice(&[7; 16]); // actor
        data.extend_from_slice(&[1, 1, 0, 0, 0]); // seq, start op, time, no message, no actors
        uleb(&mut data, columns.len() as u64);
        for (spec, bytes) in &columns {
            uleb(&mut data, *spec);
            uleb(&mut data, bytes.len() as u64);
        }
        for (_, bytes) in &columns {
            data.extend_from_slice(bytes);
        }
        let mut typed = vec![1u8];
        uleb(&mut typed, data.len() as u64);
        typed.extend_from_slice(&data);
        let hash = <sha2::Sha256 as sha2::Digest>::digest(&typed);
        let mut chunk = MAGIC.to_vec();
        chunk.extend_from_slice(&hash[..4]);
        chunk.extend_from_slice(&typed);
        chunk
    }

    #[test]
    fn a_crafted_change_is_what_automerge_reads_as_that_many_operations() {
        let chunk = claiming_ops(1_000);
        let change = automerge::Change::try_from(chunk.as_slice()).expect("automerge parses it");
        assert_eq!(change.len(), 1_000);
        assert_eq!(change_rows(chunk_data(&chunk).expect("data")), Ok(1_000));
    }

    #[test]
    fn the_rows_counted_are_the_operations_automerge_reads() {
        let mut doc = AutoCommit::new();
        let list = doc
            .put_object(ROOT, "list", automerge::ObjType::List)
            .expect("a list");
        for i in 0..500 {
            doc.insert(&list, i, i as i64).expect("insert");
        }
        doc.put(ROOT, "s", "文").expect("put");
        doc.commit();
        doc.delete(&list, 10).expect("delete");
        doc.commit();
        for change in doc.get_changes(&[]) {
            assert_eq!(
                change_rows(chunk_data(change.raw_bytes()).expect("data")),
                Ok(change.len() as u64)
            );
        }
        let plain = doc.save_nocompress();
        let mut budget = usize::MAX;
        check_weight(&plain, &mut budget).expect("weighs");
        // Two changes and 502 operations: a saved document keeps the deletion as a successor
        // of the element it deleted, not as an operation row.
        assert_eq!(usize::MAX - budget, 2 + 502);
    }

    #[test]
    fn a_change_claiming_billions_of_operations_is_refused_by_its_run_headers() {
        let chunk = claiming_ops(4_000_000_000);
        assert!(chunk.len() < 100, "{} bytes", chunk.len());
        let started = std::time::Instant::now();
        let err = check_weight(&chunk, &mut (8 << 20)).expect_err("over the budget");
        assert!(matches!(err, WeightError::TooHeavy(_)), "{err:?}");
        assert!(err.to_string().contains("operations"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(
            chunk,
            include_bytes!("../../../tests/fixtures/change-claiming-4e9-ops.bin").as_slice(),
            "the fixture shared/tests/sync_limits.rs pushes"
        );
        // Within a budget that holds them, the same bytes are weighed, not refused.
        let mut budget = 5_000_000_000;
        check_weight(&chunk, &mut budget).expect("weighs");
        assert_eq!(budget, 1_000_000_000);
    }
}
