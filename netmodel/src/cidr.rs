//! CIDR maths: blocks parsed at the edge with errors that name the input, a sort-and-sweep overlap finder
//! (O(N log N + K), never all pairs) and a free-block finder over the private ranges.

use std::{fmt, net::IpAddr, str::FromStr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Bad CIDR text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{input}\" is not a CIDR block: {reason}")]
pub struct CidrError {
    /// The text as given.
    pub input: String,
    /// Why it was refused.
    pub reason: String,
}

/// Parses an IPv4 or IPv6 block such as `10.0.0.0/16`; host bits must be zero.
///
/// ```
/// assert!(netmodel::cidr::parse_block("10.0.0.0/16").is_ok());
/// assert!(netmodel::cidr::parse_block("10.0.0.0/33").is_err());
/// ```
pub fn parse_block(input: &str) -> Result<IpNet, CidrError> {
    let err = |reason: &str| CidrError {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let text = input.trim();
    if let Some(net) = parse_plain_v4(text) {
        return Ok(net);
    }
    // (Found as a byte: a char pattern costs a call per match, and an estate's import parses 100,000 blocks.)
    let Some(slash) = text.bytes().position(|b| b == b'/') else {
        return Err(err("missing the /prefix length"));
    };
    let (addr, len) = (&text[..slash], &text[slash + 1..]);
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| err("the address part is not an IPv4 or IPv6 address"))?;
    let len: u8 = len
        .parse()
        .map_err(|_| err("the prefix length is not a number"))?;
    let net = IpNet::new(addr, len).map_err(|_| err("prefix length out of range"))?;
    if net.addr() != net.network() {
        return Err(CidrError {
            input: input.to_string(),
            reason: format!("host bits are set; did you mean {}?", net.trunc()),
        });
    }
    Ok(net)
}

/// The common case of an estate's import (100,000 blocks), read in one pass over the bytes: `a.b.c.d/n`, each
/// octet 1–3 digits without a leading zero, the length 1–2 digits up to 32, host bits zero. Anything else (IPv6,
/// an error, an unusual spelling) is `None` and goes through [`parse_block`]'s general path, which decides
/// exactly as before.
fn parse_plain_v4(text: &str) -> Option<IpNet> {
    let b = text.as_bytes();
    let mut at = 0;
    let mut octets = [0u8; 4];
    for (k, octet) in octets.iter_mut().enumerate() {
        let start = at;
        let mut value = 0u32;
        while at < b.len() && at - start < 3 && b[at].is_ascii_digit() {
            value = value * 10 + u32::from(b[at] - b'0');
            at += 1;
        }
        if at == start || value > 255 || (at - start > 1 && b[start] == b'0') {
            return None;
        }
        *octet = value as u8;
        if b.get(at) != Some(if k == 3 { &b'/' } else { &b'.' }) {
            return None;
        }
        at += 1;
    }
    let len = match &b[at..] {
        [d] if d.is_ascii_digit() => d - b'0',
        [d, e] if *d != b'0' && d.is_ascii_digit() && e.is_ascii_digit() => (d - b'0') * 10 + (e - b'0'),
        _ => return None,
    };
    let net = Ipv4Net::new(std::net::Ipv4Addr::from(octets), len).ok()?;
    (net.addr() == net.network()).then_some(IpNet::V4(net))
}

/// Parses an IPv4 block only.
pub fn parse_ipv4_block(input: &str) -> Result<Ipv4Net, CidrError> {
    match parse_block(input)? {
        IpNet::V4(n) => Ok(n),
        IpNet::V6(_) => Err(CidrError {
            input: input.to_string(),
            reason: "expected an IPv4 block".into(),
        }),
    }
}

/// A validated CIDR block (IPv4 or IPv6, host bits zero); JSON form `"10.0.0.0/16"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr(pub IpNet);

impl Cidr {
    /// Whether this is an IPv4 block.
    pub fn is_v4(&self) -> bool {
        matches!(self.0, IpNet::V4(_))
    }

    /// The block as an inclusive interval in a family-tagged space (see [`Interval`]).
    pub fn interval(&self) -> Interval {
        Interval::of(&self.0)
    }

    /// Whether the two blocks share at least one address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.interval().overlaps(&other.interval())
    }

    /// Whether `other` lies entirely inside this block.
    pub fn contains_block(&self, other: &Cidr) -> bool {
        self.0.contains(&other.0)
    }

    /// Whether the address lies inside this block.
    pub fn contains_addr(&self, addr: IpAddr) -> bool {
        self.0.contains(&addr)
    }

    /// Prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.0.prefix_len()
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Cidr {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_block(s).map(Cidr)
    }
}

