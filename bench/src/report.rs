// SPDX-License-Identifier: GPL-2.0

//! The readable table of a result.

use serde_json::Value;

const SUBJECTS: [(&str, &str); 4] = [
    ("rust", "Rust /dev/complete"),
    ("c", "C complete_ref"),
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
        "complete-dev benchmark: {} rounds interleaved, kernel {}, {} CPU(s)",
        t(&cfg["rounds"]),
        t(&cfg["kernel"]),
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
        "call cost without sleeping ({} writes, then {} reads, per driver and round; median, rounds min-max):",
        t(&cfg["calls_per_round"]),
        t(&cfg["calls_per_round"])
    );
    for (what, label) in [
        ("write", "write()"),
        ("read_not_sleeping", "read(), count > 0"),
    ] {
        let (r, c) = (&cc["rust"][what], &cc["c"][what]);
        println!(
            "  {:<20} Rust {:>6} ({}-{})   C {:>6} ({}-{})   Rust/C {}",
            label,
            t(&r["median"]),
            t(&r["min"]),
            t(&r["max"]),
            t(&c["median"]),
            t(&c["min"]),
            t(&c["max"]),
            ratio(num(&r["median"]), num(&c["median"]))
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
    let p50 = num(&doc["latency_p50_ratio_rust_over_c"]);
    let tput = num(&doc["throughput_ratio_rust_over_c"]);
    println!(
        "Rust/C latency p50 {:.3} (target <= 1.05: {}); Rust/C throughput, worst config {:.3} (target >= 0.95: {})",
        p50,
        if p50 <= 1.05 { "met" } else { "MISSED" },
        tput,
        if tput >= 0.95 { "met" } else { "MISSED" }
    );
    println!(
        "Rust/C throughput, geometric mean over configs {:.3}; Rust/futex latency p50 {:.3}; \
         Rust/C latency p50 with logging on {:.3}",
        num(&doc["throughput_ratio_rust_over_c_geomean"]),
        num(&doc["latency_p50_ratio_rust_over_futex"]),
        num(&doc["latency_p50_ratio_rust_over_c_logging_on"])
    );
}
