// SPDX-License-Identifier: GPL-2.0
//! Every way a read ends, in every wait mode, with and without `timeout_ms`: one table
//! ([`ROWS`]), each row the parameters, the action, the read's exact result, the reader's exact
//! log lines in order and the `STATUS` counters it moves.

use super::{within, Ctx, QUIET, WAIT};
use crate::error::{CaseError, CaseResult};
use crate::kconfig::{self, KernelConfig, ERESTARTNOHAND, ERESTARTSYS};
use crate::kmsg::{step, Event, Step};
use crate::readers::{OnSigint, ReaderOpts, Readers};
use crate::sys::{self, Dev, Exit};
use crate::uapi::CompleteStatus;
use crate::{bail, ensure, ensure_eq};

fn kill(pid: i32, sig: i32, name: &str) -> CaseResult {
    sys::kill(pid, sig).map_err(|e| format!("kill({pid}, {name}): {e}").into())
}

/// Waits until the reader `pid` is stopped (state T).
fn wait_stopped(pid: i32) -> CaseResult {
    sys::poll_until(WAIT, &format!("reader {pid} stopped (state T)"), || {
        let st = sys::proc_state(pid)?;
        Ok(if st == 'T' {
            Ok(())
        } else {
            Err(format!("state {st}"))
        })
    })
}

/// `wait_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `interruptible`: any signal ends the wait (state S).
    I,
    /// `killable`: only a fatal signal ends it (state D).
    K,
    /// `uninterruptible`: nothing but a completion ends it (state D).
    U,
}
use Mode::{I, K, U};

impl Mode {
    fn param(self) -> &'static str {
        match self {
            I => "interruptible",
            K => "killable",
            U => "uninterruptible",
        }
    }

    /// The state letter of a reader asleep in this mode.
    fn state(self) -> char {
        if self == I {
            'S'
        } else {
            'D'
        }
    }
}

/// The `timeout_ms` of the timed rows: long enough for every row's steps (each well under a
/// second, also under KASAN), short enough for the rows that wait it out.
const TIMEOUT_MS: u32 = 4000;

/// What a row does to its reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Act {
    /// Once the reader sleeps, one write.
    Write,
    /// One write, then the (blocking) read: it finds the completion pending.
    Pending,
    /// An `O_NONBLOCK` read with nothing pending.
    Nonblock,
    /// One write, then an `O_NONBLOCK` read.
    NonblockPending,
    /// Nothing: the timeout ends the read.
    Expire,
    /// Once the reader sleeps, `SIGINT` with this disposition.
    Sigint(OnSigint),
    /// Once the reader sleeps, `SIGKILL`.
    Sigkill,
    /// Once the reader sleeps, `SIGSTOP`, then (stopped if it could stop) `SIGCONT`.
    StopCont,
}
use Act::{Expire, Nonblock, NonblockPending, Pending, Sigint, Sigkill, StopCont, Write};

/// `SIGINT`'s default action: it kills.
const DFL: Act = Sigint(OnSigint::Default);
/// A `SIGINT` handler without `SA_RESTART`.
const HND: Act = Sigint(OnSigint::Handler);
/// A `SIGINT` handler with `SA_RESTART`.
const RST: Act = Sigint(OnSigint::HandlerRestart);

/// What the action leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Then {
    /// The read ends (or had already ended).
    Ends,
    /// The reader is still asleep: a write ends it.
    Asleep,
    /// The wait ended and the read restarted: asleep again, a write ends it.
    Restarts,
}
use Then::{Asleep, Ends, Restarts};

/// How the read ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// It returns 0, the handler (if any) having run this many times.
    Ret0(u32),
    /// It fails with this errno, the handler having run this many times.
    Fails(i32, u32),
    /// The process dies of this signal (no return to userspace).
    Killed(i32),
}
use End::{Fails, Killed, Ret0};

/// One log line of the reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum L {
    /// `process P (C) going to sleep`
    Sleep,
    /// `awoken P (C)`
    Awoken,
    /// `process P (C) gave up waiting: <the kernel error>`
    GaveUp(i32),
}
use L::{Awoken, GaveUp, Sleep};

/// The `STATUS` counters a row moves: reads_woken, reads_interrupted, reads_timed_out,
/// reads_would_block, completes; pending, sleepers and all_done are 0 before and after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Delta(u64, u64, u64, u64, u64);

