//! The peering map drawn with plotters: SVG (text as text) and PNG (text rasterized with the DejaVu Sans font
//! shipped in `netmodel/fonts/`, so a PNG is the same on every machine). Boxes are placed by
//! [`super::map_layout`]: the UI's positions when every VPC has one, else the planner's auto-layout
//! ([`crate::layout`]: groups of peered VPCs kept together, peered VPCs near each other). A map larger
//! than a PNG's pixel budget is drawn scaled down to fit, with a note above it saying so ([`png_scale`]).

use std::{collections::HashMap, sync::Once};

use image::ImageEncoder;
use plotters::{
    coord::CoordTranslate,
    element::DashedPathElement,
    prelude::*,
    style::{FontStyle, RGBColor},
};

use super::{map_layout, MapLayout, BOX_H, BOX_W};
use crate::model::{PeeringStatus, Plan};

/// DejaVu Sans (Bitstream Vera licence, in `fonts/DejaVu-LICENSE.txt`).
const FONT: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";
/// Largest PNG drawn (40 megapixels, 120 MB of RGB while drawing); a larger map is scaled down to fit.
pub const MAX_PNG_PIXELS: u64 = 40_000_000;
/// Height of the band above a scaled-down map that holds the note, in pixels.
const NOTE_BAND: u32 = 40;
/// Narrowest scaled-down PNG, so that the note fits (the map is drawn at the left).
const NOTE_MIN_WIDTH: u32 = 760;

/// What drawing a map can fail with (plotters and PNG encoding errors, as text).
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the peering map: {0}")]
pub struct MapError(String);

fn err(e: impl std::fmt::Display) -> MapError {
    MapError(e.to_string())
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            if plotters::style::register_font(FAMILY, style, FONT).is_err() {
                unreachable!("the shipped font parses");
            }
        }
    });
}

const ACCOUNT_COLORS: [RGBColor; 6] = [
    RGBColor(37, 99, 235),
    RGBColor(5, 150, 105),
    RGBColor(217, 119, 6),
    RGBColor(124, 58, 237),
    RGBColor(219, 39, 119),
    RGBColor(8, 145, 178),
];
const ACTIVE: RGBColor = RGBColor(22, 101, 52);
const PENDING: RGBColor = RGBColor(100, 116, 139);
const BROKEN: RGBColor = RGBColor(220, 38, 38);
const INK: RGBColor = RGBColor(15, 23, 42);
const MUTED: RGBColor = RGBColor(71, 85, 105);

fn edge_color(status: PeeringStatus) -> RGBColor {
    match status {
        PeeringStatus::Active => ACTIVE,
        PeeringStatus::Pending => PENDING,
        _ => BROKEN,
    }
}

fn font(size: f64, color: RGBColor) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&color)
}

/// Map coordinates (those of [`map_layout`]) to image pixels: scaled by `factor`, then moved down by `top`.
/// At factor 1 and top 0 it is the identity, so the SVG and a PNG that fits are drawn exactly as laid out.
#[derive(Clone, Copy, Debug)]
struct Scaled {
    factor: f64,
    top: i32,
}

impl Scaled {
    const IDENTITY: Scaled = Scaled { factor: 1.0, top: 0 };

    /// A font of `size` map pixels, at this scale (at least one image pixel).
    fn font(&self, size: f64, color: RGBColor) -> TextStyle<'static> {
        font((size * self.factor).max(1.0), color)
    }

    /// A line `width` map pixels wide, at this scale (at least one image pixel).
    fn stroke(&self, color: RGBColor, width: u32) -> ShapeStyle {
        let w = (f64::from(width) * self.factor).round().max(1.0) as u32;
        color.stroke_width(w)
    }
}

impl CoordTranslate for Scaled {
    type From = (i32, i32);
    fn translate(&self, &(x, y): &(i32, i32)) -> (i32, i32) {
        let scale = |v: i32| (f64::from(v) * self.factor).round() as i32;
        (scale(x), scale(y) + self.top)
    }
}

/// The factor a PNG of this plan's map is drawn at: 1 when the map fits in [`MAX_PNG_PIXELS`], else the largest
/// that makes the image (with its note band, at least [`NOTE_MIN_WIDTH`] wide) fit.
pub fn png_scale(plan: &Plan) -> f64 {
    let layout = map_layout(plan);
    png_size(layout.width, layout.height).0
}

