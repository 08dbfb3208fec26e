//! The domain model in the product's words. Values are parsed once at the boundary into types
//! that cannot be invalid; everything downstream takes them as given.

pub mod codes;
pub mod credit_code;
pub mod geo;
pub mod ids;
pub mod org;
pub mod photo;
pub mod records;
pub mod signature;
pub mod time;

pub use codes::*;
pub use credit_code::{CreditCode, CreditCodeError};
pub use geo::{CheckIn, Position, PositionError, PositionFix};
pub use ids::*;
pub use org::{Assignment, OrgUnit, User};
pub use photo::{Photo, PhotoError};
pub use records::*;
pub use signature::{SIGNATURE_TYPE, Signature, SignatureError, SignedConfirmation};
pub use time::{DAY_MS, IsoWeek, Month, Timestamp};
