//! One log entry: its members, how it says it is authenticated (`mac` in
//! format 1, `sig` in format 2), and its canonical encoding (parse, hash,
//! re-encode, the body a signature covers).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::data::Data;
use crate::clock::Timestamp;
use crate::encoding::{self, hex, unhex};
use crate::sign::SigningKey;

/// Who signed an entry (format 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// A quorum of the entry's generation (Ed25519, generation key).
    Quorum,
    /// One custodian's token.
    Custodian {
        /// Custodian name.
        custodian: String,
        /// Fingerprint of the token that signed.
        token: String,
        /// Signature algorithm.
        alg: Alg,
    },
}

/// Signature algorithms of custodian tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Alg {
    /// Ed25519 (software custodians).
    Ed25519,
    /// ECDSA P-256 with SHA-256, DER (YubiKey custodians).
    EcdsaP256,
}

impl Alg {
    /// Spelling in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Ed25519 => "ed25519",
            Alg::EcdsaP256 => "ecdsa-p256",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Alg> {
        match s {
            "ed25519" => Some(Alg::Ed25519),
            "ecdsa-p256" => Some(Alg::EcdsaP256),
            _ => None,
        }
    }
}

/// How an entry is authenticated, as written (not yet checked: see [`super::trust`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seal {
    /// Nothing: written before or without any key.
    None,
    /// Format 1 quorum MAC (hex); checkable only with the secret key.
    Mac(String),
    /// Format 2 signature.
    Signed {
        /// Who claims to have signed.
        by: Signer,
        /// Signature bytes.
        value: Vec<u8>,
    },
}

impl Seal {
    /// The `sig` member for `by`, without its value (what is signed).
    fn sig_object(by: &Signer) -> Map<String, Value> {
        let mut o = Map::new();
        match by {
            Signer::Quorum => {
                o.insert("by".into(), "quorum".into());
            }
            Signer::Custodian {
                custodian,
                token,
                alg,
            } => {
                o.insert("alg".into(), alg.as_str().into());
                o.insert("by".into(), "custodian".into());
                o.insert("custodian".into(), custodian.clone().into());
                o.insert("token".into(), token.clone().into());
            }
        }
        o
    }

    fn parse(v: &Value) -> Result<(Signer, Vec<u8>), String> {
        let Value::Object(o) = v else {
            return Err("member 'sig' is not an object".into());
        };
        let s = |k: &str| -> Result<&str, String> {
            o.get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("member 'sig.{k}' missing or not a string"))
        };
        let value = s("value")?;
        let bytes = crate::encoding::unhex_vec(value)
            .filter(|b| !b.is_empty() && b.len() <= 128)
            .ok_or("member 'sig.value' is not lower-case hex of 1 to 128 bytes")?;
        let (by, allowed): (Signer, &[&str]) = match s("by")? {
            "quorum" => (Signer::Quorum, &["by", "value"]),
            "custodian" => {
                let custodian = s("custodian")?;
                if !crate::names::is_valid(custodian) {
                    return Err("member 'sig.custodian' is not a valid custodian name".into());
                }
                let token = s("token")?;
                if token.is_empty() || token.len() > 64 {
                    return Err("member 'sig.token' is empty or too long".into());
                }
                let alg =
                    Alg::parse(s("alg")?).ok_or("member 'sig.alg' is not ed25519 or ecdsa-p256")?;
                (
                    Signer::Custodian {
                        custodian: custodian.into(),
                        token: token.into(),
                        alg,
                    },
                    &["alg", "by", "custodian", "token", "value"],
                )
            }
            _ => return Err("member 'sig.by' is neither quorum nor custodian".into()),
        };
        if let Some(k) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!(
                "unknown member 'sig.{}'",
                k.chars().take(32).collect::<String>()
            ));
        }
        Ok((by, bytes))
    }
}

/// Who signs an entry being appended.
pub enum By<'a> {
    /// Nobody (no key is known yet, or a single command without a token).
    Nobody,
    /// The quorum, with the generation key.
    Quorum(&'a SigningKey),
    /// One custodian's token. It is called with a function that gives the
    /// body to sign for a given signer (a custodian with a main and a spare
    /// YubiKey learns which token signs only once one is inserted), and
    /// returns the signer and the signature.
    Custodian(&'a mut SignFn<'a>),
}

/// How a custodian's token signs: see [`By::Custodian`].
pub type SignFn<'a> =
    dyn FnMut(&mut dyn FnMut(&Signer) -> Vec<u8>) -> Result<(Signer, Vec<u8>), String> + 'a;

/// One verified log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Sequence number.
    pub seq: u64,
    /// Time.
    pub time: Timestamp,
    /// Event type.
    pub event: String,
    /// Generation current when written.
    pub generation: u64,
    /// Vault id (hex).
    pub vault: String,
    /// Event data (an object).
    pub data: Data,
    /// Previous hash.
    pub prev: String,
    /// This entry's hash.
    pub hash: String,
    /// How the entry says it is authenticated (checked by [`super::trust`]).
    pub seal: Seal,
}

