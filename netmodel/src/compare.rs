//! Two versions of one plan, compared object by object: what one has that the other has not (added, removed)
//! and what changed in the objects both have (field by field, list fields item by item) — the planner's
//! "Compare" when someone else saved the plan while you were editing it.
//!
//! Objects are matched by kind and id (accounts, VPCs, subnets, route tables, security groups, network ACLs,
//! endpoints, gateways, peerings), plus the plan's own name. This is not [`crate::changeset::diff`], which binds a
//! desired plan to a live control plane and orders API calls; here both sides are plans of the planner and only
//! the difference is shown, in a fixed order (kind, then id, then field).
//!
//! ```
//! use netmodel::{compare::{compare, Change, FieldChange, Kind}, Plan};
//!
//! let theirs = Plan::from_json(include_str!("../../examples/seed.json")).unwrap();
//! let mut mine = theirs.clone();
//! mine.vpcs.retain(|v| v.id.as_str() != "vpc-b");
//! mine.route_tables[0].routes.clear();
//! let c = compare(&theirs, &mine);
//! assert_eq!(c.summary(), "1 removed, 1 changed");
//! assert!(c.changes.iter().any(|o| o.kind == Kind::Vpc && o.id == "vpc-b" && o.change == Change::Removed));
//! let rtb = c.changes.iter().find(|o| o.id == "rtb-a").unwrap();
//! assert_eq!(
//!     rtb.fields,
//!     [FieldChange::Items {
//!         field: "routes".into(),
//!         removed: vec!["destination 172.16.0.0/16, target peering pcx-ab".into()],
//!         added: vec![],
//!     }]
//! );
//! ```

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::Plan;

/// What kind of object a change is about, in the order changes are listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The plan itself (its name).
    Plan,
    Account,
    Vpc,
    Subnet,
    RouteTable,
    SecurityGroup,
    NetworkAcl,
    Endpoint,
    Gateway,
    Peering,
}

impl Kind {
    /// The kinds with their field in the plan's JSON, in listing order (the plan itself aside).
    const LISTS: [(Kind, &'static str); 9] = [
        (Kind::Account, "accounts"),
        (Kind::Vpc, "vpcs"),
        (Kind::Subnet, "subnets"),
        (Kind::RouteTable, "route_tables"),
        (Kind::SecurityGroup, "security_groups"),
        (Kind::NetworkAcl, "network_acls"),
        (Kind::Endpoint, "endpoints"),
        (Kind::Gateway, "gateways"),
        (Kind::Peering, "peerings"),
    ];

    /// How a person calls it.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Plan => "plan",
            Kind::Account => "account",
            Kind::Vpc => "VPC",
            Kind::Subnet => "subnet",
            Kind::RouteTable => "route table",
            Kind::SecurityGroup => "security group",
            Kind::NetworkAcl => "network ACL",
            Kind::Endpoint => "endpoint",
            Kind::Gateway => "gateway",
            Kind::Peering => "peering",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// How an object differs between the two plans.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Only in the second plan.
    Added,
    /// Only in the first plan.
    Removed,
    /// In both, with different fields.
    Changed,
}

/// One field of an object that differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldChange {
    /// A value replaced; `None` where the field is absent on that side.
    Value {
        field: String,
        before: Option<String>,
        after: Option<String>,
    },
    /// A list whose items differ: the items only in the first plan, and those only in the second (both empty:
    /// the same items in another order).
    Items {
        field: String,
        removed: Vec<String>,
        added: Vec<String>,
    },
}

impl FieldChange {
    /// The field's name.
    pub fn field(&self) -> &str {
        match self {
            FieldChange::Value { field, .. } | FieldChange::Items { field, .. } => field,
        }
    }
}

/// One object that differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectChange {
    pub kind: Kind,
    pub id: String,
    pub change: Change,
    /// An added or removed object: its fields on one line (id aside). Empty for a changed one.
    pub summary: String,
    /// A changed object: the fields that differ, in field order. Empty for an added or removed one.
    pub fields: Vec<FieldChange>,
}

/// Every difference between two plans, by kind then id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Comparison {
    pub changes: Vec<ObjectChange>,
}

