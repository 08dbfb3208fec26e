//! A PostgreSQL database made for one test and dropped when the test ends, whether it passed
//! or panicked: `lianxin_test_<hex>` databases do not pile up on the server.

/// Where the PostgreSQL tests connect when `LIANXIN_TEST_PG` is not set.
const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Every throwaway database's name starts so.
const PREFIX: &str = "lianxin_test_";

/// The URL of the PostgreSQL server the tests use (a role that may create databases).
fn url() -> String {
    std::env::var("LIANXIN_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.to_string())
}

/// The PostgreSQL server the tests use, as configured.
fn server() -> tokio_postgres::Config {
    let url = url();
    url.parse()
        .unwrap_or_else(|e: tokio_postgres::Error| unreachable(&url, &e))
}

/// Stops the test: PostgreSQL is needed and not reachable.
fn unreachable(url: &str, e: &tokio_postgres::Error) -> ! {
    // tokio-postgres shows only its kind ("error connecting to server"); the cause says why.
    let cause = std::error::Error::source(e)
        .map(|c| format!(": {c}"))
        .unwrap_or_default();
    panic!(
        "PostgreSQL is needed by the storage conformance tests and is not reachable at {url} \
         ({e}{cause}); start it (it listens on 127.0.0.1:5432 on the project's machines) or set \
         LIANXIN_TEST_PG to a URL of a role that may create databases"
    )
}

/// A connection to the test server's maintenance database.
pub(super) async fn admin() -> tokio_postgres::Client {
    let (client, connection) = server()
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| unreachable(&url(), &e));
    tokio::spawn(connection);
    client
}

/// A database made for one test; dropped with this value.
pub(super) struct Throwaway {
    name: String,
}

impl Throwaway {
    /// Makes a fresh database; it and the configuration to open it.
    pub(super) async fn create() -> (Throwaway, tokio_postgres::Config) {
        Throwaway::create_with("").await
    }

    /// Makes a fresh database whose text collation is Chinese (ICU's `zh-Hans-CN`), as a
    /// province's database may well be made: text sorts by pinyin there, by bytes in SQLite.
    pub(super) async fn create_chinese() -> (Throwaway, tokio_postgres::Config) {
        Throwaway::create_with(
            " TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'zh-Hans-CN' \
             LOCALE 'C.UTF-8'",
        )
        .await
    }

    /// Makes a fresh database with `options` after its name in `CREATE DATABASE`.
    async fn create_with(options: &str) -> (Throwaway, tokio_postgres::Config) {
        let name = format!("{PREFIX}{:016x}", rand::random::<u64>());
        let create = format!("CREATE DATABASE {name}{options}");
        // Reachable (`admin` stops the test otherwise): a refusal here is the statement's.
        admin()
            .await
            .batch_execute(&create)
            .await
            .unwrap_or_else(|e| panic!("{create}: {}", crate::store::StoreError::from(e)));
        let mut config = server();
        config.dbname(&name);
        (Throwaway { name }, config)
    }

    /// The database's name.
    pub(super) fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Throwaway {
    /// Drops the database, closing what is still connected to it. Runs while a panicking test
    /// unwinds too, inside or outside a runtime, so it runs its own on a thread of its own.
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let (client, connection) = server()
                    .connect(tokio_postgres::NoTls)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(connection);
                client.batch_execute(&sql).await.map_err(|e| e.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop the test database {}: {e}", self.name),
            Err(_) => eprintln!("dropping the test database {} panicked", self.name),
        }
    }
}

mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use super::{Throwaway, admin};
    use crate::pg::PgDb;

    #[tokio::test]
    async fn a_test_that_panics_leaves_no_database_behind() {
        let (throwaway, config) = Throwaway::create().await;
        let name = throwaway.name().to_string();
        let db = PgDb::open(config).await.expect("open the test database");
        let outcome = catch_unwind(AssertUnwindSafe(move || {
            let _held = (db, throwaway);
            panic!("this test's own panic, on purpose: a failing test");
        }));
        assert!(outcome.is_err(), "the closure did not panic");
        let left = admin()
            .await
            .query("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .await
            .expect("list the databases");
        assert!(left.is_empty(), "{name} was left behind");
    }
}
