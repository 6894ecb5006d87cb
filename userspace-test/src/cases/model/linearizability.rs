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
//! then ends sooner than `t` ticks of the clock later. On the KCSAN kernel under TCG a 200 ms
//! (50-jiffy) read can time out after 186.7 ms.
//!
//! An operation without a response (its task was killed) may end in any way; it must still end,
//! before its task was reaped. `STATUS` in the middle of a run is compared for `pending` and
//! `all_done` (the counters are separate words, not one snapshot); the final `STATUS`, after
//! every task ended, field by field.
//!
//! Here: the history's types and the checker; [`search`] holds the search, [`spec`] the
//! specification's steps.

use std::collections::HashSet;

use super::oracle::WaitMode;
use crate::uapi::CompleteStatus;

mod search;
mod spec;
#[cfg(test)]
mod tests;

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
