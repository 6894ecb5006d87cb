// SPDX-License-Identifier: GPL-2.0
//! `complete_kthread.ko`: two kernel threads signalling through a completion, in each of its
//! three variants (`static`, `dynamic`, `onstack`).
//!
//! These cases load and unload `complete_kthread` themselves (their table rows have no params),
//! from the directory of `--module` (`/modules/complete_kthread.ko` by default), and always
//! leave it unloaded. They skip if that file does not exist.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{Ctx, WAIT};
use crate::error::{CaseError, CaseResult, Context};
use crate::fail_nth;
use crate::kmsg::{self, Record};
use crate::module;
use crate::sys::{self, Errno};
use crate::{bail, ensure, ensure_eq};

mod faults;
mod params;
mod stops;

pub use faults::kthread_onstack_create_fails;
pub use params::{kthread_param_defaults, kthread_param_edges, kthread_period_write};
pub use stops::{
    kthread_created_pids, kthread_stop_cuts_sleep, kthread_stop_order, kthread_stop_prompt,
};

/// The module's name.
const NAME: &str = "complete_kthread";

/// The prefix `pr_info!` gives every line of the module.
const PREFIX: &str = "complete_kthread: ";

/// The thread names (`/proc/<pid>/comm`).
const WAITER: &str = "ckt_waiter";
const WORKER: &str = "ckt_worker";

/// The variants `variant=` accepts.
const VARIANTS: [&str; 3] = ["static", "dynamic", "onstack"];

/// The longest `rmmod` may take, whatever the threads are doing.
const RMMOD_MAX: Duration = Duration::from_secs(2);

/// The worker period of the log-sequence cases, in ms.
const PERIOD_MS: u32 = 50;

/// Wake-ups (and completions) the log-sequence cases wait for.
const WAKES: u32 = 3;

/// Load/unload cycles per variant of `kthread_repeat`.
const CYCLES: usize = 10;

/// `variant=static`: both threads, the log sequence, `rmmod` within 2 s, a clean log.
pub fn kthread_static(ctx: &Ctx) -> CaseResult {
    one_variant(ctx, "static")
}

/// `variant=dynamic`: as [`kthread_static`], with the completion in an allocation.
pub fn kthread_dynamic(ctx: &Ctx) -> CaseResult {
    one_variant(ctx, "dynamic")
}

/// `variant=onstack`: as [`kthread_static`], with the completion on the waiter's stack.
pub fn kthread_onstack(ctx: &Ctx) -> CaseResult {
    one_variant(ctx, "onstack")
}

/// Every variant, 10 cycles each of load, (alternately no wait or a short one), unload within
/// 2 s; then once each with a 60 s period, so that `rmmod` meets both threads asleep.
pub fn kthread_repeat(ctx: &Ctx) -> CaseResult {
    let ko = module_file(ctx)?;
    let _guard = Unloader;
    unload_settled()?;
    for v in VARIANTS {
        for i in 0..CYCLES {
            let params = format!("variant={v} period_ms={}", 1 + i % 3);
            load(&ko, &params)?;
            if i % 2 == 1 {
                std::thread::sleep(Duration::from_millis(100));
            }
            prompt_unload(&format!("{v} cycle {i}"))?;
        }
        load(&ko, &format!("variant={v} period_ms=60000"))?;
        wait_threads(1, &format!("{v} long period: both threads"))?;
        prompt_unload(&format!("{v} long period"))?;
    }
    no_bad_lines(&records(ctx)?)
}

/// `period_ms=0` is taken as 1 ms: the worker sleeps at least until the next tick between two
/// completions (`msleep_interruptible(1)`), so it completes at most once per jiffy, neither
/// spinning nor flooding the log (`msleep_interruptible(0)` would not sleep at all).
pub fn kthread_period_zero(ctx: &Ctx) -> CaseResult {
    let ko = module_file(ctx)?;
    let _guard = Unloader;
    unload_settled()?;
    let j0 = sys::jiffies().map_err(CaseError::Skip)?;
    load(&ko, "variant=static period_ms=0")?;
    wait_threads(1, "ckt_waiter and ckt_worker in /proc/*/comm")?;
    wait_line(ctx, &format!("ckt_waiter: woken #{WAKES}"))?;
    std::thread::sleep(Duration::from_millis(200));
    prompt_unload("period_ms=0")?;
    let j1 = sys::jiffies().map_err(CaseError::Fail)?;
    let recs = records(ctx)?;
    let lines = module_lines(&recs);
    let (_, completions) = stopped_counts(&lines)?;
    let ticks = j1 - j0;
    ensure!(
        (u64::from(WAKES)..=ticks + 1).contains(&u64::from(completions)),
        "period_ms=0: {completions} completions in {ticks} jiffies, expected {WAKES} to {}",
        ticks + 1
    );
    println!("# kthread_period_zero: {completions} completions in {ticks} jiffies");
    no_bad_lines(&recs)
}

