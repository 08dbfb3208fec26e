//! The SQL both backends run as one text (issue 16 item 3): statements written once with `?`
//! (or `?N`) placeholders and values of one kind ([`Value`], SQLite's), run by [`Sql`] on a
//! SQLite connection ([`Lite`]) or on a PostgreSQL transaction or connection
//! (`pg/sql.rs`, which numbers the placeholders and binds each value as the type PostgreSQL
//! inferred for its place). What the query tables hold (`store/projection.rs`) and what the
//! KPIs and lists count (`store/kpi.rs`, `problems_query.rs`, `visits_query.rs`) are written
//! against it, so each rule is in one place; the few spellings the two databases do not share
//! are [`Dialect`]'s.

use rusqlite::{Connection, params_from_iter};

pub(crate) use rusqlite::types::Value;

use super::StoreError;

/// The database a statement runs on, for the few spellings the two do not share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// A subquery giving the texts of the JSON array bound to its one `?`, in a column named
    /// `value`.
    pub(crate) fn json_texts(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SELECT value FROM json_each(?)",
            Dialect::Postgres => "SELECT value FROM json_array_elements_text((?)::TEXT::JSON)",
        }
    }

    /// The values of `expr` over a group's rows, joined by `separator`'s character code.
    pub(crate) fn joined(self, expr: &str, separator: u8) -> String {
        match self {
            Dialect::Sqlite => format!("group_concat({expr}, char({separator}))"),
            Dialect::Postgres => format!("string_agg({expr}, chr({separator}))"),
        }
    }

    /// The character with code `code`, as an SQL expression.
    pub(crate) fn char(self, code: u8) -> String {
        match self {
            Dialect::Sqlite => format!("char({code})"),
            Dialect::Postgres => format!("chr({code})"),
        }
    }

    /// The person column of the assignments or devices table aliased `alias` (`user` is a
    /// reserved word in PostgreSQL, whose tables name it `user_id`).
    pub(crate) fn person(self, alias: &str) -> String {
        match self {
            Dialect::Sqlite => format!("{alias}.user"),
            Dialect::Postgres => format!("{alias}.user_id"),
        }
    }

    /// A text expression compared by its bytes (code points), as SQLite compares text: what
    /// an `ORDER BY` on text uses, so both backends list rows in one order whatever
    /// PostgreSQL database's collation (a `zh_CN` one orders names by pinyin).
    pub(crate) fn bytewise(self, expr: &str) -> String {
        match self {
            Dialect::Sqlite => expr.to_string(),
            Dialect::Postgres => format!("{expr} COLLATE \"C\""),
        }
    }

    /// The month (`YYYY-MM`, UTC) of the instant `ms + ?` milliseconds after the epoch, the
    /// `?` an offset in milliseconds (a time zone's, to count months there).
    pub(crate) fn month_of(self, ms: &str) -> String {
        match self {
            Dialect::Sqlite => format!("strftime('%Y-%m', ({ms} + ?) / 1000, 'unixepoch')"),
            Dialect::Postgres => format!(
                "to_char(to_timestamp((({ms} + ?) / 1000)::DOUBLE PRECISION) AT TIME ZONE 'UTC', \
                 'YYYY-MM')"
            ),
        }
    }

    /// What ends a `SELECT` that locks the rows it reads until the transaction ends, against
    /// other servers' writers (PostgreSQL's `FOR UPDATE`); nothing on SQLite, whose one writer
    /// already excludes every other.
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// What ends a claim's `SELECT` of rows of the table aliased `alias` that it is about to
    /// update: on PostgreSQL the rows are locked until the claim commits and rows another
    /// claim holds are skipped (`FOR UPDATE OF alias SKIP LOCKED`), so two servers claiming
    /// at once take different rows and neither waits; nothing on SQLite, whose claim holds the
    /// one writer from its start (`BEGIN IMMEDIATE`).
    pub(crate) fn claim_lock(self, alias: &str) -> String {
        match self {
            Dialect::Sqlite => String::new(),
            Dialect::Postgres => format!(" FOR UPDATE OF {alias} SKIP LOCKED"),
        }
    }

    /// Whether the text column `column` contains the text bound to the one `?`, character
    /// for character (no pattern, no case folded): SQLite's `instr`, PostgreSQL's `strpos`.
    pub(crate) fn contains(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => format!("instr({column}, ?) > 0"),
            Dialect::Postgres => format!("strpos({column}, ?) > 0"),
        }
    }

    /// A text column the planner must not look up through its index (SQLite reads `+col` so).
    pub(crate) fn unindexed(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => format!("+{column}"),
            Dialect::Postgres => column.to_string(),
        }
    }
}