const WOKEN: Delta = Delta(1, 0, 0, 0, 1);
const INTERRUPTED: Delta = Delta(0, 1, 0, 0, 0);
const INTERRUPTED_THEN_WOKEN: Delta = Delta(1, 1, 0, 0, 1);
const TIMED_OUT: Delta = Delta(0, 0, 1, 0, 0);
const WOULD_BLOCK: Delta = Delta(0, 0, 0, 1, 0);

const RSYS: i32 = ERESTARTSYS;
const RNOH: i32 = ERESTARTNOHAND;
const TMO: i32 = libc::ETIMEDOUT;

/// One row: parameters, action, what it leaves, the result, the reader's lines, the counters.
#[derive(Clone, Copy, Debug)]
struct Row {
    mode: Mode,
    timed: bool,
    act: Act,
    then: Then,
    end: End,
    log: &'static [L],
    delta: Delta,
}

const fn row(
    mode: Mode,
    timed: bool,
    act: Act,
    then: Then,
    end: End,
    log: &'static [L],
    delta: Delta,
) -> Row {
    Row {
        mode,
        timed,
        act,
        then,
        end,
        log,
        delta,
    }
}

const T: bool = true;
const F: bool = false;
const SIGINT: i32 = libc::SIGINT;
const SIGKILL: i32 = libc::SIGKILL;

