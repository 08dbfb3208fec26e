//! CSV import of monitoring figures (监测数据导入): parsing a key enterprise's daily power use,
//! weekly prices or monthly operation figures from CSV text, all-or-nothing, with every bad
//! row reported by its line number; and writing the parsed figures into the enterprise's
//! monitoring document as one change. Also the cell parsers the entry form reuses.
//!
//! The format (one kind of figure per file; the header row says which):
//!
//! | header | rows |
//! |---|---|
//! | `date,power_kwh` (日期,用电量) | `2026-11-05,12800` — a day (`YYYY-MM-DD` or `YYYY/MM/DD`) and kWh |
//! | `week,product,price` (周,产品,价格) | `2026-W45,螺纹钢,3650` — an ISO week, a product, a price |
//! | `month,output_value,revenue,employees` (月份,产值,营业收入,用工人数) | `2026-10,1520.5,1380,214` — 万元, 万元, people |
//!
//! Columns may come in any order; a unit in brackets after a column name (`用电量(kWh)`) is
//! ignored; a byte-order mark, blank lines, trailing empty cells and `"quoted, cells"` are
//! accepted; tab-separated text (cells pasted from a spreadsheet) works the same as commas.
//! A period may appear once per file. Any bad row rejects the whole file.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::doc::{DocError, MonitoringEdit};
use crate::model::{IsoWeek, Monitoring, Month, OperationFigures};

/// The most data rows one file may hold (ten years of daily power use is 3,653).
pub const MAX_ROWS: usize = 5_000;
/// The longest product name, in characters.
pub const MAX_PRODUCT_CHARS: usize = 100;

/// Which figures a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FigureKind {
    /// 电量日监测: kWh per day.
    Power,
    /// 价格周报告: price per product per week.
    Prices,
    /// 运行月分析: output value, revenue and employees per month.
    Operation,
}

impl FigureKind {
    /// The columns of the kind's header, in the documented order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            FigureKind::Power => &["date", "power_kwh"],
            FigureKind::Prices => &["week", "product", "price"],
            FigureKind::Operation => &["month", "output_value", "revenue", "employees"],
        }
    }
}

/// Parsed figures of one file, in file order, ready to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Figures {
    /// Days and kWh.
    Power(Vec<(NaiveDate, f64)>),
    /// Weeks, products and prices.
    Prices(Vec<(IsoWeek, String, f64)>),
    /// Months and their operation figures.
    Operation(Vec<(Month, OperationFigures)>),
}

/// What is wrong with a file or one of its rows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    /// Nothing but blank lines.
    #[error("the file is empty")]
    Empty,
    /// A header and no data rows.
    #[error("the file has a header but no rows")]
    NoRows,
    /// The header names no known set of columns.
    #[error(
        "unknown header {0:?}: expected date,power_kwh or week,product,price or \
         month,output_value,revenue,employees"
    )]
    UnknownHeader(String),
    /// A row with a different number of cells than the header.
    #[error("{found} cells, the header has {expected}")]
    Columns {
        /// Cells in the header.
        expected: usize,
        /// Cells in the row.
        found: usize,
    },
    /// A quoted cell that does not end on its line.
    #[error("a quoted cell is not closed")]
    UnclosedQuote,
    /// Not a day.
    #[error("{0:?} is not a date (YYYY-MM-DD)")]
    BadDate(String),
    /// Not an ISO week.
    #[error("{0:?} is not a week (YYYY-Www, e.g. 2026-W45)")]
    BadWeek(String),
    /// Not a month.
    #[error("{0:?} is not a month (YYYY-MM)")]
    BadMonth(String),
    /// Not a non-negative number.
    #[error("{column}: {value:?} is not a non-negative number")]
    BadNumber {
        /// The column.
        column: &'static str,
        /// The cell.
        value: String,
    },
    /// Not a non-negative whole number.
    #[error("{column}: {value:?} is not a non-negative whole number")]
    BadCount {
        /// The column.
        column: &'static str,
        /// The cell.
        value: String,
    },
    /// A price row without a product.
    #[error("the product is empty")]
    MissingProduct,
    /// A product name longer than [`MAX_PRODUCT_CHARS`].
    #[error("the product name is longer than {MAX_PRODUCT_CHARS} characters")]
    ProductTooLong,
    /// The same period (and product) twice in one file.
    #[error("{period} already appears on line {first_line}")]
    Duplicate {
        /// The period (and product) repeated.
        period: String,
        /// Where it first appeared.
        first_line: usize,
    },
    /// More than [`MAX_ROWS`] data rows.
    #[error("more than {MAX_ROWS} rows: split the file")]
    TooManyRows,
}