impl Entry {
    /// Whether the entry claims a quorum (format 2 signature or format 1 MAC).
    pub fn claims_quorum(&self) -> bool {
        matches!(
            self.seal,
            Seal::Mac(_)
                | Seal::Signed {
                    by: Signer::Quorum,
                    ..
                }
        )
    }

    /// The bytes a format 2 signature covers: the canonical JSON of the
    /// entry without `hash` and without `sig.value`.
    pub fn signed_body(&self) -> Result<String, encoding::EncodingError> {
        let o = entry_object(self, false)?;
        encoding::canonical_json(&Value::Object(o))
    }
}

pub(super) fn hash_of(obj: &Map<String, Value>) -> Result<String, encoding::EncodingError> {
    let mut o = obj.clone();
    o.remove("hash");
    let text = encoding::canonical_json(&Value::Object(o))?;
    Ok(hex(&Sha256::digest(text.as_bytes())))
}

/// Parses and checks one line on its own (canonical form, fields, own hash).
pub fn parse_line(line: &str) -> Result<Entry, String> {
    let value = encoding::parse_canonical(line).map_err(|e| e.to_string())?;
    let obj = match value {
        Value::Object(o) => o,
        _ => return Err("not a JSON object".into()),
    };
    for k in obj.keys() {
        if ![
            "data",
            "event",
            "generation",
            "hash",
            "mac",
            "prev",
            "seq",
            "sig",
            "time",
            "vault",
        ]
        .contains(&k.as_str())
        {
            return Err(format!(
                "unknown member '{}'",
                k.chars().take(32).collect::<String>()
            ));
        }
    }
    let s = |k: &str| -> Result<String, String> {
        obj.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("member '{k}' missing or not a string"))
    };
    let n = |k: &str| -> Result<u64, String> {
        obj.get(k)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("member '{k}' missing or not an integer"))
    };
    let data = match obj.get("data") {
        Some(Value::Object(d)) => d.clone(),
        _ => return Err("member 'data' missing or not an object".into()),
    };
    let hash = s("hash")?;
    unhex::<32>(&hash, "hash").map_err(|e| e.to_string())?;
    let prev = s("prev")?;
    unhex::<32>(&prev, "prev").map_err(|e| e.to_string())?;
    let seal = match (obj.get("mac"), obj.get("sig")) {
        (None, None) => Seal::None,
        (Some(Value::String(m)), None) => {
            unhex::<32>(m, "mac").map_err(|e| e.to_string())?;
            Seal::Mac(m.clone())
        }
        (Some(_), None) => return Err("member 'mac' is not a string".into()),
        (None, Some(sig)) => {
            let (by, value) = Seal::parse(sig)?;
            Seal::Signed { by, value }
        }
        (Some(_), Some(_)) => {
            return Err(
                "an entry carries either 'mac' (format 1) or 'sig' (format 2), not both".into(),
            )
        }
    };
    let event = s("event")?;
    if event.is_empty() || event.len() > 64 {
        return Err("member 'event' is empty or too long".into());
    }
    let vault = s("vault")?;
    unhex::<16>(&vault, "vault").map_err(|e| e.to_string())?;
    let time = Timestamp::parse(&s("time")?).map_err(|e| e.to_string())?;
    let computed = hash_of(&obj).map_err(|e| e.to_string())?;
    if computed != hash {
        return Err("its hash does not match its content".into());
    }
    let generation = n("generation")?;
    if generation == 0 {
        return Err("member 'generation' must be at least 1".into());
    }
    Ok(Entry {
        seq: n("seq")?,
        time,
        event,
        generation,
        vault,
        data: Data::from(data),
        prev,
        hash,
        seal,
    })
}

pub(super) fn entry_object(
    e: &Entry,
    with_value: bool,
) -> Result<Map<String, Value>, encoding::EncodingError> {
    let mut o = Map::new();
    o.insert("data".into(), Value::Object(e.data.map().clone()));
    o.insert("event".into(), Value::String(e.event.clone()));
    o.insert("generation".into(), Value::from(e.generation));
    o.insert("prev".into(), Value::String(e.prev.clone()));
    o.insert("seq".into(), Value::from(e.seq));
    o.insert("time".into(), Value::String(e.time.to_rfc3339()));
    o.insert("vault".into(), Value::String(e.vault.clone()));
    match &e.seal {
        Seal::None => {}
        Seal::Mac(m) => {
            o.insert("mac".into(), Value::String(m.clone()));
        }
        Seal::Signed { by, value } => {
            let mut sig = Seal::sig_object(by);
            if with_value {
                sig.insert("value".into(), Value::String(hex(value)));
            }
            o.insert("sig".into(), Value::Object(sig));
        }
    }
    Ok(o)
}

/// The canonical line of an entry (without the final newline), as the log
/// holds it: the inverse of [`parse_line`].
pub fn encode_entry(e: &Entry) -> Result<String, encoding::EncodingError> {
    let mut o = entry_object(e, true)?;
    o.insert("hash".into(), Value::String(e.hash.clone()));
    encoding::canonical_json(&Value::Object(o))
}
