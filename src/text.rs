//! Text from files, made safe to show on a terminal.
//!
//! Anything read from the vault directory (log entries, their event names,
//! data keys and values, tickets, reasons, custodian names, review text, and
//! error messages that quote such text) may have been written by someone who
//! can only write files. Printed as is, it could drive the reader's terminal:
//! an `ESC [ … ` sequence can clear the screen, move the cursor to overwrite
//! a "log FAILED" line with "log OK", retitle the window or, on some
//! terminals, answer back into the input; a BEL rings; a C1 byte such as
//! U+009B is a one-character CSI for terminals that honour it; a bidi
//! override (U+202E) or an isolate (U+2066–U+2069) reorders what the auditor
//! reads; zero-width characters (U+200B, U+FEFF) make two different names
//! look the same; a newline inside a value forges a line of output.
//!
//! [`for_terminal`] is the one function the binary uses for every such text.
//! It renders visibly, as an escape, each character that is
//!
//! * a control character (general category Cc: C0 `U+0000`–`U+001F`
//!   including tab and newline, DEL `U+007F`, C1 `U+0080`–`U+009F`),
//! * a format character (general category Cf: bidi controls, zero-width
//!   characters, the byte-order mark, soft hyphen, tag characters, …),
//! * a line or paragraph separator (Zl `U+2028`, Zp `U+2029`),
//! * or a backslash, so that the rendering is unambiguous: every `\` in the
//!   output starts an escape, and distinct inputs give distinct outputs.
//!
//! Escapes are `\t`, `\n`, `\r`, `\\`, `\xHH` for the other ASCII controls,
//! and `\u{HHHH}` for the rest (lowercase hex, as Rust writes them). Text
//! with none of these characters is returned as is, without a copy.
//!
//! Machine-readable outputs (JSON, the HTML page, the SIEM export) have their
//! own escaping and do not use this.

use std::borrow::Cow;
use std::fmt::Write as _;

/// The Unicode general category Cf ("format"), as of Unicode 16.0, as
/// inclusive ranges. (The standard library does not expose general
/// categories; this table is small and stable: Cf gains a character every
/// few Unicode versions.)
const FORMAT: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),   // soft hyphen
    (0x0600, 0x0605),   // Arabic number signs
    (0x061C, 0x061C),   // Arabic letter mark
    (0x06DD, 0x06DD),   // Arabic end of ayah
    (0x070F, 0x070F),   // Syriac abbreviation mark
    (0x0890, 0x0891),   // Arabic pound / piastre mark above
    (0x08E2, 0x08E2),   // Arabic disputed end of ayah
    (0x180E, 0x180E),   // Mongolian vowel separator
    (0x200B, 0x200F),   // zero-width space, ZWNJ, ZWJ, LRM, RLM
    (0x202A, 0x202E),   // bidi embeddings and overrides (LRE … RLO)
    (0x2060, 0x2064),   // word joiner, invisible operators
    (0x2066, 0x206F),   // bidi isolates (LRI … PDI), deprecated format controls
    (0xFEFF, 0xFEFF),   // zero-width no-break space (byte-order mark)
    (0xFFF9, 0xFFFB),   // interlinear annotation controls
    (0x110BD, 0x110BD), // Kaithi number sign
    (0x110CD, 0x110CD), // Kaithi number sign above
    (0x13430, 0x1343F), // Egyptian hieroglyph format controls
    (0x1BCA0, 0x1BCA3), // shorthand format controls
    (0x1D173, 0x1D17A), // musical symbol format controls
    (0xE0001, 0xE0001), // language tag
    (0xE0020, 0xE007F), // tag characters
];

/// True for characters of the Unicode general category Cf (format).
pub fn is_format(c: char) -> bool {
    let c = c as u32;
    FORMAT.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// True for the characters that can change what a terminal shows beyond
/// their own glyph, or hide themselves: controls (Cc), format characters
/// (Cf) and the line and paragraph separators (Zl, Zp). Tickets, reasons
/// and review text refuse these.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || is_format(c) || c == '\u{2028}' || c == '\u{2029}'
}

