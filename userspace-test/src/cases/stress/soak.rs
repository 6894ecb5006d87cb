// SPDX-License-Identifier: GPL-2.0
//! The `stress_soak` case: worker threads doing random operations at once, then the conservation
//! laws on the totals, for what the sequential `model` case cannot reach (races).
//!
//! The run is cut into epochs. In each, `--soak-workers` threads make their share of
//! `--soak-ops` operations drawn from a seeded generator (writes of 0-2 bytes, `O_NONBLOCK`
//! reads, `preadv2(RWF_NOWAIT)`, blocking reads, SIGUSR1 to another worker, STATUS, and in some
//! epochs REINIT or one COMPLETE_ALL); readers left asleep at the end are released by writes of
//! the coordinator. At each quiescent point the laws must hold:
//! - a plain epoch (neither REINIT nor COMPLETE_ALL): reads that succeeded = pending before +
//!   writes - pending after (no lost, no duplicated wake-up);
//! - an epoch with REINITs: reads + pending after <= pending before + writes;
//! - an epoch with COMPLETE_ALL: all_done = 1 and pending 0 after, until the coordinator's REINIT;
//! - never a sleeper left asleep while completions are pending;
//! - always: STATUS's counters equal the totals the workers saw (completes = writes,
//!   reads_woken = reads that returned 0, reads_would_block = EAGAINs, reads_interrupted =
//!   EINTRs, no timeout, no sleeper), and each file's fdinfo equals its own counts.
//!
//! The seed fixes every worker's operations (not the interleaving):
//! `complete_dev stress_soak --seed S` replays them.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering::SeqCst};
use std::time::{Duration, Instant};

use proptest::prelude::RngExt;
use proptest::test_runner::{RngAlgorithm, TestRng};

use crate::cases::{Ctx, WAIT};
use crate::error::{CaseResult, Context};
use crate::kmsg;
use crate::sys::{self, Errno};
use crate::uapi::{self, CompleteStatus};
use crate::{bail, ensure};

/// Epochs of a run.
const EPOCHS: u64 = 8;

/// How an epoch mixes in the operations that change every reader's view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Neither REINIT nor COMPLETE_ALL: conservation is exact.
    Plain,
    /// Workers REINIT now and then.
    Reinit,
    /// One worker calls COMPLETE_ALL once.
    All,
}

/// What one worker saw, per file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    /// `read_iter` calls (count > 0 and reaching the driver).
    reads: u64,
    /// Reads that returned 0.
    reads_ok: u64,
    /// Writes that returned their length.
    writes: u64,
    eagain: u64,
    eintr: u64,
}

impl Counts {
    /// Adds `o` to these counts.
    fn add(&mut self, o: &Counts) {
        self.reads += o.reads;
        self.reads_ok += o.reads_ok;
        self.writes += o.writes;
        self.eagain += o.eagain;
        self.eintr += o.eintr;
    }
}

/// One worker's files: a blocking and an `O_NONBLOCK` one, both read-write.
struct Files {
    blocking: OwnedFd,
    nonblock: OwnedFd,
    /// Counts of `blocking`, then `nonblock`.
    counts: [Counts; 2],
}

/// The generator of worker `w` in epoch `e`.
fn rng(seed: u64, e: u64, w: usize) -> TestRng {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&seed.to_le_bytes());
    b[8..16].copy_from_slice(&e.to_le_bytes());
    b[16..24].copy_from_slice(&(w as u64).to_le_bytes());
    TestRng::from_seed(RngAlgorithm::ChaCha, &b)
}

/// `ioctl(fd, cmd, arg)`.
fn ioctl(fd: i32, cmd: u32, arg: usize) -> Result<i32, Errno> {
    // SAFETY: the commands used here take no argument or one the caller owns.
    sys::cvt(unsafe { libc::ioctl(fd, cmd as libc::c_ulong, arg) })
}

/// `COMPLETE_IOC_STATUS` on `fd`.
fn status(fd: i32) -> CaseResult<CompleteStatus> {
    let mut words = [0u64; 8];
    ioctl(fd, uapi::COMPLETE_IOC_STATUS, words.as_mut_ptr() as usize).ctx("ioctl(STATUS)")?;
    Ok(CompleteStatus::from_words(words))
}

