// SPDX-License-Identifier: GPL-2.0
//! The `model_concurrent` case: several tasks act on `/dev/complete` at the same time, and the
//! history of what they did must be linearizable against the driver's specification
//! ([`super::linearizability`]).
//!
//! A run, drawn from its seed: the module loaded with the run's `wait_mode`, `timeout_ms` and
//! `pending_max`; seven forked processes: three *sleepers* that each make one blocking read and
//! get a signal once asleep, two plain sleepers (the second reads only after the first was
//! seen asleep, so FIFO order is observable, and once the second is seen asleep the controller
//! writes once: the oldest sleeper must be the one to return), and two *workers* (4 to 7 operations each, mostly
//! after a pause: blocking and `RWF_NOWAIT` reads, writes, `COMPLETE_ALL`, `REINIT`, `STATUS`).
//! They all start at once; each records every operation's invocation and response time
//! (`CLOCK_MONOTONIC`) and result in shared memory. The parent is the controller: it watches
//! every blocking read and records, as an operation of its own, when it saw the task asleep in
//! it (`/proc/<pid>/stat` in the state of the wait mode: S, or D; another state fails the run);
//! once a sleeper is seen asleep it sends that sleeper's signal (`SIGKILL`, `SIGINT` to a
//! handler with or without `SA_RESTART`, `SIGSTOP` then `SIGCONT`), recorded too, and looks
//! at it once more a little later. When the workers are done, every task that a signal or a
//! timeout must end has to end by itself, with no completion; then the controller ends the
//! reads still blocked with recorded writes, one at a time and one per blocked reader while
//! reads keep returning. A run in which nothing returns or ends for [`WAIT`] fails, naming
//! every task left with its pid, operation, state and wchan: nothing releases a hung read
//! unrecorded. A final `STATUS` must match the totals of the explanation found.
//!
//! Run `i` of a case uses seed `S + i`; the seed picks the configuration (18 combinations of
//! wait mode, timeout none, 200 ms or the maximum, and `pending_max` default or 1 to 3, in turn)
//! and every task's operations, not the interleaving. A failing run is shrunk (tasks, signals
//! and steps dropped while it still fails within three tries) and printed with its history;
//! `complete_dev model_concurrent --seed S --model-runs 1` runs its seed again.

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::SeqCst};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use proptest::prelude::RngExt;
use proptest::test_runner::{RngAlgorithm, TestRng};

use super::linearizability::{self, Call, Cfg, Checker, Entry, Ret, Sig, Tag};
use super::oracle::WaitMode;
use crate::cases::{Ctx, WAIT};
use crate::error::{CaseError, CaseResult, Context};
use crate::kconfig::{Hz, KernelConfig};
use crate::module;
use crate::sys::{self, Errno, Exit};
use crate::uapi::CompleteStatus;

/// `timeout_ms` of the runs with a short timeout: reads time out within a run.
const SHORT_MS: u32 = 200;
/// `timeout_ms` of the runs with a long one: a timed wait that never expires within a run.
const LONG_MS: u32 = 3_600_000;
/// Operation slots per task.
const MAX_OPS: usize = 16;
/// Tasks per run.
const MAX_TASKS: usize = 8;
/// How long the controller waits for a stopped sleeper to show state T.
const STOP_WAIT: Duration = Duration::from_secs(2);
/// The longest the workers' part of a run may take before the controller moves on.
const MAIN_CAP: Duration = Duration::from_secs(5);
/// How long after its signal a sleeper is looked at again, in ns.
const REOBSERVE_NS: u64 = 5_000_000;
/// The least time between two writes that end blocked reads.
const DRAIN_GAP: Duration = Duration::from_millis(20);
/// How long such a write waits for a read to return before the next one.
const DRAIN_PATIENCE: Duration = Duration::from_millis(200);
/// A read seen this many times in the state of another wait mode ...
const WRONG_STATE_LOOKS: u32 = 5;
/// ... over at least this many ns is asleep in the wrong mode.
const WRONG_STATE_NS: u64 = 20_000_000;
/// Tries of a shrink candidate before it counts as passing.
const SHRINK_TRIES: usize = 3;

/// One step of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Sleep this many milliseconds (not an operation).
    Pause(u32),
    /// Make this operation.
    Op(Call),
}

/// What one task does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Its comm.
    pub name: String,
    /// Its steps.
    pub steps: Vec<Step>,
    /// Its `SIGINT` handler has `SA_RESTART`.
    pub restart: bool,
    /// The signal the controller sends it once it is seen asleep in a blocking read.
    pub signal: Option<Sig>,
    /// The controller writes once when it first sees it asleep: a lone write, whose reader
    /// the FIFO order names.
    pub probe: bool,
}

