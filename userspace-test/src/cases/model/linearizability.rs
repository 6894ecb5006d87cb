// SPDX-License-Identifier: GPL-2.0
//! The linearizability check of the `model_concurrent` case: a history of operations made by
//! several tasks at once, each with its invocation and response time (`CLOCK_MONOTONIC`) and its
//! result, is explained by some total order of the operations that respects their real-time
//! order (an operation that responded before another was invoked comes first), replayed against
//! a sequential specification of the driver. The search is Wing and Gong's, with Lowe's
//! memoization of the states already found to lead nowhere.
//!
//! The specification is the kernel's completion (`kernel/sched/completion.c`) as the driver uses
//! it, step by step, so that a blocking read is not one atomic step but several:
//! - *enter*: with `done > 0` (or all done) the read takes one and returns; else it joins the
//!   tail of the FIFO queue of waiters;
//! - a `complete()` (a write) adds one to `done` and moves the head of the queue to the *woken*
//!   set (`swake_up_locked` removes it from the list); `complete_all()` moves every waiter;
//! - *run*: a woken waiter (or one a signal or its timeout made runnable) takes one if
//!   `done > 0`; else a signal ends its wait, a timeout fails it with `ETIMEDOUT`, and a woken
//!   waiter whose completion another read took first (a read that came in between "barges") goes
//!   back to sleep at the tail of the queue.
//!
//! A write is two steps when `pending_max` is small (the check of the bound, then `complete()`),
//! as in the driver. A signal (`SIGINT` with a handler, with or without `SA_RESTART`,
//! `SIGKILL`, `SIGSTOP` then `SIGCONT`) makes a waiter runnable when its wait mode lets it:
//! every signal in an interruptible wait, only `SIGKILL` in a killable one, none in an
//! uninterruptible one. A timed wait turns a restart after a handler into `EINTR`. A timeout of
//! `t` jiffies can happen only once `jiffies` passed the value it had before the read by `t`:
//! before the response of every operation not yet placed, by the `jiffies` read after it (where
//! the history has them; else once the read lasted its timeout less one jiffy, at most 10 ms at
//! HZ >= 100, in `CLOCK_MONOTONIC`). The only times the check uses besides the real-time order.
//!
//! Why jiffies and not only time: `jiffies` advances at the tick, and a late tick (a guest whose
//! CPUs the host runs late) leaves it behind the clock for a while; a wait of `t` jiffies begun
//! then ends sooner than `t` ticks of the clock later. Seen on the KCSAN kernel under TCG: a
//! 200 ms (50-jiffy) read timed out after 186.7 ms.
//!
//! An operation without a response (its task was killed) may end in any way; it must still end,
//! before its task was reaped. `STATUS` in the middle of a run is compared for `pending` and
//! `all_done` (the counters are separate words, not one snapshot); the final `STATUS`, after
//! every task ended, field by field.

use std::collections::HashSet;

use super::oracle::WaitMode;
use crate::uapi::CompleteStatus;

/// The most operations one history may hold.
pub const MAX_ENTRIES: usize = 128;

/// States the search may visit before it gives up (a failure: the history is too large, never
/// a pass).
pub const MAX_STATES: usize = 2_000_000;

/// The longest a jiffy can be (HZ = 100), in nanoseconds: a timed wait may end this much early.
pub const JIFFY_SLACK_NS: u64 = 10_000_000;

/// The module parameters of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cfg {
    /// `wait_mode`.
    pub mode: WaitMode,
    /// `timeout_ms`; 0 waits for ever.
    pub timeout_ms: u32,
    /// `pending_max`; `None` keeps the default (never reached in a run).
    pub pending_max: Option<u32>,
}

/// A signal the controller sends to a sleeping reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sig {
    /// `SIGINT`, caught by a handler installed with or without `SA_RESTART`.
    Int {
        /// The handler has `SA_RESTART`.
        restart: bool,
    },
    /// `SIGKILL`.
    Kill,
    /// `SIGSTOP`, then (once stopped) `SIGCONT`.
    Stop,
}

