//! QR codes for the credential text form: SVG for web pages and e-mail, PNG for wallets and
//! print.
//!
//! Symbols use error-correction level M and a 4-module quiet zone. The encoder picks
//! alphanumeric mode for `ADM1:` + base45 text (denser than byte mode), and byte mode for
//! anything else. PNGs are drawn from the module matrix with the `png` crate as 1-bit
//! grayscale, keeping the heavy `image` crate out of the build.

use qrcode::render::svg;
use qrcode::types::QrError as SymbolError;
use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the symbol that scanners need to find it.
pub const QUIET_ZONE: u32 = 4;
/// Largest accepted PNG module size; larger images only waste bandwidth.
pub const MAX_MODULE_PX: u32 = 64;

/// Why a QR image could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// The text does not fit in the largest QR symbol at level M.
    #[error("text is too long for a QR code")]
    TooLong,
    /// The QR encoder refused the text for another reason.
    #[error("QR encoding failed: {0}")]
    Symbol(String),
    /// `module_px` was 0 or above [`MAX_MODULE_PX`].
    #[error("module size must be between 1 and {MAX_MODULE_PX} pixels")]
    InvalidModuleSize,
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

impl From<SymbolError> for QrError {
    fn from(error: SymbolError) -> Self {
        match error {
            SymbolError::DataTooLong => QrError::TooLong,
            other => QrError::Symbol(other.to_string()),
        }
    }
}

/// A standalone SVG document (black on white, 8 user units per module, scalable via viewBox).
pub fn svg(text: &str) -> Result<String, QrError> {
    Ok(symbol(text)?.render::<svg::Color<'_>>().quiet_zone(true).build())
}

/// A square 1-bit grayscale PNG of `(modules + 8) * module_px` pixels per side.
pub fn png(text: &str, module_px: u32) -> Result<Vec<u8>, QrError> {
    if module_px == 0 || module_px > MAX_MODULE_PX {
        return Err(QrError::InvalidModuleSize);
    }
    let code = symbol(text)?;
    let modules = u32::try_from(code.width()).expect("QR symbols are at most 177 modules wide");
    let side = (modules + 2 * QUIET_ZONE) * module_px;
    let pixels = pack_rows(&code.to_colors(), modules, module_px);

    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let png_error = |e: png::EncodingError| QrError::Png(e.to_string());
    let mut writer = encoder.write_header().map_err(png_error)?;
    writer.write_image_data(&pixels).map_err(png_error)?;
    writer.finish().map_err(png_error)?;
    Ok(out)
}

fn symbol(text: &str) -> Result<QrCode, QrError> {
    Ok(QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)?)
}

/// Scanlines of 1-bit pixels (1 = white), each padded to whole bytes as PNG requires.
fn pack_rows(colors: &[Color], modules: u32, module_px: u32) -> Vec<u8> {
    let side = (modules + 2 * QUIET_ZONE) * module_px;
    let row_bytes = side.div_ceil(8) as usize;
    let mut out = Vec::with_capacity(row_bytes * side as usize);
    for y in 0..side {
        let mut row = vec![0u8; row_bytes];
        for x in 0..side {
            if !is_dark(colors, modules, x / module_px, y / module_px) {
                row[(x / 8) as usize] |= 0x80 >> (x % 8);
            }
        }
        out.extend_from_slice(&row);
    }
    out
}

/// Module colour at padded coordinates (the quiet zone is light).
fn is_dark(colors: &[Color], modules: u32, mx: u32, my: u32) -> bool {
    let inside = |m: u32| (QUIET_ZONE..QUIET_ZONE + modules).contains(&m);
    inside(mx) && inside(my) && colors[((my - QUIET_ZONE) * modules + (mx - QUIET_ZONE)) as usize] == Color::Dark
}

#[cfg(test)]
mod tests;
