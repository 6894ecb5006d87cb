// SPDX-License-Identifier: GPL-2.0
//! Reads and writes through an io_uring ring (the `io-uring` crate), as modern servers make them.
//!
//! A blocking read is first issued inline with `IOCB_NOWAIT` (the file has `FMODE_NOWAIT`): the
//! driver finds nothing pending and fails it with `EAGAIN` (counted in `reads_would_block`); the
//! file cannot be polled, so io_uring hands the read to an io-wq worker of the submitting
//! process (comm `iou-wrk-<pid>`), which issues it blocking: that worker is the task that
//! sleeps, logs `going to sleep` and `awoken`, and is woken or interrupted
//! (`io_uring/rw.c` `__io_read`, `io_uring/io_uring.c` `io_wq_submit_work`). A read submitted
//! with `IOSQE_ASYNC` skips the inline try and goes to the worker at once ([`async_read`]).

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use super::file::fd_counters;
use super::{expect_ok, within, zero, Ctx, QUIET, WAIT};
use crate::ensure_eq;
use crate::error::{CaseResult, Context};
use crate::kmsg::Event;
use crate::sys::{self, Dev, Exit};
use crate::uapi::CompleteStatus;

mod ring;

use ring::{Ring, CANCEL, READ, WRITE};

/// The comm of the io-wq workers of process `tgid`.
fn worker_comm(tgid: i32) -> String {
    format!("iou-wrk-{tgid}")
}

/// Waits until an io-wq worker of `tgid` sleeps in the driver in `state` (its `going to sleep`
/// line is the last about it) and returns the worker's pid (thread id).
fn worker_asleep(ctx: &Ctx, tgid: i32, state: char) -> CaseResult<i32> {
    let comm = worker_comm(tgid);
    let mut pid = 0;
    sys::poll_until(WAIT, &format!("a 'going to sleep' line of {comm}"), || {
        let k = ctx.kmsg_now()?;
        let last = k
            .driver_lines()
            .into_iter()
            .rev()
            .find(|(_, d)| d.comm == comm && d.event == Event::Sleep);
        Ok(match last {
            Some((_, d)) => {
                pid = d.pid;
                Ok(())
            }
            None => Err("none yet".into()),
        })
    })?;
    ctx.wait_asleep(pid, state)?;
    Ok(pid)
}

/// The driver lines of the io-wq workers of process `tgid` (by comm, whichever worker it was)
/// that tell of their reads, in order, reading the log first.
fn worker_events(ctx: &Ctx, tgid: i32) -> CaseResult<Vec<Event>> {
    let comm = worker_comm(tgid);
    Ok(ctx
        .kmsg_now()?
        .driver_lines()
        .into_iter()
        .filter(|(_, d)| {
            d.comm == comm && matches!(d.event, Event::Sleep | Event::Awoken | Event::GaveUp(_))
        })
        .map(|(_, d)| d.event)
        .collect())
}

/// The sleeping state of a reader in `mode`.
fn asleep_state(mode: &str) -> char {
    if mode == "interruptible" {
        'S'
    } else {
        'D'
    }
}

/// A blocking read through the ring: the submitter's inline try fails with `EAGAIN` (counted as a
/// read that would block), an io-wq worker sleeps, a `write()` ends the read with res 0 and the
/// worker logs `awoken`. Then a read with a completion pending completes at once, inline, with
/// no sleep. The file's fdinfo counts every call the driver received.
pub fn read(ctx: &Ctx) -> CaseResult {
    let rd = ctx.open()?;
    let wr = ctx.open()?;
    let mut ring = Ring::new()?;
    let me = sys::getpid();
    within("a blocking read", read_sleeps(ctx, &rd, &wr, &mut ring, me))?;
    within(
        "a read of a pending completion",
        read_pending(ctx, &rd, &wr, &mut ring, me),
    )
}

/// A write on `wr` completes the read that worker `w` of submitter `me` sleeps in: its CQE is 0,
/// the worker logged `going to sleep` then `awoken`, and the submitter itself never slept.
fn write_wakes_worker(ctx: &Ctx, wr: &Dev, ring: &mut Ring, w: i32, me: i32) -> CaseResult {
    expect_ok(wr.write(b"x"), 1, "write(1 byte)")?;
    ring.expect_cqe(READ, 0, "the read after the write")?;
    ctx.wait_events(w, 1, "awoken", |e| *e == Event::Awoken)?;
    ensure_eq!(
        ctx.read_events(w)?,
        [Event::Sleep, Event::Awoken],
        "driver lines of worker {w} ({})",
        worker_comm(me)
    );
    ensure_eq!(
        ctx.count_events(me, |e| *e == Event::Sleep)?,
        0,
        "'going to sleep' lines of the submitter {me}"
    );
    Ok(())
}

