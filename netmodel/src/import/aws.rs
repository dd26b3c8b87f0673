//! Import of raw `aws ec2 describe-*` JSON outputs (field names exactly as AWS prints them).
//!
//! Each file is identified by its top-level key (`Vpcs`, `Subnets`, `RouteTables`, …). The account comes from
//! `OwnerId`; the region from a path component that is a region name, else from the availability zone.
//! Network interfaces become endpoints. Peerings keep their status, deleted and cross-account ones included;
//! a peer VPC that was not imported is added from the peering's `VpcInfo`. A reference to something that was not
//! imported is an `IMPORT_DANGLING_REF` diagnostic, never a crash.
//!
//! Cross-account estates are exported one account (and region) at a time, so one object can be listed in several
//! files: a peering appears in both accounts' `describe-vpc-peering-connections`. Two views of one peering are
//! merged (each side's info from whichever view has it, the more advanced status when they disagree, with an
//! `IMPORT_NOTE`); any other object listed twice is kept once when both views agree. Views that contradict each
//! other (a peering id joining two different VPC pairs, a VPC with two different blocks) are an [`ImportError`]
//! naming the id, both values and both files.
//!
//! Text is checked as the plan's edge checks it ([`crate::model::validate_name`]): a string holding control
//! characters (say a `Name` tag with a newline) has them replaced with U+FFFD, and one longer than
//! [`MAX_TEXT_CHARS`] is cut, each with an `IMPORT_NOTE` naming the file, the field and the value. Refusing
//! someone's whole estate over one odd tag would be harsh; the note says what changed.

use std::{
    borrow::Cow,
    collections::{hash_map::Entry, BTreeMap, BTreeSet, HashMap},
};

use serde_json::Value;

use super::{
    borrowed::Json,
    typed::{self, non_empty, VpcRecord},
};

use crate::{
    check::{Code, Diagnostic, ItemRef, Severity},
    cidr::Cidr,
    ids::*,
    model::*,
    par,
};

/// One input file: its path (used for the region) and its text.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

/// A file that could not be read as AWS JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ImportError {
    pub path: String,
    pub message: String,
}

/// What an import produced: the plan and what did not fit.
#[derive(Debug, Clone)]
pub struct Imported {
    pub plan: Plan,
    pub diagnostics: Vec<Diagnostic>,
}

const KEYS: [&str; 11] = [
    "Vpcs",
    "Subnets",
    "RouteTables",
    "SecurityGroups",
    "NetworkAcls",
    "VpcPeeringConnections",
    "NetworkInterfaces",
    "InternetGateways",
    "NatGateways",
    "VpnGateways",
    "VpcEndpoints",
];

/// Whether a path component looks like an AWS region name (`us-east-1`, `eu-west-2`, `us-gov-west-1`).
pub fn is_region_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

fn region_of_path(path: &str) -> Option<&str> {
    path.split(['/', '\\']).rev().find(|c| is_region_name(c))
}

fn region_of_az(az: &str) -> Option<String> {
    let trimmed = az.trim_end_matches(|c: char| c.is_ascii_lowercase());
    (trimmed.len() < az.len() && is_region_name(trimmed)).then(|| trimmed.to_string())
}

/// What the import reads of a JSON tree: the records as read ([`Json`]), or a peering merged from its views
/// ([`Value`]).
trait Node: Sized {
    fn field(&self, key: &str) -> Option<&Self>;
    fn text(&self) -> Option<&str>;
    fn list(&self) -> Option<&[Self]>;
}

impl Node for Value {
    fn field(&self, key: &str) -> Option<&Self> {
        self.get(key)
    }
    fn text(&self) -> Option<&str> {
        self.as_str()
    }
    fn list(&self) -> Option<&[Self]> {
        self.as_array().map(Vec::as_slice)
    }
}

impl Node for Json<'_> {
    fn field(&self, key: &str) -> Option<&Self> {
        self.get(key)
    }
    fn text(&self) -> Option<&str> {
        self.as_str()
    }
    fn list(&self) -> Option<&[Self]> {
        self.as_array()
    }
}

/// A string field; an empty string counts as absent (an empty id or owner names nothing).
fn s<'a, N: Node>(v: &'a N, key: &str) -> Option<&'a str> {
    v.field(key).and_then(N::text).filter(|t| !t.is_empty())
}

fn arr<'a, N: Node>(v: &'a N, key: &str) -> &'a [N] {
    v.field(key).and_then(N::list).unwrap_or(&[])
}

fn name_tag<N: Node>(v: &N) -> String {
    arr(v, "Tags")
        .iter()
        .chain(arr(v, "TagSet"))
        .find(|t| s(*t, "Key") == Some("Name"))
        .and_then(|t| s(t, "Value"))
        .unwrap_or_default()
        .to_string()
}

/// The field that holds each record's id, by top-level key.
fn id_field(key: &str) -> &'static str {
    match key {
        "Vpcs" => "VpcId",
        "Subnets" => "SubnetId",
        "RouteTables" => "RouteTableId",
        "SecurityGroups" => "GroupId",
        "NetworkAcls" => "NetworkAclId",
        "VpcPeeringConnections" => "VpcPeeringConnectionId",
        "NetworkInterfaces" => "NetworkInterfaceId",
        "InternetGateways" => "InternetGatewayId",
        "NatGateways" => "NatGatewayId",
        "VpnGateways" => "VpnGatewayId",
        _ => "VpcEndpointId",
    }
}

/// One record of a describe-* output: the file it came from, that file's region (from its path), the JSON.
struct Record<'a, V = Json<'a>> {
    path: &'a str,
    region: Option<&'a str>,
    value: V,
}

