// SPDX-License-Identifier: GPL-2.0
//! The ioctls: `COMPLETE_ALL`, `REINIT`, `STATUS`, and unknown commands.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{expect_errno, expect_ok, zero, Ctx, WAIT};
use crate::error::{CaseResult, Context};
use crate::kmsg::{step, Event};
use crate::readers::{OnSigint, ReaderOpts, Readers, Report};
use crate::sys::{self, Dev, Mapping};
use crate::uapi::{self, CompleteStatus};
use crate::{bail, ensure, ensure_eq};

/// Sleepers woken at once by `COMPLETE_ALL`.
const SLEEPERS: usize = 4;

/// `COMPLETE_ALL` wakes every sleeper, and every later read passes at once. The sleepers run
/// `SCHED_FIFO` on the test's CPU, so each runs the moment it is woken: "completing all" must be
/// in the log before every "awoken" it caused.
pub fn complete_all(ctx: &Ctx) -> CaseResult {
    super::on_cpu(0, || complete_all_pinned(ctx))
}

fn complete_all_pinned(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    let nb = ctx.open_nb()?;
    let mut rd = Readers::new()?;
    let mut pids = BTreeSet::new();
    for i in 0..SLEEPERS {
        let opts = ReaderOpts {
            rt_cpu: Some(0),
            ..ReaderOpts::default()
        };
        let pid = rd.spawn(&format!("ct-all{i}"), opts)?;
        ctx.wait_asleep(pid, 'S')?;
        pids.insert(pid);
    }
    ctx.wait_sleepers(&dev, SLEEPERS as u64)?;
    expect_ok(
        dev.ioctl(sys::IOC_COMPLETE_ALL, 0),
        0,
        "ioctl(COMPLETE_ALL)",
    )?;
    let mut woken = BTreeSet::new();
    for _ in 0..SLEEPERS {
        match rd.next_report(WAIT)? {
            Some(r) => {
                r.expect_ok()?;
                woken.insert(r.pid);
            }
            None => bail!("COMPLETE_ALL woke only {woken:?} of {pids:?} within {WAIT:?}"),
        }
    }
    ensure_eq!(woken, pids, "readers woken by COMPLETE_ALL");
    for &pid in &pids {
        rd.reap_ok(pid, WAIT)?;
    }
    let me = sys::getpid();
    ensure_eq!(
        ctx.count_events(me, |e| *e == Event::CompleteAll)?,
        1,
        "'completing all' lines of {me}"
    );
    {
        let k = ctx.kmsg_now()?;
        for &pid in &pids {
            k.expect_order(&[
                step(pid, 0, Event::Sleep),
                step(me, 0, Event::CompleteAll),
                step(pid, 0, Event::Awoken),
            ])
            .map_err(|e| format!("COMPLETE_ALL and the readers it woke, in the log: {e}"))?;
        }
    }
    let mut want = CompleteStatus {
        all_done: 1,
        reads_woken: SLEEPERS as u64,
        ..zero()
    };
    ctx.expect_status(&dev, want, "after COMPLETE_ALL")?;
    for i in 0..3 {
        expect_ok(
            nb.read(1),
            0,
            &format!("O_NONBLOCK read #{i} after COMPLETE_ALL"),
        )?;
    }
    let start = Instant::now();
    expect_ok(
        sys::guarded_read(&dev, 1, 10),
        0,
        "blocking read after COMPLETE_ALL",
    )?;
    ensure!(
        start.elapsed() < Duration::from_secs(2),
        "blocking read after COMPLETE_ALL took {:?}",
        start.elapsed()
    );
    let pid = rd.spawn("ct-late", ReaderOpts::default())?;
    rd.report_from(pid, WAIT, "reader started after COMPLETE_ALL")?
        .expect_ok()?;
    rd.reap_ok(pid, WAIT)?;
    want.reads_woken += 5;
    ctx.expect_status(&dev, want, "after five more reads")?;
    expect_ok(dev.write(b"x"), 1, "write after COMPLETE_ALL")?;
    want.completes = 1;
    ctx.expect_status(&dev, want, "after a write (still all done)")
}