fn read_sleeps(ctx: &Ctx, rd: &Dev, wr: &Dev, ring: &mut Ring, me: i32) -> CaseResult {
    ring.read(rd, 0)?;
    let w = worker_asleep(ctx, me, 'S')?;
    ctx.wait_sleepers(rd, 1)?;
    ring.expect_no_cqe(QUIET, "with no write")?;
    let want = CompleteStatus {
        sleepers: 1,
        reads_would_block: 1,
        ..zero()
    };
    ctx.expect_status(rd, want, "while the worker sleeps")?;
    write_wakes_worker(ctx, wr, ring, w, me)?;
    let want = CompleteStatus {
        reads_woken: 1,
        reads_would_block: 1,
        completes: 1,
        ..zero()
    };
    ctx.expect_status(rd, want, "after the read completed")?;
    ensure_eq!(
        fd_counters(rd.raw())?,
        [2, 1, 0],
        "fdinfo [reads, reads_woken, writes] of the ring's file (the inline try and the worker's read)"
    );
    Ok(())
}

fn read_pending(ctx: &Ctx, rd: &Dev, wr: &Dev, ring: &mut Ring, me: i32) -> CaseResult {
    expect_ok(wr.write(b"x"), 1, "write(1 byte)")?;
    ring.read(rd, 0)?;
    ring.expect_cqe(READ, 0, "the read")?;
    let want = CompleteStatus {
        reads_woken: 2,
        reads_would_block: 1,
        completes: 2,
        ..zero()
    };
    ctx.expect_status(rd, want, "after the pending read")?;
    ensure_eq!(
        fd_counters(rd.raw())?,
        [3, 2, 0],
        "fdinfo [reads, reads_woken, writes] of the ring's file"
    );
    let sleeps = ctx.count_events(me, |e| *e == Event::Sleep)?;
    let kmsg = ctx.kmsg_now()?;
    let worker_sleeps = kmsg
        .driver_lines()
        .iter()
        .filter(|(_, d)| d.comm == worker_comm(me) && d.event == Event::Sleep)
        .count();
    ensure_eq!(
        (sleeps, worker_sleeps),
        (0, 1),
        "'going to sleep' lines of the submitter and of its workers (the pending read never slept)"
    );
    Ok(())
}

/// A blocking read submitted with `IOSQE_ASYNC`: io_uring queues it to io-wq at once, with no
/// inline try (`io_uring/io_uring.c` `io_submit_sqe`, `io_queue_sqe_fallback`), and the worker
/// issues it blocking: `io_wq_submit_work` asks for a nonblocking issue only of a file that can be
/// polled, which `/dev/complete` cannot. So the driver gets one call where [`read`] makes two:
/// the worker sleeps (`going to sleep` from `iou-wrk-<pid>`) and nothing counts as a read that
/// would block; a `write()` ends the read with res 0 (`awoken`, one read woken, fdinfo
/// `complete_reads` 1). A read of a pending completion also runs in the worker, through the
/// blocking path: its `going to sleep` and `awoken` lines, no sleep, one call.
pub fn async_read(ctx: &Ctx) -> CaseResult {
    let rd = ctx.open()?;
    let wr = ctx.open()?;
    let mut ring = Ring::new()?;
    let me = sys::getpid();
    within(
        "a blocking read with IOSQE_ASYNC",
        async_read_sleeps(ctx, &rd, &wr, &mut ring, me),
    )?;
    within(
        "a read of a pending completion with IOSQE_ASYNC",
        async_read_pending(ctx, &rd, &wr, &mut ring, me),
    )
}

