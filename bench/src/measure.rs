// SPDX-License-Identifier: GPL-2.0

//! The two measurements: wake latency and throughput.

use crate::subject::{Kind, Subject};
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

/// CLOCK_MONOTONIC in nanoseconds (vDSO, no system call).
#[inline]
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is valid for writes.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn yield_now() {
    // SAFETY: no arguments.
    unsafe { libc::sched_yield() };
}

fn gettid() -> i32 {
    // SAFETY: no arguments.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// The scheduler state letter of one of our threads, from `/proc/self/task/<tid>/stat`.
struct TaskState {
    file: std::fs::File,
    buf: Vec<u8>,
}

impl TaskState {
    fn open(tid: i32) -> io::Result<Self> {
        Ok(Self {
            file: std::fs::File::open(format!("/proc/self/task/{tid}/stat"))?,
            buf: Vec::with_capacity(1024),
        })
    }

    /// The third field of `stat`: `R`, `S`, `D`, ... (after the `(comm)` field).
    fn state(&mut self) -> io::Result<u8> {
        // One pread() from offset 0: the line is far shorter than the buffer.
        self.buf.resize(1024, 0);
        let n = self.file.read_at(&mut self.buf, 0)?;
        self.buf.truncate(n);
        let close = self
            .buf
            .iter()
            .rposition(|&b| b == b')')
            .ok_or_else(|| io::Error::other("bad stat"))?;
        self.buf
            .get(close + 2)
            .copied()
            .ok_or_else(|| io::Error::other("short stat"))
    }
}

/// The result of one latency run.
pub struct Latency {
    /// Wake latencies in ns, in the order measured.
    pub samples: Vec<u64>,
    /// How often the writer found the reader not yet asleep and had to yield and look again.
    pub not_asleep: u64,
    /// Whether the reader ran as SCHED_FIFO.
    pub rt: bool,
}

/// Makes the calling thread SCHED_FIFO at `prio`; false if the kernel refuses.
fn set_fifo(prio: i32) -> bool {
    let p = libc::sched_param {
        sched_priority: prio,
    };
    // SAFETY: `p` is valid; pid 0 is the calling thread.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &p) == 0 }
}

/// Measures `n` wake latencies: time from the writer's `signal()` call to the sleeping
/// reader's return from `wait()`.
///
/// The reader thread announces wait number `i` (`ready = i`) and calls `wait()`. The writer
/// (this thread) waits for the announcement, then reads the reader's state from
/// `/proc/self/task/<tid>/stat` until it is `S` (interruptible sleep: the only place the reader
/// can sleep after the announcement is inside `wait()`), yielding the CPU between looks. Only
/// then does it take `t0` (CLOCK_MONOTONIC), publish it and call `signal()`. The reader takes
/// `t1` right after `wait()` returns; the sample is `t1 - t0`. The writer then waits (yielding)
/// for the reader to report `done = i` before the next round, so every sample starts from a
/// reader that is really asleep.
///
/// With `rt`, the reader is SCHED_FIFO and the writer SCHED_OTHER, so the wake-up preempts
/// the writer at once (inside `complete()`), as a latency-sensitive waiter would be run. A
/// SCHED_OTHER reader would be run only when the fair scheduler decides (on return from the
/// writer's system call or at its next yield, depending on run-time lag), which adds a
/// scheduler-state dependent step of about 1,500 instructions to some rounds and not others.
pub fn latency(kind: &Kind, n: usize, rt: bool) -> io::Result<Latency> {
    let subj = Arc::new(Subject::open(kind)?);
    let t0 = Arc::new(AtomicU64::new(0));
    let ready = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let tid = Arc::new(AtomicI32::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let is_rt = Arc::new(AtomicBool::new(false));

    let reader = {
        let is_rt = is_rt.clone();
        let (subj, t0, ready, done, tid, failed) = (
            subj.clone(),
            t0.clone(),
            ready.clone(),
            done.clone(),
            tid.clone(),
            failed.clone(),
        );
        thread::Builder::new().name("bench-reader".into()).spawn(
            move || -> io::Result<Vec<u64>> {
                let mut lat = Vec::with_capacity(n);
                if rt {
                    is_rt.store(set_fifo(10), Ordering::Release);
                }
                tid.store(gettid(), Ordering::Release);
                for i in 1..=n {
                    ready.store(i, Ordering::Release);
                    if let Err(e) = subj.wait() {
                        failed.store(true, Ordering::Release);
                        return Err(e);
                    }
                    let t1 = now_ns();
                    lat.push(t1.saturating_sub(t0.load(Ordering::Acquire)));
                    done.store(i, Ordering::Release);
                }
                Ok(lat)
            },
        )?
    };

    let result = (|| -> io::Result<u64> {
        while tid.load(Ordering::Acquire) == 0 {
            yield_now();
        }
        let mut st = TaskState::open(tid.load(Ordering::Acquire))?;
        let mut not_asleep = 0;
        for i in 1..=n {
            while ready.load(Ordering::Acquire) != i {
                if failed.load(Ordering::Acquire) {
                    return Err(io::Error::other("reader failed"));
                }
                yield_now();
            }
            loop {
                if done.load(Ordering::Acquire) >= i {
                    return Err(io::Error::other(
                        "the reader passed wait() without being woken: events were pending \
                         before the run (a previous run left completions behind?)",
                    ));
                }
                if st.state()? == b'S' {
                    break;
                }
                not_asleep += 1;
                yield_now();
            }
            t0.store(now_ns(), Ordering::Release);
            subj.signal()?;
            while done.load(Ordering::Acquire) != i {
                if failed.load(Ordering::Acquire) {
                    return Err(io::Error::other("reader failed"));
                }
                yield_now();
            }
        }
        Ok(not_asleep)
    })();
    if result.is_err() && !failed.load(Ordering::Acquire) {
        // Let a reader that still sleeps finish, so it can be joined. It may take up to `n`.
        while !reader.is_finished() {
            subj.signal()?;
            yield_now();
        }
    }
    let samples = reader.join().expect("reader thread panicked")?;
    let not_asleep = result?;
    Ok(Latency {
        samples,
        not_asleep,
        rt: is_rt.load(Ordering::Acquire),
    })
}

/// The result of one throughput run.
pub struct Throughput {
    /// Completed waits per second.
    pub per_sec: f64,
    /// Completed waits within the timed window.
    pub waits: u64,
    /// Length of the timed window, ns.
    pub window_ns: u64,
}

/// Runs `readers` threads looping on `wait()` and `writers` threads looping on `signal()` for
/// `window`; counts the waits that complete within it.
///
/// All threads start together at a barrier; this thread then sleeps for `window` and reads the
/// counter at its end. Shutdown afterwards (not timed): writers stop, readers stop after their
/// next wait, this thread signals until every reader has left, and for the drivers it then
/// consumes the completions left over (writes minus reads), so the next run starts at `done = 0`.
pub fn throughput(
    kind: &Kind,
    readers: usize,
    writers: usize,
    window: Duration,
) -> io::Result<Throughput> {
    let subj = Arc::new(Subject::open(kind)?);
    let stop = Arc::new(AtomicBool::new(false));
    let waits = Arc::new(AtomicU64::new(0));
    let signals = Arc::new(AtomicU64::new(0));
    let readers_left = Arc::new(AtomicUsize::new(readers));
    let writers_left = Arc::new(AtomicUsize::new(writers));
    let barrier = Arc::new(Barrier::new(readers + writers + 1));
    let mut handles = Vec::new();

    for r in 0..readers {
        let (subj, stop, waits, left, barrier) = (
            subj.clone(),
            stop.clone(),
            waits.clone(),
            readers_left.clone(),
            barrier.clone(),
        );
        handles.push(thread::Builder::new().name(format!("bench-r{r}")).spawn(
            move || -> io::Result<()> {
                barrier.wait();
                let res = loop {
                    if let Err(e) = subj.wait() {
                        break Err(e);
                    }
                    waits.fetch_add(1, Ordering::Relaxed);
                    if stop.load(Ordering::Relaxed) {
                        break Ok(());
                    }
                };
                left.fetch_sub(1, Ordering::Release);
                res
            },
        )?);
    }
    for w in 0..writers {
        let (subj, stop, signals, left, barrier) = (
            subj.clone(),
            stop.clone(),
            signals.clone(),
            writers_left.clone(),
            barrier.clone(),
        );
        handles.push(thread::Builder::new().name(format!("bench-w{w}")).spawn(
            move || -> io::Result<()> {
                barrier.wait();
                let res = loop {
                    if stop.load(Ordering::Relaxed) {
                        break Ok(());
                    }
                    if let Err(e) = subj.signal() {
                        break Err(e);
                    }
                    signals.fetch_add(1, Ordering::Relaxed);
                };
                left.fetch_sub(1, Ordering::Release);
                res
            },
        )?);
    }

    barrier.wait();
    let start = now_ns();
    let w0 = waits.load(Ordering::Relaxed);
    thread::sleep(window);
    let w1 = waits.load(Ordering::Relaxed);
    let end = now_ns();
    stop.store(true, Ordering::Relaxed);

    // Shutdown: unblock writers stuck on a full pipe, wake readers until all have left.
    let mut extra = 0u64;
    while writers_left.load(Ordering::Acquire) > 0 || readers_left.load(Ordering::Acquire) > 0 {
        if writers_left.load(Ordering::Acquire) > 0 {
            subj.drain_nonblocking();
        } else {
            subj.signal()?;
            extra += 1;
        }
        yield_now();
    }
    let mut first_err = None;
    for h in handles {
        if let Err(e) = h.join().expect("bench thread panicked") {
            first_err.get_or_insert(e);
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    if subj.keeps_count() {
        let left = (signals.load(Ordering::Acquire) + extra)
            .checked_sub(waits.load(Ordering::Acquire))
            .ok_or_else(|| io::Error::other("more waits than signals"))?;
        for _ in 0..left {
            subj.wait()?;
        }
    }
    let window_ns = end - start;
    let n = w1 - w0;
    Ok(Throughput {
        per_sec: n as f64 * 1e9 / window_ns as f64,
        waits: n,
        window_ns,
    })
}

/// How many batches [`call_cost`] times each direction in.
const CALL_BATCHES: usize = 10;

/// The cost of the calls themselves, without any sleep: `n` writes while nobody waits (each
/// only adds to the completion's count), then `n` reads that each find a count waiting.
/// Returns (ns per write, ns per read). Only meaningful for the drivers.
///
/// Each direction is timed in [`CALL_BATCHES`] batches and the cheapest batch counts: the
/// periodic timer tick (every 4 ms of guest time at HZ=250, several thousand instructions)
/// lands in some batches and not others, and would otherwise move the figure by an instruction
/// or two per call from run to run. A batch of 500 calls is about 240,000 instructions, so most
/// batches see no tick.
pub fn call_cost(kind: &Kind, n: usize) -> io::Result<(f64, f64)> {
    let subj = Subject::open(kind)?;
    let per = (n / CALL_BATCHES).max(1);
    let cheapest = |op: &dyn Fn() -> io::Result<()>| -> io::Result<f64> {
        let mut best = u64::MAX;
        for _ in 0..CALL_BATCHES {
            let t0 = now_ns();
            for _ in 0..per {
                op()?;
            }
            best = best.min(now_ns() - t0);
        }
        Ok(best as f64 / per as f64)
    };
    let write = cheapest(&|| subj.signal())?;
    let read = cheapest(&|| subj.wait())?;
    Ok((write, read))
}
