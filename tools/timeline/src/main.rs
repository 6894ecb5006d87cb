// SPDX-License-Identifier: GPL-2.0

//! `complete_timeline`: the wake-order picture of a demo run, drawn on the host.
//!
//! Reads the console log of a `make demo` or `make demo-kthread` VM run (the kernel log dump at
//! its end), derives from the driver's lines who slept when and which completion woke whom
//! (see `model.rs`), and draws it as `OUT.svg` and `OUT.png`: one panel per module load, one
//! lane per task (pid and comm), the time axis from the log's timestamps.

mod draw;
mod model;
mod parse;

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

use model::Cause;

/// The command line.
#[derive(Parser)]
#[command(
    version,
    about = "Draw who slept and which completion woke whom, from the console log of a demo run"
)]
struct Cli {
    /// The console log of the run (build/logs/demo-*.log), or plain `dmesg` output.
    log: PathBuf,
    /// Where the picture goes, without extension: OUT.svg and OUT.png are written.
    #[arg(long, short)]
    out: PathBuf,
    /// The picture's title.
    #[arg(
        long,
        default_value = "complete_dev: who slept, and which write woke whom"
    )]
    title: String,
}

fn run(cli: &Cli) -> Result<(), String> {
    let log = std::fs::read(&cli.log).map_err(|e| format!("{}: {e}", cli.log.display()))?;
    let events = parse::events(&String::from_utf8_lossy(&log));
    let panels = model::build(&events);
    if panels.is_empty() {
        return Err(format!(
            "{}: no complete_dev or complete_kthread line about a task: \
             is it the console log of a demo run?",
            cli.log.display()
        ));
    }
    draw::use_font().map_err(|e| e.to_string())?;
    let svg = cli.out.with_extension("svg");
    let png = cli.out.with_extension("png");
    draw::write(&panels, &cli.title, &svg, &png)
        .map_err(|e| format!("drawing {}: {e}", cli.out.display()))?;
    for p in &panels {
        let pending = p
            .arrows
            .iter()
            .filter(|a| a.cause == Cause::Pending)
            .count();
        let lanes: Vec<String> = p.lanes.iter().map(model::Lane::label).collect();
        println!(
            "    {}: {} wake-ups drawn ({pending} from pending writes); lanes: {}",
            p.title,
            p.arrows.len(),
            lanes.join(", ")
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("complete_timeline: {e}");
            ExitCode::FAILURE
        }
    }
}
