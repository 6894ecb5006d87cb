// SPDX-License-Identifier: GPL-2.0
//! `timeout_ms`, to the jiffy: a read nobody completes fails with ETIMEDOUT after the number of
//! jiffies `msecs_to_jiffies(timeout_ms)` gives at the kernel's `HZ`, in every wait mode; a
//! completion in the wait's last jiffy is received; a timed read ends within its timeout even
//! under signals.
//!
//! How long a timed-out read takes: `schedule_timeout(t)` arms a timer at `jiffies + t`; the
//! timer wheel fires it in the first bucket after that (kernel/time/timer.c `calc_index`, "a
//! timer does not fire early"): at the tick that makes `jiffies` `J + t + 1` for t below 63
//! jiffies (J: `jiffies` when the wait began), up to `J + t + 8^level` above. So the jiffies a
//! reader reads before and after its read (`/proc/schedstat`'s `timestamp`) are always at least
//! t + 1 apart, and exactly t + 1 unless a tick passed outside the wait. In time the wait lasts
//! more than t and at most t + 1 ticks (t + 8^level) of the clock, but only as long as `jiffies`
//! keeps up with the clock: on a busy emulated CPU its update comes late (a timeout of 5 jiffies
//! can end after 3.96 ticks), so the time bounds allow two jiffies of lag below and a
//! scheduling slack above; the jiffies count is the exact check.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{within, zero, Ctx, WAIT};
use crate::error::{CaseError, CaseResult};
use crate::kconfig::{self, Hz, KernelConfig};
use crate::kmsg::{step, Event};
use crate::module;
use crate::readers::{ReaderOpts, Readers, Report};
use crate::sys::{self, Dev, Exit};
use crate::uapi::CompleteStatus;
use crate::{bail, ensure, ensure_eq};

/// Scheduling slack allowed after a timeout's last tick, before the reader has its result: the
/// timer's softirq, the wake-up, the switch to the reader, its return to userspace, and a late
/// tick. Measured in the TCG VM on a loaded host: up to 11 ms past t + 1 ticks
/// (`timeout_ms=1`: 6.2 to 18.6 ms; docs/testing.md); 50 ms also covers a vCPU thread the
/// shared host does not run for a few of its scheduler slices and the sanitizer kernel, several
/// times slower.
const SLACK: Duration = Duration::from_millis(50);

/// The kernel's `HZ` and whether it prints error names, or why the case cannot know.
fn kernel() -> CaseResult<(Hz, bool)> {
    let config = KernelConfig::running().map_err(|e| CaseError::Skip(format!("no HZ: {e}")))?;
    let hz = config.hz().map_err(CaseError::Skip)?;
    let symbolic = kconfig::symbolic_errname(Some(&config)).map_err(CaseError::Skip)?;
    sys::jiffies().map_err(|e| CaseError::Skip(format!("no jiffies counter: {e}")))?;
    Ok((hz, symbolic))
}

/// What a read that times out after `ms` must show: `t` jiffies, and its time window: more
/// than `t` ticks less [`LAG`], at most `t + 8^level` ticks and [`SLACK`].
fn window(hz: Hz, ms: u32) -> (u64, Duration, Duration) {
    let t = hz.msecs_to_jiffies(ms);
    let lo = hz.jiffies(t).saturating_sub(hz.jiffies(LAG));
    let hi = hz.jiffies(t + Hz::wheel_granularity(t)) + SLACK;
    (t, lo, hi)
}

/// How many jiffies `jiffies` may lag the clock when a wait begins (see the module
/// documentation), in the time bounds: a loaded host shows 1.04; the kernel lets a stalled
/// jiffies update go on for up to 5 ticks before another CPU takes over
/// (kernel/time/tick-sched.c, `MAX_STALLED_JIFFIES`).
const LAG: u64 = 2;

/// Fails unless the reader's `jiffies` before and after its read are at least `t + 1` apart: a
/// timeout of t jiffies lasts until the tick after `J + t` (exact, whatever the clock does).
fn check_jiffies(r: &Report, t: u64, hz: Hz) -> CaseResult<u64> {
    let (before, after) = r.jiffies;
    ensure!(
        before != 0 && after >= before,
        "reader {}: no jiffies from /proc/schedstat ({before}, {after})",
        r.pid
    );
    let passed = after - before;
    ensure!(
        passed > t,
        "reader {}: its read timed out {passed} jiffies after it began (jiffies {before} to \
         {after}), before {t} jiffies had fully passed ({t} jiffies = msecs_to_jiffies at HZ={})",
        r.pid,
        hz.get()
    );
    Ok(passed)
}

