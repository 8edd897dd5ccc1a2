//! QR rendering tests: document shape, PNG dimensions, and pixels matching the module matrix.

use super::*;
use crate::Issuer;
use crate::testing::sample_payload;

fn credential_text() -> String {
    Issuer::from_secret(7, &[1; 32]).issue(sample_payload()).unwrap().to_text()
}

fn decode_png(bytes: &[u8]) -> (png::OutputInfo, Vec<u8>) {
    let mut reader = png::Decoder::new(bytes).read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    (info, pixels)
}

#[test]
fn svg_is_a_standalone_svg_document() {
    let svg = svg(&credential_text()).unwrap();
    assert!(svg.starts_with("<?xml"));
    assert!(svg.contains("<svg"));
    assert!(svg.trim_end().ends_with("</svg>"));
}

#[test]
fn credential_text_gets_a_symbol_too_small_for_byte_mode() {
    // So the encoder must have used the denser alphanumeric mode.
    let text = credential_text();
    let auto = symbol(&text).unwrap();
    let mut byte_mode = qrcode::bits::Bits::new(auto.version());
    let fits_in_byte_mode =
        byte_mode.push_byte_data(text.as_bytes()).is_ok() && byte_mode.push_terminator(EcLevel::M).is_ok();
    assert!(!fits_in_byte_mode, "{:?} would also fit byte mode", auto.version());
}

#[test]
fn png_has_the_signature_and_the_expected_square_size() {
    let text = credential_text();
    let modules = symbol(&text).unwrap().width() as u32;
    for module_px in [1, 3, 8] {
        let bytes = png(&text, module_px).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let (info, _) = decode_png(&bytes);
        let side = (modules + 8) * module_px;
        assert_eq!((info.width, info.height), (side, side), "module_px {module_px}");
        assert_eq!(info.bit_depth, png::BitDepth::One);
    }
}

#[test]
fn png_pixels_follow_the_module_matrix_with_a_light_quiet_zone() {
    let text = "ADM1:HELLO";
    let code = symbol(text).unwrap();
    let modules = code.width();
    let (info, pixels) = decode_png(&png(text, 2).unwrap());
    let pixel_is_white = |x: usize, y: usize| pixels[y * info.line_size + x / 8] & (0x80 >> (x % 8)) != 0;
    assert!(pixel_is_white(0, 0), "quiet zone must be light");
    for (my, mx) in [(0, 0), (0, modules - 1), (modules - 1, 0), (3, 3), (7, 7)] {
        let dark = code[(mx, my)] == Color::Dark;
        let (x, y) = ((mx + 4) * 2 + 1, (my + 4) * 2 + 1);
        assert_eq!(!pixel_is_white(x, y), dark, "module ({mx},{my})");
    }
}

#[test]
fn bad_module_sizes_and_oversized_text_are_refused() {
    assert_eq!(png("ADM1:X", 0), Err(QrError::InvalidModuleSize));
    assert_eq!(png("ADM1:X", MAX_MODULE_PX + 1), Err(QrError::InvalidModuleSize));
    let huge = "A".repeat(5_000);
    assert_eq!(svg(&huge), Err(QrError::TooLong));
}
