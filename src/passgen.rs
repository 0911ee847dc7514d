//! Password generator for rotated break-glass passwords.
//!
//! Role: draw a new password for a cloud break-glass user when the quorum
//! rotates it. Invariants:
//! - Randomness comes only from the OS RNG ([`rand::rngs::OsRng`]); an RNG
//!   failure is an error, never a weaker fallback.
//! - Every character is drawn uniformly from the policy's alphabet by
//!   rejection sampling (a 32-bit draw is kept only below the largest multiple
//!   of the alphabet size), so there is no modulo bias.
//! - Class requirements ("at least one digit", ...) are met by **rejecting
//!   whole passwords** that miss a class and drawing again. The result is
//!   exactly uniform over all passwords of the policy: every position is
//!   equally likely to hold the required characters, and [`entropy_bits`] is
//!   exact (`log2` of the number of valid passwords). The common alternative —
//!   place one character of each class, fill the rest, then Fisher–Yates
//!   shuffle — is not uniform (it favours passwords with balanced classes) and
//!   only admits a lower bound on entropy, so we do not use it. For every
//!   valid policy at least ~15 % of draws are accepted (worst case: 12
//!   characters, four classes, one symbol), so the loop is short; it is still
//!   capped at [`MAX_ATTEMPTS`].
//! - The password is built in place in one zeroizing buffer that never
//!   reallocates; rejected drafts are overwritten by the next draft and the
//!   buffer is wiped on drop.
//!
//! Default symbol set, [`DEFAULT_SYMBOLS`] = `+-=@_`. Each symbol is:
//! - in AWS IAM's list of characters that satisfy "require at least one
//!   non-alphanumeric character" (`! @ # $ % ^ & * ( ) _ + - = [ ] { } | '`),
//!   so the one symbol we guarantee counts there — `.` or `,` would not;
//! - allowed by Microsoft Entra ID (whose list includes all of them) and by
//!   Google Workspace (any printable ASCII);
//! - inert in POSIX shells both unquoted and inside double quotes, which
//!   excludes `! # $ & * ( ) [ ] { } |` and every quote and backslash;
//! - harmless in CSV, `.env` and INI values (no comma, quote, `#`, `;`) and in
//!   Windows `cmd` (no `%`, `^`);
//! - not a dead key on common European layouts (no `^`, backtick, `~`,
//!   quotes), since the password is read off the air-gapped screen and typed
//!   by hand.
//!
//! Five symbols cost little: the default policy (32 characters from 67) has
//! about 194 bits of entropy. A leading `+ - = @` can be read as a formula by
//! spreadsheets; breakglass never writes passwords to CSV.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use rand::rngs::OsRng;
use rand::RngCore;

use crate::secret::SecretString;
use zeroize::Zeroizing;

/// Shortest accepted password.
pub const MIN_LENGTH: usize = 12;
/// Longest accepted password (AWS IAM's maximum).
pub const MAX_LENGTH: usize = 128;
/// Default length.
pub const DEFAULT_LENGTH: usize = 32;
/// Default symbol set; see the module docs for why these characters.
pub const DEFAULT_SYMBOLS: &str = "+-=@_";
/// Most whole-password draws before giving up (never reached with a working RNG).
pub const MAX_ATTEMPTS: u32 = 1000;

const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";
/// Most 32-bit draws for one character before giving up (a draw is rejected
/// with probability below 2^-25, so this is only reached by a broken RNG).
const MAX_DRAWS_PER_CHAR: u32 = 64;

// Length is never below the number of classes, so "length >= number of
// required classes" always holds for a policy in range.
const _: () = assert!(MIN_LENGTH >= 4);

