//! An .xlsx import file read as rows of text (issue 17: every import that takes CSV takes an
//! .xlsx workbook too): the first sheet, its first row the header, each row numbered as the
//! spreadsheet numbers it, so an error says the row the administrator sees.
//!
//! The file is hostile input, so it is bounded before anything is parsed: its size, how many
//! parts it has, and how many bytes every part inflates to — measured by inflating each one
//! (never trusting the sizes the archive declares) with a cap, so a decompression bomb stops
//! at the cap. Then calamine reads the sheet cell by cell (its streaming reader: no grid is
//! allocated from the positions a file claims), with a bound on rows, columns and cells.
//! Formulas are never evaluated: a cell is its cached value (what the spreadsheet program
//! saved), a formula without one reads as empty, and an error value (`#DIV/0!` …) is refused.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use calamine::{DataRef, Reader as _, Xlsx};

use super::AdminError;
use super::import::LineError;

/// Largest file, in bytes.
pub const MAX_FILE_BYTES: usize = 8 << 20;
/// Most parts (files) in the archive.
pub const MAX_PARTS: usize = 500;
/// Most bytes all parts inflate to together.
pub const MAX_INFLATED_BYTES: u64 = 48 << 20;
/// Most rows of the sheet (header included), and the last row number read.
pub const MAX_ROWS: u32 = 100_000;
/// Most columns (the imports have at most nine).
pub const MAX_COLUMNS: u32 = 32;
/// Most non-empty cells.
pub const MAX_CELLS: usize = 1_000_000;

/// The first bytes of a zip archive, which an .xlsx file is.
pub const MAGIC: &[u8] = b"PK\x03\x04";

fn refused(message: String) -> AdminError {
    AdminError::Lines(vec![LineError { line: 1, message }])
}

/// Checks the archive's size, parts and inflated sizes (by inflating, capped).
fn check_archive(bytes: &[u8]) -> Result<(), AdminError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(refused(format!(
            ".xlsx 文件超过 {} MB / the .xlsx file is over {} MB",
            MAX_FILE_BYTES >> 20,
            MAX_FILE_BYTES >> 20
        )));
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        refused(format!(
            "不是有效的 .xlsx 文件 / not a readable .xlsx file: {e}"
        ))
    })?;
    if zip.len() > MAX_PARTS {
        return Err(refused(format!(
            ".xlsx 文件的部件过多 / the .xlsx file has over {MAX_PARTS} parts"
        )));
    }
    let mut left = MAX_INFLATED_BYTES;
    let mut buf = vec![0u8; 64 * 1024];
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).map_err(|e| {
            refused(format!(
                "不是有效的 .xlsx 文件 / not a readable .xlsx file: {e}"
            ))
        })?;
        loop {
            let n = part.read(&mut buf).map_err(|e| {
                refused(format!(
                    "不是有效的 .xlsx 文件 / not a readable .xlsx file: {e}"
                ))
            })?;
            if n == 0 {
                break;
            }
            left = left.checked_sub(n as u64).ok_or_else(|| {
                refused(format!(
                    ".xlsx 文件解压后超过 {} MB / the .xlsx file inflates to over {} MB",
                    MAX_INFLATED_BYTES >> 20,
                    MAX_INFLATED_BYTES >> 20
                ))
            })?;
        }
    }
    Ok(())
}

