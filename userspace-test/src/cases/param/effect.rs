// SPDX-License-Identifier: GPL-2.0
//! The parameters in effect, at their edges: what a loaded module does with `pending_max` 0 and
//! 1, `timeout_ms` 1 and 3600000, and `verbose` written at run time while a reader sleeps.

use std::time::Duration;

use super::super::{expect_errno, expect_ok, zero, Ctx, QUIET, WAIT};
use super::VERBOSE;
use crate::error::{CaseError, CaseResult};
use crate::kconfig::KernelConfig;
use crate::kmsg::{step, Event};
use crate::readers::{ReaderOpts, Readers};
use crate::sys::{self, Exit};
use crate::uapi::CompleteStatus;
use crate::{ensure, ensure_eq};

/// The driver's lines about the test itself (the writer), without the prefix: `what` after
/// `process <pid> (<comm>) `.
fn own_lines(whats: &[&str]) -> CaseResult<Vec<String>> {
    let (me, comm) = (sys::getpid(), sys::own_comm()?);
    Ok(whats
        .iter()
        .map(|w| format!("process {me} ({comm}) {w}"))
        .collect())
}

/// What a write refused by `pending_max` logs.
const REFUSED: &str = "refused a write: too many pending completions";
/// What a write logs.
const AWAKENING: &str = "awakening the readers...";

/// The two lines of a reader woken by a write.
fn woken_lines(pid: i32, comm: &str) -> Vec<String> {
    vec![
        format!("process {pid} ({comm}) going to sleep"),
        format!("awoken {pid} ({comm})"),
    ]
}

/// Fails unless the driver's lines about `pid` are exactly `want`, in order.
fn expect_lines(ctx: &Ctx, pid: i32, want: Vec<String>, whose: &str) -> CaseResult {
    ensure_eq!(
        ctx.kmsg_now()?.lines_of(pid),
        want,
        "kernel log lines of {whose} ({pid})"
    );
    Ok(())
}

/// `pending_max=0`: every write fails with `EOVERFLOW` and its `refused` line, even with a
/// reader asleep (nothing is pending, and 0 >= 0), which sleeps on; after `COMPLETE_ALL` (which
/// wakes the reader) writes pass; after `REINIT` they fail again.
pub fn pending_max_zero(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    let mut rd = Readers::new()?;
    let pid = rd.spawn("ct-pmax0", ReaderOpts::default())?;
    ctx.wait_asleep(pid, 'S')?;
    ctx.wait_sleepers(&dev, 1)?;
    for i in 0..2 {
        expect_errno(
            dev.write(b"x"),
            libc::EOVERFLOW,
            &format!("write #{i} with pending_max=0 and a reader asleep"),
        )?;
    }
    rd.expect_silence(QUIET, "after two refused writes")?;
    ensure_eq!(
        sys::proc_state(pid)?,
        'S',
        "state of reader {pid} after two refused writes"
    );
    let asleep = CompleteStatus {
        sleepers: 1,
        ..zero()
    };
    ctx.expect_status(&dev, asleep, "after two refused writes")?;
    expect_ok(dev.ioctl(sys::IOC_COMPLETE_ALL, 0), 0, "COMPLETE_ALL")?;
    rd.report_from(pid, WAIT, "after COMPLETE_ALL")?
        .expect_ok()?;
    rd.reap_ok(pid, WAIT)?;
    for i in 0..2 {
        expect_ok(
            dev.write(b"x"),
            1,
            &format!("write #{i} after COMPLETE_ALL"),
        )?;
    }
    let mut want = CompleteStatus {
        all_done: 1,
        reads_woken: 1,
        completes: 2,
        ..zero()
    };
    ctx.expect_status(&dev, want, "after COMPLETE_ALL and two writes")?;
    expect_ok(dev.ioctl(sys::IOC_REINIT, 0), 0, "REINIT")?;
    expect_errno(dev.write(b"x"), libc::EOVERFLOW, "write after REINIT")?;
    want.all_done = 0;
    ctx.expect_status(&dev, want, "after REINIT and a refused write")?;
    expect_lines(
        ctx,
        sys::getpid(),
        own_lines(&[
            REFUSED,
            REFUSED,
            "completing all",
            AWAKENING,
            AWAKENING,
            "reinit",
            REFUSED,
        ])?,
        "the writer",
    )?;
    expect_lines(ctx, pid, woken_lines(pid, "ct-pmax0"), "the reader")
}

