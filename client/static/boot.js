// Starts the Lianxin web client. An external module rather than an inline script, because the
// Content-Security-Policy allows scripts from this origin only. `init()` loads client_bg.wasm;
// its start function then mounts the app into <div id="app">.
import init from '/client.js';

init().catch((error) => {
  console.error('Lianxin failed to start', error);
  const app = document.getElementById('app');
  if (app) {
    app.innerHTML =
      '<p class="loading">连心无法启动，请刷新页面。· Lianxin could not start: please reload.</p>';
  }
});
