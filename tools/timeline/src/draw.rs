// SPDX-License-Identifier: GPL-2.0

//! The picture: one panel per module load, one lane per task, time from the log's timestamps.
//!
//! plotters draws the axes of each panel; the lanes, marks and arrows are drawn in pixels at the
//! places the panel's coordinates give, so that arrowheads and labels keep their size whatever
//! the time span. The same drawing goes to an SVG and to a PNG backend.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};
use std::io;
use std::path::Path;

use crate::model::{Cause, Fate, MarkKind, Panel};

/// Width of the picture, pixels.
const WIDTH: u32 = 1400;
/// Height of the title and legend.
const HEADER: u32 = 96;
/// Height of one lane.
const LANE: u32 = 64;
/// Height of a panel besides its lanes: caption, top space, time axis.
const PANEL_EXTRA: u32 = 118;
/// Width of the lane labels left of each panel.
const LABELS: u32 = 190;

const ASLEEP: RGBColor = RGBColor(150, 185, 230);
const SLEEP: RGBColor = RGBColor(30, 60, 140);
const WOKEN: RGBColor = RGBColor(30, 140, 60);
const GAVE_UP: RGBColor = RGBColor(200, 30, 30);
const WRITE: RGBColor = RGBColor(230, 120, 10);
const PENDING: RGBColor = RGBColor(140, 90, 20);
const ALL: RGBColor = RGBColor(130, 50, 170);
const INK: RGBColor = RGBColor(40, 40, 40);

/// Turns a drawing error into an I/O error.
fn err<E: std::fmt::Display>(e: E) -> io::Error {
    io::Error::other(e.to_string())
}

/// The label font at `size` pixels, in `colour`, anchored at `pos`.
fn font(size: u32, colour: RGBColor, pos: Pos) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&colour).pos(pos)
}

/// The label font, DejaVu Sans (Debian's fonts-dejavu-core, which tools/deps.sh installs), built
/// into the binary so that the picture does not depend on the fonts of the machine that draws it.
static FONT: &[u8] = include_bytes!("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");

/// Registers [`FONT`] for the labels: the PNG needs its glyphs, both backends its metrics to
/// place the labels.
pub fn use_font() -> io::Result<()> {
    register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| io::Error::other("the built-in DejaVu Sans is not a usable font"))
}

/// The picture's size for `panels`.
fn size(panels: &[Panel]) -> (u32, u32) {
    let lanes: u32 = panels.iter().map(|p| p.lanes.len() as u32).sum();
    (
        WIDTH,
        HEADER + lanes * LANE + panels.len() as u32 * PANEL_EXTRA,
    )
}

/// Writes the picture of `panels` as an SVG to `svg` and as a PNG to `png`.
pub fn write(panels: &[Panel], title: &str, svg: &Path, png: &Path) -> io::Result<()> {
    let dim = size(panels);
    draw(SVGBackend::new(svg, dim).into_drawing_area(), panels, title)?;
    draw(
        BitMapBackend::new(png, dim).into_drawing_area(),
        panels,
        title,
    )
}

/// Draws the whole picture on `root`.
fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    panels: &[Panel],
    title: &str,
) -> io::Result<()> {
    root.fill(&WHITE).map_err(err)?;
    let (header, mut rest) = root.split_vertically(HEADER);
    header
        .draw(&Text::new(
            title.to_string(),
            (16, 10),
            font(24, INK, Pos::new(HPos::Left, VPos::Top)),
        ))
        .map_err(err)?;
    legend(&header)?;
    for p in panels {
        let h = p.lanes.len() as u32 * LANE + PANEL_EXTRA;
        let (area, below) = rest.split_vertically(h);
        panel(&root, &area, p)?;
        rest = below;
    }
    root.present().map_err(err)
}

/// One kind of thing the picture shows, for the marks and the legend alike.
#[derive(Clone, Copy)]
enum Glyph {
    Asleep,
    Sleep,
    Woken,
    GaveUp,
    Write,
    Pending,
    NoEffect,
    CompleteAll,
    Reinit,
    Stopped,
}