/// A cell's text: numbers without a needless `.0`, dates as `YYYY-MM-DD` (with the time when
/// it has one), an error value refused.
fn cell_text(value: &DataRef<'_>) -> Result<String, String> {
    Ok(match value {
        DataRef::Empty => String::new(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number_text(*f),
        DataRef::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        DataRef::DateTime(d) => {
            if d.is_duration() {
                number_text(d.as_f64())
            } else {
                date_text(d.as_f64()).ok_or_else(|| format!("date {} out of range", d.as_f64()))?
            }
        }
        DataRef::Error(e) => {
            return Err(format!("单元格为错误值 {e} / the cell holds the error {e}"));
        }
    })
}

fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        // Integral and exactly representable: no `.0` (a login or code typed as a number).
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

/// An Excel date serial (the 1900 system: day 1 is 1900-01-01, counted from 1899-12-30 past
/// the 1900 leap-year bug) as `YYYY-MM-DD`, with ` HH:MM:SS` when it has a time of day.
fn date_text(serial: f64) -> Option<String> {
    if !(0.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)?.and_hms_opt(0, 0, 0)?;
    let ms = (serial * 86_400_000.0).round() as i64;
    let at = epoch.checked_add_signed(chrono::TimeDelta::try_milliseconds(ms)?)?;
    Some(if at.time() == chrono::NaiveTime::MIN {
        at.format("%Y-%m-%d").to_string()
    } else {
        at.format("%Y-%m-%d %H:%M:%S").to_string()
    })
}

/// A sheet read as text: its header row and number, and every later non-empty row with its
/// number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRows {
    /// The header's row number.
    pub header_line: u64,
    /// The header's cells.
    pub header: Vec<String>,
    /// Each later row: its number and cells.
    pub rows: Vec<(u64, Vec<String>)>,
}

/// The first sheet of an .xlsx file: the header (the first row with a cell) and each later row
/// with its spreadsheet row number, every row as wide as the widest; empty rows left out.
///
/// # Errors
/// [`AdminError::Lines`] when the file breaks a bound, cannot be read, or has cells that
/// cannot be read (every such cell listed by row).
pub fn rows(bytes: &[u8]) -> Result<SheetRows, AdminError> {
    check_archive(bytes)?;
    let unreadable = |e: calamine::XlsxError| {
        refused(format!(
            "不是有效的 .xlsx 文件 / not a readable .xlsx file: {e}"
        ))
    };
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let Some(first) = book.sheet_names().into_iter().next() else {
        return Err(refused(
            ".xlsx 文件没有工作表 / the .xlsx file has no sheet".into(),
        ));
    };
    let mut cells = book.worksheet_cells_reader(&first).map_err(unreadable)?;
    let mut grid: BTreeMap<u32, BTreeMap<u32, String>> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut count = 0usize;
    while let Some(cell) = cells.next_cell().map_err(unreadable)? {
        let (row, col) = cell.get_position();
        let line = u64::from(row) + 1;
        if row >= MAX_ROWS {
            return Err(AdminError::Lines(vec![LineError {
                line,
                message: format!("工作表超过 {MAX_ROWS} 行 / the sheet has over {MAX_ROWS} rows"),
            }]));
        }
        if col >= MAX_COLUMNS {
            return Err(AdminError::Lines(vec![LineError {
                line,
                message: format!(
                    "工作表超过 {MAX_COLUMNS} 列 / the sheet has over {MAX_COLUMNS} columns"
                ),
            }]));
        }
        count += 1;
        if count > MAX_CELLS {
            return Err(refused(format!(
                "工作表超过 {MAX_CELLS} 个单元格 / the sheet has over {MAX_CELLS} cells"
            )));
        }
        match cell_text(cell.get_value()) {
            Ok(text) if text.trim().is_empty() => {}
            Ok(text) => {
                grid.entry(row)
                    .or_default()
                    .insert(col, text.trim().to_string());
            }
            Err(message) => errors.push(LineError { line, message }),
        }
    }
    if !errors.is_empty() {
        return Err(AdminError::Lines(errors));
    }
    let width = grid
        .values()
        .filter_map(|r| r.keys().next_back())
        .max()
        .map_or(0, |last| *last as usize + 1);
    let mut rows = grid.into_iter().map(|(row, cells)| {
        let mut out = vec![String::new(); width];
        for (col, text) in cells {
            out[col as usize] = text;
        }
        (u64::from(row) + 1, out)
    });
    let Some((header_line, mut header)) = rows.next() else {
        return Err(refused("工作表是空的 / the sheet is empty".into()));
    };
    // The header's own width: trailing empty header cells are not columns.
    while header.last().is_some_and(String::is_empty) {
        header.pop();
    }
    Ok(SheetRows {
        header_line,
        header,
        rows: rows.collect(),
    })
}