/// The VPCs of one file: drafted as they were read (a plain `describe-vpcs` file, read typed; see [`typed`]), or
/// as trees (any other).
enum VpcSource<'f> {
    Drafted(Vec<VpcDraft<'f>>),
    Trees(Vec<Json<'f>>),
}

/// A VPC record made into the plan's [`Vpc`] as far as the record alone says: the steps that need the whole
/// estate (its region from a subnet when its file's path names none, its account in the plan's list, a second
/// view of the same VPC) come after every file is read.
enum VpcDraft<'f> {
    /// No `VpcId`, or no primary block: left out, as AWS never lists such a VPC.
    Skipped,
    /// A primary block that is not one: left out, with this note on the VPC.
    Unreadable { id: &'f str, error: String },
    Vpc {
        id: &'f str,
        vpc: Vpc,
        /// Whether `vpc.region` came from the file's path (else it says `unknown` for now).
        region_from_path: bool,
    },
}

impl<'f> VpcDraft<'f> {
    fn of(v: &VpcRecord<'f>, region: Option<&str>) -> VpcDraft<'f> {
        let Some(id) = non_empty(v.vpc_id) else {
            return VpcDraft::Skipped;
        };
        let primary_text = non_empty(v.cidr_block);
        let primary = match primary_text.map(str::parse::<Cidr>) {
            None => return VpcDraft::Skipped,
            Some(Err(e)) => {
                return VpcDraft::Unreadable {
                    id,
                    error: format!("{id}: {e}; skipped"),
                }
            }
            Some(Ok(c)) => c,
        };
        let secondary = v
            .ipv4
            .iter()
            .flatten()
            .filter(|a| {
                a.state
                    .as_ref()
                    .and_then(|st| st.state)
                    .is_none_or(|st| st == "associated")
            })
            // (AWS lists the primary block here too: the same text is the same block, left out unparsed.)
            .filter_map(|a| non_empty(a.cidr_block).filter(|t| Some(*t) != primary_text))
            .filter_map(|t| t.parse::<Cidr>().ok())
            .filter(|c| *c != primary)
            .collect();
        let ipv6 = v
            .ipv6
            .iter()
            .flatten()
            .filter_map(|a| non_empty(a.cidr_block).and_then(|t| t.parse::<Cidr>().ok()))
            .collect();
        VpcDraft::Vpc {
            id,
            vpc: Vpc {
                id: id.into(),
                name: v.name().to_string(),
                account: non_empty(v.owner_id).unwrap_or("unknown").into(),
                region: region.unwrap_or("unknown").to_string(),
                cidr: primary,
                secondary_cidrs: secondary,
                ipv6_cidrs: ipv6,
                position: None,
            },
            region_from_path: region.is_some(),
        }
    }
}

/// Records per batch handed from the reading thread of [`draft_vpcs`] to the drafting one.
const BATCH: usize = 512;
/// Batches in flight at most: while the drafting thread tests the text, the reader runs ahead by this much.
const IN_FLIGHT: usize = 64;
/// Files shorter than this (bytes) are read and drafted on one thread: not worth starting another (an estate
/// exported one account and region at a time is thousands of small files).
const TWO_THREADS_FROM: usize = 1 << 20;

/// The VPCs of a plain `describe-vpcs` file, drafted (see [`typed::read_vpcs`]), or `None` when the file is not
/// one the typed read takes.
///
/// Two threads share the work of a file of [`TWO_THREADS_FROM`] bytes or more where the platform has them: one
/// reads the records while the other tests the text ([`typed::is_plain`]), then drafts each batch of records as it
/// comes (an estate's 80,000 VPCs took about as long to draft as to read). The drafts come in file order either
/// way.
fn draft_vpcs<'f>(text: &'f str, region: Option<&str>) -> Option<Vec<VpcDraft<'f>>> {
    /// The shortest a VPC record of a real `describe-vpcs` file is, in bytes (`{"VpcId": …, "CidrBlock": …,
    /// "OwnerId": …, "State": …, "CidrBlockAssociationSet": […], …}`, compact): the list is sized for at most
    /// the file's length over this (an estate's 80,000 drafts would otherwise be copied as the list doubles).
    const RECORD_BYTES: usize = 256;
    if !typed::starts_with_vpcs(text) {
        return None;
    }
    let mut drafts = Vec::with_capacity(text.len() / RECORD_BYTES);
    let read = std::thread::scope(|scope| {
        let (batches, received) = std::sync::mpsc::sync_channel::<Vec<VpcRecord<'f>>>(IN_FLIGHT);
        let reader = (text.len() >= TWO_THREADS_FROM).then(|| {
            par::spawn(scope, move || {
                let mut batch = Vec::with_capacity(BATCH);
                // (A send fails once the drafting side stopped listening: the text is not plain.)
                typed::parse_vpcs(text, |v| {
                    batch.push(v);
                    batch.len() < BATCH
                        || batches
                            .send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                            .is_ok()
                }) && batches.send(batch).is_ok()
            })
        });
        let Some(Some(reader)) = reader else {
            // A short file, or no second thread here (WebAssembly, or the system refused one): read and draft on
            // this one.
            return typed::read_vpcs(text, |v| {
                drafts.push(VpcDraft::of(&v, region));
                true
            });
        };
        let plain = typed::is_plain(text);
        if plain {
            for batch in &received {
                drafts.extend(batch.iter().map(|v| VpcDraft::of(v, region)));
            }
        }
        drop(received);
        let read = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        plain && read
    });
    read.then_some(drafts)
}

/// Where a string is in a file (`Vpcs[3].Tags[0].Value`), spelled out only for a note.
enum JsonPath<'p> {
    Record(&'p str, usize),
    Index(&'p JsonPath<'p>, usize),
    Key(&'p JsonPath<'p>, &'p str),
}

impl std::fmt::Display for JsonPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            JsonPath::Record(key, i) => write!(f, "{key}[{i}]"),
            JsonPath::Index(up, i) => write!(f, "{up}[{i}]"),
            JsonPath::Key(up, k) => write!(f, "{up}.{k}"),
        }
    }
}

/// Whether `text` holds a character of [`is_forbidden_char`]; printable ASCII (most text) is told at a glance.
fn has_forbidden_char(text: &str) -> bool {
    !text.bytes().all(|b| (0x20..0x7f).contains(&b)) && text.chars().any(is_forbidden_char)
}

/// Replaces control characters (see [`is_forbidden_char`]) in every string below `value` with U+FFFD and cuts
/// strings to [`MAX_TEXT_CHARS`], calling `note(json_path, original)` for each string changed.
fn sanitize(value: &mut Json, at: &JsonPath, note: &mut dyn FnMut(&str, &str)) {
    match value {
        Json::String(text) => {
            let bad = has_forbidden_char(text);
            if bad || text.len() > MAX_TEXT_CHARS {
                let clean: String = text
                    .chars()
                    .take(MAX_TEXT_CHARS)
                    .map(|c| if is_forbidden_char(c) { '\u{FFFD}' } else { c })
                    .collect();
                if bad || clean.len() < text.len() {
                    note(&at.to_string(), text);
                    *text = Cow::Owned(clean);
                }
            }
        }
        Json::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                sanitize(item, &JsonPath::Index(at, i), note);
            }
        }
        Json::Object(entries) => {
            for (k, item) in entries.iter_mut() {
                sanitize(item, &JsonPath::Key(at, k), note);
            }
        }
        _ => {}
    }
}

/// A text for a message: escaped (`{:?}`), cut after 60 characters.
fn preview(text: &str) -> String {
    let head: String = text.chars().take(60).collect();
    if head.len() < text.len() {
        format!("{head:?}…")
    } else {
        format!("{head:?}")
    }
}

/// Where each object first came from, so that a second view of it can be merged or refused naming both files.
#[derive(Default)]
struct Seen<'r> {
    /// By kind and id: where the object is in its list, and its file.
    first: crate::IdMap<(&'static str, &'r str), (usize, &'r str)>,
}

