//! Catching the panics of fuzzed calls quietly: a panic hook that records where and what
//! instead of printing, installed for one run at a time, and [`catching`] to run a call under
//! `catch_unwind` and get what the hook recorded.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, PanicHookInfo, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard};

/// A panic caught in a fuzzed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caught {
    /// `file:line:col`, the file relative to its crate's registry folder or the workspace.
    pub location: String,
    /// The panic's message on one line (at most 300 characters).
    pub message: String,
}

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST: RefCell<Option<Caught>> = const { RefCell::new(None) };
}

type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

static HOOK_LOCK: Mutex<()> = Mutex::new(());

/// While alive, panics on this thread are recorded (location and message) instead of printed;
/// other threads' panics go to the previous hook, which is put back on drop. One at a time per
/// process (a lock).
pub struct QuietPanics {
    previous: Arc<Hook>,
    _lock: MutexGuard<'static, ()>,
}

impl QuietPanics {
    /// Installs the recording hook.
    pub fn install() -> QuietPanics {
        let lock = HOOK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let previous: Arc<Hook> = Arc::new(std::panic::take_hook());
        let fallback = Arc::clone(&previous);
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                LAST.with(|l| *l.borrow_mut() = Some(caught(info)));
            } else {
                fallback(info);
            }
        }));
        QUIET.with(|q| q.set(true));
        QuietPanics {
            previous,
            _lock: lock,
        }
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        QUIET.with(|q| q.set(false));
        if !std::thread::panicking() {
            drop(std::panic::take_hook());
            let previous = Arc::clone(&self.previous);
            std::panic::set_hook(Box::new(move |info| previous(info)));
        }
    }
}

fn caught(info: &PanicHookInfo<'_>) -> Caught {
    let location = info.location().map_or_else(
        || "unknown".to_string(),
        |l| format!("{}:{}:{}", short_path(l.file()), l.line(), l.column()),
    );
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    Caught {
        location,
        message: message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(300)
            .collect(),
    }
}

/// A source path without the machine's prefix: `hexane-1.0.0-alpha.5/src/x.rs` for a registry
/// crate, `library/core/src/x.rs` for the standard library.
fn short_path(file: &str) -> String {
    if let Some((_, rest)) = file.split_once("/registry/src/") {
        return rest.split_once('/').map_or(rest, |(_, r)| r).to_string();
    }
    if let Some(i) = file.find("/library/") {
        return file[i + 1..].to_string();
    }
    file.to_string()
}

/// Runs `f`, turning a panic into the [`Caught`] the quiet hook recorded.
pub fn catching<T>(f: impl FnOnce() -> T) -> Result<T, Caught> {
    LAST.with(|l| l.borrow_mut().take());
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| {
        LAST.with(|l| l.borrow_mut().take())
            .unwrap_or_else(|| Caught {
                location: "unknown".into(),
                message: "a panic the quiet hook did not see".into(),
            })
    })
}
