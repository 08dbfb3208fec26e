//! Server-made thumbnails: a JPEG or PNG blob scaled to fit [`THUMB_EDGE`] px on its longest
//! edge, as a JPEG, for lists. Made on first request and kept in the blob store beside its
//! original ([`super::Variant::Thumb`]). Decoding is bounded (dimensions and memory), since the
//! bytes come from a phone and a hostile one can send a decompression bomb.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

/// The longest edge of a thumbnail, in pixels.
pub const THUMB_EDGE: u32 = 320;

/// JPEG quality of thumbnails (1–100).
const QUALITY: u8 = 80;

/// The largest image decoded, in pixels along each edge.
const MAX_EDGE: u32 = 12_000;

/// The most memory one decode may allocate, in bytes.
const MAX_ALLOC: u64 = 256 * 1024 * 1024;

/// Why a thumbnail cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ThumbError {
    /// The blob is not a JPEG or PNG image, or is damaged or too large to decode.
    #[error("not an image this server can read: {0}")]
    NotAnImage(String),
}

/// The media type of an image blob, from its first bytes: `image/jpeg`, `image/png`, else
/// `application/octet-stream`.
pub fn media_type(bytes: &[u8]) -> &'static str {
    match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => "image/jpeg",
        Ok(ImageFormat::Png) => "image/png",
        _ => "application/octet-stream",
    }
}

/// The JPEG thumbnail of the JPEG or PNG image `bytes` (CPU-bound: call it off the runtime).
///
/// # Errors
/// When `bytes` are not an image within the bounds.
pub fn thumbnail(bytes: &[u8]) -> Result<Vec<u8>, ThumbError> {
    let bad = |e: &dyn std::fmt::Display| ThumbError::NotAnImage(e.to_string());
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| bad(&e))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_EDGE);
    limits.max_image_height = Some(MAX_EDGE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| bad(&e))?;
    let small = image.thumbnail(THUMB_EDGE, THUMB_EDGE).to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, QUALITY)
        .encode_image(&small)
        .map_err(|e| bad(&e))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_png_becomes_a_jpeg_of_at_most_320_px_keeping_its_shape() {
        let big = image::RgbImage::from_fn(1600, 1200, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut png = Vec::new();
        big.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .expect("encodes");
        assert_eq!(media_type(&png), "image/png");
        let thumb = thumbnail(&png).expect("a thumbnail");
        assert_eq!(media_type(&thumb), "image/jpeg");
        let back = image::load_from_memory(&thumb).expect("decodes");
        assert_eq!((back.width(), back.height()), (320, 240));
    }

    #[test]
    fn bytes_that_are_no_image_are_refused() {
        assert!(thumbnail(b"not an image at all").is_err());
        assert_eq!(media_type(b"%PDF-1.4"), "application/octet-stream");
    }
}
