//! The statements both backends share (`store/sql.rs`) on PostgreSQL: [`PgSql`] runs them on
//! a connection or transaction of the pool from a blocking thread (each with
//! [`Handle::block_on`], as the sync store runs its own), numbering the `?` placeholders
//! `$1, $2, …` and binding each value as the type PostgreSQL inferred for its place.

use deadpool_postgres::GenericClient;
use tokio::runtime::Handle;
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

use crate::store::StoreError;
use crate::store::sql::{Dialect, Sql, SqlRow, Value};

/// A connection or transaction of the pool as [`Sql`]. Use it from a blocking thread only.
pub(crate) struct PgSql<'a, C> {
    pub(crate) client: &'a C,
    pub(crate) runtime: &'a Handle,
}

/// `sql` with its `?` and `?N` placeholders as PostgreSQL's `$N` (a bare `?` takes the next
/// number); quoted text is left as it is.
pub(crate) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut next = 0usize;
    let mut quoted: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (Some(q), c) if c == q => {
                quoted = None;
                out.push(c);
            }
            (Some(_), c) => out.push(c),
            (None, '\'' | '"') => {
                quoted = Some(c);
                out.push(c);
            }
            (None, '?') => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    next += 1;
                    digits = next.to_string();
                }
                out.push('$');
                out.push_str(&digits);
            }
            (None, c) => out.push(c),
        }
    }
    out
}

fn unbindable(value: &Value, ty: &Type) -> StoreError {
    StoreError::Invalid(format!("{value:?} cannot be bound as {ty}"))
}

/// `value` as the Rust type that encodes PostgreSQL's `ty`.
fn bind(value: &Value, ty: &Type) -> Result<Box<dyn ToSql + Sync + Send>, StoreError> {
    let int = |n: i64| -> Result<Box<dyn ToSql + Sync + Send>, StoreError> {
        Ok(match *ty {
            Type::INT8 => Box::new(n),
            Type::INT4 => Box::new(i32::try_from(n).map_err(|_| unbindable(value, ty))?),
            Type::INT2 => Box::new(i16::try_from(n).map_err(|_| unbindable(value, ty))?),
            Type::FLOAT8 => Box::new(n as f64),
            Type::BOOL => Box::new(n != 0),
            _ => return Err(unbindable(value, ty)),
        })
    };
    Ok(match value {
        Value::Null => match *ty {
            Type::INT8 => Box::new(None::<i64>),
            Type::INT4 => Box::new(None::<i32>),
            Type::INT2 => Box::new(None::<i16>),
            Type::FLOAT8 => Box::new(None::<f64>),
            Type::FLOAT4 => Box::new(None::<f32>),
            Type::BOOL => Box::new(None::<bool>),
            Type::BYTEA => Box::new(None::<Vec<u8>>),
            _ => Box::new(None::<String>),
        },
        Value::Integer(n) => int(*n)?,
        Value::Real(x) => match *ty {
            Type::FLOAT8 => Box::new(*x),
            Type::FLOAT4 => Box::new(*x as f32),
            _ => return Err(unbindable(value, ty)),
        },
        Value::Text(t) => match *ty {
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                Box::new(t.clone())
            }
            _ => return Err(unbindable(value, ty)),
        },
        Value::Blob(b) => match *ty {
            Type::BYTEA => Box::new(b.clone()),
            _ => return Err(unbindable(value, ty)),
        },
    })
}

/// Column `i` of `row` as a value of the shared kind.
fn column(row: &Row, i: usize) -> Result<Value, StoreError> {
    let ty = row.columns()[i].type_();
    let value = match *ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Integer),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map(|n| Value::Integer(n.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)?
            .map(|n| Value::Integer(n.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)?
            .map(|b| Value::Integer(b.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(Value::Real),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(i)?
            .map(|x| Value::Real(x.into())),
        Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Blob),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            row.try_get::<_, Option<String>>(i)?.map(Value::Text)
        }
        _ => {
            return Err(StoreError::Corrupt {
                table: "query",
                detail: format!("column {i} of type {ty}, which the shared statements never read"),
            });
        }
    };
    Ok(value.unwrap_or(Value::Null))
}

/// A row as values of the shared kind.
pub(crate) fn row(row: &Row) -> Result<SqlRow, StoreError> {
    (0..row.len())
        .map(|i| column(row, i))
        .collect::<Result<_, _>>()
        .map(SqlRow)
}

impl<C: GenericClient> PgSql<'_, C> {
    /// Prepares `sql` (cached per connection) and binds `params` to it.
    async fn prepared(
        &self,
        sql: &str,
        params: &[Value],
    ) -> Result<(tokio_postgres::Statement, Vec<Box<dyn ToSql + Sync + Send>>), StoreError> {
        let statement = self.client.prepare_cached(&numbered(sql)).await?;
        let types = statement.params();
        if types.len() != params.len() {
            return Err(StoreError::Invalid(format!(
                "{} values for {} parameters of {sql}",
                params.len(),
                types.len()
            )));
        }
        let bound = params
            .iter()
            .zip(types)
            .map(|(v, ty)| bind(v, ty))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((statement, bound))
    }
}

fn refs(bound: &[Box<dyn ToSql + Sync + Send>]) -> Vec<&(dyn ToSql + Sync)> {
    bound.iter().map(|b| &**b as &(dyn ToSql + Sync)).collect()
}

impl<C: GenericClient> Sql for PgSql<'_, C> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        self.runtime.block_on(async {
            let (statement, bound) = self.prepared(sql, params).await?;
            Ok(self.client.execute(&statement, &refs(&bound)).await?)
        })
    }

    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<SqlRow>, StoreError> {
        self.runtime.block_on(async {
            let (statement, bound) = self.prepared(sql, params).await?;
            let rows = self.client.query(&statement, &refs(&bound)).await?;
            rows.iter().map(row).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn placeholders_are_numbered_outside_quotes() {
        assert_eq!(
            numbered("SELECT ? , '?', \"a?\", ?7, ? FROM t WHERE x = ?"),
            "SELECT $1 , '?', \"a?\", $7, $2 FROM t WHERE x = $3"
        );
    }
}
