//! Time: UTC seconds, RFC 3339 text, and the test-only clock.
//!
//! All times in files are `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC, whole
//! seconds); decoders reject any other spelling. In builds with the
//! `test-hooks` feature (tests only, never a release), the environment
//! variable `BREAKGLASS_TEST_NOW` (an RFC 3339 time) replaces the system clock,
//! so tests can replay years of history; every run of such a build says so.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, UTC.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Timestamp(pub i64);

/// A time string that is not canonical RFC 3339 UTC.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not a time of the form YYYY-MM-DDTHH:MM:SSZ (UTC)")]
pub struct TimeError(pub String);

impl Timestamp {
    /// Now, from the system clock (or the test clock in test builds).
    pub fn now() -> Timestamp {
        #[cfg(feature = "test-hooks")]
        if let Ok(s) = std::env::var("BREAKGLASS_TEST_NOW") {
            if let Ok(t) = Timestamp::parse(&s) {
                return t;
            }
        }
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Timestamp(secs)
    }

    /// Formats as `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn to_rfc3339(self) -> String {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        )
    }

    /// The bytes of [`Timestamp::to_rfc3339`] without allocating, for years
    /// 0–9999 (None outside them, where the text is not 20 bytes).
    pub fn rfc3339_bytes(self) -> Option<[u8; 20]> {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let y = u32::try_from(y).ok().filter(|y| *y <= 9999)?;
        let mut out = *b"0000-00-00T00:00:00Z";
        let mut put = |at: usize, width: usize, mut v: u32| {
            for i in (at..at + width).rev() {
                out[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, y);
        put(5, 2, m as u32);
        put(8, 2, d as u32);
        put(11, 2, (secs / 3600) as u32);
        put(14, 2, ((secs / 60) % 60) as u32);
        put(17, 2, (secs % 60) as u32);
        Some(out)
    }

    /// Parses exactly `YYYY-MM-DDTHH:MM:SSZ` (years 1970–9999).
    pub fn parse(s: &str) -> Result<Timestamp, TimeError> {
        let err = || TimeError(crate::text::bounded(s));
        let b = s.as_bytes();
        if b.len() != 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[19] != b'Z'
        {
            return Err(err());
        }
        let num = |r: std::ops::Range<usize>| -> Result<i64, TimeError> {
            let part = s.get(r).ok_or_else(err)?;
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return Err(err());
            }
            part.parse::<i64>().map_err(|_| err())
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if y < 1970 || !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
            return Err(err());
        }
        if h > 23 || mi > 59 || se > 59 {
            return Err(err());
        }
        Ok(Timestamp(
            days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se,
        ))
    }

    /// This time plus `secs` seconds.
    pub fn plus(self, secs: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(secs))
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil-calendar algorithms (public domain description).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Whether this build carries test hooks (never true for a release build).
pub const TEST_HOOKS: bool = cfg!(feature = "test-hooks");

#[cfg(test)]
mod tests {
    use super::*;

    /// The allocation-free bytes are exactly the formatted text, wherever
    /// it is 20 bytes long, and absent where it is not.
    #[test]
    fn rfc3339_bytes_are_the_formatted_text() {
        let mut t: i64 = -62_167_219_200; // 0000-01-01
        let end: i64 = 253_402_300_799 + 86_400 * 400; // past 9999-12-31
        while t < end {
            let text = Timestamp(t).to_rfc3339();
            match Timestamp(t).rfc3339_bytes() {
                Some(b) => assert_eq!(&b[..], text.as_bytes(), "{t}"),
                None => assert!(text.len() != 20 || text.starts_with('-'), "{t}: {text}"),
            }
            t += 86_399 * 7 + 3_607;
        }
        for t in [
            -1,
            0,
            59,
            86_399,
            951_827_696,
            253_402_300_799,
            253_402_300_800,
        ] {
            let text = Timestamp(t).to_rfc3339();
            assert_eq!(
                Timestamp(t).rfc3339_bytes().map(|b| b.to_vec()),
                (text.len() == 20 && !text.starts_with('-')).then(|| text.into_bytes()),
                "{t}"
            );
        }
    }

    #[test]
    fn known_times_round_trip() {
        for (s, t) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2000-02-29T12:34:56Z", 951_827_696),
            ("2026-11-21T09:54:29Z", 1_795_254_869),
            ("2038-01-19T03:14:08Z", 2_147_483_648),
        ] {
            assert_eq!(Timestamp::parse(s).unwrap(), Timestamp(t), "{s}");
            assert_eq!(Timestamp(t).to_rfc3339(), s);
        }
    }

    #[test]
    fn rejects_non_canonical_times() {
        for s in [
            "2026-11-21 09:54:29Z",
            "2026-11-21T09:54:29+00:00",
            "2026-11-21T09:54:29.5Z",
            "2026-02-30T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-11-21T24:00:00Z",
            "+026-11-21T09:54:29Z",
            "",
            "1969-12-31T23:59:59Z",
        ] {
            assert!(Timestamp::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn every_day_for_decades_round_trips() {
        let mut t = 0i64;
        while t < 4_102_444_800 {
            let s = Timestamp(t).to_rfc3339();
            assert_eq!(Timestamp::parse(&s).unwrap().0, t);
            t += 86_400 + 3_661;
        }
    }
}
