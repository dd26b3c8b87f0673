//! `describe-vpcs` records read straight into typed structs, for the importer's fast path: an estate's file of
//! 80,000 VPCs read into a [`super::borrowed::Json`] tree first spent a third of `peerplan check` building and
//! freeing that tree. [`VpcRecord`] holds only the fields the importer reads, as slices of the file; every other
//! field is skipped while parsing.
//!
//! The fast path gives exactly what the tree gives, or nothing: [`read_vpcs`] takes a file only when no string in
//! it could need the importer's clean-up (see [`is_plain`]) and the typed read succeeds. A field of an odd type, a
//! key named twice, an escape anywhere: `None`, and the importer reads the file as a tree (lenient about types,
//! the last of a repeated key wins, control characters replaced with a note), which [`VpcRecord::from_tree`] then
//! turns into the same record.
//!
//! ```ignore
//! let recs = read_vpcs(r#"{"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16", "State": "available"}]}"#);
//! assert_eq!(recs.unwrap()[0].vpc_id, Some("vpc-1"));
//! assert!(read_vpcs(r#"{"Vpcs": [{"VpcId": 7}]}"#).is_none()); // the tree path decides
//! ```

use serde::Deserialize;

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
    pub tags: Option<Vec<Tag<'a>>>,
    #[serde(rename = "TagSet", borrow, default)]
    pub tag_set: Option<Vec<Tag<'a>>>,
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

#[derive(Deserialize)]
struct VpcsFile<'a> {
    #[serde(rename = "Vpcs", borrow)]
    vpcs: Vec<VpcRecord<'a>>,
}

/// Whether no string of `text` can need the importer's clean-up: printable ASCII (or JSON whitespace) only, no
/// backslash (so no escaped control character either), and never more than [`MAX_TEXT_CHARS`] bytes between two
/// quotes (so no string longer than that).
pub(super) fn is_plain(text: &str) -> bool {
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

/// The VPCs of a `describe-vpcs` file whose `Vpcs` list reads as typed records, or `None` (the tree path decides
/// what the file holds).
pub(super) fn read_vpcs(text: &str) -> Option<Vec<VpcRecord<'_>>> {
    if !is_plain(text) {
        return None;
    }
    serde_json::from_str::<VpcsFile>(text).ok().map(|f| f.vpcs)
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
            tags: list(v, "Tags", tag),
            tag_set: list(v, "TagSet", tag),
        }
    }

    /// The `Name` tag's value (from `Tags`, then `TagSet`), or an empty string.
    pub(super) fn name(&self) -> &'r str {
        self.tags
            .iter()
            .chain(&self.tag_set)
            .flatten()
            .find(|t| non_empty(t.key) == Some("Name"))
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
        ];
        for t in texts {
            let typed = read_vpcs(t).unwrap_or_else(|| panic!("{t}"));
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
        let first = &read_vpcs(texts[0]).unwrap()[0];
        assert_eq!(first.name(), "prod");
        assert_eq!(read_vpcs(texts[1]).unwrap()[0].name(), "");
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
            &long,
        ] {
            assert!(read_vpcs(t).is_none(), "{t}");
        }
        assert!(read_vpcs(&exact).is_some());
    }
}