/// One operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// A blocking `read()` of one byte.
    Read,
    /// `preadv2(RWF_NOWAIT)` of one byte.
    ReadNowait,
    /// `write()` of one byte.
    Write,
    /// `ioctl(COMPLETE_ALL)`.
    CompleteAll,
    /// `ioctl(REINIT)`.
    Reinit,
    /// `ioctl(STATUS)` in the middle of the run: `pending` and `all_done` are checked.
    Status,
    /// The controller saw the task (its index) asleep in its current blocking read.
    Asleep(usize),
    /// The controller sent this signal to the task.
    Signal(usize, Sig),
    /// `ioctl(STATUS)` after every task ended: every field is checked.
    FinalStatus,
}

/// What an operation returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    /// The call's value.
    Val(i64),
    /// The call failed with this errno.
    Err(i32),
    /// `STATUS` succeeded with this record.
    Status(CompleteStatus),
    /// No response: the task was killed.
    Lost,
}

/// One operation of the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The task that made it (the controller has its own number).
    pub task: usize,
    /// What it was.
    pub call: Call,
    /// Invocation time, ns of `CLOCK_MONOTONIC`.
    pub inv: u64,
    /// Response time; for a [`Ret::Lost`] one, when its task was reaped.
    pub resp: u64,
    /// `jiffies` read right before the invocation and right after the response, if known.
    pub jiffies: Option<(u64, u64)>,
    /// Its result.
    pub ret: Ret,
}

/// How far an operation got in the search.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Ph {
    /// Not begun (a read: not entered, or restarting).
    Start,
    /// A read in the queue, with the signal that made it runnable.
    Queued(Option<Sig>),
    /// A read that a completion removed from the queue, not yet run.
    Woken(Option<Sig>),
    /// A read ended by `SIGSTOP`, restarting at `SIGCONT`.
    Stopped,
    /// A write past its check, a stop not yet continued.
    Mid,
    /// Done.
    Done,
}

/// The state of the specification, with every operation's progress.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct St {
    done: u32,
    all: bool,
    queue: Vec<u8>,
    ph: Vec<Ph>,
    /// `completes`, `reads_woken`, `reads_interrupted`, `reads_timed_out`, `reads_would_block`.
    c: [u32; 5],
}

const COMPLETES: usize = 0;
const WOKEN: usize = 1;
const INTERRUPTED: usize = 2;
const TIMED_OUT: usize = 3;
const WOULD_BLOCK: usize = 4;

/// Something the explanation found happened: coverage of the interesting interleavings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tag {
    /// A signal of this kind ended a sleeping read's wait.
    SignalEnded(Sig),
    /// A signal reached a sleeping read that a completion was waiting for: the read passed.
    SignalLostRace,
    /// A read timed out while asleep.
    TimedOut,
    /// A woken read found its completion taken and slept again.
    Barged,
    /// A write was refused at `pending_max`.
    Refused,
    /// A REINIT or COMPLETE_ALL came while a reader slept.
    IoctlWhileAsleep,
}

/// Why no order explains the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoOrder {
    /// Operations the longest explained prefix held.
    pub explained: usize,
    /// The operations that could come next there, none of which the specification allows.
    pub stuck: Vec<usize>,
    /// The specification's state there, in words.
    pub state: String,
    /// The search gave up (too many states): the history is too large, not wrong.
    pub gave_up: bool,
}

/// The checker of one history.
pub struct Checker<'a> {
    cfg: Cfg,
    /// `timeout_ms` in jiffies (`msecs_to_jiffies`), if the kernel's HZ is known.
    timeout_jiffies: Option<u64>,
    h: &'a [Entry],
    /// Per task, its entries in order.
    by_task: Vec<Vec<usize>>,
    failed: HashSet<St>,
    states: usize,
    best: (usize, St),
}

