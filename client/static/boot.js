// Starts the Lianxin web client. An external module rather than an inline script, because the
// Content-Security-Policy allows scripts from this origin only.
//
// Two builds of the app ship: the officer bundle (/client.js + /client_bg.wasm), small for
// phones on poor signal and loaded by default, and the full bundle (/client_full.js +
// /client_full_bg.wasm) with the leader and handler screens. The app writes which one the
// logged-in role needs into localStorage["lianxin.bundle"] ("full" or "officer"), and reloads
// from the officer bundle into the full one after a leader or handler logs in. If the full
// bundle cannot be loaded (offline before it was ever cached), the officer bundle starts and
// says so on the screens it lacks (window.__lianxinFellBack). The full bundle's screens also
// have their own style sheet (/client_full.css), added here before that bundle starts.
//
// `init()` loads the bundle's wasm; its start function then mounts the app into <div id="app">.
// Then registers the service worker that keeps the app shell for offline use, and tells the app
// when a new version has taken over (it offers a reload).

function wantsFull() {
  try {
    return window.localStorage.getItem('lianxin.bundle') === 'full';
  } catch (error) {
    return false; // storage blocked: the officer bundle
  }
}

async function start(full) {
  if (full) {
    const sheet = document.createElement('link');
    sheet.rel = 'stylesheet';
    sheet.href = '/client_full.css';
    document.head.append(sheet);
  }
  const bundle = await import(full ? '/client_full.js' : '/client.js');
  await bundle.default();
}

const full = wantsFull();
start(full)
  .catch((error) => {
    if (!full) {
      throw error;
    }
    console.error('Lianxin: the full bundle did not load; starting the officer bundle', error);
    window.__lianxinFellBack = true;
    return start(false);
  })
  .catch((error) => {
    console.error('Lianxin failed to start', error);
    const app = document.getElementById('app');
    if (app) {
      app.innerHTML =
        '<p class="loading">连心无法启动，请刷新页面。· Lianxin could not start: please reload.</p>';
    }
  });

if ('serviceWorker' in navigator) {
  const hadController = Boolean(navigator.serviceWorker.controller);
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    // The first install takes control silently; a later change is a new deploy.
    if (hadController) {
      window.__lianxinUpdate = true;
      window.dispatchEvent(new Event('lianxin-update'));
    }
  });
  navigator.serviceWorker
    .register('/sw.js', { scope: '/' })
    .then((registration) => {
      // Look for a new deploy now (the browser's own check after a navigation may come much
      // later) and whenever the network comes back.
      const check = () => registration.update().catch(() => {});
      if (hadController) {
        check();
      }
      window.addEventListener('online', check);
    })
    .catch((error) => {
      console.error('Lianxin: service worker registration failed', error);
    });
}