/// `REINIT` forgets pending completions and undoes `COMPLETE_ALL`: reads block again.
pub fn reinit(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    let nb = ctx.open_nb()?;
    for i in 0..3 {
        expect_ok(dev.write(b"x"), 1, &format!("write #{i}"))?;
    }
    let mut want = CompleteStatus {
        pending: 3,
        completes: 3,
        ..zero()
    };
    ctx.expect_status(&dev, want, "after three writes")?;
    expect_ok(dev.ioctl(sys::IOC_REINIT, 0), 0, "ioctl(REINIT)")?;
    want.pending = 0;
    ctx.expect_status(&dev, want, "after REINIT")?;
    expect_errno(nb.read(1), libc::EAGAIN, "O_NONBLOCK read after REINIT")?;
    want.reads_would_block = 1;

    expect_ok(
        dev.ioctl(sys::IOC_COMPLETE_ALL, 0),
        0,
        "ioctl(COMPLETE_ALL)",
    )?;
    expect_ok(nb.read(1), 0, "O_NONBLOCK read after COMPLETE_ALL")?;
    want.all_done = 1;
    want.reads_woken = 1;
    ctx.expect_status(&dev, want, "after COMPLETE_ALL")?;
    expect_ok(dev.ioctl(sys::IOC_REINIT, 0), 0, "second ioctl(REINIT)")?;
    want.all_done = 0;
    ctx.expect_status(&dev, want, "after REINIT of a completed-all")?;
    expect_errno(
        nb.read(1),
        libc::EAGAIN,
        "O_NONBLOCK read after the second REINIT",
    )?;
    want.reads_would_block = 2;

    let mut rd = Readers::new()?;
    let pid = rd.spawn("ct-reinit", ReaderOpts::default())?;
    ctx.wait_asleep(pid, 'S')?;
    ctx.wait_sleepers(&dev, 1)?;
    expect_ok(dev.write(b"x"), 1, "write to wake the sleeper")?;
    rd.report_from(pid, WAIT, "after the write")?.expect_ok()?;
    rd.reap_ok(pid, WAIT)?;
    want.reads_woken = 2;
    want.completes = 4;
    ctx.expect_status(&dev, want, "at the end")?;
    let me = sys::getpid();
    ensure_eq!(
        ctx.count_events(me, |e| *e == Event::Reinit)?,
        2,
        "'reinit' lines of {me}"
    );
    // Each REINIT returned before what came next began: the log has them in that order.
    ctx.kmsg_now()?
        .expect_order(&[
            step(me, 2, Event::Awakening),
            step(me, 0, Event::Reinit),
            step(me, 0, Event::CompleteAll),
            step(me, 1, Event::Reinit),
            step(pid, 0, Event::Sleep),
            step(me, 3, Event::Awakening),
            step(pid, 0, Event::Awoken),
        ])
        .map_err(|e| format!("REINIT and the next sleep, in the log: {e}").into())
}