/// Draws `g` centred at `c`.
fn glyph<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    g: Glyph,
    (x, y): (i32, i32),
) -> io::Result<()> {
    let diamond = |r: i32| vec![(x, y - r), (x + r, y), (x, y + r), (x - r, y)];
    match g {
        Glyph::Asleep => root.draw(&Rectangle::new(
            [(x - 12, y - 6), (x + 12, y + 6)],
            ASLEEP.filled(),
        )),
        Glyph::Sleep => root.draw(&Circle::new((x, y), 6, SLEEP.stroke_width(2))),
        Glyph::Woken => root.draw(&Circle::new((x, y), 6, WOKEN.filled())),
        Glyph::GaveUp => root
            .draw(&PathElement::new(
                vec![(x - 6, y - 6), (x + 6, y + 6)],
                GAVE_UP.stroke_width(3),
            ))
            .and_then(|()| {
                root.draw(&PathElement::new(
                    vec![(x - 6, y + 6), (x + 6, y - 6)],
                    GAVE_UP.stroke_width(3),
                ))
            }),
        Glyph::Write => root.draw(&Polygon::new(
            vec![(x, y - 8), (x + 7, y + 5), (x - 7, y + 5)],
            WRITE.filled(),
        )),
        Glyph::Pending => root
            .draw(&Polygon::new(diamond(8), WHITE.filled()))
            .and_then(|()| {
                let mut edge = diamond(8);
                edge.push((x, y - 8));
                root.draw(&PathElement::new(edge, PENDING.stroke_width(2)))
            }),
        Glyph::NoEffect => root.draw(&Polygon::new(
            vec![(x, y - 8), (x + 7, y + 5), (x - 7, y + 5)],
            INK.mix(0.3).filled(),
        )),
        Glyph::CompleteAll => root.draw(&Polygon::new(diamond(8), ALL.filled())),
        Glyph::Reinit => root.draw(&Rectangle::new(
            [(x - 6, y - 6), (x + 6, y + 6)],
            INK.stroke_width(2),
        )),
        Glyph::Stopped => root.draw(&Rectangle::new(
            [(x - 2, y - 10), (x + 2, y + 10)],
            INK.filled(),
        )),
    }
    .map_err(err)
}

/// What an arrow looks like for `cause`.
fn arrow_style(cause: Cause) -> (RGBColor, bool) {
    match cause {
        Cause::Woke => (WRITE, false),
        Cause::Pending => (PENDING, true),
        Cause::All => (ALL, false),
    }
}

/// Draws an arrow from `a` to `b`, its head `gap` pixels short of `b`.
fn arrow<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    a: (i32, i32),
    b: (i32, i32),
    gap: f64,
    cause: Cause,
) -> io::Result<()> {
    let (colour, dashed) = arrow_style(cause);
    let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
    let len = dx.hypot(dy).max(1.0);
    let (ux, uy) = (dx / len, dy / len);
    let at = |back: f64, side: f64| {
        (
            (b.0 as f64 - ux * back - uy * side).round() as i32,
            (b.1 as f64 - uy * back + ux * side).round() as i32,
        )
    };
    let tip = at(gap, 0.0);
    let base = at(gap + 11.0, 0.0);
    let style = colour.stroke_width(2);
    if dashed {
        root.draw(&DashedPathElement::new(vec![a, base], 7, 5, style))
    } else {
        root.draw(&PathElement::new(vec![a, base], style))
    }
    .map_err(err)?;
    root.draw(&Polygon::new(
        vec![tip, at(gap + 12.0, 5.5), at(gap + 12.0, -5.5)],
        colour.filled(),
    ))
    .map_err(err)
}

/// The legend, in rows under the title.
fn legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> io::Result<()> {
    let items: [(Option<Glyph>, Option<Cause>, &str); 11] = [
        (Some(Glyph::Sleep), None, "going to sleep"),
        (Some(Glyph::Asleep), None, "asleep on the completion"),
        (Some(Glyph::Woken), None, "awoken"),
        (
            Some(Glyph::GaveUp),
            None,
            "gave up waiting (signal, timeout)",
        ),
        (
            Some(Glyph::Write),
            None,
            "complete(): a write, a worker's tick",
        ),
        (
            Some(Glyph::Pending),
            None,
            "pending: nobody was waiting for it",
        ),
        (None, Some(Cause::Woke), "woke the oldest sleeper"),
        (None, Some(Cause::Pending), "pending, taken by a later read"),
        (Some(Glyph::CompleteAll), None, "complete_all()"),
        (Some(Glyph::Reinit), None, "reinit"),
        (Some(Glyph::Stopped), None, "thread stopped"),
    ];
    let style = font(14, INK, Pos::new(HPos::Left, VPos::Center));
    let (mut x, mut y) = (24, 52);
    for (g, cause, text) in items {
        let (w, _) = area.estimate_text_size(text, &style).map_err(err)?;
        let item = 40 + w as i32 + 22;
        if x + item > WIDTH as i32 - 10 {
            x = 24;
            y += 26;
        }
        match (g, cause) {
            (Some(g), _) => glyph(area, g, (x + 14, y))?,
            (None, Some(c)) => arrow(area, (x, y), (x + 32, y), 0.0, c)?,
            (None, None) => {}
        }
        area.draw(&Text::new(text, (x + 40, y), style.clone()))
            .map_err(err)?;
        x += item;
    }
    Ok(())
}

