// SPDX-License-Identifier: GPL-2.0
//! Waiting: one reader and one writer (sleeping, waking, the wait modes, pending completions),
//! then the FIFO wake order among sleepers.

use std::time::{Duration, Instant};

use super::{expect_errno, expect_ok, zero, Ctx, QUIET, WAIT};
use crate::error::CaseResult;
use crate::kmsg::{step, Event, Step};
use crate::readers::{OnSigint, ReaderOpts, Readers};
use crate::sys::{self, Exit};
use crate::uapi::CompleteStatus;
use crate::{bail, ensure, ensure_eq};

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

/// Writes with nobody waiting stay pending: K reads pass at once, the next one would block.
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

/// Readers in the order they went to sleep.
const N: usize = 8;

/// N readers fall asleep one after another; each of N writes wakes exactly the oldest one, as the
/// readers' own reports and the driver's `going to sleep`/`awoken` lines both show. The readers
/// run `SCHED_FIFO` on the test's CPU, so each runs the moment the write wakes it: in the log,
/// write #i's "awakening the readers..." comes before reader #i's "awoken", which comes before
/// write #i+1's.
pub fn fifo_order(ctx: &Ctx) -> CaseResult {
    super::on_cpu(0, || fifo_order_pinned(ctx))
}

fn fifo_order_pinned(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    let mut rd = Readers::new()?;
    let mut pids = Vec::with_capacity(N);
    for i in 0..N {
        let opts = ReaderOpts {
            rt_cpu: Some(0),
            ..ReaderOpts::default()
        };
        let pid = rd.spawn(&format!("ct-fifo{i}"), opts)?;
        ctx.wait_asleep(pid, 'S')?;
        ctx.wait_sleepers(&dev, i as u64 + 1)?;
        pids.push(pid);
    }
    for (i, &pid) in pids.iter().enumerate() {
        ensure_eq!(
            sys::proc_state(pid)?,
            'S',
            "state of reader #{i} ({pid}) before the writes"
        );
    }
    // The order of the `going to sleep` lines is the sleep order.
    let sleep_order = ordered_pids(ctx, &pids, |e| *e == Event::Sleep)?;
    ensure_eq!(
        sleep_order,
        pids,
        "pids in the order of their 'going to sleep' lines"
    );

    for (i, &pid) in pids.iter().enumerate() {
        expect_ok(dev.write(b"w"), 1, &format!("write #{i}"))?;
        let r = rd.report_from(pid, WAIT, &format!("write #{i}"))?;
        r.expect_ok()?;
        let left = (N - i - 1) as u64;
        let want = CompleteStatus {
            sleepers: left,
            reads_woken: i as u64 + 1,
            completes: i as u64 + 1,
            ..zero()
        };
        ctx.expect_status(&dev, want, &format!("after write #{i}"))?;
        for (j, &other) in pids.iter().enumerate().skip(i + 1) {
            let st = sys::proc_state(other)?;
            ensure!(
                st == 'S',
                "after write #{i}: reader #{j} ({other}) should still sleep, state {st}"
            );
        }
        rd.reap_ok(pid, WAIT)?;
    }
    rd.expect_silence(std::time::Duration::ZERO, "after all writes")?;
    let woken = ordered_pids(ctx, &pids, |e| *e == Event::Awoken)?;
    ensure_eq!(woken, pids, "pids in the order of their 'awoken' lines");
    let me = sys::getpid();
    let order: Vec<Step> = pids
        .iter()
        .enumerate()
        .flat_map(|(i, &pid)| [step(me, i, Event::Awakening), step(pid, 0, Event::Awoken)])
        .collect();
    ctx.kmsg_now()?
        .expect_order(&order)
        .map_err(|e| format!("writer and woken readers in the log: {e}").into())
}

/// The pids of `pids` in the order of their log lines matching `pred`; each must have one.
fn ordered_pids(ctx: &Ctx, pids: &[i32], pred: impl Fn(&Event) -> bool) -> CaseResult<Vec<i32>> {
    let k = ctx.kmsg_now()?;
    let mut lines: Vec<(u64, i32)> = k
        .driver_lines()
        .into_iter()
        .filter(|(_, d)| pids.contains(&d.pid) && pred(&d.event))
        .map(|(seq, d)| (seq, d.pid))
        .collect();
    lines.sort_unstable();
    for &p in pids {
        let n = lines.iter().filter(|&&(_, q)| q == p).count();
        if n != 1 {
            bail!(
                "reader {p}: {n} matching kernel log lines, expected exactly 1 (lost kmsg records?)"
            );
        }
    }
    Ok(lines.into_iter().map(|(_, p)| p).collect())
}

/// The `<comm>` of the driver's lines is the reader's command name as the kernel keeps it: all
/// 15 bytes of a long name (the kernel cuts it there), a space as a space, each byte that is not
/// printable ASCII (a tab, each byte of a UTF-8 `é`) as `?`.
pub fn comm_printed(ctx: &Ctx) -> CaseResult {
    // (the name the reader sets, the comm the driver prints)
    const NAMES: [(&str, &str); 5] = [
        ("ct-fifteen-char", "ct-fifteen-char"),
        ("ct-sixteen-chars", "ct-sixteen-char"),
        ("ct two words", "ct two words"),
        ("ct\ttab", "ct?tab"),
        ("ct-caf\u{e9}", "ct-caf??"),
    ];
    let dev = ctx.open()?;
    let mut rd = Readers::new()?;
    for (i, (name, shown)) in NAMES.into_iter().enumerate() {
        let pid = rd.spawn(name, ReaderOpts::default())?;
        ctx.wait_asleep(pid, 'S')?;
        ctx.wait_sleepers(&dev, 1)?;
        expect_ok(dev.write(b"w"), 1, &format!("write for reader #{i}"))?;
        rd.report_from(pid, WAIT, &format!("write for reader #{i}"))?
            .expect_ok()?;
        rd.reap_ok(pid, WAIT)?;
        ctx.wait_events(pid, 1, "awoken", |e| *e == Event::Awoken)?;
        let want = vec![
            format!("process {pid} ({shown}) going to sleep"),
            format!("awoken {pid} ({shown})"),
        ];
        ensure_eq!(
            ctx.kmsg_now()?.lines_of(pid),
            want,
            "driver lines of reader {pid}, named {name:?}"
        );
    }
    Ok(())
}