impl<'r> Seen<'r> {
    /// Adds `item` to `list` unless an equal object with the same id is already there; an object with the same id
    /// and different data is an error naming the id, the fields that differ and both files.
    fn add<T: PartialEq + serde::Serialize>(
        &mut self,
        kind: &'static str,
        list: &mut Vec<T>,
        item: T,
        id: &'r str,
        path: &'r str,
    ) -> Result<(), ImportError> {
        self.add_merging(kind, list, item, id, path, |_, _, _| {})
    }

    /// [`Seen::add`], after `merge` had the first object with the id, the new one and the first one's file, to
    /// fill in what either view lacks. (One lookup of the id: an estate adds 80,000 VPCs.)
    fn add_merging<T: PartialEq + serde::Serialize>(
        &mut self,
        kind: &'static str,
        list: &mut Vec<T>,
        mut item: T,
        id: &'r str,
        path: &'r str,
        merge: impl FnOnce(&mut T, &mut T, &str),
    ) -> Result<(), ImportError> {
        match self.first.entry((kind, id)) {
            Entry::Vacant(place) => {
                place.insert((list.len(), path));
                list.push(item);
                Ok(())
            }
            Entry::Occupied(place) => {
                let (i, first_path) = *place.get();
                merge(&mut list[i], &mut item, first_path);
                if list[i] == item {
                    Ok(())
                } else {
                    Err(conflict(kind, id, &list[i], &item, first_path, path))
                }
            }
        }
    }
}

/// The error for two different descriptions of one object: which fields differ, with both values.
fn conflict<T: serde::Serialize>(
    kind: &str,
    id: &str,
    first: &T,
    second: &T,
    first_path: &str,
    path: &str,
) -> ImportError {
    let (a, b) = (
        serde_json::to_value(first).unwrap_or(Value::Null),
        serde_json::to_value(second).unwrap_or(Value::Null),
    );
    let show = |v: Option<&Value>| {
        let t = v.map(Value::to_string).unwrap_or_else(|| "(none)".into());
        if t.chars().count() > 120 {
            format!("{}…", t.chars().take(120).collect::<String>())
        } else {
            t
        }
    };
    let mut fields: Vec<String> = Vec::new();
    if let (Some(a), Some(b)) = (a.as_object(), b.as_object()) {
        let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for k in keys {
            if a.get(k) != b.get(k) {
                fields.push(format!(
                    "{k} {} in {first_path} but {} here",
                    show(a.get(k)),
                    show(b.get(k))
                ));
            }
        }
    }
    ImportError {
        path: path.to_string(),
        message: format!(
            "{kind} {id} is described twice with different data: {}",
            fields.join("; ")
        ),
    }
}

/// How far a peering's status code has come: initiating-request < pending-acceptance < provisioning < active <
/// deleting < the terminal ones (deleted, failed, rejected, expired). Two views that disagree keep the higher.
pub fn peering_status_rank(code: &str) -> u8 {
    match code {
        "initiating-request" => 0,
        "pending-acceptance" => 1,
        "provisioning" => 2,
        "active" => 3,
        "deleting" => 4,
        "deleted" | "failed" | "rejected" | "expired" => 5,
        _ => 0,
    }
}

/// Merges the views of one peering (one per file that lists it) into one record: the VPC pair must agree; each
/// side's info takes every field from the first view that has it (an account's view lacks, e.g., the other side's
/// blocks while pending); the status is the most advanced; DNS resolution is on if either view says so.
fn merge_peering(id: &str, views: &[Record<Value>], ctx: &mut Ctx) -> Result<Value, ImportError> {
    let pair = |r: &Record<Value>| {
        (
            r.value
                .pointer("/RequesterVpcInfo/VpcId")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
            r.value
                .pointer("/AccepterVpcInfo/VpcId")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
        )
    };
    let first = &views[0];
    let first_pair = pair(first);
    let mut merged = first.value.clone();
    for view in &views[1..] {
        let this_pair = pair(view);
        if this_pair != first_pair {
            return Err(ImportError {
                path: view.path.to_string(),
                message: format!(
                    "peering {id} joins {} (requester) and {} (accepter) here but {} and {} in {}: \
                     one peering id cannot join two VPC pairs",
                    this_pair.0, this_pair.1, first_pair.0, first_pair.1, first.path
                ),
            });
        }
        for side in ["RequesterVpcInfo", "AccepterVpcInfo"] {
            let Some(theirs) = view.value.get(side).and_then(Value::as_object) else {
                continue;
            };
            let Some(ours) = merged.get_mut(side).and_then(Value::as_object_mut) else {
                merged[side] = Value::Object(theirs.clone());
                continue;
            };
            for (k, v) in theirs {
                match ours.get(k) {
                    None | Some(Value::Null) => {
                        ours.insert(k.clone(), v.clone());
                    }
                    Some(mine) if (k == "OwnerId" || k == "Region") && mine != v => {
                        return Err(ImportError {
                            path: view.path.to_string(),
                            message: format!(
                                "peering {id}: {side}.{k} is {v} here but {mine} in {}",
                                first.path
                            ),
                        });
                    }
                    Some(_) => {}
                }
            }
            let dns = theirs
                .get("PeeringOptions")
                .and_then(|o| o.get("AllowDnsResolutionFromRemoteVpc"))
                .and_then(Value::as_bool);
            if dns == Some(true) && merged[side].get("PeeringOptions").is_some_and(Value::is_object) {
                merged[side]["PeeringOptions"]["AllowDnsResolutionFromRemoteVpc"] = Value::Bool(true);
            }
        }
    }
    // The most advanced status (and its message); a note when the views disagree.
    let code_of = |v: &Value| {
        v.pointer("/Status/Code")
            .and_then(Value::as_str)
            .unwrap_or("pending-acceptance")
            .to_string()
    };
    let mut best = first;
    for v in &views[1..] {
        if peering_status_rank(&code_of(&v.value)) > peering_status_rank(&code_of(&best.value)) {
            best = v;
        }
    }
    if let (Some(obj), Some(status)) = (merged.as_object_mut(), best.value.get("Status")) {
        obj.insert("Status".into(), status.clone());
    }
    if views.iter().any(|v| code_of(&v.value) != code_of(&best.value)) {
        let codes: Vec<String> = views
            .iter()
            .map(|v| format!("{} in {}", code_of(&v.value), v.path))
            .collect();
        ctx.note(
            vec![id.to_string()],
            format!(
                "peering {id} is listed with different statuses ({}); kept {}, the more advanced",
                codes.join(", "),
                code_of(&best.value)
            ),
        );
    }
    Ok(merged)
}

struct Ctx {
    diags: Vec<Diagnostic>,
}

impl Ctx {
    fn note(&mut self, items: Vec<String>, message: String) {
        self.diags.push(Diagnostic {
            code: Code::ImportNote,
            severity: Severity::Info,
            items: items.into_iter().map(ItemRef::Other).collect(),
            message,
            fix: None,
        });
    }

    fn dangling(&mut self, items: Vec<String>, message: String) {
        self.diags.push(Diagnostic {
            code: Code::ImportDanglingRef,
            severity: Severity::Warning,
            items: items.into_iter().map(ItemRef::Other).collect(),
            message,
            fix: None,
        });
    }
}

