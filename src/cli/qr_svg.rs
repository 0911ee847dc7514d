//! The receipt's QR code as an inline SVG for the auditor page (`report
//! --html`): the module matrix from the `qrcode` crate (kept in the binary),
//! drawn here as one black path on a white square with the 4-module quiet
//! zone the standard asks for, so it prints and scans from paper.
//!
//! Invariant: the SVG holds only numbers and fixed markup (no text from
//! the vault), so the page may insert it as is.

use std::fmt::Write as _;

/// Quiet zone around the symbol, in modules (ISO/IEC 18004).
const QUIET: usize = 4;

/// `text` as an SVG QR code (error correction M), or None when it does not
/// fit a QR code.
pub fn svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
    let n = code.width();
    let colors = code.to_colors();
    let size = n + 2 * QUIET;
    let mut path = String::with_capacity(n * n * 4);
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let _ = write!(path, "M{} {}h1v1h-1z", i % n + QUIET, i / n + QUIET);
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" role=\"img\" aria-label=\"QR code of the receipt\"><rect width=\"{size}\" height=\"{size}\" fill=\"#ffffff\"/><path d=\"{path}\" fill=\"#000000\"/></svg>"
    ))
}