/// An error on one line of the file (1-based, as an editor counts them).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {error}")]
pub struct LineError {
    /// The line.
    pub line: usize,
    /// What is wrong.
    pub error: CsvError,
}

/// How the figures of a file compare with those already recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportEffect {
    /// Figures for periods with none recorded.
    pub new: usize,
    /// Figures that replace a different recorded value.
    pub changed: usize,
    /// Figures equal to what is recorded.
    pub unchanged: usize,
}

/// Parses a day: `YYYY-MM-DD` or `YYYY/MM/DD` (month and day may have one digit).
pub fn parse_day(cell: &str) -> Result<NaiveDate, CsvError> {
    // Parsed by hand: chrono's format parser would add kilobytes to the app's download.
    let s = cell.trim();
    let bad = || CsvError::BadDate(s.to_string());
    let parts: Vec<&str> = s.split(['-', '/']).collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    let number = |part: &str, max_digits: usize| -> Result<u32, CsvError> {
        if part.is_empty() || part.len() > max_digits || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse().map_err(|_| bad())
    };
    if y.len() != 4 {
        return Err(bad());
    }
    let year = i32::try_from(number(y, 4)?).map_err(|_| bad())?;
    NaiveDate::from_ymd_opt(year, number(m, 2)?, number(d, 2)?).ok_or_else(bad)
}

/// Parses an ISO week: `YYYY-Www` (`w` in either case).
pub fn parse_week(cell: &str) -> Result<IsoWeek, CsvError> {
    let s = cell.trim();
    IsoWeek::parse(&s.to_ascii_uppercase()).ok_or_else(|| CsvError::BadWeek(s.to_string()))
}

/// Parses a month: `YYYY-MM` or `YYYY/MM`.
pub fn parse_month(cell: &str) -> Result<Month, CsvError> {
    let s = cell.trim();
    Month::parse(&s.replace('/', "-")).ok_or_else(|| CsvError::BadMonth(s.to_string()))
}

/// Parses a non-negative finite number; thousands separators (`12,800`) are allowed.
pub fn parse_amount(column: &'static str, cell: &str) -> Result<f64, CsvError> {
    let s = cell.trim();
    let digits: String = s.chars().filter(|c| !matches!(c, ',' | '，')).collect();
    let bad = || CsvError::BadNumber {
        column,
        value: s.to_string(),
    };
    // Only digits, one point and an optional leading plus: no "inf", "NaN" or exponents.
    let body = digits.strip_prefix('+').unwrap_or(&digits);
    match super::decimal::parse(body) {
        Some(v) if v.is_finite() => Ok(v),
        _ => Err(bad()),
    }
}

/// Parses a non-negative whole number (thousands separators allowed).
pub fn parse_count(column: &'static str, cell: &str) -> Result<i64, CsvError> {
    let s = cell.trim();
    let digits: String = s.chars().filter(|c| !matches!(c, ',' | '，')).collect();
    match digits.trim_start_matches('+').parse::<i64>() {
        Ok(v) if v >= 0 && !digits.starts_with('-') => Ok(v),
        _ => Err(CsvError::BadCount {
            column,
            value: s.to_string(),
        }),
    }
}

/// Parses a product name.
pub fn parse_product(cell: &str) -> Result<String, CsvError> {
    let s = cell.trim();
    if s.is_empty() {
        Err(CsvError::MissingProduct)
    } else if s.chars().count() > MAX_PRODUCT_CHARS {
        Err(CsvError::ProductTooLong)
    } else {
        Ok(s.to_string())
    }
}