/// Errors of the password generator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PassgenError {
    /// No character class is enabled.
    #[error(
        "no character class is enabled; enable at least one of lower, upper, digits and symbols"
    )]
    NoClassEnabled,
    /// The length is outside [`MIN_LENGTH`]`..=`[`MAX_LENGTH`].
    #[error("a password length of {length} is not allowed; choose {min} to {max} characters (32 is the default)")]
    LengthOutOfRange {
        /// The requested length.
        length: usize,
        /// Shortest allowed length.
        min: usize,
        /// Longest allowed length.
        max: usize,
    },
    /// The symbol set is given but empty.
    #[error("the symbol set is empty; leave it unset to use the default set, or disable symbols")]
    EmptySymbolSet,
    /// A symbol is not printable ASCII punctuation.
    #[error(
        "character {position} of the symbol set is not printable ASCII punctuation; \
         letters, digits, spaces, control and non-ASCII characters are not allowed"
    )]
    SymbolNotAllowed {
        /// 1-based position in the symbol set.
        position: usize,
    },
    /// A symbol appears twice in the symbol set.
    #[error(
        "character {position} of the symbol set repeats an earlier one; list each symbol once"
    )]
    DuplicateSymbol {
        /// 1-based position of the repetition.
        position: usize,
    },
    /// The operating system's random number generator failed.
    #[error("the operating system random number generator failed; do not generate passwords on this machine until it works")]
    Rng {
        /// The underlying error.
        #[source]
        source: rand::Error,
    },
    /// No acceptable draw after the maximum number of attempts.
    #[error("no acceptable password after {attempts} attempts; the random number generator is broken, do not use this machine")]
    Exhausted {
        /// Attempts made.
        attempts: u32,
    },
}

/// What a generated password must look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Number of characters, [`MIN_LENGTH`]`..=`[`MAX_LENGTH`] (default 32).
    pub length: usize,
    /// Use and require lower-case letters `a-z`.
    pub lower: bool,
    /// Use and require upper-case letters `A-Z`.
    pub upper: bool,
    /// Use and require digits `0-9`.
    pub digits: bool,
    /// Use and require symbols.
    pub symbols: bool,
    /// Symbols to use; `None` means [`DEFAULT_SYMBOLS`]. Printable ASCII
    /// punctuation, no duplicates. Checked whenever it is set, even with
    /// `symbols` off (a set that is given is meant to be right).
    pub symbol_set: Option<String>,
}

impl Default for Policy {
    /// 32 characters, all four classes, [`DEFAULT_SYMBOLS`].
    fn default() -> Self {
        Self {
            length: DEFAULT_LENGTH,
            lower: true,
            upper: true,
            digits: true,
            symbols: true,
            symbol_set: None,
        }
    }
}

impl Policy {
    /// Checks the policy.
    ///
    /// # Errors
    /// - [`PassgenError::NoClassEnabled`] if all four classes are off;
    /// - [`PassgenError::LengthOutOfRange`] unless `12 <= length <= 128`;
    /// - [`PassgenError::EmptySymbolSet`], [`PassgenError::SymbolNotAllowed`]
    ///   or [`PassgenError::DuplicateSymbol`] for a bad `symbol_set`.
    pub fn validate(&self) -> Result<(), PassgenError> {
        if !(self.lower || self.upper || self.digits || self.symbols) {
            return Err(PassgenError::NoClassEnabled);
        }
        if !(MIN_LENGTH..=MAX_LENGTH).contains(&self.length) {
            return Err(PassgenError::LengthOutOfRange {
                length: self.length,
                min: MIN_LENGTH,
                max: MAX_LENGTH,
            });
        }
        if let Some(set) = &self.symbol_set {
            if set.is_empty() {
                return Err(PassgenError::EmptySymbolSet);
            }
            let mut seen = [false; 128];
            for (index, c) in set.chars().enumerate() {
                let position = index + 1;
                if !c.is_ascii_punctuation() {
                    return Err(PassgenError::SymbolNotAllowed { position });
                }
                match seen.get_mut(usize::from(c as u8)) {
                    Some(slot) if !*slot => *slot = true,
                    _ => return Err(PassgenError::DuplicateSymbol { position }),
                }
            }
        }
        Ok(())
    }

    fn symbol_bytes(&self) -> &[u8] {
        self.symbol_set
            .as_deref()
            .unwrap_or(DEFAULT_SYMBOLS)
            .as_bytes()
    }

    /// The enabled classes, in a fixed order (validated policy assumed).
    fn classes(&self) -> Vec<&[u8]> {
        let mut classes: Vec<&[u8]> = Vec::with_capacity(4);
        if self.lower {
            classes.push(LOWER);
        }
        if self.upper {
            classes.push(UPPER);
        }
        if self.digits {
            classes.push(DIGITS);
        }
        if self.symbols {
            classes.push(self.symbol_bytes());
        }
        classes
    }
}

