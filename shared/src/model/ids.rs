//! Identifiers made on the device: random UUIDs built from bytes the caller supplies, so records
//! can be created offline and a retried creation is the same record, not a second one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A malformed identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} id {input:?} is not a UUID")]
pub struct IdError {
    /// Which kind of id was being parsed.
    pub kind: &'static str,
    /// The rejected input.
    pub input: String,
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Builds an id from 16 random bytes (a version-4 UUID); the caller supplies the
            /// randomness so the core never touches an entropy source itself.
            pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
                Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
            }

            /// The id's 16 bytes.
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }

            /// Parses the hyphenated UUID form.
            pub fn parse(input: &str) -> Result<Self, IdError> {
                Uuid::parse_str(input).map(Self).map_err(|_| IdError {
                    kind: $kind,
                    input: input.chars().take(64).collect(),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

id_type!(
    /// An enterprise (企业).
    EnterpriseId,
    "enterprise"
);
id_type!(
    /// A visit (走访), the record of one 连心卡.
    VisitId,
    "visit"
);
id_type!(
    /// A problem (问题/诉求) raised by or for an enterprise.
    ProblemId,
    "problem"
);
id_type!(
    /// A person who logs in.
    UserId,
    "user"
);
id_type!(
    /// A registered phone or browser.
    DeviceId,
    "device"
);
id_type!(
    /// An org unit: the zone, a town/street/park, or a department.
    OrgUnitId,
    "org unit"
);
id_type!(
    /// An entry inside a document's log: a progress note, a supervision instruction, a
    /// workflow event, a contact.
    EntryId,
    "entry"
);