/// One run: its configuration and its tasks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// The seed it was drawn from.
    pub seed: u64,
    /// The module parameters.
    pub cfg: Cfg,
    /// The tasks.
    pub tasks: Vec<Plan>,
}

/// The configuration of seed `s`: 18 combinations in turn.
pub fn config(s: u64) -> Cfg {
    let c = s % 18;
    let mode = [
        WaitMode::Interruptible,
        WaitMode::Killable,
        WaitMode::Uninterruptible,
    ][(c / 6) as usize];
    let timeout_ms = [0, SHORT_MS, LONG_MS][((c / 2) % 3) as usize];
    let pending_max = (c % 2 == 1).then_some(1 + ((s / 18) % 3) as u32);
    Cfg {
        mode,
        timeout_ms,
        pending_max,
    }
}

impl Schedule {
    /// The run of seed `s`.
    pub fn from_seed(s: u64) -> Self {
        let mut b = [0u8; 32];
        b[..8].copy_from_slice(&s.to_le_bytes());
        b[8..16].copy_from_slice(b"cm-lin\0\0");
        let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &b);
        let restart = (s / 18) % 2 == 1;
        let mut tasks = Vec::new();
        for (i, sig) in [Sig::Kill, Sig::Int { restart }, Sig::Stop]
            .into_iter()
            .enumerate()
        {
            tasks.push(Plan {
                name: format!("cm-s{i}"),
                steps: vec![Step::Pause(rng.random_range(0..=10)), Step::Op(Call::Read)],
                restart,
                signal: Some(sig),
                probe: false,
            });
        }
        // Two sleepers without a signal, one well after the other: the controller sees the
        // first asleep before the second reads, so the first write must wake the first (FIFO).
        for (i, pause) in [rng.random_range(0..=4), rng.random_range(8..=14)]
            .into_iter()
            .enumerate()
        {
            tasks.push(Plan {
                name: format!("cm-p{i}"),
                steps: vec![Step::Pause(pause), Step::Op(Call::Read)],
                restart: false,
                signal: None,
                probe: i == 1,
            });
        }
        for i in 0..2 {
            let n = rng.random_range(4..=7);
            // Mostly after the sleepers went to sleep, so that the signals find them asleep.
            let first =
                (rng.random_range(0..4u32) > 0).then(|| Step::Pause(rng.random_range(15..=50)));
            let steps = first
                .into_iter()
                .chain((0..n).map(|_| match rng.random_range(0..24u32) {
                    0..=6 => Step::Op(Call::Write),
                    7..=9 => Step::Op(Call::ReadNowait),
                    10..=12 => Step::Op(Call::Read),
                    13..=14 => Step::Op(Call::Status),
                    15 => Step::Op(Call::CompleteAll),
                    16..=17 => Step::Op(Call::Reinit),
                    _ => Step::Pause(rng.random_range(5..=40)),
                }))
                .collect();
            tasks.push(Plan {
                name: format!("cm-w{i}"),
                steps,
                restart: false,
                signal: None,
                probe: false,
            });
        }
        Self {
            seed: s,
            cfg: config(s),
            tasks,
        }
    }

    /// The `insmod` parameters.
    fn insmod_args(&self) -> String {
        let mut s = format!(
            "wait_mode={} timeout_ms={} verbose=1",
            self.cfg.mode.name(),
            self.cfg.timeout_ms
        );
        if let Some(m) = self.cfg.pending_max {
            s.push_str(&format!(" pending_max={m}"));
        }
        s
    }

    /// The schedule in words, one task a line.
    pub fn describe(&self) -> String {
        let mut out = format!("module loaded with \"{}\"", self.insmod_args());
        for (t, p) in self.tasks.iter().enumerate() {
            let steps: Vec<String> = p
                .steps
                .iter()
                .map(|s| match s {
                    Step::Pause(ms) => format!("pause {ms} ms"),
                    Step::Op(c) => format!("{c:?}"),
                })
                .collect();
            out.push_str(&format!(
                "\n  task {t} ({}): {}{}",
                p.name,
                steps.join(", "),
                match p.signal {
                    Some(s) => format!("; once asleep: {s:?}"),
                    None if p.probe => "; once asleep: the controller writes".into(),
                    None => String::new(),
                }
            ));
        }
        out
    }
}

/// One operation's record in shared memory; `resp` is written last.
#[repr(C)]
struct Slot {
    inv: AtomicU64,
    resp: AtomicU64,
    /// `jiffies` before the invocation and after the response; 0: not known.
    jiffies_before: AtomicU64,
    jiffies_after: AtomicU64,
    ret: AtomicI64,
    errno: AtomicI64,
    status: [AtomicU64; 8],
}

