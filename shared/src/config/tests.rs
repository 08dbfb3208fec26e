//! Tests of the district configuration: defaults, TOML and JSON round trips, validation.

use super::*;

#[test]
fn the_demo_configuration_is_valid_and_has_twelve_categories() {
    let c = Config::demo();
    assert_eq!(c.validate(), Ok(()));
    assert_eq!(c.categories.len(), 12);
    assert_eq!(c.category("labour").map(|c| c.zh.as_str()), Some("用工"));
}

#[test]
fn monitoring_rules_of_zero_days_are_violations() {
    let mut c = Config::demo();
    c.monitoring.consecutive_days = 0;
    c.monitoring.min_baseline_days = 0;
    let Err(ConfigError::Invalid(errors)) = c.validate() else {
        panic!("zero days accepted");
    };
    assert_eq!(
        errors,
        vec![
            "monitoring.consecutive_days is 0: use at least 1 day".to_string(),
            "monitoring.min_baseline_days is 0: use at least 1 day".to_string(),
        ]
    );
}

#[test]
fn a_power_drop_ratio_outside_zero_to_one_is_a_violation() {
    for ratio in [0.0, 1.5, f64::NAN] {
        let mut c = Config::demo();
        c.monitoring.power_drop_ratio = ratio;
        let Err(ConfigError::Invalid(errors)) = c.validate() else {
            panic!("ratio {ratio} accepted");
        };
        assert!(
            errors.iter().any(|e| e.contains("power_drop_ratio")),
            "{errors:?}"
        );
    }
}

#[test]
fn the_demo_configuration_survives_a_round_trip_through_json() {
    let c = Config::demo();
    let text = serde_json::to_string(&c).expect("serializable");
    assert_eq!(
        serde_json::from_str::<Config>(&text).expect("reads back"),
        c
    );
}

#[test]
fn the_demo_configuration_survives_a_round_trip_through_toml() {
    let c = Config::demo();
    let text = c.to_toml().expect("serializable");
    assert_eq!(Config::from_toml(&text), Ok(c));
}

#[test]
fn a_partial_file_keeps_the_defaults_for_what_it_omits() {
    let c = Config::from_toml("hotline = \"12345\"\n[sla]\nroute_days = 1\nfirst_feedback_days = 2\non_site_days = 1\nroutine_days = 5\nmajor_days = 20\n")
        .expect("valid");
    assert_eq!(c.sla.routine_days, 5);
    assert_eq!(c.categories.len(), 12);
}

#[test]
fn the_allowed_clock_skew_is_configured_in_minutes_up_to_a_day() {
    assert_eq!(Config::default().clock.allowed_skew_ms(), 10 * 60_000);
    let c = Config::from_toml("hotline = \"12345\"\n[clock]\nallowed_skew_minutes = 30\n")
        .expect("valid");
    assert_eq!(c.clock.allowed_skew_ms(), 30 * 60_000);
    let err = Config::from_toml("[clock]\nallowed_skew_minutes = 2000\n").expect_err("too long");
    assert!(
        err.to_string().contains("clock.allowed_skew_minutes"),
        "{err}"
    );
}

#[test]
fn the_settling_window_is_configured_in_hours_up_to_a_month() {
    assert_eq!(Config::default().clock.settle_within_ms(), 24 * 3_600_000);
    let c = Config::from_toml("hotline = \"12345\"\n[clock]\nsettle_within_hours = 2\n")
        .expect("valid");
    assert_eq!(c.clock.settle_within_ms(), 2 * 3_600_000);
    for hours in [0, 721] {
        let err = Config::from_toml(&format!(
            "hotline = \"12345\"\n[clock]\nsettle_within_hours = {hours}\n"
        ))
        .expect_err("outside 1 to 720");
        assert!(
            err.to_string().contains("clock.settle_within_hours"),
            "{err}"
        );
    }
}

#[test]
fn every_violation_is_reported_at_once() {
    let text = r#"
        default_flag = "red"
        hotline = "12345"
        [[categories]]
        code = "Land Use"
        zh = "用地"
        en = ""
        [[categories]]
        code = "Land Use"
        zh = "用地"
        en = "Land"
        [sla]
        route_days = 0
        first_feedback_days = 3
        on_site_days = 1
        routine_days = 40
        major_days = 30
    "#;
    let Err(ConfigError::Invalid(errors)) = Config::from_toml(text) else {
        panic!("expected an invalid configuration");
    };
    for expected in [
        "category 1 has code",
        "category \"Land Use\" needs both",
        "category 2 has code",
        "appears twice",
        "sla.route_days is 0",
        "sla days must grow",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{expected:?} missing from {errors:#?}"
        );
    }
    assert_eq!(errors.len(), 6, "{errors:#?}");
}

#[test]
fn a_file_without_a_hotline_is_refused_by_name_with_the_other_errors() {
    let text = "[sla]\nroute_days = 0\nfirst_feedback_days = 3\non_site_days = 1\n\
                routine_days = 7\nmajor_days = 30\n";
    let Err(ConfigError::Invalid(errors)) = Config::from_toml(text) else {
        panic!("a configuration without a hotline was accepted");
    };
    assert!(
        errors.iter().any(|e| e.starts_with("hotline is missing")),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("sla.route_days is 0")),
        "{errors:#?}"
    );
    assert_eq!(errors.len(), 2, "{errors:#?}");
    let with = Config::from_toml("hotline = \"0391-1234567\"\n").expect("valid");
    assert_eq!(with.hotline, "0391-1234567");
    assert_ne!(
        Config::default().hotline,
        Config::demo().hotline,
        "the demo's number is the demo's only"
    );
}

#[test]
fn unknown_states_and_fields_are_parse_errors_naming_the_problem() {
    let err = Config::from_toml("[[flag_rules]]\nflag = \"black\"\nstates = [\"lost\"]\n")
        .expect_err("unknown state");
    assert!(err.to_string().contains("lost"), "{err}");
    let err = Config::from_toml("colour = 1\n").expect_err("unknown field");
    assert!(err.to_string().contains("colour"), "{err}");
}

#[test]
fn the_check_in_radius_is_configured_in_metres_within_bounds() {
    assert_eq!(Config::default().check_in.radius_m, 500);
    let c = Config::from_toml("hotline = \"12345\"\n[check_in]\nradius_m = 800\n").expect("valid");
    assert_eq!(c.check_in.radius_m, 800);
    for metres in [0, 9, 50_001] {
        let err = Config::from_toml(&format!(
            "hotline = \"12345\"\n[check_in]\nradius_m = {metres}\n"
        ))
        .expect_err("out of bounds");
        assert!(err.to_string().contains("check_in.radius_m"), "{err}");
    }
}