/// The module's `timeout_ms` in [`expires`] and [`signals`].
const TIMEOUT_MS: u32 = 300;

/// For each `wait_mode`, with `timeout_ms=300`: the read fails with ETIMEDOUT more than
/// `msecs_to_jiffies(300)` jiffies after it began and within the time window of those jiffies
/// ([`window`]: 292 to 332 ms and the slack at HZ=250), the reader's lines are exactly "going to
/// sleep" then "gave up waiting: ETIMEDOUT", and STATUS counts one timed-out read.
pub fn expires(ctx: &Ctx) -> CaseResult {
    let (hz, symbolic) = kernel()?;
    for mode in ["interruptible", "killable", "uninterruptible"] {
        within(
            &format!("wait_mode={mode}"),
            one_mode(ctx, hz, symbolic, mode),
        )?;
    }
    Ok(())
}

fn one_mode(ctx: &Ctx, hz: Hz, symbolic: bool, mode: &str) -> CaseResult {
    ctx.load(&format!("wait_mode={mode} timeout_ms={TIMEOUT_MS}"))?;
    {
        let dev = ctx.open_nb()?;
        let mut rd = Readers::new()?;
        let r = timed_out_read(ctx, &dev, &mut rd, "ct-timeout", symbolic, 0)?;
        let (t, lo, hi) = window(hz, TIMEOUT_MS);
        check_jiffies(&r, t, hz)?;
        ensure!(
            r.elapsed >= lo && r.elapsed <= hi,
            "reader {} timed out after {:?}, expected {lo:?}..{hi:?} ({t} jiffies at HZ={})",
            r.pid,
            r.elapsed,
            hz.get()
        );
    }
    module::unload_settled()
}

/// Spawns a reader that nobody completes and checks how it ends: ETIMEDOUT, exit status 1, the
/// two lines, STATUS one more timed-out read than `before` had (`timed_out` before).
fn timed_out_read(
    ctx: &Ctx,
    dev: &Dev,
    rd: &mut Readers,
    comm: &str,
    symbolic: bool,
    timed_out: u64,
) -> CaseResult<Report> {
    ctx.kmsg()
        .mark()
        .map_err(|e| format!("lseek(/dev/kmsg): {e}"))?;
    let opts = ReaderOpts {
        // Woken, it runs at once: the measure is the wait's, not the scheduler's.
        rt_cpu: Some(0),
        jiffies: true,
        ..ReaderOpts::default()
    };
    let pid = rd.spawn(comm, opts)?;
    let r = rd.report_from(pid, WAIT, "read with nobody writing")?;
    r.expect_err(libc::ETIMEDOUT)?;
    ensure_eq!(rd.reap(pid, WAIT)?, Exit::Code(1), "exit of reader {pid}");
    let want = vec![
        format!("process {pid} ({comm}) going to sleep"),
        format!(
            "process {pid} ({comm}) gave up waiting: {}",
            kconfig::error_text(libc::ETIMEDOUT, symbolic)
        ),
    ];
    ensure_eq!(
        ctx.kmsg_now()?.lines_of(pid),
        want,
        "kernel log lines of reader {pid}"
    );
    let want = CompleteStatus {
        reads_timed_out: timed_out + 1,
        ..zero()
    };
    ctx.expect_status(dev, want, "after the timeout")?;
    Ok(r)
}

/// Reads [`jiffies_one`] makes at most for one `timeout_ms`, while none has ended within the
/// wheel's exact count: on a slow or busy machine (KASAN under TCG) the reader often runs a few
/// jiffies after its timer fired, and only the fewest jiffies seen says how long the timeout was.
const JIFFY_MAX_READS: usize = 48;

/// The `timeout_ms` values of [`jiffies`], and how many reads each at least.
const JIFFY_CASES: [(u32, usize); 7] = [
    (1, 12),
    (2, 12),
    (3, 12),
    (4, 12),
    (5, 12),
    (20, 6),
    (100, 4),
];