/// STATUS reports exactly what the case did, field by field; a bad pointer gives EFAULT.
pub fn status(ctx: &Ctx) -> CaseResult {
    ensure_eq!(
        sys::IOC_STATUS,
        0x8040_C903,
        "COMPLETE_IOC_STATUS (_IOR(0xC9, 3, 64 bytes))"
    );
    let dev = ctx.open()?;
    let nb = ctx.open_nb()?;
    let mut want = zero();
    ctx.expect_status(&dev, want, "right after insmod")?;
    expect_errno(
        dev.ioctl(sys::IOC_STATUS, 0),
        libc::EFAULT,
        "STATUS into NULL",
    )?;
    let freed = Mapping::freed_page().ctx("mmap/munmap a page")?;
    expect_errno(
        dev.ioctl(sys::IOC_STATUS, freed),
        libc::EFAULT,
        "STATUS into an unmapped page",
    )?;
    for i in 0..3 {
        expect_ok(dev.write(b"x"), 1, &format!("write #{i}"))?;
    }
    for i in 0..2 {
        expect_ok(nb.read(1), 0, &format!("O_NONBLOCK read #{i}"))?;
    }
    want.pending = 1;
    want.reads_woken = 2;
    want.completes = 3;
    ctx.expect_status(&dev, want, "after 3 writes and 2 reads")?;
    expect_ok(nb.read(1), 0, "third O_NONBLOCK read")?;
    expect_errno(nb.read(1), libc::EAGAIN, "fourth O_NONBLOCK read")?;
    want.pending = 0;
    want.reads_woken = 3;
    want.reads_would_block = 1;
    ctx.expect_status(&dev, want, "after draining")?;

    let mut rd = Readers::new()?;
    let opts = ReaderOpts {
        sigint: OnSigint::Handler,
        ..ReaderOpts::default()
    };
    let pid = rd.spawn("ct-status-int", opts)?;
    ctx.wait_asleep(pid, 'S')?;
    ctx.wait_sleepers(&dev, 1)?;
    want.sleepers = 1;
    ctx.expect_status(&dev, want, "with one sleeper")?;
    sys::kill(pid, libc::SIGINT).map_err(|e| format!("kill({pid}, SIGINT): {e}"))?;
    rd.report_from(pid, WAIT, "after SIGINT")?
        .expect_err(libc::EINTR)?;
    rd.reap(pid, WAIT)?;
    want.sleepers = 0;
    want.reads_interrupted = 1;
    ctx.expect_status(&dev, want, "after an interrupted read")?;

    let pid = rd.spawn("ct-status-wake", ReaderOpts::default())?;
    ctx.wait_asleep(pid, 'S')?;
    ctx.wait_sleepers(&dev, 1)?;
    expect_ok(dev.write(b"x"), 1, "write to wake the sleeper")?;
    rd.report_from(pid, WAIT, "after the write")?.expect_ok()?;
    rd.reap_ok(pid, WAIT)?;
    want.reads_woken = 4;
    want.completes = 4;
    ctx.expect_status(&dev, want, "at the end")
}

/// The names of the words of `struct complete_status`, in the order of the C struct
/// (`uapi/complete_dev.rs`), for messages.
const STATUS_WORDS: [&str; 8] = [
    "pending",
    "all_done",
    "sleepers",
    "reads_woken",
    "reads_interrupted",
    "reads_timed_out",
    "reads_would_block",
    "completes",
];

/// `COMPLETE_IOC_STATUS` into nine words filled with a pattern: returns the first eight, and
/// fails if the ninth was written (the record is exactly 64 bytes).
fn status_words(dev: &Dev) -> CaseResult<[u64; 8]> {
    const CANARY: u64 = 0xa5a5_5a5a_c3c3_3c3c;
    let mut buf = [CANARY; 9];
    expect_ok(
        dev.ioctl(sys::IOC_STATUS, buf.as_mut_ptr() as usize),
        0,
        "ioctl(COMPLETE_IOC_STATUS)",
    )?;
    ensure_eq!(buf[8], CANARY, "the word after the 64-byte STATUS record");
    let mut words = [0; 8];
    words.copy_from_slice(&buf[..8]);
    Ok(words)
}

/// Fails unless `got` equals `want`, naming every word that differs.
fn expect_words(got: [u64; 8], want: [u64; 8], when: &str) -> CaseResult {
    let diff: Vec<String> = STATUS_WORDS
        .iter()
        .zip(got.iter().zip(want.iter()))
        .filter(|(_, (g, w))| g != w)
        .map(|(name, (g, w))| format!("{name} = {g}, expected {w}"))
        .collect();
    ensure!(
        diff.is_empty(),
        "STATUS {when}: {} (whole record {got:?}, expected {want:?})",
        diff.join("; ")
    );
    Ok(())
}