impl<'a> Checker<'a> {
    /// A checker of `h` under `cfg`; `timeout_jiffies` is `timeout_ms` in jiffies, if known.
    pub fn new(cfg: Cfg, timeout_jiffies: Option<u64>, h: &'a [Entry]) -> Self {
        let tasks = h.iter().map(|e| e.task + 1).max().unwrap_or(0);
        let mut by_task = vec![Vec::new(); tasks];
        for (i, e) in h.iter().enumerate() {
            by_task[e.task].push(i);
        }
        let st = St {
            done: 0,
            all: false,
            queue: Vec::new(),
            ph: vec![Ph::Start; h.len()],
            c: [0; 5],
        };
        Self {
            cfg,
            timeout_jiffies,
            h,
            by_task,
            failed: HashSet::new(),
            states: 0,
            best: (0, st),
        }
    }

    /// The states visited so far.
    pub fn states(&self) -> usize {
        self.states
    }

    /// Searches for an order; on success the tags of the explanation found.
    pub fn check(&mut self) -> Result<Vec<Tag>, NoOrder> {
        if self.h.len() > MAX_ENTRIES {
            return Err(NoOrder {
                explained: 0,
                stuck: Vec::new(),
                state: format!("{} operations, more than {MAX_ENTRIES}", self.h.len()),
                gave_up: true,
            });
        }
        let st = self.best.1.clone();
        let mut tags = Vec::new();
        match self.dfs(st, &mut tags) {
            Some(true) => {
                tags.reverse();
                Ok(tags)
            }
            res => {
                let (explained, st) = self.best.clone();
                let min = self.min_resp(&st);
                let stuck = (0..self.h.len())
                    .filter(|&i| st.ph[i] != Ph::Done && self.h[i].inv <= min)
                    .collect();
                Err(NoOrder {
                    explained,
                    stuck,
                    state: format!(
                        "done {} all_done {} queue {:?} [completes, woken, interrupted, timed out, would block] {:?}",
                        st.done, st.all, st.queue, st.c
                    ),
                    gave_up: res.is_none(),
                })
            }
        }
    }

    /// Whether the timeout of read `i` can have expired before every operation not done
    /// responded (`min`: the earliest of those responses).
    fn may_expire(&self, st: &St, i: usize, min: u64) -> bool {
        match (self.timeout_jiffies, self.h[i].jiffies) {
            // `jiffies` reached its value before the read plus the timeout before each of those
            // responses, so each `jiffies` read after one is at least that.
            (Some(t), Some((before, _))) => (0..self.h.len())
                .filter(|&k| st.ph[k] != Ph::Done)
                .filter_map(|k| self.h[k].jiffies.map(|(_, after)| after))
                .all(|after| after >= before + t),
            _ => {
                self.h[i].inv + u64::from(self.cfg.timeout_ms) * 1_000_000
                    < min.saturating_add(JIFFY_SLACK_NS)
            }
        }
    }

    /// The earliest response among the operations not done.
    fn min_resp(&self, st: &St) -> u64 {
        (0..self.h.len())
            .filter(|&i| st.ph[i] != Ph::Done)
            .map(|i| self.h[i].resp)
            .min()
            .unwrap_or(u64::MAX)
    }

    /// `Some(true)`: explained (tags pushed in reverse); `Some(false)`: not from here; `None`:
    /// gave up.
    fn dfs(&mut self, st: St, tags: &mut Vec<Tag>) -> Option<bool> {
        let n_done = st.ph.iter().filter(|p| **p == Ph::Done).count();
        if n_done == self.h.len() {
            return Some(true);
        }
        if self.failed.contains(&st) {
            return Some(false);
        }
        self.states += 1;
        if self.states > MAX_STATES {
            return None;
        }
        if n_done > self.best.0 {
            self.best = (n_done, st.clone());
        }
        let min = self.min_resp(&st);
        for i in 0..self.h.len() {
            if st.ph[i] == Ph::Done || self.h[i].inv > min {
                continue;
            }
            for (next, tag) in self.steps(&st, i, min) {
                if self.dfs(next, tags)? {
                    tags.extend(tag);
                    return Some(true);
                }
            }
        }
        self.failed.insert(st);
        Some(false)
    }