/// Every task's slots.
#[repr(C)]
struct Board {
    slots: [[Slot; MAX_OPS]; MAX_TASKS],
}

/// A shared anonymous mapping holding a [`Board`], seen by every forked task.
struct Shared {
    ptr: NonNull<Board>,
}

impl Shared {
    fn new() -> Result<Self, Errno> {
        // SAFETY: a fresh anonymous mapping aliases nothing; it is zero-filled, and all-zero
        // bytes are valid atomics.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                std::mem::size_of::<Board>(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        NonNull::new(p.cast()).map_or(Err(Errno(libc::ENOMEM)), |ptr| Ok(Self { ptr }))
    }

    fn board(&self) -> &Board {
        // SAFETY: the mapping lives as long as `self` and holds a zero-initialised `Board`;
        // it is only accessed through atomics.
        unsafe { self.ptr.as_ref() }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: the mapping this object owns; no reference to it outlives `self`.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), std::mem::size_of::<Board>()) };
    }
}

/// `timeout_ms` in jiffies, if the kernel's HZ is known (`/boot/config-<release>`).
fn timeout_jiffies(timeout_ms: u32) -> Option<u64> {
    static HZ: OnceLock<Option<Hz>> = OnceLock::new();
    let hz = *HZ.get_or_init(|| KernelConfig::running().ok()?.hz().ok());
    hz.map(|hz| hz.msecs_to_jiffies(timeout_ms))
}

/// The kernel's `jiffies` ([`sys::jiffies`]), 0 if it cannot be read.
fn jiffies() -> u64 {
    sys::jiffies().unwrap_or(0)
}

/// `CLOCK_MONOTONIC` in nanoseconds (the same clock in every process).
fn now() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Makes one operation on `fd`: `(ret, errno, STATUS words)`.
fn do_call(fd: RawFd, call: Call) -> (i64, i32, [u64; 8]) {
    let mut byte = [0u8; 1];
    let mut words = [0u64; 8];
    let ioctl = |cmd: u32, arg: usize| {
        // SAFETY: the commands take no argument, or STATUS a buffer of 8 words we own.
        unsafe { libc::ioctl(fd, cmd as libc::c_ulong, arg) as i64 }
    };
    let r = match call {
        // SAFETY: `byte` is valid for writes of one byte.
        Call::Read => unsafe { libc::read(fd, byte.as_mut_ptr().cast(), 1) as i64 },
        Call::ReadNowait => {
            let iov = libc::iovec {
                iov_base: byte.as_mut_ptr().cast(),
                iov_len: 1,
            };
            // SAFETY: `iov` describes `byte`.
            unsafe { libc::preadv2(fd, &iov, 1, -1, libc::RWF_NOWAIT) as i64 }
        }
        // SAFETY: `byte` is valid for reads of one byte.
        Call::Write => unsafe { libc::write(fd, byte.as_ptr().cast(), 1) as i64 },
        Call::CompleteAll => ioctl(sys::IOC_COMPLETE_ALL, 0),
        Call::Reinit => ioctl(sys::IOC_REINIT, 0),
        Call::Status | Call::FinalStatus => ioctl(sys::IOC_STATUS, words.as_mut_ptr() as usize),
        Call::Asleep(_) | Call::Signal(..) => 0,
    };
    let errno = if r < 0 { Errno::last().0 } else { 0 };
    (r, errno, words)
}

/// The body of a task: wait for the start, make the steps, record each operation.
fn task_main(plan: &Plan, slots: &[Slot; MAX_OPS], go: RawFd) -> i32 {
    if sys::install_handler(libc::SIGINT, plan.restart).is_err() {
        return 4;
    }
    let Ok(fd) = sys::open(sys::DEV_PATH, libc::O_RDWR) else {
        return 3;
    };
    let mut b = [0u8; 1];
    // SAFETY: `b` is valid for writes of one byte. The parent closes its end to start us.
    while unsafe { libc::read(go, b.as_mut_ptr().cast(), 1) } != 0 {}
    let mut k = 0;
    for step in &plan.steps {
        match *step {
            Step::Pause(ms) => std::thread::sleep(Duration::from_millis(ms.into())),
            Step::Op(call) => {
                let Some(slot) = slots.get(k) else { return 5 };
                k += 1;
                slot.jiffies_before.store(jiffies(), SeqCst);
                slot.inv.store(now(), SeqCst);
                let (r, errno, words) = do_call(fd.as_raw_fd(), call);
                slot.ret.store(r, SeqCst);
                slot.errno.store(errno.into(), SeqCst);
                for (s, w) in slot.status.iter().zip(words) {
                    s.store(w, SeqCst);
                }
                slot.resp.store(now(), SeqCst);
                slot.jiffies_after.store(jiffies(), SeqCst);
            }
        }
    }
    0
}

