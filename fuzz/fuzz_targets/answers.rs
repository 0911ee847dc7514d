//! `ui::Answers::from_json` (the non-interactive answers file): never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = breakglass::ui::Answers::from_json(data);
});
