// SPDX-License-Identifier: GPL-2.0
//! Signals against sleeping readers (`wait_mode=interruptible`).

use super::{expect_errno, expect_ok, within, zero, Ctx, QUIET, WAIT};
use crate::ensure_eq;
use crate::error::CaseResult;
use crate::kmsg::Event;
use crate::readers::{OnSigint, ReaderOpts, Readers};
use crate::sys::{self, Dev, Exit};
use crate::uapi::CompleteStatus;

fn opts(sigint: OnSigint) -> ReaderOpts {
    ReaderOpts {
        sigint,
        ..ReaderOpts::default()
    }
}

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

fn gave_up(e: &Event) -> bool {
    matches!(e, Event::GaveUp(_))
}

/// SIGINT without `SA_RESTART` fails the read with EINTR; with `SA_RESTART` the read sleeps again
/// and a later write wakes it; SIGKILL ends a sleeper; SIGSTOP/SIGCONT leave it asleep (the read
/// restarts transparently). Interrupted reads consume nothing.
pub fn read_ends(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    let mut rd = Readers::new()?;
    within(
        "SIGINT without SA_RESTART",
        sigint_eintr(ctx, &dev, &mut rd),
    )?;
    within("SIGINT with SA_RESTART", sigint_restart(ctx, &dev, &mut rd))?;
    within("SIGKILL", sigkill(ctx, &dev, &mut rd))?;
    within("after interrupted reads", nothing_consumed(ctx, &dev))?;
    within("SIGSTOP/SIGCONT", stop_cont(ctx, &dev, &mut rd))
}

fn sigint_eintr(ctx: &Ctx, dev: &Dev, rd: &mut Readers) -> CaseResult {
    let pid = rd.spawn("ct-sigint", opts(OnSigint::Handler))?;
    ctx.wait_asleep(pid, 'S')?;
    kill(pid, libc::SIGINT, "SIGINT")?;
    let r = rd.report_from(pid, WAIT, "after SIGINT")?;
    r.expect_err(libc::EINTR)?;
    ensure_eq!(r.signals, 1, "handler runs of reader {pid}");
    ensure_eq!(rd.reap(pid, WAIT)?, Exit::Code(1), "exit of reader {pid}");
    ctx.wait_events(pid, 1, "gave up waiting", gave_up)?;
    let want = CompleteStatus {
        reads_interrupted: 1,
        ..zero()
    };
    ctx.expect_status(dev, want, "after EINTR")
}

fn sigint_restart(ctx: &Ctx, dev: &Dev, rd: &mut Readers) -> CaseResult {
    let pid = rd.spawn("ct-sigrestart", opts(OnSigint::HandlerRestart))?;
    ctx.wait_asleep(pid, 'S')?;
    kill(pid, libc::SIGINT, "SIGINT")?;
    ctx.wait_events(pid, 1, "gave up waiting", gave_up)?;
    ctx.wait_events(pid, 2, "going to sleep", |e| *e == Event::Sleep)?;
    ctx.wait_asleep(pid, 'S')?;
    ctx.wait_sleepers(dev, 1)?;
    rd.expect_silence(QUIET, "the restarted read")?;
    expect_ok(dev.write(b"x"), 1, "write(1 byte)")?;
    let r = rd.report_from(pid, WAIT, "after the write")?;
    r.expect_ok()?;
    ensure_eq!(r.signals, 1, "handler runs of reader {pid}");
    rd.reap_ok(pid, WAIT)?;
    let want = CompleteStatus {
        reads_woken: 1,
        reads_interrupted: 2,
        completes: 1,
        ..zero()
    };
    ctx.expect_status(dev, want, "after the restarted read was woken")
}

fn sigkill(ctx: &Ctx, dev: &Dev, rd: &mut Readers) -> CaseResult {
    let pid = rd.spawn("ct-sigkill", ReaderOpts::default())?;
    ctx.wait_asleep(pid, 'S')?;
    kill(pid, libc::SIGKILL, "SIGKILL")?;
    ensure_eq!(
        rd.reap(pid, WAIT)?,
        Exit::Signal(libc::SIGKILL),
        "end of reader {pid}"
    );
    let want = CompleteStatus {
        reads_woken: 1,
        reads_interrupted: 3,
        completes: 1,
        ..zero()
    };
    ctx.expect_status(dev, want, "after SIGKILL")
}