/// Completions the waiter has not taken when it is stopped are the worker's alone: the
/// `unloaded:` line reports the waiter's wake-ups and the worker's completions, each as its
/// thread returned it. The waiter is starved (moved to CPU 1 as `SCHED_FIFO` 1, under a
/// `SCHED_FIFO` 2 busy loop; the worker stays on CPU 0) until the worker is `PENDING` completions
/// ahead; `rmmod` then stops the waiter, which takes at most one more before it sees the stop.
/// Skips on a single CPU.
pub fn kthread_unload_pending(ctx: &Ctx) -> CaseResult {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return Err(CaseError::Skip(
            "a single CPU: the waiter cannot be starved alone".into(),
        ));
    }
    super::on_cpu(0, || unload_pending(ctx))
}

/// How many completions ahead of the waiter's wake-ups the worker must be before `rmmod`.
const PENDING: u32 = 3;

fn unload_pending(ctx: &Ctx) -> CaseResult {
    let ko = module_file(ctx)?;
    let _guard = Unloader;
    unload_settled()?;
    load(&ko, &format!("variant=static period_ms={PERIOD_MS}"))?;
    wait_threads(1, "ckt_waiter and ckt_worker in /proc/*/comm")?;
    let (waiter, worker) = (pids_named(WAITER)[0], pids_named(WORKER)[0]);
    sys::pin_task_to_cpu(worker, 0).with_ctx(|| format!("pin {WORKER} ({worker}) to CPU 0"))?;
    sys::pin_task_to_cpu(waiter, 1).with_ctx(|| format!("pin {WAITER} ({waiter}) to CPU 1"))?;
    sys::set_task_fifo(waiter, 1).with_ctx(|| format!("make {WAITER} ({waiter}) SCHED_FIFO 1"))?;
    let hog = sys::fork_child("ct-hog", || {
        if sys::pin_to_cpu(1).is_err() || sys::set_fifo(2).is_err() {
            return 4;
        }
        loop {
            std::hint::spin_loop();
        }
    })
    .ctx("fork the busy loop")?;
    let hog = Hog(hog);
    // The last `complete #k` and `woken #j` numbers of the log.
    let last = |recs: &[Record], prefix: &str| {
        module_lines(recs)
            .iter()
            .filter_map(|l| l.strip_prefix(prefix)?.parse::<u32>().ok())
            .max()
            .unwrap_or(0)
    };
    sys::poll_until(
        WAIT,
        &format!("the worker {PENDING} completions ahead of the starved waiter"),
        || {
            let recs = records(ctx)?;
            let (k, j) = (
                last(&recs, "ckt_worker: complete #"),
                last(&recs, "ckt_waiter: woken #"),
            );
            Ok(if k >= j + PENDING {
                Ok(())
            } else {
                Err(format!("complete #{k}, woken #{j}"))
            })
        },
    )?;
    let woken = last(&records(ctx)?, "ckt_waiter: woken #");
    // rmmod stops the waiter first and waits for it: it can run only once the loop is gone.
    let rmmod = std::thread::spawn(|| prompt_unload("the starved waiter"));
    let told = wait_line(ctx, "unloading (static): stopping ckt_waiter");
    drop(hog);
    rmmod
        .join()
        .map_err(|_| CaseError::Fail("the rmmod thread panicked".into()))??;
    told?;
    let recs = records(ctx)?;
    let lines = module_lines(&recs);
    let (wakes, completions) = stopped_counts(&lines)?;
    ensure!(
        wakes <= woken + 1 && completions >= woken + PENDING,
        "starved at woken #{woken}: the waiter returned {wakes} wake-ups (expected at most {}), \
         the worker {completions} completions (expected at least {})",
        woken + 1,
        woken + PENDING
    );
    expect_in_order(
        &lines,
        &[format!(
            "unloaded: {wakes} wake-ups, {completions} completions"
        )],
    )?;
    println!("# kthread_unload_pending: {wakes} wake-ups, {completions} completions");
    no_bad_lines(&recs)
}