impl Comparison {
    /// Whether the plans hold the same objects with the same fields.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// How many objects were added, removed and changed.
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |c: Change| self.changes.iter().filter(|o| o.change == c).count();
        (n(Change::Added), n(Change::Removed), n(Change::Changed))
    }

    /// `2 added, 1 removed, 3 changed` (the non-zero parts), or `no differences`.
    pub fn summary(&self) -> String {
        let (a, r, c) = self.counts();
        let parts: Vec<String> = [(a, "added"), (r, "removed"), (c, "changed")]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
        if parts.is_empty() {
            "no differences".into()
        } else {
            parts.join(", ")
        }
    }
}

/// The longest one-line rendering of a value or object; longer ones are cut with `…`.
pub const MAX_TEXT: usize = 240;

/// Compares `before` with `after` (in the planner: the version saved by someone else, then yours): objects only in
/// `after` are [`Change::Added`], only in `before` [`Change::Removed`].
pub fn compare(before: &Plan, after: &Plan) -> Comparison {
    let (b, a) = (as_object(before), as_object(after));
    let mut changes = Vec::new();
    let name = |o: &Map<String, Value>| o.get("name").map(text);
    if name(&b) != name(&a) {
        changes.push(ObjectChange {
            kind: Kind::Plan,
            id: "name".into(),
            change: Change::Changed,
            summary: String::new(),
            fields: vec![FieldChange::Value {
                field: "name".into(),
                before: name(&b),
                after: name(&a),
            }],
        });
    }
    for (kind, list) in Kind::LISTS {
        let (old, new) = (by_id(b.get(list)), by_id(a.get(list)));
        for (id, o) in &old {
            match new.get(id) {
                None => changes.push(whole(kind, id, Change::Removed, o)),
                Some(n) if n != o => changes.push(ObjectChange {
                    kind,
                    id: id.clone(),
                    change: Change::Changed,
                    summary: String::new(),
                    fields: fields(o, n),
                }),
                Some(_) => {}
            }
        }
        for (id, n) in &new {
            if !old.contains_key(id) {
                changes.push(whole(kind, id, Change::Added, n));
            }
        }
    }
    changes.sort_by(|x, y| (x.kind, &x.id).cmp(&(y.kind, &y.id)));
    Comparison { changes }
}

fn as_object(plan: &Plan) -> Map<String, Value> {
    match serde_json::to_value(plan) {
        Ok(Value::Object(o)) => o,
        _ => Map::new(),
    }
}

/// A list of objects by their `id` (an item without one is keyed by its position, which never happens in a
/// valid plan).
fn by_id(list: Option<&Value>) -> BTreeMap<String, Map<String, Value>> {
    let Some(Value::Array(items)) = list else {
        return BTreeMap::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, v)| match v {
            Value::Object(o) => {
                let id = o.get("id").map_or_else(|| format!("#{i}"), text);
                Some((id, o.clone()))
            }
            _ => None,
        })
        .collect()
}

fn whole(kind: Kind, id: &str, change: Change, o: &Map<String, Value>) -> ObjectChange {
    let rest: Map<String, Value> = o
        .iter()
        .filter(|(k, _)| k.as_str() != "id")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    ObjectChange {
        kind,
        id: id.to_string(),
        change,
        summary: cut(render_fields(&rest, false)),
        fields: vec![],
    }
}

/// The fields of two versions of one object that differ, in field order.
fn fields(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<FieldChange> {
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|f| {
            let (b, a) = (old.get(f), new.get(f));
            if b == a {
                return None;
            }
            Some(match (b, a) {
                (Some(Value::Array(b)), Some(Value::Array(a))) => FieldChange::Items {
                    field: f.clone(),
                    removed: only_in(b, a),
                    added: only_in(a, b),
                },
                (Some(Value::Array(b)), None) => FieldChange::Items {
                    field: f.clone(),
                    removed: b.iter().map(text).collect(),
                    added: vec![],
                },
                (None, Some(Value::Array(a))) => FieldChange::Items {
                    field: f.clone(),
                    removed: vec![],
                    added: a.iter().map(text).collect(),
                },
                _ => FieldChange::Value {
                    field: f.clone(),
                    before: b.map(text),
                    after: a.map(text),
                },
            })
        })
        .collect()
}

