//! The real `lianxin-server` binary as a child process, for tests that kill it with SIGKILL and
//! restart it on the same database file. `cargo xtask test` builds the binary first.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// Where Cargo put `lianxin-server` for this build of the tests.
pub fn server_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the test binary")?;
    // target/debug/deps/<test> → target/debug/lianxin-server
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the test binary has no grandparent folder")?;
    let bin = dir.join("lianxin-server");
    if !bin.exists() {
        bail!(
            "{} is missing: build it with `cargo build -p server --bin lianxin-server` (cargo xtask test does)",
            bin.display()
        );
    }
    Ok(bin)
}

/// The `/metrics` token every server process started here is given.
pub const METRICS_TOKEN: &str = "test metrics token, not secret";

/// How long a server may take to start listening, and then to accept connections: a server
/// seeding the demo district into PostgreSQL (`--demo`) takes well over 10 s in a debug build
/// on busy cores.
pub const START_WAIT: Duration = Duration::from_secs(60);

/// How many of its latest log lines a [`ServerProcess`] keeps.
pub const LOG_LINES: usize = 10_000;

/// A running server process, killed when dropped.
pub struct ServerProcess {
    child: Child,
    /// Its log (standard output), the latest [`LOG_LINES`] lines.
    log: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<String>>>,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts the server on `db`, listening on `listen` (port 0 picks a free port), and waits
    /// until it answers `/healthz`.
    pub fn start(db: &Path, listen: SocketAddr) -> anyhow::Result<ServerProcess> {
        Self::start_binary(&server_binary()?, db, listen)
    }

    /// [`ServerProcess::start`] with the binary at `bin` (the bench's release build).
    pub fn start_binary(
        bin: &Path,
        db: &Path,
        listen: SocketAddr,
    ) -> anyhow::Result<ServerProcess> {
        Self::spawn(bin, db, listen, None, &[])
    }

    /// [`ServerProcess::start`] with the district file `config` (`--config`).
    pub fn start_configured(
        db: &Path,
        listen: SocketAddr,
        config: &Path,
    ) -> anyhow::Result<ServerProcess> {
        Self::spawn(&server_binary()?, db, listen, Some(config), &[])
    }

    /// [`ServerProcess::start`] with these environment variables set (`LIANXIN_*` settings).
    pub fn start_with_env(
        db: &Path,
        listen: SocketAddr,
        env: &[(&str, &str)],
    ) -> anyhow::Result<ServerProcess> {
        Self::spawn(&server_binary()?, db, listen, None, env)
    }

    /// Starts the server on the PostgreSQL database at `url`, listening on `listen`, seeding
    /// the demo district first when `demo` (`--demo`), in the working directory `cwd`, and
    /// waits until it answers.
    pub fn start_postgres(
        url: &str,
        listen: SocketAddr,
        demo: bool,
        cwd: &Path,
    ) -> anyhow::Result<ServerProcess> {
        let mut command = Command::new(server_binary()?);
        command
            .current_dir(cwd)
            .args(["serve", "--listen", &listen.to_string(), "--site"])
            .arg(std::env::temp_dir().join("lianxin-no-site"))
            .args(["--db", url]);
        if demo {
            command.arg("--demo");
        }
        Self::run(command)
    }

    /// [`ServerProcess::start_postgres`] with these flags added (`--blobs DIR`).
    pub fn start_postgres_with(
        url: &str,
        listen: SocketAddr,
        demo: bool,
        cwd: &Path,
        flags: &[&std::ffi::OsStr],
    ) -> anyhow::Result<ServerProcess> {
        let mut command = Command::new(server_binary()?);
        command
            .current_dir(cwd)
            .args(["serve", "--listen", &listen.to_string(), "--site"])
            .arg(std::env::temp_dir().join("lianxin-no-site"))
            .args(["--db", url])
            .args(flags);
        if demo {
            command.arg("--demo");
        }
        Self::run(command)
    }

    fn spawn(
        bin: &Path,
        db: &Path,
        listen: SocketAddr,
        config: Option<&Path>,
        env: &[(&str, &str)],
    ) -> anyhow::Result<ServerProcess> {
        let mut command = Command::new(bin);
        command
            .args(["serve", "--listen", &listen.to_string(), "--site"])
            .arg(db.with_extension("no-site"))
            .arg("--db")
            .arg(db)
            .envs(env.iter().copied());
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        Self::run(command)
    }

    /// Runs `command` (a `serve`) and waits until it listens and accepts connections.
    fn run(mut command: Command) -> anyhow::Result<ServerProcess> {
        let mut child = command
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env("LIANXIN_METRICS_TOKEN", METRICS_TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting lianxin-server")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        let log = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                {
                    let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
                    if kept.len() == LOG_LINES {
                        kept.pop_front();
                    }
                    kept.push_back(line.clone());
                }
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest
                        .split(|c: char| c == '/' || c.is_whitespace())
                        .next()
                        .unwrap_or("");
                    let _ = tx.send(addr.to_string());
                }
            }
        });
        let addr: SocketAddr = match rx.recv_timeout(START_WAIT) {
            Ok(a) => a
                .parse()
                .with_context(|| format!("parsing the listen address {a:?}"))?,
            Err(_) => {
                let _ = child.kill();
                bail!("lianxin-server did not start listening within {START_WAIT:?}");
            }
        };
        let deadline = Instant::now() + START_WAIT;
        while Instant::now() < deadline {
            if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(ServerProcess { child, addr, log });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        bail!("lianxin-server at {addr} did not accept connections within {START_WAIT:?}")
    }

    /// The base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The process's peak resident memory so far (`VmHWM` in `/proc/<pid>/status`), in bytes.
    pub fn peak_rss(&self) -> anyhow::Result<u64> {
        self.status_bytes("VmHWM:")
    }

    /// The process's resident memory now (`VmRSS`), in bytes.
    pub fn rss(&self) -> anyhow::Result<u64> {
        self.status_bytes("VmRSS:")
    }

    /// Starts a new peak: [`ServerProcess::peak_rss`] counts from now (`clear_refs` 5).
    pub fn reset_peak(&self) -> anyhow::Result<()> {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5")
            .context("resetting the server's peak memory")
    }

    fn status_bytes(&self, key: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .context("reading the server's /proc status")?;
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no {key} line in /proc status"))?;
        Ok(kib * 1024)
    }

    /// Its log so far (standard output, the latest [`LOG_LINES`] lines).
    pub fn log(&self) -> Vec<String> {
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log.iter().cloned().collect()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL: no shutdown, no flush, like a power cut for the process.
    pub fn kill9(mut self) -> anyhow::Result<()> {
        self.child.kill().context("sending SIGKILL")?;
        self.child.wait().context("reaping the killed server")?;
        Ok(())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