impl From<Ipv4Net> for Cidr {
    fn from(n: Ipv4Net) -> Self {
        Cidr(IpNet::V4(n))
    }
}

impl From<Ipv6Net> for Cidr {
    fn from(n: Ipv6Net) -> Self {
        Cidr(IpNet::V6(n))
    }
}

impl serde::Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Cidr {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Cidr".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "An IPv4 or IPv6 CIDR block with zero host bits, e.g. 10.0.0.0/16 or 2001:db8::/56",
            "pattern": "^[0-9a-fA-F:.]+/[0-9]{1,3}$"
        })
    }
}

/// An inclusive address interval; IPv6 addresses are tagged so the two families never meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    /// 4 or 6.
    pub family: u8,
    /// First address.
    pub start: u128,
    /// Last address.
    pub end: u128,
}

impl Interval {
    /// The interval a block covers.
    pub fn of(net: &IpNet) -> Interval {
        match net {
            IpNet::V4(n) => Interval {
                family: 4,
                start: u32::from(n.network()) as u128,
                end: u32::from(n.broadcast()) as u128,
            },
            IpNet::V6(n) => Interval {
                family: 6,
                start: u128::from(n.network()),
                end: u128::from(n.broadcast()),
            },
        }
    }

    /// The one-address interval of `addr`.
    pub fn of_addr(addr: IpAddr) -> Interval {
        match addr {
            IpAddr::V4(a) => Interval {
                family: 4,
                start: u32::from(a) as u128,
                end: u32::from(a) as u128,
            },
            IpAddr::V6(a) => Interval {
                family: 6,
                start: u128::from(a),
                end: u128::from(a),
            },
        }
    }

    /// Whether the intervals share an address.
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.family == other.family && self.start <= other.end && other.start <= self.end
    }
}

/// The union of a set of blocks, asked whether a block overlaps any of them in O(log n): the blocks' intervals,
/// sorted and merged into disjoint spans.
#[derive(Clone, Debug, Default)]
pub struct BlockUnion {
    spans: Vec<Interval>,
}

impl BlockUnion {
    pub fn new<'a>(blocks: impl IntoIterator<Item = &'a Cidr>) -> BlockUnion {
        let mut all: Vec<Interval> = blocks.into_iter().map(Cidr::interval).collect();
        all.sort_unstable();
        let mut spans: Vec<Interval> = Vec::with_capacity(all.len());
        for i in all {
            match spans.last_mut() {
                Some(last) if last.family == i.family && i.start <= last.end => {
                    last.end = last.end.max(i.end)
                }
                _ => spans.push(i),
            }
        }
        BlockUnion { spans }
    }

    /// Whether `c` shares an address with any of the blocks.
    pub fn overlaps(&self, c: &Cidr) -> bool {
        let q = c.interval();
        // The last span starting at or before the block's end is the only one that can reach its start.
        let k = self
            .spans
            .partition_point(|s| (s.family, s.start) <= (q.family, q.end));
        k > 0 && self.spans[k - 1].overlaps(&q)
    }
}

/// One overlap found by [`overlapping_pairs`]: indices into the input, `a < b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Overlap {
    /// Index of one block.
    pub a: usize,
    /// Index of the other block.
    pub b: usize,
}

/// Every pair of overlapping blocks, by sort and sweep: O(N log N + K).
///
/// Two CIDR blocks overlap exactly when one contains the other, so after sorting by (start, widest first)
/// the blocks that contain the current one form a stack of nested blocks: pop those that end before it,
/// and everything left on the stack overlaps it. Pairs come in sweep order (deterministic for a given input).
///
/// ```
/// use netmodel::cidr::{overlapping_pairs, Cidr, Overlap};
/// let blocks: Vec<Cidr> = ["10.0.0.0/16", "10.1.0.0/16", "10.0.3.0/24"].iter().map(|s| s.parse().unwrap()).collect();
/// assert_eq!(overlapping_pairs(&blocks), vec![Overlap { a: 0, b: 2 }]);
/// ```
pub fn overlapping_pairs(blocks: &[Cidr]) -> Vec<Overlap> {
    // One sortable key per block: family, start, then widest first (same start), then input order.
    let mut order: Vec<(u8, u128, u128, usize)> = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let iv = b.interval();
            (iv.family, iv.start, u128::MAX - iv.end, i)
        })
        .collect();
    order.sort_unstable();
    let mut stack: Vec<(u8, u128, usize)> = Vec::new(); // (family, end, index)
    let mut out = Vec::new();
    for (family, start, rev_end, idx) in order {
        while let Some(&(f, end, _)) = stack.last() {
            if f != family || end < start {
                stack.pop();
            } else {
                break;
            }
        }
        out.extend(stack.iter().map(|&(_, _, other)| Overlap {
            a: other.min(idx),
            b: other.max(idx),
        }));
        stack.push((family, u128::MAX - rev_end, idx));
    }
    out
}

