// SPDX-License-Identifier: GPL-2.0
//! The threads of `complete_kthread.ko` as its log names them when it creates them, the order
//! and the speed of the stops at `rmmod`, and what a stop that cuts a sleep short counts.

use std::time::{Duration, Instant};

use super::{
    count_in, expect_in_order, load, module_file, module_lines, no_bad_lines, pids_named,
    prompt_unload, records, unload, unload_settled, wait_line, wait_threads, Unloader, PERIOD_MS,
    PREFIX, VARIANTS, WAITER, WORKER,
};
use crate::cases::Ctx;
use crate::error::{CaseResult, Context};
use crate::kmsg::Record;
use crate::{bail, ensure, ensure_eq};

/// `created ckt_waiter (pid N)`, and in `static` and `dynamic` `created ckt_worker (pid M)`
/// (the `onstack` worker is created by the waiter, which logs no such line), each once, in that
/// order, between `loading:` and `loaded:`; N and M are the only tasks named `ckt_waiter` and
/// `ckt_worker` (`/proc/N/comm`, `/proc/M/comm`).
pub fn kthread_created_pids(ctx: &Ctx) -> CaseResult {
    let ko = module_file(ctx)?;
    let _guard = Unloader;
    unload_settled()?;
    for v in VARIANTS {
        ctx.kmsg().mark().ctx("lseek(/dev/kmsg, SEEK_END)")?;
        load(&ko, &format!("variant={v} period_ms={PERIOD_MS}"))?;
        wait_threads(
            1,
            &format!("{v}: ckt_waiter and ckt_worker in /proc/*/comm"),
        )?;
        let recs = records(ctx)?;
        let lines = module_lines(&recs);
        let mut want = vec![format!("loading: variant={v} period_ms={PERIOD_MS}")];
        let mut threads = vec![WAITER];
        if v != "onstack" {
            threads.push(WORKER);
        }
        for name in &threads {
            let pid = count_in(&lines, &format!("created {name} (pid "), ")")?;
            let comm_path = format!("/proc/{pid}/comm");
            let comm = std::fs::read_to_string(&comm_path)
                .with_ctx(|| format!("{v}: read {comm_path} (the pid of 'created {name}')"))?;
            ensure_eq!(
                comm.trim_end_matches('\n'),
                *name,
                "{v}: {comm_path} of the pid in 'created {name} (pid {pid})'"
            );
            ensure_eq!(
                pids_named(name),
                vec![pid as i32],
                "{v}: the tasks named {name}"
            );
            want.push(format!("created {name} (pid {pid})"));
        }
        if v == "onstack" {
            let made: Vec<&&str> = lines
                .iter()
                .filter(|l| l.starts_with(&format!("created {WORKER}")))
                .collect();
            ensure!(made.is_empty(), "onstack: {made:?}");
        }
        want.push(format!("loaded: variant={v}"));
        expect_in_order(&lines, &want)?;
        prompt_unload(v)?;
    }
    no_bad_lines(&records(ctx)?)
}

