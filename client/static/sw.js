// Lianxin's service worker: keeps the app shell (page, script, wasm, styles, icon, manifest) in a
// cache named after the build, so the app opens with no network after the first visit.
//
// Bundles: the shell holds the officer bundle (client.js, client_bg.wasm), which every device
// downloads at install. The full bundle with the leader and handler screens (client_full.*: its
// script, wasm and style sheet) is cached the first time a page loads it; a new deploy's worker
// downloads it at install only if the previous cache held it (so a leader's device stays usable
// offline across updates, and an officer's phone never downloads it).
//
// Updates: `cargo xtask build-client` writes the build id below, so every deploy changes this
// file. The browser then installs the new worker, which downloads the new shell into a new cache
// (all or nothing: a failed download keeps the old worker), takes over at once, and deletes the
// old caches. The page is told (`lianxin-update`), and the next load uses the new shell.
// API calls (/api/…, /healthz, /metrics) always go to the network: records live in IndexedDB.
// So do the 连心卡's server-rendered pages (/k/…), which are not the app.
'use strict';

const BUILD = '__LIANXIN_BUILD__';
const PREFIX = 'lianxin-shell-';
const CACHE = PREFIX + BUILD;
const SHELL = [
  '/',
  '/boot.js',
  '/photos.js',
  '/client.js',
  '/client_bg.wasm',
  '/style.css',
  '/manifest.webmanifest',
  '/icon.svg',
];
const FULL = ['/client_full.js', '/client_full_bg.wasm', '/client_full.css'];

// Whether an older build's cache holds the full bundle (this device has used it).
function fullBundleUsed() {
  return caches
    .keys()
    .then((keys) =>
      Promise.all(
        keys
          .filter((key) => key.startsWith(PREFIX) && key !== CACHE)
          .map((key) => caches.open(key).then((cache) => cache.match(FULL[1]))),
      ),
    )
    .then((found) => found.some(Boolean));
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    fullBundleUsed()
      .then((used) => (used ? SHELL.concat(FULL) : SHELL))
      .then((urls) =>
        caches
          .open(CACHE)
          .then((cache) => cache.addAll(urls.map((url) => new Request(url, { cache: 'reload' })))),
      )
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys
            .filter((key) => key.startsWith(PREFIX) && key !== CACHE)
            .map((key) => caches.delete(key)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

function isApi(url) {
  return (
    url.pathname.startsWith('/api/') ||
    url.pathname.startsWith('/k/') ||
    url.pathname === '/healthz' ||
    url.pathname === '/metrics'
  );
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin || isApi(url)) {
    return;
  }
  // Client-side routes (/, /enterprises/…) all get the app page.
  const key = request.mode === 'navigate' ? '/' : url.pathname;
  // `caches.match` with a cache name does not create the cache.
  event.respondWith(
    caches.match(key, { cacheName: CACHE }).then((cached) => {
      if (cached) {
        return cached;
      }
      return fetch(request).then((response) => {
        if (response.ok && (SHELL.includes(key) || FULL.includes(key)) && !replaced()) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(key, copy));
        }
        return response;
      });
    }),
  );
});

// Whether a newer worker has taken over (and deleted this worker's cache): a fetch still
// running here must not bring that cache back. The current worker does refill its cache as
// files are fetched, e.g. after the browser evicted it. (Browsers without
// `self.serviceWorker` refill in both cases; the next update deletes a revived old cache.)
function replaced() {
  return self.serviceWorker !== undefined && self.serviceWorker.state === 'redundant';
}