/// The private IPv4 ranges the free-block finder searches, in order.
pub const PRIVATE_POOLS: [&str; 3] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

/// The lowest free IPv4 block of length `prefix_len` inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16
/// (tried in that order) that overlaps none of `used`. `None` when every pool is full or the length does
/// not fit a pool. To suggest several blocks, use one [`FreeSpace`]: it answers each in O(log n) and never
/// suggests the same space twice.
///
/// ```
/// use netmodel::cidr::{free_block, Cidr};
/// let used: Vec<Cidr> = vec!["10.0.0.0/16".parse().unwrap()];
/// assert_eq!(free_block(&used, 16).unwrap().to_string(), "10.1.0.0/16");
/// ```
pub fn free_block(used: &[Cidr], prefix_len: u8) -> Option<Cidr> {
    FreeSpace::new(used).take(prefix_len)
}

/// The used IPv4 space as a sorted index of disjoint intervals, handing out free blocks from the private pools
/// ([`PRIVATE_POOLS`]): each one the lowest that overlaps nothing used and nothing handed out before.
///
/// Nothing is ever freed, so the lowest free block of a given size only moves up: a cursor per prefix length
/// makes a run of `q` suggestions over `n` used blocks cost O((n + q) log n) in all, not O(n) each.
///
/// ```
/// use netmodel::cidr::{Cidr, FreeSpace};
/// let used: Vec<Cidr> = vec!["10.0.0.0/16".parse().unwrap()];
/// let mut free = FreeSpace::new(&used);
/// assert_eq!(free.take(16).unwrap().to_string(), "10.1.0.0/16");
/// assert_eq!(free.take(16).unwrap().to_string(), "10.2.0.0/16");
/// assert_eq!(free.take(24).unwrap().to_string(), "10.3.0.0/24");
/// ```
#[derive(Clone, Debug)]
pub struct FreeSpace {
    /// start → end (inclusive) of disjoint, non-adjacent used intervals.
    used: std::collections::BTreeMap<u128, u128>,
    /// Per prefix length: no free block of that length starts below this address.
    cursor: [u128; 33],
}

impl FreeSpace {
    /// Indexes the IPv4 blocks of `used` (IPv6 blocks are ignored: the pools are IPv4).
    pub fn new(used: &[Cidr]) -> FreeSpace {
        let mut taken: Vec<Interval> = used.iter().filter(|c| c.is_v4()).map(Cidr::interval).collect();
        taken.sort_unstable();
        let mut space = FreeSpace {
            used: Default::default(),
            cursor: [0; 33],
        };
        let mut last: Option<(u128, u128)> = None;
        for t in taken {
            match &mut last {
                Some(l) if t.start <= l.1.saturating_add(1) => l.1 = l.1.max(t.end),
                _ => {
                    if let Some((s, e)) = last {
                        space.used.insert(s, e);
                    }
                    last = Some((t.start, t.end));
                }
            }
        }
        if let Some((s, e)) = last {
            space.used.insert(s, e);
        }
        space
    }

    /// The lowest free block of length `prefix_len`, now marked used.
    pub fn take(&mut self, prefix_len: u8) -> Option<Cidr> {
        if prefix_len > 32 {
            return None;
        }
        let size: u128 = 1u128 << (32 - prefix_len);
        for pool in PRIVATE_POOLS {
            let pool: Cidr = pool.parse().expect("valid pool");
            if prefix_len < pool.prefix_len() {
                continue;
            }
            let pool = pool.interval();
            let from = self.cursor[prefix_len as usize].max(pool.start);
            if let Some(start) = self.first_fit(pool.end, size, from) {
                self.cursor[prefix_len as usize] = start + size;
                self.mark(start, start + size - 1);
                let addr = std::net::Ipv4Addr::from(start as u32);
                return Ipv4Net::new(addr, prefix_len).ok().map(Cidr::from);
            }
        }
        None
    }

