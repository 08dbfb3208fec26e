//! PostgreSQL for tests of servers on it: a throwaway database per test, made on the server at
//! `LIANXIN_TEST_PG` (a URL of a role that may create databases) or
//! `postgres://postgres@127.0.0.1:5432/postgres`, dropped when the test ends, passed or
//! panicked. Without a reachable PostgreSQL the test fails saying so; it is never skipped.
//! (The server's own conformance tests have the same helper, `db/conformance/throwaway.rs`,
//! which is test-only code of that crate.)

use anyhow::Context as _;

/// Where the tests connect when `LIANXIN_TEST_PG` is not set.
const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The URL of the PostgreSQL server the tests use.
fn server_url() -> String {
    std::env::var("LIANXIN_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.to_string())
}

/// A connection to `url`, its connection driven on the current runtime.
///
/// # Errors
/// PostgreSQL is not reachable there.
pub async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .with_context(|| {
            format!(
                "PostgreSQL is needed by this test and is not reachable at {url}: start it \
                 (127.0.0.1:5432 on the project's machines) or set LIANXIN_TEST_PG"
            )
        })?;
    tokio::spawn(connection);
    Ok(client)
}

/// A database made for one test; dropped with this value.
#[derive(Debug)]
pub struct Throwaway {
    name: String,
}

impl Throwaway {
    /// Makes a fresh, empty database.
    ///
    /// # Errors
    /// PostgreSQL is not reachable or refused.
    pub async fn create() -> anyhow::Result<Throwaway> {
        let name = format!("lianxin_test_{:016x}", rand::random::<u64>());
        connect(&server_url())
            .await?
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .with_context(|| format!("creating the test database {name}"))?;
        Ok(Throwaway { name })
    }

    /// The URL of the database.
    pub fn url(&self) -> String {
        let server = server_url();
        let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
        format!("{base}/{}", self.name)
    }
}

impl Drop for Throwaway {
    /// Drops the database, closing what is still connected to it, on a runtime of its own
    /// (this runs while a test unwinds too, inside or outside a runtime).
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let client = connect(&server_url()).await.map_err(|e| e.to_string())?;
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