/// `rmmod` stops the waiter first, then the worker (`docs/kthread.md`: the order that hangs the
/// C tutorial): after `unloading (V): stopping ckt_waiter` the waiter's `stopping after` line
/// comes before the worker's, and each thread logs it only once it is told to stop, so their
/// order is the order of the stops. In `onstack` the waiter stops its worker itself, after its
/// own line: `ckt_waiter: ckt_worker stopped, Ok(M) completions` follows both.
pub fn kthread_stop_order(ctx: &Ctx) -> CaseResult {
    let ko = module_file(ctx)?;
    let _guard = Unloader;
    unload_settled()?;
    for v in VARIANTS {
        ctx.kmsg().mark().ctx("lseek(/dev/kmsg, SEEK_END)")?;
        load(&ko, &format!("variant={v} period_ms={PERIOD_MS}"))?;
        wait_line(ctx, "ckt_waiter: woken #2")?;
        prompt_unload(v)?;
        let recs = records(ctx)?;
        let lines = module_lines(&recs);
        let wakes = count_in(&lines, "ckt_waiter: stopping after ", " wake-ups")?;
        let completions = count_in(&lines, "ckt_worker: stopping after ", " completions")?;
        let mut want = vec![
            format!("unloading ({v}): stopping ckt_waiter"),
            format!("ckt_waiter: stopping after {wakes} wake-ups"),
            format!("ckt_worker: stopping after {completions} completions"),
        ];
        if v == "onstack" {
            want.push(format!(
                "ckt_waiter: ckt_worker stopped, Ok({completions}) completions"
            ));
            want.push(format!("unloaded: {wakes} wake-ups"));
        } else {
            want.push(format!(
                "unloaded: {wakes} wake-ups, {completions} completions"
            ));
        }
        expect_in_order(&lines, &want)?;
    }
    no_bad_lines(&records(ctx)?)
}

/// A stop that cuts the worker's sleep short adds no completion: with `period_ms=60000`,
/// `rmmod` 0.3 s after the load (both threads asleep) gives, in every variant, no `complete #`
/// and no `woken #` line, `ckt_waiter: stopping after 0 wake-ups`, `ckt_worker: stopping after
/// 0 completions`, and `unloaded: 0 wake-ups, 0 completions` (`onstack`: `ckt_waiter:
/// ckt_worker stopped, Ok(0) completions`, `unloaded: 0 wake-ups`).
pub fn kthread_stop_cuts_sleep(ctx: &Ctx) -> CaseResult {
    let ko = module_file(ctx)?;
    let _guard = Unloader;
    unload_settled()?;
    for v in VARIANTS {
        ctx.kmsg().mark().ctx("lseek(/dev/kmsg, SEEK_END)")?;
        load(&ko, &format!("variant={v} period_ms=60000"))?;
        wait_line(ctx, "ckt_worker: completing every 60000 ms")?;
        wait_line(ctx, &format!("ckt_waiter: waiting on the {v} completion"))?;
        std::thread::sleep(Duration::from_millis(300));
        prompt_unload(&format!("{v}, period_ms=60000"))?;
        let recs = records(ctx)?;
        let lines = module_lines(&recs);
        let extra: Vec<&&str> = lines
            .iter()
            .filter(|l| {
                l.starts_with("ckt_worker: complete #") || l.starts_with("ckt_waiter: woken #")
            })
            .collect();
        ensure!(
            extra.is_empty(),
            "{v}: rmmod during the first 60 s sleep: {extra:?}"
        );
        let mut want = vec![
            format!("unloading ({v}): stopping ckt_waiter"),
            "ckt_waiter: stopping after 0 wake-ups".to_string(),
            "ckt_worker: stopping after 0 completions".to_string(),
        ];
        if v == "onstack" {
            want.push("ckt_waiter: ckt_worker stopped, Ok(0) completions".to_string());
            want.push("unloaded: 0 wake-ups".to_string());
        } else {
            want.push("unloaded: 0 wake-ups, 0 completions".to_string());
        }
        expect_in_order(&lines, &want)?;
    }
    no_bad_lines(&records(ctx)?)
}

/// The longest a stopped thread may take to leave its wait, from `unloading (V): stopping
/// ckt_waiter` to the waiter's `stopping after` line, and from that to the worker's (kernel log
/// timestamps). Measured on the debug kernel under TCG, 15 stops: the waiter 0.3 to 4.7 ms, the
/// worker 0.2 to 13.9 ms; 300 ms leaves 20 times that for the slower sanitizer and KCSAN
/// kernels, and a waiter that waits out its 1 s slice exceeds it at 3 or more of the 5 points
/// of [`STOP_DELAYS_MS`] (about 870, 630, 390 and 910 ms left of the slice).
const STOP_MAX: Duration = Duration::from_millis(300);

