// Starts the Lianxin web client. An external module rather than an inline script, because the
// Content-Security-Policy allows scripts from this origin only. `init()` loads client_bg.wasm;
// its start function then mounts the app into <div id="app">. Then registers the service
// worker that keeps the app shell for offline use, and tells the app when a new version has
// taken over (it offers a reload).
import init from '/client.js';

init().catch((error) => {
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