fn async_read_sleeps(ctx: &Ctx, rd: &Dev, wr: &Dev, ring: &mut Ring, me: i32) -> CaseResult {
    ring.read_async(rd)?;
    let w = worker_asleep(ctx, me, 'S')?;
    ctx.wait_sleepers(rd, 1)?;
    ring.expect_no_cqe(QUIET, "with no write")?;
    let want = CompleteStatus {
        sleepers: 1,
        ..zero()
    };
    ctx.expect_status(rd, want, "while the worker sleeps (no inline try)")?;
    ensure_eq!(
        fd_counters(rd.raw())?,
        [1, 0, 0],
        "fdinfo [reads, reads_woken, writes] of the ring's file while the worker sleeps"
    );
    write_wakes_worker(ctx, wr, ring, w, me)?;
    let want = CompleteStatus {
        reads_woken: 1,
        completes: 1,
        ..zero()
    };
    ctx.expect_status(rd, want, "after the read completed")?;
    ensure_eq!(
        fd_counters(rd.raw())?,
        [1, 1, 0],
        "fdinfo [reads, reads_woken, writes] of the ring's file (the worker's read only)"
    );
    ensure_eq!(
        fd_counters(wr.raw())?,
        [0, 0, 1],
        "fdinfo [reads, reads_woken, writes] of the written file"
    );
    Ok(())
}

fn async_read_pending(ctx: &Ctx, rd: &Dev, wr: &Dev, ring: &mut Ring, me: i32) -> CaseResult {
    expect_ok(wr.write(b"x"), 1, "write(1 byte)")?;
    ring.read_async(rd)?;
    ring.expect_cqe(READ, 0, "the read")?;
    let want = CompleteStatus {
        reads_woken: 2,
        completes: 2,
        ..zero()
    };
    ctx.expect_status(rd, want, "after the pending read")?;
    ensure_eq!(
        fd_counters(rd.raw())?,
        [2, 2, 0],
        "fdinfo [reads, reads_woken, writes] of the ring's file"
    );
    ensure_eq!(
        fd_counters(wr.raw())?,
        [0, 0, 2],
        "fdinfo [reads, reads_woken, writes] of the written file"
    );
    ensure_eq!(
        worker_events(ctx, me)?,
        [Event::Sleep, Event::Awoken, Event::Sleep, Event::Awoken],
        "driver lines of the workers ({}) of both reads",
        worker_comm(me)
    );
    ensure_eq!(
        ctx.count_events(me, |e| *e == Event::Sleep)?,
        0,
        "'going to sleep' lines of the submitter {me}"
    );
    Ok(())
}

/// Reads that must not sleep, through the ring: on a file opened `O_NONBLOCK`, and with
/// `RWF_NOWAIT` in the SQE's `rw_flags`, each completes with `-EAGAIN` with nothing pending and
/// with 0 when a completion is pending; nothing sleeps. The `O_NONBLOCK` read reaches the driver
/// twice (inline, then from io-wq: io_uring retries a file that supports `FMODE_NOWAIT` even when
/// it is `O_NONBLOCK`); `RWF_NOWAIT` once.
pub fn nonblock(ctx: &Ctx) -> CaseResult {
    let nb = ctx.open_nb()?;
    let dev = ctx.open()?;
    let mut ring = Ring::new()?;
    ring.read(&nb, 0)?;
    ring.expect_cqe(READ, -libc::EAGAIN, "O_NONBLOCK read with nothing pending")?;
    let nb_calls = fd_counters(nb.raw())?;
    let mut want = CompleteStatus {
        reads_would_block: nb_calls[0],
        ..zero()
    };
    ctx.expect_status(&dev, want, "after the O_NONBLOCK read")?;
    ensure_eq!(
        nb_calls,
        [2, 0, 0],
        "fdinfo [reads, reads_woken, writes] of the O_NONBLOCK file"
    );
    ring.read(&dev, libc::RWF_NOWAIT)?;
    ring.expect_cqe(READ, -libc::EAGAIN, "RWF_NOWAIT read with nothing pending")?;
    want.reads_would_block += 1;
    ctx.expect_status(&dev, want, "after the RWF_NOWAIT read")?;
    ensure_eq!(
        fd_counters(dev.raw())?,
        [1, 0, 0],
        "fdinfo [reads, reads_woken, writes] of the file read with RWF_NOWAIT"
    );
    expect_ok(dev.write(b"xy"), 2, "write(2 bytes)")?;
    expect_ok(dev.write(b"xy"), 2, "write(2 bytes)")?;
    ring.read(&nb, 0)?;
    ring.expect_cqe(READ, 0, "O_NONBLOCK read with one pending")?;
    ring.read(&dev, libc::RWF_NOWAIT)?;
    ring.expect_cqe(READ, 0, "RWF_NOWAIT read with one pending")?;
    want.reads_woken = 2;
    want.completes = 2;
    ctx.expect_status(&dev, want, "after the two reads of pending completions")?;
    let me = sys::getpid();
    let kmsg = ctx.kmsg_now()?;
    let sleeps = kmsg
        .driver_lines()
        .iter()
        .filter(|(_, d)| (d.pid == me || d.comm == worker_comm(me)) && d.event == Event::Sleep)
        .count();
    ensure_eq!(
        sleeps,
        0,
        "'going to sleep' lines of the submitter and its workers"
    );
    Ok(())
}

