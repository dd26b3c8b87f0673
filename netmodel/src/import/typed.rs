//! `describe-vpcs` records read straight into typed structs, for the importer's fast path: an estate's file of
//! 80,000 VPCs read into a [`super::borrowed::Json`] tree first spent a third of `peerplan check` building and
//! freeing that tree. [`VpcRecord`] holds only the fields the importer reads, as slices of the file; every other
//! field is skipped while parsing.
//!
//! The fast path gives exactly what the tree gives, or nothing: [`read_vpcs`] takes a file only when no string in
//! it could need the importer's clean-up (see [`is_plain`]) and the typed read succeeds. A field of an odd type, a
//! key named twice, an escape anywhere: `false`, and the importer reads the file as a tree (lenient about types,
//! the last of a repeated key wins, control characters replaced with a note), which [`VpcRecord::from_tree`] then
//! turns into the same record.
//!
//! ```text
//! let mut ids = Vec::new();
//! let text = r#"{"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16", "State": "available"}]}"#;
//! assert!(read_vpcs(text, |v| {
//!     ids.push(v.vpc_id);
//!     true
//! }));
//! assert_eq!(ids, [Some("vpc-1")]);
//! assert!(!read_vpcs(r#"{"Vpcs": [{"VpcId": 7}]}"#, |_| true)); // the tree path decides
//! ```

use serde::{
    de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor},
    Deserialize,
};

use super::borrowed::Json;
use crate::model::MAX_TEXT_CHARS;

/// One VPC of `describe-vpcs`: the fields the importer reads.
#[derive(Debug, Default, Deserialize, PartialEq)]
pub(super) struct VpcRecord<'a> {
    #[serde(rename = "VpcId", borrow, default)]
    pub vpc_id: Option<&'a str>,
    #[serde(rename = "CidrBlock", borrow, default)]
    pub cidr_block: Option<&'a str>,
    #[serde(rename = "OwnerId", borrow, default)]
    pub owner_id: Option<&'a str>,
    #[serde(rename = "CidrBlockAssociationSet", borrow, default)]
    pub ipv4: Option<Vec<Ipv4Association<'a>>>,
    #[serde(rename = "Ipv6CidrBlockAssociationSet", borrow, default)]
    pub ipv6: Option<Vec<Ipv6Association<'a>>>,
    #[serde(rename = "Tags", borrow, default)]
    pub tags: Option<NameTag<'a>>,
    #[serde(rename = "TagSet", borrow, default)]
    pub tag_set: Option<NameTag<'a>>,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
pub(super) struct Ipv4Association<'a> {
    #[serde(rename = "CidrBlock", borrow, default)]
    pub cidr_block: Option<&'a str>,
    #[serde(rename = "CidrBlockState", borrow, default)]
    pub state: Option<State<'a>>,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
pub(super) struct State<'a> {
    #[serde(rename = "State", borrow, default)]
    pub state: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
pub(super) struct Ipv6Association<'a> {
    #[serde(rename = "Ipv6CidrBlock", borrow, default)]
    pub cidr_block: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
pub(super) struct Tag<'a> {
    #[serde(rename = "Key", borrow, default)]
    pub key: Option<&'a str>,
    #[serde(rename = "Value", borrow, default)]
    pub value: Option<&'a str>,
}

/// What [`VpcRecord::name`] needs of a tag list (`Tags` or `TagSet`): whether a tag is keyed `Name`, and the first
/// such tag's value. Every tag is still read as a [`Tag`] (a list the tree would read otherwise fails the typed
/// read as before); only the list is not kept, one allocation fewer per VPC.
#[derive(Debug, Default, PartialEq)]
pub(super) struct NameTag<'a> {
    pub found: bool,
    pub value: Option<&'a str>,
}

impl<'a> NameTag<'a> {
    fn of(tags: impl IntoIterator<Item = Tag<'a>>) -> NameTag<'a> {
        let mut name = NameTag::default();
        tags.into_iter().for_each(|t| name.add(t));
        name
    }

    /// Takes the next tag of the list.
    fn add(&mut self, tag: Tag<'a>) {
        if !self.found && non_empty(tag.key) == Some("Name") {
            *self = NameTag {
                found: true,
                value: tag.value,
            };
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for NameTag<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Tags<'a>(std::marker::PhantomData<NameTag<'a>>);
        impl<'de: 'a, 'a> Visitor<'de> for Tags<'a> {
            type Value = NameTag<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of tags")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NameTag<'a>, A::Error> {
                let mut name = NameTag::default();
                while let Some(t) = seq.next_element::<Tag<'a>>()? {
                    name.add(t);
                }
                Ok(name)
            }
        }
        deserializer.deserialize_seq(Tags(std::marker::PhantomData))
    }
}