/// For `timeout_ms` 1 to 5, 20 and 100 (the module loaded once for each), reads nobody completes
/// time out after `t = msecs_to_jiffies(timeout_ms)` jiffies at the kernel's HZ: each read fails
/// with ETIMEDOUT and its two exact lines, more than t jiffies after it began ([`check_jiffies`])
/// and within the time window of t jiffies ([`window`]); and over the reads of one value, one at
/// least ended exactly t + 1 jiffies after it began (a timeout one jiffy too long never does).
pub fn jiffies(ctx: &Ctx) -> CaseResult {
    let (hz, symbolic) = kernel()?;
    let mut seen = Vec::new();
    for (ms, reps) in JIFFY_CASES {
        let r = within(
            &format!("timeout_ms={ms}"),
            jiffies_one(ctx, hz, symbolic, ms, reps),
        )?;
        seen.push(r);
    }
    // The figures, for docs/testing.md and for whoever reads the KTAP diagnostics.
    for line in seen {
        println!("# timeout_jiffies: {line}");
    }
    Ok(())
}

fn jiffies_one(ctx: &Ctx, hz: Hz, symbolic: bool, ms: u32, reps: usize) -> CaseResult<String> {
    ctx.load(&format!("timeout_ms={ms}"))?;
    let mut elapsed = Vec::with_capacity(reps);
    let mut passed = Vec::with_capacity(reps);
    let (t, lo, hi) = window(hz, ms);
    {
        let dev = ctx.open_nb()?;
        let mut rd = Readers::new()?;
        let most = t + Hz::wheel_granularity(t);
        for i in 0..JIFFY_MAX_READS {
            if i >= reps && passed.iter().any(|&p| p <= most) {
                break;
            }
            let r = timed_out_read(ctx, &dev, &mut rd, "ct-jiffy", symbolic, i as u64)?;
            passed.push(within(&format!("read #{i}"), check_jiffies(&r, t, hz))?);
            ensure!(
                r.elapsed >= lo && r.elapsed <= hi,
                "read #{i} timed out after {:?}, expected {lo:?}..{hi:?} ({t} jiffies at HZ={})",
                r.elapsed,
                hz.get()
            );
            elapsed.push(r.elapsed);
        }
    }
    module::unload_settled()?;
    let fewest = passed.iter().min().copied().unwrap_or(0);
    let most = t + Hz::wheel_granularity(t);
    ensure!(
        fewest <= most,
        "no read of {} timed out within {most} jiffies of its start (jiffies passed: \
         {passed:?}): a timeout longer than {t} jiffies?",
        passed.len()
    );
    let ms_list: Vec<String> = elapsed
        .iter()
        .map(|e| format!("{:.2}", e.as_secs_f64() * 1000.0))
        .collect();
    Ok(format!(
        "timeout_ms={ms} ({t} jiffies at HZ={}): jiffies passed {passed:?}; ms {}",
        hz.get(),
        ms_list.join(" ")
    ))
}

/// The `timeout_ms` of [`last_jiffy`].
const LAST_JIFFY_MS: u32 = 200;
/// Writes of [`last_jiffy`] that must land in the wait's last jiffy.
const LAST_JIFFY_HITS: usize = 3;
/// Attempts [`last_jiffy`] makes at most. On the sanitizer kernel a read of `jiffies` takes 0.5
/// to 2.7 ms of a 4 ms jiffy even from a file opened before, so only some attempts have both
/// reads around the write in the last jiffy: 27 of 59 in 9 runs (38 of 146 in 13 runs when each
/// read opened the file; 20 attempts then fell short of 3 hits once, in CI). At the lower rate
/// 60 attempts fall short about once in 300,000 runs; a passing run stops at the third hit.
const LAST_JIFFY_ATTEMPTS: usize = 60;