/// The scale and the image size (width, height, note band) for a map of `w`×`h`.
fn png_size(w: u32, h: u32) -> (f64, u32, u32, u32) {
    if u64::from(w) * u64::from(h) <= MAX_PNG_PIXELS {
        return (1.0, w, h, 0);
    }
    let mut factor = (MAX_PNG_PIXELS as f64 / (f64::from(w) * f64::from(h))).sqrt();
    loop {
        let iw = ((f64::from(w) * factor).ceil() as u32).max(NOTE_MIN_WIDTH);
        let ih = (f64::from(h) * factor).ceil() as u32 + NOTE_BAND;
        if u64::from(iw) * u64::from(ih) <= MAX_PNG_PIXELS {
            return (factor, iw, ih, NOTE_BAND);
        }
        factor *= 0.99;
    }
}

/// The scale as a percentage for the note: "40%", "4.5%", "0.25%".
fn percent(factor: f64) -> String {
    let p = factor * 100.0;
    let text = if p >= 10.0 {
        format!("{:.0}", p.floor())
    } else if p >= 1.0 {
        format!("{:.1}", (p * 10.0).floor() / 10.0)
    } else {
        format!("{:.2}", (p * 100.0).floor() / 100.0)
    };
    format!("{text}%")
}

/// A label's rectangle in map coordinates: left, top, right, bottom.
type Rect = (i32, i32, i32, i32);

/// The label rectangles placed so far, found by the grid cells they cover: whether a spot is free is answered
/// from the labels near it, not by comparing with every label of the map (quadratic at thousands of peerings).
#[derive(Default)]
struct Placed {
    rects: Vec<Rect>,
    cells: HashMap<(i32, i32), Vec<usize>>,
}

impl Placed {
    /// Side of a grid cell, in map units (a few labels wide).
    const CELL: i32 = 512;

    fn cells_of(r: &Rect) -> impl Iterator<Item = (i32, i32)> {
        let (x0, y0) = (r.0.div_euclid(Self::CELL), r.1.div_euclid(Self::CELL));
        let (x1, y1) = (r.2.div_euclid(Self::CELL), r.3.div_euclid(Self::CELL));
        (x0..=x1).flat_map(move |x| (y0..=y1).map(move |y| (x, y)))
    }

    /// Whether `r` overlaps no placed rectangle (touching edges overlap, as before).
    fn free(&self, r: &Rect) -> bool {
        Self::cells_of(r).all(|cell| {
            self.cells.get(&cell).is_none_or(|ids| {
                ids.iter().all(|&i| {
                    let p = self.rects[i];
                    r.2 < p.0 || p.2 < r.0 || r.3 < p.1 || p.3 < r.1
                })
            })
        })
    }

    fn push(&mut self, r: Rect) {
        let i = self.rects.len();
        self.rects.push(r);
        for cell in Self::cells_of(&r) {
            self.cells.entry(cell).or_default().push(i);
        }
    }
}

