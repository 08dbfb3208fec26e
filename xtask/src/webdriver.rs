//! Headless Chromium for the bench's browser steps (`bench_browser`, `bench_photos`): the
//! child processes it needs (server, chromedriver, proxy), stopped with their children when
//! dropped, and one WebDriver session spoken as JSON over plain HTTP/1.1 (a few requests),
//! which keeps the xtask free of a browser crate.

use std::io::{BufRead as _, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use std::{fs, thread};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

/// Debian's Chromium and its driver.
pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
pub(crate) const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Fills a field as a person would (value, then `input` and `change` events).
const FILL: &str = r"const e = document.querySelector(arguments[0]);
if (!e) return false;
e.value = arguments[1];
e.dispatchEvent(new Event('input', { bubbles: true }));
e.dispatchEvent(new Event('change', { bubbles: true }));
return true;";

/// How long any one wait in the page may take, unless the caller says otherwise.
pub(crate) const WAIT: Duration = Duration::from_secs(90);

/// A child process (server, chromedriver) listening on `port`, stopped when dropped with the
/// processes it started (its own process group: chromedriver's Chromium).
pub(crate) struct Process(Child);

impl Process {
    pub(crate) fn start(cmd: &mut Command, port: u16, name: &str) -> anyhow::Result<Process> {
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(cmd, 0);
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let process = Process(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("{name} did not listen on port {port} within 30 s");
            }
            thread::sleep(Duration::from_millis(100));
        }
        Ok(process)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        #[cfg(unix)]
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The 1, 5 and 15 minute load averages (other builds share this machine's cores).
pub(crate) fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// One WebDriver session on chromedriver.
pub(crate) struct Session {
    port: u16,
    id: String,
}

impl Session {
    pub(crate) fn open(port: u16, profile: &Path) -> anyhow::Result<Session> {
        let args = [
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
            format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        } } });
        let answer = request(port, "POST", "/session", Some(&caps))?;
        let id = answer["sessionId"]
            .as_str()
            .context("chromedriver did not answer a session id")?
            .to_string();
        let session = Session { port, id };
        session.call(
            "POST",
            "timeouts",
            &json!({ "script": 60_000, "pageLoad": 120_000 }),
        )?;
        Ok(session)
    }

    pub(crate) fn call(&self, method: &str, command: &str, body: &Value) -> anyhow::Result<Value> {
        request(
            self.port,
            method,
            &format!("/session/{}/{command}", self.id),
            Some(body),
        )
    }

    pub(crate) fn cdp(&self, cmd: &str, params: Value) -> anyhow::Result<Value> {
        self.call(
            "POST",
            "goog/cdp/execute",
            &json!({ "cmd": cmd, "params": params }),
        )
        .with_context(|| format!("DevTools {cmd}"))
    }

    pub(crate) fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.call("POST", "url", &json!({ "url": url }))
            .with_context(|| format!("opening {url}"))?;
        Ok(())
    }

    pub(crate) fn js(&self, script: &str, args: Value) -> anyhow::Result<Value> {
        self.call(
            "POST",
            "execute/sync",
            &json!({ "script": script, "args": args }),
        )
    }

    pub(crate) fn js_async(&self, script: &str) -> anyhow::Result<Value> {
        self.call(
            "POST",
            "execute/async",
            &json!({ "script": script, "args": [] }),
        )
    }

    /// Chooses `files` in the file input `css`, as a person does in the file chooser.
    pub(crate) fn choose_files(
        &self,
        css: &str,
        files: &[std::path::PathBuf],
    ) -> anyhow::Result<()> {
        let found = self.call(
            "POST",
            "element",
            &json!({ "using": "css selector", "value": css }),
        )?;
        let element = found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .with_context(|| format!("no element {css:?}"))?
            .to_string();
        let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        self.call(
            "POST",
            &format!("element/{element}/value"),
            &json!({ "text": paths.join("\n") }),
        )
        .context("choosing files")?;
        Ok(())
    }

    /// Runs `script` in the page with `args`; it answers by calling its last argument.
    pub(crate) fn js_async_with(&self, script: &str, args: Value) -> anyhow::Result<Value> {
        self.call(
            "POST",
            "execute/async",
            &json!({ "script": script, "args": args }),
        )
    }

    pub(crate) fn fill(&self, css: &str, value: &str) -> anyhow::Result<()> {
        if self.js(FILL, json!([css, value]))? != Value::Bool(true) {
            bail!("no element {css:?} to fill");
        }
        Ok(())
    }

    /// Opens the app at `app`, logs in as `login` and waits until the first sync has filled
    /// the enterprise list and the service worker controls the page (so the app opens offline).
    pub(crate) fn log_in_officer(
        &self,
        app: &str,
        login: &str,
        password: &str,
    ) -> anyhow::Result<()> {
        self.goto(app)?;
        self.wait_until("the login form", "document.querySelector('#login')")?;
        self.fill("#login", login)?;
        self.fill("#password", password)?;
        self.js(
            "document.querySelector('form button[type=submit]').click(); return true;",
            json!([]),
        )?;
        self.wait_until(
            "the enterprise list after the first sync",
            "document.querySelectorAll('.enterprise-card').length > 0 \
             && document.querySelector('.sync-bar').dataset.waiting === '0' \
             && !document.querySelector('.sync-state.syncing')",
        )?;
        self.wait_until(
            "the service worker to control the page",
            "navigator.serviceWorker.controller !== null",
        )
    }

    pub(crate) fn wait_until(&self, what: &str, condition: &str) -> anyhow::Result<()> {
        self.wait_for(what, condition, WAIT)
    }

    /// Waits until the JS expression `condition` is true in the page, for at most `limit`.
    pub(crate) fn wait_for(
        &self,
        what: &str,
        condition: &str,
        limit: Duration,
    ) -> anyhow::Result<()> {
        let script =
            format!("try {{ return Boolean({condition}); }} catch (e) {{ return false; }}");
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Value::Bool(true)) = self.js(&script, json!([])) {
                return Ok(());
            }
            if Instant::now() > deadline {
                let body = self
                    .js(
                        "return document.body ? document.body.innerText : '';",
                        json!([]),
                    )
                    .unwrap_or_default();
                bail!(
                    "timed out after {limit:?} waiting for {what} ({condition}); the page shows: {}",
                    body.as_str()
                        .unwrap_or_default()
                        .chars()
                        .take(600)
                        .collect::<String>()
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    pub(crate) fn close(&self) {
        let _ = request(self.port, "DELETE", &format!("/session/{}", self.id), None);
    }
}

/// One WebDriver request: JSON in, the answer's `value` out (a WebDriver error is an error).
fn request(port: u16, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .with_context(|| format!("connecting to chromedriver on port {port}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(180)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )?;
    let payload = read_answer(&mut stream)
        .with_context(|| format!("reading chromedriver's answer to {method} {path}"))?;
    let answer: Value = serde_json::from_str(&payload)
        .with_context(|| format!("chromedriver's answer to {method} {path} is not JSON"))?;
    let value = answer["value"].clone();
    if let Some(error) = value.get("error").and_then(Value::as_str) {
        bail!(
            "{method} {path}: {error}: {}",
            value["message"]
                .as_str()
                .unwrap_or_default()
                .lines()
                .next()
                .unwrap_or_default()
        );
    }
    Ok(value)
}

/// Reads one HTTP/1.1 answer: its headers, then exactly its body (`Content-Length` or chunked);
/// chromedriver keeps connections open, so the end of the stream cannot be waited for.
pub(crate) fn read_answer(stream: &mut impl std::io::Read) -> anyhow::Result<String> {
    let mut reader = std::io::BufReader::new(stream);
    let mut length = None;
    let mut chunked = false;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            bail!("the answer ended inside its headers");
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            if name == "content-length" {
                length = value.trim().parse::<usize>().ok();
            } else if name == "transfer-encoding" && value.to_ascii_lowercase().contains("chunked")
            {
                chunked = true;
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .context("a malformed chunk size")?;
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
            line.clear();
            reader.read_line(&mut line)?; // the CRLF after the chunk
        }
    } else if let Some(length) = length {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader.read_to_end(&mut body)?;
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

pub(crate) fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_read_by_its_length_or_its_chunks_without_waiting_for_the_end() {
        let sized = b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}and more";
        assert_eq!(
            read_answer(&mut &sized[..]).ok().as_deref(),
            Some("{\"a\":1}")
        );
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                        4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n";
        assert_eq!(
            read_answer(&mut &chunked[..]).ok().as_deref(),
            Some("{\"a\":1}")
        );
    }
}