/// The calling thread's id.
fn gettid() -> i32 {
    // SAFETY: cannot fail.
    unsafe { libc::gettid() }
}

/// Shared state of an epoch.
struct Epoch<'a> {
    kind: Kind,
    seed: u64,
    index: u64,
    ops: usize,
    tids: &'a [AtomicI32],
    finished: &'a AtomicU32,
    abort: &'a AtomicBool,
}

/// One worker's epoch: `ops` random operations; returns the first error. Counts itself finished
/// either way.
fn work(ep: &Epoch, w: usize, f: &mut Files) -> Result<(), String> {
    ep.tids[w].store(gettid(), SeqCst);
    let r = ops(ep, w, f);
    ep.tids[w].store(0, SeqCst);
    ep.finished.fetch_add(1, SeqCst);
    r
}

/// The operations of [`work`].
fn ops(ep: &Epoch, w: usize, f: &mut Files) -> Result<(), String> {
    let mut rng = rng(ep.seed, ep.index, w);
    let all_at = (ep.kind == Kind::All && w == 0).then(|| rng.random_range(0..ep.ops.max(1)));
    let mut buf = [0u8; 2];
    for i in 0..ep.ops {
        if ep.abort.load(SeqCst) {
            break;
        }
        if all_at == Some(i) {
            ioctl(f.blocking.as_raw_fd(), uapi::COMPLETE_IOC_COMPLETE_ALL, 0)
                .map_err(|e| format!("COMPLETE_ALL: {e}"))?;
        }
        let roll = rng.random_range(0..100u32);
        let (which, res) = match roll {
            0..35 => {
                let len = rng.random_range(0..=2usize);
                // SAFETY: `buf` is valid for reads of `len` <= 2 bytes.
                let n = unsafe { libc::write(f.blocking.as_raw_fd(), buf.as_ptr().cast(), len) };
                match sys::cvt(n) {
                    Ok(n) if n as usize == len => f.counts[0].writes += 1,
                    Ok(n) => return Err(format!("write({len}) returned {n}")),
                    Err(e) => return Err(format!("write({len}): {e}")),
                }
                continue;
            }
            35..60 => {
                // SAFETY: `buf` is valid for writes of 1 byte.
                let n = unsafe { libc::read(f.nonblock.as_raw_fd(), buf.as_mut_ptr().cast(), 1) };
                (1, sys::cvt(n))
            }
            60..70 => {
                let iov = libc::iovec {
                    iov_base: buf.as_mut_ptr().cast(),
                    iov_len: 1,
                };
                // SAFETY: `iov` describes `buf`, valid for writes of 1 byte.
                let n =
                    unsafe { libc::preadv2(f.blocking.as_raw_fd(), &iov, 1, -1, libc::RWF_NOWAIT) };
                (0, sys::cvt(n))
            }
            70..90 => {
                // SAFETY: `buf` is valid for writes of 1 byte.
                let n = unsafe { libc::read(f.blocking.as_raw_fd(), buf.as_mut_ptr().cast(), 1) };
                (0, sys::cvt(n))
            }
            90..95 => {
                let to = rng.random_range(0..ep.tids.len());
                let tid = ep.tids[to].load(SeqCst);
                if to != w && tid > 0 {
                    // SAFETY: plain system call; the thread lives until the epoch's scope ends
                    // (a tid of a thread that exited is not reused while the epoch runs).
                    unsafe { libc::syscall(libc::SYS_tgkill, sys::getpid(), tid, libc::SIGUSR1) };
                }
                continue;
            }
            95..98 if ep.kind == Kind::Reinit => {
                ioctl(f.blocking.as_raw_fd(), uapi::COMPLETE_IOC_REINIT, 0)
                    .map_err(|e| format!("REINIT: {e}"))?;
                continue;
            }
            _ => {
                let s = status(f.nonblock.as_raw_fd()).map_err(|e| format!("{e:?}"))?;
                if ep.kind == Kind::Plain && s.all_done != 0 {
                    return Err(format!("STATUS all_done in a plain epoch: {s:?}"));
                }
                continue;
            }
        };
        let c = &mut f.counts[which];
        c.reads += 1;
        match res {
            Ok(0) => c.reads_ok += 1,
            Ok(n) => return Err(format!("read(1) returned {n}")),
            Err(e) if e.0 == libc::EAGAIN => c.eagain += 1,
            Err(e) if e.0 == libc::EINTR => c.eintr += 1,
            Err(e) => return Err(format!("read(1): {e}")),
        }
    }
    Ok(())
}