/// The items of `xs` not matched by an equal item of `ys` (counting repeats), rendered.
fn only_in(xs: &[Value], ys: &[Value]) -> Vec<String> {
    let mut left: Vec<&Value> = ys.iter().collect();
    xs.iter()
        .filter(|x| match left.iter().position(|y| y == x) {
            Some(i) => {
                left.swap_remove(i);
                false
            }
            None => true,
        })
        .map(text)
        .collect()
}

/// A value on one line: text as it is, an object as `key value, key value` (nested objects in braces), a list
/// as `[a; b]`; cut at [`MAX_TEXT`] characters.
fn text(v: &Value) -> String {
    cut(render(v, false))
}

fn render(v: &Value, nested: bool) -> String {
    match v {
        Value::Null => "none".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(|i| render(i, true)).collect();
            format!("[{}]", inner.join("; "))
        }
        Value::Object(o) => render_fields(o, nested),
    }
}

fn render_fields(o: &Map<String, Value>, nested: bool) -> String {
    let inner: Vec<String> = o
        .iter()
        .map(|(k, v)| format!("{k} {}", render(v, true)))
        .collect();
    let joined = inner.join(", ");
    if nested && o.len() > 1 {
        format!("{{{joined}}}")
    } else {
        joined
    }
}

fn cut(s: String) -> String {
    if s.chars().count() <= MAX_TEXT {
        return s;
    }
    let mut out: String = s.chars().take(MAX_TEXT - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Position, Route, Target};

    fn seed() -> Plan {
        Plan::from_json(include_str!("../../examples/seed.json")).unwrap()
    }

    fn find<'a>(c: &'a Comparison, kind: Kind, id: &str) -> &'a ObjectChange {
        c.changes
            .iter()
            .find(|o| o.kind == kind && o.id == id)
            .unwrap_or_else(|| panic!("no change for {kind} {id}: {c:#?}"))
    }

    #[test]
    fn a_plan_equals_itself() {
        let c = compare(&seed(), &seed());
        assert!(c.is_empty(), "{c:#?}");
        assert_eq!(c.summary(), "no differences");
    }

    #[test]
    fn objects_only_on_one_side_are_added_or_removed_with_a_summary() {
        let theirs = seed();
        let mine = Plan::from_json(include_str!("../../examples/transitive.json")).unwrap();
        let c = compare(&theirs, &mine);
        let (added, removed, _) = c.counts();
        assert!(
            added > 0 && removed + added == c.changes.iter().filter(|o| o.change != Change::Changed).count()
        );
        // The reverse comparison swaps added and removed, object for object.
        let back = compare(&mine, &theirs);
        assert_eq!(back.counts().0, c.counts().1);
        assert_eq!(back.counts().1, c.counts().0);
        for o in &c.changes {
            let r = find(&back, o.kind, &o.id);
            let expected = match o.change {
                Change::Added => Change::Removed,
                Change::Removed => Change::Added,
                Change::Changed => Change::Changed,
            };
            assert_eq!(r.change, expected, "{} {}", o.kind, o.id);
        }
    }

    #[test]
    fn a_new_vpc_is_added_and_a_deleted_peering_removed() {
        let theirs = seed();
        let mut mine = theirs.clone();
        let mut vpc = mine.vpcs[0].clone();
        vpc.id = "vpc-c".into();
        vpc.name = "VPC C".into();
        vpc.cidr = "10.9.0.0/16".parse().unwrap();
        mine.vpcs.push(vpc);
        mine.peerings.clear();
        let c = compare(&theirs, &mine);
        let added = find(&c, Kind::Vpc, "vpc-c");
        assert_eq!(added.change, Change::Added);
        assert!(added.summary.contains("cidr 10.9.0.0/16"), "{}", added.summary);
        assert!(added.summary.contains("name VPC C"), "{}", added.summary);
        assert!(added.fields.is_empty());
        assert_eq!(find(&c, Kind::Peering, "pcx-ab").change, Change::Removed);
        assert_eq!(c.summary(), "1 added, 1 removed");
    }

    #[test]
    fn changed_fields_name_the_old_and_new_value() {
        let theirs = seed();
        let mut mine = theirs.clone();
        mine.name = "Renamed".into();
        mine.vpcs[0].cidr = "10.1.0.0/16".parse().unwrap();
        mine.vpcs[0].position = Some(Position { x: 1.0, y: 2.0 });
        mine.subnets[0].name = String::new();
        let c = compare(&theirs, &mine);
        assert_eq!(
            find(&c, Kind::Plan, "name").fields,
            [FieldChange::Value {
                field: "name".into(),
                before: Some("NFYio seed example: VPC A and VPC B".into()),
                after: Some("Renamed".into()),
            }]
        );
        let vpc = find(&c, Kind::Vpc, "vpc-a");
        assert_eq!(vpc.change, Change::Changed);
        assert_eq!(
            vpc.fields.iter().map(FieldChange::field).collect::<Vec<_>>(),
            ["cidr", "position"]
        );
        assert_eq!(
            vpc.fields[0],
            FieldChange::Value {
                field: "cidr".into(),
                before: Some("10.0.0.0/16".into()),
                after: Some("10.1.0.0/16".into()),
            }
        );
        // A field left out of the JSON (an empty name) is absent on that side.
        assert_eq!(
            find(&c, Kind::Subnet, "subnet-a").fields,
            [FieldChange::Value {
                field: "name".into(),
                before: Some("A private".into()),
                after: None,
            }]
        );
        assert_eq!(c.summary(), "3 changed");
    }

    #[test]
    fn routes_rules_and_acl_entries_differ_item_by_item() {
        let theirs = seed();
        let mut mine = theirs.clone();
        mine.route_tables[1].routes.push(Route {
            destination: "10.50.0.0/16".parse().unwrap(),
            target: Target::Peering("pcx-ab".into()),
        });
        mine.security_groups[0].ingress[0].ports = Some("8443".parse().unwrap());
        mine.network_acls[0].entries.reverse();
        let c = compare(&theirs, &mine);
        assert_eq!(
            find(&c, Kind::RouteTable, "rtb-b").fields,
            [FieldChange::Items {
                field: "routes".into(),
                removed: vec![],
                added: vec!["destination 10.50.0.0/16, target peering pcx-ab".into()],
            }]
        );
        let FieldChange::Items { removed, added, .. } = &find(&c, Kind::SecurityGroup, "sg-a").fields[0]
        else {
            panic!("a list change");
        };
        assert!(
            removed[0].contains("ports 443") && added[0].contains("ports 8443"),
            "{removed:?} {added:?}"
        );
        // The same entries in another order: the list changed, no item did.
        assert_eq!(
            find(&c, Kind::NetworkAcl, "acl-a").fields,
            [FieldChange::Items {
                field: "entries".into(),
                removed: vec![],
                added: vec![],
            }]
        );
        assert!(c.changes.iter().all(|o| o.id != "rtb-a" && o.id != "sg-b"));
    }

    #[test]
    fn changes_are_listed_by_kind_then_id() {
        let theirs = seed();
        let mut mine = Plan::new("empty");
        mine.format = theirs.format.clone();
        let c = compare(&theirs, &mine);
        let order: Vec<(Kind, String)> = c.changes.iter().map(|o| (o.kind, o.id.clone())).collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted);
        assert_eq!(order[0].0, Kind::Plan);
        assert!(order.iter().any(|(k, id)| *k == Kind::Peering && id == "pcx-ab"));
        assert_eq!(c.counts().0, 0);
    }

    #[test]
    fn long_values_are_cut() {
        let theirs = seed();
        let mut mine = theirs.clone();
        mine.vpcs[0].name = "x".repeat(1000);
        let c = compare(&theirs, &mine);
        let FieldChange::Value {
            after: Some(after), ..
        } = &find(&c, Kind::Vpc, "vpc-a").fields[0]
        else {
            panic!("a value change");
        };
        assert_eq!(after.chars().count(), MAX_TEXT);
        assert!(after.ends_with('…'));
    }
}
