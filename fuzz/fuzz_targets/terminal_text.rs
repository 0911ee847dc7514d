//! `text::for_terminal`: whatever text a vault file holds, its escaped form
//! holds no control, format or line-separator character (nothing in it can
//! drive a terminal), and text with nothing to escape is left as it is.
#![no_main]

use breakglass::text::{for_terminal, is_unsafe};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let shown = for_terminal(&text);
    assert!(
        !shown.chars().any(is_unsafe),
        "an unsafe character survived escaping"
    );
    if !text.chars().any(|c| c == '\\' || is_unsafe(c)) {
        assert_eq!(shown, text, "text with nothing to escape was changed");
    }
});