fn nothing_consumed(ctx: &Ctx, dev: &Dev) -> CaseResult {
    let nb = ctx.open_nb()?;
    expect_errno(nb.read(1), libc::EAGAIN, "O_NONBLOCK read before the write")?;
    expect_ok(dev.write(b"x"), 1, "write(1 byte)")?;
    expect_ok(nb.read(1), 0, "first O_NONBLOCK read after one write")?;
    expect_errno(
        nb.read(1),
        libc::EAGAIN,
        "second O_NONBLOCK read after one write",
    )?;
    let want = CompleteStatus {
        reads_woken: 2,
        reads_interrupted: 3,
        reads_would_block: 2,
        completes: 2,
        ..zero()
    };
    ctx.expect_status(dev, want, "after one write and two O_NONBLOCK reads")
}

fn stop_cont(ctx: &Ctx, dev: &Dev, rd: &mut Readers) -> CaseResult {
    let pid = rd.spawn("ct-sigstop", ReaderOpts::default())?;
    ctx.wait_asleep(pid, 'S')?;
    kill(pid, libc::SIGSTOP, "SIGSTOP")?;
    wait_stopped(pid)?;
    rd.expect_silence(QUIET, "while stopped")?;
    kill(pid, libc::SIGCONT, "SIGCONT")?;
    // The stop ended the wait with -ERESTARTSYS; with no handler the read restarts and sleeps.
    ctx.wait_events(pid, 2, "going to sleep", |e| *e == Event::Sleep)?;
    ctx.wait_asleep(pid, 'S')?;
    ctx.wait_sleepers(dev, 1)?;
    rd.expect_silence(QUIET, "after SIGCONT")?;
    expect_ok(dev.write(b"x"), 1, "write(1 byte)")?;
    rd.report_from(pid, WAIT, "after the write")?.expect_ok()?;
    rd.reap_ok(pid, WAIT)?;
    let want = CompleteStatus {
        reads_woken: 3,
        reads_interrupted: 4,
        reads_would_block: 2,
        completes: 3,
        ..zero()
    };
    ctx.expect_status(dev, want, "after the stopped reader was woken")
}

/// Ctrl-Z and `fg` (SIGSTOP, then SIGCONT) during a read, in every wait mode, with and without
/// `timeout_ms`: the read is not failed by it. It goes on (killable, uninterruptible: the stop
/// waits for the wait to end) or restarts (interruptible: no handler ran), and the write that
/// comes after the continue ends it with success. Before `-ERESTARTNOHAND` a timed
/// interruptible read failed with EINTR here.
pub fn stop_cont_modes(ctx: &Ctx) -> CaseResult {
    for mode in ["interruptible", "killable", "uninterruptible"] {
        for timeout_ms in [0, 60_000] {
            let what = format!("wait_mode={mode} timeout_ms={timeout_ms}");
            within(&what, stop_cont_one(ctx, mode, timeout_ms))?;
        }
    }
    Ok(())
}

fn stop_cont_one(ctx: &Ctx, mode: &str, timeout_ms: u32) -> CaseResult {
    ctx.load(&format!("wait_mode={mode} timeout_ms={timeout_ms}"))?;
    {
        let dev = ctx.open()?;
        let mut rd = Readers::new()?;
        let pid = rd.spawn("ct-stopcont", ReaderOpts::default())?;
        let asleep = if mode == "interruptible" { 'S' } else { 'D' };
        ctx.wait_asleep(pid, asleep)?;
        kill(pid, libc::SIGSTOP, "SIGSTOP")?;
        if mode == "interruptible" {
            // The stop ends the wait: the task stops (T) with its read to be restarted.
            wait_stopped(pid)?;
        }
        rd.expect_silence(QUIET, "while stopped")?;
        kill(pid, libc::SIGCONT, "SIGCONT")?;
        ctx.wait_asleep(pid, asleep)?;
        ctx.wait_sleepers(&dev, 1)?;
        rd.expect_silence(QUIET, "after SIGCONT")?;
        expect_ok(dev.write(b"x"), 1, "write(1 byte)")?;
        rd.report_from(pid, WAIT, "after the write")?.expect_ok()?;
        rd.reap_ok(pid, WAIT)?;
        let interrupted = u64::from(mode == "interruptible");
        let want = CompleteStatus {
            reads_woken: 1,
            reads_interrupted: interrupted,
            completes: 1,
            ..zero()
        };
        ctx.expect_status(&dev, want, "after the continued reader was woken")?;
    }
    crate::module::unload_settled()
}