/// Splits one line into cells: `sep`-separated, `"quoted ""cells"""` allowed.
fn cells(line: &str, sep: char) -> Result<Vec<String>, CsvError> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut cell = String::new();
        // Spaces before an opening quote are not part of the cell.
        while chars.peek().is_some_and(|c| *c == ' ') {
            chars.next();
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(CsvError::UnclosedQuote),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        cell.push('"');
                    }
                    Some('"') => break,
                    Some(c) => cell.push(c),
                }
            }
            // Anything between the closing quote and the separator is kept (lenient).
            while let Some(c) = chars.peek().copied() {
                if c == sep {
                    break;
                }
                cell.push(c);
                chars.next();
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == sep {
                    break;
                }
                cell.push(c);
                chars.next();
            }
        }
        out.push(cell.trim().to_string());
        if chars.next().is_none() {
            break;
        }
    }
    Ok(out)
}

/// A header cell reduced to the column it names: lower case, no spaces, no unit in brackets,
/// Chinese names mapped to the documented ones.
fn column_name(cell: &str) -> String {
    let cut = cell
        .find(['(', '（', '['])
        .map_or(cell, |i| &cell[..i])
        .trim()
        .to_ascii_lowercase()
        .replace([' ', '_', '-'], "");
    let name = match cut.as_str() {
        "date" | "day" | "日期" => "date",
        "powerkwh" | "power" | "kwh" | "用电量" | "电量" | "日用电量" => "power_kwh",
        "week" | "周" | "周次" => "week",
        "product" | "产品" | "品名" | "产品名称" => "product",
        "price" | "价格" | "单价" => "price",
        "month" | "月份" | "月" => "month",
        "outputvalue" | "output" | "产值" | "工业产值" => "output_value",
        "revenue" | "营业收入" | "营收" | "主营业务收入" => "revenue",
        "employees" | "用工人数" | "用工" | "从业人员" | "职工人数" => "employees",
        other => return other.to_string(),
    };
    name.to_string()
}

/// The kind a header names, and where each of its columns is.
fn header_kind(header: &[String]) -> Option<(FigureKind, Vec<usize>)> {
    let names: Vec<String> = header.iter().map(|c| column_name(c)).collect();
    [FigureKind::Power, FigureKind::Prices, FigureKind::Operation]
        .into_iter()
        .find_map(|kind| {
            let cols = kind.columns();
            if names.len() != cols.len() {
                return None;
            }
            let at: Option<Vec<usize>> = cols
                .iter()
                .map(|c| names.iter().position(|n| n == c))
                .collect();
            at.map(|at| (kind, at))
        })
}

