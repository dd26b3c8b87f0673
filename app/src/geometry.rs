//! Where things are drawn on the planner's canvas: VPC boxes (from the plan's positions, or the peering map's
//! automatic layout), subnets stacked inside them, endpoints inside subnets, peering lines between box centres,
//! and the path a traced packet takes. Pure, so the canvas, the hit tests and the trace animation agree.

use std::collections::HashMap;

use netmodel::{
    ids::{EndpointId, PeeringId, SubnetId, VpcId},
    model::{Plan, Position},
    sim::{Component, HopResult, Stage, Trace},
};

/// VPC box width.
pub const VPC_W: f64 = 300.0;
/// Height of a VPC box's header (name, blocks, badges).
pub const HEADER_H: f64 = 70.0;
/// Height of a subnet's own label line.
pub const SUBNET_HEAD_H: f64 = 24.0;
/// Height of one row of endpoints in a subnet.
pub const ENDPOINT_ROW_H: f64 = 30.0;
/// Endpoints per row.
pub const ENDPOINTS_PER_ROW: usize = 2;

/// An axis-aligned rectangle.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn center(&self) -> (f64, f64) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }

    pub fn contains(&self, (x, y): (f64, f64)) -> bool {
        x >= self.x && x <= self.x + self.w && y >= self.y && y <= self.y + self.h
    }

    /// Where the segment from the centre towards `to` leaves the rectangle.
    pub fn edge_towards(&self, to: (f64, f64)) -> (f64, f64) {
        let (cx, cy) = self.center();
        let (dx, dy) = (to.0 - cx, to.1 - cy);
        if dx == 0.0 && dy == 0.0 {
            return (cx, cy);
        }
        let tx = if dx != 0.0 {
            (self.w / 2.0) / dx.abs()
        } else {
            f64::INFINITY
        };
        let ty = if dy != 0.0 {
            (self.h / 2.0) / dy.abs()
        } else {
            f64::INFINITY
        };
        let t = tx.min(ty).min(1.0);
        (cx + dx * t, cy + dy * t)
    }
}

/// Everything's place on the canvas.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Geometry {
    pub vpcs: HashMap<VpcId, Rect>,
    pub subnets: HashMap<SubnetId, Rect>,
    pub endpoints: HashMap<EndpointId, (f64, f64)>,
    /// The whole drawing's bounds.
    pub bounds: Rect,
}

/// The top-left corner of each VPC: its position, or the automatic layout's for those without one.
pub fn vpc_origin(plan: &Plan) -> HashMap<VpcId, Position> {
    let auto = if plan.vpcs.iter().all(|v| v.position.is_some()) {
        HashMap::new()
    } else {
        netmodel::export::map_layout(plan)
            .boxes
            .into_iter()
            .map(|(id, (x, y))| {
                (
                    id,
                    Position {
                        x: f64::from(x) * 1.1,
                        y: f64::from(y) * 2.0,
                    },
                )
            })
            .collect()
    };
    plan.vpcs
        .iter()
        .map(|v| {
            let p = v
                .position
                .or_else(|| auto.get(&v.id).copied())
                .unwrap_or_default();
            (v.id.clone(), p)
        })
        .collect()
}