/// `--soak-workers` threads, `--soak-ops` operations in all over [`EPOCHS`] epochs.
pub fn soak(ctx: &Ctx) -> CaseResult {
    let seed = crate::cases::model::seed(ctx.opts.seed);
    run(ctx, seed).map_err(|e| match e {
        crate::error::CaseError::Fail(m) => crate::error::CaseError::Fail(format!(
            "{m}\nthe same operations again (the interleaving differs): \
             complete_dev stress_soak --seed {seed}"
        )),
        skip => skip,
    })
}

/// The soak with `seed`.
fn run(ctx: &Ctx, seed: u64) -> CaseResult {
    let o = &ctx.opts;
    let workers = o.soak_workers.max(1);
    let per = (o.soak_ops as u64 / (EPOCHS * workers as u64)).max(1) as usize;
    println!(
        "# stress_soak: seed {seed}, {workers} workers, {EPOCHS} epochs of {per} operations each"
    );
    sys::install_handler(libc::SIGUSR1, false).ctx("sigaction(SIGUSR1)")?;
    let ctl = sys::open(sys::dev_path(), libc::O_RDWR).ctx("open /dev/complete")?;
    let mut files = Vec::new();
    for w in 0..workers {
        let open = |flags| sys::open(sys::dev_path(), libc::O_RDWR | flags);
        files.push(Files {
            blocking: open(0).with_ctx(|| format!("worker {w}: open"))?,
            nonblock: open(libc::O_NONBLOCK).with_ctx(|| format!("worker {w}: open"))?,
            counts: [Counts::default(); 2],
        });
    }
    let start = Instant::now();
    let mut release_writes = 0u64;
    let mut total = Counts::default();
    for e in 0..EPOCHS {
        let kind = match e % 4 {
            1 => Kind::Reinit,
            3 => Kind::All,
            _ => Kind::Plain,
        };
        let before = status(ctl.as_raw_fd())?;
        let old: Vec<[Counts; 2]> = files.iter().map(|f| f.counts).collect();
        let tids: Vec<AtomicI32> = (0..workers).map(|_| AtomicI32::new(0)).collect();
        let (finished, abort) = (AtomicU32::new(0), AtomicBool::new(false));
        let ep = Epoch {
            kind,
            seed,
            index: e,
            ops: per,
            tids: &tids,
            finished: &finished,
            abort: &abort,
        };
        let mut errors = Vec::new();
        let mut released = 0u64;
        let r = std::thread::scope(|s| -> CaseResult {
            let handles: Vec<_> = files
                .iter_mut()
                .enumerate()
                .map(|(w, f)| {
                    let ep = &ep;
                    s.spawn(move || work(ep, w, f))
                })
                .collect();
            let r = release(ctx, &ctl, &ep, workers, &mut released);
            if r.is_err() {
                abort.store(true, SeqCst);
                let _ = ioctl(ctl.as_raw_fd(), uapi::COMPLETE_IOC_COMPLETE_ALL, 0);
            }
            for (w, h) in handles.into_iter().enumerate() {
                match h.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(m)) => errors.push(format!("worker {w}: {m}")),
                    Err(_) => errors.push(format!("worker {w} panicked")),
                }
            }
            r
        });
        crate::cases::within(&format!("epoch {e} ({kind:?})"), r)?;
        if let Some(first) = errors.first() {
            bail!(
                "epoch {e} ({kind:?}): {} worker error(s), first: {first}",
                errors.len()
            );
        }
        release_writes += released;
        let mut ec = Counts::default();
        for (f, old) in files.iter().zip(&old) {
            for (c, o) in f.counts.iter().zip(old) {
                let mut d = *c;
                d.reads -= o.reads;
                d.reads_ok -= o.reads_ok;
                d.writes -= o.writes;
                d.eagain -= o.eagain;
                d.eintr -= o.eintr;
                ec.add(&d);
            }
        }
        total.add(&ec);
        let after = status(ctl.as_raw_fd())?;
        let (p0, w, r, p1) = (
            before.pending,
            ec.writes + released,
            ec.reads_ok,
            after.pending,
        );
        let what = format!(
            "epoch {e} ({kind:?}, seed {seed}): pending {p0} -> {p1}, {w} writes ({released} to \
             release sleepers), {r} reads passed; STATUS {after:?}"
        );
        match kind {
            Kind::Plain => ensure!(
                r + p1 == p0 + w && after.all_done == 0,
                "conservation broken: {what}"
            ),
            Kind::Reinit => ensure!(
                r + p1 <= p0 + w && after.all_done == 0,
                "more reads than completions: {what}"
            ),
            Kind::All => {
                ensure!(after.all_done == 1 && p1 == 0, "after COMPLETE_ALL: {what}");
                ioctl(ctl.as_raw_fd(), uapi::COMPLETE_IOC_REINIT, 0).ctx("REINIT")?;
                let s = status(ctl.as_raw_fd())?;
                ensure!(s.all_done == 0 && s.pending == 0, "after REINIT: {s:?}");
            }
        }
        let want = CompleteStatus {
            pending: status(ctl.as_raw_fd())?.pending,
            all_done: 0,
            sleepers: 0,
            reads_woken: total.reads_ok,
            reads_interrupted: total.eintr,
            reads_timed_out: 0,
            reads_would_block: total.eagain,
            completes: total.writes + release_writes,
        };
        let got = status(ctl.as_raw_fd())?;
        ensure!(
            got == want,
            "STATUS after epoch {e} ({kind:?}): got {got:?}, expected {want:?}"
        );
        for (i, f) in files.iter().enumerate() {
            for (fd, c) in [(&f.blocking, &f.counts[0]), (&f.nonblock, &f.counts[1])] {
                let got = crate::cases::file::fd_counters(fd.as_raw_fd())?;
                let want = [c.reads, c.reads_ok, c.writes];
                ensure!(
                    got == want,
                    "fdinfo of worker {i} fd {}: got {got:?}, expected {want:?}",
                    fd.as_raw_fd()
                );
            }
        }
    }
    let took = start.elapsed();
    let ops = per as u64 * EPOCHS * workers as u64;
    println!(
        "# stress_soak: {ops} operations in {:.1} s: {} writes, {} reads passed, {} EAGAIN, {} EINTR",
        took.as_secs_f64(),
        total.writes + release_writes,
        total.reads_ok,
        total.eagain,
        total.eintr
    );
    let records = kmsg::read_whole_log().ctx("read /dev/kmsg")?;
    let bad = kmsg::bad_records(&records);
    ensure!(
        bad.is_empty(),
        "kernel log: {:?}",
        bad.iter().map(|r| &r.msg).collect::<Vec<_>>()
    );
    Ok(())
}

