//! Writes the preset deflate dictionaries the store compresses snapshots against
//! (`server/src/store/dictionaries/KIND-N.bin`, see `store/snapshot.rs`): for each document
//! kind, whole documents of that kind from a freshly seeded demo district, newest last, up to
//! `--max-bytes` each (default 8 KiB: a few documents; setting a dictionary costs time per
//! document, and past a few samples it gains little, bench/NOTES.md).
//!
//! ```text
//! cargo run -p server --example snapshot_dictionaries -- --number N [--max-bytes B]
//! ```
//!
//! A dictionary, once rows are stored with it, is frozen: run this only for a new number.

use std::path::PathBuf;

use anyhow::Context as _;
use server::store::SqliteStore;
use shared::doc::DocKind;
use shared::model::Timestamp;
use shared::sync::protocol::DocId;
use shared::sync::server::ServerStore as _;

fn main() -> anyhow::Result<()> {
    let mut number = None;
    let mut max_bytes = 8 * 1024;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--number" => number = Some(value.parse::<u32>()?),
            "--max-bytes" => max_bytes = value.parse()?,
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    let number = number.context("--number N: the dictionary's number")?;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("demo.db");
    let mut store = SqliteStore::open(&db)?;
    // A fixed day, so the same build writes the same bytes.
    server::demo::seed(
        &mut store,
        &shared::config::Config::demo(),
        Timestamp(1_793_491_200_000),
    )?;
    let listing = rusqlite::Connection::open(&db)?;
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/store/dictionaries");
    std::fs::create_dir_all(&out)?;
    for kind in [
        DocKind::Enterprise,
        DocKind::Visit,
        DocKind::Problem,
        DocKind::Monitoring,
    ] {
        let ids: Vec<String> = listing
            .prepare("SELECT doc_id FROM docs WHERE kind = ?1 ORDER BY seq DESC")?
            .query_map([kind.code()], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut samples: Vec<Vec<u8>> = Vec::new();
        let mut total = 0;
        for id in ids {
            let id = DocId::parse(&id)?;
            let doc = store.load_doc(&id)?.context("a listed document")?;
            if total + doc.bytes.len() > max_bytes {
                continue;
            }
            total += doc.bytes.len();
            samples.push(doc.bytes);
        }
        // Newest last: deflate reaches the end of a dictionary with the shortest distances.
        samples.reverse();
        let path = out.join(format!("{}-{number}.bin", kind.code()));
        std::fs::write(&path, samples.concat())?;
        println!(
            "{}: {} documents, {total} bytes",
            path.display(),
            samples.len()
        );
    }
    Ok(())
}
