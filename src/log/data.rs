//! An entry's `data` object, read into a map only when someone asks.
//!
//! A line read on the fast path ([`super::scan`]) keeps the object's
//! canonical text, one allocation, instead of a map of a dozen (every key
//! and every string is its own allocation, made on one thread and freed on
//! another). The map is built the first time the whole object is asked
//! for: `log verify` builds it only for the few entries its trust rules
//! look at (root, certificates), `status` and `report` read single members
//! from the text ([`Data::member`]), JSON Lines export copies the text, and
//! a visitor that wants every map has them built on the worker threads
//! beforehand ([`super::Reads::Data`]).
//!
//! Invariant: the text, when kept, is canonical JSON of an object that the
//! scanner validated (UTF-8, canonical escapes and integers, keys unique
//! and sorted, nesting within its limit), which `serde_json` always reads,
//! and it is byte for byte what [`crate::encoding::canonical_json`] and
//! `serde_json::to_writer` write for the map (`tests/log_fast_path.rs`
//! compares both paths on every vector and on seeded random mutations).

use std::borrow::Cow;
use std::ops::Deref;
use std::sync::OnceLock;

use serde_json::{Map, Value};

/// The `data` member of a log entry: a JSON object (see the module docs).
#[derive(Clone, Default)]
pub struct Data {
    /// The canonical text as the line holds it (None when made from a map).
    text: Option<Box<str>>,
    map: OnceLock<Map<String, Value>>,
}

impl Data {
    /// From text the fast scanner validated as a canonical JSON object.
    pub(super) fn from_canonical(text: &str) -> Data {
        Data {
            text: Some(text.into()),
            map: OnceLock::new(),
        }
    }

    /// The members, read from the text the first time.
    pub fn map(&self) -> &Map<String, Value> {
        self.map.get_or_init(|| parse(self.text.as_deref()))
    }

    /// The members, as a map of one's own (to change and write again).
    pub fn into_map(self) -> Map<String, Value> {
        let Data { text, map } = self;
        map.into_inner().unwrap_or_else(|| parse(text.as_deref()))
    }

    /// Reads the map now (on the thread that calls it) and lets the text
    /// go (a visitor that reads data needs the map, not both).
    pub(super) fn prepare(&mut self) {
        self.map();
        self.text = None;
    }

    /// One top-level member that is a non-negative integer, read from the
    /// text without building the map when it has not been built.
    pub fn u64_member(&self, key: &str) -> Option<u64> {
        match (self.map.get(), self.text.as_deref()) {
            (None, Some(text)) => super::scan::top_level_u64(text, key),
            _ => self.map().get(key).and_then(Value::as_u64),
        }
    }

    /// One top-level member, read from the text alone when the map has not
    /// been built (a report that reads a few members of each entry then
    /// builds no map).
    pub fn member(&self, key: &str) -> Option<Cow<'_, Value>> {
        match (self.map.get(), self.text.as_deref()) {
            (None, Some(text)) => {
                let raw = super::scan::top_level_member(text, key)?;
                serde_json::from_str(raw).ok().map(Cow::Owned)
            }
            _ => self.map().get(key).map(Cow::Borrowed),
        }
    }

    /// A string member ("" when absent or not a string).
    pub fn str_member(&self, key: &str) -> String {
        match self.member(key) {
            Some(Cow::Owned(Value::String(s))) => s,
            Some(v) => v.as_str().unwrap_or_default().to_owned(),
            None => String::new(),
        }
    }

    /// The string items of a list member (empty when absent).
    pub fn strs_member(&self, key: &str) -> Vec<String> {
        self.member(key)
            .and_then(|v| {
                v.as_array().map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
            })
            .unwrap_or_default()
    }

    /// The integer items of a list member (empty when absent).
    pub fn u64s_member(&self, key: &str) -> Vec<u64> {
        self.member(key)
            .and_then(|v| {
                v.as_array()
                    .map(|a| a.iter().filter_map(Value::as_u64).collect())
            })
            .unwrap_or_default()
    }

    /// Every top-level member, found in one pass over the text when the
    /// map has not been built (for a reader of many members: the SIEM
    /// mappings read a dozen of each entry).
    pub fn members(&self) -> Members<'_> {
        match (self.map.get(), self.text.as_deref()) {
            (None, Some(text)) => Members::Text(super::scan::top_level_members(text)),
            _ => Members::Map(self.map()),
        }
    }

    /// Appends the object's JSON (the canonical text as it was read, or
    /// `serde_json`'s encoding of the map: the same bytes for a scanned
    /// line) to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match &self.text {
            Some(t) => out.extend_from_slice(t.as_bytes()),
            // Writing a map of JSON values into a Vec cannot fail.
            None => {
                let _ = serde_json::to_writer(out, self.map());
            }
        }
    }
}

/// The top-level members of one entry's data ([`Data::members`]): as
/// ranges of its canonical text, or its map. Either way a member reads the
/// same (`tests/log_fast_path.rs` compares them on every vector and
/// mutation).
pub enum Members<'a> {
    /// (key, the value's JSON text) of a scanner-validated object.
    Text(Vec<(&'a str, &'a str)>),
    /// The map, once built.
    Map(&'a Map<String, Value>),
}

