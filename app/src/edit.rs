//! The planner's edits that are not plan logic: reading form fields (ports, protocols) and arranging the VPCs
//! on the canvas. The plan edits themselves (adding objects, one-click fixes, deletes) are [`netmodel::edit`],
//! shared with the CLI and the apply engine.

use netmodel::model::{Plan, Position, Protocol};

/// Arranges every VPC with the one auto-layout ([`netmodel::layout`], shared with the exported map): each group
/// of VPCs joined by active peerings together, peered VPCs side by side, each box as tall as the canvas draws it.
pub fn auto_layout(plan: &mut Plan) {
    let g = crate::geometry::layout(plan);
    let height = |v: &netmodel::model::Vpc| g.vpcs.get(&v.id).map_or(120.0, |r| r.h);
    let origin = Position { x: 40.0, y: 40.0 };
    netmodel::layout::apply(
        plan,
        |v| (crate::geometry::VPC_W, height(v)),
        netmodel::layout::Spacing::default(),
        origin,
    );
}

/// A destination port typed in a form: empty means none (the destination's listening port).
pub fn parse_port(text: &str) -> Result<Option<u16>, String> {
    match text.trim() {
        "" => Ok(None),
        t => match t.parse::<u16>() {
            Ok(p) if p > 0 => Ok(Some(p)),
            _ => Err(format!("port {t:?} is not a number from 1 to 65535")),
        },
    }
}

/// A protocol picked in a form's select (`tcp`, `udp`, `icmp`, else all).
pub fn parse_protocol(text: &str) -> Protocol {
    match text {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        "icmp" => Protocol::Icmp,
        _ => Protocol::All,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netmodel::{cidr::Cidr, edit::*, ids::VpcId, model::EndpointKind};

    fn cidr(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    /// Two VPCs, a subnet and an endpoint each, peered with routes: the seed's picture drawn by hand.
    fn drawn_seed() -> (Plan, VpcId, VpcId) {
        let mut plan = Plan::new("drawn");
        let a = add_vpc(&mut plan, cidr("10.0.0.0/16"));
        let b = add_vpc(&mut plan, cidr("172.16.0.0/16"));
        for (v, name, port) in [(&a, "Bucket A", 443), (&b, "Agent B", 7010)] {
            let block = suggest_subnet_block(&plan, v).unwrap();
            let s = add_subnet(&mut plan, v, block);
            let ip = suggest_endpoint_address(&plan, &s).unwrap();
            add_endpoint(&mut plan, &s, name, EndpointKind::Instance, ip, Some(port));
        }
        add_peering(&mut plan, &a, &b, true).unwrap();
        (plan, a, b)
    }

    #[test]
    fn auto_layout_keeps_peered_vpcs_together_and_apart_from_the_rest() {
        // a–b peered (the seed); c and d peered; e alone, drawn between c and d (so in plan order too).
        let (mut plan, a, b) = drawn_seed();
        let c = add_vpc(&mut plan, cidr("192.168.0.0/16"));
        let e = add_vpc(&mut plan, cidr("192.170.0.0/16"));
        let d = add_vpc(&mut plan, cidr("192.169.0.0/16"));
        add_peering(&mut plan, &c, &d, true).unwrap();
        auto_layout(&mut plan);
        let g = crate::geometry::layout(&plan);
        let rect = |v: &VpcId| g.vpcs[v];
        let centre = |v: &VpcId| (rect(v).x + rect(v).w / 2.0, rect(v).y + rect(v).h / 2.0);
        let dist = |p: &VpcId, q: &VpcId| {
            let ((px, py), (qx, qy)) = (centre(p), centre(q));
            ((px - qx).powi(2) + (py - qy).powi(2)).sqrt()
        };
        assert!(dist(&a, &b) < dist(&a, &c) && dist(&a, &b) < dist(&b, &d));
        assert!(dist(&c, &d) < dist(&c, &e) && dist(&c, &d) < dist(&d, &a));
        // No two boxes overlap, all inside the canvas from (40, 40).
        let ids = [&a, &b, &c, &d, &e];
        for (i, p) in ids.iter().enumerate() {
            let r = rect(p);
            assert!(r.x >= 40.0 && r.y >= 40.0, "{p}");
            for q in &ids[i + 1..] {
                let s = rect(q);
                let apart = r.x + r.w <= s.x || s.x + s.w <= r.x || r.y + r.h <= s.y || s.y + s.h <= r.y;
                assert!(apart, "{p} and {q} overlap");
            }
        }
    }

    #[test]
    fn form_fields_parse() {
        assert_eq!(parse_port(" "), Ok(None));
        assert_eq!(parse_port("443"), Ok(Some(443)));
        assert!(parse_port("0").unwrap_err().contains("\"0\""));
        assert!(parse_port("http").is_err());
        assert_eq!(parse_protocol("udp"), Protocol::Udp);
        assert_eq!(parse_protocol("anything"), Protocol::All);
    }
}
