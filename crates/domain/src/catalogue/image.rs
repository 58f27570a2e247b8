//! Product images: what may be stored, decided from the bytes alone.
//!
//! The type is sniffed from the magic bytes and the dimensions are read from the format's own
//! header; the `Content-Type` a client declares is never trusted, so an SVG (which can carry
//! script) or an HTML page sent as `image/png` is refused. Only the headers are read: nothing is
//! decoded, so a hostile file costs no more than its length.
//!
//! The parsers are written here rather than taken from a crate because the few lines each
//! format needs must also check the structure (chunk names, start codes, segment lengths) that
//! general-purpose dimension probes skip.

use super::FieldError;
use serde::{Deserialize, Serialize};

/// The largest image accepted, in bytes.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;
/// The longest side accepted, in pixels.
pub const MAX_IMAGE_SIDE: u32 = 8000;
/// How many images one product may have (the database enforces it too).
pub const MAX_IMAGES_PER_PRODUCT: u32 = 12;
/// The longest alternative text, in characters.
pub const MAX_ALT_CHARS: usize = 300;

/// The image formats a product may show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    Jpeg,
    Png,
    Webp,
}

impl ImageFormat {
    pub const ALL: [ImageFormat; 3] = [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::Webp];

    /// The media type the image is served with.
    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Webp => "image/webp",
        }
    }

    /// The format a declared media type names (parameters and case ignored), if allowed.
    pub fn from_mime(mime: &str) -> Option<Self> {
        let essence = mime.split(';').next().unwrap_or("").trim();
        Self::ALL
            .into_iter()
            .find(|f| f.mime().eq_ignore_ascii_case(essence))
    }

    fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Png => "PNG",
            ImageFormat::Webp => "WebP",
        }
    }
}

/// What the bytes turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
}

/// Why bytes are not an acceptable image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("the image is {bytes} bytes; at most {MAX_IMAGE_BYTES} are accepted")]
    TooLarge { bytes: usize },
    /// A recognised file type that is not allowed (SVG, GIF, …).
    #[error("the file is {what}; send a JPEG, PNG or WebP image")]
    Unsupported { what: &'static str },
    #[error("the file is not a JPEG, PNG or WebP image")]
    NotAnImage,
    #[error("the {} image is damaged or truncated: {detail}", format.name())]
    Corrupt {
        format: ImageFormat,
        detail: &'static str,
    },
    #[error(
        "the image is {width}×{height} pixels; each side must be between 1 and {MAX_IMAGE_SIDE}"
    )]
    Dimensions { width: u32, height: u32 },
}

impl ImageError {
    /// Whether the refusal is about size alone (an HTTP 413 rather than a 422).
    pub fn is_too_large(&self) -> bool {
        matches!(self, ImageError::TooLarge { .. })
    }
}

/// Decides whether `bytes` are an image a product may show, and reads its dimensions.
pub fn inspect(bytes: &[u8]) -> Result<ImageInfo, ImageError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(ImageError::TooLarge { bytes: bytes.len() });
    }
    let (format, size) = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        (ImageFormat::Jpeg, jpeg_size(bytes))
    } else if bytes.starts_with(PNG_SIGNATURE) {
        (ImageFormat::Png, png_size(bytes))
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        (ImageFormat::Webp, webp_size(bytes))
    } else {
        return Err(match other_kind(bytes) {
            Some(what) => ImageError::Unsupported { what },
            None => ImageError::NotAnImage,
        });
    };
    let (width, height) = size.map_err(|detail| ImageError::Corrupt { format, detail })?;
    let side = 1..=MAX_IMAGE_SIDE;
    if !side.contains(&width) || !side.contains(&height) {
        return Err(ImageError::Dimensions { width, height });
    }
    Ok(ImageInfo {
        format,
        width,
        height,
    })
}

/// Checks and tidies an image's alternative text: trimmed, empty meaning none.
pub fn check_alt(alt: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(alt) = alt.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    let problem = if alt.chars().count() > MAX_ALT_CHARS {
        Some(format!("at most {MAX_ALT_CHARS} characters"))
    } else if alt.chars().any(char::is_control) {
        Some("must not contain control characters".to_owned())
    } else {
        None
    };
    match problem {
        Some(message) => Err(FieldError {
            field: "alt".into(),
            message,
        }),
        None => Ok(Some(alt.to_owned())),
    }
}