/// With `timeout_ms=200` (t jiffies), a write timed to arrive in the wait's last jiffy is
/// received: the read returns 0, the reader logs "awoken", reads_woken counts it, nothing times
/// out and nothing stays pending. The reader reads `jiffies` (J) right before its read, the
/// writer right before and after its write: a write made while `jiffies` is J + t is in the last
/// jiffy (the timer fires at J + t + 1), and three are needed, within 60 attempts, aimed by the
/// jiffies of the last one and the kernel log's timestamps of the reader's "going to sleep" and
/// the writer's "awakening the readers...". Any write made by J + t must be received; a later one may find the read timed
/// out, but then consistently: ETIMEDOUT, its line and counter, and the write pending, never
/// lost. The reader runs `SCHED_FIFO` on a CPU of its own: when its timer fires it runs at once
/// and times out, so a timeout one jiffy short fails a write made in the last jiffy.
pub fn last_jiffy(ctx: &Ctx) -> CaseResult {
    let (hz, symbolic) = kernel()?;
    let param = "/sys/module/complete_dev/parameters/timeout_ms";
    let loaded = std::fs::read_to_string(param).map_err(|e| format!("read {param}: {e}"))?;
    ensure_eq!(loaded.trim(), LAST_JIFFY_MS.to_string(), "{param}");
    let dev = ctx.open()?;
    let nb = ctx.open_nb()?;
    let cpus = sys::get_affinity().map_err(|e| format!("sched_getaffinity: {e}"))?;
    // SAFETY: CPU_ISSET reads one bit of a valid set, at an index below CPU_SETSIZE.
    let writer_cpu = if unsafe { libc::CPU_ISSET(1, &cpus) } {
        1
    } else {
        READER_CPU
    };
    super::on_cpu(writer_cpu, || {
        last_jiffy_attempts(ctx, hz, symbolic, &dev, &nb)
    })
}

/// The attempts of [`last_jiffy`].
fn last_jiffy_attempts(ctx: &Ctx, hz: Hz, symbolic: bool, dev: &Dev, nb: &Dev) -> CaseResult {
    let t = hz.msecs_to_jiffies(LAST_JIFFY_MS);
    let last_lo = hz.jiffies(t - 1);
    let last_hi = hz.jiffies(t);
    let aim = last_hi - hz.tick() / 2;
    let me = sys::getpid();
    let my_comm = sys::own_comm()?;
    let mut target = aim;
    let mut hits = 0;
    let mut seen = Vec::new();
    let mut want = zero();
    for attempt in 0..LAST_JIFFY_ATTEMPTS {
        if hits >= LAST_JIFFY_HITS {
            break;
        }
        let what = format!("attempt {attempt}");
        let who = LastJiffy {
            me,
            my_comm: &my_comm,
            symbolic,
        };
        let (delta, j, outcome) = within(&what, one_attempt(ctx, dev, target, &who))?;
        // The write was made while jiffies was at most J + t: before the timer could fire.
        let in_time = j.write.1 <= j.read + t;
        let last = j.write.0 == j.read + t && in_time;
        seen.push(format!(
            "{:.3} ms (jiffies +{}..+{}): {}",
            delta.as_secs_f64() * 1000.0,
            j.write.0.wrapping_sub(j.read),
            j.write.1.wrapping_sub(j.read),
            outcome.name()
        ));
        match outcome {
            Outcome::Woken => {
                want.reads_woken += 1;
                want.completes += 1;
            }
            Outcome::TimedOut if in_time => bail!(
                "{what}: the write was made at jiffies {}..{}, {delta:?} after the reader went \
                 to sleep at jiffies {} or later, before its timeout of {t} jiffies could \
                 expire (at {} at the earliest), yet the read timed out",
                j.write.0,
                j.write.1,
                j.read,
                j.read + t + 1
            ),
            Outcome::TimedOut => {
                // Too late: the completion stays pending for the next read, not lost.
                want.reads_timed_out += 1;
                want.completes += 1;
                want.pending = 1;
                ctx.expect_status(dev, want, &format!("{what}: after a late write"))?;
                super::expect_ok(nb.read(1), 0, "O_NONBLOCK read of the late write")?;
                want.pending = 0;
                want.reads_woken += 1;
            }
        }
        ctx.expect_status(dev, want, &format!("{what}: at its end"))?;
        if last {
            hits += 1;
        }
        // Aim the next write at the middle of the last jiffy: by jiffies if it missed it (the
        // clock and jiffies drift apart on a loaded emulated CPU), else by the clock.
        let miss = i128::from(j.write.0) - i128::from(j.read + t);
        let half = hz.tick() / 2;
        target = match miss {
            0 => (target + aim).saturating_sub(delta),
            m if m < 0 => target + half * u32::try_from(-m).unwrap_or(4).min(4),
            m => target.saturating_sub(half * u32::try_from(m).unwrap_or(4).min(4)),
        }
        .clamp(last_lo / 2, last_hi + hz.tick());
    }
    ensure!(
        hits >= LAST_JIFFY_HITS,
        "only {hits} of {} writes arrived in the last jiffy (jiffies J + {t}; aimed at \
         {last_lo:?}..{last_hi:?} after the reader went to sleep): {}",
        seen.len(),
        seen.join(", ")
    );
    println!(
        "# timeout_last_jiffy: {t} jiffies at HZ={}; writes at {}",
        hz.get(),
        seen.join(", ")
    );
    Ok(())
}

