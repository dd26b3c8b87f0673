//! Snapshot tests of every text export for the seed sample, the transitive (three-VPC) sample and a
//! multi-account, inter-region sample; the SVG map is valid XML naming every VPC and peering; the PNG decodes at
//! the layout's size and matches a committed reference render (the shipped font, not the machine's); a map beyond
//! the PNG pixel budget is scaled down to fit; the HTML page renders the same documentation and never passes
//! markup through.

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
}

/// The seed's map as rendered with the shipped DejaVu Sans (`netmodel/fonts/`), committed. Set
/// `PEERPLAN_BLESS=1` to rewrite it after a deliberate change to the drawing.
const SEED_MAP_REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/seed-map.png");

#[test]
fn png_map_matches_the_committed_reference_render() {
    // Comparing two renders in one process cannot tell the shipped font from one looked up on the machine (the
    // machine has DejaVu fonts too); a reference rendered with the shipped font and its rasterizer can.
    let (_, seed) = &samples()[0];
    let png = map::png(seed).unwrap();
    if std::env::var_os("PEERPLAN_BLESS").is_some() {
        std::fs::write(SEED_MAP_REFERENCE, &png).unwrap();
    }
    let decode = |bytes: &[u8]| {
        image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
            .unwrap()
            .to_rgb8()
    };
    let reference = decode(&std::fs::read(SEED_MAP_REFERENCE).expect("the committed reference render"));
    let actual = decode(&png);
    assert_eq!(actual.dimensions(), reference.dimensions(), "the seed map's size");
    let differ = actual
        .pixels()
        .zip(reference.pixels())
        .filter(|(a, b)| a != b)
        .count();
    if differ > 0 {
        let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("seed-map.actual.png");
        std::fs::write(&out, &png).unwrap();
        panic!(
            "{differ} pixels differ from {SEED_MAP_REFERENCE} (this render: {}); a font other than the shipped \
             DejaVu Sans, or a changed drawing (then PEERPLAN_BLESS=1)",
            out.display()
        );
    }
    // The same plan draws the same pixels.
    assert_eq!(png, map::png(seed).unwrap());
}

#[test]
fn png_of_a_map_beyond_the_pixel_budget_is_scaled_down_to_fit_with_a_note() {
    let plan = netmodel::generate::generate(&netmodel::generate::GenerateOptions {
        vpcs: 1_000,
        subnets_per_vpc: 1,
        endpoints_per_subnet: 0,
        seed: 1,
    })
    .unwrap();
    let layout = map_layout(&plan);
    let full = u64::from(layout.width) * u64::from(layout.height);
    assert!(
        full > map::MAX_PNG_PIXELS,
        "{}×{} fits already",
        layout.width,
        layout.height
    );

    let png = map::png(&plan).expect("a PNG of any plan");
    let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
        .unwrap()
        .to_rgb8();
    let (w, h) = img.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    assert!(pixels <= map::MAX_PNG_PIXELS, "{w}×{h} is over the budget");
    // Scaled just enough: the image uses most of the budget, at the layout's proportions (plus the note band).
    assert!(
        pixels * 10 > map::MAX_PNG_PIXELS * 9,
        "{w}×{h} is needlessly small"
    );
    let scale = map::png_scale(&plan);
    assert!(scale < 1.0 && scale > 0.5, "scale {scale}");
    assert_eq!(w, (f64::from(layout.width) * scale).ceil() as u32);
    let band = h - (f64::from(layout.height) * scale).ceil() as u32;
    assert!((20..=60).contains(&band), "a note band of {band} pixels");
    // The band: the note's background with dark text on it.
    let note_bg = image::Rgb([254, 243, 199]);
    let is_dark = |p: &image::Rgb<u8>| p.0.iter().all(|c| *c < 100);
    let band_pixels: Vec<image::Rgb<u8>> = (0..band)
        .flat_map(|y| (0..w.min(700)).map(move |x| (x, y)))
        .map(|(x, y)| *img.get_pixel(x, y))
        .collect();
    let background = band_pixels.iter().filter(|p| **p == note_bg).count();
    assert!(background > band_pixels.len() / 2, "no note band");
    let text = band_pixels.iter().filter(|p| is_dark(p)).count();
    assert!(text > 300, "only {text} dark pixels in the note band");
    // The map below it: boxes and peering lines.
    let dark = img
        .pixels()
        .skip((band * w) as usize)
        .filter(|p| is_dark(p))
        .count();
    assert!(dark > 100_000, "only {dark} dark pixels in the map");
}

