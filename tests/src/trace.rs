//! A request trace for the benchmark's devices (`lianxin-bench-client devices`): when
//! `LIANXIN_BENCH_TRACE` names a file, every sync request, its outcome and every timer the
//! engine sets are appended to it as JSON lines, with milliseconds since the process started.
//! Used to see where a slow run's time goes (requests that succeeded, requests cut, waits);
//! without the variable nothing is written.

use std::fs::File;
use std::io::Write as _;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use serde_json::{Value, json};

struct Trace {
    started: Instant,
    file: Mutex<File>,
}

fn trace() -> Option<&'static Trace> {
    static TRACE: OnceLock<Option<Trace>> = OnceLock::new();
    TRACE
        .get_or_init(|| {
            let path = std::env::var_os("LIANXIN_BENCH_TRACE")?;
            let file = File::create(path).ok()?;
            Some(Trace {
                started: Instant::now(),
                file: Mutex::new(file),
            })
        })
        .as_ref()
}

/// Appends one event of device `device` (a JSON object; `t` and `dev` are added).
pub fn event(device: u64, mut fields: Value) {
    let Some(t) = trace() else { return };
    if let Value::Object(map) = &mut fields {
        map.insert("t".into(), json!(t.started.elapsed().as_millis() as u64));
        map.insert("dev".into(), json!(device));
    }
    if let Ok(mut file) = t.file.lock() {
        let _ = writeln!(file, "{fields}");
    }
}