/// Parses a whole file. Either every row is good and the figures come back, or every bad row
/// (and a bad header or an empty file) is reported with its line number and nothing is kept.
pub fn parse_csv(text: &str) -> Result<Figures, Vec<LineError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((header_line, header)) = lines.next() else {
        return Err(vec![LineError {
            line: 1,
            error: CsvError::Empty,
        }]);
    };
    let sep = if header.contains('\t') && !header.contains(',') {
        '\t'
    } else {
        ','
    };
    let header_cells = match cells(header, sep) {
        Ok(mut c) => {
            while c.last().is_some_and(String::is_empty) {
                c.pop();
            }
            c
        }
        Err(error) => {
            return Err(vec![LineError {
                line: header_line,
                error,
            }]);
        }
    };
    let Some((kind, at)) = header_kind(&header_cells) else {
        return Err(vec![LineError {
            line: header_line,
            error: CsvError::UnknownHeader(header.trim().chars().take(120).collect()),
        }]);
    };
    let width = at.len();

    let mut errors = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut power = Vec::new();
    let mut prices = Vec::new();
    let mut operation = Vec::new();
    let mut rows = 0usize;
    for (line, text) in lines {
        let mut row = match cells(text, sep) {
            Ok(r) => r,
            Err(error) => {
                errors.push(LineError { line, error });
                continue;
            }
        };
        // Spreadsheets pad rows with empty cells; a row of nothing but separators is blank.
        while row.len() > width && row.last().is_some_and(String::is_empty) {
            row.pop();
        }
        if row.iter().all(String::is_empty) {
            continue;
        }
        rows += 1;
        if rows > MAX_ROWS {
            errors.push(LineError {
                line,
                error: CsvError::TooManyRows,
            });
            break;
        }
        if row.len() != width {
            errors.push(LineError {
                line,
                error: CsvError::Columns {
                    expected: width,
                    found: row.len(),
                },
            });
            continue;
        }
        let cell = |i: usize| row[at[i]].as_str();
        let parsed = match kind {
            FigureKind::Power => parse_day(cell(0)).and_then(|day| {
                let kwh = parse_amount("power_kwh", cell(1))?;
                power.push((day, kwh));
                Ok(day.to_string())
            }),
            FigureKind::Prices => parse_week(cell(0)).and_then(|week| {
                let product = parse_product(cell(1))?;
                let price = parse_amount("price", cell(2))?;
                let key = format!("{week} {product}");
                prices.push((week, product, price));
                Ok(key)
            }),
            FigureKind::Operation => parse_month(cell(0)).and_then(|month| {
                let figures = OperationFigures {
                    output_value: parse_amount("output_value", cell(1))?,
                    revenue: parse_amount("revenue", cell(2))?,
                    employees: parse_count("employees", cell(3))?,
                };
                operation.push((month, figures));
                Ok(month.to_string())
            }),
        };
        match parsed {
            Ok(period) => {
                if let Some(first_line) = seen.get(&period) {
                    errors.push(LineError {
                        line,
                        error: CsvError::Duplicate {
                            period,
                            first_line: *first_line,
                        },
                    });
                } else {
                    seen.insert(period, line);
                }
            }
            Err(error) => errors.push(LineError { line, error }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if rows == 0 {
        return Err(vec![LineError {
            line: header_line,
            error: CsvError::NoRows,
        }]);
    }
    Ok(match kind {
        FigureKind::Power => Figures::Power(power),
        FigureKind::Prices => Figures::Prices(prices),
        FigureKind::Operation => Figures::Operation(operation),
    })
}

impl Figures {
    /// The kind of figures.
    pub fn kind(&self) -> FigureKind {
        match self {
            Figures::Power(_) => FigureKind::Power,
            Figures::Prices(_) => FigureKind::Prices,
            Figures::Operation(_) => FigureKind::Operation,
        }
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        match self {
            Figures::Power(v) => v.len(),
            Figures::Prices(v) => v.len(),
            Figures::Operation(v) => v.len(),
        }
    }

    /// Whether there are no rows (never, for what [`parse_csv`] returns).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first and last period, as text (`2026-10-01`, `2026-W40`, `2026-10`).
    pub fn span(&self) -> Option<(String, String)> {
        let periods: Vec<String> = match self {
            Figures::Power(v) => v.iter().map(|(d, _)| d.to_string()).collect(),
            Figures::Prices(v) => v.iter().map(|(w, _, _)| w.to_string()).collect(),
            Figures::Operation(v) => v.iter().map(|(m, _)| m.to_string()).collect(),
        };
        let min = periods.iter().min()?.clone();
        let max = periods.iter().max()?.clone();
        Some((min, max))
    }

    /// How these figures compare with those `recorded`.
    pub fn effect_on(&self, recorded: &Monitoring) -> ImportEffect {
        let mut effect = ImportEffect::default();
        let mut count = |old: Option<bool>| match old {
            None => effect.new += 1,
            Some(true) => effect.unchanged += 1,
            Some(false) => effect.changed += 1,
        };
        match self {
            Figures::Power(v) => {
                for (day, kwh) in v {
                    count(recorded.power.get(day).map(|old| old == kwh));
                }
            }
            Figures::Prices(v) => {
                for (week, product, price) in v {
                    count(
                        recorded
                            .prices
                            .get(week)
                            .and_then(|w| w.get(product))
                            .map(|old| old == price),
                    );
                }
            }
            Figures::Operation(v) => {
                for (month, figures) in v {
                    count(recorded.operation.get(month).map(|old| old == figures));
                }
            }
        }
        effect
    }

    /// Writes every figure through `edit` (inside one change of the monitoring document).
    pub fn write(&self, edit: &mut MonitoringEdit<'_, '_>) -> Result<(), DocError> {
        match self {
            Figures::Power(v) => {
                for (day, kwh) in v {
                    edit.record_power(*day, *kwh)?;
                }
            }
            Figures::Prices(v) => {
                for (week, product, price) in v {
                    edit.record_price(*week, product, *price)?;
                }
            }
            Figures::Operation(v) => {
                for (month, figures) in v {
                    edit.record_operation(*month, figures)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::MonitoringDoc;
    use crate::model::{Actor, DeviceId, EnterpriseId, Role, Timestamp, UserId};

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("test date")
    }

    fn errors(text: &str) -> Vec<LineError> {
        match parse_csv(text) {
            Ok(f) => panic!("expected the file to be refused, got {f:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_daily_power_file_parses_every_row_in_order() {
        let figures = parse_csv("date,power_kwh\n2026-11-01,12800\n2026-11-02,12650.5\n")
            .expect("a good file");
        assert_eq!(
            figures,
            Figures::Power(vec![
                (day("2026-11-01"), 12_800.0),
                (day("2026-11-02"), 12_650.5)
            ])
        );
    }

    #[test]
    fn a_spreadsheet_export_with_bom_crlf_chinese_header_units_and_slashes_parses() {
        let text = "\u{feff}日期,用电量(kWh),,\r\n2026/11/01,\"12,800\",,\r\n\r\n,,,\r\n2026/11/2,9000,,\r\n";
        let figures = parse_csv(text).expect("an Excel-style file");
        assert_eq!(
            figures,
            Figures::Power(vec![
                (day("2026-11-01"), 12_800.0),
                (day("2026-11-02"), 9_000.0)
            ])
        );
    }

    #[test]
    fn cells_pasted_from_a_spreadsheet_are_tab_separated_and_columns_may_be_reordered() {
        let text = "price\tweek\tproduct\n3650\t2026-W45\t螺纹钢\n3700\t2026-w46\t螺纹钢\n";
        let figures = parse_csv(text).expect("tab-separated prices");
        let w45 = IsoWeek::parse("2026-W45").expect("week");
        let w46 = IsoWeek::parse("2026-W46").expect("week");
        assert_eq!(
            figures,
            Figures::Prices(vec![
                (w45, "螺纹钢".into(), 3_650.0),
                (w46, "螺纹钢".into(), 3_700.0)
            ])
        );
    }

    #[test]
    fn a_quoted_product_name_may_hold_commas_and_quotes() {
        let figures = parse_csv("week,product,price\n2026-W45,\"钢材, \"\"HRB400\"\"\",3650\n")
            .expect("quoted product");
        let Figures::Prices(rows) = figures else {
            panic!("prices expected");
        };
        assert_eq!(rows[0].1, "钢材, \"HRB400\"");
    }

    #[test]
    fn monthly_operation_figures_need_all_three_columns() {
        let figures = parse_csv(
            "month,output_value,revenue,employees\n2026-09,1520.5,1380,214\n2026-10,1490,1402.25,210\n",
        )
        .expect("operation file");
        let Figures::Operation(rows) = figures else {
            panic!("operation expected");
        };
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].0.to_string(), "2026-10");
        assert_eq!(
            rows[1].1,
            OperationFigures {
                output_value: 1_490.0,
                revenue: 1_402.25,
                employees: 210
            }
        );
        let e = errors("month,output_value,revenue\n2026-09,1,2\n");
        assert!(matches!(e[0].error, CsvError::UnknownHeader(_)), "{e:?}");
    }

    #[test]
    fn one_bad_row_rejects_the_whole_file_and_every_bad_row_is_named_by_its_line() {
        let text = "date,power_kwh\n2026-11-01,12800\n2026-11-31,12000\n2026-11-03,-5\n\n2026-11-04,abc\n2026-11-05,9000\n";
        let e = errors(text);
        let lines: Vec<usize> = e.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 6], "blank line 5 still counts: {e:?}");
        assert_eq!(e[0].error, CsvError::BadDate("2026-11-31".into()));
        assert_eq!(
            e[1].error,
            CsvError::BadNumber {
                column: "power_kwh",
                value: "-5".into()
            }
        );
        assert_eq!(
            e[2].to_string(),
            "line 6: power_kwh: \"abc\" is not a non-negative number"
        );
    }

    #[test]
    fn rows_with_the_wrong_number_of_cells_or_an_open_quote_are_refused() {
        let e = errors("week,product,price\n2026-W45,钢材\n2026-W46,\"钢材,3650\n");
        assert_eq!(
            e,
            vec![
                LineError {
                    line: 2,
                    error: CsvError::Columns {
                        expected: 3,
                        found: 2
                    }
                },
                LineError {
                    line: 3,
                    error: CsvError::UnclosedQuote
                }
            ]
        );
    }

    #[test]
    fn the_same_period_twice_is_refused_with_the_line_it_first_appeared_on() {
        let e = errors("date,power_kwh\n2026-11-01,1\n2026-11-02,2\n2026/11/01,3\n");
        assert_eq!(
            e,
            vec![LineError {
                line: 4,
                error: CsvError::Duplicate {
                    period: "2026-11-01".into(),
                    first_line: 2
                }
            }]
        );
        // Two products in the same week are two figures, not a duplicate.
        assert!(parse_csv("week,product,price\n2026-W45,A,1\n2026-W45,B,2\n").is_ok());
    }

    #[test]
    fn an_empty_file_an_unknown_header_and_a_header_alone_are_refused_clearly() {
        assert_eq!(errors("\n  \n")[0].error, CsvError::Empty);
        let e = errors("\nfoo,bar\n1,2\n");
        assert_eq!(e[0].line, 2);
        assert_eq!(e[0].error, CsvError::UnknownHeader("foo,bar".into()));
        assert_eq!(
            errors("date,power_kwh\n"),
            vec![LineError {
                line: 1,
                error: CsvError::NoRows
            }]
        );
    }

    #[test]
    fn cells_refuse_impossible_dates_infinity_nan_exponents_and_fractions_of_people() {
        for bad in ["inf", "NaN", "1e5", "", "1.2.3", "-0.5", "五"] {
            assert!(parse_amount("price", bad).is_err(), "{bad:?} accepted");
        }
        for bad in [
            "2026-11",
            "26-11-01",
            "2026-11-01-01",
            "2026-111-01",
            "2026-02-30",
            "x",
        ] {
            assert!(parse_day(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(parse_day(" 2026/2/3 "), Ok(day("2026-02-03")));
        assert_eq!(parse_amount("price", " +1,234.5 "), Ok(1_234.5));
        assert_eq!(parse_count("employees", "1,200"), Ok(1_200));
        assert!(parse_count("employees", "12.5").is_err());
        assert!(parse_count("employees", "-3").is_err());
    }

    #[test]
    fn more_than_the_row_limit_is_refused() {
        let mut text = String::from("date,power_kwh\n");
        let start = day("2000-01-01");
        for i in 0..=MAX_ROWS as u64 {
            text.push_str(&format!("{},1\n", start + chrono::Days::new(i)));
        }
        let e = errors(&text);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].error, CsvError::TooManyRows);
        assert_eq!(e[0].line, MAX_ROWS + 2);
    }

    #[test]
    fn an_imported_file_is_written_as_one_change_and_compared_with_what_was_recorded() {
        let enterprise = EnterpriseId::from_random_bytes([3; 16]);
        let actor = Actor {
            user: UserId::from_random_bytes([1; 16]),
            device: DeviceId::from_random_bytes([2; 16]),
            role: Role::Officer,
        };
        let actor_id = automerge::ActorId::from([9u8; 16].as_slice());
        let mut doc =
            MonitoringDoc::create(enterprise, &actor, actor_id, Timestamp(1)).expect("create");
        doc.edit(&actor, Timestamp(2), |e| {
            e.record_power(day("2026-11-01"), 100.0)?;
            e.record_power(day("2026-11-02"), 200.0)
        })
        .expect("edit");
        let before = doc.read().expect("read");
        let changes_before = doc.record().automerge().get_changes(&[]).len();

        let figures = parse_csv("date,power_kwh\n2026-11-01,100\n2026-11-02,250\n2026-11-03,300\n")
            .expect("good file");
        assert_eq!(
            figures.effect_on(&before),
            ImportEffect {
                new: 1,
                changed: 1,
                unchanged: 1
            }
        );
        doc.edit(&actor, Timestamp(3), |e| figures.write(e))
            .expect("import");
        assert_eq!(
            doc.record().automerge().get_changes(&[]).len(),
            changes_before + 1
        );
        let after = doc.read().expect("read");
        assert_eq!(after.power.len(), 3);
        assert_eq!(after.power[&day("2026-11-02")], 250.0);
    }
}
