//! 签到核验: how far a visit's check-in was from the enterprise. A check-in is measured from the
//! enterprise's registered position: on the server, the position its projection registers
//! (the profile's, else the first check-in with a position it received); on the device, the
//! profile's, else the enterprise's earliest check-in with a position among the visits on the
//! device ([`registered_position`]). Both measure with [`check_in_distance`]; the district's
//! [`CheckInRules`](crate::config::CheckInRules) say which check-ins are marked.

use crate::model::{Enterprise, Position, PositionFix, Visit};

/// Where a visit's check-in was, if the device could tell.
pub fn check_in_position(visit: &Visit) -> Option<&Position> {
    match &visit.check_in.as_ref()?.position {
        PositionFix::Fixed(p) => Some(p),
        PositionFix::PermissionRefused | PositionFix::Unavailable(_) => None,
    }
}

/// The distance in metres of a check-in at `at` from the enterprise's registered position
/// (great-circle, [`Position::distance_m`]); none when either is unknown.
pub fn check_in_distance(at: Option<&Position>, registered: Option<&Position>) -> Option<f64> {
    Some(at?.distance_m(registered?))
}

/// The position `visit`'s enterprise is registered at on the device: its profile's
/// (`enterprise`, when the device holds it), else the position of its earliest check-in (by
/// the device's clock) among `visits`, the visits on the device (other enterprises' skipped).
pub fn registered_position<'a>(
    enterprise: Option<&'a Enterprise>,
    visit: &Visit,
    visits: &'a [Visit],
) -> Option<&'a Position> {
    if let Some(p) = enterprise.and_then(|e| e.position.as_ref()) {
        return Some(p);
    }
    visits
        .iter()
        .filter(|v| v.enterprise == visit.enterprise)
        .filter_map(|v| Some((v.check_in.as_ref()?.device_time, check_in_position(v)?)))
        .min_by_key(|(at, _)| *at)
        .map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::config::CheckInRules;
    use crate::model::{
        CheckIn, CreditCode, DeviceId, EnterpriseId, EnterpriseSize, OperatingStatus, OrgUnitId,
        Stamp, Timestamp, UserId, VisitId, VisitMethod,
    };

    fn at(lat: f64, lon: f64) -> Position {
        Position::new(lat, lon, 20.0).expect("on earth")
    }

    fn enterprise(id: EnterpriseId, position: Option<Position>) -> Enterprise {
        Enterprise {
            id,
            credit_code: CreditCode::parse("91350100M000100Y43").expect("valid"),
            name: "济源市示例特钢有限公司".into(),
            address: String::new(),
            town: OrgUnitId::from_random_bytes([1; 16]),
            industry: String::new(),
            size: EnterpriseSize::AboveDesignated,
            key_enterprise: false,
            position,
            contacts: Default::default(),
            needs_decision: Vec::new(),
        }
    }

    fn visit(n: u8, enterprise: EnterpriseId, time: i64, fix: PositionFix) -> Visit {
        Visit {
            id: VisitId::from_random_bytes([n; 16]),
            enterprise,
            officers: BTreeSet::new(),
            method: VisitMethod::OnSite,
            check_in: Some(CheckIn {
                device_time: Timestamp(time),
                position: fix,
                photo_hash: None,
            }),
            attendees: BTreeSet::new(),
            notes: String::new(),
            operating_status: OperatingStatus::Normal,
            problems: BTreeSet::new(),
            confirmation: None,
            photos: Vec::new(),
            created: Stamp {
                by: UserId::from_random_bytes([9; 16]),
                device: DeviceId::from_random_bytes([8; 16]),
                at: Timestamp(time),
            },
            needs_decision: Vec::new(),
        }
    }

    #[test]
    fn a_check_in_is_measured_from_the_profiles_position() {
        let id = EnterpriseId::from_random_bytes([3; 16]);
        let profile = enterprise(id, Some(at(35.07, 112.6)));
        // 0.0207° of latitude north: about 2.3 km.
        let away = visit(1, id, 2_000, PositionFix::Fixed(at(35.0907, 112.6)));
        let visits = [
            visit(2, id, 1_000, PositionFix::Fixed(at(35.2, 112.6))),
            away.clone(),
        ];
        let from = registered_position(Some(&profile), &away, &visits);
        let d = check_in_distance(check_in_position(&away), from).expect("measured");
        assert!((d - 2_302.0).abs() < 5.0, "{d}");
        assert!(CheckInRules::default().marks(away.method, Some(d)));
    }

    #[test]
    fn without_a_profile_position_the_earliest_check_in_with_a_position_registers_it() {
        let id = EnterpriseId::from_random_bytes([3; 16]);
        let other = EnterpriseId::from_random_bytes([4; 16]);
        let visits = [
            visit(1, id, 3_000, PositionFix::Fixed(at(35.0907, 112.6))),
            // Earliest of all, but another enterprise's.
            visit(2, other, 500, PositionFix::Fixed(at(10.0, 10.0))),
            // Earlier, but without a position.
            visit(3, id, 1_000, PositionFix::PermissionRefused),
            visit(4, id, 2_000, PositionFix::Fixed(at(35.07, 112.6))),
        ];
        let profile = enterprise(id, None);
        let from = registered_position(Some(&profile), &visits[0], &visits);
        assert_eq!(from, Some(&at(35.07, 112.6)));
        // The earliest check-in itself is where the enterprise is.
        let own = check_in_distance(check_in_position(&visits[3]), from);
        assert_eq!(own, Some(0.0));
        // No profile on the device: the same.
        assert_eq!(registered_position(None, &visits[0], &visits), from);
    }

    #[test]
    fn a_check_in_without_a_position_has_no_distance_and_is_marked_when_on_site() {
        let id = EnterpriseId::from_random_bytes([3; 16]);
        let refused = visit(1, id, 1_000, PositionFix::PermissionRefused);
        let profile = enterprise(id, Some(at(35.07, 112.6)));
        let from = registered_position(Some(&profile), &refused, std::slice::from_ref(&refused));
        assert_eq!(check_in_distance(check_in_position(&refused), from), None);
        let rules = CheckInRules::default();
        assert!(rules.marks(VisitMethod::OnSite, None));
        // A visit by phone is not measured.
        assert!(!rules.marks(VisitMethod::Phone, None));
    }

    #[test]
    fn a_check_in_within_the_radius_is_not_marked() {
        let rules = CheckInRules { radius_m: 500 };
        assert!(!rules.marks(VisitMethod::OnSite, Some(0.0)));
        assert!(!rules.marks(VisitMethod::OnSite, Some(500.0)));
        assert!(rules.marks(VisitMethod::OnSite, Some(500.5)));
    }
}