/// Lays out the plan.
pub fn layout(plan: &Plan) -> Geometry {
    let origins = vpc_origin(plan);
    let mut g = Geometry::default();
    let mut subnets_of: HashMap<&VpcId, Vec<&netmodel::model::Subnet>> = HashMap::new();
    for s in &plan.subnets {
        subnets_of.entry(&s.vpc).or_default().push(s);
    }
    let mut endpoints_of: HashMap<&SubnetId, Vec<&netmodel::model::Endpoint>> = HashMap::new();
    for e in &plan.endpoints {
        endpoints_of.entry(&e.subnet).or_default().push(e);
    }
    let (mut max_x, mut max_y, mut min_x, mut min_y) = (0.0f64, 0.0f64, f64::MAX, f64::MAX);
    for v in &plan.vpcs {
        let o = origins.get(&v.id).copied().unwrap_or_default();
        let mut y = o.y + HEADER_H;
        for s in subnets_of.get(&v.id).map(Vec::as_slice).unwrap_or(&[]) {
            let eps = endpoints_of.get(&s.id).map(Vec::as_slice).unwrap_or(&[]);
            let rows = eps.len().div_ceil(ENDPOINTS_PER_ROW);
            let h = SUBNET_HEAD_H + rows as f64 * ENDPOINT_ROW_H + 6.0;
            let r = Rect {
                x: o.x + 10.0,
                y,
                w: VPC_W - 20.0,
                h,
            };
            for (i, e) in eps.iter().enumerate() {
                let col = (i % ENDPOINTS_PER_ROW) as f64;
                let row = (i / ENDPOINTS_PER_ROW) as f64;
                g.endpoints.insert(
                    e.id.clone(),
                    (
                        r.x + 20.0 + col * (r.w / ENDPOINTS_PER_ROW as f64),
                        r.y + SUBNET_HEAD_H + row * ENDPOINT_ROW_H + ENDPOINT_ROW_H / 2.0,
                    ),
                );
            }
            g.subnets.insert(s.id.clone(), r);
            y += h + 8.0;
        }
        let rect = Rect {
            x: o.x,
            y: o.y,
            w: VPC_W,
            h: (y - o.y + 4.0).max(HEADER_H + 20.0),
        };
        min_x = min_x.min(rect.x);
        min_y = min_y.min(rect.y);
        max_x = max_x.max(rect.x + rect.w);
        max_y = max_y.max(rect.y + rect.h);
        g.vpcs.insert(v.id.clone(), rect);
    }
    g.bounds = if plan.vpcs.is_empty() {
        Rect::default()
    } else {
        Rect {
            x: min_x,
            y: min_y,
            w: max_x - min_x,
            h: max_y - min_y,
        }
    };
    g
}

/// The VPC whose box holds the point (the topmost, i.e. last drawn).
pub fn vpc_at(plan: &Plan, g: &Geometry, point: (f64, f64)) -> Option<VpcId> {
    plan.vpcs
        .iter()
        .rev()
        .find(|v| g.vpcs.get(&v.id).is_some_and(|r| r.contains(point)))
        .map(|v| v.id.clone())
}

/// The two ends of a peering's line: where the line between the box centres leaves each box.
pub fn peering_line(plan: &Plan, g: &Geometry, id: &PeeringId) -> Option<((f64, f64), (f64, f64))> {
    let p = plan.peering(id)?;
    let (a, b) = (g.vpcs.get(&p.requester.vpc)?, g.vpcs.get(&p.accepter.vpc)?);
    Some((a.edge_towards(b.center()), b.edge_towards(a.center())))
}

/// The path the traced packet takes on the canvas, and whether it stops (dropped) at the last point.
/// The request goes from the source endpoint, over the peering it uses (if any), to the destination; an
/// accepted request comes back the same way.
#[derive(Clone, Debug, PartialEq)]
pub struct PacketPath {
    pub points: Vec<(f64, f64)>,
    pub dropped: bool,
    /// The peerings the request crossed or was stopped at.
    pub peerings: Vec<PeeringId>,
}