    /// The current (first not done) operation of `task`.
    fn current(&self, st: &St, task: usize) -> Option<usize> {
        self.by_task
            .get(task)?
            .iter()
            .copied()
            .find(|&i| st.ph[i] != Ph::Done)
    }

    /// Whether a `SIGSTOP` to `task` awaits its `SIGCONT`.
    fn stop_pending(&self, st: &St, task: usize) -> bool {
        (0..self.h.len())
            .any(|j| self.h[j].call == Call::Signal(task, Sig::Stop) && st.ph[j] == Ph::Mid)
    }

    /// Whether `sig` ends a wait in this run's wait mode.
    fn wakes(&self, sig: Sig) -> bool {
        match self.cfg.mode {
            WaitMode::Interruptible => true,
            WaitMode::Killable => sig == Sig::Kill,
            WaitMode::Uninterruptible => false,
        }
    }

    /// Ends operation `i` with `want` if its recorded result agrees.
    fn finish(&self, st: &mut St, i: usize, want: Ret) -> bool {
        let ok = match (self.h[i].ret, want) {
            (Ret::Lost, _) => true,
            (got, want) => got == want,
        };
        st.ph[i] = Ph::Done;
        ok
    }

    /// The states one step of operation `i` can lead to (`min`: the earliest response of the
    /// operations not done).
    fn steps(&self, st: &St, i: usize, min: u64) -> Vec<(St, Option<Tag>)> {
        let e = &self.h[i];
        let mut out = Vec::new();
        let mut s = st.clone();
        let mut push = |s: St, ok: bool, tag: Option<Tag>| {
            if ok {
                out.push((s, tag));
            }
        };
        match e.call {
            Call::Read => return self.read_steps(st, i, min),
            Call::ReadNowait => {
                let ok = if self.take(&mut s) {
                    s.c[WOKEN] += 1;
                    self.finish(&mut s, i, Ret::Val(0))
                } else {
                    s.c[WOULD_BLOCK] += 1;
                    self.finish(&mut s, i, Ret::Err(libc::EAGAIN))
                };
                push(s, ok, None);
            }
            Call::Write => {
                let two_step = self.cfg.pending_max.is_some();
                if st.ph[i] == Ph::Start && two_step {
                    let max = self.cfg.pending_max.unwrap_or(u32::MAX);
                    if !s.all && s.done >= max {
                        let ok = self.finish(&mut s, i, Ret::Err(libc::EOVERFLOW));
                        push(s, ok, Some(Tag::Refused));
                    } else {
                        s.ph[i] = Ph::Mid;
                        push(s, true, None);
                    }
                } else {
                    s.c[COMPLETES] += 1;
                    if !s.all {
                        s.done += 1;
                        if !s.queue.is_empty() {
                            let h = usize::from(s.queue.remove(0));
                            if let Ph::Queued(sig) = s.ph[h] {
                                s.ph[h] = Ph::Woken(sig);
                            }
                        }
                    }
                    let ok = self.finish(&mut s, i, Ret::Val(1));
                    push(s, ok, None);
                }
            }
            Call::CompleteAll => {
                let tag = (!s.queue.is_empty()).then_some(Tag::IoctlWhileAsleep);
                s.all = true;
                s.done = 0;
                for h in std::mem::take(&mut s.queue) {
                    if let Ph::Queued(sig) = s.ph[usize::from(h)] {
                        s.ph[usize::from(h)] = Ph::Woken(sig);
                    }
                }
                let ok = self.finish(&mut s, i, Ret::Val(0));
                push(s, ok, tag);
            }
            Call::Reinit => {
                let tag = (!s.queue.is_empty()).then_some(Tag::IoctlWhileAsleep);
                s.all = false;
                s.done = 0;
                let ok = self.finish(&mut s, i, Ret::Val(0));
                push(s, ok, tag);
            }
            Call::Status => {
                let ok = match e.ret {
                    Ret::Status(r) => {
                        r.pending == u64::from(if s.all { 0 } else { s.done })
                            && r.all_done == u64::from(s.all)
                    }
                    _ => false,
                };
                s.ph[i] = Ph::Done;
                push(s, ok, None);
            }
            Call::FinalStatus => {
                let ok = match e.ret {
                    Ret::Status(r) => {
                        let want = CompleteStatus {
                            pending: u64::from(if s.all { 0 } else { s.done }),
                            all_done: u64::from(s.all),
                            sleepers: 0,
                            reads_woken: s.c[WOKEN].into(),
                            reads_interrupted: s.c[INTERRUPTED].into(),
                            reads_timed_out: s.c[TIMED_OUT].into(),
                            reads_would_block: s.c[WOULD_BLOCK].into(),
                            completes: s.c[COMPLETES].into(),
                        };
                        r == want
                    }
                    _ => false,
                };
                s.ph[i] = Ph::Done;
                push(s, ok, None);
            }
            Call::Asleep(t) => {
                let ok = self.current(st, t).is_some_and(|r| {
                    self.h[r].call == Call::Read && matches!(st.ph[r], Ph::Queued(_) | Ph::Woken(_))
                });
                s.ph[i] = Ph::Done;
                push(s, ok, None);
            }
            Call::Signal(t, sig) => {
                if sig == Sig::Stop && st.ph[i] == Ph::Mid {
                    // SIGCONT: a read the stop ended restarts.
                    for &r in &self.by_task[t] {
                        if s.ph[r] == Ph::Stopped {
                            s.ph[r] = Ph::Start;
                        }
                    }
                    s.ph[i] = Ph::Done;
                    push(s, true, None);
                } else {
                    if let Some(r) = self.current(st, t) {
                        if self.h[r].call == Call::Read && self.wakes(sig) {
                            s.ph[r] = match s.ph[r] {
                                Ph::Queued(None) => Ph::Queued(Some(sig)),
                                Ph::Woken(None) => Ph::Woken(Some(sig)),
                                p => p,
                            };
                        }
                    }
                    s.ph[i] = if sig == Sig::Stop { Ph::Mid } else { Ph::Done };
                    push(s, true, None);
                }
            }
        }
        out
    }