/// The operations of a plan, in order.
fn ops(plan: &Plan) -> Vec<Call> {
    plan.steps
        .iter()
        .filter_map(|s| match s {
            Step::Op(c) => Some(*c),
            Step::Pause(_) => None,
        })
        .collect()
}

/// What became of a run.
pub enum Verdict {
    /// Explained; the tags of the explanation, and the states searched.
    Pass(Vec<Tag>, usize),
    /// Not: why, with the history.
    Fail(String),
}

/// One task of a running run.
struct Task {
    pid: i32,
    ops: Vec<Call>,
    reaped: Option<(u64, Exit)>,
    /// The operation last seen asleep.
    seen: Option<usize>,
    /// The signal still to send, and whether it was sent (and when).
    signal: Option<Sig>,
    sent: Option<u64>,
    /// Seen asleep again after its signal.
    reseen: bool,
    /// Its probe write was made.
    probed: bool,
    /// Seen in its read in the state of another wait mode: which operation, since when, how
    /// many times.
    wrong: Option<(usize, u64, u32)>,
}

/// A run in progress.
struct RunState<'a> {
    sched: &'a Schedule,
    board: &'a Board,
    tasks: Vec<Task>,
    /// The controller's own operations.
    ctl: Vec<Entry>,
    dev: OwnedFd,
    t0: u64,
}

