// SPDX-License-Identifier: GPL-2.0
//! The `model_concurrent` case: several tasks act on `/dev/complete` at the same time, and the
//! history of what they did must be linearizable against the driver's specification
//! ([`super::linearizability`]).
//!
//! A run, drawn from its seed: the module loaded with the run's `wait_mode`, `timeout_ms` and
//! `pending_max`; seven forked processes: three *sleepers* that each make one blocking read and
//! get a signal once asleep, two plain sleepers (the second reads only after the first was
//! seen asleep, so FIFO order is observable, and once the second is seen asleep the controller
//! writes once: the oldest sleeper must be the one to return), and two *workers* (4 to 7 operations each, mostly
//! after a pause: blocking and `RWF_NOWAIT` reads, writes, `COMPLETE_ALL`, `REINIT`, `STATUS`).
//! They all start at once; each records every operation's invocation and response time
//! (`CLOCK_MONOTONIC`) and result in shared memory. The parent is the controller: it watches
//! every blocking read and records, as an operation of its own, when it saw the task asleep in
//! it (`/proc/<pid>/stat` in the state of the wait mode: S, or D; another state fails the run);
//! once a sleeper is seen asleep it sends that sleeper's signal (`SIGKILL`, `SIGINT` to a
//! handler with or without `SA_RESTART`, `SIGSTOP` then `SIGCONT`), recorded too, and looks
//! at it once more a little later. When the workers are done, every task that a signal or a
//! timeout must end has to end by itself, with no completion; then the controller ends the
//! reads still blocked with recorded writes, one at a time and one per blocked reader while
//! reads keep returning. A run in which nothing returns or ends for [`WAIT`] fails, naming
//! every task left with its pid, operation, state and wchan: nothing releases a hung read
//! unrecorded. A final `STATUS` must match the totals of the explanation found.
//!
//! Run `i` of a case uses seed `S + i`; the seed picks the configuration (18 combinations of
//! wait mode, timeout none, 200 ms or the maximum, and `pending_max` default or 1 to 3, in turn)
//! and every task's operations, not the interleaving. A failing run is shrunk (tasks, signals
//! and steps dropped while it still fails within three tries) and printed with its history;
//! `complete_dev model_concurrent --seed S --model-runs 1` runs its seed again.
//!
//! Here: the runs of a case and the shrinking of a failing one; [`schedule`] draws a run from
//! its seed, [`task`] is what each forked task does, [`controller`] drives a run and checks it.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::cases::Ctx;
use crate::error::{CaseError, CaseResult};
use crate::kconfig::{Hz, KernelConfig};
use crate::sys;

mod controller;
mod schedule;
mod task;

use controller::{run, Verdict};
use schedule::{ops, Schedule};

/// `timeout_ms` of the runs with a short timeout: reads time out within a run.
const SHORT_MS: u32 = 200;
/// `timeout_ms` of the runs with a long one: a timed wait that never expires within a run.
const LONG_MS: u32 = 3_600_000;
/// Operation slots per task.
const MAX_OPS: usize = 16;
/// Tasks per run.
const MAX_TASKS: usize = 8;
/// How long the controller waits for a stopped sleeper to show state T.
const STOP_WAIT: Duration = Duration::from_secs(2);
/// The longest the workers' part of a run may take before the controller moves on.
const MAIN_CAP: Duration = Duration::from_secs(5);
/// How long after its signal a sleeper is looked at again, in ns.
const REOBSERVE_NS: u64 = 5_000_000;
/// The least time between two writes that end blocked reads.
const DRAIN_GAP: Duration = Duration::from_millis(20);
/// How long such a write waits for a read to return before the next one.
const DRAIN_PATIENCE: Duration = Duration::from_millis(200);
/// A read seen this many times in the state of another wait mode ...
const WRONG_STATE_LOOKS: u32 = 5;
/// ... over at least this many ns is asleep in the wrong mode.
const WRONG_STATE_NS: u64 = 20_000_000;
/// Tries of a shrink candidate before it counts as passing.
const SHRINK_TRIES: usize = 3;

/// `timeout_ms` in jiffies, if the kernel's HZ is known (`/boot/config-<release>`).
fn timeout_jiffies(timeout_ms: u32) -> Option<u64> {
    static HZ: OnceLock<Option<Hz>> = OnceLock::new();
    let hz = *HZ.get_or_init(|| KernelConfig::running().ok()?.hz().ok());
    hz.map(|hz| hz.msecs_to_jiffies(timeout_ms))
}

/// The kernel's `jiffies` ([`sys::jiffies`]), 0 if it cannot be read.
fn jiffies() -> u64 {
    sys::jiffies().unwrap_or(0)
}

