// SPDX-License-Identifier: GPL-2.0
//! Many at once: reader threads against writer threads (every write is consumed by exactly one
//! read), and the soak (`stress/soak.rs`: random operations from many threads, then the
//! conservation laws).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{zero, Ctx};
use crate::error::CaseResult;
use crate::sys::{self, Dev};
use crate::uapi::CompleteStatus;
use crate::{bail, ensure};

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