/// The waits after the load before each `rmmod` of `kthread_stop_prompt`, in ms: spread over
/// the waiter's 1 s slices.
const STOP_DELAYS_MS: [u64; 5] = [130, 370, 610, 850, 1090];

/// A stopped thread leaves its wait at once, not at the end of the waiter's 1 s slice: with
/// `period_ms=60000` (nothing completes, the waiter waits in 1 s slices), 5 `rmmod`s per
/// variant at 0.13 to 1.09 s after the load (5 points of the slice); each time the waiter logs
/// `stopping after` less than [`STOP_MAX`] (300 ms) after `unloading (V): stopping ckt_waiter`,
/// and the worker (asleep for 60 s) its own less than 300 ms after that; `rmmod` itself
/// returns within 2 s. The figures are printed.
pub fn kthread_stop_prompt(ctx: &Ctx) -> CaseResult {
    let ko = module_file(ctx)?;
    let _guard = Unloader;
    unload_settled()?;
    let mut report = Vec::new();
    for v in VARIANTS {
        let mut waiter = Vec::new();
        let mut worker = Vec::new();
        let mut wall = Vec::new();
        for delay in STOP_DELAYS_MS {
            ctx.kmsg().mark().ctx("lseek(/dev/kmsg, SEEK_END)")?;
            load(&ko, &format!("variant={v} period_ms=60000"))?;
            wait_line(ctx, &format!("ckt_waiter: waiting on the {v} completion"))?;
            std::thread::sleep(Duration::from_millis(delay));
            let t0 = Instant::now();
            unload().with_ctx(|| format!("{v}: rmmod {delay} ms after the load"))?;
            wall.push(t0.elapsed().as_secs_f64() * 1000.0);
            wait_threads(0, &format!("{v}: both threads gone after rmmod"))?;
            let recs = records(ctx)?;
            let told = ts_of(&recs, &format!("unloading ({v}): stopping ckt_waiter"))?;
            let w = ts_of(&recs, "ckt_waiter: stopping after 0 wake-ups")?;
            let k = ts_of(&recs, "ckt_worker: stopping after 0 completions")?;
            waiter.push(ms_between(told, w));
            worker.push(ms_between(w, k));
        }
        report.push(format!(
            "{v}: waiter {} ms, worker {} ms, rmmod {} ms",
            figures(&waiter),
            figures(&worker),
            figures(&wall)
        ));
        let max = STOP_MAX.as_secs_f64() * 1000.0;
        ensure!(
            waiter.iter().chain(&worker).all(|&t| t < max)
                && wall
                    .iter()
                    .all(|&t| t < super::RMMOD_MAX.as_secs_f64() * 1000.0),
            "{v}: a stop took too long (limits {STOP_MAX:?} per thread, {:?} for rmmod): \
             from 'stopping ckt_waiter' to the waiter's line {waiter:?} ms, to the worker's \
             {worker:?} ms, rmmod {wall:?} ms, at {STOP_DELAYS_MS:?} ms after the load",
            super::RMMOD_MAX
        );
    }
    println!("# kthread_stop_prompt: {}", report.join("; "));
    no_bad_lines(&records(ctx)?)
}

/// The timestamp (µs) of the one record `PREFIX` + `line`.
fn ts_of(recs: &[Record], line: &str) -> CaseResult<u64> {
    let found: Vec<u64> = recs
        .iter()
        .filter(|r| r.msg.strip_prefix(PREFIX) == Some(line))
        .map(|r| r.ts_us)
        .collect();
    match found[..] {
        [t] => Ok(t),
        _ => bail!("{} records '{line}', expected 1", found.len()),
    }
}

/// Milliseconds from `a` to `b` (µs timestamps).
fn ms_between(a: u64, b: u64) -> f64 {
    (b as f64 - a as f64) / 1000.0
}

/// `min-max` of `v`, to 0.1 ms.
fn figures(v: &[f64]) -> String {
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{min:.1}-{max:.1}")
}