/// `pending_max=1`: a write with a reader asleep wakes it; with nobody asleep one write stays
/// pending and the second is refused; a read makes room for one more, and only one.
pub fn pending_max_one(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    let nb = ctx.open_nb()?;
    let mut rd = Readers::new()?;
    let pid = rd.spawn("ct-pmax1", ReaderOpts::default())?;
    ctx.wait_asleep(pid, 'S')?;
    expect_ok(dev.write(b"x"), 1, "write with a reader asleep")?;
    rd.report_from(pid, WAIT, "after the write")?.expect_ok()?;
    rd.reap_ok(pid, WAIT)?;
    expect_ok(dev.write(b"x"), 1, "write left pending")?;
    expect_errno(dev.write(b"x"), libc::EOVERFLOW, "second write pending")?;
    let mut want = CompleteStatus {
        pending: 1,
        reads_woken: 1,
        completes: 2,
        ..zero()
    };
    ctx.expect_status(&dev, want, "after one write pending and one refused")?;
    expect_ok(nb.read(1), 0, "O_NONBLOCK read of the pending write")?;
    expect_ok(dev.write(b"x"), 1, "write after the read")?;
    expect_errno(
        dev.write(b"x"),
        libc::EOVERFLOW,
        "second write after the read",
    )?;
    want.reads_woken += 1;
    want.completes += 1;
    ctx.expect_status(&dev, want, "at the end")?;
    expect_lines(
        ctx,
        sys::getpid(),
        own_lines(&[AWAKENING, AWAKENING, REFUSED, AWAKENING, REFUSED])?,
        "the writer",
    )?;
    expect_lines(ctx, pid, woken_lines(pid, "ct-pmax1"), "the reader")
}

/// `timeout_ms=1`, the smallest timeout: a read nobody completes fails with `ETIMEDOUT` after
/// `msecs_to_jiffies(1)` (1 at any HZ up to 1000) jiffies and within a few more (at most 250 ms
/// worth: a slow kernel runs the woken reader late), logging its two lines.
pub fn timeout_min(ctx: &Ctx) -> CaseResult {
    let config = KernelConfig::running().map_err(|e| CaseError::Skip(format!("no HZ: {e}")))?;
    let hz = config.hz().map_err(CaseError::Skip)?;
    sys::jiffies().map_err(|e| CaseError::Skip(format!("no jiffies counter: {e}")))?;
    let dev = ctx.open_nb()?;
    let mut rd = Readers::new()?;
    let opts = ReaderOpts {
        rt_cpu: Some(0),
        jiffies: true,
        ..ReaderOpts::default()
    };
    let pid = rd.spawn("ct-tmin", opts)?;
    let r = rd.report_from(pid, WAIT, "read with timeout_ms=1 and nobody writing")?;
    r.expect_err(libc::ETIMEDOUT)?;
    ensure_eq!(rd.reap(pid, WAIT)?, Exit::Code(1), "exit of reader {pid}");
    let t = hz.msecs_to_jiffies(1);
    let most = t + 1 + hz.msecs_to_jiffies(250);
    let (before, after) = r.jiffies;
    ensure!(
        before != 0 && after >= before,
        "reader {pid}: no jiffies from /proc/schedstat ({before}, {after})"
    );
    let passed = after - before;
    ensure!(
        passed > t && passed <= most,
        "reader {pid}: timed out {passed} jiffies after it began ({:?}), expected {} to {most} \
         ({t} jiffies = msecs_to_jiffies(1) at HZ={})",
        r.elapsed,
        t + 1,
        hz.get()
    );
    ensure_eq!(
        ctx.read_events(pid)?,
        vec![Event::Sleep, Event::GaveUp("ETIMEDOUT".into())],
        "driver lines of reader {pid}"
    );
    let want = CompleteStatus {
        reads_timed_out: 1,
        ..zero()
    };
    ctx.expect_status(&dev, want, "after the timeout")
}

/// How long [`timeout_max`] watches its reader sleep: beyond 10 s.
const LONG: Duration = Duration::from_secs(12);