/// What a mark shows: its glyph, its label, and whether the label goes above the lane.
fn look(kind: &MarkKind, write: &str) -> (Glyph, String, bool) {
    match kind {
        MarkKind::Sleep => (Glyph::Sleep, "going to sleep".into(), true),
        MarkKind::Woken => (Glyph::Woken, "awoken".into(), false),
        MarkKind::GaveUp(why) => (Glyph::GaveUp, format!("gave up: {why}"), false),
        MarkKind::Complete(Fate::Wakes) => (Glyph::Write, write.into(), true),
        MarkKind::Complete(Fate::Pending) => (Glyph::Pending, format!("{write}, pending"), true),
        MarkKind::Complete(Fate::NoEffect) => {
            (Glyph::NoEffect, format!("{write}, all done already"), true)
        }
        MarkKind::CompleteAll => (Glyph::CompleteAll, "complete_all".into(), true),
        MarkKind::Reinit => (Glyph::Reinit, "reinit".into(), true),
        MarkKind::Stopped => (Glyph::Stopped, "stopped".into(), false),
    }
}

/// Draws one panel in `area` (its axes) and on `root` (its content, in root pixels).
fn panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
) -> io::Result<()> {
    let n = p.lanes.len();
    let pad = ((p.end - p.start) * 0.04).max(0.05);
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 18))
        .margin_left(12)
        .margin_right(36)
        .margin_top(10)
        .x_label_area_size(48)
        .y_label_area_size(LABELS)
        .build_cartesian_2d(p.start - pad..p.end + pad, 0.0..n as f64 + 0.3)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("seconds since boot (kernel log timestamps)")
        .x_label_formatter(&|x| format!("{x:.2}"))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .light_line_style(INK.mix(0.04))
        .bold_line_style(INK.mix(0.12))
        .draw()
        .map_err(err)?;
    let at = |t: f64, lane: usize| chart.backend_coord(&(t, (n - lane) as f64 - 0.5));
    let (left, right) = (at(p.start - pad, 0).0, at(p.end + pad, 0).0);

    for (i, lane) in p.lanes.iter().enumerate() {
        let (_, y) = at(p.start, i);
        root.draw(&PathElement::new(
            vec![(left, y), (right, y)],
            INK.mix(0.25).stroke_width(1),
        ))
        .map_err(err)?;
        root.draw(&Text::new(
            lane.label(),
            (left - 12, y),
            font(15, INK, Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(err)?;
    }
    for s in &p.sleeps {
        let (x0, y) = at(s.from, s.lane);
        let (x1, _) = at(s.to, s.lane);
        root.draw(&Rectangle::new(
            [(x0, y - 6), (x1.max(x0 + 2), y + 6)],
            ASLEEP.filled(),
        ))
        .map_err(err)?;
        if s.open {
            root.draw(&Text::new(
                "still asleep at the end of the log",
                (x1 - 4, y + 12),
                font(13, INK, Pos::new(HPos::Right, VPos::Top)),
            ))
            .map_err(err)?;
        }
    }
    for a in &p.arrows {
        arrow(
            root,
            at(a.from_t, a.from_lane),
            at(a.to_t, a.to_lane),
            7.0,
            a.cause,
        )?;
    }
    // Labels that would overlap the previous one on the same side of the lane are left out:
    // the glyph says the same, and the legend explains it.
    let write = if p.title.starts_with("complete_dev") {
        "write"
    } else {
        "complete"
    };
    let mut last_end = vec![[i32::MIN; 2]; n];
    for m in &p.marks {
        let (g, label, above) = look(&m.kind, write);
        let (x, y) = at(m.t, m.lane);
        glyph(root, g, (x, y))?;
        let (pos, ly) = if above {
            (Pos::new(HPos::Center, VPos::Bottom), y - 11)
        } else {
            (Pos::new(HPos::Center, VPos::Top), y + 11)
        };
        let colour = if matches!(g, Glyph::GaveUp) {
            GAVE_UP
        } else {
            INK
        };
        let style = font(13, colour, pos);
        let (w, h) = root.estimate_text_size(&label, &style).map_err(err)?;
        let side = &mut last_end[m.lane][usize::from(above)];
        let start = x - w as i32 / 2;
        if start > side.saturating_add(6) {
            // A light backing keeps the label readable where an arrow passes under it.
            let (top, bottom) = if above {
                (ly - h as i32 - 1, ly + 1)
            } else {
                (ly - 1, ly + h as i32 + 1)
            };
            root.draw(&Rectangle::new(
                [(start - 2, top), (start + w as i32 + 2, bottom)],
                WHITE.mix(0.8).filled(),
            ))
            .map_err(err)?;
            root.draw(&Text::new(label, (x, ly), style)).map_err(err)?;
            *side = start + w as i32;
        }
    }
    Ok(())
}
