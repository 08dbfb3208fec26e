// Photos and the enterprise's signature on the phone (issue 14): the browser-heavy half, in
// plain JS so the wasm stays small.
// The app (client/src/infra/photos.rs) calls `globalThis.lxp`:
//
// - `pick(input)`: each chosen file must be an image (else rejects 'type'); it is decoded with
//   its orientation applied, downscaled to at most 1600 px on its longest edge, encoded as
//   JPEG 0.8, named by its SHA-256 and stored in the IndexedDB database `lianxin-photos`
//   (apart from the records' database) before the record refers to it. A full quota rejects
//   'quota' and stores nothing of that photo. Resolves with one line per photo:
//   `hash size taken-at-ms`.
// - `up(token, hashes)`: uploads the stored photos among `hashes` (the photos of records the
//   server has) that the server does not have yet, one after the other, on tus 1.0 at
//   /api/uploads: POST creates (Upload-Length, Upload-Metadata sha256 and filetype), PATCH
//   sends chunks from the server's offset with Upload-Checksum; after a cut (or a reload) HEAD
//   asks the server for its offset and the upload continues there, so no acknowledged byte is
//   sent again. The chunk is what the link carries in about 3 s, as the last acknowledged
//   PATCH measured it (16 KiB to 256 KiB; 64 KiB to begin), so a cut costs at most about one
//   chunk; it halves after a failure. A failure retries after 3 s, doubling to a minute; any
//   acknowledged PATCH brings the pause back to 3 s.
// - `st()`: '' or 'n/m' while photo n of m uploads; `on(f)`: f is called when that changes.
// - `un(hashes)`: how many of `hashes` are stored here and not yet taken by the server (the
//   logout guard: a logout would lose them).
// - `sig(id)`: the signature drawn on the pad `.sig#id` as a PNG, stored and named like a
//   photo (and uploaded like one once a record references it), with the signer's name from
//   the pad's input `#id-name`: resolves `hash size name`; rejects 'none' when nothing is
//   drawn, 'name' without a name, 'quota', 'store'. Every `.sig[data-t]` element the app
//   renders is made a pad here (its words in data-t, `|`-separated): the name field, the
//   canvas where a finger (any pointer) draws black on white, and a button that wipes it.
// - `wipe()`: deletes the photo database (a revoked device's wipe, a logout).
//
// Every element `.ph[data-h=<hash>]` with an <img> inside gets its picture: from this device's
// store, else the server's thumbnail (GET /api/blobs/<hash>?size=thumb with the token), which
// is then kept in the store too (so it shows offline); a 404 there (the photo is still on the
// officer's phone) sets data-s="up", which the stylesheet shows as the element's data-t text.
// The store is budgeted (`localStorage.lxpb` bytes, else 100 MB): past it, the photos
// the server has (others' cached thumbnails, this officer's sent photos) go, least recently
// shown first; photos not yet sent are never evicted. An evicted photo is fetched again when
// shown.
'use strict';

const DB = 'lianxin-photos';
const S = 'p';
let dbp = null;
let tok = '';
let want = [];
let run = null;
let again = false;
let prog = '';
let onp = () => {};
let chunk = 65536;
let pause = 3000;
const urls = {};
// Hashes the server has taken: later rounds skip them without reading their bytes again.
const sent = new Set();

function db() {
  if (!dbp) {
    dbp = new Promise((ok, no) => {
      const r = indexedDB.open(DB, 1);
      r.onupgradeneeded = () => r.result.createObjectStore(S);
      r.onsuccess = () => ok(r.result);
      r.onerror = () => no(r.error);
    });
    dbp.catch(() => (dbp = null));
  }
  return dbp;
}

// One transaction on the store; resolves with the request's result once committed.
function tx(mode, f) {
  return db().then(
    (d) =>
      new Promise((ok, no) => {
        const t = d.transaction(S, mode);
        const q = f(t.objectStore(S));
        t.oncomplete = () => ok(q.result);
        t.onerror = t.onabort = () => no(t.error);
      }),
  );
}
const get = (h) => tx('readonly', (s) => s.get(h));
const put = (h, v) => tx('readwrite', (s) => s.put(v, h));

const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
const sha = async (blob) => crypto.subtle.digest('SHA-256', await blob.arrayBuffer());

