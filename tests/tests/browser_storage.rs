//! The phone's storage layout, in headless Chromium: what a synced officer's phone holds in
//! IndexedDB is the layout phones in the field already have (database `lianxin` version 2; the
//! stores `docs`, `heads`, `acked`, `refused`, `meta`; document ids as keys; bytes as
//! `Uint8Array`; heads as 32-byte hashes concatenated; the feed position as numbers). A new
//! app must open what an older one stored, so any change to it needs a database version and
//! an upgrade step (client/src/infra/db.rs).

use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;
use server::AppState;
use tests::browser::{Browser, Chromedriver, Link, Served, require_site};
use tests::district;

const WAIT: Duration = Duration::from_secs(40);
const OFFICER: &str = "zhao.lei";

/// Reads the app's database as another page script would: its version, and per store each
/// key with a description of its value (`{"bytes": n}` for a `Uint8Array`, the sorted field
/// names for an object, else the value itself).
const READ_DATABASE: &str = r"
return new Promise((resolve, reject) => {
  const open = indexedDB.open('lianxin');
  open.onerror = () => reject(String(open.error));
  open.onsuccess = () => {
    const db = open.result;
    const names = Array.from(db.objectStoreNames);
    const out = { version: db.version, stores: {} };
    const tx = db.transaction(names, 'readonly');
    for (const name of names) {
      const store = tx.objectStore(name);
      const keys = store.getAllKeys();
      const values = store.getAll();
      values.onsuccess = () => {
        out.stores[name] = keys.result.map((key, i) => {
          const v = values.result[i];
          const described = v instanceof Uint8Array ? { bytes: v.length }
            : (v !== null && typeof v === 'object') ? { fields: Object.keys(v).sort() } : v;
          return [key, described];
        });
      };
    }
    tx.oncomplete = () => { db.close(); resolve(out); };
    tx.onerror = () => reject(String(tx.error));
  };
});";

/// A store's entries as (key, described value).
fn entries(database: &Value, store: &str) -> anyhow::Result<Vec<(String, Value)>> {
    database["stores"][store]
        .as_array()
        .with_context(|| format!("the store {store} is listed"))?
        .iter()
        .map(|pair| {
            let key = pair[0]
                .as_str()
                .with_context(|| format!("{store}'s keys are strings: {pair}"))?;
            Ok((key.to_string(), pair[1].clone()))
        })
        .collect()
}

/// The length of a described `Uint8Array` value.
fn bytes(value: &Value) -> Option<u64> {
    value.get("bytes")?.as_u64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synced_phone_keeps_its_records_in_the_layout_phones_already_hold() -> anyhow::Result<()>
{
    let site = require_site()?;
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    let enterprise = service
        .with_store(|s| district::town_officers_with_enterprise(s, &[OFFICER], "豫光金铅"))
        .await
        .context("the store thread stopped")??;
    let served = Served::start(server::app(AppState::new(site, service.clone()))).await?;
    let link = Link::start(served.addr).await?;
    let driver = Chromedriver::start().await?;
    let b = Browser::launch(&driver).await?;
    b.log_in(
        &link.url("/"),
        OFFICER,
        district::PASSWORD,
        ".sync-bar",
        WAIT,
    )
    .await?;
    b.wait_synced("the first sync", WAIT).await?;

    let database = b.js(READ_DATABASE, vec![]).await?;
    assert_eq!(database["version"], 2, "the database version: {database}");
    let mut stores: Vec<&String> = database["stores"]
        .as_object()
        .context("the stores")?
        .keys()
        .collect();
    stores.sort();
    assert_eq!(
        stores,
        ["acked", "docs", "heads", "meta", "refused"],
        "the object stores"
    );

    // Documents: Automerge bytes under `kind/id`, the enterprise's among them.
    let docs = entries(&database, "docs")?;
    let enterprise_key = format!("enterprise/{enterprise}");
    assert!(
        docs.iter().any(|(key, _)| *key == enterprise_key),
        "the enterprise's document is stored under {enterprise_key}: {database}"
    );
    for (key, value) in &docs {
        assert!(
            bytes(value).is_some_and(|n| n > 0),
            "document {key} is stored as bytes: {value}"
        );
    }
    // Heads: one entry per document, hashes of 32 bytes concatenated.
    let heads = entries(&database, "heads")?;
    assert_eq!(
        heads.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        docs.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        "each document's heads are stored under its id"
    );
    for (key, value) in heads.iter().chain(&entries(&database, "acked")?) {
        assert!(
            bytes(value).is_some_and(|n| n > 0 && n % 32 == 0),
            "{key}'s heads are 32-byte hashes: {value}"
        );
    }
    assert!(
        entries(&database, "refused")?.is_empty(),
        "nothing was refused"
    );

    // Meta: the feed position and the time of the last stored sync as numbers, the device's
    // identity and the session as text.
    let meta = entries(&database, "meta")?;
    let value = |name: &str| {
        meta.iter()
            .find(|(key, _)| key == name)
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null)
    };
    for name in ["cursor", "ack", "last_sync"] {
        assert!(value(name).is_number(), "meta {name} is a number: {meta:?}");
    }
    for name in ["device_id", "device_secret", "session"] {
        assert!(value(name).is_string(), "meta {name} is text: {meta:?}");
    }
    b.close().await;
    Ok(())
}