/// The busy loop of [`kthread_unload_pending`]: killed and reaped when dropped.
struct Hog(i32);

impl Drop for Hog {
    fn drop(&mut self) {
        let _ = sys::kill(self.0, libc::SIGKILL);
        let _ = sys::wait_exit(self.0, WAIT);
    }
}

/// A failed thread creation makes insmod fail with ENOMEM, stops the thread created already and
/// leaves no module and no `ckt_` thread behind, in every variant.
///
/// fail-nth ([`fail_nth`]) fails each allocation of `insmod complete_kthread.ko` in turn, after
/// the module loader's own: the failed call must be ENOMEM, with nothing left loaded or running.
/// The log tells which creation failed: `ckt_waiter not created` (in every variant), and in
/// `static` and `dynamic` `ckt_worker not created ...: stopping ckt_waiter`, then `ckt_waiter
/// stopped ...`; both kinds must have been seen. The `onstack` worker is created by the waiter
/// thread, whose allocations the fail-nth of insmod's task does not reach: that creation is
/// failed by `kthread_onstack_create_fails` (the case says so). Skips on a kernel without fault
/// injection.
pub fn kthread_create_fails(ctx: &Ctx) -> CaseResult {
    let ko = module_file(ctx)?;
    fail_nth::setup()?;
    let _guard = Unloader;
    unload_settled()?;
    let mut seen = Vec::new();
    for v in VARIANTS {
        ctx.kmsg().mark().ctx("lseek(/dev/kmsg, SEEK_END)")?;
        let params = format!("variant={v} period_ms={PERIOD_MS}");
        let first = fail_nth::sites_before_params(&ko, "variant=refused")? + 1;
        let mut failed = 0;
        let sites = fail_nth::each_site(
            &format!("insmod {NAME} {params}"),
            first,
            || module::load_image(&ko, &params),
            |n, r| {
                fail_nth::expect_enomem(&r)?;
                if r.is_ok() {
                    // An allocation whose failure the kernel absorbed: start again.
                    return unload_settled();
                }
                failed += 1;
                ensure!(!is_loaded(), "module loaded after a failed insmod");
                wait_threads(
                    0,
                    &format!("no ckt_ thread left after the fault at site {n}"),
                )
            },
        )?;
        // The last call reached no armed site: it loaded the module.
        unload_settled()?;
        let recs = records(ctx)?;
        let lines = module_lines(&recs);
        let count = |want: &str| lines.iter().filter(|l| **l == want).count();
        // What a failure message shows: the lines about creations and stops.
        let told: Vec<&&str> = lines
            .iter()
            .filter(|l| l.contains(" not created ") || l.contains(" stopped "))
            .collect();
        let waiter = count("ckt_waiter not created (error -12)");
        let worker = count("ckt_worker not created (error -12): stopping ckt_waiter");
        ensure!(
            waiter >= 1,
            "{v}: {failed} failed insmods of {sites} faults, none failed the creation of \
             ckt_waiter ({told:?})"
        );
        if v != "onstack" {
            ensure!(
                worker >= 1,
                "{v}: {failed} failed insmods of {sites} faults, none failed the creation of \
                 ckt_worker ({told:?})"
            );
        }
        // init's error path stops the waiter it made before the worker failed; the waiter may
        // or may not have started running by then.
        let stopped: Vec<&&str> = lines
            .iter()
            .filter(|l| l.starts_with("ckt_waiter stopped "))
            .collect();
        ensure_eq!(
            stopped.len(),
            worker,
            "{v}: 'ckt_waiter stopped' lines after {worker} failed worker creations ({told:?})"
        );
        for l in stopped {
            ensure!(
                *l == "ckt_waiter stopped after 0 wake-ups"
                    || *l == "ckt_waiter stopped before it ran (EINTR)",
                "{v}: unexpected line '{l}'"
            );
        }
        no_bad_lines(&recs)?;
        seen.push(format!(
            "{v}: {sites} faults, {failed} failed insmods, ckt_waiter {waiter}, ckt_worker {worker}"
        ));
    }
    println!(
        "# kthread_create_fails: creations failed: {}; the onstack worker (created by \
         ckt_waiter, out of insmod's fail-nth) is kthread_onstack_create_fails's",
        seen.join("; ")
    );
    Ok(())
}