impl RunState<'_> {
    /// The controller's task number.
    fn ctl_task(&self) -> usize {
        self.tasks.len()
    }

    /// The operation `t` is in (invoked, not responded), if any.
    fn in_flight(&self, t: usize) -> Option<usize> {
        let slots = &self.board.slots[t];
        (0..self.tasks[t].ops.len())
            .find(|&k| slots[k].inv.load(SeqCst) != 0 && slots[k].resp.load(SeqCst) == 0)
    }

    /// Operations responded and tasks reaped: what counts as progress.
    fn progress(&self) -> usize {
        (0..self.tasks.len())
            .map(|t| {
                let n = (0..self.tasks[t].ops.len())
                    .filter(|&k| self.board.slots[t][k].resp.load(SeqCst) != 0)
                    .count();
                n + usize::from(self.tasks[t].reaped.is_some())
            })
            .sum()
    }

    /// Reaps the tasks that ended.
    fn reap(&mut self) -> CaseResult {
        for t in &mut self.tasks {
            if t.reaped.is_none() {
                if let Some(st) = sys::wait_exit(t.pid, Duration::ZERO)
                    .with_ctx(|| format!("waitpid({})", t.pid))?
                {
                    t.reaped = Some((now(), st));
                }
            }
        }
        Ok(())
    }

    /// Looks at every task in a blocking read; records when one is asleep, and sends its signal.
    fn observe(&mut self) -> CaseResult<Option<String>> {
        for t in 0..self.tasks.len() {
            if self.tasks[t].reaped.is_some() {
                continue;
            }
            let Some(k) = self.in_flight(t) else { continue };
            // Once more after its signal, when the read may have restarted (at the tail).
            let again = self.tasks[t]
                .sent
                .is_some_and(|at| !self.tasks[t].reseen && now() > at + REOBSERVE_NS);
            if self.tasks[t].ops[k] != Call::Read || (self.tasks[t].seen == Some(k) && !again) {
                continue;
            }
            let pid = self.tasks[t].pid;
            let t1 = now();
            // Asleep in the read itself: S or D while inside read(2), not in a page fault or
            // anything else on the way.
            let in_read = || sys::proc_syscall(pid) == Some(libc::SYS_read);
            let before = in_read();
            let Ok(state) = sys::proc_state(pid) else {
                continue;
            };
            let inside = before && in_read();
            let t2 = now();
            if !inside
                || !matches!(state, 'S' | 'D')
                || self.board.slots[t][k].resp.load(SeqCst) != 0
            {
                continue;
            }
            let want = self.sched.cfg.mode.proc_state();
            if state != want {
                // A passing state (a lock on the way into the wait) is not the wait's; the wait
                // in the wrong state is seen again and again.
                if self.tasks[t].wrong.is_some_and(|(op, _, _)| op != k) {
                    self.tasks[t].wrong = None;
                }
                let (_, since, n) = self.tasks[t].wrong.get_or_insert((k, t1, 0));
                *n += 1;
                if *n >= WRONG_STATE_LOOKS && t2 - *since >= WRONG_STATE_NS {
                    return Ok(Some(format!(
                        "task {t} ({}, pid {pid}) asleep in its blocking read in state {state} \
                         ({n} looks over {} ms), but wait_mode={} sleeps in state {want}",
                        self.sched.tasks[t].name,
                        (t2 - *since) / 1_000_000,
                        self.sched.cfg.mode.name()
                    )));
                }
                continue;
            }
            self.tasks[t].wrong = None;
            if self.tasks[t].seen == Some(k) {
                self.tasks[t].reseen = true;
            }
            self.tasks[t].seen = Some(k);
            let task = self.ctl_task();
            self.ctl.push(Entry {
                task,
                call: Call::Asleep(t),
                inv: t1,
                resp: t2,
                jiffies: None,
                ret: Ret::Val(0),
            });
            if let Some(sig) = self.tasks[t].signal.take() {
                self.send(t, sig)?;
            }
            if self.sched.tasks[t].probe && !self.tasks[t].probed {
                self.tasks[t].probed = true;
                self.ctl_op(Call::Write);
            }
        }
        Ok(None)
    }

    /// Sends `sig` to task `t`, recorded.
    fn send(&mut self, t: usize, sig: Sig) -> CaseResult {
        let pid = self.tasks[t].pid;
        let kill = |s: i32| sys::kill(pid, s).with_ctx(|| format!("kill({pid}, {s})"));
        let t1 = now();
        match sig {
            Sig::Kill => kill(libc::SIGKILL)?,
            Sig::Int { .. } => kill(libc::SIGINT)?,
            Sig::Stop => {
                kill(libc::SIGSTOP)?;
                if self.sched.cfg.mode == WaitMode::Interruptible {
                    let end = Instant::now() + STOP_WAIT;
                    while Instant::now() < end {
                        match sys::proc_state(pid) {
                            Ok('T' | 't' | 'Z') | Err(_) => break,
                            _ => std::thread::sleep(Duration::from_millis(1)),
                        }
                    }
                }
                kill(libc::SIGCONT)?;
            }
        }
        let task = self.ctl_task();
        self.ctl.push(Entry {
            task,
            call: Call::Signal(t, sig),
            inv: t1,
            resp: now(),
            jiffies: None,
            ret: Ret::Val(0),
        });
        self.tasks[t].sent = Some(t1);
        Ok(())
    }

    /// Whether task `t` must end by itself (no completion needed): a signal that ends its wait in
    /// this mode was sent, or its reads time out.
    fn ends_by_itself(&self, t: usize) -> bool {
        let cfg = self.sched.cfg;
        if cfg.timeout_ms == SHORT_MS {
            return true;
        }
        let Some(sig) = self.sched.tasks[t].signal else {
            return false;
        };
        if self.tasks[t].sent.is_none() {
            return false;
        }
        match (cfg.mode, sig) {
            (WaitMode::Interruptible, Sig::Int { restart }) => !restart || cfg.timeout_ms > 0,
            (WaitMode::Interruptible | WaitMode::Killable, Sig::Kill) => true,
            _ => false,
        }
    }

    /// The controller's recorded operation on its own file.
    fn ctl_op(&mut self, call: Call) -> Ret {
        let t1 = now();
        let (r, errno, words) = do_call(self.dev.as_raw_fd(), call);
        let resp = now();
        let ret = to_ret(call, r, errno, words);
        let task = self.ctl_task();
        self.ctl.push(Entry {
            task,
            call,
            inv: t1,
            resp,
            jiffies: None,
            ret,
        });
        ret
    }

    /// The tasks that have not ended, each with its operation, state and wchan.
    fn stuck(&self, why: &str) -> String {
        let mut out = format!("{why}; not ended:");
        for (t, task) in self.tasks.iter().enumerate() {
            if task.reaped.is_some() {
                continue;
            }
            let pid = task.pid;
            let op = match self.in_flight(t) {
                Some(k) => format!(
                    "in operation {k} ({:?}) for {} ms",
                    task.ops[k],
                    (now() - self.board.slots[t][k].inv.load(SeqCst)) / 1_000_000
                ),
                None => "between operations".into(),
            };
            let how = sys::describe_task(pid);
            let sig = match (self.sched.tasks[t].signal, task.sent) {
                (Some(s), Some(at)) => format!(
                    ", {s:?} sent {} ms ago",
                    now().saturating_sub(at) / 1_000_000
                ),
                _ => String::new(),
            };
            out.push_str(&format!(
                "\n  task {t} ({}, pid {pid}) {op}, {how}{sig}",
                self.sched.tasks[t].name
            ));
        }
        out
    }

    /// The whole history: every task's operations, then the controller's.
    fn history(&self) -> Vec<Entry> {
        let mut h = Vec::new();
        for (t, task) in self.tasks.iter().enumerate() {
            for (k, &call) in task.ops.iter().enumerate() {
                let s = &self.board.slots[t][k];
                let inv = s.inv.load(SeqCst);
                if inv == 0 {
                    continue;
                }
                let resp = s.resp.load(SeqCst);
                let (resp, ret) = if resp == 0 {
                    (task.reaped.map_or(u64::MAX, |(at, _)| at), Ret::Lost)
                } else {
                    let words: Vec<u64> = s.status.iter().map(|w| w.load(SeqCst)).collect();
                    let mut st = [0u64; 8];
                    st.copy_from_slice(&words);
                    (
                        resp,
                        to_ret(call, s.ret.load(SeqCst), s.errno.load(SeqCst) as i32, st),
                    )
                };
                let (before, after) = (s.jiffies_before.load(SeqCst), s.jiffies_after.load(SeqCst));
                h.push(Entry {
                    task: t,
                    call,
                    inv,
                    resp,
                    jiffies: (before != 0 && after != 0).then_some((before, after)),
                    ret,
                });
            }
        }
        h.extend(self.ctl.iter().cloned());
        h
    }

    /// A history in words, times in ms from the start.
    fn show(&self, h: &[Entry]) -> String {
        let ms = |t: u64| {
            if t == u64::MAX {
                "-".into()
            } else {
                format!("{:.3}", t.saturating_sub(self.t0) as f64 / 1e6)
            }
        };
        let mut out = String::from(
            "history (task: operation [invoked..responded ms] (jiffies before..after) -> result):",
        );
        for (i, e) in h.iter().enumerate() {
            let who = if e.task == self.ctl_task() {
                "controller".to_string()
            } else {
                format!(
                    "task {} ({}, pid {})",
                    e.task, self.sched.tasks[e.task].name, self.tasks[e.task].pid
                )
            };
            let jiffies = match e.jiffies {
                Some((before, after)) => format!(" (jiffies {before}..{after})"),
                None => String::new(),
            };
            out.push_str(&format!(
                "\n  #{i} {who}: {:?} [{}..{}]{jiffies} -> {}",
                e.call,
                ms(e.inv),
                ms(e.resp),
                linearizability::show_ret(e.ret)
            ));
        }
        out
    }

    /// Releases whatever is left (after a failure was decided) and reaps it: every task is
    /// killed first, so that none can `REINIT` after the `COMPLETE_ALL`s that end the
    /// uninterruptible waits.
    fn cleanup(&mut self) {
        for t in &self.tasks {
            if t.reaped.is_none() {
                let _ = sys::kill(t.pid, libc::SIGCONT);
                let _ = sys::kill(t.pid, libc::SIGKILL);
            }
        }
        let end = Instant::now() + WAIT;
        while self.tasks.iter().any(|t| t.reaped.is_none()) && Instant::now() < end {
            let _ = do_call(self.dev.as_raw_fd(), Call::CompleteAll);
            for t in &mut self.tasks {
                if t.reaped.is_none() {
                    if let Ok(Some(st)) = sys::wait_exit(t.pid, Duration::ZERO) {
                        t.reaped = Some((now(), st));
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A recorded result.
fn to_ret(call: Call, r: i64, errno: i32, words: [u64; 8]) -> Ret {
    if r < 0 {
        Ret::Err(errno)
    } else if matches!(call, Call::Status | Call::FinalStatus) {
        Ret::Status(CompleteStatus::from_words(words))
    } else {
        Ret::Val(r)
    }
}

/// Runs `sched` once on a freshly loaded module and checks its history.
pub fn run(ctx: &Ctx, sched: &Schedule) -> CaseResult<Verdict> {
    crate::ensure!(
        sched.tasks.len() <= MAX_TASKS && sched.tasks.iter().all(|p| ops(p).len() <= MAX_OPS),
        "schedule too large: {}",
        sched.describe()
    );
    module::load_fresh(&ctx.opts.module, &sched.insmod_args())?;
    let shared = Shared::new().ctx("mmap the shared board")?;
    let board = shared.board();
    let dev = sys::open(sys::DEV_PATH, libc::O_RDWR).ctx("open /dev/complete")?;
    let (go_r, go_w) = sys::pipe().ctx("pipe for the start")?;
    let mut tasks = Vec::new();
    for (t, plan) in sched.tasks.iter().enumerate() {
        let slots = &board.slots[t];
        let (go, go_w_raw) = (go_r.as_raw_fd(), go_w.as_raw_fd());
        let pid = sys::fork_child(&plan.name, || {
            // SAFETY: our copy of the start pipe's write end: only the parent's may keep it open.
            unsafe { libc::close(go_w_raw) };
            task_main(plan, slots, go)
        })
        .with_ctx(|| format!("fork task {}", plan.name))?;
        tasks.push(Task {
            pid,
            ops: ops(plan),
            reaped: None,
            seen: None,
            signal: plan.signal,
            sent: None,
            reseen: false,
            probed: false,
            wrong: None,
        });
    }
    let mut r = RunState {
        sched,
        board,
        tasks,
        ctl: Vec::new(),
        dev,
        t0: now(),
    };
    drop(go_w);
    let res = drive(&mut r);
    if !matches!(res, Ok(None)) {
        r.cleanup();
    }
    drop(go_r);
    if let Some(why) = res? {
        let h = r.history();
        return Ok(Verdict::Fail(format!("{why}\n{}", r.show(&h))));
    }
    let h = r.history();
    let mut c = Checker::new(sched.cfg, timeout_jiffies(sched.cfg.timeout_ms), &h);
    Ok(match c.check() {
        Ok(tags) => Verdict::Pass(tags, c.states()),
        Err(no) => {
            let stuck: Vec<String> = no.stuck.iter().map(|i| format!("#{i}")).collect();
            Verdict::Fail(format!(
                "{}: {} of {} operations explained; none of the next ones ({}) can come next \
                 (specification: {})\n{}",
                if no.gave_up {
                    "the search gave up (history too large): no verdict"
                } else {
                    "not linearizable: no order of the operations explains every result"
                },
                no.explained,
                h.len(),
                stuck.join(", "),
                no.state,
                r.show(&h)
            ))
        }
    })
}

/// The controller's loop: observe, signal, then end the blocked reads; `Some(why)` if the run
/// failed before its history could be checked.
fn drive(r: &mut RunState<'_>) -> CaseResult<Option<String>> {
    let start = Instant::now();
    let mut last = (r.progress(), Instant::now());
    let mut drained_since = 0usize;
    let mut last_drain = Instant::now();
    loop {
        r.reap()?;
        if let Some(why) = r.observe()? {
            return Ok(Some(why));
        }
        let p = r.progress();
        if p != last.0 {
            last = (p, Instant::now());
            drained_since = 0;
        }
        let alive: Vec<usize> = (0..r.tasks.len())
            .filter(|&t| r.tasks[t].reaped.is_none())
            .collect();
        if alive.is_empty() {
            break;
        }
        // The workers' part is over when every live task is in a blocking read (or done).
        let in_read = |t: usize| {
            r.in_flight(t)
                .is_some_and(|k| r.tasks[t].ops[k] == Call::Read)
        };
        let main_over = start.elapsed() > MAIN_CAP
            || (r
                .tasks
                .iter()
                .all(|t| t.signal.is_none() || t.reaped.is_some())
                && alive.iter().all(|&t| in_read(t)));
        let self_ending = alive.iter().any(|&t| r.ends_by_itself(t));
        if main_over && !self_ending {
            let blocked = alive.iter().filter(|&&t| in_read(t)).count();
            // One write at a time: the next once a read returned (or after a while), so that
            // each wake-up can be told apart; at most one per blocked reader without progress.
            let due = if drained_since == 0 {
                DRAIN_GAP
            } else {
                DRAIN_PATIENCE
            };
            if blocked > drained_since && last_drain.elapsed() >= due {
                if let Ret::Val(_) = r.ctl_op(Call::Write) {
                    drained_since += 1;
                }
                last_drain = Instant::now();
            }
        }
        if last.1.elapsed() > WAIT {
            return Ok(Some(r.stuck(&format!(
                "no operation returned and no task ended for {WAIT:?}{}",
                if self_ending {
                    " (a task that a signal or its timeout must end, with no completion needed)"
                } else {
                    ""
                }
            ))));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    for (t, task) in r.tasks.iter().enumerate() {
        let ok = match task.reaped {
            Some((_, Exit::Code(0))) => true,
            Some((_, Exit::Signal(libc::SIGKILL))) => task.sent.is_some(),
            _ => false,
        };
        crate::ensure!(
            ok,
            "task {t} ({}, pid {}) ended with {:?}",
            r.sched.tasks[t].name,
            task.pid,
            task.reaped
        );
    }
    r.ctl_op(Call::FinalStatus);
    Ok(None)
}

/// The schedules one step smaller than `s`: a task, a signal or a step less.
fn smaller(s: &Schedule) -> Vec<Schedule> {
    let mut out = Vec::new();
    for t in 0..s.tasks.len() {
        if s.tasks.len() > 1 {
            let mut c = s.clone();
            c.tasks.remove(t);
            out.push(c);
        }
    }
    for t in 0..s.tasks.len() {
        if s.tasks[t].signal.is_some() || s.tasks[t].probe {
            let mut c = s.clone();
            c.tasks[t].signal = None;
            c.tasks[t].probe = false;
            out.push(c);
        }
        for k in 0..s.tasks[t].steps.len() {
            if s.tasks[t].steps.len() > 1 {
                let mut c = s.clone();
                c.tasks[t].steps.remove(k);
                out.push(c);
            }
        }
    }
    out
}

/// Shrinks a failing schedule: the smallest one found that still fails, with its failure.
fn shrink(ctx: &Ctx, mut cur: Schedule, mut why: String) -> CaseResult<(Schedule, String, usize)> {
    let end = Instant::now() + Duration::from_secs(ctx.opts.model_shrink_secs.into());
    let mut tried = 0;
    'outer: loop {
        for cand in smaller(&cur) {
            for _ in 0..SHRINK_TRIES {
                if Instant::now() > end {
                    break 'outer;
                }
                tried += 1;
                if let Verdict::Fail(w) = run(ctx, &cand)? {
                    cur = cand;
                    why = w;
                    continue 'outer;
                }
            }
        }
        break;
    }
    Ok((cur, why, tried))
}

/// Coverage of the runs, per wait mode and timeout.
#[derive(Default)]
struct Cover {
    runs: u32,
    ops: usize,
    tags: BTreeMap<String, u32>,
}

/// `--model-runs` runs, seed `S + i` for run `i`.
pub fn model_concurrent(ctx: &Ctx) -> CaseResult {
    let o = &ctx.opts;
    let base = super::seed(o.seed);
    println!(
        "# model_concurrent: seed {base}, {} runs of 7 tasks at once",
        o.model_runs
    );
    let start = Instant::now();
    let mut cover: BTreeMap<String, Cover> = BTreeMap::new();
    let mut max_states = 0;
    for i in 0..u64::from(o.model_runs) {
        let s = base.wrapping_add(i);
        let sched = Schedule::from_seed(s);
        let verdict = run(ctx, &sched).map_err(|e| match e {
            CaseError::Fail(m) => CaseError::Fail(format!("model_concurrent: seed {s}: {m}")),
            skip => skip,
        })?;
        match verdict {
            Verdict::Pass(tags, states) => {
                max_states = max_states.max(states);
                let key = format!(
                    "{} timeout_ms={}",
                    sched.cfg.mode.name(),
                    sched.cfg.timeout_ms
                );
                let c = cover.entry(key).or_default();
                c.runs += 1;
                c.ops += sched.tasks.iter().map(|p| ops(p).len()).sum::<usize>();
                for t in tags {
                    *c.tags.entry(format!("{t:?}")).or_default() += 1;
                }
            }
            Verdict::Fail(why) => {
                println!("# model_concurrent: seed {s} failed; shrinking");
                let (small, why, tried) = shrink(ctx, sched.clone(), why)?;
                crate::bail!(
                    "model_concurrent: seed {s} (run {i} of base seed {base}) failed: {}\n\
                     shrunk ({tried} candidate runs) to:\n{}\n{why}\n\
                     replay: complete_dev model_concurrent --seed {s} --model-runs 1",
                    sched.describe(),
                    small.describe()
                );
            }
        }
    }
    for (k, c) in &cover {
        let tags: Vec<String> = c.tags.iter().map(|(t, n)| format!("{t} {n}")).collect();
        println!(
            "# model_concurrent: {k}: {} runs, {} task operations; {}",
            c.runs,
            c.ops,
            tags.join(", ")
        );
    }
    let timeouts = match (timeout_jiffies(1000), sys::jiffies()) {
        (Some(hz), Ok(_)) => format!("timeouts in jiffies (HZ={hz})"),
        _ => "timeouts in time (no HZ or no jiffies)".to_string(),
    };
    println!(
        "# model_concurrent: {} runs in {:.1} s, largest search {max_states} states, {timeouts}",
        o.model_runs,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configurations_cycle() {
        let mut seen = std::collections::BTreeSet::new();
        for s in 1000..1018 {
            let c = config(s);
            seen.insert((c.mode.name(), c.timeout_ms, c.pending_max.is_some()));
        }
        assert_eq!(seen.len(), 18);
        assert!(seen.contains(&("killable", SHORT_MS, false)));
        assert!(seen.contains(&("killable", LONG_MS, true)));
    }

    #[test]
    fn schedules_are_replayable_and_fit() {
        for s in 0..200 {
            let a = Schedule::from_seed(s);
            assert_eq!(a, Schedule::from_seed(s));
            assert!(a.tasks.len() <= MAX_TASKS);
            assert!(a.tasks.iter().all(|p| ops(p).len() <= MAX_OPS));
            assert!(a.tasks.iter().any(|p| p.signal == Some(Sig::Kill)));
        }
        let s = Schedule::from_seed(7);
        assert!(smaller(&s).iter().all(|c| c != &s));
    }
}