/// The test's pid and comm, and how the kernel prints errors.
struct LastJiffy<'a> {
    me: i32,
    my_comm: &'a str,
    symbolic: bool,
}

/// How an attempt of [`last_jiffy`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Woken,
    TimedOut,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::Woken => "woken",
            Outcome::TimedOut => "timed out",
        }
    }
}

/// What the reader thread sends: its tid, when its read began and `jiffies` then, then the
/// read's result.
enum Msg {
    Started(i32, Instant, u64),
    Done(Result<usize, sys::Errno>),
}

/// `jiffies` right before the reader's read, and right before and after the write.
#[derive(Clone, Copy, Debug)]
struct Jiffies {
    read: u64,
    write: (u64, u64),
}

/// The CPU of [`last_jiffy`]'s reader thread (`SCHED_FIFO`); the writer runs on another one if
/// there is one.
const READER_CPU: usize = 0;

/// The comm of [`last_jiffy`]'s reader thread.
const LAST_COMM: &str = "ct-lastjiffy";

/// One attempt of [`last_jiffy`]: a reader thread reads, the test writes `target` after the
/// read began. Returns how long after the reader's "going to sleep" the write's "awakening"
/// came, the jiffies of both, and how the read ended (checked against its lines).
fn one_attempt(
    ctx: &Ctx,
    dev: &Dev,
    target: Duration,
    who: &LastJiffy<'_>,
) -> CaseResult<(Duration, Jiffies, Outcome)> {
    ctx.kmsg()
        .mark()
        .map_err(|e| format!("lseek(/dev/kmsg): {e}"))?;
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let _ = sys::set_comm(LAST_COMM);
        // Woken by its timer, the reader runs at once and takes the completion's lock: a write
        // after its timer fired finds it timed out, not still on its way out.
        if let Err(e) = sys::pin_to_cpu(READER_CPU).and_then(|()| sys::set_fifo(1)) {
            let _ = tx.send(Msg::Done(Err(e)));
            return;
        }
        // Opened before, as the writer's: `jiffies` is read right before the read.
        let jf = sys::JiffiesFile::open().ok();
        let ro = match Dev::open_flags(libc::O_RDONLY) {
            Ok(d) => d,
            Err(e) => {
                let _ = tx.send(Msg::Done(Err(e)));
                return;
            }
        };
        let j = jf.and_then(|f| f.read().ok()).unwrap_or(0);
        let _ = tx.send(Msg::Started(sys::gettid(), Instant::now(), j));
        let r = ro.read(1);
        let _ = tx.send(Msg::Done(r));
    });
    let res = attempt_body(ctx, dev, target, who, &rx);
    if res.is_err() {
        // Release a reader still asleep, so that the thread can be joined.
        let _ = dev.ioctl(sys::IOC_COMPLETE_ALL, 0);
    }
    let joined = reader.join();
    let out = res?;
    if joined.is_err() {
        bail!("the reader thread panicked");
    }
    Ok(out)
}

