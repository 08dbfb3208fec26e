//! Helpers for browser end-to-end tests: the built web client, Debian's headless Chromium driven
//! through chromedriver with fantoccini (one fresh profile per browser), a link between the
//! browser and the server that the test can cut and restore, and DevTools network emulation.
//!
//! `cargo xtask test` builds the client into `target/site` and installs `chromium` and
//! `chromium-driver` before running these tests.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::Router;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where Debian's Chromium lives.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Where Debian's chromedriver lives.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The folder `cargo xtask build-client` writes the web client to.
pub fn site_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target")
        },
        PathBuf::from,
    );
    target.join("site")
}

/// The built web client, or a clear error saying how to build it.
///
/// # Errors
/// When `target/site/index.html` is missing.
pub fn require_site() -> anyhow::Result<PathBuf> {
    let site = site_dir();
    if !site.join("index.html").is_file() {
        bail!(
            "the web client is not built: {} has no index.html. Run `cargo xtask build-client` \
             (or `cargo xtask test`, which builds it) before the browser tests.",
            site.display()
        );
    }
    Ok(site)
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Whether chromedriver answers its status request on `port`.
async fn is_chromedriver(port: u16) -> bool {
    let status = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/status"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    match status {
        Ok(response) => response
            .text()
            .await
            .is_ok_and(|body| body.contains("\"ready\"")),
        Err(_) => false,
    }
}

/// A chromedriver process, killed when dropped.
#[derive(Debug)]
pub struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    /// Starts chromedriver on a free loopback port and waits until it answers.
    ///
    /// # Errors
    /// When Chromium or chromedriver is not installed, or chromedriver does not come up.
    pub async fn start() -> anyhow::Result<Self> {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            if !Path::new(path).exists() {
                bail!(
                    "{path} is missing: install Debian's {package} (`apt-get install -y chromium \
                     chromium-driver`; `cargo xtask test` does it)"
                );
            }
        }
        // The port is free when picked but not reserved: if another process takes it first,
        // chromedriver exits, and another port is tried (a few times, then the error).
        let mut last_error = None;
        for _ in 0..3 {
            match Self::start_on(free_port()?).await {
                Ok(driver) => return Ok(driver),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("chromedriver did not start")))
    }

    /// Starts chromedriver on `port` and waits until it answers, or fails if it exits first.
    async fn start_on(port: u16) -> anyhow::Result<Self> {
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {CHROMEDRIVER}"))?;
        let mut driver = Chromedriver { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = driver.child.try_wait() {
                bail!("chromedriver exited ({status}) before listening on port {port}");
            }
            // Asks chromedriver itself: something else listening on the port does not count.
            // Another test's chromedriver may answer on a port taken before ours bound it; ours
            // then exits at once, so it must still be running a moment after the answer.
            if is_chromedriver(port).await {
                tokio::time::sleep(Duration::from_millis(300)).await;
                if let Ok(Some(status)) = driver.child.try_wait() {
                    bail!("chromedriver exited ({status}): port {port} was taken");
                }
                return Ok(driver);
            }
            if Instant::now() > deadline {
                bail!("chromedriver did not listen on port {port} within 20 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A DevTools command sent through chromedriver (`goog/cdp/execute`).
#[derive(Debug)]
struct Cdp {
    cmd: String,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "cmd": self.cmd, "params": self.params }).to_string()),
        )
    }
}

/// A headless Chromium with its own fresh profile, 360 px wide like a phone.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    _profile: tempfile::TempDir,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser").finish_non_exhaustive()
    }
}