type Size = Result<(u32, u32), &'static str>;

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], 0]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// PNG: the signature, then an IHDR chunk first (PNG requires it) whose CRC must hold.
fn png_size(b: &[u8]) -> Size {
    const TRUNCATED: &str = "the header chunk is missing or cut short";
    let length = be32(b, 8).ok_or(TRUNCATED)?;
    if b.get(12..16) != Some(b"IHDR") || length != 13 {
        return Err("the first chunk is not a header (IHDR)");
    }
    let chunk = b.get(12..29).ok_or(TRUNCATED)?;
    if be32(b, 29).ok_or(TRUNCATED)? != crc32(chunk) {
        return Err("the header chunk's checksum does not match");
    }
    let (bit_depth, colour_type) = (b[24], b[25]);
    let depth_ok = match colour_type {
        0 => matches!(bit_depth, 1 | 2 | 4 | 8 | 16),
        3 => matches!(bit_depth, 1 | 2 | 4 | 8),
        2 | 4 | 6 => matches!(bit_depth, 8 | 16),
        _ => false,
    };
    if !depth_ok {
        return Err("the colour type and bit depth are not a valid pair");
    }
    Ok((be32(b, 16).ok_or(TRUNCATED)?, be32(b, 20).ok_or(TRUNCATED)?))
}

/// JPEG: walks the segments after SOI to the first frame header (SOFn), which holds the size.
/// Segments inside APPn (such as an EXIF thumbnail) are skipped by their length.
fn jpeg_size(b: &[u8]) -> Size {
    const TRUNCATED: &str = "it ends before the frame header";
    let mut i = 2;
    loop {
        if *b.get(i).ok_or(TRUNCATED)? != 0xFF {
            return Err("a segment does not start with a marker");
        }
        // Any number of 0xFF fill bytes may precede a marker.
        while b.get(i) == Some(&0xFF) {
            i += 1;
        }
        let marker = *b.get(i).ok_or(TRUNCATED)?;
        i += 1;
        match marker {
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => continue,
            0xD8 | 0xD9 | 0xDA | 0x00 => return Err("no frame header before the image data"),
            _ => {}
        }
        let length = be16(b, i).ok_or(TRUNCATED)? as usize;
        if length < 2 || i + length > b.len() {
            return Err("a segment's length runs past the end of the file");
        }
        let is_frame = matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF);
        if is_frame {
            if length < 8 {
                return Err("the frame header is too short");
            }
            // length(2) precision(1) height(2) width(2)
            let height = be16(b, i + 3).ok_or(TRUNCATED)?;
            let width = be16(b, i + 5).ok_or(TRUNCATED)?;
            return Ok((width, height));
        }
        i += length;
    }
}

