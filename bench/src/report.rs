// SPDX-License-Identifier: GPL-2.0

//! The readable table of a result.

use serde_json::Value;

const SUBJECTS: [(&str, &str); 5] = [
    ("rust", "Rust /dev/complete"),
    ("c", "C complete_ref"),
    ("ldd", "C bare LDD3"),
    ("futex", "futex (floor)"),
    ("pipe", "pipe"),
];

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// A number as text: integers without a fraction, `-` when missing.
fn t(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::Null => "-".into(),
        other => other.to_string().trim_matches('"').to_string(),
    }
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.3}", a / b)
    } else {
        "-".into()
    }
}

/// Prints the latency and throughput tables with the Rust/C and Rust/futex ratios.
pub fn print(doc: &Value) {
    let cfg = &doc["config"];
    println!(
        "complete-dev benchmark: {} rounds interleaved, {} kernel {} built with {}, {} CPU(s)",
        t(&cfg["rounds"]),
        t(&doc["kernel"]),
        t(&cfg["kernel"]),
        t(&doc["toolchain"]),
        t(&cfg["cpus"])
    );
    println!("unit: {} (TCG: only ratios mean something)", crate::UNIT);
    println!();
    println!(
        "wake latency, logging off ({} samples per subject; reader {}):",
        num(&cfg["latency_samples_per_round"]) * num(&cfg["rounds"]),
        t(&cfg["latency_reader"])
    );
    println!(
        "  {:<20} {:>8} {:>8} {:>8} {:>9} {:>17} {:>7} {:>8}",
        "subject", "p50", "p90", "p99", "max", "p50 rounds min-max", "Rust/x", "p99 R/x"
    );
    let lat = &doc["latency"];
    let rust = &lat["rust"];
    for (k, label) in SUBJECTS {
        let s = &lat[k];
        println!(
            "  {:<20} {:>8} {:>8} {:>8} {:>9} {:>17} {:>7} {:>8}",
            label,
            t(&s["p50"]),
            t(&s["p90"]),
            t(&s["p99"]),
            t(&s["max"]),
            format!("{}-{}", t(&s["p50_round_min"]), t(&s["p50_round_max"])),
            ratio(num(&rust["p50"]), num(&s["p50"])),
            ratio(num(&rust["p99"]), num(&s["p99"])),
        );
    }
    println!();
    let log = &doc["latency_logging_on"];
    println!(
        "wake latency, logging on ({} samples per driver):",
        t(&cfg["latency_samples_logging_on"])
    );
    for (k, label) in &SUBJECTS[..2] {
        let s = &log[k];
        println!(
            "  {:<20} {:>8} {:>8} {:>8} {:>9} {:>17} {:>7} {:>8}",
            label,
            t(&s["p50"]),
            t(&s["p90"]),
            t(&s["p99"]),
            t(&s["max"]),
            "",
            ratio(num(&log["rust"]["p50"]), num(&s["p50"])),
            ratio(num(&log["rust"]["p99"]), num(&s["p99"])),
        );
    }
    println!();
    let cc = &doc["call_cost"];
    println!(
        "call cost without sleeping ({} writes, then {} reads, per driver and round, the cheapest of 10 batches; median, rounds min-max):",
        t(&cfg["calls_per_round"]),
        t(&cfg["calls_per_round"])
    );
    for (what, label) in [
        ("write", "write()"),
        ("read_not_sleeping", "read(), count > 0"),
    ] {
        let (r, c, l) = (&cc["rust"][what], &cc["c"][what], &cc["ldd"][what]);
        let range = |v: &Value| format!("({}-{})", t(&v["min"]), t(&v["max"]));
        println!(
            "  {:<18} Rust {:>5} {:<13} C {:>5} {:<13} Rust/C {}   bare LDD3 C {:>5} {}",
            label,
            t(&r["median"]),
            range(r),
            t(&c["median"]),
            range(c),
            ratio(num(&r["median"]), num(&c["median"])),
            t(&l["median"]),
            range(l),
        );
    }
    println!();
    println!(
        "throughput, completed waits per second of guest time ({} ms windows; median, rounds min-max):",
        t(&cfg["throughput_window_ms"])
    );
    let tp = &doc["throughput"];
    if let Some(m) = tp.as_object() {
        for (conf, subj) in m {
            println!("  {conf} readers x writers:");
            let r = num(&subj["rust"]["median"]);
            for (k, label) in SUBJECTS {
                let s = &subj[k];
                println!(
                    "    {:<20} {:>10} {:>23}   Rust/x {}",
                    label,
                    t(&s["median"]),
                    format!("{}-{}", t(&s["min"]), t(&s["max"])),
                    ratio(r, num(&s["median"]))
                );
            }
        }
    }
    println!();
    println!("parity, Rust over C (the C twin with the same features):");
    for (key, label, at_most) in [
        ("latency_p50_ratio_rust_over_c", "wake latency p50", true),
        ("latency_p99_ratio_rust_over_c", "wake latency p99", true),
        ("write_ratio_rust_over_c", "write() call cost", true),
        ("read_ratio_rust_over_c", "read() call cost", true),
        (
            "throughput_ratio_rust_over_c",
            "throughput, worse of 1x1 and 4x4",
            false,
        ),
    ] {
        let r = num(&doc[key]);
        let met = if at_most { r <= 1.01 } else { r >= 0.99 };
        println!(
            "  {:<34} {:.3}  (target {} {}: {})",
            label,
            r,
            if at_most { "<=" } else { ">=" },
            if at_most { "1.01" } else { "0.99" },
            if met { "met" } else { "MISSED" }
        );
    }
    println!(
        "  (not targets: throughput 16x16 {:.3}, geometric mean over configs {:.3}; \
         Rust/futex latency p50 {:.3}; Rust/bare LDD3 C latency p50 {:.3}; \
         with logging on {:.3})",
        num(&doc["throughput_ratio_rust_over_c_16x16"]),
        num(&doc["throughput_ratio_rust_over_c_geomean"]),
        num(&doc["latency_p50_ratio_rust_over_futex"]),
        num(&doc["latency_p50_ratio_rust_over_ldd"]),
        num(&doc["latency_p50_ratio_rust_over_c_logging_on"])
    );
}
