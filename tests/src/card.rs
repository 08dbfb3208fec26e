//! Helpers for the 连心卡's tests: a demo enterprise with a problem answered and waiting for
//! the enterprise's word, and reading a QR code back from a PNG screenshot (pure Rust: `png`
//! and `rqrr`).

use anyhow::Context as _;
use server::demo::DemoDistrict;
use shared::doc::{DocKind, ProblemDoc};
use shared::model::{EnterpriseId, Problem, ProblemState, Role};
use shared::workflow::replay;

/// Every problem of the demo district, as generated.
///
/// # Errors
/// When a document does not read.
pub fn problems(district: &DemoDistrict) -> anyhow::Result<Vec<Problem>> {
    district
        .documents
        .iter()
        .filter(|(id, _)| id.kind() == DocKind::Problem)
        .map(|(_, doc)| Ok(ProblemDoc::from_record(doc.clone())?.read()?))
        .collect()
}

/// The login of an officer assigned to `enterprise` now, if any.
pub fn officer_of(district: &DemoDistrict, enterprise: EnterpriseId) -> Option<String> {
    district
        .assignments
        .iter()
        .filter(|a| a.enterprise == enterprise && a.valid_to.is_none())
        .find_map(|a| {
            district
                .users
                .iter()
                .find(|u| u.user.id == a.user && u.user.role == Role::Officer)
                .map(|u| u.user.login.clone())
        })
}

/// An enterprise with a problem that was answered and waits for the enterprise's
/// confirmation, that problem, and the login of the enterprise's officer.
///
/// # Errors
/// When the demo has none.
pub fn answered(district: &DemoDistrict) -> anyhow::Result<(EnterpriseId, Problem, String)> {
    for p in problems(district)? {
        if replay(&p).state != ProblemState::Responded || p.response.trim().is_empty() {
            continue;
        }
        if let Some(login) = officer_of(district, p.enterprise) {
            return Ok((p.enterprise, p, login));
        }
    }
    anyhow::bail!("the demo has no answered problem of an assigned enterprise")
}

/// The text of every QR code found in a PNG image.
///
/// # Errors
/// When the PNG does not decode.
pub fn read_qr_codes(png_bytes: &[u8]) -> anyhow::Result<Vec<String>> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().context("reading the PNG header")?;
    let mut buf = vec![0; reader.output_buffer_size().context("the PNG's size")?];
    let info = reader.next_frame(&mut buf).context("decoding the PNG")?;
    let samples = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    let grey = |x: usize, y: usize| -> u8 {
        let at = y * info.line_size + x * samples;
        match samples {
            1 | 2 => buf[at],
            _ => {
                let sum = u32::from(buf[at]) + u32::from(buf[at + 1]) + u32::from(buf[at + 2]);
                (sum / 3) as u8
            }
        }
    };
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, grey);
    Ok(image
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .collect())
}
