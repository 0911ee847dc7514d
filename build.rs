//! Build script: embeds what `breakglass --version` says about the build,
//! and nothing that differs between two builds of the same commit.
//!
//! Sets, for `src/build_info.rs`:
//! * `BREAKGLASS_COMMIT`: the full commit id the binary was built from,
//!   with `-dirty` when tracked files differ from it (development builds);
//! * `BREAKGLASS_COMMIT_DATE`: that commit's committer date, UTC, RFC 3339.
//!
//! Invariants: no build time, no host name, no path. A release build
//! (`scripts/release`) builds an exported tree and passes both values in the
//! environment variables of the same names; `SOURCE_DATE_EPOCH`, when set,
//! must equal that commit date (the script fails otherwise, so the two never
//! disagree). Otherwise they come from git, else `unknown`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?;
    Some(s.trim().to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=BREAKGLASS_COMMIT");
    println!("cargo:rerun-if-env-changed=BREAKGLASS_COMMIT_DATE");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");

    let (commit, date) = match std::env::var("BREAKGLASS_COMMIT") {
        // A release build (scripts/release) builds an exported tree, outside
        // any checkout, and says which commit it is.
        Ok(commit) => {
            let date = std::env::var("BREAKGLASS_COMMIT_DATE").unwrap_or_else(|_| {
                panic!("BREAKGLASS_COMMIT is set but BREAKGLASS_COMMIT_DATE is not: set both (scripts/release does)")
            });
            if let Ok(sde) = std::env::var("SOURCE_DATE_EPOCH") {
                let sde_date = sde.trim().parse::<i64>().ok().map(rfc3339_utc);
                if sde_date.as_deref() != Some(date.as_str()) {
                    panic!("SOURCE_DATE_EPOCH={sde} is not BREAKGLASS_COMMIT_DATE={date}: set it from the commit (`git log -1 --format=%ct`)");
                }
            }
            (commit, date)
        }
        Err(_) => from_git().unwrap_or_else(|| ("unknown".into(), "unknown".into())),
    };
    println!("cargo:rustc-env=BREAKGLASS_COMMIT={commit}");
    println!("cargo:rustc-env=BREAKGLASS_COMMIT_DATE={date}");
}

/// The checkout's commit (with `-dirty` when tracked files are changed or
/// staged) and its committer date.
fn from_git() -> Option<(String, String)> {
    let commit = git(&["rev-parse", "HEAD"])?;
    let epoch: i64 = git(&["log", "-1", "--format=%ct", "HEAD"])?.parse().ok()?;
    // Rebuild when HEAD moves, the branch gets a new commit or the index
    // changes (`git add`). An edit of a tracked file alone does not rerun
    // this script, so a development build may miss `-dirty`; a release is
    // always built from an exported commit.
    for p in ["HEAD", "index", "packed-refs"] {
        watch(&git(&["rev-parse", "--git-path", p]));
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch(&git(&["rev-parse", "--git-path", &branch]));
    }
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    let commit = if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    };
    Some((commit, rfc3339_utc(epoch)))
}

/// Watches a file only if it exists: a missing file would make cargo rerun
/// this script (and rebuild the crate) on every build.
fn watch(path: &Option<String>) {
    if let Some(p) = path {
        if std::path::Path::new(p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (civil-from-days,
/// proleptic Gregorian calendar).
fn rfc3339_utc(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}