/// The union of the enabled classes, with the class of each character.
struct Alphabet {
    chars: Vec<u8>,
    class_bit: Vec<u8>,
    all_classes: u8,
}

impl Alphabet {
    fn new(policy: &Policy) -> Result<Self, PassgenError> {
        policy.validate()?;
        let mut chars = Vec::new();
        let mut class_bit = Vec::new();
        let mut all_classes = 0u8;
        for (i, class) in policy.classes().into_iter().enumerate() {
            let bit = 1u8 << i;
            all_classes |= bit;
            chars.extend_from_slice(class);
            class_bit.extend(std::iter::repeat_n(bit, class.len()));
        }
        Ok(Self {
            chars,
            class_bit,
            all_classes,
        })
    }
}

/// A uniform index in `0..n` (`1 <= n <= 2^32`) by rejection sampling.
fn uniform_below<R: RngCore + ?Sized>(rng: &mut R, n: usize) -> Result<usize, PassgenError> {
    const RANGE: u64 = 1 << 32;
    let n = u64::try_from(n)
        .ok()
        .filter(|n| (1..=RANGE).contains(n))
        .ok_or(PassgenError::Exhausted { attempts: 0 })?;
    // Largest multiple of n not above 2^32: draws at or above it are rejected.
    let zone = RANGE - RANGE % n;
    for _ in 0..MAX_DRAWS_PER_CHAR {
        let mut bytes = Zeroizing::new([0u8; 4]);
        rng.try_fill_bytes(bytes.as_mut())
            .map_err(|source| PassgenError::Rng { source })?;
        let draw = u64::from(u32::from_le_bytes(*bytes));
        if draw < zone {
            // draw % n < n <= 2^32, so it fits in usize on 32- and 64-bit targets.
            return usize::try_from(draw % n).map_err(|_| PassgenError::Exhausted { attempts: 0 });
        }
    }
    Err(PassgenError::Exhausted {
        attempts: MAX_DRAWS_PER_CHAR,
    })
}

fn generate_with<R: RngCore + ?Sized>(
    policy: &Policy,
    rng: &mut R,
) -> Result<SecretString, PassgenError> {
    let alphabet = Alphabet::new(policy)?;
    let mut password = Zeroizing::new(String::with_capacity(policy.length));
    for _ in 0..MAX_ATTEMPTS {
        password.clear();
        let mut present = 0u8;
        for _ in 0..policy.length {
            let index = uniform_below(rng, alphabet.chars.len())?;
            match (alphabet.chars.get(index), alphabet.class_bit.get(index)) {
                (Some(&c), Some(&bit)) => {
                    password.push(char::from(c));
                    present |= bit;
                }
                _ => return Err(PassgenError::Exhausted { attempts: 0 }),
            }
        }
        if present == alphabet.all_classes {
            return Ok(SecretString::from(password));
        }
    }
    Err(PassgenError::Exhausted {
        attempts: MAX_ATTEMPTS,
    })
}

/// A new password drawn uniformly from all passwords that satisfy `policy`
/// (every enabled class present at least once, nothing outside the enabled
/// classes), using the OS RNG.
///
/// # Errors
/// Those of [`Policy::validate`]; [`PassgenError::Rng`] if the OS RNG fails;
/// [`PassgenError::Exhausted`] if it keeps returning unusable values.
pub fn generate(policy: &Policy) -> Result<SecretString, PassgenError> {
    generate_with(policy, &mut OsRng)
}

/// Entropy in bits of [`generate`]'s output for `policy`: exactly `log2` of
/// the number of passwords that satisfy it, since the output is uniform over
/// them (inclusion–exclusion over the classes). `0.0` for an invalid policy.
pub fn entropy_bits(policy: &Policy) -> f64 {
    if policy.validate().is_err() {
        return 0.0;
    }
    let sizes: Vec<usize> = policy.classes().iter().map(|c| c.len()).collect();
    entropy_for_classes(&sizes, policy.length)
}

