//! One server per database file: a second `lianxin-server serve` on a file another server
//! holds refuses to start, says why, and leaves the first one serving; once the first is gone
//! (even by SIGKILL) the file can be served again.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tests::process::{ServerProcess, server_binary};

/// Runs a second server on `db` and waits (bounded) for it to exit; its exit code and stderr.
fn second_server(db: &std::path::Path) -> anyhow::Result<(Option<i32>, String)> {
    let mut child = Command::new(server_binary()?)
        .args(["serve", "--listen", "127.0.0.1:0", "--site"])
        .arg(db.with_extension("no-site"))
        .arg("--db")
        .arg(db)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait()? {
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                std::io::Read::read_to_string(&mut stderr, &mut err)?;
            }
            return Ok((status.code(), err));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            anyhow::bail!("the second server was still running after 20 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_second_server_on_the_same_file_refuses_to_start_and_the_first_keeps_serving()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    let first = ServerProcess::start(&db, "127.0.0.1:0".parse()?)?;

    let (code, stderr) = second_server(&db)?;
    assert_ne!(
        code,
        Some(0),
        "the second server exited successfully: {stderr}"
    );
    assert!(
        stderr.contains("another lianxin-server"),
        "the refusal does not say why: {stderr}"
    );
    let health = std::net::TcpStream::connect_timeout(&first.addr, Duration::from_secs(2));
    assert!(health.is_ok(), "the first server stopped serving");

    first.kill9()?;
    let again = ServerProcess::start(&db, "127.0.0.1:0".parse()?)?;
    assert!(std::net::TcpStream::connect_timeout(&again.addr, Duration::from_secs(2)).is_ok());
    Ok(())
}
