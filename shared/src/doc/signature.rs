//! The enterprise's signature in a record's document: `sig_hash`, `sig_size` and `sig_type`
//! beside what it signs (a visit's `confirmation` map, which also holds the signer's name and
//! time; a problem's `confirm` event, with the signer's name as `sig_name`). Written in the
//! same change as what it signs. Entries without `sig_hash` are unsigned (all older ones).

use automerge::ObjId;

use super::DocError;
use super::fields::{Reader, Writer};
use crate::model::Signature;

/// Writes `signature` into `obj`.
pub(super) fn write(
    w: &mut Writer<'_>,
    obj: &ObjId,
    signature: &Signature,
) -> Result<(), DocError> {
    w.put(obj, "sig_hash", signature.hash.as_str())?;
    w.put(
        obj,
        "sig_size",
        i64::try_from(signature.size).unwrap_or(i64::MAX),
    )?;
    w.put(obj, "sig_type", signature.media_type.as_str())
}

/// The signature in `obj`, if it holds one (`label` names `obj` in errors).
pub(super) fn read(
    r: &mut Reader<'_>,
    obj: &ObjId,
    label: &str,
) -> Result<Option<Signature>, DocError> {
    let Some(hash) = r.opt_str(obj, "sig_hash", &format!("{label}.sig_hash"))? else {
        return Ok(None);
    };
    let size = r.i64(obj, "sig_size", &format!("{label}.sig_size"))?;
    Ok(Some(Signature {
        hash,
        size: u64::try_from(size).unwrap_or(0),
        media_type: r.str(obj, "sig_type", &format!("{label}.sig_type"))?,
    }))
}