/// `log2` of the number of strings of `length` over the union of disjoint
/// classes of the given sizes that contain every class at least once.
fn entropy_for_classes(sizes: &[usize], length: usize) -> f64 {
    let total: usize = sizes.iter().sum();
    let exponent = i32::try_from(length).unwrap_or(i32::MAX);
    if total == 0 || sizes.len() > 8 {
        return 0.0;
    }
    // Fraction of all strings that contain every class:
    // sum over subsets S of classes of (-1)^|S| ((total - |S chars|) / total)^length.
    let mut fraction = 0.0f64;
    for mask in 0u32..(1 << sizes.len()) {
        let missing: usize = sizes
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, s)| *s)
            .sum();
        let term = ((total - missing) as f64 / total as f64).powi(exponent);
        if mask.count_ones() % 2 == 0 {
            fraction += term;
        } else {
            fraction -= term;
        }
    }
    if fraction <= 0.0 {
        return 0.0;
    }
    length as f64 * (total as f64).log2() + fraction.log2()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A very loose chi-square threshold: the mean plus ten standard
    /// deviations plus 20. For every df >= 1 the chance that a correct
    /// generator exceeds it is below 1e-8 (computed numerically: df 3 → 3e-10,
    /// df 25 → 1e-13), so these tests do not flake; a modulo bias of the
    /// usual kind exceeds it by orders of magnitude (see
    /// `chi_square_detects_modulo_bias`).
    fn loose_threshold(df: usize) -> f64 {
        let df = df as f64;
        df + 10.0 * (2.0 * df).sqrt() + 20.0
    }

    fn chi_square(observed: &[u64], expected: &[f64]) -> f64 {
        observed
            .iter()
            .zip(expected)
            .map(|(&o, &e)| (o as f64 - e).powi(2) / e)
            .sum()
    }

    fn gen(policy: &Policy) -> String {
        match generate(policy) {
            Ok(p) => p.expose().to_owned(),
            Err(e) => panic!("{policy:?}: {e}"),
        }
    }

    fn check_password(policy: &Policy, password: &str) {
        assert_eq!(password.len(), policy.length, "{policy:?}");
        let symbols = policy.symbol_bytes();
        let mut has = [false; 4];
        for b in password.bytes() {
            let class = if b.is_ascii_lowercase() {
                0
            } else if b.is_ascii_uppercase() {
                1
            } else if b.is_ascii_digit() {
                2
            } else if symbols.contains(&b) {
                3
            } else {
                panic!("{policy:?}: character {b:#x} outside every class");
            };
            has[class] = true;
        }
        let wanted = [policy.lower, policy.upper, policy.digits, policy.symbols];
        assert_eq!(has, wanted, "{policy:?}: classes present");
    }

    #[test]
    fn default_policy_passwords_meet_the_policy() {
        let policy = Policy::default();
        assert!(policy.validate().is_ok());
        for _ in 0..3000 {
            check_password(&policy, &gen(&policy));
        }
    }

    #[test]
    fn every_class_combination_and_extreme_lengths() {
        for classes in 1u8..16 {
            for length in [MIN_LENGTH, 13, DEFAULT_LENGTH, MAX_LENGTH] {
                let policy = Policy {
                    length,
                    lower: classes & 1 != 0,
                    upper: classes & 2 != 0,
                    digits: classes & 4 != 0,
                    symbols: classes & 8 != 0,
                    symbol_set: None,
                };
                for _ in 0..40 {
                    check_password(&policy, &gen(&policy));
                }
            }
        }
        // The hardest policy to satisfy: 12 characters, four classes, one symbol.
        let policy = Policy {
            length: MIN_LENGTH,
            symbol_set: Some("#".into()),
            ..Policy::default()
        };
        for _ in 0..500 {
            check_password(&policy, &gen(&policy));
        }
        // Custom set with all 32 punctuation characters.
        let all: String = (0x21u8..0x7f)
            .filter(u8::is_ascii_punctuation)
            .map(char::from)
            .collect();
        assert_eq!(all.len(), 32);
        let policy = Policy {
            symbol_set: Some(all),
            ..Policy::default()
        };
        for _ in 0..500 {
            check_password(&policy, &gen(&policy));
        }
    }

    #[test]
    fn passwords_differ() {
        let policy = Policy::default();
        let a = gen(&policy);
        let b = gen(&policy);
        assert_ne!(a, b);
    }

    #[test]
    fn invalid_policies_are_refused_with_the_exact_error() {
        let with = |f: fn(&mut Policy)| {
            let mut p = Policy::default();
            f(&mut p);
            p
        };
        let cases: Vec<(Policy, &str)> = vec![
            (
                with(|p| {
                    p.lower = false;
                    p.upper = false;
                    p.digits = false;
                    p.symbols = false;
                }),
                "NoClassEnabled",
            ),
            (
                with(|p| p.length = 11),
                "LengthOutOfRange { length: 11, min: 12, max: 128 }",
            ),
            (
                with(|p| p.length = 129),
                "LengthOutOfRange { length: 129, min: 12, max: 128 }",
            ),
            (
                with(|p| p.length = 0),
                "LengthOutOfRange { length: 0, min: 12, max: 128 }",
            ),
            (
                with(|p| p.symbol_set = Some(String::new())),
                "EmptySymbolSet",
            ),
            (
                with(|p| p.symbol_set = Some("!a".into())),
                "SymbolNotAllowed { position: 2 }",
            ),
            (
                with(|p| p.symbol_set = Some("! ".into())),
                "SymbolNotAllowed { position: 2 }",
            ),
            (
                with(|p| p.symbol_set = Some("7".into())),
                "SymbolNotAllowed { position: 1 }",
            ),
            (
                with(|p| p.symbol_set = Some("\t".into())),
                "SymbolNotAllowed { position: 1 }",
            ),
            (
                with(|p| p.symbol_set = Some("!é".into())),
                "SymbolNotAllowed { position: 2 }",
            ),
            (
                with(|p| p.symbol_set = Some("!\u{7f}".into())),
                "SymbolNotAllowed { position: 2 }",
            ),
            (
                with(|p| p.symbol_set = Some("!@!".into())),
                "DuplicateSymbol { position: 3 }",
            ),
            (
                with(|p| {
                    p.symbols = false;
                    p.symbol_set = Some("@@".into());
                }),
                "DuplicateSymbol { position: 2 }",
            ),
        ];
        for (policy, want) in cases {
            let got = policy.validate().err().map(|e| format!("{e:?}"));
            assert_eq!(got.as_deref(), Some(want), "{policy:?}");
            let got = generate(&policy).err().map(|e| format!("{e:?}"));
            assert_eq!(got.as_deref(), Some(want), "generate {policy:?}");
            assert_eq!(entropy_bits(&policy), 0.0);
        }
        // The boundaries themselves are fine.
        assert!(with(|p| p.length = 12).validate().is_ok());
        assert!(with(|p| p.length = 128).validate().is_ok());
        assert!(with(|p| p.symbol_set = Some("!".into())).validate().is_ok());
    }

    #[test]
    fn error_messages_are_lowercase_and_say_what_to_do() {
        let e = PassgenError::LengthOutOfRange {
            length: 5,
            min: 12,
            max: 128,
        };
        assert_eq!(
            e.to_string(),
            "a password length of 5 is not allowed; choose 12 to 128 characters (32 is the default)"
        );
    }

    #[test]
    fn default_symbols_are_a_valid_subset_of_the_aws_list() {
        const AWS: &str = "!@#$%^&*()_+-=[]{}|'";
        let policy = Policy {
            symbol_set: Some(DEFAULT_SYMBOLS.into()),
            ..Policy::default()
        };
        assert!(policy.validate().is_ok());
        for c in DEFAULT_SYMBOLS.chars() {
            assert!(
                AWS.contains(c),
                "{c:?} does not count as a symbol for AWS IAM"
            );
            assert!(!"\"'`\\ $!#&*()[]{}|;,<>?~^%".contains(c), "{c:?}");
        }
    }

    #[test]
    fn default_entropy_is_at_least_190_bits() {
        let bits = entropy_bits(&Policy::default());
        println!("default policy entropy: {bits:.2} bits");
        assert!(bits >= 190.0, "{bits}");
        // 32 characters from 67, less the tiny share of passwords missing a class.
        let naive = 32.0 * 67f64.log2();
        assert!(bits < naive && bits > naive - 0.2, "{bits} vs {naive}");
    }

    #[test]
    fn entropy_formula_matches_brute_force() {
        // Count strings over classes of sizes `sizes` that contain every class.
        fn brute(sizes: &[usize], length: usize) -> f64 {
            let total: usize = sizes.iter().sum();
            let class_of: Vec<usize> = sizes
                .iter()
                .enumerate()
                .flat_map(|(i, s)| std::iter::repeat_n(i, *s))
                .collect();
            let mut count = 0u64;
            let mut digits = vec![0usize; length];
            loop {
                let mut seen = vec![false; sizes.len()];
                for d in &digits {
                    seen[class_of[*d]] = true;
                }
                if seen.iter().all(|s| *s) {
                    count += 1;
                }
                let mut i = 0;
                loop {
                    if i == length {
                        return (count as f64).log2();
                    }
                    digits[i] += 1;
                    if digits[i] < total {
                        break;
                    }
                    digits[i] = 0;
                    i += 1;
                }
            }
        }
        for (sizes, length) in [
            (vec![2, 1], 4),
            (vec![3, 2, 1], 5),
            (vec![2, 2, 2, 1], 6),
            (vec![1, 1, 1, 1], 4),
            (vec![5], 3),
        ] {
            let want = brute(&sizes, length);
            let got = entropy_for_classes(&sizes, length);
            assert!(
                (want - got).abs() < 1e-9,
                "{sizes:?} {length}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn acceptance_rate_is_high_for_every_policy_shape() {
        // fraction accepted = 2^(entropy - length * log2(alphabet)).
        let policy = Policy {
            length: MIN_LENGTH,
            symbol_set: Some("#".into()),
            ..Policy::default()
        };
        let fraction = (entropy_bits(&policy) - 12.0 * 63f64.log2()).exp2();
        assert!(fraction > 0.1, "{fraction}");
    }

    /// Frequencies over many generated characters: uniform within each class
    /// (exact, by symmetry) and class totals as predicted for "uniform over
    /// valid passwords" (which slightly favours small classes).
    #[test]
    fn character_frequencies_match_the_uniform_distribution() {
        let policy = Policy::default();
        let n_passwords = 4000;
        let mut counts: HashMap<u8, u64> = HashMap::new();
        for _ in 0..n_passwords {
            for b in gen(&policy).bytes() {
                *counts.entry(b).or_default() += 1;
            }
        }
        let classes = policy.classes();
        let sizes: Vec<usize> = classes.iter().map(|c| c.len()).collect();
        let total: usize = sizes.iter().sum();
        let length = policy.length;
        let mut class_observed = Vec::new();
        let mut class_expected = Vec::new();
        for (k, class) in classes.iter().enumerate() {
            let observed: Vec<u64> = class
                .iter()
                .map(|c| counts.get(c).copied().unwrap_or(0))
                .collect();
            let class_total: u64 = observed.iter().sum();
            let expected = vec![class_total as f64 / class.len() as f64; class.len()];
            let chi = chi_square(&observed, &expected);
            let limit = loose_threshold(class.len() - 1);
            assert!(chi < limit, "class {k}: chi-square {chi:.1} >= {limit:.1}");

            // P(a given position is in class k | every class present):
            // (size_k / total) * P(the other length-1 positions cover the other classes) / P(valid).
            let others: Vec<usize> = sizes
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != k)
                .map(|(_, s)| *s)
                .collect();
            let mut cover_others = 0.0;
            for mask in 0u32..(1 << others.len()) {
                let missing: usize = others
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, s)| *s)
                    .sum();
                let term = ((total - missing) as f64 / total as f64).powi(length as i32 - 1);
                cover_others += if mask.count_ones() % 2 == 0 {
                    term
                } else {
                    -term
                };
            }
            let valid = (entropy_for_classes(&sizes, length)
                - length as f64 * (total as f64).log2())
            .exp2();
            let p = sizes[k] as f64 / total as f64 * cover_others / valid;
            class_observed.push(class_total);
            class_expected.push(p * (length * n_passwords) as f64);
        }
        let expected_sum: f64 = class_expected.iter().sum();
        assert!((expected_sum - (length * n_passwords) as f64).abs() < 1e-6);
        let chi = chi_square(&class_observed, &class_expected);
        let limit = loose_threshold(classes.len() - 1);
        assert!(
            chi < limit,
            "class totals {class_observed:?} vs {class_expected:?}: chi-square {chi:.1}"
        );
    }

    #[test]
    fn uniform_below_is_unbiased() {
        let n = 67;
        let draws = 200_000;
        let mut counts = vec![0u64; n];
        for _ in 0..draws {
            let i = uniform_below(&mut OsRng, n).unwrap_or_else(|e| panic!("{e}"));
            counts[i] += 1;
        }
        let expected = vec![draws as f64 / n as f64; n];
        let chi = chi_square(&counts, &expected);
        assert!(chi < loose_threshold(n - 1), "chi-square {chi:.1}");
    }

    /// The threshold is loose but not blind: a byte-modulo sampler (the classic
    /// bias: 256 = 3 * 67 + 55, so 55 of the 67 values are 4/3 as likely as
    /// the other 12) fails it by far.
    #[test]
    fn chi_square_detects_modulo_bias() {
        let n = 67;
        let draws = 200_000;
        let mut counts = vec![0u64; n];
        let mut byte = [0u8; 1];
        for _ in 0..draws {
            OsRng.fill_bytes(&mut byte);
            counts[usize::from(byte[0]) % n] += 1;
        }
        let expected = vec![draws as f64 / n as f64; n];
        let chi = chi_square(&counts, &expected);
        // Expected about 2000 (sd ~90) against a threshold of ~201.
        assert!(chi > 5.0 * loose_threshold(n - 1), "chi-square {chi:.1}");
    }

    /// A scripted RNG: returns the given 32-bit words in order.
    struct Script(Vec<u32>);

    impl RngCore for Script {
        fn next_u32(&mut self) -> u32 {
            if self.0.is_empty() {
                0
            } else {
                self.0.remove(0)
            }
        }
        fn next_u64(&mut self) -> u64 {
            u64::from(self.next_u32())
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            let word = self.next_u32().to_le_bytes();
            for (d, w) in dest.iter_mut().zip(word.iter().cycle()) {
                *d = *w;
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    #[test]
    fn rejection_sampling_discards_the_biased_zone() {
        // For n = 67 the accepted zone is [0, 2^32 - 2^32 mod 67).
        let zone = (1u64 << 32) - (1u64 << 32) % 67;
        let last_ok = u32::try_from(zone - 1).unwrap_or(0);
        let first_bad = u32::try_from(zone).unwrap_or(0);
        let mut rng = Script(vec![u32::MAX, first_bad, last_ok]);
        let got = uniform_below(&mut rng, 67).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got as u64, (zone - 1) % 67);
        assert!(rng.0.is_empty(), "two draws rejected, the third kept");
        // An RNG stuck in the rejected zone is detected, not looped on forever.
        let mut stuck = Script(vec![u32::MAX; 100]);
        assert!(matches!(
            uniform_below(&mut stuck, 67),
            Err(PassgenError::Exhausted { attempts: 64 })
        ));
    }

    #[test]
    fn whole_password_rejection_until_every_class_is_present() {
        // Lower + digits (36 characters): index 0 is 'a', index 26 is '0'.
        let policy = Policy {
            length: MIN_LENGTH,
            upper: false,
            symbols: false,
            ..Policy::default()
        };
        // First draft: twelve 'a' (no digit) -> rejected. Second: 'a' x11 then '0'.
        let mut words = vec![0u32; 12];
        words.extend(vec![0u32; 11]);
        words.push(26);
        let mut rng = Script(words);
        let password = generate_with(&policy, &mut rng).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(password.expose(), "aaaaaaaaaaa0");
        // An RNG that never yields a digit is detected.
        let mut never = Script(Vec::new());
        assert!(matches!(
            generate_with(&policy, &mut never),
            Err(PassgenError::Exhausted {
                attempts: MAX_ATTEMPTS
            })
        ));
    }
}
