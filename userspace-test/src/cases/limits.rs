// SPDX-License-Identifier: GPL-2.0
//! The edges of the contract: `RWF_NOWAIT`, the pending bound, timed reads under signals,
//! ioctls that need write access, a bare boolean parameter, and `REINIT` racing readers.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{expect_errno, expect_ok, zero, Ctx, WAIT};
use crate::error::{CaseResult, Context};
use crate::readers::{ReaderOpts, Readers};
use crate::sys::{self, Dev};
use crate::uapi::CompleteStatus;
use crate::{ensure, ensure_eq};

/// `preadv2(RWF_NOWAIT)` on a blocking file behaves like an `O_NONBLOCK` read: `EAGAIN` with
/// nothing pending, one completion consumed otherwise (before the fix: `EOPNOTSUPP`, since the
/// file had no `FMODE_NOWAIT`).
pub fn rwf_nowait(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    expect_errno(
        dev.read_nowait(),
        libc::EAGAIN,
        "preadv2(RWF_NOWAIT) with nothing pending",
    )?;
    expect_ok(dev.write(b"x"), 1, "write")?;
    expect_ok(dev.read_nowait(), 0, "preadv2(RWF_NOWAIT) with one pending")?;
    let want = CompleteStatus {
        reads_woken: 1,
        reads_would_block: 1,
        completes: 1,
        ..zero()
    };
    ctx.expect_status(&dev, want, "after the two RWF_NOWAIT reads")
}

/// The pending count this case loads the module with.
pub const PENDING_MAX: u64 = 3;

/// With `pending_max=3` a fourth unread write fails with `EOVERFLOW` and counts nothing; a read
/// makes room again; after `COMPLETE_ALL` the bound does not apply (nothing is counted), after
/// `REINIT` it does again. Stands in for the 2^32 - 1 writes after which, before the fix, `done`
/// reached `UINT_MAX` and every read passed as if `COMPLETE_ALL` had been called.
pub fn pending_max(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    let nb = ctx.open_nb()?;
    for i in 0..PENDING_MAX {
        expect_ok(dev.write(b"x"), 1, &format!("write #{i}"))?;
    }
    expect_errno(dev.write(b"x"), libc::EOVERFLOW, "write beyond pending_max")?;
    let mut want = CompleteStatus {
        pending: PENDING_MAX,
        completes: PENDING_MAX,
        ..zero()
    };
    ctx.expect_status(&dev, want, "after the refused write")?;
    expect_ok(nb.read(1), 0, "read")?;
    expect_ok(dev.write(b"x"), 1, "write after a read made room")?;
    want.reads_woken = 1;
    want.completes += 1;
    ctx.expect_status(&dev, want, "after a read and a write")?;
    expect_ok(dev.ioctl(sys::IOC_COMPLETE_ALL, 0), 0, "COMPLETE_ALL")?;
    for i in 0..PENDING_MAX + 2 {
        expect_ok(
            dev.write(b"x"),
            1,
            &format!("write #{i} after COMPLETE_ALL"),
        )?;
    }
    expect_ok(dev.ioctl(sys::IOC_REINIT, 0), 0, "REINIT")?;
    for i in 0..PENDING_MAX {
        expect_ok(dev.write(b"x"), 1, &format!("write #{i} after REINIT"))?;
    }
    expect_errno(
        dev.write(b"x"),
        libc::EOVERFLOW,
        "write beyond pending_max after REINIT",
    )?;
    want.pending = PENDING_MAX;
    want.completes += PENDING_MAX + 2 + PENDING_MAX;
    ctx.expect_status(&dev, want, "at the end")
}

/// With `timeout_ms=300`, a read whose process gets a `SIGALRM` every 100 ms with an
/// `SA_RESTART` handler ends with `EINTR` within the timeout (before the fix each restart began
/// the whole timeout again and the read never ended).
pub fn timeout_signals(ctx: &Ctx) -> CaseResult {
    let _dev = ctx.open()?;
    let mut rd = Readers::new()?;
    let opts = ReaderOpts {
        alarm_every_ms: Some(100),
        ..ReaderOpts::default()
    };
    let pid = rd.spawn("ct-tmo-sig", opts)?;
    let r = rd.report_from(pid, WAIT, "timed read under a 100 ms SA_RESTART timer")?;
    r.expect_err(libc::EINTR)?;
    ensure!(
        r.elapsed < Duration::from_secs(3),
        "reader {pid}: the timed read took {:?}",
        r.elapsed
    );
    ensure!(r.signals >= 1, "reader {pid} saw no SIGALRM");
    rd.reap(pid, WAIT)?;
    Ok(())
}