/// While the workers run: once every worker has finished or sleeps, wakes the sleepers with
/// writes (counted in `released`) and checks that no sleeper waits while completions are pending.
fn release(
    _ctx: &Ctx,
    ctl: &OwnedFd,
    ep: &Epoch,
    workers: usize,
    released: &mut u64,
) -> CaseResult {
    let end = Instant::now() + Duration::from_secs(600);
    let mut stuck_since: Option<Instant> = None;
    loop {
        let done = ep.finished.load(SeqCst) as usize;
        if done == workers {
            return Ok(());
        }
        let s = status(ctl.as_raw_fd())?;
        if done + s.sleepers as usize == workers {
            if s.pending > 0 && s.all_done == 0 {
                // Woken readers take a moment to leave; a sleeper that stays with completions
                // pending is a lost wake-up.
                let since = *stuck_since.get_or_insert_with(Instant::now);
                ensure!(
                    since.elapsed() < WAIT,
                    "lost wake-up: {} sleeper(s) asleep for {WAIT:?} with {} completion(s) pending",
                    s.sleepers,
                    s.pending
                );
            } else {
                stuck_since = None;
                for _ in 0..s.sleepers {
                    // SAFETY: a zero-length write reads no memory.
                    let n = unsafe { libc::write(ctl.as_raw_fd(), std::ptr::null(), 0) };
                    sys::cvt(n).ctx("release write")?;
                    *released += 1;
                }
            }
        } else {
            stuck_since = None;
        }
        ensure!(
            Instant::now() < end,
            "epoch not done after 600 s: STATUS {s:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
