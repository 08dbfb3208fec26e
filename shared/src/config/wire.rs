//! The configuration on its way to devices: the binary form `GET /api/config` answers a client
//! that asks for [`MEDIA_TYPE`] (the sync protocol's envelope around the postcard encoding the
//! app already carries, so it links no JSON decoder), how a [`FlagRule`] is written (TOML and
//! JSON leave out the conditions a rule does not set; postcard, which has no field names,
//! writes every field), and when a device fetches the configuration again
//! ([`needs_fetch`]). The JSON form stays for other clients.

use serde::Serialize;
use serde::ser::{SerializeStruct as _, Serializer};

use super::{Config, FlagRule};
use crate::sync::protocol::{self, WireError};

/// The media type of the binary form, asked for with `Accept`.
pub const MEDIA_TYPE: &str = "application/x-lianxin-config";

/// The layout of [`Config`] in the binary form; raised whenever a field of `Config` (or of
/// anything in it) is added, removed or reordered, so an app of another layout keeps the
/// configuration it has instead of misreading one. Layout 3: `Flag` gained 临期 (`due_soon`)
/// and its variants were reordered.
pub const LAYOUT: u8 = 3;

impl Serialize for FlagRule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (rule, every_field) = (self, !serializer.is_human_readable());
        let mut s = serializer.serialize_struct("FlagRule", 7)?;
        s.serialize_field("flag", &rule.flag)?;
        if every_field || !rule.states.is_empty() {
            s.serialize_field("states", &rule.states)?;
        } else {
            s.skip_field("states")?;
        }
        macro_rules! optional {
            ($($field:ident),*) => {$(
                if every_field || rule.$field.is_some() {
                    s.serialize_field(stringify!($field), &rule.$field)?;
                } else {
                    s.skip_field(stringify!($field))?;
                }
            )*};
        }
        optional!(
            closed,
            overdue,
            due_within_days,
            rating_at_most,
            look_back_owed
        );
        s.end()
    }
}

/// Why a binary configuration was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigWireError {
    /// Not a message of a protocol version this build reads.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// Cut short, with bytes after its end, or a value out of its range.
    #[error("the configuration's bytes are corrupt")]
    Corrupt,
    /// Written for another layout of the configuration (an app older or newer than the server).
    #[error("configuration layout {found}, this app reads {LAYOUT}")]
    Layout {
        /// The layout the bytes name.
        found: u8,
    },
    /// A configuration no server would publish (it names no category).
    #[error("the configuration names no problem category")]
    Empty,
}

/// The binary form of a (validated) configuration.
pub fn encode(config: &Config) -> Vec<u8> {
    protocol::encode_plain(&(LAYOUT, config))
}

/// Reads the binary form. Written by hand over postcard's rules (a `u8` as a byte, other
/// integers as varints, a string or list by its length, an option by a 0/1 byte, an enum by its
/// variant's index, an `f64` as 8 little-endian bytes): serde's derived decoder for `Config`
/// was 6.4 KB of the app's wasm, this is a fraction of it. The tests read back what serde
/// writes, so a field added to `Config` and not here fails them.
pub fn decode(bytes: &[u8]) -> Result<Config, ConfigWireError> {
    protocol::check_header(bytes)?;
    let payload = protocol::plain_payload(bytes).ok_or(ConfigWireError::Corrupt)?;
    let mut r = Reader(payload);
    let layout = r.byte().ok_or(ConfigWireError::Corrupt)?;
    if layout != LAYOUT {
        return Err(ConfigWireError::Layout { found: layout });
    }
    let config = r.config().ok_or(ConfigWireError::Corrupt)?;
    if !r.0.is_empty() {
        return Err(ConfigWireError::Corrupt);
    }
    if config.categories.is_empty() {
        return Err(ConfigWireError::Empty);
    }
    Ok(config)
}