/// WebP: a RIFF container whose first chunk is a lossy (VP8), lossless (VP8L) or extended
/// (VP8X) header.
fn webp_size(b: &[u8]) -> Size {
    const TRUNCATED: &str = "it ends inside the first chunk";
    let riff = le32(b, 4).ok_or(TRUNCATED)? as usize;
    if riff.saturating_add(8) > b.len() || riff < 4 {
        return Err("the RIFF length does not match the file");
    }
    let fourcc = b.get(12..16).ok_or(TRUNCATED)?;
    let chunk = le32(b, 16).ok_or(TRUNCATED)? as usize;
    let payload = b.get(20..).ok_or(TRUNCATED)?;
    if chunk > payload.len() {
        return Err(TRUNCATED);
    }
    match fourcc {
        b"VP8 " => {
            // frame tag(3): bit 0 clear for a key frame; start code; 14-bit sizes with 2 bits of
            // scaling above them.
            if chunk < 10 || payload[0] & 1 != 0 || payload[3..6] != [0x9D, 0x01, 0x2A] {
                return Err("the lossy header is not a key frame");
            }
            let width = le16(payload, 6).ok_or(TRUNCATED)? & 0x3FFF;
            let height = le16(payload, 8).ok_or(TRUNCATED)? & 0x3FFF;
            Ok((width, height))
        }
        b"VP8L" => {
            if chunk < 5 || payload[0] != 0x2F {
                return Err("the lossless header has no signature");
            }
            let bits = le32(payload, 1).ok_or(TRUNCATED)?;
            Ok(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => {
            if chunk < 10 {
                return Err("the extended header is too short");
            }
            let width = le24(payload, 4).ok_or(TRUNCATED)? + 1;
            let height = le24(payload, 7).ok_or(TRUNCATED)? + 1;
            Ok((width, height))
        }
        _ => Err("the first chunk is not an image header"),
    }
}

/// Names a file that is recognisably something else, for a helpful refusal.
fn other_kind(b: &[u8]) -> Option<&'static str> {
    let text = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let start = text
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(text.len());
    let text = &text[start..];
    let head = &text[..text.len().min(1024)];
    let contains = |needle: &[u8]| {
        head.windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    if text.starts_with(b"<") && contains(b"<svg") {
        Some("an SVG image")
    } else if text.starts_with(b"<") {
        Some("markup (HTML or XML)")
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        Some("a GIF image")
    } else if b.starts_with(b"BM") {
        Some("a BMP image")
    } else if b.starts_with(b"II*\0") || b.starts_with(b"MM\0*") {
        Some("a TIFF image")
    } else if b.len() >= 12 && &b[4..8] == b"ftyp" {
        Some("an AVIF/HEIF image or a video")
    } else if b.starts_with(b"%PDF") {
        Some("a PDF document")
    } else {
        None
    }
}

/// CRC-32 (ISO-HDLC, as PNG uses), bit by bit: it only ever checks a 17-byte header.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Images built byte by byte for tests here and in the API tests: a complete, decodable PNG, and
/// JPEG and WebP files as far as their headers.
#[doc(hidden)]
pub mod samples {
    use super::crc32;

    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }

    fn adler32(data: &[u8]) -> u32 {
        let (mut a, mut b) = (1u32, 0u32);
        for &byte in data {
            a = (a + u32::from(byte)) % 65521;
            b = (b + a) % 65521;
        }
        (b << 16) | a
    }

    /// A complete, decodable greyscale PNG of `width`×`height` (zlib with stored blocks), or
    /// just its signature and header when `header_only` (for sizes too large to build).
    pub fn png(width: u32, height: u32, header_only: bool) -> Vec<u8> {
        let mut out = super::PNG_SIGNATURE.to_vec();
        let mut ihdr = Vec::with_capacity(13);
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);
        if header_only {
            return out;
        }
        // Each row: filter byte 0, then one grey byte per pixel.
        let mut raw = Vec::new();
        for y in 0..height {
            raw.push(0);
            raw.extend((0..width).map(|x| ((x + y) % 256) as u8));
        }
        let mut z = vec![0x78, 0x01];
        let mut blocks = raw.chunks(65535).peekable();
        if raw.is_empty() {
            z.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
        }
        while let Some(block) = blocks.next() {
            let last = u8::from(blocks.peek().is_none());
            let len = block.len() as u16;
            z.push(last);
            z.extend_from_slice(&len.to_le_bytes());
            z.extend_from_slice(&(!len).to_le_bytes());
            z.extend_from_slice(block);
        }
        z.extend_from_slice(&adler32(&raw).to_be_bytes());
        chunk(&mut out, b"IDAT", &z);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    /// A baseline JPEG's markers up to and including its frame header (with an APP0 segment
    /// before it to skip), followed by an end-of-image marker.
    pub fn jpeg(width: u16, height: u16) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        out.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x10]);
        out.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        out.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 0x08]);
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&width.to_be_bytes());
        out.extend_from_slice(&[0x01, 0x01, 0x11, 0x00]);
        out.extend_from_slice(&[0xFF, 0xD9]);
        out
    }

    fn riff(fourcc: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut body = b"WEBP".to_vec();
        body.extend_from_slice(fourcc);
        body.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        body.extend_from_slice(payload);
        if payload.len() % 2 == 1 {
            body.push(0);
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// A lossless WebP header of `width`×`height` (1 to 16384 a side).
    pub fn webp_lossless(width: u32, height: u32) -> Vec<u8> {
        let bits = (width - 1) | ((height - 1) << 14);
        let mut payload = vec![0x2F];
        payload.extend_from_slice(&bits.to_le_bytes());
        riff(b"VP8L", &payload)
    }

    /// A lossy WebP key-frame header of `width`×`height` (below 16384 a side).
    pub fn webp_lossy(width: u16, height: u16) -> Vec<u8> {
        let mut payload = vec![0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A];
        payload.extend_from_slice(&width.to_le_bytes());
        payload.extend_from_slice(&height.to_le_bytes());
        riff(b"VP8 ", &payload)
    }

    /// An extended WebP header of `width`×`height` (1 to 2^24 a side).
    pub fn webp_extended(width: u32, height: u32) -> Vec<u8> {
        let mut payload = vec![0, 0, 0, 0];
        payload.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
        payload.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
        riff(b"VP8X", &payload)
    }
}

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;
    use proptest::prelude::*;

    fn info(format: ImageFormat, width: u32, height: u32) -> Result<ImageInfo, ImageError> {
        Ok(ImageInfo {
            format,
            width,
            height,
        })
    }

    #[test]
    fn each_allowed_format_is_recognised_with_its_size() {
        assert_eq!(inspect(&png(3, 2, false)), info(ImageFormat::Png, 3, 2));
        assert_eq!(inspect(&jpeg(640, 480)), info(ImageFormat::Jpeg, 640, 480));
        assert_eq!(
            inspect(&webp_lossless(17, 9)),
            info(ImageFormat::Webp, 17, 9)
        );
        assert_eq!(
            inspect(&webp_lossy(300, 200)),
            info(ImageFormat::Webp, 300, 200)
        );
        assert_eq!(
            inspect(&webp_extended(8000, 1)),
            info(ImageFormat::Webp, 8000, 1)
        );
    }

    #[test]
    fn the_built_png_is_well_formed() {
        // Sanity for the sample builder the API tests use: it ends with an IEND chunk.
        let p = png(2, 2, false);
        assert_eq!(&p[p.len() - 8..p.len() - 4], b"IEND");
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn other_files_are_refused_by_name_whatever_they_claim() {
        let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
        assert_eq!(
            inspect(svg),
            Err(ImageError::Unsupported {
                what: "an SVG image"
            })
        );
        assert_eq!(
            inspect(b"\xEF\xBB\xBF  <svg/>"),
            Err(ImageError::Unsupported {
                what: "an SVG image"
            })
        );
        assert_eq!(
            inspect(b"<html><body>hi</body></html>"),
            Err(ImageError::Unsupported {
                what: "markup (HTML or XML)"
            })
        );
        assert_eq!(
            inspect(b"GIF89a\x01\x00\x01\x00"),
            Err(ImageError::Unsupported {
                what: "a GIF image"
            })
        );
        assert_eq!(inspect(b""), Err(ImageError::NotAnImage));
        assert_eq!(inspect(b"hello, world"), Err(ImageError::NotAnImage));
    }

    #[test]
    fn damaged_headers_are_refused_as_corrupt() {
        let mut p = png(4, 4, false);
        p[17] ^= 0x01; // width changed, CRC not
        assert!(matches!(
            inspect(&p),
            Err(ImageError::Corrupt {
                format: ImageFormat::Png,
                ..
            })
        ));
        assert!(matches!(
            inspect(&png(4, 4, false)[..20]),
            Err(ImageError::Corrupt { .. })
        ));
        // A JPEG whose image data starts before any frame header.
        assert!(matches!(
            inspect(&[0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02]),
            Err(ImageError::Corrupt {
                format: ImageFormat::Jpeg,
                ..
            })
        ));
        // A segment length running past the end.
        assert!(matches!(
            inspect(&[0xFF, 0xD8, 0xFF, 0xE0, 0x40, 0x00, 0x00]),
            Err(ImageError::Corrupt { .. })
        ));
        let mut w = webp_lossy(10, 10);
        w[23] = 0; // start code broken
        assert!(matches!(
            inspect(&w),
            Err(ImageError::Corrupt {
                format: ImageFormat::Webp,
                ..
            })
        ));
        let mut w = webp_lossless(10, 10);
        w[4] = 0xFF; // RIFF length past the end
        assert!(matches!(inspect(&w), Err(ImageError::Corrupt { .. })));
    }

    #[test]
    fn sizes_and_dimensions_have_limits() {
        let mut big = png(1, 1, false);
        big.resize(MAX_IMAGE_BYTES + 1, 0);
        let refused = inspect(&big).unwrap_err();
        assert!(refused.is_too_large());
        assert_eq!(
            inspect(&png(8001, 10, true)),
            Err(ImageError::Dimensions {
                width: 8001,
                height: 10
            })
        );
        assert_eq!(
            inspect(&jpeg(10, 0)),
            Err(ImageError::Dimensions {
                width: 10,
                height: 0
            })
        );
        assert_eq!(
            inspect(&png(0, 5, true)),
            Err(ImageError::Dimensions {
                width: 0,
                height: 5
            })
        );
        assert!(inspect(&png(8000, 8000, true)).is_ok());
    }

    #[test]
    fn declared_types_are_matched_loosely_and_only_for_allowed_formats() {
        assert_eq!(
            ImageFormat::from_mime("IMAGE/PNG; charset=binary"),
            Some(ImageFormat::Png)
        );
        assert_eq!(
            ImageFormat::from_mime("image/webp"),
            Some(ImageFormat::Webp)
        );
        assert_eq!(ImageFormat::from_mime("image/svg+xml"), None);
        assert_eq!(ImageFormat::from_mime("image/gif"), None);
        assert_eq!(ImageFormat::from_mime(""), None);
    }

    #[test]
    fn alt_text_is_trimmed_and_bounded() {
        assert_eq!(check_alt(None), Ok(None));
        assert_eq!(check_alt(Some("   ")), Ok(None));
        assert_eq!(
            check_alt(Some(" 龙眼 box ")),
            Ok(Some("龙眼 box".to_owned()))
        );
        assert_eq!(check_alt(Some("a\u{0}b")).unwrap_err().field, "alt");
        assert!(check_alt(Some(&"x".repeat(MAX_ALT_CHARS + 1))).is_err());
        assert!(check_alt(Some(&"龙".repeat(MAX_ALT_CHARS))).is_ok());
    }

    proptest! {
        #[test]
        fn headers_report_the_dimensions_they_were_built_with(w in 1u32..=8000, h in 1u32..=8000) {
            prop_assert_eq!(inspect(&png(w, h, true)), info(ImageFormat::Png, w, h));
            prop_assert_eq!(inspect(&jpeg(w as u16, h as u16)), info(ImageFormat::Jpeg, w, h));
            prop_assert_eq!(inspect(&webp_lossless(w, h)), info(ImageFormat::Webp, w, h));
            prop_assert_eq!(inspect(&webp_lossy(w as u16, h as u16)), info(ImageFormat::Webp, w, h));
            prop_assert_eq!(inspect(&webp_extended(w, h)), info(ImageFormat::Webp, w, h));
        }

        #[test]
        fn oversized_sides_are_refused(w in 8001u32..=16384, h in 1u32..=8000) {
            prop_assert!(matches!(inspect(&webp_lossless(w, h)), Err(ImageError::Dimensions { .. })), "{w}x{h}");
            prop_assert!(matches!(inspect(&png(h, w, true)), Err(ImageError::Dimensions { .. })), "{h}x{w}");
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = inspect(&bytes);
        }

        #[test]
        fn damaged_images_never_panic(
            which in 0usize..4,
            cut in 0usize..64,
            flips in proptest::collection::vec((0usize..64, any::<u8>()), 0..4),
        ) {
            let mut bytes = match which {
                0 => png(5, 7, false),
                1 => jpeg(5, 7),
                2 => webp_lossy(5, 7),
                _ => webp_extended(5, 7),
            };
            for (at, value) in flips {
                if let Some(b) = bytes.get_mut(at) {
                    *b = value;
                }
            }
            bytes.truncate(cut.min(bytes.len()));
            if let Ok(found) = inspect(&bytes) {
                prop_assert!((1..=MAX_IMAGE_SIDE).contains(&found.width));
                prop_assert!((1..=MAX_IMAGE_SIDE).contains(&found.height));
            }
        }

        #[test]
        fn anything_not_starting_with_a_known_magic_is_refused(
            first in any::<u8>().prop_filter("not a magic byte", |b| ![0xFF, 0x89, b'R'].contains(b)),
            rest in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut bytes = vec![first];
            bytes.extend(rest);
            prop_assert!(inspect(&bytes).is_err());
        }
    }
}