/// `IORING_OP_ASYNC_CANCEL` of a read asleep in the driver, in every wait mode, with and without
/// `timeout_ms`. The read is running in an io-wq worker, so the cancel completes with
/// `-EALREADY` and can only signal the worker (`TIF_NOTIFY_SIGNAL`, a wake-up of
/// `TASK_INTERRUPTIBLE` only: `io_uring/io-wq.c` `__io_wq_worker_cancel`). Interruptible: the
/// wait ends with `-ERESTARTSYS` (`-ERESTARTNOHAND` when timed), which io_uring turns into
/// `-EINTR` (`io_fixup_restart_res`); nothing is consumed. Killable and uninterruptible: the
/// worker sleeps on, and the next write completes the read with 0.
pub fn cancel(ctx: &Ctx) -> CaseResult {
    for mode in ["interruptible", "killable", "uninterruptible"] {
        for timeout_ms in [0, 60_000] {
            let what = format!("wait_mode={mode} timeout_ms={timeout_ms}");
            within(&what, cancel_one(ctx, mode, timeout_ms))?;
        }
    }
    Ok(())
}

fn cancel_one(ctx: &Ctx, mode: &str, timeout_ms: u32) -> CaseResult {
    ctx.load(&format!("wait_mode={mode} timeout_ms={timeout_ms}"))?;
    ctx.kmsg().mark().ctx("lseek(/dev/kmsg, SEEK_END)")?;
    {
        let dev = ctx.open()?;
        let _release = Release;
        let mut ring = Ring::new()?;
        let me = sys::getpid();
        ring.read(&dev, 0)?;
        let w = worker_asleep(ctx, me, asleep_state(mode))?;
        ring.cancel_read()?;
        ring.expect_cqe(CANCEL, -libc::EALREADY, "the cancel")?;
        let mut want = CompleteStatus {
            reads_would_block: 1,
            ..zero()
        };
        if mode == "interruptible" {
            ring.expect_cqe(READ, -libc::EINTR, "the cancelled read")?;
            let why = if timeout_ms == 0 {
                "ERESTARTSYS"
            } else {
                "ERESTARTNOHAND"
            };
            ctx.wait_events(w, 1, "gave up waiting", |e| matches!(e, Event::GaveUp(_)))?;
            ensure_eq!(
                ctx.read_events(w)?,
                [Event::Sleep, Event::GaveUp(why.into())],
                "driver lines of worker {w}"
            );
            want.reads_interrupted = 1;
            ctx.expect_status(&dev, want, "after the cancel")?;
            // Nothing was consumed: a write is pending for the next read.
            expect_ok(dev.write(b"x"), 1, "write(1 byte)")?;
            want.pending = 1;
            want.completes = 1;
            ctx.expect_status(&dev, want, "after a write")?;
        } else {
            ring.expect_no_cqe(QUIET, "the read after the cancel")?;
            ensure_eq!(
                sys::proc_state(w)?,
                asleep_state(mode),
                "state of worker {w} after the cancel"
            );
            want.sleepers = 1;
            ctx.expect_status(&dev, want, "after the cancel")?;
            expect_ok(dev.write(b"x"), 1, "write(1 byte)")?;
            ring.expect_cqe(READ, 0, "the read after the write")?;
            ctx.wait_events(w, 1, "awoken", |e| *e == Event::Awoken)?;
            ensure_eq!(
                ctx.read_events(w)?,
                [Event::Sleep, Event::Awoken],
                "driver lines of worker {w}"
            );
            want.sleepers = 0;
            want.reads_woken = 1;
            want.completes = 1;
            ctx.expect_status(&dev, want, "after the write")?;
        }
    }
    crate::module::unload_settled()
}

