//! A fake camera for Chromium: a Y4M video of a QR code, for
//! `--use-file-for-fake-video-capture`.

use qrcode::{Color, QrCode};
use std::io::Write;
use std::path::Path;

const WIDTH: usize = 640;
const HEIGHT: usize = 480;
/// White modules around the code, as the QR standard asks.
const QUIET: usize = 4;

/// Writes `frames` identical 640×480 4:2:0 frames showing `text` as a QR code, black on white
/// and centred (Chromium plays the file in a loop).
pub fn qr_video(text: &str, path: &Path, frames: usize) {
    let code = QrCode::new(text.as_bytes()).expect("the text fits a QR code");
    let modules = code.width();
    let colors = code.to_colors();
    let scale = HEIGHT / (modules + 2 * QUIET);
    assert!(scale >= 3, "a {modules}-module code is too dense for a {HEIGHT}-pixel frame");
    let side = modules * scale;
    let (left, top) = ((WIDTH - side) / 2, (HEIGHT - side) / 2);
    let mut luma = vec![255u8; WIDTH * HEIGHT];
    for y in 0..side {
        for x in 0..side {
            if colors[(y / scale) * modules + x / scale] == Color::Dark {
                luma[(top + y) * WIDTH + left + x] = 0;
            }
        }
    }
    let chroma = vec![128u8; (WIDTH / 2) * (HEIGHT / 2)];
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create the video file"));
    writeln!(file, "YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg").expect("write");
    for _ in 0..frames {
        file.write_all(b"FRAME\n").expect("write");
        file.write_all(&luma).expect("write");
        file.write_all(&chroma).expect("write");
        file.write_all(&chroma).expect("write");
    }
    file.flush().expect("flush the video file");
}
