//! Tests of the 连心卡's tokens, limits and page data.

use super::*;

#[test]
fn a_token_is_forty_hex_digits_of_fresh_randomness_keyed_by_its_hash() {
    let (a, hash_a) = new_token();
    let (b, _) = new_token();
    assert!(well_formed(&a) && well_formed(&b) && a != b);
    assert_eq!(token_hash(&a), hash_a);
    assert!(!well_formed("ABC") && !well_formed(&a.to_uppercase()));
}

#[test]
fn a_flood_is_limited_per_card_and_per_address() {
    let card = CardService::new(CardLimits {
        per_token: 2,
        per_address: 3,
        window_ms: 1000,
        max_keys: 100,
    });
    let here = Some(std::net::IpAddr::from([10, 0, 0, 1]));
    let there = Some(std::net::IpAddr::from([10, 0, 0, 2]));
    let (a, _) = new_token();
    let (b, _) = new_token();
    assert!(card.admit_address(here, 0).is_ok() && card.admit_card(&a, 0).is_ok());
    assert!(card.admit_address(here, 1).is_ok() && card.admit_card(&a, 1).is_ok());
    assert!(card.admit_address(there, 2).is_ok());
    assert!(
        matches!(card.admit_card(&a, 2), Err(CardError::Limited(1))),
        "the card's limit, whatever the address; again in a second"
    );
    assert!(card.admit_address(here, 3).is_ok() && card.admit_card(&b, 3).is_ok());
    assert!(matches!(
        card.admit_address(here, 4),
        Err(CardError::Limited(_))
    ));
    assert!(card.admit_address(there, 5).is_ok(), "another address");
    assert_eq!(card.tracked(), (2, 2));
}

#[tokio::test]
async fn past_the_work_slots_and_the_queue_a_request_is_busy_at_once() {
    let card = CardService::default();
    let mut turns = Vec::new();
    for _ in 0..WORK_SLOTS {
        turns.push(card.turn().await.expect("a free slot"));
    }
    let started = std::time::Instant::now();
    assert!(
        matches!(card.turn().await, Err(CardError::Busy)),
        "no slot within the wait"
    );
    assert!(started.elapsed() >= WAIT);
    let waiting: Vec<_> = (0..QUEUE).map(|_| card.turn()).collect();
    let waiting = futures_util::future::join_all(waiting);
    let (waited, beyond) = tokio::join!(waiting, async {
        tokio::task::yield_now().await;
        let started = std::time::Instant::now();
        // The queue is full of waiters: one more is refused without waiting.
        let r = card.turn().await;
        (r.map(|_| ()), started.elapsed())
    });
    let _ = waited;
    assert!(matches!(beyond.0, Err(CardError::Busy)));
    assert!(beyond.1 < WAIT / 2, "{:?}", beyond.1);
    drop(turns);
    assert!(card.turn().await.is_ok(), "a slot freed is taken");
}

#[test]
fn texts_are_checked_before_anything_is_loaded() {
    let config = Config::default();
    let id = ProblemId::from_random_bytes([1; 16]);
    assert!(validate(&CardRequest::Dispute(id, " ".into()), &config).is_err());
    assert!(
        validate(
            &CardRequest::Rate(id, Rating::Satisfied, "好".repeat(MAX_TEXT + 1)),
            &config
        )
        .is_err()
    );
    let raise = |category: &str| CardRequest::Raise {
        category: category.into(),
        description: "停电".into(),
        expectation: String::new(),
    };
    assert!(validate(&raise("power"), &config).is_ok());
    assert!(validate(&raise("nonsense"), &config).is_err());
}