/// Every row. A timed wait maps the kernel's `-ERESTARTSYS` to `-ERESTARTNOHAND` (RNOH): a
/// handled signal fails the read with EINTR even under `SA_RESTART`, a stop and continue
/// restarts it. A fatal signal (SIGKILL, or SIGINT with no handler) ends a killable wait; an
/// uninterruptible one ends only by the write, and the signal acts on the way out.
#[rustfmt::skip]
const ROWS: &[Row] = &[
    // wait_mode=interruptible
    row(I, F, Write,           Ends,     Ret0(0),          &[Sleep, Awoken],                      WOKEN),
    row(I, F, Pending,         Ends,     Ret0(0),          &[Sleep, Awoken],                      WOKEN),
    row(I, F, Nonblock,        Ends,     Fails(libc::EAGAIN, 0), &[],                             WOULD_BLOCK),
    row(I, F, NonblockPending, Ends,     Ret0(0),          &[],                                   WOKEN),
    row(I, F, DFL,             Ends,     Killed(SIGINT),   &[Sleep, GaveUp(RSYS)],                INTERRUPTED),
    row(I, F, HND,             Ends,     Fails(libc::EINTR, 1), &[Sleep, GaveUp(RSYS)],           INTERRUPTED),
    row(I, F, RST,             Restarts, Ret0(1),          &[Sleep, GaveUp(RSYS), Sleep, Awoken], INTERRUPTED_THEN_WOKEN),
    row(I, F, Sigkill,         Ends,     Killed(SIGKILL),  &[Sleep, GaveUp(RSYS)],                INTERRUPTED),
    row(I, F, StopCont,        Restarts, Ret0(0),          &[Sleep, GaveUp(RSYS), Sleep, Awoken], INTERRUPTED_THEN_WOKEN),
    // wait_mode=interruptible timeout_ms=4000
    row(I, T, Write,           Ends,     Ret0(0),          &[Sleep, Awoken],                      WOKEN),
    row(I, T, Pending,         Ends,     Ret0(0),          &[Sleep, Awoken],                      WOKEN),
    row(I, T, Nonblock,        Ends,     Fails(libc::EAGAIN, 0), &[],                             WOULD_BLOCK),
    row(I, T, NonblockPending, Ends,     Ret0(0),          &[],                                   WOKEN),
    row(I, T, Expire,          Ends,     Fails(TMO, 0),    &[Sleep, GaveUp(TMO)],                 TIMED_OUT),
    row(I, T, DFL,             Ends,     Killed(SIGINT),   &[Sleep, GaveUp(RNOH)],                INTERRUPTED),
    row(I, T, HND,             Ends,     Fails(libc::EINTR, 1), &[Sleep, GaveUp(RNOH)],           INTERRUPTED),
    row(I, T, RST,             Ends,     Fails(libc::EINTR, 1), &[Sleep, GaveUp(RNOH)],           INTERRUPTED),
    row(I, T, Sigkill,         Ends,     Killed(SIGKILL),  &[Sleep, GaveUp(RNOH)],                INTERRUPTED),
    row(I, T, StopCont,        Restarts, Ret0(0),          &[Sleep, GaveUp(RNOH), Sleep, Awoken], INTERRUPTED_THEN_WOKEN),
    // wait_mode=killable
    row(K, F, Write,           Ends,     Ret0(0),          &[Sleep, Awoken],                      WOKEN),
    row(K, F, Pending,         Ends,     Ret0(0),          &[Sleep, Awoken],                      WOKEN),
    row(K, F, Nonblock,        Ends,     Fails(libc::EAGAIN, 0), &[],                             WOULD_BLOCK),
    row(K, F, NonblockPending, Ends,     Ret0(0),          &[],                                   WOKEN),
    row(K, F, DFL,             Ends,     Killed(SIGINT),   &[Sleep, GaveUp(RSYS)],                INTERRUPTED),
    row(K, F, HND,             Asleep,   Ret0(1),          &[Sleep, Awoken],                      WOKEN),
    row(K, F, RST,             Asleep,   Ret0(1),          &[Sleep, Awoken],                      WOKEN),
    row(K, F, Sigkill,         Ends,     Killed(SIGKILL),  &[Sleep, GaveUp(RSYS)],                INTERRUPTED),
    row(K, F, StopCont,        Asleep,   Ret0(0),          &[Sleep, Awoken],                      WOKEN),
    // wait_mode=killable timeout_ms=4000
    row(K, T, Write,           Ends,     Ret0(0),          &[Sleep, Awoken],                      WOKEN),
    row(K, T, Pending,         Ends,     Ret0(0),          &[Sleep, Awoken],                      WOKEN),
    row(K, T, Nonblock,        Ends,     Fails(libc::EAGAIN, 0), &[],                             WOULD_BLOCK),
    row(K, T, NonblockPending, Ends,     Ret0(0),          &[],                                   WOKEN),
    row(K, T, Expire,          Ends,     Fails(TMO, 0),    &[Sleep, GaveUp(TMO)],                 TIMED_OUT),
    row(K, T, DFL,             Ends,     Killed(SIGINT),   &[Sleep, GaveUp(RNOH)],                INTERRUPTED),
    row(K, T, HND,             Asleep,   Ret0(1),          &[Sleep, Awoken],                      WOKEN),
    row(K, T, RST,             Asleep,   Ret0(1),          &[Sleep, Awoken],                      WOKEN),
    row(K, T, Sigkill,         Ends,     Killed(SIGKILL),  &[Sleep, GaveUp(RNOH)],                INTERRUPTED),
    row(K, T, StopCont,        Asleep,   Ret0(0),          &[Sleep, Awoken],                      WOKEN),
    // wait_mode=uninterruptible
    row(U, F, Write,           Ends,     Ret0(0),          &[Sleep, Awoken],                      WOKEN),
    row(U, F, Pending,         Ends,     Ret0(0),          &[Sleep, Awoken],                      WOKEN),
    row(U, F, Nonblock,        Ends,     Fails(libc::EAGAIN, 0), &[],                             WOULD_BLOCK),
    row(U, F, NonblockPending, Ends,     Ret0(0),          &[],                                   WOKEN),
    row(U, F, DFL,             Asleep,   Killed(SIGINT),   &[Sleep, Awoken],                      WOKEN),
    row(U, F, HND,             Asleep,   Ret0(1),          &[Sleep, Awoken],                      WOKEN),
    row(U, F, RST,             Asleep,   Ret0(1),          &[Sleep, Awoken],                      WOKEN),
    row(U, F, Sigkill,         Asleep,   Killed(SIGKILL),  &[Sleep, Awoken],                      WOKEN),
    row(U, F, StopCont,        Asleep,   Ret0(0),          &[Sleep, Awoken],                      WOKEN),
    // wait_mode=uninterruptible timeout_ms=4000
    row(U, T, Write,           Ends,     Ret0(0),          &[Sleep, Awoken],                      WOKEN),
    row(U, T, Pending,         Ends,     Ret0(0),          &[Sleep, Awoken],                      WOKEN),
    row(U, T, Nonblock,        Ends,     Fails(libc::EAGAIN, 0), &[],                             WOULD_BLOCK),
    row(U, T, NonblockPending, Ends,     Ret0(0),          &[],                                   WOKEN),
    row(U, T, Expire,          Ends,     Fails(TMO, 0),    &[Sleep, GaveUp(TMO)],                 TIMED_OUT),
    row(U, T, DFL,             Asleep,   Killed(SIGINT),   &[Sleep, Awoken],                      WOKEN),
    row(U, T, HND,             Asleep,   Ret0(1),          &[Sleep, Awoken],                      WOKEN),
    row(U, T, RST,             Asleep,   Ret0(1),          &[Sleep, Awoken],                      WOKEN),
    row(U, T, Sigkill,         Asleep,   Killed(SIGKILL),  &[Sleep, Awoken],                      WOKEN),
    row(U, T, StopCont,        Asleep,   Ret0(0),          &[Sleep, Awoken],                      WOKEN),
];

