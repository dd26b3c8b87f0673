//! Snapshot tests of every text export for the seed sample, the transitive (three-VPC) sample and a
//! multi-account, inter-region sample; the SVG map is valid XML naming every VPC and peering; the PNG decodes at
//! the layout's size; the HTML page renders the same documentation and never passes markup through.

use netmodel::{
    check,
    export::{curl_script, dot, html, map, map_layout, markdown, mermaid, ScriptPart},
    CheckOptions, Plan,
};

fn samples() -> [(&'static str, Plan); 3] {
    [
        (
            "seed",
            Plan::from_json(include_str!("../../examples/seed.json")).unwrap(),
        ),
        (
            "transitive",
            Plan::from_json(include_str!("../../examples/transitive.json")).unwrap(),
        ),
        (
            "multi-region",
            Plan::from_json(include_str!("../../examples/multi-region.json")).unwrap(),
        ),
    ]
}

#[test]
fn markdown_exports() {
    for (name, plan) in samples() {
        let d = check(&plan, &CheckOptions::default());
        insta::assert_snapshot!(format!("{name}.md"), markdown(&plan, &d));
    }
}

#[test]
fn dot_and_mermaid_exports() {
    for (name, plan) in samples() {
        insta::assert_snapshot!(format!("{name}.dot"), dot(&plan));
        insta::assert_snapshot!(format!("{name}.mmd"), mermaid(&plan));
    }
}

#[test]
fn curl_exports_whole_and_split() {
    for (name, plan) in samples() {
        insta::assert_snapshot!(format!("{name}.curl.sh"), curl_script(&plan, ScriptPart::All));
    }
    let (_, seed) = &samples()[0];
    let requester = curl_script(seed, ScriptPart::Requester);
    let accepter = curl_script(seed, ScriptPart::Accepter);
    assert!(requester.contains("POST /v1/vpc-peering") && !requester.contains("/accept"));
    assert!(accepter.contains("/accept") && !accepter.contains("POST /v1/vpc-peering \""));
    // Each side's security groups go to its own script.
    assert!(requester.contains("'bucket-a'") && !requester.contains("'agent-b'"));
    assert!(accepter.contains("'agent-b'") && !accepter.contains("'bucket-a'"));
}

#[test]
fn seed_documentation_has_the_seed_verify_command() {
    let (_, plan) = &samples()[0];
    let md = markdown(plan, &[]);
    assert!(
        md.contains("From Bucket A (bucket-a) (10.0.2.10): `curl http://172.16.2.20:7010/health`"),
        "{md}"
    );
    assert!(md.contains("| 172.16.0.0/16 | pcx-ab |"));
}

#[test]
fn html_documentation_is_the_markdown_rendered() {
    for (name, plan) in samples() {
        let d = check(&plan, &CheckOptions::default());
        insta::assert_snapshot!(format!("{name}.html"), html(&plan, &d, None));
    }
    let (_, seed) = &samples()[0];
    let page = html(seed, &[], Some("<svg id=\"m\"></svg>"));
    assert!(page.contains(
        "<h1>NFYio seed example: VPC A and VPC B</h1>\n<figure class=\"map\"><svg id=\"m\"></svg>"
    ));
    assert!(page.contains("<td>172.16.0.0/16</td>"));
    // A name with markup is shown as text.
    let mut evil = seed.clone();
    evil.vpcs[0].name = "<script>alert(1)</script>".into();
    let page = html(&evil, &[], None);
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains("&lt;script&gt;"));
}

#[test]
fn svg_map_is_valid_xml_with_every_vpc_and_peering() {
    for (name, plan) in samples() {
        let svg = map::svg(&plan).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{name}: {e}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        let layout = map_layout(&plan);
        assert_eq!(root.attribute("width"), Some(layout.width.to_string().as_str()));
        let texts: Vec<String> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .map(|t| t.trim().to_string())
            .collect();
        for v in &plan.vpcs {
            assert!(texts.contains(&v.name), "{name}: no box for {}", v.name);
            assert!(texts.iter().any(|t| t.contains(&v.cidr.to_string())));
        }
        for p in &plan.peerings {
            assert!(
                texts
                    .iter()
                    .any(|t| t.starts_with(&format!("{} · {}", p.id, p.status))),
                "{name}: no label for {}",
                p.id
            );
        }
        assert!(texts.iter().any(|t| t == "pending"), "{name}: legend");
    }
}

#[test]
fn png_map_decodes_at_the_layout_size_and_is_drawn() {
    for (name, plan) in samples() {
        let png = map::png(&plan).unwrap();
        let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .to_rgb8();
        let layout = map_layout(&plan);
        assert_eq!(
            (img.width(), img.height()),
            (layout.width, layout.height),
            "{name}"
        );
        // Not a blank page: text and box outlines put dark pixels on the white background.
        let dark = img.pixels().filter(|p| p.0.iter().all(|c| *c < 100)).count();
        assert!(dark > 500, "{name}: only {dark} dark pixels");
    }
    // The same plan draws the same pixels (the font is shipped, not looked up on the machine).
    let (_, seed) = &samples()[0];
    assert_eq!(map::png(seed).unwrap(), map::png(seed).unwrap());
}

#[test]
fn layout_follows_positions_and_rings_without_them() {
    let (_, seed) = &samples()[0];
    let l = map_layout(seed);
    // vpc-a at (40, 60), vpc-b at (480, 60): moved to the margins, the gap kept.
    assert_eq!(l.boxes[1].1 .0 - l.boxes[0].1 .0, 440);
    assert_eq!(l.boxes[0].1 .1, l.boxes[1].1 .1);
    let (_, multi) = &samples()[2];
    let l = map_layout(multi);
    // No box overlaps another.
    for (i, (_, a)) in l.boxes.iter().enumerate() {
        for (_, b) in &l.boxes[i + 1..] {
            let apart =
                (a.0 - b.0).abs() >= netmodel::export::BOX_W || (a.1 - b.1).abs() >= netmodel::export::BOX_H;
            assert!(apart, "{a:?} and {b:?} overlap");
        }
    }
}