/// One row as values, in the statement's column order.
#[derive(Debug, Clone)]
pub(crate) struct SqlRow(pub(crate) Vec<Value>);

impl SqlRow {
    fn at(&self, i: usize) -> Result<&Value, StoreError> {
        self.0.get(i).ok_or_else(|| StoreError::Corrupt {
            table: "query",
            detail: format!("no column {i}"),
        })
    }

    fn wrong(&self, i: usize, want: &str) -> StoreError {
        StoreError::Corrupt {
            table: "query",
            detail: format!("column {i} is {:?}, not {want}", self.0.get(i)),
        }
    }

    /// An integer column, maybe NULL.
    pub(crate) fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Integer(n) => Ok(Some(*n)),
            _ => Err(self.wrong(i, "an integer")),
        }
    }

    /// An integer column.
    pub(crate) fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.opt_int(i)?.ok_or_else(|| self.wrong(i, "an integer"))
    }

    /// A count or sum: NULL (a sum over no rows) and negatives read as 0.
    pub(crate) fn count(&self, i: usize) -> Result<u64, StoreError> {
        Ok(self.opt_int(i)?.unwrap_or(0).max(0).unsigned_abs())
    }

    /// A 0/1 column.
    pub(crate) fn flag(&self, i: usize) -> Result<bool, StoreError> {
        Ok(self.int(i)? != 0)
    }

    /// A 0/1 column, maybe NULL.
    pub(crate) fn opt_flag(&self, i: usize) -> Result<Option<bool>, StoreError> {
        Ok(self.opt_int(i)?.map(|n| n != 0))
    }

    /// A real column, maybe NULL (an integer reads as its value).
    pub(crate) fn opt_real(&self, i: usize) -> Result<Option<f64>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Real(x) => Ok(Some(*x)),
            Value::Integer(n) => Ok(Some(*n as f64)),
            _ => Err(self.wrong(i, "a number")),
        }
    }

    /// A text column, maybe NULL.
    pub(crate) fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Text(t) => Ok(Some(t.clone())),
            _ => Err(self.wrong(i, "a text")),
        }
    }

    /// A text column.
    pub(crate) fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i)?.ok_or_else(|| self.wrong(i, "a text"))
    }

    /// A blob column.
    pub(crate) fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        match self.at(i)? {
            Value::Blob(b) => Ok(b.clone()),
            _ => Err(self.wrong(i, "a blob")),
        }
    }

    /// A note column as text: SQLite keeps long ones deflated (`store/packed_text.rs`).
    pub(crate) fn note(&self, i: usize) -> Result<String, StoreError> {
        super::packed_text::unpack(self.at(i)?.into(), "query")
    }
}

/// A connection or transaction that runs the statements written once for both backends.
pub(crate) trait Sql {
    /// Which database it is.
    fn dialect(&self) -> Dialect;

    /// Runs a statement; how many rows it changed.
    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError>;

    /// Runs a query; its rows.
    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<SqlRow>, StoreError>;

    /// Runs a query; its first row, if any.
    fn query_opt(&self, sql: &str, params: &[Value]) -> Result<Option<SqlRow>, StoreError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// Runs a query that gives one row.
    fn query_one(&self, sql: &str, params: &[Value]) -> Result<SqlRow, StoreError> {
        self.query_opt(sql, params)?
            .ok_or_else(|| StoreError::Corrupt {
                table: "query",
                detail: "no row where one was due".into(),
            })
    }

    /// A note's text as this database keeps it (SQLite deflates long ones,
    /// `store/packed_text.rs`; PostgreSQL compresses values itself).
    fn note(&self, text: &str) -> Value {
        Value::Text(text.to_string())
    }
}

/// A SQLite connection (or transaction) as [`Sql`].
pub(crate) struct Lite<'a>(pub(crate) &'a Connection);

impl Sql for Lite<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let n = self
            .0
            .prepare_cached(sql)?
            .execute(params_from_iter(params.iter()))?;
        Ok(n as u64)
    }

    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<SqlRow>, StoreError> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(params_from_iter(params.iter()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let values = (0..columns)
                .map(|i| r.get::<_, Value>(i))
                .collect::<Result<_, _>>()?;
            out.push(SqlRow(values));
        }
        Ok(out)
    }

    fn note(&self, text: &str) -> Value {
        super::packed_text::pack(text)
    }
}

/// Values for a statement's parameters, as an array: `Value::from` of each.
macro_rules! values {
    ($($v:expr),* $(,)?) => {
        [$($crate::store::sql::Value::from($v)),*]
    };
}
pub(crate) use values;