impl Browser {
    /// Opens a browser with a new profile.
    ///
    /// # Errors
    /// When chromedriver cannot start a session.
    pub async fn launch(driver: &Chromedriver) -> anyhow::Result<Self> {
        let profile = tempfile::tempdir().context("creating a browser profile folder")?;
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=360,800".into(),
            "--lang=zh-CN".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = Capabilities::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url())
            .await
            .context("starting a Chromium session through chromedriver")?;
        let browser = Browser {
            client,
            _profile: profile,
        };
        // Headless windows report the window size; make the page itself 360 px wide.
        browser.viewport(360, 780, true).await?;
        Ok(browser)
    }

    /// Makes the page `width` × `height` px: a desktop's screen (`mobile` false) or a phone's.
    ///
    /// # Errors
    /// When DevTools refuses.
    pub async fn viewport(&self, width: u32, height: u32, mobile: bool) -> anyhow::Result<()> {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
        )
        .await?;
        Ok(())
    }

    /// Sends a DevTools command to the current page.
    ///
    /// # Errors
    /// When chromedriver refuses it.
    pub async fn cdp(&self, cmd: &str, params: Value) -> anyhow::Result<Value> {
        self.client
            .issue_cmd(Cdp {
                cmd: cmd.into(),
                params,
            })
            .await
            .with_context(|| format!("DevTools {cmd}"))
    }

    /// Tells the browser it is offline (`navigator.onLine`, failing requests) or back online.
    ///
    /// # Errors
    /// When DevTools refuses.
    pub async fn set_offline(&self, offline: bool) -> anyhow::Result<()> {
        self.cdp("Network.enable", json!({})).await?;
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({
                "offline": offline,
                "latency": 0,
                "downloadThroughput": -1,
                "uploadThroughput": -1
            }),
        )
        .await?;
        Ok(())
    }

    /// Cuts or restores the browser's network the way a lost signal does: `link` drops every
    /// connection to the server and DevTools tells the page it is offline.
    ///
    /// # Errors
    /// When DevTools refuses.
    pub async fn set_network(&self, link: &Link, up: bool) -> anyhow::Result<()> {
        link.set_up(up);
        self.set_offline(!up).await
    }

    /// Logs `login` in with `password` on the app at `url` and waits for the role's home
    /// screen (`home`, a CSS selector).
    ///
    /// # Errors
    /// When the login form or the home screen does not show within `timeout`.
    pub async fn log_in(
        &self,
        url: &str,
        login: &str,
        password: &str,
        home: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        self.goto(url).await?;
        self.wait_until(
            "the login form",
            "document.querySelector('#login')",
            timeout,
        )
        .await?;
        self.fill("#login", login).await?;
        self.fill("#password", password).await?;
        self.click("form button[type=submit]", "").await?;
        self.wait_until(
            &format!("{login}'s home screen"),
            &format!("document.querySelector({})", json!(home)),
            timeout,
        )
        .await
    }

    /// Presses "sync now" and waits until the sync bar says the device is online, nothing
    /// waits to upload, nothing is refused and no round is running.
    ///
    /// # Errors
    /// When that does not happen within `timeout`; the message names `what`.
    pub async fn wait_synced(&self, what: &str, timeout: Duration) -> anyhow::Result<()> {
        self.click(".sync-now", "").await.ok();
        self.wait_until(
            what,
            "document.querySelector('.sync-bar').dataset.waiting === '0' \
             && document.querySelector('.sync-bar').dataset.refused === '0' \
             && document.querySelector('.sync-bar').dataset.online === 'true' \
             && !document.querySelector('.sync-state.syncing')",
            timeout,
        )
        .await
    }

    /// Opens a URL.
    ///
    /// # Errors
    /// When navigation fails.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("opening {url}"))
    }

    /// Runs JavaScript (a function body; `arguments` holds `args`) and returns its result.
    ///
    /// # Errors
    /// When the script throws.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        self.client.execute(script, args).await.with_context(|| {
            format!(
                "running script {}",
                script.chars().take(80).collect::<String>()
            )
        })
    }

    /// Runs JavaScript that returns a string (a function body) and returns it; anything else
    /// reads as the empty string.
    ///
    /// # Errors
    /// When the script throws.
    pub async fn js_string(&self, script: &str) -> anyhow::Result<String> {
        let v = self.js(script, vec![]).await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Waits until `condition` (a JavaScript expression) is truthy.
    ///
    /// # Errors
    /// When it is not within `timeout`; the message names `what`.
    pub async fn wait_until(
        &self,
        what: &str,
        condition: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let script =
            format!("try {{ return Boolean({condition}); }} catch (e) {{ return false; }}");
        loop {
            if let Ok(Value::Bool(true)) = self.client.execute(&script, vec![]).await {
                return Ok(());
            }
            if Instant::now() > deadline {
                let body = self.text("body").await.unwrap_or_default();
                bail!(
                    "timed out after {timeout:?} waiting for {what} ({condition}); the page shows:\n{}",
                    body.chars().take(1500).collect::<String>()
                );
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Waits until the first element matching `css` contains `text`.
    ///
    /// # Errors
    /// When it does not within `timeout`.
    pub async fn wait_text(&self, css: &str, text: &str, timeout: Duration) -> anyhow::Result<()> {
        let condition = format!(
            "Array.from(document.querySelectorAll({css})).some(e => e.textContent.includes({text}))",
            css = json!(css),
            text = json!(text)
        );
        self.wait_until(&format!("{css:?} to show {text:?}"), &condition, timeout)
            .await
    }

    /// The text of the first element matching `css` (empty when none).
    ///
    /// # Errors
    /// When the script fails.
    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        let v = self
            .client
            .execute(
                "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';",
                vec![json!(css)],
            )
            .await
            .context("reading text")?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Types `value` into the input, textarea or select matching `css`, as a person would
    /// (the element's value, then `input` and `change` events).
    ///
    /// # Errors
    /// When no element matches.
    pub async fn fill(&self, css: &str, value: &str) -> anyhow::Result<()> {
        let found = self
            .js(
                "const e = document.querySelector(arguments[0]); if (!e) return false; \
                 e.focus(); e.value = arguments[1]; \
                 e.dispatchEvent(new Event('input', { bubbles: true })); \
                 e.dispatchEvent(new Event('change', { bubbles: true })); return true;",
                vec![json!(css), json!(value)],
            )
            .await?;
        if found != Value::Bool(true) {
            bail!("no element {css:?} to fill");
        }
        // Let yew re-render before the next step reads the form.
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(())
    }

    /// Clicks the first element matching `css` whose text contains `text` (any when empty).
    ///
    /// # Errors
    /// When none matches.
    pub async fn click(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let found = self
            .js(
                "const e = Array.from(document.querySelectorAll(arguments[0])) \
                   .find(e => e.textContent.includes(arguments[1])); \
                 if (!e) return false; e.scrollIntoView(); e.click(); return true;",
                vec![json!(css), json!(text)],
            )
            .await?;
        if found != Value::Bool(true) {
            let body = self.text("body").await.unwrap_or_default();
            bail!(
                "nothing to click: {css:?} with text {text:?}; the page shows:\n{}",
                body.chars().take(1500).collect::<String>()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(())
    }

    /// Opens a screen of the app by its hash route (`#/e/<id>`).
    ///
    /// # Errors
    /// When the script fails.
    pub async fn route(&self, hash: &str) -> anyhow::Result<()> {
        self.js("location.hash = arguments[0];", vec![json!(hash)])
            .await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(())
    }

    /// A full-page PNG screenshot written to `target/screenshots/<name>.png`.
    ///
    /// # Errors
    /// When the screenshot or the file fails.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        // From the top, so sticky bars sit where a person sees them.
        self.js("window.scrollTo(0, 0);", vec![]).await?;
        let metrics = self.cdp("Page.getLayoutMetrics", json!({})).await?;
        let height = metrics["cssContentSize"]["height"]
            .as_f64()
            .unwrap_or(780.0)
            .clamp(780.0, 4000.0);
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": { "x": 0, "y": 0, "width": 360, "height": height, "scale": 1 }
                }),
            )
            .await?;
        let data = shot["data"].as_str().context("no screenshot data")?;
        let bytes = base64_decode(data)?;
        let dir = site_dir().with_file_name("screenshots");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Ends the session.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// Decodes standard base64 (DevTools' screenshots).
///
/// # Errors
/// When `text` is not base64.
pub fn base64_decode(text: &str) -> anyhow::Result<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c)
            .context("screenshot is not base64")? as u32;
        buffer = (buffer << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Ok(out)
}

/// A link between browser and server that the test cuts and restores: while down it refuses
/// new connections and cuts the open ones (including the push channel), like a lost signal.
#[derive(Debug)]
pub struct Link {
    addr: SocketAddr,
    upstream: Arc<std::sync::Mutex<SocketAddr>>,
    up: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
    task: JoinHandle<()>,
}

impl Link {
    /// Forwards `127.0.0.1:<new port>` to `upstream`.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(upstream: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the link's port")?;
        let addr = listener.local_addr()?;
        let up = Arc::new(AtomicBool::new(true));
        let (cut, cuts) = watch::channel(0u64);
        let is_up = up.clone();
        let upstream = Arc::new(std::sync::Mutex::new(upstream));
        let to = upstream.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !is_up.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let mut cuts = cuts.clone();
                // Only cuts from now on end this connection.
                cuts.borrow_and_update();
                let upstream = *to.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Ok(Link {
            addr,
            upstream,
            up,
            cut,
            task,
        })
    }

    /// The URL of `path` through the link.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Points the link at another server (a restarted one: the browser keeps its origin, so
    /// its storage) and cuts every open connection, which the app then makes again.
    pub fn redirect(&self, upstream: SocketAddr) {
        *self
            .upstream
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = upstream;
        self.cut.send_modify(|n| *n += 1);
    }

    /// Cuts the link (and every connection through it) or restores it.
    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up {
            self.cut.send_modify(|n| *n += 1);
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router` on a free loopback port until dropped.
#[derive(Debug)]
pub struct Served {
    /// The address it listens on.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Served {
    /// Starts serving.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(router: Router) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the test server's port")?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Served { addr, task })
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}