async function prep(f) {
  if (!/^image\//.test(f.type)) throw 'type';
  let bm;
  try {
    bm = await createImageBitmap(f, { imageOrientation: 'from-image' });
  } catch (e) {
    throw 'type';
  }
  const k = Math.min(1, 1600 / Math.max(bm.width, bm.height));
  const c = document.createElement('canvas');
  c.width = Math.max(1, Math.round(bm.width * k));
  c.height = Math.max(1, Math.round(bm.height * k));
  c.getContext('2d').drawImage(bm, 0, 0, c.width, c.height);
  bm.close();
  const b = await new Promise((ok) => c.toBlob(ok, 'image/jpeg', 0.8));
  if (!b) throw 'type';
  return (await keep(b, 'image/jpeg')) + ' ' + (f.lastModified || Date.now());
}

// Stores blob b (type t) by its SHA-256, unless stored already: 'hash size'.
async function keep(b, t) {
  const h = hex(await sha(b));
  try {
    if (!(await get(h))) await put(h, { b, t, n: b.size, u: '', d: 0 });
  } catch (e) {
    throw e && e.name === 'QuotaExceededError' ? 'quota' : 'store';
  }
  urls[h] = urls[h] || URL.createObjectURL(b);
  fit().catch(() => {});
  return h + ' ' + b.size;
}

// Evicts the photos the server has, least recently shown first, until the store is within
// its budget.
async function fit() {
  let ks;
  const vs = await tx('readonly', (s) => ((ks = s.getAllKeys()), s.getAll()));
  let n = vs.reduce((t, e) => t + e.n, 0);
  const old = ks.result.map((k, i) => [k, vs[i]]).filter((x) => x[1].d).sort((x, y) => (x[1].a || 0) - (y[1].a || 0));
  for (const [h, e] of old) {
    if (n <= (+localStorage.lxpb || 1e8)) break;
    await tx('readwrite', (s) => s.delete(h));
    n -= e.n;
    URL.revokeObjectURL(urls[h]);
    delete urls[h];
  }
}

// Fills d with a signature pad; the canvas's data-n is set once something is drawn.
function pad(d) {
  d.dataset.w = 1;
  const t = d.dataset.t.split('|');
  const i = d.id + '-name';
  d.innerHTML = `<label for=${i}>${t[0]}</label><input id=${i} maxlength=50><p class="muted small">${t[1]}</p><canvas class=sg width=600 height=220></canvas><button type=button class=secondary>${t[2]}</button>`;
  const c = d.querySelector('canvas');
  const x = c.getContext('2d');
  const blank = () => {
    x.fillStyle = '#fff';
    x.fillRect(0, 0, c.width, c.height);
    delete c.dataset.n;
  };
  blank();
  x.lineWidth = 4;
  x.lineCap = x.lineJoin = 'round';
  let on = 0;
  const at = (e) => {
    const r = c.getBoundingClientRect();
    return [((e.clientX - r.left) * c.width) / r.width, ((e.clientY - r.top) * c.height) / r.height];
  };
  c.onpointerdown = (e) => {
    on = 1;
    x.beginPath();
    x.moveTo(...at(e));
    e.preventDefault();
  };
  c.onpointermove = (e) => {
    if (!on) return;
    x.lineTo(...at(e));
    x.stroke();
    c.dataset.n = 1;
  };
  c.onpointerup = c.onpointerleave = c.onpointercancel = () => (on = 0);
  d.querySelector('button').onclick = blank;
}

// The pad `id` as a stored PNG with its signer: 'hash size name'.
async function sig(id) {
  const c = document.querySelector('#' + id + ' canvas');
  const i = document.getElementById(id + '-name');
  const n = i ? i.value.trim() : '';
  if (!c || !c.dataset.n) throw 'none';
  if (!n) throw 'name';
  const b = await new Promise((ok) => c.toBlob(ok, 'image/png'));
  if (!b) throw 'store';
  return (await keep(b, 'image/png')) + ' ' + n;
}

async function pick(input) {
  const out = [];
  try {
    for (const f of input.files) out.push(await prep(f));
  } finally {
    input.value = '';
  }
  return out.join('\n');
}

const auth = () => ({ Authorization: 'Bearer ' + tok, 'Tus-Resumable': '1.0.0' });

// Sends one photo; true once the server has all of it.
async function send(h, e) {
  let off = -1;
  if (e.u) {
    const r = await fetch(e.u, { method: 'HEAD', headers: auth(), cache: 'no-store' });
    if (r.ok) off = +r.headers.get('Upload-Offset');
    else if (r.status !== 404 && r.status !== 410) return false;
  }
  if (!(off >= 0)) {
    const r = await fetch('/api/uploads', {
      method: 'POST',
      headers: Object.assign(auth(), {
        'Upload-Length': String(e.n),
        'Upload-Metadata': 'sha256 ' + btoa(h) + ',filetype ' + btoa(e.t),
      }),
    });
    if (!r.ok) return false;
    e.u = new URL(r.headers.get('Location'), location.href).href;
    off = +(r.headers.get('Upload-Offset') || 0);
    await put(h, e);
  }
  while (off < e.n) {
    const body = e.b.slice(off, off + chunk);
    const sum = btoa(String.fromCharCode.apply(null, new Uint8Array(await sha(body))));
    const t = performance.now();
    const r = await fetch(e.u, {
      method: 'PATCH',
      headers: Object.assign(auth(), {
        'Content-Type': 'application/offset+octet-stream',
        'Upload-Offset': String(off),
        'Upload-Checksum': 'sha256 ' + sum,
      }),
      body,
    });
    if (!r.ok && r.status !== 409) return false;
    const next = +r.headers.get('Upload-Offset');
    if (!(next >= 0)) return false;
    off = next;
    if (r.ok) {
      pause = 3000;
      // 3 s of the rate this PATCH measured; a short last piece says little, so only a whole
      // chunk makes it smaller.
      const c = Math.min(Math.max((body.size * 3000) / (performance.now() - t), 16384), 262144) | 0;
      if (c > chunk || body.size >= chunk) chunk = c;
    }
  }
  e.d = 1;
  await put(h, e);
  sent.add(h);
  return true;
}

async function loop() {
  const todo = [];
  const held = new Set(await tx('readonly', (s) => s.getAllKeys()));
  for (const h of want) {
    if (sent.has(h) || !held.has(h)) continue;
    const e = await get(h);
    if (e.d) sent.add(h);
    else todo.push([h, e]);
  }
  let ok = true;
  for (let i = 0; i < todo.length && ok; i++) {
    prog = i + 1 + '/' + todo.length;
    onp();
    ok = await send(todo[i][0], todo[i][1]).catch(() => false);
  }
  prog = '';
  onp();
  if (ok) {
    pause = 3000;
  } else {
    chunk = Math.max(chunk >> 1, 16384);
    setTimeout(() => up(tok, want.join(' ')), pause);
    pause = Math.min(pause * 2, 60000);
  }
  scan(true);
}

function up(token, hashes) {
  tok = token;
  want = hashes.split(' ').filter(Boolean);
  if (run) {
    again = true;
    return;
  }
  run = loop()
    .catch(() => {})
    .finally(() => {
      run = null;
      if (again) {
        again = false;
        up(tok, want.join(' '));
      }
    });
}

async function show(el) {
  const h = el.dataset.h;
  el.dataset.s = 'ld';
  let u = urls[h];
  // Shown now: the last to be evicted (read and marked in one transaction, so an upload's
  // own write of the entry is never undone).
  const e = await tx('readwrite', (s) => {
    const q = s.get(h);
    q.onsuccess = () => q.result && s.put(Object.assign(q.result, { a: Date.now() }), h);
    return q;
  }).catch(() => null);
  if (e) {
    u = urls[h] = u || URL.createObjectURL(e.b);
  } else if (!u && tok) {
    const r = await fetch('/api/blobs/' + h + '?size=thumb', {
      headers: { Authorization: 'Bearer ' + tok },
    }).catch(() => null);
    if (r && r.ok) {
      const b = await r.blob();
      u = urls[h] = URL.createObjectURL(b);
      put(h, { b, t: b.type, n: b.size, u: '', d: 1, a: Date.now() }).then(fit).catch(() => {});
    } else if (r && r.status === 404) return (el.dataset.s = 'up');
  }
  if (u) {
    el.firstElementChild.src = u;
    el.dataset.s = 'ok';
  } else {
    delete el.dataset.s; // no token or no network yet: tried again at the next scan
  }
}

function scan(all) {
  const q = all ? '.ph[data-h]:not([data-s=ok]):not([data-s=ld])' : '.ph[data-h]:not([data-s])';
  document.querySelectorAll(q).forEach(show);
  document.querySelectorAll('.sig[data-t]:not([data-w])').forEach(pad);
}

new MutationObserver(() => scan(false)).observe(document, { subtree: true, childList: true });

// How many of the hashes `hs` are stored here and not yet taken by the server.
async function un(hs) {
  let n = 0;
  for (const h of hs.split(' ')) {
    if (!h || sent.has(h)) continue;
    const e = await get(h).catch(() => null);
    if (e && !e.d) n++;
  }
  return n;
}

globalThis.lxp = {
  pick,
  sig,
  un,
  up,
  st: () => prog,
  on: (f) => (onp = f),
  wipe: () => {
    const d = dbp;
    dbp = null;
    want = [];
    tok = '';
    sent.clear();
    return (d ? d.then((x) => x.close()) : Promise.resolve()).then(
      () =>
        new Promise((ok) => {
          const r = indexedDB.deleteDatabase(DB);
          r.onsuccess = r.onerror = r.onblocked = () => ok();
        }),
    ).catch(() => {});
  },
};