/// The STATUS record word by word, in the C struct's order, against counts the case makes
/// itself, each counter brought to a different value so that two fields swapped cannot pass:
/// 6 `EAGAIN` reads, 5 reads that time out, 4 interrupted by a signal, 2 readers asleep at once
/// (`sleepers` 2 in the record read while they sleep), woken by 2 writes, 8 writes left pending and
/// one taken (`pending` 7), `all_done` 1 and `pending` 0 after `COMPLETE_ALL`, both 0 after
/// `REINIT`. Runs with `timeout_ms=3000`: the readers that time out take that long, and those
/// seen asleep or signalled must be so within it.
pub fn status_fields(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    let nb = ctx.open_nb()?;
    // [pending, all_done, sleepers, woken, interrupted, timed_out, would_block, completes]
    let mut want = [0u64; 8];
    expect_words(status_words(&dev)?, want, "right after insmod")?;
    for i in 0..6 {
        expect_errno(nb.read(1), libc::EAGAIN, &format!("O_NONBLOCK read #{i}"))?;
    }
    want[6] = 6;
    expect_words(status_words(&dev)?, want, "after 6 EAGAIN reads")?;

    let mut rd = Readers::new()?;
    let pids = (0..5)
        .map(|i| rd.spawn(&format!("ct-stto{i}"), ReaderOpts::default()))
        .collect::<CaseResult<Vec<_>>>()?;
    for r in reports_of(&mut rd, &pids)? {
        r.expect_err(libc::ETIMEDOUT)?;
    }
    want[5] = 5;
    expect_words(status_words(&dev)?, want, "after 5 timed-out reads")?;

    let opts = ReaderOpts {
        sigint: OnSigint::Handler,
        ..ReaderOpts::default()
    };
    let pids = (0..4)
        .map(|i| rd.spawn(&format!("ct-stint{i}"), opts))
        .collect::<CaseResult<Vec<_>>>()?;
    ctx.wait_sleepers(&dev, 4)?;
    for &pid in &pids {
        sys::kill(pid, libc::SIGINT).map_err(|e| format!("kill({pid}, SIGINT): {e}"))?;
    }
    for r in reports_of(&mut rd, &pids)? {
        r.expect_err(libc::EINTR)?;
    }
    want[4] = 4;
    expect_words(status_words(&dev)?, want, "after 4 interrupted reads")?;

    let pids = (0..2)
        .map(|i| rd.spawn(&format!("ct-stslp{i}"), ReaderOpts::default()))
        .collect::<CaseResult<Vec<_>>>()?;
    // The record that first shows both asleep is the one compared (a later one could already
    // see a reader time out).
    let mut asleep = None;
    sys::poll_until(WAIT, "STATUS.sleepers == 2", || {
        let w = status_words(&dev)?;
        Ok(if w[2] == 2 {
            asleep = Some(w);
            Ok(())
        } else {
            Err(format!("{w:?}"))
        })
    })?;
    want[2] = 2;
    if let Some(w) = asleep {
        expect_words(w, want, "with 2 readers asleep")?;
    }
    for i in 0..2 {
        expect_ok(dev.write(b"x"), 1, &format!("write #{i} to wake a sleeper"))?;
    }
    for r in reports_of(&mut rd, &pids)? {
        r.expect_ok()?;
    }
    want[2] = 0;
    want[3] = 2;
    want[7] = 2;
    expect_words(status_words(&dev)?, want, "after 2 writes woke them")?;

    for i in 0..8 {
        expect_ok(dev.write(b"x"), 1, &format!("pending write #{i}"))?;
    }
    expect_ok(nb.read(1), 0, "O_NONBLOCK read of a pending write")?;
    want[0] = 7;
    want[3] = 3;
    want[7] = 10;
    expect_words(
        status_words(&dev)?,
        want,
        "after 8 pending writes and 1 read",
    )?;

    expect_ok(dev.ioctl(sys::IOC_COMPLETE_ALL, 0), 0, "COMPLETE_ALL")?;
    want[0] = 0;
    want[1] = 1;
    expect_words(status_words(&dev)?, want, "after COMPLETE_ALL")?;
    expect_ok(nb.read(1), 0, "O_NONBLOCK read after COMPLETE_ALL")?;
    expect_ok(dev.write(b"x"), 1, "write after COMPLETE_ALL")?;
    want[3] = 4;
    want[7] = 11;
    expect_words(
        status_words(&dev)?,
        want,
        "after a read and a write while all done",
    )?;

    expect_ok(dev.ioctl(sys::IOC_REINIT, 0), 0, "REINIT")?;
    want[1] = 0;
    expect_words(status_words(&dev)?, want, "after REINIT")?;
    expect_errno(nb.read(1), libc::EAGAIN, "O_NONBLOCK read after REINIT")?;
    want[6] = 7;
    expect_words(status_words(&dev)?, want, "at the end")
}

