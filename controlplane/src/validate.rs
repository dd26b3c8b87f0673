//! One check per field of the `/v1` API, shared by every operation that takes the field (create and update
//! alike): names and descriptions, regions and availability zones, the blocks of a VPC, subnet sizes, list
//! cursors. Each failure is a 400 that names the field and the offending value (long values shortened, so an
//! error never echoes a megabyte back).

use std::str::FromStr;

use netmodel::cidr::Cidr;

use crate::error::{ApiError, ErrorCode};

type Result<T> = std::result::Result<T, ApiError>;

/// Longest name or description, in characters.
pub const MAX_NAME: usize = 255;
/// IPv4 blocks per VPC: the primary and four secondary ones (AWS's default quota).
pub const MAX_IPV4_BLOCKS: usize = 5;
/// IPv6 blocks per VPC (AWS's default quota).
pub const MAX_IPV6_BLOCKS: usize = 5;
/// Prefix lengths AWS allows for a VPC block or a subnet (IPv4).
pub const IPV4_PREFIXES: std::ops::RangeInclusive<u8> = 16..=28;
/// How much of an offending value an error message shows.
const SHOWN: usize = 64;

/// The value as an error message shows it: quoted and escaped (control characters visible), cut after 64
/// characters with the full length given.
///
/// ```
/// use controlplane::validate::shown;
/// assert_eq!(shown("us-east-1"), "\"us-east-1\"");
/// assert_eq!(shown("a\u{0}b"), "\"a\\0b\"");
/// assert!(shown(&"x".repeat(1000)).ends_with("… (1000 characters)"));
/// ```
pub fn shown(value: &str) -> String {
    let count = value.chars().count();
    if count <= SHOWN {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(SHOWN).collect();
        format!("{head:?}… ({count} characters)")
    }
}

/// A name or description: at most 255 printable characters (no control characters, NUL included); `required`
/// ones must not be blank.
pub fn name(field: &str, value: &str, required: bool) -> Result<()> {
    if required && value.trim().is_empty() {
        return Err(ApiError::invalid(
            ErrorCode::InvalidName,
            format!("{field} must not be empty"),
        ));
    }
    let count = value.chars().count();
    if count > MAX_NAME {
        return Err(ApiError::invalid(
            ErrorCode::InvalidName,
            format!(
                "{field}: {} is {count} characters long (at most {MAX_NAME})",
                shown(value)
            ),
        ));
    }
    if !value.chars().all(printable) {
        return Err(ApiError::invalid(
            ErrorCode::InvalidName,
            format!(
                "{field}: {} contains control characters (only printable characters are allowed)",
                shown(value)
            ),
        ));
    }
    Ok(())
}

/// Not a control character (NUL, escape, newline…), not a line or paragraph separator, not a bidirectional
/// override (which make text display other than it reads).
fn printable(c: char) -> bool {
    !c.is_control()
        && !matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// A region name such as `us-east-1`, `eu-west-2` or `us-gov-west-1`: `^[a-z]{2}(-[a-z]+)+-\d+$`.
pub fn region(field: &str, value: &str) -> Result<()> {
    if value.len() <= 32 && netmodel::import::aws::is_region_name(value) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            ErrorCode::InvalidRegion,
            format!("{field}: {} is not a region name like us-east-1", shown(value)),
        ))
    }
}

/// An availability zone of the VPC's region: the region and one lowercase letter (`us-east-1a`). Empty means
/// "not given".
pub fn availability_zone(field: &str, value: &str, vpc_region: &str) -> Result<()> {
    if value.is_empty() {
        return Ok(());
    }
    let zone_region = value
        .strip_suffix(|c: char| c.is_ascii_lowercase())
        .filter(|r| r.len() <= 32 && netmodel::import::aws::is_region_name(r));
    match zone_region {
        None => Err(ApiError::invalid(
            ErrorCode::InvalidAvailabilityZone,
            format!(
                "{field}: {} is not an availability zone like us-east-1a (a region and one letter)",
                shown(value)
            ),
        )),
        Some(r) if r != vpc_region => Err(ApiError::invalid(
            ErrorCode::InvalidAvailabilityZone,
            format!(
                "{field}: {} is not in the VPC's region {vpc_region}",
                shown(value)
            ),
        )),
        Some(_) => Ok(()),
    }
}

/// A CIDR block (`field` names it in the error).
pub fn cidr(field: &str, text: &str) -> Result<Cidr> {
    Cidr::from_str(text).map_err(|e| {
        let reason = e.to_string();
        // The parser's message quotes the input; a huge input is shown shortened instead.
        let reason = if text.chars().count() > SHOWN {
            format!("{} is not a CIDR block", shown(text))
        } else {
            reason
        };
        ApiError::invalid(ErrorCode::InvalidCidr, format!("{field}: {reason}"))
    })
}

/// An IPv4 block of a VPC or subnet: /16 to /28.
pub fn ipv4_block(field: &str, text: &str) -> Result<Cidr> {
    let block = cidr(field, text)?;
    if !block.is_v4() {
        return Err(ApiError::invalid(
            ErrorCode::InvalidCidr,
            format!("{field}: {} is not an IPv4 block", shown(text)),
        ));
    }
    if !IPV4_PREFIXES.contains(&block.prefix_len()) {
        return Err(ApiError::invalid(
            ErrorCode::InvalidCidr,
            format!(
                "{field}: {} is a /{}; a block must be between /{} and /{}",
                shown(text),
                block.prefix_len(),
                IPV4_PREFIXES.start(),
                IPV4_PREFIXES.end()
            ),
        ));
    }
    Ok(block)
}

