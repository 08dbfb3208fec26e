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
mod tests;