fn draw<DB: DrawingBackend>(
    plan: &Plan,
    layout: &MapLayout,
    root: &DrawingArea<DB, Scaled>,
) -> Result<(), MapError> {
    let pen = *root.as_coord_spec();
    let title = if plan.name.is_empty() {
        "Peering map"
    } else {
        &plan.name
    };
    root.draw(&Text::new(title.to_string(), (24, 16), pen.font(22.0, INK)))
        .map_err(err)?;
    let center = |i: usize| {
        let (x, y) = layout.boxes[i].1;
        (x + BOX_W / 2, y + BOX_H / 2)
    };
    let positions: HashMap<&crate::ids::VpcId, usize> = layout
        .boxes
        .iter()
        .enumerate()
        .map(|(i, (v, _))| (v, i))
        .collect();
    let index = |id: &crate::ids::VpcId| positions.get(id).copied();
    // Edges first, so the boxes cover their ends; their labels last, above everything.
    let mut labels = Vec::new();
    for p in &plan.peerings {
        let (Some(a), Some(b)) = (index(&p.requester.vpc), index(&p.accepter.vpc)) else {
            continue;
        };
        let (from, to) = (center(a), center(b));
        let color = edge_color(p.status);
        let style = pen.stroke(color, 3);
        if p.status == PeeringStatus::Pending {
            root.draw(&DashedPathElement::new(vec![from, to], 10, 6, style))
                .map_err(err)?;
        } else {
            root.draw(&PathElement::new(vec![from, to], style)).map_err(err)?;
        }
        let mut label = format!("{} · {}", p.id, p.status);
        if p.requester.region != p.accepter.region {
            label.push_str(" · inter-region");
        }
        labels.push((label, color, from, to));
    }
    let mut accounts: Vec<&str> = plan.vpcs.iter().map(|v| v.account.as_str()).collect();
    accounts.sort();
    accounts.dedup();
    let accounts: HashMap<&str, usize> = accounts.into_iter().enumerate().map(|(i, a)| (a, i)).collect();
    for (id, (x, y)) in &layout.boxes {
        let Some(vpc) = plan.vpc(id) else { continue };
        let color = accounts
            .get(vpc.account.as_str())
            .map(|i| ACCOUNT_COLORS[i % ACCOUNT_COLORS.len()])
            .unwrap_or(MUTED);
        root.draw(&Rectangle::new(
            [(*x, *y), (x + BOX_W, y + BOX_H)],
            RGBColor(248, 250, 252).filled(),
        ))
        .map_err(err)?;
        root.draw(&Rectangle::new(
            [(*x, *y), (x + BOX_W, y + BOX_H)],
            pen.stroke(color, 2),
        ))
        .map_err(err)?;
        root.draw(&Rectangle::new([(*x, *y), (x + 6, y + BOX_H)], color.filled()))
            .map_err(err)?;
        let name = if vpc.name.is_empty() {
            vpc.id.0.clone()
        } else {
            vpc.name.clone()
        };
        root.draw(&Text::new(name, (x + 16, y + 10), pen.font(17.0, INK)))
            .map_err(err)?;
        let blocks: Vec<String> = vpc.blocks().map(|b| b.to_string()).collect();
        root.draw(&Text::new(
            blocks.join(", "),
            (x + 16, y + 36),
            pen.font(14.0, INK),
        ))
        .map_err(err)?;
        root.draw(&Text::new(
            format!("account {}", vpc.account),
            (x + 16, y + 60),
            pen.font(13.0, color),
        ))
        .map_err(err)?;
        root.draw(&Text::new(
            format!("region {}", vpc.region),
            (x + 16, y + 80),
            pen.font(13.0, MUTED),
        ))
        .map_err(err)?;
    }
    // Each label at the middle of its edge, or further along it when that spot is taken (placed in map
    // coordinates: measured at full size, drawn at the pen's).
    let mut placed = Placed::default();
    for (label, color, from, to) in labels {
        let (w, h) = root.estimate_text_size(&label, &font(13.0, color)).map_err(err)?;
        let (w, h) = (w as i32, h as i32);
        let at = |(t, dy): (f64, i32)| {
            let x = from.0 + (f64::from(to.0 - from.0) * t) as i32;
            let y = from.1 + (f64::from(to.1 - from.1) * t) as i32 + dy;
            (x - w / 2 - 4, y - h / 2 - 3, x + w / 2 + 4, y + h / 2 + 3)
        };
        let free = |r: &Rect| placed.free(r);
        let step = h + 10;
        let spot = [0, step, -step, 2 * step, -2 * step]
            .into_iter()
            .flat_map(|dy| [0.5, 0.35, 0.65].map(|t| (t, dy)))
            .map(at)
            .find(|r| free(r))
            .unwrap_or_else(|| at((0.5, 0)));
        placed.push(spot);
        let mid = ((spot.0 + spot.2) / 2, (spot.1 + spot.3) / 2);
        let (w, h) = (w as u32, h as u32);
        let top_left = (mid.0 - w as i32 / 2 - 4, mid.1 - h as i32 / 2 - 3);
        root.draw(&Rectangle::new(
            [top_left, (mid.0 + w as i32 / 2 + 4, mid.1 + h as i32 / 2 + 3)],
            WHITE.filled(),
        ))
        .map_err(err)?;
        root.draw(&Rectangle::new(
            [top_left, (mid.0 + w as i32 / 2 + 4, mid.1 + h as i32 / 2 + 3)],
            pen.stroke(color, 1),
        ))
        .map_err(err)?;
        root.draw(&Text::new(
            label,
            (top_left.0 + 4, top_left.1 + 3),
            pen.font(13.0, color),
        ))
        .map_err(err)?;
    }
    // Legend.
    let ly = layout.height as i32 - 36;
    let mut lx = 24;
    for (label, status) in [
        ("active", PeeringStatus::Active),
        ("pending", PeeringStatus::Pending),
        ("failed / rejected / expired / deleted", PeeringStatus::Failed),
    ] {
        let style = pen.stroke(edge_color(status), 3);
        let line = vec![(lx, ly + 8), (lx + 40, ly + 8)];
        if status == PeeringStatus::Pending {
            root.draw(&DashedPathElement::new(line, 10, 6, style))
                .map_err(err)?;
        } else {
            root.draw(&PathElement::new(line, style)).map_err(err)?;
        }
        root.draw(&Text::new(label.to_string(), (lx + 48, ly), pen.font(13.0, INK)))
            .map_err(err)?;
        lx += 48 + root.estimate_text_size(label, &font(13.0, INK)).map_err(err)?.0 as i32 + 32;
    }
    root.draw(&Text::new(
        "box colour = account".to_string(),
        (lx, ly),
        pen.font(13.0, MUTED),
    ))
    .map_err(err)?;
    root.present().map_err(err)
}

