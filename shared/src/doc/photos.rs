//! Photos in a record's document (visits and problems alike): a `photos` map keyed by the
//! photo's hash, each entry a map of `size`, `type`, `caption`, `taken_at` and optionally
//! `lat`/`lon`/`accuracy_m`. Keyed by hash, so two devices adding photos concurrently keep
//! both and the same photo twice is one (also when two devices each made the map: every
//! concurrent map is read). Documents from before photos have no map: no photos.

use automerge::{ObjId, ROOT};

use super::DocError;
use super::fields::{Reader, Writer};
use crate::model::{Photo, Position, Timestamp};

/// Adds `photo` (or rewrites its entry) under the document's `photos`.
pub(super) fn add(w: &mut Writer<'_>, photo: &Photo) -> Result<(), DocError> {
    let e = match w.entry(&ROOT, "photos", &photo.hash)? {
        Some(e) => e,
        None => w.new_entry(&ROOT, "photos", &photo.hash)?,
    };
    w.put(&e, "size", photo.size as i64)?;
    w.put(&e, "type", photo.media_type.as_str())?;
    w.put(&e, "caption", photo.caption.as_str())?;
    w.put(&e, "taken_at", photo.taken_at.0)?;
    if let Some(p) = &photo.position {
        w.put(&e, "lat", p.lat)?;
        w.put(&e, "lon", p.lon)?;
        w.put(&e, "accuracy_m", p.accuracy_m)?;
    }
    Ok(())
}

fn read_one(r: &mut Reader<'_>, hash: String, e: &ObjId) -> Result<Photo, DocError> {
    let size = r.i64(e, "size", "photos.size")?;
    let position = match r.opt_f64(e, "lat", "photos.lat")? {
        Some(lat) => {
            let lon = r.f64(e, "lon", "photos.lon")?;
            let acc = r.f64(e, "accuracy_m", "photos.accuracy_m")?;
            Some(
                Position::new(lat, lon, acc).map_err(|e| DocError::BadValue {
                    field: "photos.lat".into(),
                    error: e.to_string(),
                })?,
            )
        }
        None => None,
    };
    Ok(Photo {
        size: u64::try_from(size).unwrap_or(0),
        media_type: r.str(e, "type", "photos.type")?,
        caption: r
            .opt_str(e, "caption", "photos.caption")?
            .unwrap_or_default(),
        taken_at: Timestamp(r.i64(e, "taken_at", "photos.taken_at")?),
        position,
        hash,
    })
}

/// The document's photos, in the order taken. Two devices that each added the first photos
/// of an older document made a `photos` map each: the entries of both are read.
pub(super) fn read(r: &mut Reader<'_>) -> Result<Vec<Photo>, DocError> {
    let mut out: Vec<Photo> = Vec::new();
    for (hash, e) in r.entries_of_all(&ROOT, "photos")? {
        if out.iter().any(|p| p.hash == hash) {
            continue;
        }
        let photo = read_one(r, hash, &e)?;
        // Insertion keeps taken_at order (then the order read) without a sort.
        let at = out
            .iter()
            .position(|p| p.taken_at > photo.taken_at)
            .unwrap_or(out.len());
        out.insert(at, photo);
    }
    Ok(out)
}