fn attempt_body(
    ctx: &Ctx,
    dev: &Dev,
    target: Duration,
    who: &LastJiffy<'_>,
    rx: &mpsc::Receiver<Msg>,
) -> CaseResult<(Duration, Jiffies, Outcome)> {
    let (tid, start, read) = match rx.recv_timeout(WAIT) {
        Ok(Msg::Started(tid, start, j)) => (tid, start, j),
        Ok(Msg::Done(r)) => bail!(
            "the reader thread could not become SCHED_FIFO on CPU {READER_CPU} or open \
             /dev/complete: {r:?}"
        ),
        Err(e) => bail!("the reader thread did not start: {e}"),
    };
    // Opened before: an open costs more than the read of the line.
    let (f0, f1) = (sys::JiffiesFile::open()?, sys::JiffiesFile::open()?);
    std::thread::sleep(target.saturating_sub(start.elapsed()));
    let j0 = f0.read()?;
    super::expect_ok(dev.write(b"x"), 1, "write(1 byte)")?;
    let j1 = f1.read()?;
    ensure!(read != 0, "the reader thread could not read jiffies");
    let j = Jiffies {
        read,
        write: (j0, j1),
    };
    let res = match rx.recv_timeout(WAIT) {
        Ok(Msg::Done(r)) => r,
        Ok(Msg::Started(..)) => bail!("the reader thread started twice"),
        Err(e) => bail!("the reader thread's read did not end within {WAIT:?}: {e}"),
    };
    let outcome = match res {
        Ok(0) => Outcome::Woken,
        Err(e) if e.0 == libc::ETIMEDOUT => Outcome::TimedOut,
        other => bail!("the read returned {other:?}, expected 0 or ETIMEDOUT"),
    };
    let k = ctx.kmsg_now()?;
    let last = match outcome {
        Outcome::Woken => format!("awoken {tid} ({LAST_COMM})"),
        Outcome::TimedOut => format!(
            "process {tid} ({LAST_COMM}) gave up waiting: {}",
            kconfig::error_text(libc::ETIMEDOUT, who.symbolic)
        ),
    };
    let want = vec![format!("process {tid} ({LAST_COMM}) going to sleep"), last];
    ensure_eq!(
        k.lines_of(tid),
        want,
        "kernel log lines of the reader {tid}"
    );
    let me = who.me;
    ensure_eq!(
        k.lines_of(me),
        vec![format!(
            "process {me} ({}) awakening the readers...",
            who.my_comm
        )],
        "kernel log lines of the writer {me}"
    );
    if outcome == Outcome::Woken {
        k.expect_order(&[
            step(tid, 0, Event::Sleep),
            step(me, 0, Event::Awakening),
            step(tid, 0, Event::Awoken),
        ])
        .map_err(CaseError::Fail)?;
    }
    let ts = |pid: i32, ev: Event| {
        k.records
            .iter()
            .find(|r| {
                crate::kmsg::parse_driver(&r.msg).is_some_and(|d| d.pid == pid && d.event == ev)
            })
            .map(|r| r.ts_us)
    };
    let (Some(slept), Some(woke)) = (ts(tid, Event::Sleep), ts(me, Event::Awakening)) else {
        bail!("no timestamps of the two lines");
    };
    ensure!(
        woke >= slept,
        "the write's line ({woke} us) is older than the reader's sleep ({slept} us)"
    );
    Ok((Duration::from_micros(woke - slept), j, outcome))
}

/// With `timeout_ms=300`, a read whose process gets a `SIGALRM` every 100 ms with an
/// `SA_RESTART` handler ends with `EINTR` at the first one: after 100 ms (less the moment between
/// the timer's start and the read's), before the second (200 ms) and before its timeout could
/// expire (`msecs_to_jiffies(300)` jiffies). This pins that a handled signal ends a timed wait
/// with `EINTR` even under `SA_RESTART`: a restart would begin the whole timeout again, and with
/// a signal every 100 ms the read would never end.
pub fn signals(ctx: &Ctx) -> CaseResult {
    let (hz, _) = kernel()?;
    let _dev = ctx.open()?;
    let mut rd = Readers::new()?;
    const EVERY_MS: u32 = 100;
    let opts = ReaderOpts {
        alarm_every_ms: Some(EVERY_MS),
        ..ReaderOpts::default()
    };
    let pid = rd.spawn("ct-tmo-sig", opts)?;
    let r = rd.report_from(pid, WAIT, "timed read under a 100 ms SA_RESTART timer")?;
    r.expect_err(libc::EINTR)?;
    let every = Duration::from_millis(EVERY_MS.into());
    let lo = every - Duration::from_millis(5);
    let hi = (2 * every).min(hz.jiffies(hz.msecs_to_jiffies(TIMEOUT_MS)));
    ensure!(
        r.elapsed >= lo && r.elapsed < hi,
        "reader {pid}: the timed read ended after {:?}, expected {lo:?}..{hi:?} (at the first \
         SIGALRM)",
        r.elapsed
    );
    ensure!(r.signals >= 1, "reader {pid} saw no SIGALRM");
    rd.reap(pid, WAIT)?;
    Ok(())
}
