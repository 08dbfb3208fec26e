//! The district's configuration on the device: kept in IndexedDB (`meta` value `config`: its
//! version and binary form, written in one put), read at start (the built-in defaults until
//! the server has sent one), and fetched again (`GET /api/config`, binary, `If-None-Match`)
//! when a sync answer announces another version (`X-Lianxin-Config`;
//! `shared::config::wire::needs_fetch`). A configuration this app cannot read — a newer
//! server's layout — is not taken: the device keeps the one it has, and does not ask again for
//! that version until it restarts.

use std::rc::Rc;

use js_sys::Uint8Array;
use shared::config::{Config, wire};
use wasm_bindgen::{JsCast as _, JsValue};
use yew::platform::spawn_local;

use super::Core;
use crate::infra::api::{self, ConfigAnswer, get, get_str, object, text};
use crate::infra::db::Db;

/// The `meta` value that holds the configuration (kept across logouts: it is the district's).
pub(super) const CONFIG_KEY: &str = "config";

/// The configuration the device holds and its version (`None`: the built-in defaults).
#[derive(Debug, Clone, Default)]
pub(super) struct Held {
    pub(super) config: Rc<Config>,
    pub(super) version: Option<String>,
    /// A version announced that this app could not read, or whose fetch is under way.
    pub(super) skipped: Option<String>,
}

/// What storage holds; the defaults when nothing, or nothing this app reads, is stored.
pub(super) async fn stored(db: &Db) -> Held {
    let value = db.get_meta(CONFIG_KEY).await.ok().flatten();
    let read = value.and_then(|v| {
        let version = get_str(&v, "version")?;
        let bytes = get(&v, "bytes").dyn_into::<Uint8Array>().ok()?.to_vec();
        Some((version, wire::decode(&bytes).ok()?))
    });
    match read {
        Some((version, config)) => Held {
            config: Rc::new(config),
            version: Some(version),
            skipped: None,
        },
        None => Held::default(),
    }
}

impl Core {
    /// The district configuration every screen judges and labels with.
    pub fn config(&self) -> Rc<Config> {
        self.config.borrow().config.clone()
    }

    /// After a sync answer: fetches the configuration when the server announced a version
    /// this device does not hold, keeps it and re-renders.
    pub(super) fn config_announced(self: &Rc<Self>, announced: Option<String>) {
        let (held, skipped) = {
            let h = self.config.borrow();
            (h.version.clone(), h.skipped.clone())
        };
        let (Some(session), Some(announced)) = (self.session(), announced) else {
            return;
        };
        if !wire::needs_fetch(held.as_deref(), Some(&announced))
            || skipped.as_deref() == Some(&announced)
        {
            return;
        }
        self.config.borrow_mut().skipped = Some(announced.clone());
        let core = Rc::downgrade(self);
        spawn_local(async move {
            let answer = api::config(&session, held.as_deref()).await;
            let Some(core) = core.upgrade() else { return };
            match answer {
                // A layout this app does not read (or damaged bytes) is not taken: the device
                // keeps what it has.
                Ok(ConfigAnswer::New { version, bytes }) => {
                    if let Ok(config) = wire::decode(&bytes) {
                        let value = object(&[
                            ("version", text(&version)),
                            ("bytes", JsValue::from(Uint8Array::from(bytes.as_slice()))),
                        ]);
                        if let Err(e) = core.db.put_meta(CONFIG_KEY, Some(&value)).await {
                            core.storage_failed(&e);
                        }
                        *core.config.borrow_mut() = Held {
                            config: Rc::new(config),
                            version: Some(version),
                            skipped: None,
                        };
                    }
                }
                // What the device holds is the server's.
                Ok(ConfigAnswer::Unchanged) => {}
                // Not fetched: ask again at the next announcement.
                Err(_) => core.config.borrow_mut().skipped = None,
            }
            core.notify();
        });
    }

    /// A wiped device (revoked) forgets the configuration with everything else.
    pub(super) fn forget_config(&self) {
        *self.config.borrow_mut() = Held::default();
    }
}