/// Writes through the ring: res is the length, one `complete()` and one log line per write,
/// counted once (a write never blocks, so there is no second try from io-wq).
pub fn write(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    let mut ring = Ring::new()?;
    ring.write(&dev, 5)?;
    ring.expect_cqe(WRITE, 5, "a 5-byte write")?;
    ring.write(&dev, 0)?;
    ring.expect_cqe(WRITE, 0, "a zero-length write")?;
    let want = CompleteStatus {
        pending: 2,
        completes: 2,
        ..zero()
    };
    ctx.expect_status(&dev, want, "after two writes")?;
    ensure_eq!(
        fd_counters(dev.raw())?,
        [0, 0, 2],
        "fdinfo [reads, reads_woken, writes]"
    );
    let me = sys::getpid();
    let k = ctx.kmsg_now()?;
    let writers: Vec<(i32, String)> = k
        .driver_lines()
        .into_iter()
        .filter(|(_, d)| d.event == Event::Awakening)
        .map(|(_, d)| (d.pid, d.comm))
        .collect();
    ensure_eq!(
        writers.iter().map(|w| w.0).collect::<Vec<_>>(),
        [me, me],
        "pids of the 'awakening the readers...' lines {writers:?} (written inline by the submitter)"
    );
    Ok(())
}

/// On drop, `COMPLETE_ALL`: releases a read left asleep by a failed step, so the module unloads.
struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        if let Ok(dev) = Dev::open(true) {
            let _ = dev.ioctl(sys::IOC_COMPLETE_ALL, 0);
        }
    }
}

/// How a child lets go of its ring with a read asleep in the driver.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LetGo {
    /// `close()` of the ring, the process lives on.
    Close,
    /// The process exits with the ring open.
    Exit,
}

/// The child of [`ends`]: sets up a ring, submits a blocking read of `/dev/complete`, reports
/// `r` on `tx`, then waits for a byte on `rx`. Then, with [`LetGo::Exit`], it exits; with
/// [`LetGo::Close`] it closes the ring, reports `c` and waits for another byte before it exits.
fn ring_child(tx: &OwnedFd, rx: &OwnedFd, let_go: LetGo) -> i32 {
    let wait = || match sys::read_fd_timeout(rx.as_raw_fd(), Duration::from_secs(60)) {
        Ok(b) if !b.is_empty() => Ok(()),
        _ => Err(()),
    };
    let Ok(dev) = Dev::open(false) else { return 2 };
    let Ok(mut ring) = Ring::new() else { return 3 };
    if ring.read(&dev, 0).is_err() || sys::write_fd(tx.as_raw_fd(), b"r").is_err() {
        return 4;
    }
    if wait().is_err() {
        return 5;
    }
    if let_go == LetGo::Close {
        drop(ring);
        if sys::write_fd(tx.as_raw_fd(), b"c").is_err() || wait().is_err() {
            return 6;
        }
    }
    0
}

/// What becomes of a read asleep in an io-wq worker when its ring is closed, or its process
/// exits, in every wait mode. Interruptible: io_uring cancels it (the worker gives up with
/// `ERESTARTSYS`), the close or exit goes on at once. Killable: closing the ring cannot end the
/// sleep (the read waits for a write), but the exit can: `exit_group()` sends every thread,
/// the io-wq worker too, a `SIGKILL`. Uninterruptible: the read waits for a write either way, and
/// the exit itself waits for the worker (`do_exit()`, `io_uring_files_cancel()`,
/// `io_wq_put_and_exit()`: state D, in waits of half `hung_task_timeout_secs` so that the
/// hung-task detector stays quiet): the process is not reaped until the write.
pub fn ends(ctx: &Ctx) -> CaseResult {
    for mode in ["interruptible", "killable", "uninterruptible"] {
        for let_go in [LetGo::Close, LetGo::Exit] {
            let how = if let_go == LetGo::Close {
                "ring closed"
            } else {
                "process exits"
            };
            within(
                &format!("wait_mode={mode}, {how}"),
                ends_one(ctx, mode, let_go),
            )?;
        }
    }
    Ok(())
}