/// What is left of the payload to read.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*first)
    }

    fn varint(&mut self) -> Option<u32> {
        let mut value = 0u32;
        for shift in [0, 7, 14, 21, 28] {
            let b = self.byte()?;
            value |= u32::from(b & 0x7f).checked_shl(shift)?;
            if b < 0x80 {
                return Some(value);
            }
        }
        None
    }

    fn string(&mut self) -> Option<String> {
        let len = self.varint()? as usize;
        let text = self.0.get(..len)?;
        self.0 = &self.0[len..];
        String::from_utf8(text.to_vec()).ok()
    }

    fn label(&mut self) -> Option<super::Label> {
        Some(super::Label {
            zh: self.string()?,
            en: self.string()?,
        })
    }

    fn option<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        match self.byte()? {
            0 => Some(None),
            1 => read(self).map(Some),
            _ => None,
        }
    }

    fn list<T>(&mut self, mut read: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let len = self.varint()? as usize;
        // Every item takes at least a byte: a length beyond what is left is a lie.
        if len > self.0.len() {
            return None;
        }
        (0..len).map(|_| read(self)).collect()
    }

    fn bool(&mut self) -> Option<bool> {
        match self.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    fn of<T: Copy>(&mut self, all: &[T]) -> Option<T> {
        all.get(self.varint()? as usize).copied()
    }

    fn config(&mut self) -> Option<Config> {
        use super::{
            Category, CheckInRules, ClassLabels, ClockRules, FollowUp, MonitoringRules, SlaPolicy,
            TierNames,
        };
        use crate::model::{Flag, ProblemState};
        Some(Config {
            categories: self.list(|r| {
                Some(Category {
                    code: r.string()?,
                    zh: r.string()?,
                    en: r.string()?,
                })
            })?,
            classes: ClassLabels {
                A: self.label()?,
                B: self.label()?,
                C: self.label()?,
                D: self.label()?,
            },
            tiers: TierNames {
                on_site: self.label()?,
                department: self.label()?,
                city_leader: self.label()?,
            },
            sla: SlaPolicy {
                route_days: self.varint()?,
                first_feedback_days: self.varint()?,
                on_site_days: self.varint()?,
                routine_days: self.varint()?,
                major_days: self.varint()?,
            },
            flag_rules: self.list(|r| {
                Some(FlagRule {
                    flag: r.option(|r| r.of(Flag::ALL))?,
                    states: r.list(|r| r.of(ProblemState::ALL))?,
                    closed: r.option(Self::bool)?,
                    overdue: r.option(Self::bool)?,
                    due_within_days: r.option(Self::varint)?,
                    rating_at_most: r.option(Self::byte)?,
                    look_back_owed: r.option(Self::bool)?,
                })
            })?,
            default_flag: self.of(Flag::ALL)?,
            monitoring: MonitoringRules {
                power_drop_ratio: {
                    let bytes = self.0.get(..8)?.try_into().ok()?;
                    self.0 = &self.0[8..];
                    f64::from_le_bytes(bytes)
                },
                baseline_days: self.varint()?,
                min_baseline_days: self.varint()?,
                consecutive_days: self.varint()?,
            },
            hotline: self.string()?,
            clock: ClockRules {
                allowed_skew_minutes: self.varint()?,
                settle_within_hours: self.varint()?,
            },
            follow_up: FollowUp {
                bad_rating_at_most: self.byte()?,
                revisit_days: self.varint()?,
                look_back_days: self.varint()?,
            },
            check_in: CheckInRules {
                radius_m: self.varint()?,
            },
        })
    }
}

/// Whether a device holding configuration version `held` (none: the built-in defaults) fetches
/// `GET /api/config` after a sync answer announced `announced` (`X-Lianxin-Config`; none from
/// a server that does not announce one). A value that is not a version (1–64 ASCII letters and
/// digits) is ignored.
pub fn needs_fetch(held: Option<&str>, announced: Option<&str>) -> bool {
    let Some(announced) = announced else {
        return false;
    };
    let plausible =
        (1..=64).contains(&announced.len()) && announced.bytes().all(|b| b.is_ascii_alphanumeric());
    plausible && held != Some(announced)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Flag, ProblemState};

    /// Every flag-rule condition set, so the binary form is shown to carry each field.
    fn every_condition() -> Config {
        let mut config = Config::demo();
        config.flag_rules.push(FlagRule {
            flag: Some(Flag::Green),
            states: vec![ProblemState::Accepted],
            closed: Some(false),
            overdue: Some(false),
            due_within_days: Some(3),
            rating_at_most: Some(4),
            look_back_owed: Some(false),
        });
        config.categories.retain(|c| c.code != "power");
        config.sla.routine_days = 10;
        config.check_in.radius_m = 1_200;
        config
    }

    #[test]
    fn the_binary_form_reads_back_into_the_same_configuration() {
        for config in [Config::default(), Config::demo(), every_condition()] {
            let bytes = encode(&config);
            assert_eq!(decode(&bytes), Ok(config));
        }
    }

    #[test]
    fn json_and_toml_still_leave_out_the_conditions_a_rule_does_not_set() {
        let config = Config::demo();
        let json = serde_json::to_string(&config).expect("json");
        assert!(!json.contains("null"), "{json}");
        assert!(!json.contains("\"states\":[]"), "{json}");
        let read: Config = serde_json::from_str(&json).expect("reads back");
        assert_eq!(read, config);
        let toml = config.to_toml().expect("toml");
        assert_eq!(Config::from_toml(&toml), Ok(config));
        let rich = every_condition();
        let read: Config =
            serde_json::from_str(&serde_json::to_string(&rich).expect("json")).expect("reads");
        assert_eq!(read, rich);
    }

    #[test]
    fn another_layout_corrupt_bytes_and_no_categories_are_not_taken() {
        let mut other = protocol::encode_plain(&(LAYOUT + 1, Config::demo()));
        assert_eq!(
            decode(&other),
            Err(ConfigWireError::Layout { found: LAYOUT + 1 })
        );
        let mut cut = encode(&Config::demo());
        cut.truncate(cut.len() / 2);
        assert_eq!(decode(&cut), Err(ConfigWireError::Corrupt));
        let mut longer = encode(&Config::demo());
        longer.push(0);
        assert_eq!(decode(&longer), Err(ConfigWireError::Corrupt));
        other.truncate(3);
        assert!(matches!(decode(&other), Err(ConfigWireError::Wire(_))));
        let mut empty = Config::demo();
        empty.categories.clear();
        assert_eq!(decode(&encode(&empty)), Err(ConfigWireError::Empty));
    }

    #[test]
    fn a_device_fetches_only_when_the_announced_version_is_not_the_one_it_holds() {
        let v = "0123456789abcdef0123456789abcdef";
        assert!(needs_fetch(None, Some(v)), "defaults, a version announced");
        assert!(needs_fetch(Some("00ff"), Some(v)), "another version held");
        assert!(!needs_fetch(Some(v), Some(v)), "the same version held");
        assert!(!needs_fetch(Some(v), None), "a server that announces none");
        assert!(!needs_fetch(None, None));
        for junk in ["", "abc def", "../x", &"a".repeat(65)] {
            assert!(!needs_fetch(None, Some(junk)), "{junk:?}");
        }
    }
}