/// The comm of every row's reader.
const COMM: &str = "ct-end";

/// The CPU the test and its readers share during the case.
const CPU: usize = 0;

/// Runs [`ROWS`], loading the module once per parameter set (in the table's order). The readers
/// run `SCHED_FIFO` on the test's CPU, so a woken reader runs (and logs) the moment a write wakes
/// it: the writer's "awakening the readers..." must already be in the log by then.
pub fn endings(ctx: &Ctx) -> CaseResult {
    let config = KernelConfig::running().ok();
    let symbolic = kconfig::symbolic_errname(config.as_ref()).map_err(CaseError::Skip)?;
    super::on_cpu(CPU, || run_rows(ctx, symbolic))
}

fn run_rows(ctx: &Ctx, symbolic: bool) -> CaseResult {
    let me = sys::getpid();
    let my_comm = sys::own_comm()?;
    let mut i = 0;
    while i < ROWS.len() {
        let (mode, timed) = (ROWS[i].mode, ROWS[i].timed);
        let params = format!(
            "wait_mode={} timeout_ms={}",
            mode.param(),
            if timed { TIMEOUT_MS } else { 0 }
        );
        ctx.load(&params)?;
        {
            let dev = ctx.open()?;
            let mut rd = Readers::new()?;
            while let Some(r) = ROWS.get(i).filter(|r| (r.mode, r.timed) == (mode, timed)) {
                let what = format!("row {} ({params}, {:?} -> {:?})", i + 1, r.act, r.end);
                let who = Who {
                    me,
                    my_comm: &my_comm,
                    symbolic,
                };
                within(&what, one_row(ctx, &dev, &mut rd, r, &who))?;
                i += 1;
            }
        }
        crate::module::unload_settled()?;
    }
    Ok(())
}

/// The test itself, and how the kernel prints errors.
struct Who<'a> {
    me: i32,
    my_comm: &'a str,
    symbolic: bool,
}