fn ends_one(ctx: &Ctx, mode: &str, let_go: LetGo) -> CaseResult {
    ctx.load(&format!("wait_mode={mode}"))?;
    ctx.kmsg().mark().ctx("lseek(/dev/kmsg, SEEK_END)")?;
    {
        let dev = ctx.open()?;
        let (up_rx, up_tx) = sys::pipe().ctx("pipe2")?;
        let (down_rx, down_tx) = sys::pipe().ctx("pipe2")?;
        let child = Child(
            sys::fork_child("ct-uring", || ring_child(&up_tx, &down_rx, let_go))
                .ctx("fork the ring's process")?,
        );
        drop(up_tx);
        let got = sys::read_fd_timeout(up_rx.as_raw_fd(), WAIT).ctx("read from the child")?;
        ensure_eq!(got, b"r", "the child's report that its read is submitted");
        let w = worker_asleep(ctx, child.0, asleep_state(mode))?;
        // Whether the read ends without a write.
        let ends_alone = mode == "interruptible" || (mode == "killable" && let_go == LetGo::Exit);
        sys::write_fd(down_tx.as_raw_fd(), b"x").ctx("tell the child to let go")?;
        if let_go == LetGo::Close {
            let got = sys::read_fd_timeout(up_rx.as_raw_fd(), WAIT).ctx("read from the child")?;
            ensure_eq!(got, b"c", "the child's report that it closed the ring");
        }
        let mut want = CompleteStatus {
            reads_would_block: 1,
            ..zero()
        };
        if ends_alone {
            ctx.wait_events(w, 1, "gave up waiting", |e| matches!(e, Event::GaveUp(_)))?;
            ensure_eq!(
                ctx.read_events(w)?,
                [Event::Sleep, Event::GaveUp("ERESTARTSYS".into())],
                "driver lines of worker {w}"
            );
            want.reads_interrupted = 1;
        } else {
            if let_go == LetGo::Exit {
                // The process is in do_exit(), in D until its io-wq worker is done.
                let pid = child.0;
                sys::poll_until(WAIT, &format!("process {pid} exiting, in state D"), || {
                    let (flags, st) = (sys::proc_flags(pid)?, sys::proc_state(pid)?);
                    Ok(if flags & sys::PF_POSTCOREDUMP != 0 && st == 'D' {
                        Ok(())
                    } else {
                        Err(format!("flags {flags:#x}, state {st}"))
                    })
                })?;
            }
            std::thread::sleep(QUIET);
            ensure_eq!(
                ctx.read_events(w)?,
                [Event::Sleep],
                "driver lines of worker {w} before any write"
            );
            ensure_eq!(
                sys::proc_state(w)?,
                asleep_state(mode),
                "state of worker {w}"
            );
            if let_go == LetGo::Exit {
                ensure_eq!(
                    sys::wait_exit(child.0, Duration::ZERO).ctx("waitpid")?,
                    None,
                    "end of the exiting process {} before the write",
                    child.0
                );
            }
            want.sleepers = 1;
            ctx.expect_status(&dev, want, "before the write")?;
            expect_ok(dev.write(b"x"), 1, "write(1 byte)")?;
            ctx.wait_events(w, 1, "awoken", |e| *e == Event::Awoken)?;
            ensure_eq!(
                ctx.read_events(w)?,
                [Event::Sleep, Event::Awoken],
                "driver lines of worker {w}"
            );
            want.sleepers = 0;
            want.reads_woken = 1;
            want.completes = 1;
        }
        if let_go == LetGo::Close {
            sys::write_fd(down_tx.as_raw_fd(), b"x").ctx("let the child exit")?;
        }
        let end = sys::wait_exit(child.0, WAIT).ctx("waitpid")?;
        ensure_eq!(
            end,
            Some(Exit::Code(0)),
            "end of the ring's process {}",
            child.0
        );
        std::mem::forget(child);
        ctx.expect_status(&dev, want, "after the process ended")?;
    }
    crate::module::unload_settled()
}

/// A child process that, on drop, is released (`COMPLETE_ALL`, `SIGKILL`) and reaped.
struct Child(i32);

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(dev) = Dev::open(true) {
            let _ = dev.ioctl(sys::IOC_COMPLETE_ALL, 0);
        }
        let _ = sys::kill(self.0, libc::SIGKILL);
        let _ = sys::wait_exit(self.0, Duration::from_secs(10));
    }
}