/// A `describe-vpcs` file's top-level object: its `Vpcs` list, every other key skipped (as a derived
/// `Deserialize` reads it: `Vpcs` missing or given twice is an error). Each record goes to `each` as it is read
/// (no list of them all is built: an estate's 80,000 records and their association lists took 40 MiB); `each`
/// returning false stops the read.
struct VpcsFile<F> {
    each: F,
}

impl<'de, F: FnMut(VpcRecord<'de>) -> bool> Visitor<'de> for VpcsFile<F> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a describe-vpcs object")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut read_list = false;
        while let Some(key) = map.next_key::<&'de str>()? {
            if key != "Vpcs" {
                map.next_value::<IgnoredAny>()?;
            } else if read_list {
                return Err(de::Error::duplicate_field("Vpcs"));
            } else {
                map.next_value_seed(VpcList { each: &mut self.each })?;
                read_list = true;
            }
        }
        if read_list {
            Ok(())
        } else {
            Err(de::Error::missing_field("Vpcs"))
        }
    }
}

/// The `Vpcs` list of [`VpcsFile`].
struct VpcList<'f, F> {
    each: &'f mut F,
}

impl<'de, F: FnMut(VpcRecord<'de>) -> bool> DeserializeSeed<'de> for VpcList<'_, F> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(VpcRecord<'de>) -> bool> Visitor<'de> for VpcList<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of VPCs")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element()? {
            if !(self.each)(v) {
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// Whether no string of `text` can need the importer's clean-up: printable ASCII (or JSON whitespace) only, no
/// backslash (so no escaped control character either), and never more than [`MAX_TEXT_CHARS`] bytes between two
/// quotes (so no string longer than that).
///
/// Told a block of [`BLOCK`] bytes at a time (the loop over a block vectorises; an estate's file is tens of
/// megabytes): when every whole block holds a quote, no run of bytes without one can be longer than two blocks
/// less two bytes, within the limit. A file with a whole block free of quotes is measured exactly
/// ([`is_plain_bytewise`]).
pub(super) fn is_plain(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut blocks = bytes.chunks_exact(BLOCK);
    let mut every_block_quoted = true;
    for block in blocks.by_ref() {
        let (bad, quote) = block_flags(block);
        if bad {
            return false;
        }
        every_block_quoted &= quote;
    }
    if block_flags(blocks.remainder()).0 {
        return false;
    }
    every_block_quoted || is_plain_bytewise(text)
}

/// The block of [`is_plain`]: a run without a quote that no whole block lies in is at most `2 * (BLOCK - 1)` bytes.
const BLOCK: usize = 512;
const _: () = assert!(2 * (BLOCK - 1) <= MAX_TEXT_CHARS);

/// Whether `block` holds a byte a plain file cannot hold, and whether it holds a quote.
fn block_flags(block: &[u8]) -> (bool, bool) {
    let (mut bad, mut quote) = (false, false);
    for &b in block {
        let printable = b.wrapping_sub(0x20) < 0x5f && b != b'\\';
        let space = b == b'\t' || b == b'\n' || b == b'\r';
        bad |= !(printable | space);
        quote |= b == b'"';
    }
    (bad, quote)
}

/// [`is_plain`] a byte at a time: the definition.
fn is_plain_bytewise(text: &str) -> bool {
    let mut since_quote = 0usize;
    for &b in text.as_bytes() {
        if b == b'"' {
            since_quote = 0;
            continue;
        }
        let ok = ((0x20..0x7f).contains(&b) && b != b'\\') || matches!(b, b'\t' | b'\n' | b'\r');
        since_quote += 1;
        if !ok || since_quote > MAX_TEXT_CHARS {
            return false;
        }
    }
    true
}

/// Reads the VPCs of a `describe-vpcs` file as typed records, giving each to `each` in file order; false when the
/// file is not one the typed read takes (the tree path decides what it holds), or when `each` said stop (false).
/// The records given before a later one failed the read are not the file's: a caller that gets false drops what
/// it made of them.
pub(super) fn read_vpcs<'a>(text: &'a str, each: impl FnMut(VpcRecord<'a>) -> bool) -> bool {
    starts_with_vpcs(text) && is_plain(text) && parse_vpcs(text, each)
}

/// Whether the file's first key is `Vpcs` (as `aws ec2 describe-vpcs` writes it): only such a file is tried, as
/// any other would be read to its end before the missing list failed it.
pub(super) fn starts_with_vpcs(text: &str) -> bool {
    text.trim_start()
        .strip_prefix('{')
        .is_some_and(|rest| rest.trim_start().starts_with("\"Vpcs\""))
}

/// The typed read of [`read_vpcs`] without its two tests of the text, for a caller that runs them itself while
/// this parse runs on another thread: what it gives counts only when both tests pass too.
pub(super) fn parse_vpcs<'a>(text: &'a str, each: impl FnMut(VpcRecord<'a>) -> bool) -> bool {
    let mut de = serde_json::Deserializer::from_str(text);
    serde::Deserializer::deserialize_map(&mut de, VpcsFile { each }).is_ok() && de.end().is_ok()
}

fn text<'r>(v: &'r Json, key: &str) -> Option<&'r str> {
    v.get(key).and_then(Json::as_str)
}

