//! The district configuration as devices receive it: its canonical JSON (what
//! `GET /api/config` answers, read back by `serde_json::from_str::<shared::config::Config>`),
//! its binary form (`shared::config::wire`, what the web app asks for) and its version, a
//! stable hash of the JSON. The version is announced on every sync answer
//! ([`CONFIG_HEADER`]), so a device learns of a new configuration after its next sync and
//! fetches it then; the same configuration always has the same version, across restarts and
//! servers.

use sha2::{Digest as _, Sha256};
use shared::config::Config;

/// The response header every `POST /api/sync` answer carries: the configuration's version.
pub const CONFIG_HEADER: &str = "x-lianxin-config";

/// A validated configuration, serialized once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedConfig {
    json: String,
    binary: Vec<u8>,
    version: String,
}

impl PublishedConfig {
    /// Serializes `config` canonically (fields in declaration order, lists in their configured
    /// order) and hashes it.
    pub fn new(config: &Config) -> PublishedConfig {
        // Strings, numbers, lists and enums without maps: writing them as JSON cannot fail.
        let json = serde_json::to_string(config).expect("a configuration always serializes");
        let digest = Sha256::digest(json.as_bytes());
        let version = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        PublishedConfig {
            json,
            binary: shared::config::wire::encode(config),
            version,
        }
    }

    /// The configuration as JSON.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The configuration in the binary form (`shared::config::wire::MEDIA_TYPE`).
    pub fn binary(&self) -> &[u8] {
        &self.binary
    }

    /// The version: 32 lowercase hex digits, the first 16 bytes of the JSON's SHA-256.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The version as a strong `ETag` (quoted).
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_reads_back_into_the_same_configuration() {
        let published = PublishedConfig::new(&Config::default());
        let read: Config = serde_json::from_str(published.json()).expect("reads back");
        assert_eq!(read, Config::default());
        let binary = shared::config::wire::decode(published.binary()).expect("reads back");
        assert_eq!(binary, Config::default());
    }

    #[test]
    fn the_version_is_stable_and_follows_every_change() {
        let a = PublishedConfig::new(&Config::default());
        let again = PublishedConfig::new(&Config::default());
        assert_eq!(a.version(), again.version());
        assert_eq!(a.version().len(), 32);
        let mut changed = Config::default();
        changed.categories[0].zh = "土地要素".into();
        let b = PublishedConfig::new(&changed);
        assert_ne!(a.version(), b.version());
        assert_eq!(b.etag(), format!("\"{}\"", b.version()));
    }
}