    /// Takes one completion if there is one.
    fn take(&self, s: &mut St) -> bool {
        if s.all {
            true
        } else if s.done > 0 {
            s.done -= 1;
            true
        } else {
            false
        }
    }

    /// The steps of blocking read `i`.
    fn read_steps(&self, st: &St, i: usize, min: u64) -> Vec<(St, Option<Tag>)> {
        let mut out = Vec::new();
        let mut s = st.clone();
        let timed = self.cfg.timeout_ms > 0;
        match st.ph[i] {
            Ph::Start => {
                if self.take(&mut s) {
                    s.c[WOKEN] += 1;
                    if self.finish(&mut s, i, Ret::Val(0)) {
                        out.push((s, None));
                    }
                } else {
                    s.ph[i] = Ph::Queued(None);
                    s.queue.push(i as u8);
                    out.push((s, None));
                }
            }
            Ph::Queued(sig) | Ph::Woken(sig) => {
                let woken = matches!(st.ph[i], Ph::Woken(_));
                let expired = timed && self.may_expire(st, i, min);
                if !(woken || sig.is_some() || expired) {
                    return out;
                }
                s.queue.retain(|&q| usize::from(q) != i);
                if self.take(&mut s) {
                    s.c[WOKEN] += 1;
                    let want = if sig == Some(Sig::Kill) {
                        Ret::Lost
                    } else {
                        Ret::Val(0)
                    };
                    let tag = sig.map(|_| Tag::SignalLostRace);
                    if self.finish(&mut s, i, want) {
                        out.push((s, tag));
                    }
                    return out;
                }
                if let Some(sig) = sig {
                    let mut s = s.clone();
                    s.c[INTERRUPTED] += 1;
                    let tag = Some(Tag::SignalEnded(sig));
                    match sig {
                        Sig::Kill => {
                            if self.finish(&mut s, i, Ret::Lost) {
                                out.push((s, tag));
                            }
                        }
                        Sig::Int { restart } if !restart || timed => {
                            if self.finish(&mut s, i, Ret::Err(libc::EINTR)) {
                                out.push((s, tag));
                            }
                        }
                        Sig::Int { .. } => {
                            s.ph[i] = Ph::Start;
                            out.push((s, tag));
                        }
                        // Stopped until the SIGCONT; if that came first (it flushed the stop
                        // before the task ran), the read restarts without stopping.
                        Sig::Stop if self.stop_pending(st, self.h[i].task) => {
                            s.ph[i] = Ph::Stopped;
                            out.push((s, tag));
                        }
                        Sig::Stop => {
                            s.ph[i] = Ph::Start;
                            out.push((s, tag));
                        }
                    }
                }
                if expired {
                    let mut s = s.clone();
                    s.c[TIMED_OUT] += 1;
                    let want = if sig == Some(Sig::Kill) {
                        Ret::Lost
                    } else {
                        Ret::Err(libc::ETIMEDOUT)
                    };
                    if self.finish(&mut s, i, want) {
                        out.push((s, Some(Tag::TimedOut)));
                    }
                }
                if woken && sig.is_none() {
                    s.ph[i] = Ph::Queued(None);
                    s.queue.push(i as u8);
                    out.push((s, Some(Tag::Barged)));
                }
            }
            Ph::Stopped | Ph::Mid | Ph::Done => {}
        }
        out
    }
}