/// How many blocks a VPC may have: at most [`MAX_IPV4_BLOCKS`] IPv4 (primary included) and
/// [`MAX_IPV6_BLOCKS`] IPv6.
pub fn vpc_block_counts(secondary: usize, ipv6: usize) -> Result<()> {
    if secondary + 1 > MAX_IPV4_BLOCKS {
        return Err(ApiError::invalid(
            ErrorCode::TooManyCidrBlocks,
            format!(
                "secondary_cidr_blocks: {secondary} blocks given; a VPC has at most {MAX_IPV4_BLOCKS} IPv4 blocks (the primary and {} secondary)",
                MAX_IPV4_BLOCKS - 1
            ),
        ));
    }
    if ipv6 > MAX_IPV6_BLOCKS {
        return Err(ApiError::invalid(
            ErrorCode::TooManyCidrBlocks,
            format!("ipv6_cidr_blocks: {ipv6} blocks given; a VPC has at most {MAX_IPV6_BLOCKS} IPv6 blocks"),
        ));
    }
    Ok(())
}

/// A list cursor: the id of an object of the listed kind (one of `prefixes`, `_` and hex digits), as
/// `next_cursor` gives it. An empty one is the first page, like none.
pub fn cursor<'a>(value: Option<&'a str>, prefixes: &[&str]) -> Result<Option<&'a str>> {
    let Some(c) = value.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let well_formed = prefixes.iter().any(|prefix| {
        c.strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|hex| (1..=32).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
    });
    if well_formed {
        Ok(Some(c))
    } else {
        Err(ApiError::invalid(
            ErrorCode::InvalidCursor,
            format!(
                "cursor: {} is not a cursor of this list (pass the next_cursor of the previous page, a {}_… id)",
                shown(c),
                prefixes.join("_…/")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_printable_and_bounded() {
        assert!(name("name", "VPC A — prod", true).is_ok());
        assert!(name("name", &"é".repeat(255), true).is_ok());
        assert!(name("name", &"x".repeat(256), true).is_err());
        assert!(name("name", "a\u{0}", true).is_err());
        assert!(name("name", "a\nb", true).is_err());
        assert!(name("name", "\u{1b}[31m", true).is_err());
        assert!(name("name", "evil\u{202E}txt.exe", true).is_err());
        assert!(name("name", "a\u{2028}b", true).is_err());
        assert!(name("name", "家族 👨\u{200D}👩\u{200D}👧", true).is_ok());
        assert!(name("name", "  ", true).is_err());
        assert!(name("description", "", false).is_ok());
        let e = name("name", &"x".repeat(1_000_000), true)
            .unwrap_err()
            .to_string();
        assert!(e.len() < 300, "{e}");
        assert!(e.contains("1000000 characters"), "{e}");
    }

    #[test]
    fn regions_and_zones_follow_the_aws_pattern() {
        for r in ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"] {
            assert!(region("region", r).is_ok(), "{r}");
        }
        for r in [
            "r",
            "",
            "../../etc/passwd\u{0}",
            "US-EAST-1",
            "us-east",
            "us-east-1a",
            "useast-1",
        ] {
            assert!(region("region", r).is_err(), "{r}");
        }
        assert!(availability_zone("availability_zone", "us-east-1a", "us-east-1").is_ok());
        assert!(availability_zone("availability_zone", "", "us-east-1").is_ok());
        assert!(availability_zone("availability_zone", "eu-west-1a", "us-east-1").is_err());
        assert!(availability_zone("availability_zone", "us-east-1", "us-east-1").is_err());
        assert!(availability_zone("availability_zone", &"a".repeat(100_000), "us-east-1").is_err());
    }

    #[test]
    fn cursors_are_ids_of_the_listed_kind() {
        assert_eq!(cursor(None, &["vpc"]).unwrap(), None);
        assert_eq!(cursor(Some(""), &["vpc"]).unwrap(), None);
        assert!(cursor(Some("vpc_0123456789abcdef"), &["vpc"]).is_ok());
        assert!(cursor(Some("vgw_0123456789abcdef"), &["igw", "vgw"]).is_ok());
        for bad in ["garbage", " ", "vpc_", "subnet_0123", "vpc_xyz", "vpc_0' OR 1=1"] {
            let e = cursor(Some(bad), &["vpc"]).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn blocks_are_ipv4_between_16_and_28() {
        assert!(ipv4_block("cidr_block", "10.0.0.0/16").is_ok());
        assert!(ipv4_block("cidr_block", "10.0.0.0/28").is_ok());
        assert!(ipv4_block("cidr_block", "10.0.0.0/32").is_err());
        assert!(ipv4_block("cidr_block", "10.0.0.0/8").is_err());
        assert!(ipv4_block("cidr_block", "2001:db8::/56").is_err());
        assert!(vpc_block_counts(4, 0).is_ok());
        assert!(vpc_block_counts(5, 0).is_err());
        assert!(vpc_block_counts(0, 6).is_err());
    }
}