impl<'a> Members<'a> {
    fn raw(&self, key: &str) -> Option<&'a str> {
        match self {
            Members::Text(m) => m.iter().find(|(k, _)| *k == key).map(|(_, v)| *v),
            Members::Map(_) => None,
        }
    }

    /// A member that is a string (borrowed from the text unless it has an
    /// escape).
    pub fn str(&self, key: &str) -> Option<Cow<'a, str>> {
        match self {
            Members::Map(m) => m.get(key).and_then(Value::as_str).map(Cow::Borrowed),
            Members::Text(_) => {
                let raw = self.raw(key)?;
                let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
                if inner.contains('\\') {
                    serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
                } else {
                    Some(Cow::Borrowed(inner))
                }
            }
        }
    }

    /// The string items of a member that is a list (empty when absent or
    /// not a list).
    pub fn strs(&self, key: &str) -> Vec<Cow<'a, str>> {
        match self {
            Members::Map(m) => m
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(Cow::Borrowed)
                .collect(),
            Members::Text(_) => self
                .raw(key)
                .filter(|raw| raw.starts_with('['))
                .and_then(|raw| serde_json::from_str::<Vec<Value>>(raw).ok())
                .into_iter()
                .flatten()
                .filter_map(|v| match v {
                    Value::String(s) => Some(Cow::Owned(s)),
                    _ => None,
                })
                .collect(),
        }
    }

    /// A member that is a non-negative integer.
    pub fn u64(&self, key: &str) -> Option<u64> {
        match self {
            Members::Map(m) => m.get(key).and_then(Value::as_u64),
            Members::Text(_) => super::scan::whole_u64(self.raw(key)?),
        }
    }
}

/// The map of the text a scanner validated.
fn parse(text: Option<&str>) -> Map<String, Value> {
    let parsed = serde_json::from_str(text.unwrap_or("{}"));
    // Unreachable by the invariant (the scanner validated this text with
    // stricter limits than serde_json's); `tests/log_fast_path.rs` would see
    // an empty map differ from the reference's.
    debug_assert!(parsed.is_ok(), "scanned data does not parse");
    parsed.unwrap_or_default()
}

impl From<Map<String, Value>> for Data {
    fn from(map: Map<String, Value>) -> Data {
        Data {
            text: None,
            map: OnceLock::from(map),
        }
    }
}

impl Deref for Data {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Map<String, Value> {
        self.map()
    }
}

impl PartialEq for Data {
    fn eq(&self, other: &Data) -> bool {
        self.map() == other.map()
    }
}

impl Eq for Data {}

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.map().fmt(f)
    }
}

impl serde::Serialize for Data {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.map().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_map_agree() {
        let text = r#"{"a":[1,{"b":"x\"y"}],"n":7,"s":"é\n"}"#;
        let d = Data::from_canonical(text);
        assert_eq!(d.u64_member("n"), Some(7));
        assert_eq!(d.u64_member("a"), None);
        assert_eq!(d.u64_member("zz"), None);
        assert_eq!(d.str_member("s"), "é\n");
        assert_eq!(d.str_member("n"), "");
        assert_eq!(
            d.member("a"),
            Some(Cow::Owned(serde_json::json!([1, {"b": "x\"y"}])))
        );
        assert_eq!(d.member("b"), None);
        assert!(d.map.get().is_none(), "members are read from the text");
        let mut out = Vec::new();
        d.write_json(&mut out);
        assert_eq!(out, text.as_bytes());
        let from_map = Data::from(d.map().clone());
        let mut again = Vec::new();
        from_map.write_json(&mut again);
        assert_eq!(again, text.as_bytes());
        assert_eq!(d, from_map);
        let mut changed = d.clone().into_map();
        changed.insert("z".into(), 1.into());
        let changed = Data::from(changed);
        out.clear();
        changed.write_json(&mut out);
        assert_eq!(
            out,
            r#"{"a":[1,{"b":"x\"y"}],"n":7,"s":"é\n","z":1}"#.as_bytes()
        );
        assert_ne!(changed, from_map);
    }

    /// `members()` reads the same from the text (one pass, strings borrowed
    /// unless escaped) as from the map.
    #[test]
    fn members_from_text_and_map_agree() {
        let text = r#"{"custodians":["a\"b","c",1],"e":"","n":7,"q":"x\ny","s":"plain","z":[]}"#;
        let t = Data::from_canonical(text);
        let m = Data::from(Data::from_canonical(text).into_map());
        let (tm, mm) = (t.members(), m.members());
        assert!(matches!(tm, Members::Text(_)) && matches!(mm, Members::Map(_)));
        for k in ["custodians", "e", "n", "q", "s", "z", "absent"] {
            assert_eq!(tm.str(k), mm.str(k), "{k}");
            assert_eq!(tm.strs(k), mm.strs(k), "{k}");
            assert_eq!(tm.u64(k), mm.u64(k), "{k}");
        }
        assert_eq!(tm.str("q").as_deref(), Some("x\ny"));
        assert!(matches!(tm.str("s"), Some(Cow::Borrowed("plain"))));
        assert_eq!(tm.strs("custodians"), ["a\"b", "c"]);
        assert_eq!(tm.u64("n"), Some(7));
        assert!(t.map.get().is_none(), "members are read from the text");
    }
}