/// `COMPLETE_ALL` and `REINIT` change what every reader sees, so they need a file open for
/// writing (`EBADF` otherwise, as `write()`); `STATUS` works on any open file.
pub fn ioctl_needs_write(ctx: &Ctx) -> CaseResult {
    let ro = Dev::open_flags(libc::O_RDONLY).ctx("open /dev/complete O_RDONLY")?;
    expect_errno(
        ro.ioctl(sys::IOC_COMPLETE_ALL, 0),
        libc::EBADF,
        "COMPLETE_ALL on O_RDONLY",
    )?;
    expect_errno(
        ro.ioctl(sys::IOC_REINIT, 0),
        libc::EBADF,
        "REINIT on O_RDONLY",
    )?;
    ctx.expect_status(&ro, zero(), "STATUS on O_RDONLY (nothing changed)")?;
    let wo = Dev::open_flags(libc::O_WRONLY).ctx("open /dev/complete O_WRONLY")?;
    expect_ok(wo.write(b"x"), 1, "write on O_WRONLY")?;
    expect_ok(wo.ioctl(sys::IOC_REINIT, 0), 0, "REINIT on O_WRONLY")?;
    expect_ok(
        wo.ioctl(sys::IOC_COMPLETE_ALL, 0),
        0,
        "COMPLETE_ALL on O_WRONLY",
    )?;
    let want = CompleteStatus {
        all_done: 1,
        completes: 1,
        ..zero()
    };
    ctx.expect_status(&wo, want, "STATUS on O_WRONLY")
}

/// `insmod complete_dev.ko verbose` (a bool without a value) means `verbose=Y`, as C bool
/// parameters do (before the fix the load failed with `EINVAL`).
pub fn bool_param_bare(ctx: &Ctx) -> CaseResult {
    for (params, want) in [("verbose=0", "N"), ("verbose", "Y")] {
        ctx.load(params)?;
        let path = "/sys/module/complete_dev/parameters/verbose";
        let got = std::fs::read_to_string(path).with_ctx(|| format!("read {path}"))?;
        ensure_eq!(got.trim(), want, "{path} after insmod with \"{params}\"");
    }
    Ok(())
}

/// Rounds of [`reinit_race`].
const RACE_ROUNDS: u64 = 3000;
/// Writes banked in each round, which the readers start draining at once.
const RACE_WRITES: usize = 8;
/// Reader threads hammering `O_NONBLOCK` reads (more than the VM's two vCPUs).
const RACE_THREADS: usize = 4;

/// `REINIT` racing non-blocking readers. Reader threads hammer `O_NONBLOCK` reads for the whole
/// case; each round banks a few writes, which they drain as they come, and `REINIT`s at once,
/// while they are still taking completions under the completion's lock. After `REINIT` returned
/// (the round's "closed" phase, until the next round banks again) no read may pass, and at the
/// end of the phase nothing is pending. Before the fix `REINIT` was an unlocked store racing
/// the readers' locked `done--`: a reader that read `done = N` could store `N - 1` after it and
/// bring completions back.
pub fn reinit_race(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    // Even: writes may be banked; odd: `REINIT` has returned and nothing may pass.
    let phase = Arc::new(AtomicU64::new(0));
    let late_reads = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for _ in 0..RACE_THREADS {
        let nb = ctx.open_nb()?;
        let (phase, stop, late) = (phase.clone(), stop.clone(), late_reads.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let before = phase.load(Ordering::SeqCst);
                let passed = nb.read(1).is_ok();
                // Began and ended inside one closed phase, yet passed: a revived completion.
                if passed && before % 2 == 1 && phase.load(Ordering::SeqCst) == before {
                    late.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    let mut res = race_rounds(ctx, &dev, &phase);
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        if t.join().is_err() && res.is_ok() {
            res = Err("a reader thread panicked".to_string().into());
        }
    }
    let revived_rounds = res?;
    ensure_eq!(
        (revived_rounds, late_reads.load(Ordering::SeqCst)),
        (0, 0),
        "(rounds with completions pending after REINIT, reads that passed after REINIT) in \
         {RACE_ROUNDS} rounds"
    );
    expect_errno(
        ctx.open_nb()?.read(1),
        libc::EAGAIN,
        "O_NONBLOCK read at the end",
    )?;
    Ok(())
}

/// The rounds of [`reinit_race`]; returns how many ended with completions pending.
fn race_rounds(ctx: &Ctx, dev: &Dev, phase: &AtomicU64) -> CaseResult<u64> {
    let mut revived = 0;
    for round in 0..RACE_ROUNDS {
        phase.store(2 * round, Ordering::SeqCst);
        for _ in 0..RACE_WRITES {
            expect_ok(dev.write(b"x"), 1, "banking write")?;
        }
        expect_ok(dev.ioctl(sys::IOC_REINIT, 0), 0, "REINIT")?;
        phase.store(2 * round + 1, Ordering::SeqCst);
        // Give the readers the closed phase to find a revived completion, then look.
        std::thread::sleep(Duration::from_micros(100));
        if ctx.status(dev)?.pending != 0 {
            revived += 1;
        }
    }
    Ok(revived)
}