#[test]
fn png_of_a_map_far_beyond_the_pixel_budget_is_drawn_too() {
    // Two VPCs ten million pixels apart: a scale of a few percent, and the note still fits.
    let mut plan = Plan::from_json(include_str!("../../examples/seed.json")).unwrap();
    plan.vpcs[1].position = Some(netmodel::model::Position {
        x: 10_000_000.0,
        y: 0.0,
    });
    plan.vpcs[0].position = Some(netmodel::model::Position { x: 0.0, y: 0.0 });
    let png = map::png(&plan).expect("a PNG of any plan");
    let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
        .unwrap()
        .to_rgb8();
    let (w, h) = img.dimensions();
    assert!(
        u64::from(w) * u64::from(h) <= map::MAX_PNG_PIXELS,
        "{w}×{h} is over the budget"
    );
    let scale = map::png_scale(&plan);
    assert!(scale < 0.1, "scale {scale}");
    assert!(h > 40 && w >= 760, "{w}×{h}");
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

/// A 1,000-VPC documentation took 55 s: the VPC × VPC grid scanned every peering per cell (a million cells), the
/// not-transitive pairs were found over all triples, and "verify connectivity" traced every pair of endpoints.
/// Now the grid gives way to a list per VPC past 60 VPCs, the pairs come from the peering graph (bounded, with
/// the count of the rest), and only endpoints across active peerings are traced.
#[test]
fn large_plan_documentation_is_bounded_not_quadratic() {
    let plan = netmodel::generate::generate(&netmodel::generate::GenerateOptions {
        vpcs: 1000,
        subnets_per_vpc: 2,
        endpoints_per_subnet: 1,
        seed: 1,
    })
    .unwrap();
    let d = check(&plan, &CheckOptions::default());
    let md = markdown(&plan, &d);
    assert!(md.contains("1000 VPCs are too many for a grid (up to 60); each VPC's peerings instead:"));
    assert!(md.contains("- **vpc-0001**: "), "each VPC lists its peerings");
    // The grid alone would be over a million cells; the whole document stays small.
    assert!(md.len() < 2_000_000, "{} bytes", md.len());
    let listed = md.lines().filter(|l| l.contains("(both peered with")).count();
    assert!(listed <= 200, "{listed} pairs listed");
    if listed == 200 {
        assert!(md.contains("more pairs ("), "the rest is counted");
    }
}

#[test]
fn not_transitive_pairs_of_a_big_hub_are_listed_up_to_a_bound_with_the_count() {
    // A hub with 30 spokes: 435 spoke pairs reach each other only through the hub.
    let mut plan: serde_json::Value = serde_json::json!({"format": "peerplan/v1", "accounts": [{"id": "acct"}],
        "vpcs": [{"id": "hub", "account": "acct", "region": "us-east-1", "cidr": "10.0.0.0/16"}], "peerings": []});
    for i in 1..=30 {
        plan["vpcs"].as_array_mut().unwrap().push(serde_json::json!(
            {"id": format!("s{i:02}"), "account": "acct", "region": "us-east-1", "cidr": format!("10.{i}.0.0/16")}));
        plan["peerings"].as_array_mut().unwrap().push(serde_json::json!(
            {"id": format!("pcx-{i:02}"), "requester": {"vpc": "hub"}, "accepter": {"vpc": format!("s{i:02}")}, "status": "active"}));
    }
    let plan = Plan::from_json(&plan.to_string()).unwrap();
    let md = markdown(&plan, &[]);
    let listed: Vec<&str> = md
        .lines()
        .filter(|l| l.contains("(both peered with hub)"))
        .collect();
    assert_eq!(listed.len(), 200);
    assert_eq!(
        listed[0],
        "- s01 and s02 (both peered with hub): create a direct peering to connect them."
    );
    assert!(
        md.contains("- … and 235 more pairs (435 in all; `peerplan check` counts them per group)."),
        "{md}"
    );
}

/// A VPC dragged (or edited) to x = 1e12 made the map's layout overflow (a panic in debug builds, and its stack
/// trace in the web export's reply): such positions are refused at the plan's edge, and the layout saturates on
/// its own.
#[test]
fn absurd_canvas_positions_are_refused_and_never_overflow_the_map() {
    let mut json: serde_json::Value = serde_json::from_str(include_str!("../../examples/seed.json")).unwrap();
    json["vpcs"][1]["position"] = serde_json::json!({"x": 1e12, "y": 60});
    let err = Plan::from_json(&json.to_string()).unwrap_err().to_string();
    assert!(
        err.contains("vpcs[1].position.x") && err.contains("1000000000000"),
        "{err}"
    );
    let mut plan = Plan::from_json(include_str!("../../examples/seed.json")).unwrap();
    plan.vpcs[1].position = Some(netmodel::model::Position { x: 1e12, y: -1e12 });
    let layout = map_layout(&plan);
    assert_eq!(layout.boxes.len(), 2);
    map::svg(&plan).expect("an SVG even so");
}

/// Accounts `x-y` and `x_y` both read `API_KEY_X_Y`: the script ran the accepter's calls with the requester's key.
/// Each account now has its own variable.
#[test]
fn accounts_whose_key_variables_would_collide_get_their_own() {
    let text = include_str!("../../examples/seed.json")
        .replace("\"acct-a\"", "\"x-y\"")
        .replace("\"acct-b\"", "\"x_y\"");
    let plan = Plan::from_json(&text).unwrap();
    let vars = netmodel::export::key_vars(&plan);
    assert_eq!(vars.get("x-y").map(String::as_str), Some("API_KEY_X_Y"));
    assert_eq!(vars.get("x_y").map(String::as_str), Some("API_KEY_X_Y_2"));
    let script = curl_script(&plan, ScriptPart::All);
    assert!(
        script.contains("#   export API_KEY_X_Y=…   # account x-y"),
        "{script}"
    );
    assert!(
        script.contains("#   export API_KEY_X_Y_2=…   # account x_y"),
        "{script}"
    );
    // The accept runs with the accepter's own key.
    let accept = script.lines().find(|l| l.contains("/accept")).unwrap();
    assert!(accept.contains("\"$API_KEY_X_Y_2\""), "{accept}");
}
