//! A JSON tree that borrows its strings from the input text, for the importers: reading an estate's
//! `describe-*` output into [`serde_json::Value`] allocates every key and every string (a million of them for 80,000
//! VPCs), and freeing them again cost as much. [`Json`] keeps a string as a slice of the file unless it holds an
//! escape, and an object as a list of its entries.
//!
//! It reads what `Value` reads, with the same meaning: the same parser and errors, numbers as
//! [`serde_json::Number`], and an object that names a key twice keeps the last value (as `Value` does).
//!
//! ```text
//! let doc: Json = serde_json::from_str(r#"{"a": {"b": "x"}, "a": {"b": "y"}}"#)?;
//! assert_eq!(doc.pointer("/a/b").and_then(Json::as_str), Some("y"));
//! ```

use std::{borrow::Cow, collections::HashMap, fmt};

use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

/// One JSON value; strings and keys borrow from the text they were read from where they can.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    /// Entries in the order read, each key once.
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// The value of `key` when this is an object that has it.
    pub(crate) fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_array(&self) -> Option<&[Json<'a>]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A value by JSON pointer (`/Attachment/InstanceId`), as [`Value::pointer`] reads it.
    pub(crate) fn pointer(&self, pointer: &str) -> Option<&Json<'a>> {
        if pointer.is_empty() {
            return Some(self);
        }
        if !pointer.starts_with('/') {
            return None;
        }
        pointer.split('/').skip(1).try_fold(self, |target, token| {
            let token: Cow<str> = if token.contains('~') {
                token.replace("~1", "/").replace("~0", "~").into()
            } else {
                token.into()
            };
            match target {
                Json::Object(_) => target.get(&token),
                Json::Array(items) => parse_index(&token).and_then(|i| items.get(i)),
                _ => None,
            }
        })
    }

    /// The same value as a [`serde_json::Value`] (for the rare records merged field by field).
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::String(s) => Value::String(s.to_string()),
            Json::Array(items) => Value::Array(items.iter().map(Json::to_value).collect()),
            Json::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

/// An array index in a JSON pointer, as `serde_json` reads one (no sign, no leading zero).
fn parse_index(s: &str) -> Option<usize> {
    if s.starts_with('+') || (s.starts_with('0') && s.len() != 1) {
        return None;
    }
    s.parse().ok()
}

/// Reads `text` as [`serde_json::from_str`] would, with the same errors.
pub(crate) fn parse(text: &str) -> Result<Json<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Seed(&mut Scratch::default()).deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Seed(&mut Scratch::default()).deserialize(deserializer)
    }
}

/// The items and entries of the arrays and objects being read, one stack for all: each array or object is
/// allocated once, at its size, when it ends (growing a list per object cost a fifth of an import).
#[derive(Default)]
struct Scratch<'de> {
    items: Vec<Json<'de>>,
    entries: Vec<(Cow<'de, str>, Json<'de>)>,
}

struct Seed<'s, 'de>(&'s mut Scratch<'de>);

impl<'de> DeserializeSeed<'de> for Seed<'_, 'de> {
    type Value = Json<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_, 'de> {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Json<'de>, E> {
        Ok(Number::from_f64(n).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(s)))
    }

    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let scratch = self.0;
        let start = scratch.items.len();
        while let Some(item) = seq.next_element_seed(Seed(&mut *scratch))? {
            scratch.items.push(item);
        }
        Ok(Json::Array(scratch.items.drain(start..).collect()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let scratch = self.0;
        let start = scratch.entries.len();
        // Past a few entries, where each key is, so that a repeated key is found without a scan.
        let mut index: Option<HashMap<Cow<'de, str>, usize>> = None;
        while let Some(Key(key)) = map.next_key()? {
            let value = map.next_value_seed(Seed(&mut *scratch))?;
            let entries = &mut scratch.entries;
            let at = match &index {
                Some(index) => index.get(&key).copied(),
                None => entries[start..].iter().position(|(k, _)| *k == key),
            };
            match at {
                // A repeated key keeps its last value, as `serde_json::Value` does.
                Some(i) => entries[start + i].1 = value,
                None => {
                    if let Some(index) = &mut index {
                        index.insert(key.clone(), entries.len() - start);
                    }
                    entries.push((key, value));
                    if index.is_none() && entries.len() - start > 16 {
                        index = Some(
                            entries[start..]
                                .iter()
                                .enumerate()
                                .map(|(i, (k, _))| (k.clone(), i))
                                .collect(),
                        );
                    }
                }
            }
        }
        Ok(Json::Object(scratch.entries.drain(start..).collect()))
    }
}

/// An object key, borrowed from the text when it holds no escape.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }

            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }

            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }

            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every text reads into the same value as `serde_json::Value` reads it, or fails with the same error.
    #[test]
    fn reads_as_value_reads() {
        for text in [
            r#"{"a": 1, "b": [true, null, -2, 3.5, 1e300, "x\ny"], "c\"d": {"e": "\u00e9\u0001"}}"#,
            r#"{"a": 1, "a": {"b": 2}, "c": 3, "a": "last"}"#,
            r#"{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,
                "k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k3":"again","k18":18,"k17":"too"}"#,
            r#"[18446744073709551615, -9223372036854775808, 0.1]"#,
            r#"{"a": [1, 2"#,
            r#"{"a": 1} x"#,
            r#""\ud800""#,
            "",
        ] {
            let ours = parse(text).map(|j| j.to_value());
            let via_trait = serde_json::from_str::<Json>(text).map(|j| j.to_value());
            assert_eq!(
                ours.as_ref().map_err(ToString::to_string),
                via_trait.as_ref().map_err(ToString::to_string)
            );
            let theirs = serde_json::from_str::<Value>(text);
            match (ours, theirs) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{text}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{text}"),
                (a, b) => panic!("{text}: {a:?} but serde_json::Value reads {b:?}"),
            }
        }
    }

    #[test]
    fn strings_without_escapes_are_borrowed_and_pointers_resolve() {
        let text = r#"{"a": {"b~/c": ["x", "y\t"]}, "a": {"b~/c": ["z", "w\t"]}}"#;
        let doc: Json = serde_json::from_str(text).unwrap();
        let list = doc.pointer("/a/b~0~1c").and_then(Json::as_array).unwrap();
        assert!(matches!(&list[0], Json::String(Cow::Borrowed("z"))));
        assert!(matches!(&list[1], Json::String(Cow::Owned(s)) if s == "w\t"));
        assert_eq!(doc.pointer("/a/b~0~1c/1").and_then(Json::as_str), Some("w\t"));
        assert_eq!(doc.pointer("/a/b~0~1c/01"), None);
        assert_eq!(doc.pointer("a"), None);
        assert_eq!(doc.pointer(""), Some(&doc));
    }
}