/// `CLOCK_MONOTONIC` in nanoseconds (the same clock in every process).
fn now() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The schedules one step smaller than `s`: a task, a signal or a step less.
fn smaller(s: &Schedule) -> Vec<Schedule> {
    let mut out = Vec::new();
    for t in 0..s.tasks.len() {
        if s.tasks.len() > 1 {
            let mut c = s.clone();
            c.tasks.remove(t);
            out.push(c);
        }
    }
    for t in 0..s.tasks.len() {
        if s.tasks[t].signal.is_some() || s.tasks[t].probe {
            let mut c = s.clone();
            c.tasks[t].signal = None;
            c.tasks[t].probe = false;
            out.push(c);
        }
        for k in 0..s.tasks[t].steps.len() {
            if s.tasks[t].steps.len() > 1 {
                let mut c = s.clone();
                c.tasks[t].steps.remove(k);
                out.push(c);
            }
        }
    }
    out
}

/// Shrinks a failing schedule: the smallest one found that still fails, with its failure.
fn shrink(ctx: &Ctx, mut cur: Schedule, mut why: String) -> CaseResult<(Schedule, String, usize)> {
    let end = Instant::now() + Duration::from_secs(ctx.opts.model_shrink_secs.into());
    let mut tried = 0;
    'outer: loop {
        for cand in smaller(&cur) {
            for _ in 0..SHRINK_TRIES {
                if Instant::now() > end {
                    break 'outer;
                }
                tried += 1;
                if let Verdict::Fail(w) = run(ctx, &cand)? {
                    cur = cand;
                    why = w;
                    continue 'outer;
                }
            }
        }
        break;
    }
    Ok((cur, why, tried))
}

/// Coverage of the runs, per wait mode and timeout.
#[derive(Default)]
struct Cover {
    runs: u32,
    ops: usize,
    tags: BTreeMap<String, u32>,
}

/// `--model-runs` runs, seed `S + i` for run `i`.
pub fn model_concurrent(ctx: &Ctx) -> CaseResult {
    let o = &ctx.opts;
    let base = super::seed(o.seed);
    println!(
        "# model_concurrent: seed {base}, {} runs of 7 tasks at once",
        o.model_runs
    );
    let start = Instant::now();
    let mut cover: BTreeMap<String, Cover> = BTreeMap::new();
    let mut max_states = 0;
    for i in 0..u64::from(o.model_runs) {
        let s = base.wrapping_add(i);
        let sched = Schedule::from_seed(s);
        let verdict = run(ctx, &sched).map_err(|e| match e {
            CaseError::Fail(m) => CaseError::Fail(format!("model_concurrent: seed {s}: {m}")),
            skip => skip,
        })?;
        match verdict {
            Verdict::Pass(tags, states) => {
                max_states = max_states.max(states);
                let key = format!(
                    "{} timeout_ms={}",
                    sched.cfg.mode.name(),
                    sched.cfg.timeout_ms
                );
                let c = cover.entry(key).or_default();
                c.runs += 1;
                c.ops += sched.tasks.iter().map(|p| ops(p).len()).sum::<usize>();
                for t in tags {
                    *c.tags.entry(format!("{t:?}")).or_default() += 1;
                }
            }
            Verdict::Fail(why) => {
                println!("# model_concurrent: seed {s} failed; shrinking");
                let (small, why, tried) = shrink(ctx, sched.clone(), why)?;
                crate::bail!(
                    "model_concurrent: seed {s} (run {i} of base seed {base}) failed: {}\n\
                     shrunk ({tried} candidate runs) to:\n{}\n{why}\n\
                     replay: complete_dev model_concurrent --seed {s} --model-runs 1",
                    sched.describe(),
                    small.describe()
                );
            }
        }
    }
    for (k, c) in &cover {
        let tags: Vec<String> = c.tags.iter().map(|(t, n)| format!("{t} {n}")).collect();
        println!(
            "# model_concurrent: {k}: {} runs, {} task operations; {}",
            c.runs,
            c.ops,
            tags.join(", ")
        );
    }
    let timeouts = match (timeout_jiffies(1000), sys::jiffies()) {
        (Some(hz), Ok(_)) => format!("timeouts in jiffies (HZ={hz})"),
        _ => "timeouts in time (no HZ or no jiffies)".to_string(),
    };
    println!(
        "# model_concurrent: {} runs in {:.1} s, largest search {max_states} states, {timeouts}",
        o.model_runs,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::schedule::config;
    use super::*;
    use crate::cases::model::linearizability::Sig;

    #[test]
    fn configurations_cycle() {
        let mut seen = std::collections::BTreeSet::new();
        for s in 1000..1018 {
            let c = config(s);
            seen.insert((c.mode.name(), c.timeout_ms, c.pending_max.is_some()));
        }
        assert_eq!(seen.len(), 18);
        assert!(seen.contains(&("killable", SHORT_MS, false)));
        assert!(seen.contains(&("killable", LONG_MS, true)));
    }

    #[test]
    fn schedules_are_replayable_and_fit() {
        for s in 0..200 {
            let a = Schedule::from_seed(s);
            assert_eq!(a, Schedule::from_seed(s));
            assert!(a.tasks.len() <= MAX_TASKS);
            assert!(a.tasks.iter().all(|p| ops(p).len() <= MAX_OPS));
            assert!(a.tasks.iter().any(|p| p.signal == Some(Sig::Kill)));
        }
        let s = Schedule::from_seed(7);
        assert!(smaller(&s).iter().all(|c| c != &s));
    }
}