fn cidr(ctx: &mut Ctx, owner: &str, text: Option<&str>) -> Option<Cidr> {
    let text = text?;
    match text.parse::<Cidr>() {
        Ok(c) => Some(c),
        Err(e) => {
            ctx.dangling(vec![owner.to_string()], format!("{owner}: {e}; skipped"));
            None
        }
    }
}

/// Gives the gateway closure of [`import`] its type: the ids it keeps borrow from the records (`'r`).
fn gateway_adder<'r, F>(f: F) -> F
where
    F: FnMut(
        &mut Ctx,
        &'r str,
        &'r str,
        Option<&'r str>,
        GatewayKind,
        Option<&'r str>,
    ) -> Result<(), ImportError>,
{
    f
}

/// Imports a set of describe-* outputs.
pub fn import<'f>(files: &'f [SourceFile]) -> Result<Imported, ImportError> {
    // Group the records by key, remembering each record's file and its region.
    let mut records: BTreeMap<&str, Vec<Record<'f>>> = BTreeMap::new();
    // The VPCs, drafted or as trees, a file at a time in file order.
    let mut vpc_files: Vec<Record<'f, VpcSource<'f>>> = Vec::new();
    let mut ctx = Ctx { diags: Vec::new() };
    for f in files {
        // A plain describe-vpcs file (an estate's largest) is read straight into drafts; see `typed`.
        let region = region_of_path(&f.path);
        if let Some(drafts) = draft_vpcs(&f.text, region) {
            vpc_files.push(Record {
                path: &f.path,
                region,
                value: VpcSource::Drafted(drafts),
            });
            continue;
        }
        let value = super::borrowed::parse(&f.text).map_err(|e| ImportError {
            path: f.path.clone(),
            message: format!("not JSON: {e}"),
        })?;
        let Json::Object(mut obj) = value else {
            return Err(ImportError {
                path: f.path.clone(),
                message: "expected a JSON object".into(),
            });
        };
        let Some(key) = KEYS.iter().find(|k| obj.iter().any(|(name, _)| name == **k)) else {
            let mut found: Vec<&str> = obj.iter().map(|(name, _)| name.as_ref()).collect();
            found.sort_unstable();
            return Err(ImportError {
                path: f.path.clone(),
                message: format!(
                    "no known top-level key (expected one of {}); found {}",
                    KEYS.join(", "),
                    found.join(", ")
                ),
            });
        };
        let Some(Json::Array(list)) = obj
            .iter_mut()
            .find(|(name, _)| name == *key)
            .map(|(_, list)| std::mem::replace(list, Json::Null))
        else {
            return Err(ImportError {
                path: f.path.clone(),
                message: format!("\"{key}\" is not a list"),
            });
        };
        let mut vpcs_here = Vec::new();
        let list_of_key = if *key == "Vpcs" {
            &mut vpcs_here
        } else {
            records.entry(key).or_default()
        };
        list_of_key.reserve(list.len());
        for (i, mut v) in list.into_iter().enumerate() {
            let id = s(&v, id_field(key)).map(str::to_string);
            sanitize(&mut v, &JsonPath::Record(key, i), &mut |field, text| {
                let of = id.as_deref().map(|i| format!(" of {i}")).unwrap_or_default();
                ctx.note(
                    id.iter().cloned().collect(),
                    format!(
                        "{}: {field}{of} is {}: control characters were replaced with U+FFFD (and text beyond \
                         {MAX_TEXT_CHARS} characters cut)",
                        f.path,
                        preview(text)
                    ),
                );
            });
            list_of_key.push(Record {
                path: &f.path,
                region,
                value: v,
            });
        }
        if !vpcs_here.is_empty() {
            vpc_files.push(Record {
                path: &f.path,
                region,
                value: VpcSource::Trees(vpcs_here.into_iter().map(|r| r.value).collect()),
            });
        }
    }
    let mut plan = Plan::new("Imported from AWS");
    let mut seen = Seen::default();
    let get = |k: &str| records.get(k).map(Vec::as_slice).unwrap_or(&[]);

    // Region of each VPC: its file's region, else the availability zone of one of its subnets.
    let mut vpc_region: BTreeMap<String, String> = BTreeMap::new();
    for Record {
        region, value: sn, ..
    } in get("Subnets")
    {
        if let Some(vpc) = s(sn, "VpcId") {
            let r = region
                .map(str::to_string)
                .or_else(|| s(sn, "AvailabilityZone").and_then(region_of_az));
            if let Some(r) = r {
                vpc_region.entry(vpc.to_string()).or_insert(r);
            }
        }
    }
    let mut accounts = BTreeSet::new();
    let vpc_count = |f: &Record<VpcSource>| match &f.value {
        VpcSource::Drafted(drafts) => drafts.len(),
        VpcSource::Trees(trees) => trees.len(),
    };
    let vpcs_listed: usize = vpc_files.iter().map(vpc_count).sum();
    plan.vpcs.reserve(vpcs_listed);
    seen.first
        .reserve(vpcs_listed + records.values().map(Vec::len).sum::<usize>());
    for Record {
        path,
        region,
        value: source,
    } in vpc_files.iter_mut()
    {
        let drafts: Box<dyn Iterator<Item = VpcDraft>> = match source {
            VpcSource::Drafted(drafts) => Box::new(std::mem::take(drafts).into_iter()),
            VpcSource::Trees(trees) => {
                let trees: &Vec<Json> = trees;
                let region = *region;
                Box::new(
                    trees
                        .iter()
                        .map(move |tree| VpcDraft::of(&VpcRecord::from_tree(tree), region)),
                )
            }
        };
        for draft in drafts {
            let (id, vpc) = match draft {
                VpcDraft::Skipped => continue,
                VpcDraft::Unreadable { id, error } => {
                    ctx.dangling(vec![id.to_string()], error);
                    continue;
                }
                VpcDraft::Vpc {
                    id,
                    mut vpc,
                    region_from_path,
                } => {
                    if !region_from_path {
                        if let Some(r) = vpc_region.get(id) {
                            vpc.region = r.clone();
                        }
                    }
                    (id, vpc)
                }
            };
            if !accounts.contains(vpc.account.as_str()) {
                accounts.insert(vpc.account.to_string());
            }
            // A VPC in two exports: fill in what one view lacks (region, name); the rest must agree.
            seen.add_merging("VPC", &mut plan.vpcs, vpc, id, path, |first, vpc, first_path| {
                if first.region == "unknown" {
                    first.region = vpc.region.clone();
                } else if vpc.region == "unknown" {
                    vpc.region = first.region.clone();
                }
                if first.name.is_empty() {
                    first.name = vpc.name.clone();
                } else if vpc.name.is_empty() {
                    vpc.name = first.name.clone();
                } else if first.name != vpc.name {
                    ctx.note(
                        vec![id.to_string()],
                        format!(
                            "VPC {id} is named {:?} in {first_path} but {:?} in {path}; kept the first",
                            first.name, vpc.name
                        ),
                    );
                    vpc.name = first.name.clone();
                }
            })?;
        }
    }

    // Peerings, one per id with its views merged; a peer VPC that was not imported comes from the peering's VpcInfo.
    let mut views: BTreeMap<&str, Vec<Record<Value>>> = BTreeMap::new();
    let mut order = Vec::new();
    for r in get("VpcPeeringConnections") {
        if let Some(id) = s(&r.value, "VpcPeeringConnectionId") {
            let list = views.entry(id).or_default();
            if list.is_empty() {
                order.push(id);
            }
            list.push(Record {
                path: r.path,
                region: r.region,
                value: r.value.to_value(),
            });
        }
    }
    let mut peerings = Vec::new();
    for id in order {
        let list = &views[id];
        peerings.push((
            list[0].path,
            list[0].region.map(str::to_string),
            merge_peering(id, list, &mut ctx)?,
        ));
    }
    // Where each VPC is in the plan (the first with an id, as a scan finds it): both sides of every peering are
    // looked up, and a scan per side was quadratic in an estate with many peerings.
    // (Built only when there are peerings: an estate of VPCs alone need not copy every id.)
    let mut vpc_at: HashMap<String, usize> = HashMap::new();
    if !peerings.is_empty() {
        vpc_at.reserve(plan.vpcs.len());
        for (i, v) in plan.vpcs.iter().enumerate() {
            vpc_at.entry(v.id.0.clone()).or_insert(i);
        }
    }
    for (file, region, p) in &peerings {
        let Some(id) = s(p, "VpcPeeringConnectionId") else {
            continue;
        };
        let mut sides = Vec::new();
        for key in ["RequesterVpcInfo", "AccepterVpcInfo"] {
            let info = p.get(key).cloned().unwrap_or(Value::Null);
            let Some(vpc) = s(&info, "VpcId") else {
                ctx.dangling(
                    vec![id.to_string()],
                    format!("peering {id} has no {key}.VpcId; skipped"),
                );
                break;
            };
            let account = s(&info, "OwnerId").unwrap_or("unknown").to_string();
            let side_region = s(&info, "Region").map(str::to_string).or_else(|| region.clone());
            if !vpc_at.contains_key(vpc) {
                let Some(primary) = cidr(&mut ctx, id, s(&info, "CidrBlock")) else {
                    ctx.dangling(
                        vec![id.to_string(), vpc.to_string()],
                        format!(
                            "peering {id}: VPC {vpc} (account {account}) was not imported and the peering does not \
                             list its CIDR block (AWS omits it while a request is pending); import that account's \
                             describe-vpcs output too"
                        ),
                    );
                    break;
                };
                accounts.insert(account.clone());
                plan.vpcs.push(Vpc {
                    id: vpc.into(),
                    // (The id is cut so that the name stays within MAX_TEXT_CHARS.)
                    name: format!(
                        "{} (peer, not imported)",
                        vpc.chars().take(MAX_TEXT_CHARS - 40).collect::<String>()
                    ),
                    account: account.clone().into(),
                    region: side_region.clone().unwrap_or_else(|| "unknown".into()),
                    cidr: primary,
                    secondary_cidrs: arr(&info, "CidrBlockSet")
                        .iter()
                        .filter_map(|c| s(c, "CidrBlock").and_then(|t| t.parse().ok()))
                        .filter(|c| *c != primary)
                        .collect(),
                    ipv6_cidrs: arr(&info, "Ipv6CidrBlockSet")
                        .iter()
                        .filter_map(|c| s(c, "Ipv6CidrBlock").and_then(|t| t.parse().ok()))
                        .collect(),
                    position: None,
                });
                vpc_at.insert(vpc.to_string(), plan.vpcs.len() - 1);
            }
            let vpc_obj = &plan.vpcs[vpc_at[vpc]];
            // The peering's view of the VPC must agree with the VPC's own export.
            for (what, said, known) in [
                ("Region", s(&info, "Region"), vpc_obj.region.as_str()),
                ("OwnerId", Some(account.as_str()), vpc_obj.account.as_str()),
            ] {
                if let Some(said) = said.filter(|s| *s != "unknown" && known != "unknown" && *s != known) {
                    return Err(ImportError {
                        path: file.to_string(),
                        message: format!(
                            "peering {id}: {key}.{what} is {said:?}, but VPC {vpc} was imported with {known:?}"
                        ),
                    });
                }
            }
            sides.push(PeeringSide {
                vpc: vpc.into(),
                account: vpc_obj.account.clone(),
                region: vpc_obj.region.clone(),
            });
        }
        // A side that could not be resolved has been reported above.
        let Ok([requester, accepter]) = <[PeeringSide; 2]>::try_from(sides) else {
            continue;
        };
        let code = p
            .pointer("/Status/Code")
            .and_then(Value::as_str)
            .unwrap_or("pending-acceptance");
        let status = match code {
            "active" => PeeringStatus::Active,
            "rejected" => PeeringStatus::Rejected,
            "expired" => PeeringStatus::Expired,
            "failed" => PeeringStatus::Failed,
            "deleted" | "deleting" => PeeringStatus::Deleted,
            _ => PeeringStatus::Pending,
        };
        // The model has one switch: on when either side resolves the other's names.
        let dns = ["RequesterVpcInfo", "AccepterVpcInfo"].iter().any(|side| {
            p.pointer(&format!("/{side}/PeeringOptions/AllowDnsResolutionFromRemoteVpc"))
                .and_then(Value::as_bool)
                == Some(true)
        });
        plan.peerings.push(Peering {
            id: id.into(),
            requester,
            accepter,
            status,
            options: PeeringOptions { dns_resolution: dns },
            status_message: p
                .pointer("/Status/Message")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
    for a in &accounts {
        plan.accounts.push(Account {
            id: a.as_str().into(),
            name: String::new(),
        });
    }
    let vpc_ids: crate::IdSet<&str> = plan.vpcs.iter().map(|v| v.id.as_str()).collect();

    for Record { path, value: sn, .. } in get("Subnets") {
        let (Some(id), Some(vpc)) = (s(sn, "SubnetId"), s(sn, "VpcId")) else {
            continue;
        };
        if !vpc_ids.contains(vpc) {
            ctx.dangling(
                vec![id.into(), vpc.into()],
                format!("subnet {id} is in VPC {vpc}, which was not imported"),
            );
            continue;
        }
        let Some(block) = cidr(&mut ctx, id, s(sn, "CidrBlock")) else {
            continue;
        };
        let subnet = Subnet {
            id: id.into(),
            name: name_tag(sn),
            vpc: vpc.into(),
            cidr: block,
            ipv6_cidr: arr(sn, "Ipv6CidrBlockAssociationSet")
                .iter()
                .find_map(|a| s(a, "Ipv6CidrBlock").and_then(|t| t.parse().ok())),
            az: s(sn, "AvailabilityZone").unwrap_or_default().to_string(),
        };
        seen.add("subnet", &mut plan.subnets, subnet, id, path)?;
    }
    let subnet_ids: BTreeMap<String, String> = plan
        .subnets
        .iter()
        .map(|s| (s.id.0.clone(), s.vpc.0.clone()))
        .collect();

    // Gateways.
    let mut gateway = gateway_adder(|ctx, path, id, vpc, kind, subnet| {
        let Some(vpc) = vpc else { return Ok(()) };
        if !vpc_ids.contains(vpc) {
            ctx.dangling(
                vec![id.into(), vpc.into()],
                format!("gateway {id} is attached to VPC {vpc}, which was not imported"),
            );
            return Ok(());
        }
        let gw = Gateway {
            id: id.into(),
            vpc: vpc.into(),
            kind,
            subnet: subnet
                .filter(|s| subnet_ids.get(*s).is_some_and(|v| v == vpc))
                .map(Into::into),
            destinations: vec![],
            name: String::new(),
        };
        seen.add("gateway", &mut plan.gateways, gw, id, path)
    });
    for Record { path, value: g, .. } in get("InternetGateways") {
        let Some(id) = s(g, "InternetGatewayId") else {
            continue;
        };
        for a in arr(g, "Attachments") {
            gateway(&mut ctx, path, id, s(a, "VpcId"), GatewayKind::Internet, None)?;
        }
    }
    for Record { path, value: g, .. } in get("NatGateways") {
        let Some(id) = s(g, "NatGatewayId") else { continue };
        if matches!(s(g, "State"), Some("deleted") | Some("deleting") | Some("failed")) {
            continue;
        }
        gateway(
            &mut ctx,
            path,
            id,
            s(g, "VpcId"),
            GatewayKind::Nat,
            s(g, "SubnetId"),
        )?;
    }
    for Record { path, value: g, .. } in get("VpnGateways") {
        let Some(id) = s(g, "VpnGatewayId") else { continue };
        for a in arr(g, "VpcAttachments")
            .iter()
            .filter(|a| s(*a, "State") != Some("detached"))
        {
            gateway(&mut ctx, path, id, s(a, "VpcId"), GatewayKind::Vpn, None)?;
        }
    }
    for Record { path, value: g, .. } in get("VpcEndpoints") {
        let Some(id) = s(g, "VpcEndpointId") else { continue };
        if s(g, "VpcEndpointType").unwrap_or("Gateway") == "Gateway" {
            gateway(
                &mut ctx,
                path,
                id,
                s(g, "VpcId"),
                GatewayKind::GatewayEndpoint,
                None,
            )?;
        }
    }
    let gateway_ids: BTreeMap<String, GatewayKind> =
        plan.gateways.iter().map(|g| (g.id.0.clone(), g.kind)).collect();
    let peering_ids: BTreeSet<String> = plan.peerings.iter().map(|p| p.id.0.clone()).collect();

    // Route tables.
    for Record { path, value: rt, .. } in get("RouteTables") {
        let (Some(id), Some(vpc)) = (s(rt, "RouteTableId"), s(rt, "VpcId")) else {
            continue;
        };
        if !vpc_ids.contains(vpc) {
            ctx.dangling(
                vec![id.into(), vpc.into()],
                format!("route table {id} is in VPC {vpc}, which was not imported"),
            );
            continue;
        }
        let main = arr(rt, "Associations")
            .iter()
            .any(|a| a.get("Main").and_then(Json::as_bool) == Some(true));
        let mut subnets = Vec::new();
        for a in arr(rt, "Associations") {
            if let Some(sid) = s(a, "SubnetId") {
                if subnet_ids.get(sid).is_some_and(|v| v == vpc) {
                    subnets.push(sid.into());
                } else {
                    ctx.dangling(
                        vec![id.into(), sid.into()],
                        format!("route table {id} is associated with subnet {sid}, which was not imported"),
                    );
                }
            }
        }
        let mut routes = Vec::new();
        for r in arr(rt, "Routes") {
            let dest_text = s(r, "DestinationCidrBlock").or_else(|| s(r, "DestinationIpv6CidrBlock"));
            let Some(dest_text) = dest_text else {
                if let Some(pl) = s(r, "DestinationPrefixListId") {
                    ctx.dangling(vec![id.into(), pl.into()], format!("route table {id}: route to prefix list {pl} is not modelled (its blocks are unknown)"));
                }
                continue;
            };
            let Some(destination) = cidr(&mut ctx, id, Some(dest_text)) else {
                continue;
            };
            let blackhole = s(r, "State") == Some("blackhole");
            let target = if let Some(pcx) = s(r, "VpcPeeringConnectionId") {
                if peering_ids.contains(pcx) {
                    Target::Peering(pcx.into())
                } else {
                    ctx.dangling(vec![id.into(), pcx.into()], format!("route table {id}: route {destination} targets peering {pcx}, which was not imported; treated as blackhole"));
                    Target::Blackhole
                }
            } else if let Some(nat) = s(r, "NatGatewayId") {
                if gateway_ids.contains_key(nat) {
                    Target::NatGateway(nat.into())
                } else {
                    ctx.dangling(vec![id.into(), nat.into()], format!("route table {id}: route {destination} targets NAT gateway {nat}, which was not imported; treated as blackhole"));
                    Target::Blackhole
                }
            } else if let Some(gw) = s(r, "GatewayId") {
                if gw == "local" {
                    Target::Local
                } else {
                    match gateway_ids.get(gw) {
                        Some(GatewayKind::Internet) => Target::InternetGateway(gw.into()),
                        Some(GatewayKind::Vpn) => Target::VpnGateway(gw.into()),
                        Some(GatewayKind::GatewayEndpoint) => Target::GatewayEndpoint(gw.into()),
                        Some(GatewayKind::Nat) => Target::NatGateway(gw.into()),
                        None => {
                            ctx.dangling(vec![id.into(), gw.into()], format!("route table {id}: route {destination} targets gateway {gw}, which was not imported; treated as blackhole"));
                            Target::Blackhole
                        }
                    }
                }
            } else {
                let other = [
                    "TransitGatewayId",
                    "EgressOnlyInternetGatewayId",
                    "InstanceId",
                    "NetworkInterfaceId",
                    "CarrierGatewayId",
                    "LocalGatewayId",
                ]
                .iter()
                .find_map(|k| s(r, k))
                .unwrap_or("an unknown target");
                ctx.dangling(vec![id.into(), other.into()], format!("route table {id}: route {destination} → {other} is not modelled; treated as blackhole"));
                Target::Blackhole
            };
            if target == Target::Local {
                continue; // implicit in the model
            }
            let target = if blackhole && !matches!(target, Target::Peering(_)) {
                Target::Blackhole
            } else {
                target
            };
            routes.push(Route { destination, target });
        }
        let table = RouteTable {
            id: id.into(),
            vpc: vpc.into(),
            main,
            subnets,
            routes,
        };
        seen.add("route table", &mut plan.route_tables, table, id, path)?;
    }
    // Two main tables for one VPC cannot happen in AWS, nor a subnet associated twice; keep the first.
    let mut mains = BTreeSet::new();
    let mut associated = BTreeSet::new();
    for rt in &mut plan.route_tables {
        if rt.main && !mains.insert(rt.vpc.clone()) {
            rt.main = false;
        }
        rt.subnets.retain(|s| associated.insert(s.clone()));
    }

    // Security groups (first pass ids, then rules).
    let sg_ids: BTreeMap<String, String> = get("SecurityGroups")
        .iter()
        .filter_map(|r| {
            Some((
                s(&r.value, "GroupId")?.to_string(),
                s(&r.value, "VpcId")?.to_string(),
            ))
        })
        .filter(|(_, vpc)| vpc_ids.contains(vpc.as_str()))
        .collect();
    let sg_owner: BTreeMap<&str, &str> = get("SecurityGroups")
        .iter()
        .filter_map(|r| Some((s(&r.value, "GroupId")?, s(&r.value, "OwnerId")?)))
        .collect();
    for Record { path, value: g, .. } in get("SecurityGroups") {
        let (Some(id), Some(vpc)) = (s(g, "GroupId"), s(g, "VpcId")) else {
            continue;
        };
        if !vpc_ids.contains(vpc) {
            ctx.dangling(
                vec![id.into(), vpc.into()],
                format!("security group {id} is in VPC {vpc}, which was not imported"),
            );
            continue;
        }
        let mut rules = |key: &str| -> Result<Vec<SgRule>, ImportError> {
            let mut out = Vec::new();
            for perm in arr(g, key) {
                let protocol = perm
                    .get("IpProtocol")
                    .and_then(|p| {
                        p.as_str()
                            .map(str::to_string)
                            .or_else(|| p.as_i64().map(|n| n.to_string()))
                    })
                    .and_then(|p| p.parse::<Protocol>().ok())
                    .unwrap_or(Protocol::All);
                let ports = match (
                    perm.get("FromPort").and_then(Json::as_i64),
                    perm.get("ToPort").and_then(Json::as_i64),
                ) {
                    (Some(f), Some(t))
                        if protocol.has_ports()
                            && f >= 0
                            && t <= 65535
                            && f <= t
                            && !(f == 0 && t == 65535) =>
                    {
                        Some(PortRange {
                            from: f as u16,
                            to: t as u16,
                        })
                    }
                    _ => None,
                };
                let rule = |cidr: Option<Cidr>, sg: Option<SgRef>, description: &str| SgRule {
                    protocol,
                    ports,
                    cidr,
                    sg,
                    description: description.to_string(),
                };
                for r in arr(perm, "IpRanges") {
                    if let Some(c) = cidr(&mut ctx, id, s(r, "CidrIp")) {
                        out.push(rule(Some(c), None, s(r, "Description").unwrap_or_default()));
                    }
                }
                for r in arr(perm, "Ipv6Ranges") {
                    if let Some(c) = cidr(&mut ctx, id, s(r, "CidrIpv6")) {
                        out.push(rule(Some(c), None, s(r, "Description").unwrap_or_default()));
                    }
                }
                for pair in arr(perm, "UserIdGroupPairs") {
                    let Some(gid) = s(pair, "GroupId") else { continue };
                    if sg_ids.contains_key(gid) {
                        // `account/sg-id` across accounts: the account named must be the group's owner.
                        if let (Some(user), Some(owner)) = (s(pair, "UserId"), sg_owner.get(gid)) {
                            if user != *owner {
                                return Err(ImportError {
                                    path: path.to_string(),
                                    message: format!(
                                        "security group {id} references {user}/{gid}, but {gid} belongs to \
                                         account {owner}"
                                    ),
                                });
                            }
                        }
                        let account = s(pair, "UserId")
                            .filter(|u| Some(*u) != s(g, "OwnerId"))
                            .map(AccountId::from);
                        out.push(rule(
                            None,
                            Some(SgRef {
                                account,
                                group: gid.into(),
                            }),
                            s(pair, "Description").unwrap_or_default(),
                        ));
                    } else {
                        ctx.dangling(vec![id.into(), gid.into()], format!("security group {id} references group {gid}, which was not imported; rule skipped"));
                    }
                }
            }
            Ok(out)
        };
        let ingress = rules("IpPermissions")?;
        let egress = rules("IpPermissionsEgress")?;
        let group = SecurityGroup {
            id: id.into(),
            name: s(g, "GroupName").unwrap_or_default().into(),
            vpc: vpc.into(),
            ingress,
            egress,
        };
        seen.add("security group", &mut plan.security_groups, group, id, path)?;
    }

    // Network ACLs.
    for Record { path, value: acl, .. } in get("NetworkAcls") {
        let (Some(id), Some(vpc)) = (s(acl, "NetworkAclId"), s(acl, "VpcId")) else {
            continue;
        };
        if !vpc_ids.contains(vpc) {
            ctx.dangling(
                vec![id.into(), vpc.into()],
                format!("network ACL {id} is in VPC {vpc}, which was not imported"),
            );
            continue;
        }
        let mut entries = Vec::new();
        for e in arr(acl, "Entries") {
            let Some(rule) = e.get("RuleNumber").and_then(Json::as_i64) else {
                continue;
            };
            if !(1..=32766).contains(&rule) {
                continue; // 32767 is the implicit final deny, part of the semantics
            }
            let Some(block) = cidr(&mut ctx, id, s(e, "CidrBlock").or_else(|| s(e, "Ipv6CidrBlock"))) else {
                continue;
            };
            let protocol = s(e, "Protocol")
                .and_then(|p| p.parse().ok())
                .unwrap_or(Protocol::All);
            let ports = e.get("PortRange").and_then(|r| {
                let f = r.get("From")?.as_i64()?;
                let t = r.get("To")?.as_i64()?;
                (protocol.has_ports() && (0..=65535).contains(&f) && (f..=65535).contains(&t)).then_some(
                    PortRange {
                        from: f as u16,
                        to: t as u16,
                    },
                )
            });
            entries.push(AclEntry {
                rule: rule as u16,
                direction: if e.get("Egress").and_then(Json::as_bool) == Some(true) {
                    Direction::Outbound
                } else {
                    Direction::Inbound
                },
                protocol,
                ports,
                cidr: block,
                action: if s(e, "RuleAction") == Some("deny") {
                    Action::Deny
                } else {
                    Action::Allow
                },
            });
        }
        let mut numbers = BTreeSet::new();
        entries.retain(|e| numbers.insert((e.direction, e.rule)));
        let subnets = arr(acl, "Associations")
            .iter()
            .filter_map(|a| s(a, "SubnetId"))
            .filter(|sid| subnet_ids.get(*sid).is_some_and(|v| v == vpc))
            .map(SubnetId::from)
            .collect();
        let acl = NetworkAcl {
            id: id.into(),
            vpc: vpc.into(),
            default: acl.get("IsDefault").and_then(Json::as_bool).unwrap_or(false),
            subnets,
            entries,
        };
        seen.add("network ACL", &mut plan.network_acls, acl, id, path)?;
    }
    // A subnet is associated with exactly one ACL; explicit associations win over the default's list.
    let mut acl_seen = BTreeSet::new();
    plan.network_acls.sort_by_key(|a| a.default);
    for acl in &mut plan.network_acls {
        acl.subnets.retain(|s| acl_seen.insert(s.clone()));
    }
    let mut default_seen = BTreeSet::new();
    for acl in &mut plan.network_acls {
        if acl.default && !default_seen.insert(acl.vpc.clone()) {
            acl.default = false;
        }
    }

    // Network interfaces become endpoints.
    for Record { path, value: eni, .. } in get("NetworkInterfaces") {
        let Some(id) = s(eni, "NetworkInterfaceId") else {
            continue;
        };
        let Some(subnet) = s(eni, "SubnetId") else {
            continue;
        };
        let Some(vpc) = subnet_ids.get(subnet) else {
            ctx.dangling(
                vec![id.into(), subnet.into()],
                format!("network interface {id} is in subnet {subnet}, which was not imported"),
            );
            continue;
        };
        let ipv4 = s(eni, "PrivateIpAddress").and_then(|a| a.parse().ok());
        let ipv6 = arr(eni, "Ipv6Addresses")
            .iter()
            .find_map(|a| s(a, "Ipv6Address").and_then(|t| t.parse().ok()));
        if ipv4.is_none() && ipv6.is_none() {
            continue;
        }
        let mut groups = Vec::new();
        for g in arr(eni, "Groups") {
            let Some(gid) = s(g, "GroupId") else { continue };
            if sg_ids.get(gid) == Some(vpc) {
                groups.push(gid.into());
            } else {
                ctx.dangling(
                    vec![id.into(), gid.into()],
                    format!("network interface {id} uses security group {gid}, which was not imported"),
                );
            }
        }
        let kind = match s(eni, "InterfaceType") {
            Some("nat_gateway") => EndpointKind::Service,
            Some("vpc_endpoint") => EndpointKind::Interface,
            Some("network_load_balancer") | Some("load_balancer") => EndpointKind::LoadBalancer,
            _ if s(eni, "RequesterId").is_some()
                && s(eni, "Description").unwrap_or_default().starts_with("RDS") =>
            {
                EndpointKind::Database
            }
            _ => EndpointKind::Instance,
        };
        let name = {
            let tag = name_tag(eni);
            if !tag.is_empty() {
                tag
            } else {
                eni.pointer("/Attachment/InstanceId")
                    .and_then(Json::as_str)
                    .map(str::to_string)
                    .unwrap_or_default()
            }
        };
        let endpoint = Endpoint {
            id: id.into(),
            name,
            kind,
            subnet: subnet.into(),
            ipv4,
            ipv6,
            security_groups: groups,
            ports: vec![],
        };
        seen.add("network interface", &mut plan.endpoints, endpoint, id, path)?;
    }

    plan.validate().map_err(|e| ImportError {
        path: "(imported plan)".into(),
        message: e.to_string(),
    })?;
    ctx.diags
        .sort_by(|a, b| (&a.items, &a.message).cmp(&(&b.items, &b.message)));
    // An object listed in two files reports what it lacks once.
    ctx.diags.dedup();
    Ok(Imported {
        plan,
        diagnostics: ctx.diags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names() {
        assert!(is_region_name("us-east-1"));
        assert!(is_region_name("us-gov-west-1"));
        assert!(is_region_name("ap-southeast-2"));
        assert!(!is_region_name("fixtures"));
        assert!(!is_region_name("us-east"));
        assert_eq!(region_of_az("eu-west-1b").as_deref(), Some("eu-west-1"));
        assert_eq!(region_of_path("dumps/123/eu-west-1/vpcs.json"), Some("eu-west-1"));
    }

    #[test]
    fn unknown_file_is_an_error_naming_it() {
        let e = import(&[SourceFile {
            path: "x.json".into(),
            text: r#"{"Foo": []}"#.into(),
        }])
        .unwrap_err();
        assert_eq!(e.path, "x.json");
        assert!(e.message.contains("Foo"));
    }

    /// More VPCs than the reading thread may run ahead by: all drafted, in file order; and when the text is not
    /// plain (an escape in the last record) or a late record is not typed, nothing, without the reader left
    /// waiting on a full queue.
    #[test]
    fn drafts_of_a_long_file_or_none() {
        let n = BATCH * IN_FLIGHT + BATCH * 5 / 2;
        let record = |i: usize| {
            format!(
                r#"{{"VpcId": "vpc-{i:08x}", "CidrBlock": "10.{}.{}.0/24", "State": "available"}}"#,
                i >> 16 & 255,
                i >> 8 & 255
            )
        };
        let list = |last: &str| {
            let mut t = String::from(r#"{"Vpcs": ["#);
            for i in 0..n - 1 {
                t.push_str(&record(i));
                t.push(',');
            }
            t.push_str(last);
            t.push_str("]}");
            t
        };
        let plain = list(&record(n - 1));
        let drafts = draft_vpcs(&plain, Some("eu-west-1")).expect("a plain file");
        assert_eq!(drafts.len(), n);
        for (i, d) in drafts.iter().enumerate() {
            let VpcDraft::Vpc {
                id,
                vpc,
                region_from_path,
            } = d
            else {
                panic!("record {i} not drafted")
            };
            assert_eq!(
                (*id, vpc.region.as_str(), *region_from_path),
                (format!("vpc-{i:08x}").as_str(), "eu-west-1", true)
            );
        }
        let escaped = list(&record(n - 1).replace("available", "avail\\u0061ble"));
        assert!(draft_vpcs(&escaped, None).is_none());
        let odd = list(r#"{"VpcId": 7}"#);
        assert!(draft_vpcs(&odd, None).is_none());
        // Where no second thread can be had: the same drafts, and the same refusal.
        let alone = par::tests::without_threads(|| draft_vpcs(&plain, Some("eu-west-1"))).unwrap();
        assert_eq!(alone.len(), n);
        assert!(alone.iter().zip(&drafts).all(|pair| match pair {
            (VpcDraft::Vpc { vpc: a, .. }, VpcDraft::Vpc { vpc: b, .. }) => a == b,
            _ => false,
        }));
        assert!(par::tests::without_threads(|| draft_vpcs(&escaped, None)).is_none());
        assert!(plain.len() >= TWO_THREADS_FROM, "long enough for two threads");
        let imported = import(&[SourceFile {
            path: "vpcs.json".into(),
            text: plain,
        }])
        .unwrap();
        assert_eq!(imported.plan.vpcs.len(), n);
    }
}
