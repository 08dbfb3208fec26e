//! Positions on the earth and the check-in evidence of a visit.

use serde::{Deserialize, Serialize};

use super::time::Timestamp;

/// A position is outside the earth or its accuracy is not a distance.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PositionError {
    /// Latitude outside −90..=90.
    #[error("latitude {0} is outside -90..90")]
    Latitude(f64),
    /// Longitude outside −180..=180.
    #[error("longitude {0} is outside -180..180")]
    Longitude(f64),
    /// Accuracy negative or not finite.
    #[error("accuracy {0} m is not a distance")]
    Accuracy(f64),
}

/// A WGS-84 position with the device's reported accuracy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// Degrees north.
    pub lat: f64,
    /// Degrees east.
    pub lon: f64,
    /// Radius of the 68% confidence circle, in metres.
    pub accuracy_m: f64,
}

impl Position {
    /// Checks ranges; the only way to build a `Position`.
    pub fn new(lat: f64, lon: f64, accuracy_m: f64) -> Result<Self, PositionError> {
        if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
            return Err(PositionError::Latitude(lat));
        }
        if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
            return Err(PositionError::Longitude(lon));
        }
        if !(accuracy_m.is_finite() && accuracy_m >= 0.0) {
            return Err(PositionError::Accuracy(accuracy_m));
        }
        Ok(Position {
            lat,
            lon,
            accuracy_m,
        })
    }
}

/// Mean earth radius (IUGG), in metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

impl Position {
    /// Great-circle distance to `other` in metres (haversine on a sphere of the mean earth
    /// radius: within 0.5% of the ellipsoid's, far below a phone's accuracy). What a check-in
    /// is measured from the enterprise's registered position with (签到距离).
    pub fn distance_m(&self, other: &Position) -> f64 {
        use trig::{asin, cos, sin};
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let (sp, sl) = (sin(dp / 2.0), sin(dl / 2.0));
        let h = sp * sp + cos(p1) * cos(p2) * sl * sl;
        2.0 * EARTH_RADIUS_M * asin(h.sqrt().min(1.0))
    }
}

/// Sine, cosine and arcsine for [`Position::distance_m`]: in the browser the JavaScript
/// engine's `Math` (the phone's download then carries no trigonometry of its own: libm's
/// `sin`/`cos` bring their argument reduction and its tables), natively the standard
/// library's.
#[cfg(target_arch = "wasm32")]
mod trig {
    pub use js_sys::Math::{asin, cos, sin};
}

#[cfg(not(target_arch = "wasm32"))]
mod trig {
    pub fn sin(x: f64) -> f64 {
        x.sin()
    }
    pub fn cos(x: f64) -> f64 {
        x.cos()
    }
    pub fn asin(x: f64) -> f64 {
        x.asin()
    }
}

/// What the device could tell about where it was at check-in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PositionFix {
    /// A position was obtained.
    Fixed(Position),
    /// The person refused location permission: recorded, not fatal.
    PermissionRefused,
    /// No position could be had (timeout, no hardware), with the device's reason.
    Unavailable(String),
}

/// 签到: on-site check-in evidence of a visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckIn {
    /// The device's clock at check-in (not trusted for ordering; the server records its own).
    pub device_time: Timestamp,
    /// Where the device was, or why it could not tell.
    pub position: PositionFix,
    /// Hash of an optional photo taken at check-in.
    pub photo_hash: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_are_great_circle_metres() {
        let p = |lat, lon| Position::new(lat, lon, 10.0).expect("on earth");
        assert_eq!(p(35.07, 112.6).distance_m(&p(35.07, 112.6)), 0.0);
        // A thousandth of a degree of latitude is about 111 m anywhere.
        let d = p(35.07, 112.6).distance_m(&p(35.071, 112.6));
        assert!((d - 111.2).abs() < 0.5, "{d}");
        // Jiyuan to Zhengzhou, about 100 km.
        let d = p(35.09, 112.60).distance_m(&p(34.75, 113.63));
        assert!((d - 100_000.0).abs() < 5_000.0, "{d}");
        // Antipodes: half the circumference, no NaN.
        let d = p(0.0, 0.0).distance_m(&p(0.0, 180.0));
        assert!((d - 20_015_114.0).abs() < 10.0, "{d}");
    }

    #[test]
    fn positions_outside_the_earth_are_refused() {
        assert!(Position::new(35.07, 112.6, 12.0).is_ok());
        assert_eq!(
            Position::new(91.0, 0.0, 1.0),
            Err(PositionError::Latitude(91.0))
        );
        assert_eq!(
            Position::new(0.0, -181.0, 1.0),
            Err(PositionError::Longitude(-181.0))
        );
        assert!(matches!(
            Position::new(0.0, 0.0, f64::NAN),
            Err(PositionError::Accuracy(_))
        ));
    }
}
