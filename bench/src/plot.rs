// SPDX-License-Identifier: GPL-2.0

//! The PNG: latency distributions (CDF) and throughput, drawn on the host from the JSON.

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use serde_json::Value;
use std::io;
use std::path::Path;

/// The curves: JSON section, subject key, legend, colour, dashed (logging on).
const CURVES: [(&str, &str, &str, RGBColor, bool); 7] = [
    (
        "latency",
        "rust",
        "Rust /dev/complete",
        RGBColor(200, 60, 40),
        false,
    ),
    (
        "latency",
        "c",
        "C complete_ref",
        RGBColor(40, 90, 200),
        false,
    ),
    (
        "latency",
        "ldd",
        "C complete_ldd (bare LDD3)",
        RGBColor(140, 60, 170),
        false,
    ),
    (
        "latency",
        "futex",
        "futex (floor)",
        RGBColor(60, 160, 60),
        false,
    ),
    ("latency", "pipe", "pipe", RGBColor(130, 130, 130), false),
    (
        "latency_logging_on",
        "rust",
        "Rust, logging on",
        RGBColor(240, 150, 130),
        true,
    ),
    (
        "latency_logging_on",
        "c",
        "C, logging on",
        RGBColor(130, 160, 240),
        true,
    ),
];

fn err<E: std::fmt::Display>(e: E) -> io::Error {
    io::Error::other(e.to_string())
}

fn cdf_of(doc: &Value, section: &str, key: &str) -> Vec<f64> {
    doc[section][key]["cdf"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// Draws the PNG `out` from the result `doc`, labels in the TrueType `font`.
pub fn draw(doc: &Value, out: &Path, font: &Path) -> io::Result<()> {
    let bytes = std::fs::read(font).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "font {}: {e} (Debian: apt-get install fonts-dejavu-core, or pass --font)",
                font.display()
            ),
        )
    })?;
    register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(bytes.into_boxed_slice()),
    )
    .map_err(|_| io::Error::other(format!("{}: not a usable font", font.display())))?;

    let root = BitMapBackend::new(out, (1400, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let (left, right) = root.split_horizontally(820);

    // Left: the latency CDFs, linear x from the fastest sample to the slowest p99; the far
    // tail is left out (the table has the maxima).
    let mut lo = f64::INFINITY;
    let mut hi: f64 = 1.0;
    for (sec, key, ..) in CURVES {
        let cdf = cdf_of(doc, sec, key);
        if let (Some(&first), Some(&tail)) = (cdf.first(), cdf.get(cdf.len() * 99 / 100)) {
            lo = lo.min(first);
            hi = hi.max(tail);
        }
    }
    if !lo.is_finite() {
        return Err(io::Error::other("no latency data in the JSON"));
    }
    let (lo, hi) = ((lo * 0.95).floor(), hi * 1.05);
    let mut chart = ChartBuilder::on(&left)
        .caption(
            "Wake latency, write() to read() return (CDF, to p99)",
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(56)
        .build_cartesian_2d(lo..hi, 0.0..100.0)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("latency, virtual ns (= guest instructions, icount shift 0)")
        .x_label_formatter(&|x| format!("{:.0}k", x / 1000.0))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .y_desc("% of wake-ups at or below")
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(err)?;
    for (sec, key, label, colour, dashed) in CURVES {
        let cdf = cdf_of(doc, sec, key);
        if cdf.is_empty() {
            continue;
        }
        let n = (cdf.len() - 1).max(1) as f64;
        let pts: Vec<(f64, f64)> = cdf
            .iter()
            .enumerate()
            .filter(|&(_, &v)| v <= hi)
            .map(|(i, &v)| (v, i as f64 * 100.0 / n))
            .collect();
        let style = colour.stroke_width(if dashed { 1 } else { 2 });
        let series = if dashed {
            chart
                .draw_series(DashedLineSeries::new(pts, 6, 4, style))
                .map_err(err)?
        } else {
            chart
                .draw_series(LineSeries::new(pts, style))
                .map_err(err)?
        };
        series.label(label).legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
        });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;

    // Right: throughput per configuration, relative to the C baseline.
    let tp = doc["throughput"].as_object().cloned().unwrap_or_default();
    let configs: Vec<String> = tp.keys().cloned().collect();
    let keys = &CURVES[..5];
    let mut top: f64 = 1.2;
    for m in tp.values() {
        let c = m["c"]["median"].as_f64().unwrap_or(1.0).max(1.0);
        for (_, key, ..) in keys {
            top = top.max(m[*key]["max"].as_f64().unwrap_or(0.0) / c * 1.1);
        }
    }
    let mut bars = ChartBuilder::on(&right)
        .caption(
            "Throughput relative to C (median, min-max)",
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(48)
        .build_cartesian_2d(0.0..configs.len() as f64, 0.0..top)
        .map_err(err)?;
    let names = configs.clone();
    bars.configure_mesh()
        .disable_x_mesh()
        .x_labels(configs.len() * 2 + 1)
        .x_label_formatter(&move |x| {
            let i = x.floor() as usize;
            if (x - i as f64 - 0.5).abs() < 0.01 && i < names.len() {
                format!("{} readers x writers", names[i].replace('x', " x "))
            } else {
                String::new()
            }
        })
        .y_desc("completed waits/s, C = 1")
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(err)?;
    let width = 0.8 / keys.len() as f64;
    for (ci, conf) in configs.iter().enumerate() {
        let m = &tp[conf];
        let c = m["c"]["median"].as_f64().unwrap_or(1.0).max(1.0);
        for (ki, (_, key, label, colour, _)) in keys.iter().enumerate() {
            let x0 = ci as f64 + 0.1 + ki as f64 * width;
            let med = m[*key]["median"].as_f64().unwrap_or(0.0) / c;
            let (mn, mx) = (
                m[*key]["min"].as_f64().unwrap_or(0.0) / c,
                m[*key]["max"].as_f64().unwrap_or(0.0) / c,
            );
            let s = bars
                .draw_series(std::iter::once(Rectangle::new(
                    [(x0, 0.0), (x0 + width * 0.9, med)],
                    colour.filled(),
                )))
                .map_err(err)?;
            if ci == 0 {
                let colour = *colour;
                s.label(*label).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
                });
            }
            let xm = x0 + width * 0.45;
            bars.draw_series(std::iter::once(PathElement::new(
                vec![(xm, mn), (xm, mx)],
                BLACK.stroke_width(1),
            )))
            .map_err(err)?;
        }
    }
    bars.draw_series(std::iter::once(PathElement::new(
        vec![(0.0, 1.0), (configs.len() as f64, 1.0)],
        BLACK.mix(0.4).stroke_width(1),
    )))
    .map_err(err)?;
    bars.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}