fn needs_escape(c: char) -> bool {
    c == '\\' || is_unsafe(c)
}

/// `U+XXXX` for an error message naming a character.
pub fn code_point(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

/// How many characters of a name read from a file an error message quotes.
pub const QUOTED_CHARS: usize = 40;

/// The first [`QUOTED_CHARS`] characters of `s`: what an error message
/// quotes of a name or tag it refuses (a refused value can be long; the
/// message must stay one readable line).
pub fn bounded(s: &str) -> String {
    s.chars().take(QUOTED_CHARS).collect()
}

/// Renders `s` for a terminal: see the module documentation for what is
/// escaped and how. Borrows when nothing needs escaping.
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    let Some(first) = s.find(needs_escape) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 16);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if !needs_escape(c) => out.push(c),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a terminal could act on: any control, format or separator
    /// character left in the output.
    fn assert_inert(out: &str) {
        assert!(
            !out.chars().any(is_unsafe),
            "unsafe character left in {out:?}"
        );
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        for s in [
            "",
            "INC-4711",
            "IdP outage, console access",
            "alice + bob · ≥4h — 100% → ok",
            "Zoë, Ōsaka, 東京, emoji 🔑",
        ] {
            assert!(matches!(for_terminal(s), Cow::Borrowed(b) if b == s));
        }
    }

    /// Issue "Hostile input": ESC, BEL, C1 CSI, bidi override, zero-width,
    /// BOM, separators, tab and newline are all rendered visibly.
    #[test]
    fn escapes_terminal_controls_visibly() {
        let cases = [
            ("\x1b[2J", "\\x1b[2J"),
            ("ring\x07", "ring\\x07"),
            ("a\tb\nc\rd", "a\\tb\\nc\\rd"),
            ("nul\0", "nul\\x00"),
            ("del\x7f", "del\\x7f"),
            ("\u{9b}31m", "\\u{9b}31m"),
            ("\u{85}", "\\u{85}"),
            ("abc\u{202e}fed", "abc\\u{202e}fed"),
            ("al\u{200b}ice", "al\\u{200b}ice"),
            ("\u{feff}bom", "\\u{feff}bom"),
            ("\u{2066}x\u{2069}", "\\u{2066}x\\u{2069}"),
            ("line\u{2028}para\u{2029}", "line\\u{2028}para\\u{2029}"),
            ("soft\u{ad}hyphen", "soft\\u{ad}hyphen"),
            ("tag\u{e0041}", "tag\\u{e0041}"),
            ("C:\\path", "C:\\\\path"),
        ];
        for (input, want) in cases {
            let got = for_terminal(input);
            assert_eq!(got, want, "for {input:?}");
            assert_inert(&got);
        }
    }

    /// Distinct inputs give distinct outputs: a literal `\x1b` typed as text
    /// does not look like an escaped ESC.
    #[test]
    fn rendering_is_unambiguous() {
        assert_ne!(for_terminal("\\x1b"), for_terminal("\x1b"));
        assert_ne!(for_terminal("\\n"), for_terminal("\n"));
    }

    #[test]
    fn every_control_and_format_character_is_escaped() {
        let all: String = (0u32..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|&c| is_unsafe(c))
            .collect();
        // Cc is 65 characters; Cf about 170; plus Zl and Zp.
        assert!(all.chars().count() > 65 + 150, "{}", all.chars().count());
        assert_inert(&for_terminal(&all));
    }

    #[test]
    fn format_table_is_sorted_and_disjoint() {
        for w in FORMAT.windows(2) {
            assert!(w[0].0 <= w[0].1 && w[0].1 < w[1].0, "{:x?}", w);
        }
        assert!(!is_format('a') && !is_format(' ') && !is_format('é'));
        assert!(is_format('\u{202e}') && is_format('\u{200b}') && is_format('\u{feff}'));
    }

    #[test]
    fn code_points_are_named_in_u_plus_form() {
        assert_eq!(code_point('\u{202e}'), "U+202E");
        assert_eq!(code_point('\x1b'), "U+001B");
        assert_eq!(code_point('\u{e0041}'), "U+E0041");
    }
}