/// `timeout_ms=3600000`, the largest timeout: a reader is still asleep 12 s after it went to
/// sleep (no return, no line, STATUS one sleeper), and a write then wakes it with 0.
pub fn timeout_max(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    let mut rd = Readers::new()?;
    let pid = rd.spawn("ct-tmax", ReaderOpts::default())?;
    ctx.wait_asleep(pid, 'S')?;
    ctx.wait_sleepers(&dev, 1)?;
    rd.expect_silence(LONG, &format!("{LONG:?} into a wait of timeout_ms=3600000"))?;
    ensure_eq!(
        sys::proc_state(pid)?,
        'S',
        "state of reader {pid} after {LONG:?}"
    );
    ensure_eq!(
        ctx.read_events(pid)?,
        vec![Event::Sleep],
        "driver lines of reader {pid} after {LONG:?}"
    );
    let asleep = CompleteStatus {
        sleepers: 1,
        ..zero()
    };
    ctx.expect_status(&dev, asleep, &format!("after {LONG:?}"))?;
    expect_ok(dev.write(b"x"), 1, "write")?;
    let r = rd.report_from(pid, WAIT, "after the write")?;
    r.expect_ok()?;
    ensure!(
        r.elapsed >= LONG,
        "reader {pid} returned after {:?}, before {LONG:?}",
        r.elapsed
    );
    rd.reap_ok(pid, WAIT)?;
    expect_lines(ctx, pid, woken_lines(pid, "ct-tmax"), "the reader")?;
    let want = CompleteStatus {
        reads_woken: 1,
        completes: 1,
        ..zero()
    };
    ctx.expect_status(&dev, want, "after the write")
}

/// Writes `value` to `verbose` in sysfs and reads back `shown`.
fn set_verbose(value: &str, shown: &str) -> CaseResult {
    std::fs::write(VERBOSE, value).map_err(|e| format!("write {value} to {VERBOSE}: {e}"))?;
    let got = std::fs::read_to_string(VERBOSE).map_err(|e| format!("read {VERBOSE}: {e}"))?;
    ensure_eq!(got.trim(), shown, "{VERBOSE} after writing {value}");
    Ok(())
}

/// `verbose` written at run time takes effect at the next line, and a read logs both of its
/// lines or neither, as `verbose` was when it went to sleep: reader A sleeps (its line logged),
/// `verbose` is written 0, the write that wakes A logs nothing but A logs its `awoken`; reader B
/// sleeps silently, `verbose` is written 1, the write that wakes B logs again but B logs nothing;
/// reader C logs both lines.
pub fn verbose_in_flight(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    let mut rd = Readers::new()?;
    let a = rd.spawn("ct-vbs-a", ReaderOpts::default())?;
    ctx.wait_asleep(a, 'S')?;
    ctx.wait_sleepers(&dev, 1)?;
    set_verbose("0", "N")?;
    expect_ok(dev.write(b"a"), 1, "write with verbose=0 to reader A")?;
    rd.report_from(a, WAIT, "after the write to reader A")?
        .expect_ok()?;
    rd.reap_ok(a, WAIT)?;
    expect_lines(ctx, a, woken_lines(a, "ct-vbs-a"), "reader A")?;
    expect_lines(ctx, sys::getpid(), vec![], "the writer, verbose=0")?;

    // B reads verbose (0) before it counts as a sleeper.
    let b = rd.spawn("ct-vbs-b", ReaderOpts::default())?;
    ctx.wait_sleepers(&dev, 1)?;
    set_verbose("1", "Y")?;
    expect_ok(dev.write(b"b"), 1, "write with verbose=1 to reader B")?;
    rd.report_from(b, WAIT, "after the write to reader B")?
        .expect_ok()?;
    rd.reap_ok(b, WAIT)?;
    expect_lines(ctx, b, vec![], "reader B, asleep from verbose=0")?;

    let c = rd.spawn("ct-vbs-c", ReaderOpts::default())?;
    ctx.wait_asleep(c, 'S')?;
    expect_ok(dev.write(b"c"), 1, "write with verbose=1 to reader C")?;
    rd.report_from(c, WAIT, "after the write to reader C")?
        .expect_ok()?;
    rd.reap_ok(c, WAIT)?;
    expect_lines(ctx, c, woken_lines(c, "ct-vbs-c"), "reader C")?;
    let me = sys::getpid();
    expect_lines(ctx, me, own_lines(&[AWAKENING, AWAKENING])?, "the writer")?;
    let order = [
        step(a, 0, Event::Sleep),
        step(a, 0, Event::Awoken),
        step(me, 0, Event::Awakening),
        step(c, 0, Event::Sleep),
        step(me, 1, Event::Awakening),
        step(c, 0, Event::Awoken),
    ];
    ctx.kmsg_now()?
        .expect_order(&order)
        .map_err(|e| format!("the lines in the log: {e}"))?;
    let want = CompleteStatus {
        reads_woken: 3,
        completes: 3,
        ..zero()
    };
    ctx.expect_status(&dev, want, "at the end")
}