/// The peering map as an SVG document (full size: SVG has no pixel budget).
pub fn svg(plan: &Plan) -> Result<String, MapError> {
    register_font();
    let layout = map_layout(plan);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (layout.width, layout.height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(plan, &layout, &root.apply_coord_spec(Scaled::IDENTITY))?;
    }
    Ok(out)
}

/// The peering map as a PNG image (RGB): the size of [`map_layout`] when that fits in [`MAX_PNG_PIXELS`], else
/// scaled down by [`png_scale`] to fit, under a band that says "Scaled to 40% …".
pub fn png(plan: &Plan) -> Result<Vec<u8>, MapError> {
    register_font();
    let layout = map_layout(plan);
    let (factor, w, h, band) = png_size(layout.width, layout.height);
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        if band > 0 {
            let note = format!(
                "Scaled to {} to fit a PNG's {} megapixels (the map is {}×{}); export it as SVG for full size.",
                percent(factor),
                MAX_PNG_PIXELS / 1_000_000,
                layout.width,
                layout.height
            );
            root.draw(&Rectangle::new(
                [(0, 0), (w as i32, band as i32)],
                RGBColor(254, 243, 199).filled(),
            ))
            .map_err(err)?;
            root.draw(&Text::new(note, (12, 12), font(15.0, INK)))
                .map_err(err)?;
        }
        let top = i32::try_from(band).map_err(err)?;
        draw(plan, &layout, &root.apply_coord_spec(Scaled { factor, top }))?;
    }
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(&pixels, w, h, image::ColorType::Rgb8)
        .map_err(err)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{Placed, Rect};

    /// The grid answers exactly as comparing with every placed rectangle: rectangles of many sizes (smaller and
    /// larger than a cell, negative coordinates, touching edges), each placed when free, as the labels are.
    #[test]
    fn placed_labels_answer_as_comparing_with_every_one() {
        let mut seed: u64 = 7;
        let mut next = |n: i32| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) % n as u64) as i32
        };
        let mut grid = Placed::default();
        let mut all: Vec<Rect> = Vec::new();
        let (mut free, mut taken) = (0, 0);
        for _ in 0..3_000 {
            let (x, y) = (next(6_000) - 3_000, next(6_000) - 3_000);
            let r = (x, y, x + 1 + next(700), y + 1 + next(90));
            let brute = all
                .iter()
                .all(|p| r.2 < p.0 || p.2 < r.0 || r.3 < p.1 || p.3 < r.1);
            assert_eq!(grid.free(&r), brute, "{r:?}");
            let touching = (r.2, r.1, r.2 + 5, r.3);
            if brute {
                grid.push(r);
                all.push(r);
                free += 1;
                assert!(
                    !grid.free(&touching),
                    "a rectangle touching {r:?} at its right edge is not free"
                );
            } else {
                taken += 1;
            }
        }
        assert!(
            free > 100 && taken > 100,
            "both answers exercised: {free} free, {taken} taken"
        );
    }
}