/// Loads `variant`, checks the threads and the log, unloads within 2 s, checks again.
fn one_variant(ctx: &Ctx, variant: &str) -> CaseResult {
    let ko = module_file(ctx)?;
    let _guard = Unloader;
    unload_settled()?;
    load(&ko, &format!("variant={variant} period_ms={PERIOD_MS}"))?;

    // Both threads exist, once each, under their names.
    wait_threads(1, "ckt_waiter and ckt_worker in /proc/*/comm")?;
    let shown = std::fs::read_to_string(format!("/sys/module/{NAME}/parameters/variant"))
        .ctx("read the variant parameter")?;
    ensure_eq!(
        shown.trim(),
        variant,
        "/sys/module/{NAME}/parameters/variant"
    );

    // The worker completes, the waiter wakes: the log shows the pairs in order.
    wait_line(ctx, &format!("ckt_waiter: woken #{WAKES}"))?;
    let recs = records(ctx)?;
    let lines = module_lines(&recs);
    let mut want = vec![
        format!("loading: variant={variant} period_ms={PERIOD_MS}"),
        format!("loaded: variant={variant}"),
    ];
    expect_in_order(&lines, &want)?;
    for start in [
        format!("ckt_waiter: waiting on the {variant} completion"),
        format!("ckt_worker: completing every {PERIOD_MS} ms"),
    ] {
        ensure!(
            lines.contains(&start.as_str()),
            "no '{start}' line in {lines:?}"
        );
    }
    want.clear();
    for k in 1..=WAKES {
        want.push(format!("ckt_worker: complete #{k}"));
        want.push(format!("ckt_waiter: woken #{k}"));
    }
    // Each wake-up needs one more completion than the one before, so `complete #k` is logged
    // before `woken #k`; the worker may run ahead, hence only the pairwise order is checked.
    for pair in want.chunks(2) {
        expect_in_order(&lines, pair)?;
    }

    // rmmod is prompt, stops both threads, and reports what they returned.
    prompt_unload(variant)?;
    let recs = records(ctx)?;
    let lines = module_lines(&recs);
    let tail = [
        format!("unloading ({variant}): stopping ckt_waiter"),
        "ckt_waiter: stopping after ".to_string(),
        "unloaded: ".to_string(),
    ];
    expect_prefixes_in_order(&lines, &tail)?;
    let (wakes, completions) = stopped_counts(&lines)?;
    ensure!(
        wakes >= WAKES,
        "the waiter reports {wakes} wake-ups, expected >= {WAKES}"
    );
    // What each thread returned, as it said when it stopped: the waiter its wake-ups, the worker
    // its completions (reported by the waiter that stopped it, in `onstack`).
    let mut want = vec![format!(
        "unloaded: {wakes} wake-ups, {completions} completions"
    )];
    if variant == "onstack" {
        want = vec![
            format!("ckt_waiter: ckt_worker stopped, Ok({completions}) completions"),
            format!("unloaded: {wakes} wake-ups"),
        ];
    }
    expect_in_order(&lines, &want)?;
    no_bad_lines(&recs)
}

/// The module file: `complete_kthread.ko` next to `--module`; skips the case if it is missing.
fn module_file(ctx: &Ctx) -> CaseResult<PathBuf> {
    let ko = ctx.opts.module.with_file_name(format!("{NAME}.ko"));
    if !ko.is_file() {
        return Err(CaseError::Skip(format!(
            "no module file at {}",
            ko.display()
        )));
    }
    Ok(ko)
}

/// Unloads `complete_kthread` when dropped, whatever the case did.
struct Unloader;

impl Drop for Unloader {
    fn drop(&mut self) {
        let _ = unload_settled();
    }
}

/// Whether the module is loaded.
fn is_loaded() -> bool {
    module::is_loaded_named(NAME)
}

/// Loads the module with `params`.
fn load(ko: &std::path::Path, params: &str) -> CaseResult {
    module::load(ko, params).with_ctx(|| format!("finit_module({}, \"{params}\")", ko.display()))
}

/// `delete_module("complete_kthread", O_NONBLOCK)`, as `rmmod` does.
fn unload() -> Result<(), Errno> {
    module::unload_named(NAME)
}

