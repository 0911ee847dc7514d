//! Test-only fault injection: kill points and torn writes.
//!
//! In builds with the `test-hooks` feature (tests only), the environment
//! variable `BREAKGLASS_TEST_KILL_AT=<name>[#<n>]` makes the process abort
//! (like `kill -9`: no destructors, no flush) the n-th time (default first)
//! it reaches the kill point `<name>`; `BREAKGLASS_TEST_TORN_APPEND=<k>`
//! makes the k-th durable append write only half its line, fsync, and abort.
//! `BREAKGLASS_TEST_LIST_KILL_POINTS=<file>` appends every kill point reached
//! to `<file>`, so a test can enumerate them. In release builds these
//! functions compile to nothing.

#[cfg(feature = "test-hooks")]
mod imp {
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    static COUNTS: Mutex<Vec<(String, usize)>> = Mutex::new(Vec::new());
    static APPENDS: AtomicUsize = AtomicUsize::new(0);

    pub fn kill_point(name: &str) {
        let count = {
            let mut counts = match COUNTS.lock() {
                Ok(c) => c,
                Err(p) => p.into_inner(),
            };
            match counts.iter_mut().find(|(n, _)| n == name) {
                Some((_, c)) => {
                    *c += 1;
                    *c
                }
                None => {
                    counts.push((name.to_owned(), 1));
                    1
                }
            }
        };
        if let Ok(list) = std::env::var("BREAKGLASS_TEST_LIST_KILL_POINTS") {
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(list)
            {
                let _ = writeln!(f, "{name}#{count}");
            }
        }
        if let Ok(target) = std::env::var("BREAKGLASS_TEST_KILL_AT") {
            let (tname, tcount) = match target.split_once('#') {
                Some((n, c)) => (n.to_owned(), c.parse().unwrap_or(1)),
                None => (target.clone(), 1),
            };
            if tname == name && tcount == count {
                std::process::abort();
            }
        }
    }

    pub fn torn_write_point(f: &mut std::fs::File, line: &[u8]) -> std::io::Result<()> {
        let k = APPENDS.fetch_add(1, Ordering::SeqCst) + 1;
        if let Ok(target) = std::env::var("BREAKGLASS_TEST_TORN_APPEND") {
            if target.parse::<usize>().ok() == Some(k) {
                f.write_all(&line[..line.len() / 2])?;
                f.sync_all()?;
                std::process::abort();
            }
        }
        Ok(())
    }
}

/// Marks a point where a test may kill the process (no-op in release builds).
#[inline]
pub fn kill_point(_name: &str) {
    #[cfg(feature = "test-hooks")]
    imp::kill_point(_name);
}

/// Before a durable append: a test may tear the write here (no-op in release builds).
#[inline]
pub fn torn_write_point(_f: &mut std::fs::File, _line: &[u8]) -> std::io::Result<()> {
    #[cfg(feature = "test-hooks")]
    return imp::torn_write_point(_f, _line);
    #[cfg(not(feature = "test-hooks"))]
    Ok(())
}
