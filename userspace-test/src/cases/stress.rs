// SPDX-License-Identifier: GPL-2.0
//! Many at once: reader threads against writer threads (every write is consumed by exactly one
//! read), writer threads at the `pending_max` edge, and the soak (`stress/soak.rs`: random operations from many threads, then the
//! conservation laws).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use super::{expect_errno, expect_ok, zero, Ctx};
use crate::error::{CaseResult, Context};
use crate::kmsg::Event;
use crate::sys::{self, Dev};
use crate::uapi::CompleteStatus;
use crate::{bail, ensure, ensure_eq};

mod soak;

pub use soak::soak;

/// How long the whole exchange may take before the case gives up.
const DEADLINE: Duration = Duration::from_secs(120);

/// `n` split into `parts` shares as even as possible.
fn share(n: usize, parts: usize, i: usize) -> usize {
    n / parts + usize::from(i < n % parts)
}

/// `--readers` threads read and `--writers` threads write, `--writes` in all; each reader makes its
/// share of reads. Reads completed must equal writes, and STATUS must balance exactly.
pub fn threads(ctx: &Ctx) -> CaseResult {
    let (readers, writers, writes) = (ctx.opts.readers, ctx.opts.writers, ctx.opts.writes);
    let reads_done = AtomicU64::new(0);
    let writes_done = AtomicU64::new(0);
    let abort = AtomicBool::new(false);
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let note = |e: String| {
        if let Ok(mut v) = errors.lock() {
            v.push(e);
        }
    };
    let ctl = ctx.open()?;
    let start = Instant::now();
    let mut timed_out = false;

    std::thread::scope(|s| {
        for r in 0..readers {
            let (reads_done, abort, note) = (&reads_done, &abort, &note);
            s.spawn(move || {
                let dev = match Dev::open(false) {
                    Ok(d) => d,
                    Err(e) => return note(format!("reader thread {r}: open: {e}")),
                };
                for i in 0..share(writes, readers, r) {
                    if abort.load(Ordering::SeqCst) {
                        return;
                    }
                    match dev.read(1) {
                        Ok(0) => {
                            reads_done.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(n) => return note(format!("reader thread {r}: read #{i} returned {n}")),
                        Err(e) => return note(format!("reader thread {r}: read #{i}: {e}")),
                    }
                }
            });
        }
        for w in 0..writers {
            let (writes_done, note) = (&writes_done, &note);
            s.spawn(move || {
                let dev = match Dev::open(false) {
                    Ok(d) => d,
                    Err(e) => return note(format!("writer thread {w}: open: {e}")),
                };
                for i in 0..share(writes, writers, w) {
                    match dev.write(b"s") {
                        Ok(1) => {
                            writes_done.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(n) => {
                            return note(format!("writer thread {w}: write #{i} returned {n}"))
                        }
                        Err(e) => return note(format!("writer thread {w}: write #{i}: {e}")),
                    }
                }
            });
        }
        // Watchdog: on a hang, release every reader so the threads can be joined.
        while reads_done.load(Ordering::SeqCst) < writes as u64 {
            let failed = errors.lock().map(|v| !v.is_empty()).unwrap_or(true);
            if failed || start.elapsed() > DEADLINE {
                timed_out = !failed;
                abort.store(true, Ordering::SeqCst);
                let _ = ctl.ioctl(sys::IOC_COMPLETE_ALL, 0);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });

    let took = start.elapsed();
    let errors = errors.into_inner().unwrap_or_default();
    if let Some(first) = errors.first() {
        bail!("{} thread error(s), first: {first}", errors.len());
    }
    let (r, w) = (
        reads_done.load(Ordering::SeqCst),
        writes_done.load(Ordering::SeqCst),
    );
    ensure!(
        !timed_out,
        "not done after {DEADLINE:?}: {r} reads and {w} writes of {writes}; STATUS {:?}",
        sys::Dev::status(&ctl)
    );
    ensure!(
        r == writes as u64 && w == writes as u64,
        "reads completed {r}, writes {w}, expected {writes} each"
    );
    let n = writes as u64;
    let want = CompleteStatus {
        reads_woken: n,
        completes: n,
        ..zero()
    };
    ctx.expect_status(&ctl, want, &format!("after {n} writes in {took:?}"))
}

/// `pending_max` of [`writers_pending_max`].
const EDGE_PENDING_MAX: u64 = 4;
/// Writer threads of [`writers_pending_max`].
const EDGE_WRITERS: usize = 8;
/// Rounds of [`writers_pending_max`].
const EDGE_ROUNDS: usize = 200;

/// Concurrent writers at the `pending_max` edge, no readers: each round starts with
/// `pending_max - 1` pending and releases [`EDGE_WRITERS`] threads at once (a barrier), one write
/// each. The check and the `complete()` are two steps, so several may pass: after the round
/// `pending` must be `pending_max - 1` plus the writes accepted, at most `pending_max - 1 + N`;
/// every refused write fails with `EOVERFLOW` and logs `refused a write: too many pending
/// completions`; a write after the round is refused; `completes` counts exactly the accepted
/// writes. `REINIT` between rounds. The largest `pending` seen is printed.
pub fn writers_pending_max(ctx: &Ctx) -> CaseResult {
    let pm = EDGE_PENDING_MAX;
    let n = EDGE_WRITERS;
    let bound = pm - 1 + n as u64;
    ctx.load(&format!("pending_max={pm}"))?;
    let ctl = ctx.open()?;
    let files = (0..n)
        .map(|i| Dev::open(false).with_ctx(|| format!("open /dev/complete for writer {i}")))
        .collect::<CaseResult<Vec<Dev>>>()?;
    // Per thread, per round: the write's result.
    let results: Vec<Mutex<Vec<Result<usize, sys::Errno>>>> =
        (0..n).map(|_| Mutex::new(Vec::new())).collect();
    let barrier = Barrier::new(n + 1);
    let (mut accepted_all, mut refused_all, mut largest, mut over_max) = (0u64, 0u64, 0, 0);
    let mut failure = None;
    // Set before the last release of the threads: they return instead of writing.
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        for (dev, res) in files.iter().zip(&results) {
            let (barrier, done) = (&barrier, &done);
            s.spawn(move || loop {
                barrier.wait();
                if done.load(Ordering::SeqCst) {
                    return;
                }
                let r = dev.write(b"w");
                if let Ok(mut v) = res.lock() {
                    v.push(r);
                }
                barrier.wait();
            });
        }
        for round in 0..EDGE_ROUNDS {
            let r = edge_round(ctx, &ctl, &barrier, &results, round).map_err(|e| {
                super::within(&format!("round {round}"), Err::<(), _>(e)).unwrap_err()
            });
            match r {
                Ok((accepted, pending)) => {
                    accepted_all += accepted;
                    refused_all += n as u64 - accepted;
                    largest = largest.max(pending);
                    over_max += usize::from(pending > pm);
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        // The threads wait at the start of a round: let them return.
        done.store(true, Ordering::SeqCst);
        barrier.wait();
    });
    if let Some(e) = failure {
        return Err(e);
    }
    println!(
        "# stress_writers_pending_max: {n} writers, pending_max={pm}, {EDGE_ROUNDS} rounds: \
         largest pending {largest} (bound {bound}), {over_max} round(s) left more than \
         pending_max, {accepted_all} writes accepted, {refused_all} refused"
    );
    ensure!(
        largest <= bound,
        "largest pending {largest} beyond pending_max - 1 + N = {bound}"
    );
    expect_ok(ctl.ioctl(sys::IOC_REINIT, 0), 0, "the last REINIT")?;
    let completes = (pm - 1) * EDGE_ROUNDS as u64 + accepted_all;
    let want = CompleteStatus {
        completes,
        ..zero()
    };
    ctx.expect_status(&ctl, want, "at the end (after the last REINIT)")
}

/// One round of [`writers_pending_max`]: `REINIT`, `pending_max - 1` writes, the threads' writes
/// at once, then the checks. Returns the writes accepted and the pending count after them.
fn edge_round(
    ctx: &Ctx,
    ctl: &Dev,
    barrier: &Barrier,
    results: &[Mutex<Vec<Result<usize, sys::Errno>>>],
    round: usize,
) -> CaseResult<(u64, u64)> {
    let pm = EDGE_PENDING_MAX;
    expect_ok(ctl.ioctl(sys::IOC_REINIT, 0), 0, "REINIT")?;
    for i in 0..pm - 1 {
        expect_ok(
            ctl.write(b"x"),
            1,
            &format!("write #{i} before the threads'"),
        )?;
    }
    let before = ctx.status(ctl)?;
    let refused_before = refused_lines(ctx)?;
    barrier.wait(); // The threads write...
    barrier.wait(); // ...and are done.
    let mut accepted = 0u64;
    for (t, res) in results.iter().enumerate() {
        let r = res
            .lock()
            .map_err(|_| format!("writer {t}: results lock poisoned"))?
            .get(round)
            .copied();
        match r {
            Some(Ok(1)) => accepted += 1,
            Some(Err(e)) if e.0 == libc::EOVERFLOW => {}
            other => bail!("writer {t}: write returned {other:?}, expected 1 or EOVERFLOW"),
        }
    }
    let after = ctx.status(ctl)?;
    let bound = pm - 1 + results.len() as u64;
    ensure!(
        after.pending <= bound,
        "pending {} after the threads' writes, beyond pending_max - 1 + N = {bound}",
        after.pending
    );
    ensure!(
        accepted >= 1,
        "no thread's write was accepted with {} pending",
        pm - 1
    );
    ensure_eq!(
        (after.pending, after.completes),
        (pm - 1 + accepted, before.completes + accepted),
        "(pending, completes) after {accepted} accepted writes"
    );
    expect_errno(
        ctl.write(b"x"),
        libc::EOVERFLOW,
        "a write after the threads'",
    )?;
    let refused = results.len() as u64 - accepted;
    ensure_eq!(
        refused_lines(ctx)? - refused_before,
        refused + 1,
        "'refused a write: too many pending completions' lines of the round ({refused} \
         thread(s) refused, and the write after)"
    );
    Ok((accepted, after.pending))
}

/// The `refused a write` lines of the case so far (reading the log now: a round's records are
/// read before the next, so the buffer cannot wrap).
fn refused_lines(ctx: &Ctx) -> CaseResult<u64> {
    let k = ctx.kmsg_now()?;
    Ok(k.driver_lines()
        .iter()
        .filter(|(_, d)| d.event == Event::Refused)
        .count() as u64)
}

#[cfg(test)]
mod tests {
    use super::share;

    #[test]
    fn shares_add_up() {
        for (n, parts) in [(10_000, 16), (7, 3), (3, 7), (1, 1)] {
            let total: usize = (0..parts).map(|i| share(n, parts, i)).sum();
            assert_eq!(total, n);
        }
    }
}
