// SPDX-License-Identifier: GPL-2.0
//! `complete_dev`: the kselftest of `/dev/complete` (complete_dev.ko), printing KTAP.
//!
//! Runs as root inside the test VM. Before each case the module is loaded afresh with that
//! case's parameters (so all counters start at zero) and unloaded after it. See `--help`.

use std::process::ExitCode;

use clap::Parser;

mod cases;
mod error;
mod fail_nth;
mod kconfig;
mod kmsg;
mod ktap;
mod module;
mod readers;
mod sys;
/// The driver's ioctl ABI: `src/uapi.rs` links to `../uapi/complete_dev.rs`, shared with the driver.
#[expect(dead_code, reason = "the ABI file also serves the driver (`to_words`)")]
mod uapi;

use cases::{Case, Ctx, Opts, CASES};
use error::CaseError;
use ktap::{Ktap, Outcome};

/// The kselftest of /dev/complete (complete_dev.ko). Prints KTAP; exit 0 pass, 1 fail, 4 skip.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    /// Print the case names and exit.
    #[arg(long)]
    list: bool,
    /// Run only these cases (default: all, in table order).
    cases: Vec<String>,
    /// Reader threads of the stress_threads case.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    readers: u32,
    /// Writer threads of the stress_threads case.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    writers: u32,
    /// Total writes (and so reads) of the stress_threads case.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    writes: u32,
    /// Print the driver's kernel log lines of every case as diagnostics.
    #[arg(short, long)]
    verbose: bool,
    /// The module file to load.
    #[arg(long, default_value = "/modules/complete_dev.ko")]
    module: std::path::PathBuf,
    /// Seed of the model, model_concurrent and stress_soak cases (default: from the clock, printed); a failure
    /// prints the seed that replays it: `complete_dev model --seed S --model-cases 1`.
    #[arg(long, env = "COMPLETE_TEST_SEED")]
    seed: Option<u64>,
    /// Proptest cases of the model case (each on a freshly loaded module).
    #[arg(long, env = "COMPLETE_MODEL_CASES", default_value_t = 36)]
    model_cases: u32,
    /// Most operations in one model case.
    #[arg(long, env = "COMPLETE_MODEL_OPS", default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    model_ops: u32,
    /// Most shrink steps after a model failure.
    #[arg(long, env = "COMPLETE_MODEL_SHRINK", default_value_t = 2000)]
    model_shrink: u32,
    /// Runs of the model_concurrent case (each on a freshly loaded module, run i with seed
    /// S + i); a failure prints the seed that replays it:
    /// `complete_dev model_concurrent --seed S --model-runs 1`.
    #[arg(long, env = "COMPLETE_MODEL_RUNS", default_value_t = 72)]
    model_runs: u32,
    /// Most seconds spent shrinking a failing model_concurrent run.
    #[arg(long, env = "COMPLETE_MODEL_SHRINK_SECS", default_value_t = 120)]
    model_shrink_secs: u32,
    /// Worker threads of the stress_soak case.
    #[arg(long, env = "COMPLETE_SOAK_WORKERS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(2..=256))]
    soak_workers: u32,
    /// Operations of the stress_soak case in all.
    #[arg(long, env = "COMPLETE_SOAK_OPS", default_value_t = 50_000, value_parser = clap::value_parser!(u32).range(1..=100_000_000))]
    soak_ops: u32,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.list {
        for c in CASES {
            println!("{}", c.name);
        }
        return ExitCode::SUCCESS;
    }
    let mut selected: Vec<&Case> = Vec::new();
    for name in &cli.cases {
        match CASES.iter().find(|c| c.name == name) {
            Some(c) => selected.push(c),
            None => {
                eprintln!("complete_dev: unknown case '{name}' (see --list)");
                return ExitCode::from(ktap::KSFT_FAIL as u8);
            }
        }
    }
    if selected.is_empty() {
        selected = CASES.iter().collect();
    }
    let opts = Opts {
        readers: cli.readers as usize,
        writers: cli.writers as usize,
        writes: cli.writes as usize,
        verbose: cli.verbose,
        module: cli.module,
        seed: cli.seed,
        model_cases: cli.model_cases,
        model_ops: cli.model_ops as usize,
        model_shrink: cli.model_shrink,
        model_runs: cli.model_runs,
        model_shrink_secs: cli.model_shrink_secs,
        soak_workers: cli.soak_workers as usize,
        soak_ops: cli.soak_ops as usize,
    };

    let mut ktap = Ktap::new(std::io::stdout());
    ktap.header(selected.len());
    match setup(&opts) {
        Err(reason) => {
            for c in &selected {
                ktap.result(c.name, &Outcome::Skip(reason.clone()));
            }
        }
        Ok(kmsg) => {
            let ctx = Ctx::new(opts, kmsg);
            for c in &selected {
                let outcome = run_case(&ctx, c, &mut ktap);
                ktap.result(c.name, &outcome);
            }
        }
    }
    ktap.totals();
    ExitCode::from(ktap.exit_code() as u8)
}

/// Checks that the run can happen here; the reason to skip everything otherwise.
fn setup(opts: &Opts) -> Result<kmsg::Kmsg, String> {
    if sys::geteuid() != 0 {
        return Err("must run as root (loads complete_dev.ko)".into());
    }
    if !opts.module.is_file() {
        return Err(format!("no module file at {}", opts.module.display()));
    }
    let kmsg = kmsg::Kmsg::open().map_err(|e| format!("cannot open /dev/kmsg: {e}"))?;
    // A module left loaded by an earlier run would carry its counters into ours.
    module::unload_settled().map_err(|e| match e {
        CaseError::Fail(s) | CaseError::Skip(s) => {
            format!("cannot unload a loaded complete_dev: {s}")
        }
    })?;
    Ok(kmsg)
}

/// Runs one case with its module set-up and clean-up.
fn run_case(ctx: &Ctx, case: &Case, ktap: &mut Ktap<std::io::Stdout>) -> Outcome {
    if let Err(e) = ctx.kmsg().mark() {
        return Outcome::Fail(format!("lseek(/dev/kmsg, SEEK_END): {e}"));
    }
    let mut res = match case.params {
        Some(p) => module::load_fresh(&ctx.opts.module, p)
            .map_err(|e| prefix(e, &format!("setup (insmod with \"{p}\")")))
            .and_then(|()| guarded(ctx, case)),
        None => guarded(ctx, case),
    };
    if ctx.opts.verbose {
        let mut k = ctx.kmsg();
        let _ = k.collect();
        for m in k.module_messages() {
            ktap.diag(&format!("kmsg: {m}"));
        }
    }
    if let Err(e) = module::unload_settled() {
        if res.is_ok() {
            res = Err(prefix(e, "cleanup (rmmod)"));
        }
    }
    match res {
        Ok(()) => Outcome::Pass,
        Err(CaseError::Fail(s)) => Outcome::Fail(s),
        Err(CaseError::Skip(s)) => Outcome::Skip(s),
    }
}

/// Runs the case, turning a panic into a failure.
fn guarded(ctx: &Ctx, case: &Case) -> error::CaseResult {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (case.run)(ctx))).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        Err(CaseError::Fail(format!("panicked: {msg}")))
    })
}

fn prefix(e: CaseError, what: &str) -> CaseError {
    match e {
        CaseError::Fail(s) => CaseError::Fail(format!("{what}: {s}")),
        CaseError::Skip(s) => CaseError::Skip(s),
    }
}