/// Unloads within [`RMMOD_MAX`], then waits until both threads are gone; `what` names the step.
fn prompt_unload(what: &str) -> CaseResult {
    let t0 = Instant::now();
    unload().with_ctx(|| format!("{what}: rmmod"))?;
    let took = t0.elapsed();
    ensure!(
        took < RMMOD_MAX,
        "{what}: rmmod took {took:?} (limit {RMMOD_MAX:?})"
    );
    wait_threads(0, &format!("{what}: both threads gone after rmmod"))
}

/// Waits until the module has logged `line`.
fn wait_line(ctx: &Ctx, line: &str) -> CaseResult {
    sys::poll_until(WAIT, &format!("'{line}' in the kernel log"), || {
        let recs = records(ctx)?;
        let lines = module_lines(&recs);
        Ok(if lines.contains(&line) {
            Ok(())
        } else {
            Err(format!("module lines: {lines:?}"))
        })
    })
}

/// Unloads the module if it is loaded (a module still initialising may refuse for a moment).
fn unload_settled() -> CaseResult {
    module::unload_settled_named(NAME)
}

/// The pids of the tasks whose `comm` is `name`.
fn pids_named(name: &str) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let e = e.ok()?;
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
        (comm.trim_end_matches('\n') == name).then_some(pid)
    })
    .collect()
}

/// Waits until exactly `n` tasks are named `ckt_waiter` and `n` named `ckt_worker`.
fn wait_threads(n: usize, what: &str) -> CaseResult {
    sys::poll_until(WAIT, what, || {
        let (w, k) = (pids_named(WAITER), pids_named(WORKER));
        Ok(if w.len() == n && k.len() == n {
            Ok(())
        } else {
            Err(format!("{WAITER}: {w:?}, {WORKER}: {k:?}"))
        })
    })
}

/// The kernel log records of the case so far.
fn records(ctx: &Ctx) -> CaseResult<Vec<Record>> {
    Ok(ctx.kmsg_now()?.records.clone())
}

/// The module's lines, without the prefix.
fn module_lines(recs: &[Record]) -> Vec<&str> {
    recs.iter()
        .filter_map(|r| r.msg.strip_prefix(PREFIX))
        .collect()
}

/// Fails unless every line of `want` is in `lines`, in that order.
fn expect_in_order(lines: &[&str], want: &[String]) -> CaseResult {
    let mut at = 0;
    for w in want {
        match lines[at..].iter().position(|l| l == w) {
            Some(i) => at += i + 1,
            None => bail!("no '{w}' line (in this order: {want:?}) in {lines:?}"),
        }
    }
    Ok(())
}

/// What the threads returned, as they logged it when they stopped: (wake-ups, completions).
fn stopped_counts(lines: &[&str]) -> CaseResult<(u32, u32)> {
    Ok((
        count_in(lines, "ckt_waiter: stopping after ", " wake-ups")?,
        count_in(lines, "ckt_worker: stopping after ", " completions")?,
    ))
}

/// The number `N` of the one line `<prefix>N<suffix>` of `lines`.
fn count_in(lines: &[&str], prefix: &str, suffix: &str) -> CaseResult<u32> {
    let found: Vec<u32> = lines
        .iter()
        .filter_map(|l| l.strip_prefix(prefix)?.strip_suffix(suffix)?.parse().ok())
        .collect();
    match found[..] {
        [n] => Ok(n),
        _ => bail!(
            "{} lines '{prefix}<N>{suffix}' in {lines:?}, expected 1",
            found.len()
        ),
    }
}

/// Fails unless lines starting with each of `want` are in `lines`, in that order.
fn expect_prefixes_in_order(lines: &[&str], want: &[String]) -> CaseResult {
    let mut at = 0;
    for w in want {
        match lines[at..].iter().position(|l| l.starts_with(w.as_str())) {
            Some(i) => at += i + 1,
            None => bail!("no line starting with '{w}' (in this order: {want:?}) in {lines:?}"),
        }
    }
    Ok(())
}

/// Fails if any record reports a kernel bug, hung task or lockdep splat.
fn no_bad_lines(recs: &[Record]) -> CaseResult {
    let hits: Vec<&str> = kmsg::bad_records(recs)
        .into_iter()
        .map(|r| r.msg.as_str())
        .collect();
    ensure!(hits.is_empty(), "bad kernel log lines: {hits:?}");
    Ok(())
}