fn one_row(ctx: &Ctx, dev: &Dev, rd: &mut Readers, r: &Row, who: &Who<'_>) -> CaseResult {
    ctx.kmsg()
        .mark()
        .map_err(|e| format!("lseek(/dev/kmsg): {e}"))?;
    let before = ctx.status(dev)?;
    ensure!(
        before.pending == 0 && before.sleepers == 0 && before.all_done == 0,
        "STATUS before the row: {before:?}"
    );
    let mut writes = 0;
    let write = |writes: &mut usize| -> CaseResult {
        super::expect_ok(dev.write(b"x"), 1, "write(1 byte)")?;
        *writes += 1;
        Ok(())
    };
    if matches!(r.act, Pending | NonblockPending) {
        write(&mut writes)?;
        ensure_eq!(
            ctx.status(dev)?.pending,
            1,
            "STATUS.pending after the write left pending"
        );
    }
    let opts = ReaderOpts {
        nonblock: matches!(r.act, Nonblock | NonblockPending),
        sigint: match r.act {
            Sigint(d) => d,
            _ => OnSigint::Default,
        },
        rt_cpu: Some(CPU),
        ..ReaderOpts::default()
    };
    let pid = rd.spawn(COMM, opts)?;
    let asleep = r.mode.state();
    if matches!(r.act, Write | Sigint(_) | Sigkill | StopCont) {
        ctx.wait_asleep(pid, asleep)?;
        ctx.wait_sleepers(dev, 1)?;
    }
    match r.act {
        Write => write(&mut writes)?,
        Sigint(_) => kill(pid, libc::SIGINT, "SIGINT")?,
        Sigkill => kill(pid, libc::SIGKILL, "SIGKILL")?,
        StopCont => {
            kill(pid, libc::SIGSTOP, "SIGSTOP")?;
            if r.mode == I {
                // The stop ends the wait: the task stops (T), its read to be restarted.
                wait_stopped(pid)?;
            }
            rd.expect_silence(QUIET, "while stopped")?;
            kill(pid, libc::SIGCONT, "SIGCONT")?;
        }
        Pending | Nonblock | NonblockPending | Expire => {}
    }
    match r.then {
        Ends => {}
        Asleep | Restarts => {
            if r.then == Restarts {
                ctx.wait_events(pid, 2, "going to sleep", |e| *e == Event::Sleep)?;
            }
            ctx.wait_asleep(pid, asleep)?;
            ctx.wait_sleepers(dev, 1)?;
            rd.expect_silence(QUIET, "after the action (the read must still sleep)")?;
            let st = sys::proc_state(pid)?;
            ensure_eq!(st, asleep, "state of reader {pid} after the action");
            write(&mut writes)?;
        }
    }
    match r.end {
        Ret0(runs) => {
            let rep = rd.report_from(pid, WAIT, "the read's end")?;
            rep.expect_ok()?;
            ensure_eq!(rep.signals, runs, "SIGINT handler runs of reader {pid}");
            rd.reap_ok(pid, WAIT)?;
        }
        Fails(errno, runs) => {
            let rep = rd.report_from(pid, WAIT, "the read's end")?;
            rep.expect_err(errno)?;
            ensure_eq!(rep.signals, runs, "SIGINT handler runs of reader {pid}");
            ensure_eq!(rd.reap(pid, WAIT)?, Exit::Code(1), "exit of reader {pid}");
        }
        Killed(sig) => {
            ensure_eq!(
                rd.reap(pid, WAIT)?,
                Exit::Signal(sig),
                "end of reader {pid}"
            );
            rd.expect_silence(std::time::Duration::ZERO, "a killed reader")?;
        }
    }
    check_lines(ctx, r, pid, writes, who)?;
    let Delta(woken, interrupted, timed_out, would_block, completes) = r.delta;
    let want = CompleteStatus {
        reads_woken: before.reads_woken + woken,
        reads_interrupted: before.reads_interrupted + interrupted,
        reads_timed_out: before.reads_timed_out + timed_out,
        reads_would_block: before.reads_would_block + would_block,
        completes: before.completes + completes,
        ..super::zero()
    };
    ctx.expect_status(dev, want, "after the row")
}

/// The reader's lines are exactly the row's, the test's are one "awakening the readers..." per
/// write, and each write's line precedes the "awoken" it caused.
fn check_lines(ctx: &Ctx, r: &Row, pid: i32, writes: usize, who: &Who<'_>) -> CaseResult {
    let k = ctx.kmsg_now()?;
    let want: Vec<String> = r
        .log
        .iter()
        .map(|l| match l {
            Sleep => format!("process {pid} ({COMM}) going to sleep"),
            Awoken => format!("awoken {pid} ({COMM})"),
            GaveUp(e) => format!(
                "process {pid} ({COMM}) gave up waiting: {}",
                kconfig::error_text(*e, who.symbolic)
            ),
        })
        .collect();
    ensure_eq!(k.lines_of(pid), want, "kernel log lines of reader {pid}");
    let me = who.me;
    let mine = vec![format!("process {me} ({}) awakening the readers...", who.my_comm); writes];
    ensure_eq!(k.lines_of(me), mine, "kernel log lines of the writer {me}");
    if r.log.contains(&Awoken) && writes == 1 {
        let mut order: Vec<Step> = Vec::new();
        if matches!(r.act, Pending) {
            order.push(step(me, 0, Event::Awakening));
            order.push(step(pid, 0, Event::Sleep));
        } else {
            order.push(step(pid, 0, Event::Sleep));
            order.push(step(me, 0, Event::Awakening));
        }
        order.push(step(pid, 0, Event::Awoken));
        k.expect_order(&order).map_err(CaseError::Fail)?;
    } else if r.log.contains(&Awoken) {
        bail!("row with {writes} writes and an awoken line: the table is wrong");
    }
    Ok(())
}
