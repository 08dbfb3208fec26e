//! Photos on records: what a visit's and a problem's documents keep of each photo, how older
//! documents read, the bounds the server checks, and the one list of a record's blobs.

mod common;

use common::*;
use shared::config::Config;
use shared::doc::DocKind;
use shared::model::photo::{MAX_PHOTO_BYTES, MAX_PHOTOS};
use shared::model::{Photo, Position};
use shared::sync::protocol::DocId;
use shared::sync::validate;

fn photo(n: u8, taken_at: i64) -> Photo {
    Photo {
        hash: format!("{n:02x}").repeat(32),
        size: 180_000 + u64::from(n),
        media_type: "image/jpeg".into(),
        caption: if n == 1 {
            "车间外墙裂缝".into()
        } else {
            String::new()
        },
        taken_at: at(taken_at),
        position: (n == 1).then(|| Position::new(35.09, 112.59, 12.0).expect("valid")),
    }
}

fn visit_id(doc: &shared::doc::VisitDoc) -> DocId {
    let id = doc.read().expect("reads").id;
    DocId::new(DocKind::Visit, &id.to_string())
}

#[test]
fn a_visits_photos_survive_save_and_load_in_the_order_taken() {
    let wang = officer_wang();
    let mut doc = visit_by_wang();
    let (late, early) = (photo(1, 2), photo(2, 1));
    doc.edit(&wang.actor, at(0), |v| {
        v.add_photo(&late)?;
        v.add_photo(&early)
    })
    .expect("photos added");
    let bytes = doc.record().save();
    let loaded = shared::doc::VisitDoc::load(&bytes, officer_li().actor_id()).expect("loads");
    let visit = loaded.read().expect("reads");
    assert_eq!(visit.photos, vec![early.clone(), late.clone()]);
    assert_eq!(
        visit.photo_hashes(),
        vec![early.hash.as_str(), late.hash.as_str()]
    );
}

#[test]
fn a_visit_from_before_photos_has_none_and_keeps_its_check_in_photo() {
    let wang = officer_wang();
    let mut doc = visit_by_wang();
    let old = "ab".repeat(32);
    doc.edit(&wang.actor, at(0), |v| {
        let mut check_in = v_check_in();
        check_in.photo_hash = Some(old.clone());
        v.set_check_in(&check_in)
    })
    .expect("older app's check-in photo");
    let visit = doc.read().expect("reads");
    assert!(visit.photos.is_empty());
    assert_eq!(visit.photo_hashes(), vec![old.as_str()]);
}

fn v_check_in() -> shared::model::CheckIn {
    visit_by_wang()
        .read()
        .expect("reads")
        .check_in
        .expect("on site")
}

#[test]
fn photos_added_on_two_devices_at_once_are_both_kept_and_the_same_photo_is_one() {
    let (wang, li) = (officer_wang(), officer_li());
    let mut a = visit_by_wang();
    let mut b =
        shared::doc::VisitDoc::load(&a.record().save(), li.actor_id()).expect("li's replica");
    a.edit(&wang.actor, at(1), |v| {
        v.add_photo(&photo(1, 1))?;
        v.add_photo(&photo(3, 3))
    })
    .expect("wang adds");
    b.edit(&li.actor, at(1), |v| {
        v.add_photo(&photo(2, 2))?;
        v.add_photo(&photo(3, 3))
    })
    .expect("li adds");
    a.record().merge(b.record()).expect("merges");
    let hashes: Vec<String> = a
        .read()
        .expect("reads")
        .photos
        .into_iter()
        .map(|p| p.hash)
        .collect();
    assert_eq!(
        hashes,
        vec![photo(1, 1).hash, photo(2, 2).hash, photo(3, 3).hash]
    );
}

#[test]
fn a_problems_photos_join_its_attachments_in_the_list_of_its_blobs() {
    let wang = officer_wang();
    let mut doc = problem_by_wang();
    let attached = "cd".repeat(32);
    doc.edit(&Config::default(), &wang.actor, at(1), |p| {
        p.add_attachment(&attached)?;
        p.add_photo(&photo(1, 1))?;
        // The same blob as a photo too: listed once.
        p.add_photo(&Photo {
            hash: attached.clone(),
            ..photo(2, 2)
        })
    })
    .expect("edited");
    let problem = doc.read().expect("reads");
    assert_eq!(problem.photos.len(), 2);
    assert_eq!(
        problem.photo_hashes(),
        vec![attached.as_str(), photo(1, 1).hash.as_str()]
    );
}

/// The server's judgement of a visit carrying `photos`.
fn judged(photos: &[Photo]) -> Result<(), String> {
    let wang = officer_wang();
    let mut doc = visit_by_wang();
    doc.edit(&wang.actor, at(1), |v| {
        photos.iter().try_for_each(|p| v.add_photo(p))
    })
    .expect("written");
    let id = visit_id(&doc);
    validate::validate(&id, doc.record(), &Config::default())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn the_server_takes_photos_within_the_bounds() {
    let photos: Vec<Photo> = (1..=MAX_PHOTOS as u8)
        .map(|n| photo(n, i64::from(n)))
        .collect();
    assert_eq!(judged(&photos), Ok(()));
}

#[test]
fn the_server_refuses_a_photo_whose_hash_is_not_a_sha256() {
    let bad = Photo {
        hash: "AB".repeat(32),
        ..photo(1, 1)
    };
    let refused = judged(&[bad]).expect_err("upper-case hex is no blob name");
    assert!(refused.contains("not a SHA-256"), "{refused}");
    let short = Photo {
        hash: "ab".into(),
        ..photo(1, 1)
    };
    assert!(judged(&[short]).is_err());
}

#[test]
fn the_server_refuses_an_empty_or_oversized_photo_and_a_type_that_is_no_photo() {
    for size in [0, MAX_PHOTO_BYTES + 1] {
        let refused = judged(&[Photo {
            size,
            ..photo(1, 1)
        }])
        .expect_err("size out of bounds");
        assert!(refused.contains("bytes"), "{refused}");
    }
    let refused = judged(&[Photo {
        media_type: "text/html".into(),
        ..photo(1, 1)
    }])
    .expect_err("not a photo's type");
    assert!(refused.contains("text/html"), "{refused}");
}

#[test]
fn the_server_refuses_more_photos_than_a_record_may_hold_and_overlong_captions() {
    let photos: Vec<Photo> = (1..=MAX_PHOTOS as u8 + 1)
        .map(|n| photo(n, i64::from(n)))
        .collect();
    let refused = judged(&photos).expect_err("one too many");
    assert!(refused.contains("photos on one record"), "{refused}");
    let refused = judged(&[Photo {
        caption: "字".repeat(201),
        ..photo(1, 1)
    }])
    .expect_err("caption too long");
    assert!(refused.contains("caption"), "{refused}");
}
