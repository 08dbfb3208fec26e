// The app icon's badge (the Badging API, `navigator.setAppBadge`) for client/src/infra/platform.rs:
// set only where the browser has it, only when the number changed, and never an error (a
// browser may refuse it for a page not installed as an app).
let shown = 0;

export function badge(n) {
  if (n === shown || !navigator.setAppBadge) return;
  shown = n;
  (n ? navigator.setAppBadge(n) : navigator.clearAppBadge()).catch(() => {});
}