fn list<'r, 'a, T>(v: &'r Json<'a>, key: &str, item: impl Fn(&'r Json<'a>) -> T) -> Option<Vec<T>> {
    v.get(key)
        .and_then(Json::as_array)
        .map(|l| l.iter().map(item).collect())
}

impl<'r> VpcRecord<'r> {
    /// The record of a VPC read as a tree: a field of another type than the record's counts as absent, as the
    /// importer has always read it.
    pub(super) fn from_tree(v: &'r Json) -> VpcRecord<'r> {
        let tag = |t: &'r Json| Tag {
            key: text(t, "Key"),
            value: text(t, "Value"),
        };
        let name_tag = |key| list(v, key, tag).map(NameTag::of);
        VpcRecord {
            vpc_id: text(v, "VpcId"),
            cidr_block: text(v, "CidrBlock"),
            owner_id: text(v, "OwnerId"),
            ipv4: list(v, "CidrBlockAssociationSet", |a| Ipv4Association {
                cidr_block: text(a, "CidrBlock"),
                state: a.get("CidrBlockState").map(|st| State {
                    state: text(st, "State"),
                }),
            }),
            ipv6: list(v, "Ipv6CidrBlockAssociationSet", |a| Ipv6Association {
                cidr_block: text(a, "Ipv6CidrBlock"),
            }),
            tags: name_tag("Tags"),
            tag_set: name_tag("TagSet"),
        }
    }

    /// The `Name` tag's value (from `Tags`, then `TagSet`), or an empty string.
    pub(super) fn name(&self) -> &'r str {
        [&self.tags, &self.tag_set]
            .into_iter()
            .flatten()
            .find(|t| t.found)
            .and_then(|t| non_empty(t.value))
            .unwrap_or_default()
    }
}