    /// The lowest aligned `size`-block starting at or after `from` and ending by `limit` that touches no used
    /// interval.
    fn first_fit(&self, limit: u128, size: u128, from: u128) -> Option<u128> {
        let mut candidate = from.div_ceil(size) * size;
        loop {
            let last = candidate.checked_add(size - 1)?;
            if last > limit {
                return None;
            }
            // The used interval starting last at or before the block's end is the only one that can overlap it.
            match self.used.range(..=last).next_back() {
                Some((_, &end)) if end >= candidate => candidate = (end + 1).div_ceil(size) * size,
                _ => return Some(candidate),
            }
        }
    }

    /// Marks `[start, end]` used, merging it with the intervals it touches.
    fn mark(&mut self, mut start: u128, mut end: u128) {
        if let Some((&s, &e)) = self.used.range(..=start).next_back() {
            if e.saturating_add(1) >= start {
                start = s;
                end = end.max(e);
                self.used.remove(&s);
            }
        }
        while let Some((&s, &e)) = self.used.range(start..).next() {
            if s > end.saturating_add(1) {
                break;
            }
            end = end.max(e);
            self.used.remove(&s);
        }
        self.used.insert(start, end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn rejects_bad_prefix_and_names_input() {
        let e = parse_block("10.0.0.0/33").unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"10.0.0.0/33\" is not a CIDR block: prefix length out of range"
        );
    }

    #[test]
    fn rejects_host_bits() {
        let e = parse_block("10.0.0.1/16").unwrap_err();
        assert!(e.reason.contains("10.0.0.0/16"), "{e}");
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "10.0.0.0",
            "banana/8",
            "10.0.0.0/x",
            "300.0.0.0/8",
            "2001:db8::/129",
        ] {
            assert!(parse_block(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn accepts_ipv6() {
        assert!(parse_block("2001:db8::/56").is_ok());
    }

    /// The seed calls 10.0.0.0/16 vs 10.1.0.0/16 "overlapping"; the arithmetic says they are disjoint.
    #[test]
    fn seed_invalid_example_does_not_overlap() {
        assert!(!c("10.0.0.0/16").overlaps(&c("10.1.0.0/16")));
        assert!(c("10.0.0.0/8").overlaps(&c("10.1.0.0/16")));
    }

    #[test]
    fn families_never_overlap() {
        assert!(overlapping_pairs(&[c("0.0.0.0/0"), c("::/0")]).is_empty());
    }

    #[test]
    fn sweep_finds_nested_chain() {
        let blocks = [
            c("10.0.0.0/8"),
            c("10.1.0.0/16"),
            c("10.1.2.0/24"),
            c("10.2.0.0/16"),
        ];
        let mut pairs = overlapping_pairs(&blocks);
        pairs.sort();
        assert_eq!(
            pairs,
            vec![
                Overlap { a: 0, b: 1 },
                Overlap { a: 0, b: 2 },
                Overlap { a: 0, b: 3 },
                Overlap { a: 1, b: 2 }
            ]
        );
    }

    #[test]
    fn identical_blocks_overlap() {
        assert_eq!(
            overlapping_pairs(&[c("10.0.0.0/16"), c("10.0.0.0/16")]),
            vec![Overlap { a: 0, b: 1 }]
        );
    }

    /// The lowest free aligned block, the slow way: every candidate checked against every block.
    fn naive_free(used: &[Cidr], prefix_len: u8) -> Option<Cidr> {
        let size = 1u128 << (32 - prefix_len);
        for pool in PRIVATE_POOLS {
            let pool: Cidr = pool.parse().unwrap();
            if prefix_len < pool.prefix_len() {
                continue;
            }
            let iv = pool.interval();
            let mut start = iv.start;
            while start + size - 1 <= iv.end {
                let c = Cidr::from(Ipv4Net::new(std::net::Ipv4Addr::from(start as u32), prefix_len).unwrap());
                if !used.iter().any(|u| u.overlaps(&c)) {
                    return Some(c);
                }
                start += size;
            }
        }
        None
    }

    /// [`parse_block`] without its quick IPv4 path: the general one alone.
    fn parse_general(text: &str) -> Result<IpNet, CidrError> {
        let (addr, len) = text.trim().split_once('/').ok_or(()).map_err(|_| CidrError {
            input: text.into(),
            reason: "no slash".into(),
        })?;
        let addr: IpAddr = addr.parse().map_err(|_| CidrError {
            input: text.into(),
            reason: "address".into(),
        })?;
        let len: u8 = len.parse().map_err(|_| CidrError {
            input: text.into(),
            reason: "length".into(),
        })?;
        let net = IpNet::new(addr, len).map_err(|_| CidrError {
            input: text.into(),
            reason: "range".into(),
        })?;
        if net.addr() != net.network() {
            return Err(CidrError {
                input: text.into(),
                reason: "host bits".into(),
            });
        }
        Ok(net)
    }

    #[test]
    fn the_quick_ipv4_path_takes_only_plain_valid_blocks() {
        for ok in [
            "10.0.0.0/16",
            "0.0.0.0/0",
            "255.255.255.255/32",
            "172.16.0.0/12",
            "10.1.2.0/24",
            "1.2.3.4/32",
        ] {
            assert_eq!(parse_plain_v4(ok), Some(parse_general(ok).unwrap()), "{ok}");
        }
        for other in [
            "10.0.0.0/33",
            "10.0.0.1/16",
            "010.0.0.0/8",
            "10.0.0.0/016",
            "10.0.0.0/+8",
            "10.0.0/8",
            "10.0.0.0.0/8",
            "256.0.0.0/8",
            "1000.0.0.0/8",
            "10.0.0.0",
            "10.0.0.0/",
            "/8",
            "10.0.0.0/8 ",
            "::/0",
            "10.0.0.0/08",
        ] {
            assert_eq!(parse_plain_v4(other), None, "{other}");
        }
        // What it leaves to the general path is decided as before.
        assert!(parse_block("10.0.0.0/016").is_ok());
        assert!(parse_block("10.0.0.0/08").is_ok());
        assert_eq!(
            parse_block("010.0.0.0/8").unwrap_err().reason,
            "the address part is not an IPv4 or IPv6 address"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]
        /// Whatever the quick path accepts, the general path accepts as the same block.
        #[test]
        fn the_quick_ipv4_path_agrees_with_the_general_one(text in "[0-9]{0,4}(\\.[0-9]{0,4}){0,4}(/[0-9+]{0,3})?") {
            if let Some(net) = parse_plain_v4(&text) {
                proptest::prop_assert_eq!(Ok(net), parse_general(&text), "{}", text);
            }
            proptest::prop_assert_eq!(parse_block(&text).ok(), parse_general(&text).ok(), "{}", text);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]
        /// A run of suggestions equals the naive lowest free block each time, and none overlaps another.
        #[test]
        fn free_space_suggestions_are_the_lowest_and_never_collide(
            used in proptest::collection::vec((0u32..4, 0u32..64, 17u8..=26), 0..40),
            wanted in proptest::collection::vec(20u8..=26, 1..12),
        ) {
            let bases = [0x0a00_0000u32, 0x0a00_0000 | (1 << 16), 0xac10_0000, 0xc0a8_0000];
            let mut all: Vec<Cidr> = used
                .iter()
                .map(|&(b, off, len)| {
                    let addr = bases[b as usize] | (off << (32 - len.max(17)) >> 1);
                    Cidr::from(Ipv4Net::new(std::net::Ipv4Addr::from(addr), len).unwrap().trunc())
                })
                .collect();
            let mut free = FreeSpace::new(&all);
            for len in wanted {
                let expected = naive_free(&all, len);
                let got = free.take(len);
                proptest::prop_assert_eq!(got, expected, "length {}", len);
                if let Some(g) = got {
                    all.push(g);
                }
            }
        }
    }

    #[test]
    fn free_block_skips_used_and_pools() {
        assert_eq!(free_block(&[], 16), Some(c("10.0.0.0/16")));
        assert_eq!(free_block(&[c("10.0.0.0/8")], 16), Some(c("172.16.0.0/16")));
        assert_eq!(
            free_block(&[c("10.0.0.0/8"), c("172.16.0.0/12")], 16),
            Some(c("192.168.0.0/16"))
        );
        assert_eq!(
            free_block(&[c("10.0.0.0/8"), c("172.16.0.0/12"), c("192.168.0.0/16")], 24),
            None
        );
        assert_eq!(
            free_block(&[c("10.0.0.0/24"), c("10.0.1.128/25")], 24),
            Some(c("10.0.2.0/24"))
        );
        // A /8 fits only 10.0.0.0/8, which is partly used.
        assert_eq!(free_block(&[c("10.0.0.0/16")], 8), None);
    }
}