/// An errno or value in words.
pub fn show_ret(r: Ret) -> String {
    match r {
        Ret::Val(v) => v.to_string(),
        Ret::Err(e) => crate::sys::Errno(e).name(),
        Ret::Status(s) => format!(
            "pending {} all_done {} sleepers {} woken {} interrupted {} timed_out {} would_block {} completes {}",
            s.pending,
            s.all_done,
            s.sleepers,
            s.reads_woken,
            s.reads_interrupted,
            s.reads_timed_out,
            s.reads_would_block,
            s.completes
        ),
        Ret::Lost => "no response (killed)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn cfg(mode: WaitMode, timeout_ms: u32) -> Cfg {
        Cfg {
            mode,
            timeout_ms,
            pending_max: None,
        }
    }

    fn e(task: usize, call: Call, inv: u64, resp: u64, ret: Ret) -> Entry {
        Entry {
            task,
            call,
            inv: inv * MS,
            resp: resp * MS,
            jiffies: None,
            ret,
        }
    }

    fn status(pending: u64, woken: u64, interrupted: u64, completes: u64) -> Ret {
        Ret::Status(CompleteStatus {
            pending,
            reads_woken: woken,
            reads_interrupted: interrupted,
            completes,
            ..CompleteStatus::default()
        })
    }

    fn ok(c: Cfg, h: &[Entry]) -> bool {
        Checker::new(c, None, h).check().is_ok()
    }

    const CTL: usize = 9;
    const I: WaitMode = WaitMode::Interruptible;

    #[test]
    fn a_write_wakes_a_sleeper() {
        let h = [
            e(0, Call::Read, 0, 20, Ret::Val(0)),
            e(CTL, Call::Asleep(0), 5, 5, Ret::Val(0)),
            e(1, Call::Write, 10, 11, Ret::Val(1)),
            e(CTL, Call::FinalStatus, 30, 31, status(0, 1, 0, 1)),
        ];
        assert!(ok(cfg(I, 0), &h));
        // A read that returns with no write at all is not explained.
        assert!(!ok(cfg(I, 0), &[e(0, Call::Read, 0, 20, Ret::Val(0))]));
    }

    #[test]
    fn fifo_when_the_order_is_seen() {
        // A was seen asleep before B began; one write: only A may pass.
        let good = [
            e(0, Call::Read, 0, 30, Ret::Val(0)),
            e(CTL, Call::Asleep(0), 2, 2, Ret::Val(0)),
            e(1, Call::Read, 5, 60, Ret::Val(0)),
            e(CTL, Call::Asleep(1), 7, 7, Ret::Val(0)),
            e(2, Call::Write, 10, 11, Ret::Val(1)),
            e(2, Call::Write, 50, 51, Ret::Val(1)),
        ];
        assert!(ok(cfg(I, 0), &good));
        let mut bad = good.clone();
        bad[0].resp = 60 * MS;
        bad[2].resp = 30 * MS;
        assert!(!ok(cfg(I, 0), &bad));
        // Unseen, the same results are explained by B entering first.
        let unseen: Vec<Entry> = bad
            .iter()
            .filter(|x| !matches!(x.call, Call::Asleep(_)))
            .cloned()
            .collect();
        assert!(ok(cfg(I, 0), &unseen));
    }

    #[test]
    fn a_barging_read_takes_a_woken_readers_completion() {
        // A asleep, the write wakes A, B arrives and takes it, A sleeps again until the second.
        let h = [
            e(0, Call::Read, 0, 100, Ret::Val(0)),
            e(CTL, Call::Asleep(0), 2, 2, Ret::Val(0)),
            e(1, Call::Write, 10, 11, Ret::Val(1)),
            e(2, Call::ReadNowait, 12, 13, Ret::Val(0)),
            e(1, Call::Write, 50, 51, Ret::Val(1)),
            e(CTL, Call::FinalStatus, 200, 201, status(0, 2, 0, 2)),
        ];
        let mut c = Checker::new(cfg(I, 0), None, &h);
        let tags = c.check().expect("explained");
        assert!(tags.contains(&Tag::Barged));
    }

    #[test]
    fn complete_all_semantics() {
        let h = [
            e(0, Call::CompleteAll, 0, 1, Ret::Val(0)),
            e(1, Call::ReadNowait, 2, 3, Ret::Val(0)),
            e(1, Call::ReadNowait, 4, 5, Ret::Val(0)),
            e(0, Call::Reinit, 6, 7, Ret::Val(0)),
            e(1, Call::ReadNowait, 8, 9, Ret::Err(libc::EAGAIN)),
        ];
        assert!(ok(cfg(I, 0), &h));
        // A write acting as complete_all: the second read must not pass.
        let h = [
            e(0, Call::Write, 0, 1, Ret::Val(1)),
            e(1, Call::ReadNowait, 2, 3, Ret::Val(0)),
            e(1, Call::ReadNowait, 4, 5, Ret::Val(0)),
        ];
        assert!(!ok(cfg(I, 0), &h));
    }

    #[test]
    fn signals_by_wait_mode() {
        let h = |ret| {
            [
                e(0, Call::Read, 0, 30, ret),
                e(CTL, Call::Asleep(0), 2, 2, Ret::Val(0)),
                e(
                    CTL,
                    Call::Signal(0, Sig::Int { restart: false }),
                    5,
                    6,
                    Ret::Val(0),
                ),
            ]
        };
        assert!(ok(cfg(I, 0), &h(Ret::Err(libc::EINTR))));
        // Killable: a handled SIGINT does not end the wait.
        assert!(!ok(cfg(WaitMode::Killable, 0), &h(Ret::Err(libc::EINTR))));
        // SA_RESTART in an untimed wait: the read sleeps again (at the tail), a write ends it.
        let h = [
            e(0, Call::Read, 0, 30, Ret::Val(0)),
            e(CTL, Call::Asleep(0), 2, 2, Ret::Val(0)),
            e(
                CTL,
                Call::Signal(0, Sig::Int { restart: true }),
                5,
                6,
                Ret::Val(0),
            ),
            e(1, Call::Write, 10, 11, Ret::Val(1)),
            e(CTL, Call::FinalStatus, 40, 41, status(0, 1, 1, 1)),
        ];
        assert!(ok(cfg(I, 0), &h));
        // The same in a timed wait must fail with EINTR instead.
        assert!(!ok(cfg(I, 3_600_000), &h));
        // SIGKILL in a killable timed wait: the read ends, counted interrupted.
        let h = [
            e(0, Call::Read, 0, 30, Ret::Lost),
            e(CTL, Call::Asleep(0), 2, 2, Ret::Val(0)),
            e(CTL, Call::Signal(0, Sig::Kill), 5, 6, Ret::Val(0)),
            e(CTL, Call::FinalStatus, 40, 41, status(0, 0, 1, 0)),
        ];
        assert!(ok(cfg(WaitMode::Killable, 3_600_000), &h));
        // Uninterruptible: the killed task's read still needs a completion.
        assert!(!ok(cfg(WaitMode::Uninterruptible, 0), &h));
    }

    #[test]
    fn stop_and_continue_restart_the_read() {
        let h = |cont_resp| {
            [
                e(0, Call::Read, 0, 100, Ret::Val(0)),
                e(CTL, Call::Asleep(0), 2, 2, Ret::Val(0)),
                e(CTL, Call::Signal(0, Sig::Stop), 5, cont_resp, Ret::Val(0)),
                e(1, Call::Write, 50, 51, Ret::Val(1)),
                e(CTL, Call::FinalStatus, 200, 201, status(0, 1, 1, 1)),
            ]
        };
        // Stopped, continued, asleep again, woken by the write.
        assert!(ok(cfg(I, 0), &h(10)));
        // The SIGCONT may come before the task ran: it still restarts.
        assert!(ok(cfg(I, 0), &h(6)));
        // Killable: the stop does not end the wait (nothing interrupted).
        assert!(!ok(cfg(WaitMode::Killable, 0), &h(10)));
    }

    #[test]
    fn timeouts_need_their_time() {
        let h = |resp| {
            [
                e(0, Call::Read, 0, resp, Ret::Err(libc::ETIMEDOUT)),
                e(CTL, Call::Asleep(0), 2, 2, Ret::Val(0)),
            ]
        };
        assert!(ok(cfg(I, 200), &h(250)));
        assert!(ok(cfg(I, 200), &h(195)));
        assert!(!ok(cfg(I, 200), &h(150)));
        assert!(!ok(cfg(I, 0), &h(250)));
    }

    #[test]
    fn timeouts_need_their_jiffies() {
        // 50 jiffies (200 ms at HZ=250): a read that timed out, then a write, each with the
        // jiffies read before and after it.
        let h = |resp, after, later| {
            let mut read = e(0, Call::Read, 0, resp, Ret::Err(libc::ETIMEDOUT));
            read.jiffies = Some((1000, after));
            let mut write = e(1, Call::Write, 300, 301, Ret::Val(1));
            write.jiffies = Some((later, later));
            let end = Ret::Status(CompleteStatus {
                pending: 1,
                reads_timed_out: 1,
                completes: 1,
                ..CompleteStatus::default()
            });
            [read, write, e(CTL, Call::FinalStatus, 400, 401, end)]
        };
        let check = |h: &[Entry]| Checker::new(cfg(I, 200), Some(50), h).check().is_ok();
        // A late tick: 187 ms of the clock, but jiffies passed by 50.
        assert!(check(&h(187, 1050, 1060)));
        // 250 ms of the clock, but jiffies passed by 49 only: not expired yet.
        assert!(!check(&h(250, 1049, 1060)));
        // Expired at +50 before its response, yet an operation after it saw +49: impossible.
        assert!(!check(&h(250, 1050, 1049)));
    }

    #[test]
    fn pending_max_two_steps() {
        let c = Cfg {
            mode: I,
            timeout_ms: 0,
            pending_max: Some(1),
        };
        // Two writes at once may both pass the check.
        let h = [
            e(0, Call::Write, 0, 10, Ret::Val(1)),
            e(1, Call::Write, 1, 11, Ret::Val(1)),
            e(2, Call::Write, 20, 21, Ret::Err(libc::EOVERFLOW)),
        ];
        assert!(ok(c, &h));
        // One after the other, the second is refused.
        let h = [
            e(0, Call::Write, 0, 10, Ret::Val(1)),
            e(1, Call::Write, 12, 13, Ret::Val(1)),
        ];
        assert!(!ok(c, &h));
    }
}
