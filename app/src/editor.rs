//! The planner's shared state — [`Editor`], handed to the canvas and every panel — with what they share
//! besides: the canvas [`View`] (pan and zoom) and the [`TraceRequest`] the trace and matrix panels set and the
//! canvas animates. Panels import this module, not the page that assembles them (`crate::planner`).

use std::collections::BTreeSet;

use leptos::prelude::*;
use netmodel::{
    ids::{EndpointId, VpcId},
    model::{Plan, Protocol},
    sim::{self, ClientProfile, Flow, Trace},
    CheckOptions, Diagnostic,
};

use crate::{
    geometry::{self, Geometry},
    history::History,
};
use netmodel::edit::{self, Item};

/// The planner's state, shared by its parts (all fields are reactive handles, so it is `Copy`).
#[derive(Clone, Copy)]
pub struct Editor {
    pub plan: RwSignal<Plan>,
    pub history: StoredValue<History>,
    /// Bumped on undo/redo and edits, so the undo buttons know when to look again.
    pub revision: RwSignal<u64>,
    pub selected: RwSignal<BTreeSet<Item>>,
    pub view: RwSignal<View>,
    /// Ids named by any diagnostic (outlined red on the canvas).
    pub flagged: Memo<BTreeSet<String>>,
    pub diagnostics: Memo<Vec<Diagnostic>>,
    /// The last refusal or notice, shown in the status bar.
    pub notice: RwSignal<String>,
    /// Bumped to ask the canvas to fit the whole plan in view (after a load).
    pub fit: RwSignal<u64>,
    /// Where everything is drawn, laid out once per change for the canvas and the traced packet alike.
    pub geometry: Memo<geometry::Geometry>,
}

impl Editor {
    pub fn new(plan: Plan) -> Editor {
        let plan = RwSignal::new(plan);
        let diagnostics = Memo::new(move |_| plan.with(|p| netmodel::check(p, &CheckOptions::default())));
        let flagged = Memo::new(move |_| {
            diagnostics.with(|d| {
                d.iter()
                    .flat_map(|d| d.items.iter().map(|i| i.to_string()))
                    .collect::<BTreeSet<_>>()
            })
        });
        Editor {
            plan,
            history: StoredValue::new(History::default()),
            revision: RwSignal::new(0),
            selected: RwSignal::new(BTreeSet::new()),
            view: RwSignal::new(View::default()),
            flagged,
            diagnostics,
            notice: RwSignal::new(String::new()),
            fit: RwSignal::new(0),
            geometry: Memo::new(move |_| plan.with(geometry::layout)),
        }
    }

    /// Applies an edit as one undo step (nothing is recorded when the edit changes nothing).
    pub fn edit(&self, f: impl FnOnce(&mut Plan)) {
        let before = self.plan.get_untracked();
        let mut after = before.clone();
        f(&mut after);
        // `Plan`'s look-ups by id are binary searches over lists sorted by id.
        after.sort();
        if after != before {
            self.history.update_value(|h| h.record(before));
            self.plan.set(after);
            self.revision.update(|r| *r += 1);
        }
    }

    /// Replaces the whole plan (load, import), undoable.
    pub fn replace(&self, plan: Plan) {
        self.edit(|p| *p = plan);
        self.selected.set(BTreeSet::new());
        self.fit.update(|f| *f += 1);
    }

    pub fn undo(&self) {
        let current = self.plan.get_untracked();
        if let Some(previous) = self.history.try_update_value(|h| h.undo(current)).flatten() {
            self.plan.set(previous);
            self.revision.update(|r| *r += 1);
            self.notice.set("Undone.".into());
        }
    }

    pub fn redo(&self) {
        let current = self.plan.get_untracked();
        if let Some(next) = self.history.try_update_value(|h| h.redo(current)).flatten() {
            self.plan.set(next);
            self.revision.update(|r| *r += 1);
            self.notice.set("Redone.".into());
        }
    }

    /// Draws a peering (with routes on both sides), or says why not.
    pub fn peer(&self, a: &VpcId, b: &VpcId) {
        if let Some(why) = self.plan.with_untracked(|p| edit::peering_refusal(p, a, b)) {
            self.notice.set(why);
            return;
        }
        let mut created = None;
        self.edit(|p| created = edit::add_peering(p, a, b, true));
        if let Some(id) = created {
            self.notice.set(format!(
                "Peered {a} and {b} with {id}, routes added on both sides."
            ));
            self.selected.set([Item::Peering(id)].into_iter().collect());
        }
    }

    /// Deletes the selection.
    pub fn delete_selected(&self) {
        let items: Vec<Item> = self.selected.get_untracked().into_iter().collect();
        if items.is_empty() {
            return;
        }
        self.edit(|p| edit::delete(p, &items));
        self.selected.set(BTreeSet::new());
        self.notice.set(format!("Deleted {} item(s).", items.len()));
    }
}

/// The view's translation and scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct View {
    pub tx: f64,
    pub ty: f64,
    pub k: f64,
}

impl Default for View {
    fn default() -> Self {
        View {
            tx: 0.0,
            ty: 0.0,
            k: 1.0,
        }
    }
}

/// What the person asked to trace.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceRequest {
    pub from: String,
    pub to: String,
    pub protocol: Protocol,
    pub port: Option<u16>,
}

impl TraceRequest {
    /// The flow the simulator traces.
    pub fn flow(&self) -> Flow {
        Flow {
            from: self.from.clone(),
            to: self.to.clone(),
            protocol: self.protocol,
            port: self.port,
            client: ClientProfile::Linux,
        }
    }

    /// The trace on this plan, if the request is complete.
    pub fn trace(&self, plan: &Plan) -> Option<Trace> {
        let t = sim::Topology::new(plan);
        sim::trace(&t, &self.flow()).ok()
    }

    /// The source endpoint's id.
    pub fn source_id(&self, plan: &Plan) -> Option<EndpointId> {
        find_endpoint(plan, &self.from)
    }

    /// Where the destination is drawn: its endpoint, else the centre of the VPC holding the address.
    pub fn destination_point(&self, plan: &Plan, g: &Geometry) -> Option<(f64, f64)> {
        if let Some(e) = find_endpoint(plan, &self.to) {
            return g.endpoints.get(&e).copied();
        }
        let addr: std::net::IpAddr = self.to.trim().parse().ok()?;
        if let Some(e) = netmodel::edit::endpoint_at(plan, addr) {
            return g.endpoints.get(&e.id).copied();
        }
        let v = plan.vpcs.iter().find(|v| v.holds(addr))?;
        g.vpcs.get(&v.id).map(|r| r.center())
    }
}

/// The endpoint a trace names, by id or by name.
pub fn find_endpoint(plan: &Plan, key: &str) -> Option<EndpointId> {
    plan.endpoints
        .iter()
        .find(|e| e.id.as_str() == key || e.name == key)
        .map(|e| e.id.clone())
}
