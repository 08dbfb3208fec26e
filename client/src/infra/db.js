// The IndexedDB calls of client/src/infra/db.rs, as promises: what is stored and why is
// db.rs's. Plain JavaScript because it is much smaller to download than Rust wrappers over
// web-sys's IndexedDB bindings (`cargo xtask build-client` bundles it into each bundle's
// script). Every promise rejects with a text: the error's name and message.

// The text of a failure (a DOMException, an Error, or none for an aborted transaction).
function failure(error) {
  return error ? `${error.name}: ${error.message}` : 'the storage transaction was aborted';
}

// A request's result once it succeeds.
function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(failure(request.error));
  });
}

// Opens database `name` at `version`, creating the object `stores` it lacks (out-of-line
// keys, no indexes).
export async function open(name, version, stores) {
  try {
    const request = indexedDB.open(name, version);
    request.onupgradeneeded = () => {
      const db = request.result;
      for (const store of stores) {
        if (!db.objectStoreNames.contains(store)) {
          db.createObjectStore(store);
        }
      }
    };
    return await done(request);
  } catch (error) {
    throw typeof error === 'string' ? error : failure(error);
  }
}

// Every one of `stores`' keys and values, each in key order, read in one transaction:
// [[keys, values], …] in the order of `stores`.
export async function readAll(db, stores) {
  try {
    const tx = db.transaction(stores, 'readonly');
    return await Promise.all(
      stores.map((name) => {
        const store = tx.objectStore(name);
        return Promise.all([done(store.getAllKeys()), done(store.getAll())]);
      }),
    );
  } catch (error) {
    throw typeof error === 'string' ? error : failure(error);
  }
}

// The value under `key` in `store`, or undefined.
export async function get(db, store, key) {
  try {
    return await done(db.transaction(store, 'readonly').objectStore(store).get(key));
  } catch (error) {
    throw typeof error === 'string' ? error : failure(error);
  }
}

// Applies `ops` in one read-write transaction over `stores` and resolves once it has
// committed; nothing of it is kept if any op fails. Each op is [store, key, value] (a put),
// [store, key] (a delete) or [store] (clear the store).
export async function write(db, stores, ops) {
  let tx;
  try {
    tx = db.transaction(stores, 'readwrite');
  } catch (error) {
    throw failure(error);
  }
  const committed = new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(failure(tx.error));
  });
  try {
    for (const [name, key, value] of ops) {
      const store = tx.objectStore(name);
      if (key === undefined) {
        store.clear();
      } else if (value === undefined) {
        store.delete(key);
      } else {
        store.put(value, key);
      }
    }
  } catch (error) {
    committed.catch(() => {}); // this failure is the one reported
    tx.abort();
    throw failure(error);
  }
  if (tx.commit) {
    tx.commit();
  }
  return committed;
}