/// A string field as the importer reads it: an empty string counts as absent.
pub(super) fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record of a file the typed read takes, or `None`.
    fn records(text: &str) -> Option<Vec<VpcRecord<'_>>> {
        let mut all = Vec::new();
        read_vpcs(text, |v| {
            all.push(v);
            true
        })
        .then_some(all)
    }

    /// Every text the typed read takes gives the record the tree gives.
    #[test]
    fn typed_records_are_what_the_tree_gives() {
        let texts = [
            r#"{"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16", "OwnerId": "1", "Other": {"x": [1, 2.5]},
                "CidrBlockAssociationSet": [{"CidrBlock": "10.1.0.0/16", "CidrBlockState": {"State": "disassociated"}},
                                            {"CidrBlock": "10.2.0.0/16"}],
                "Ipv6CidrBlockAssociationSet": [{"Ipv6CidrBlock": "2600::/56"}],
                "Tags": [{"Key": "Env", "Value": "x"}, {"Key": "Name", "Value": "prod"}], "TagSet": null}],
              "Subnets": []}"#,
            r#"{"Vpcs": [{"VpcId": "", "Tags": [{"Key": "Name", "Value": ""}], "TagSet": [{"Key": "Name"}]}, {}]}"#,
            r#"
              {  "Vpcs": [{"Tags": [{"Key": "Env"}, {"Value": "x"}, {"Key": "Name", "Value": "a"}, {"Key": "Name",
                  "Value": "b"}], "TagSet": [{"Key": "Name", "Value": "c"}]},
                 {"Tags": [], "TagSet": [{"Key": "Name", "Value": "d"}]}, {"TagSet": [{"Key": "Name", "Value": "e"}]},
                 {"Tags": null, "Ipv6CidrBlockAssociationSet": null, "CidrBlockAssociationSet": []}],
                "NextToken": null }
            "#,
        ];
        for t in texts {
            let typed = records(t).unwrap_or_else(|| panic!("{t}"));
            let tree = super::super::borrowed::parse(t).unwrap();
            let from_tree: Vec<VpcRecord> = tree
                .get("Vpcs")
                .and_then(Json::as_array)
                .unwrap()
                .iter()
                .map(VpcRecord::from_tree)
                .collect();
            assert_eq!(typed, from_tree, "{t}");
        }
        let first = &records(texts[0]).unwrap()[0];
        assert_eq!(first.name(), "prod");
        assert_eq!(records(texts[1]).unwrap()[0].name(), "");
        let names: Vec<&str> = records(texts[2]).unwrap().iter().map(VpcRecord::name).collect();
        assert_eq!(names, ["a", "d", "e", ""]);
    }

    /// The block-wise test says what the byte-wise definition says: quotes sparse or dense around the block size
    /// and the length limit, an odd byte anywhere (a whole block, the tail).
    #[test]
    fn plain_by_blocks_is_plain_by_bytes() {
        let mut texts: Vec<String> = Vec::new();
        for run in [
            0, 1, 510, 511, 512, 513, 1021, 1022, 1023, 1024, 1025, 1026, 1536, 2048, 3000,
        ] {
            for lead in [0, 1, 255, 511, 512, 700] {
                for tail in [0, 1, 3, 511, 512, 1025] {
                    let quotes = |n: usize| "\"ab\"".repeat(n / 4 + 1);
                    texts.push(format!("{}{}\"{}", quotes(lead), "x".repeat(run), quotes(tail)));
                    texts.push(format!("{}{}", "y".repeat(run), quotes(tail)));
                    texts.push(format!("{}{}", quotes(lead), " ".repeat(run)));
                }
            }
        }
        let base = texts.clone();
        for t in &base {
            for odd in ["\\", "\u{7}", "\u{7f}", "é", "\u{202e}", "\t", "\r\n"] {
                for at in [0, t.len() / 2, t.len()] {
                    let mut bad = t.clone();
                    if bad.is_char_boundary(at) {
                        bad.insert_str(at, odd);
                        texts.push(bad);
                    }
                }
            }
        }
        for t in &texts {
            assert_eq!(is_plain(t), is_plain_bytewise(t), "{:?}…", &t[..t.len().min(80)]);
        }
        assert!(texts.iter().any(|t| is_plain(t)) && texts.iter().any(|t| !is_plain(t)));
    }

    /// What the typed read leaves to the tree: odd types, repeated keys, escapes, long or non-ASCII text, no list.
    #[test]
    fn odd_files_are_left_to_the_tree() {
        let long = format!(
            r#"{{"Vpcs": [{{"VpcId": "vpc-1", "X": "{}"}}]}}"#,
            "a".repeat(MAX_TEXT_CHARS + 1)
        );
        let exact = format!(
            r#"{{"Vpcs": [{{"VpcId": "vpc-1", "X": "{}"}}]}}"#,
            "a".repeat(MAX_TEXT_CHARS)
        );
        for t in [
            r#"{"Vpcs": [{"VpcId": 7}]}"#,
            r#"{"Vpcs": [{"VpcId": "a", "VpcId": "b"}]}"#,
            r#"{"Vpcs": [{"VpcId": "vpc-1", "Tags": {"Key": "Name"}}]}"#,
            r#"{"Vpcs": [{"VpcId": "vpc-1", "Tags": [{"Key": "Name", "Value": "a\nb"}]}]}"#,
            r#"{"Vpcs": [{"VpcId": "vpc-1", "Unread": "a\u0007"}]}"#,
            "{\"Vpcs\": [{\"VpcId\": \"vpc-\u{202e}1\"}]}",
            "{\"Vpcs\": [{\"VpcId\": \"vpc-\u{7f}1\"}]}",
            r#"{"Vpcs": 3}"#,
            r#"{"Subnets": []}"#,
            r#"[1]"#,
            "",
            // (A list of the fields in order is no describe-vpcs file: the tree refuses it.)
            r#"[[{"VpcId": "vpc-1"}]]"#,
            // (Read to its end only by the tree: a file the AWS CLI writes starts with its list.)
            r#"{"NextToken": "x", "Vpcs": [{"VpcId": "vpc-1"}]}"#,
            r#"{"Vpcs": [], "Vpcs": []}"#,
            r#"{"Vpcs": []} {}"#,
            &long,
        ] {
            assert!(records(t).is_none(), "{t}");
        }
        assert!(records(&exact).is_some());
    }
}