/// One report from each of `pids`, in the order they came; every reader reaped.
fn reports_of(rd: &mut Readers, pids: &[i32]) -> CaseResult<Vec<Report>> {
    let mut out: Vec<Report> = Vec::new();
    while out.len() < pids.len() {
        match rd.next_report(WAIT)? {
            Some(r) if pids.contains(&r.pid) && !out.iter().any(|o| o.pid == r.pid) => out.push(r),
            Some(r) => bail!("unexpected report from reader {}: {}", r.pid, r.outcome()),
            None => bail!(
                "only {} of readers {pids:?} returned within {WAIT:?}: {out:?}",
                out.len()
            ),
        }
    }
    for &pid in pids {
        rd.reap(pid, WAIT)?;
    }
    Ok(out)
}

/// `_IOC(dir, 0xC9, nr, size)` for building wrong commands.
const fn ioc(dir: u32, nr: u32, size: u32) -> u32 {
    (dir << 30) | (size << 16) | (uapi::COMPLETE_IOC_MAGIC << 8) | nr
}

/// Unknown commands (and known numbers with the wrong direction or size) fail with ENOTTY and
/// change nothing.
pub fn unknown(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    let mut buf = [0u64; 16];
    let arg = buf.as_mut_ptr() as usize;
    let cmds: [(&str, u32); 5] = [
        ("_IO(0xC9, 99)", ioc(0, 99, 0)),
        ("_IO(0xC9, 0)", ioc(0, 0, 0)),
        ("TCGETS", 0x5401),
        ("_IOR(0xC9, 3, 32 bytes)", ioc(2, 3, 32)),
        ("_IOW(0xC9, 1, 8 bytes)", ioc(1, 1, 8)),
    ];
    for (name, cmd) in cmds {
        expect_errno(
            dev.ioctl(cmd, arg),
            libc::ENOTTY,
            &format!("ioctl({name} = {cmd:#x})"),
        )?;
    }
    ensure!(
        buf.iter().all(|&w| w == 0),
        "an unknown ioctl wrote its argument: {buf:?}"
    );
    ctx.expect_status(&dev, zero(), "after the unknown ioctls")
}

/// `COMPLETE_ALL` and `REINIT` change what every reader sees, so they need a file open for
/// writing (`EBADF` otherwise, as `write()`); `STATUS` works on any open file.
pub fn needs_write(ctx: &Ctx) -> CaseResult {
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

/// Rounds of [`reinit_race`].
const RACE_ROUNDS: u64 = 3000;
/// Writes left pending in each round, which the readers start draining at once.
const RACE_WRITES: usize = 8;
/// Reader threads hammering `O_NONBLOCK` reads (more than the VM's two vCPUs).
const RACE_THREADS: usize = 4;

/// `REINIT` racing non-blocking readers. Reader threads hammer `O_NONBLOCK` reads for the whole
/// case; each round leaves a few writes pending, which they drain as they come, and `REINIT`s at once,
/// while they are still taking completions under the completion's lock. After `REINIT` returned
/// (the round's "closed" phase, until the next round leaves writes pending again) no read may pass, and at the
/// end of the phase nothing is pending. This pins `REINIT` as a store under the completion's
/// lock: an unlocked store would race the readers' locked `done--`, and a reader that read
/// `done = N` could store `N - 1` after it and bring completions back.
pub fn reinit_race(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    // Even: writes may be left pending; odd: `REINIT` has returned and nothing may pass.
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
            expect_ok(dev.write(b"x"), 1, "write left pending")?;
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
