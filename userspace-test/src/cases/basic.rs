// SPDX-License-Identifier: GPL-2.0
//! One reader, one writer: sleeping, waking, wait modes, pending completions, `O_NONBLOCK`.

use std::time::{Duration, Instant};

use super::{expect_errno, expect_ok, zero, Ctx, QUIET, WAIT};
use crate::error::CaseResult;
use crate::kmsg::Event;
use crate::readers::{OnSigint, ReaderOpts, Readers};
use crate::sys::{self, Exit};
use crate::uapi::CompleteStatus;
use crate::{ensure, ensure_eq};

/// A reader sleeps (state S) until a write, which returns its length; the read returns 0.
pub fn sleep_and_wake(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    let mut rd = Readers::new()?;
    let pid = rd.spawn("ct-sleeper", ReaderOpts::default())?;
    ctx.wait_asleep(pid, 'S')?;
    ctx.wait_sleepers(&dev, 1)?;
    rd.expect_silence(QUIET, "with no write")?;
    ensure_eq!(
        sys::proc_state(pid)?,
        'S',
        "state of reader {pid} after {QUIET:?}"
    );
    expect_ok(dev.write(b"hello"), 5, "write(\"hello\")")?;
    let r = rd.report_from(pid, WAIT, "after one write")?;
    r.expect_ok()?;
    ensure!(
        r.elapsed >= QUIET,
        "reader {pid} returned after {:?}, before the write",
        r.elapsed
    );
    rd.reap_ok(pid, WAIT)?;
    ctx.wait_events(pid, 1, "awoken", |e| *e == Event::Awoken)?;
    let me = sys::getpid();
    ensure_eq!(
        ctx.count_events(me, |e| *e == Event::Awakening)?,
        1,
        "'awakening the readers...' lines of the writer {me}"
    );
    let want = CompleteStatus {
        reads_woken: 1,
        completes: 1,
        ..zero()
    };
    ctx.expect_status(&dev, want, "after the wake-up")
}

/// `wait_mode=uninterruptible`: the reader sleeps in D, a SIGINT does not end the sleep (its
/// handler runs only after the write wakes the reader).
pub fn uninterruptible_state(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    let mut rd = Readers::new()?;
    let opts = ReaderOpts {
        sigint: OnSigint::Handler,
        ..ReaderOpts::default()
    };
    let pid = rd.spawn("ct-dsleeper", opts)?;
    ctx.wait_asleep(pid, 'D')?;
    sys::kill(pid, libc::SIGINT).map_err(|e| format!("kill({pid}, SIGINT): {e}"))?;
    rd.expect_silence(QUIET, "after SIGINT in D state")?;
    ensure_eq!(
        sys::proc_state(pid)?,
        'D',
        "state of reader {pid} after SIGINT"
    );
    expect_ok(dev.write(b"x"), 1, "write(1 byte)")?;
    let r = rd.report_from(pid, WAIT, "after one write")?;
    r.expect_ok()?;
    ensure_eq!(r.signals, 1, "SIGINT handler runs of reader {pid}");
    rd.reap_ok(pid, WAIT)?;
    let want = CompleteStatus {
        reads_woken: 1,
        completes: 1,
        ..zero()
    };
    ctx.expect_status(&dev, want, "after the wake-up")
}

/// `wait_mode=killable`: the reader sleeps in D, ignores SIGINT, but SIGKILL ends it.
pub fn killable_state(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    let mut rd = Readers::new()?;
    let opts = ReaderOpts {
        sigint: OnSigint::Handler,
        ..ReaderOpts::default()
    };
    let pid = rd.spawn("ct-ksleeper", opts)?;
    ctx.wait_asleep(pid, 'D')?;
    sys::kill(pid, libc::SIGINT).map_err(|e| format!("kill({pid}, SIGINT): {e}"))?;
    rd.expect_silence(QUIET, "after SIGINT in a killable sleep")?;
    ensure_eq!(
        sys::proc_state(pid)?,
        'D',
        "state of reader {pid} after SIGINT"
    );
    sys::kill(pid, libc::SIGKILL).map_err(|e| format!("kill({pid}, SIGKILL): {e}"))?;
    let st = rd.reap(pid, WAIT)?;
    ensure_eq!(st, Exit::Signal(libc::SIGKILL), "end of reader {pid}");
    ctx.wait_events(pid, 1, "gave up waiting", |e| matches!(e, Event::GaveUp(_)))?;
    let want = CompleteStatus {
        reads_interrupted: 1,
        ..zero()
    };
    ctx.expect_status(&dev, want, "after SIGKILL")
}

/// Writes with nobody waiting are remembered: K reads pass at once, the next one would block.
pub fn pending_writes(ctx: &Ctx) -> CaseResult {
    const K: u64 = 5;
    let dev = ctx.open()?;
    let nb = ctx.open_nb()?;
    for i in 0..K {
        expect_ok(dev.write(b"w"), 1, &format!("write #{i}"))?;
    }
    let want = CompleteStatus {
        pending: K,
        completes: K,
        ..zero()
    };
    ctx.expect_status(&dev, want, "after the writes")?;
    for i in 0..K {
        let start = Instant::now();
        if i % 2 == 0 {
            expect_ok(nb.read(1), 0, &format!("O_NONBLOCK read #{i}"))?;
        } else {
            expect_ok(
                sys::guarded_read(&dev, 1, 10),
                0,
                &format!("blocking read #{i} with completions pending"),
            )?;
        }
        let took = start.elapsed();
        ensure!(
            took < Duration::from_secs(2),
            "read #{i} took {took:?} with a completion pending"
        );
    }
    expect_errno(nb.read(1), libc::EAGAIN, "O_NONBLOCK read after K reads")?;
    let want = CompleteStatus {
        reads_woken: K,
        reads_would_block: 1,
        completes: K,
        ..zero()
    };
    ctx.expect_status(&dev, want, "after the reads")
}

/// `O_NONBLOCK` never sleeps: EAGAIN with nothing pending; one write lets exactly one read pass.
pub fn nonblock(ctx: &Ctx) -> CaseResult {
    let nb = ctx.open_nb()?;
    expect_errno(
        nb.read(1),
        libc::EAGAIN,
        "O_NONBLOCK read with nothing pending",
    )?;
    expect_ok(nb.write(b"x"), 1, "write(1 byte)")?;
    expect_ok(nb.read(1), 0, "O_NONBLOCK read after one write")?;
    expect_errno(
        nb.read(1),
        libc::EAGAIN,
        "second O_NONBLOCK read after one write",
    )?;
    let me = sys::getpid();
    ensure_eq!(
        ctx.count_events(me, |e| *e == Event::Sleep)?,
        0,
        "'going to sleep' lines of O_NONBLOCK reader {me}"
    );
    let want = CompleteStatus {
        reads_woken: 1,
        reads_would_block: 2,
        completes: 1,
        ..zero()
    };
    ctx.expect_status(&nb, want, "at the end")
}