/// Builds the packet's path from a trace. `source` is the source endpoint; `destination` the destination
/// endpoint, if the destination is one, else the point of the VPC holding the address.
pub fn packet_path(
    plan: &Plan,
    g: &Geometry,
    trace: &Trace,
    source: &EndpointId,
    destination: Option<(f64, f64)>,
) -> Option<PacketPath> {
    let start = *g.endpoints.get(source)?;
    let src_vpc = plan
        .endpoints
        .iter()
        .find(|e| &e.id == source)
        .and_then(|e| plan.subnet(&e.subnet))
        .map(|s| s.vpc.clone())?;
    let src_rect = *g.vpcs.get(&src_vpc)?;
    let mut points = vec![start];
    let mut peerings = vec![];
    let mut dropped = false;
    for hop in &trace.forward {
        match (hop.stage, hop.result) {
            (Stage::Peering, result) => {
                let Component::Peering(id) = &hop.component else {
                    continue;
                };
                if let Some((a, b)) = peering_line(plan, g, id) {
                    let p = plan.peering(id);
                    let from_requester = p.is_some_and(|p| p.requester.vpc == src_vpc);
                    let (near, far) = if from_requester { (a, b) } else { (b, a) };
                    points.push(near);
                    if result == HopResult::Drop {
                        points.push(((near.0 + far.0) / 2.0, (near.1 + far.1) / 2.0));
                        dropped = true;
                    } else {
                        points.push(far);
                    }
                }
                peerings.push(id.clone());
            }
            (Stage::SgEgress | Stage::NaclOutbound | Stage::Route | Stage::Gateway, HopResult::Drop) => {
                let towards = destination.unwrap_or((src_rect.x + src_rect.w + 40.0, start.1));
                points.push(src_rect.edge_towards(towards));
                dropped = true;
            }
            (Stage::Gateway, HopResult::Exit) => {
                points.push((src_rect.x + src_rect.w / 2.0, src_rect.y - 30.0));
            }
            (_, HopResult::Drop) => {
                if let Some(d) = destination {
                    let last = *points.last().expect("starts with the source");
                    points.push(((last.0 + d.0 * 3.0) / 4.0, (last.1 + d.1 * 3.0) / 4.0));
                }
                dropped = true;
            }
            _ => {}
        }
        if dropped {
            break;
        }
    }
    if !dropped {
        if let Some(d) = destination {
            points.push(d);
        }
        if trace.disposition == netmodel::sim::Disposition::Accepted {
            let back: Vec<_> = points.iter().rev().skip(1).copied().collect();
            points.extend(back);
        } else if trace.disposition == netmodel::sim::Disposition::Dropped {
            // Dropped on the way back: the reply stops where it left.
            dropped = true;
        }
    }
    Some(PacketPath {
        points,
        dropped,
        peerings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netmodel::sim;

    fn sample(name: &str) -> Plan {
        crate::planner::example(name)
            .expect("an example")
            .1
            .expect("a valid example")
    }

    #[test]
    fn boxes_hold_their_subnets_and_endpoints() {
        let plan = sample("seed");
        let g = layout(&plan);
        for s in &plan.subnets {
            let (v, r) = (&g.vpcs[&s.vpc], &g.subnets[&s.id]);
            assert!(
                v.contains((r.x, r.y)) && v.contains((r.x + r.w, r.y + r.h)),
                "{}",
                s.id
            );
        }
        for e in &plan.endpoints {
            assert!(g.subnets[&e.subnet].contains(g.endpoints[&e.id]), "{}", e.id);
        }
        let a = g.vpcs[&"vpc-a".into()];
        assert_eq!(vpc_at(&plan, &g, a.center()), Some("vpc-a".into()));
        assert_eq!(vpc_at(&plan, &g, (-100.0, -100.0)), None);
    }

    #[test]
    fn the_transitive_packet_stops_halfway_along_the_a_b_peering() {
        let plan = sample("transitive");
        let g = layout(&plan);
        let t = sim::Topology::new(&plan);
        let flow = sim::Flow {
            from: "bucket-a".into(),
            to: "service-c".into(),
            protocol: netmodel::model::Protocol::Tcp,
            port: None,
            client: Default::default(),
        };
        let trace = sim::trace(&t, &flow).unwrap();
        let dest = g.endpoints.get(&"service-c".into()).copied();
        let path = packet_path(&plan, &g, &trace, &"bucket-a".into(), dest).unwrap();
        assert!(path.dropped);
        assert_eq!(path.peerings, vec![PeeringId::from("pcx-ab")]);
        let (a, b) = peering_line(&plan, &g, &"pcx-ab".into()).unwrap();
        assert_eq!(
            *path.points.last().unwrap(),
            ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0)
        );
    }

    #[test]
    fn an_accepted_packet_goes_there_and_back() {
        let plan = sample("seed");
        let g = layout(&plan);
        let t = sim::Topology::new(&plan);
        let flow = sim::Flow {
            from: "bucket-a".into(),
            to: "agent-b".into(),
            protocol: netmodel::model::Protocol::Tcp,
            port: Some(7010),
            client: Default::default(),
        };
        let trace = sim::trace(&t, &flow).unwrap();
        assert_eq!(trace.code.as_str(), "ACCEPTED");
        let dest = g.endpoints.get(&"agent-b".into()).copied();
        let path = packet_path(&plan, &g, &trace, &"bucket-a".into(), dest).unwrap();
        assert!(!path.dropped);
        assert_eq!(path.points.first(), path.points.last());
        assert!(path.points.contains(&dest.unwrap()));
    }
}
