// SPDX-License-Identifier: GPL-2.0
//! The oracle of the `model` case: a reference model of what `/dev/complete` must do, and the
//! random operations the case draws.
//!
//! The model holds the completion's `done` count (with the all-done state of `COMPLETE_ALL` and
//! the `pending_max` bound), the FIFO queue of sleeping readers, the parent's open files with
//! their mode and fdinfo counters, the module parameters, and the STATUS counters. [`Model::step`]
//! predicts the result of one [`Op`]: the return value, which sleepers return and how, the log
//! lines, and (through the updated model) STATUS and fdinfo. It is pure: the case
//! (`cases/model.rs`) runs the same operation on the driver and compares.
//!
//! Sleepers are forked readers (`readers.rs`); the model knows them by spawn number, the case
//! maps that to a pid. "Stopped" sleepers (SIGSTOP in an interruptible wait) have left the queue:
//! the stop ended their wait with `-ERESTARTSYS` (`-ERESTARTNOHAND` when timed), and SIGCONT
//! restarts the read (no handler ran), which queues
//! again at the tail (`__prepare_to_swait` adds a fresh entry with `list_add_tail`).
//!
//! Here: the model's types; [`step`] holds how an operation changes the model, [`strategy`] the
//! random operations.

use crate::readers::OnSigint;
use crate::uapi::CompleteStatus;

mod step;
mod strategy;
#[cfg(test)]
mod tests;

pub use strategy::Reference;

/// `timeout_ms` of [`Timeout::Short`]: short enough that a sleeper times out before the next
/// operation, so the case waits for it within the operation that started it.
pub const SHORT_MS: u32 = 20;

/// `timeout_ms` of [`Timeout::Long`]: the maximum, never reached within a case.
pub const LONG_MS: u32 = 3_600_000;

/// At most this many files open in the parent, and this many live sleepers.
pub const MAX_FILES: usize = 5;
/// See [`MAX_FILES`].
pub const MAX_SLEEPERS: usize = 5;

/// `wait_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitMode {
    /// Any signal ends the wait.
    Interruptible,
    /// Only a fatal signal ends the wait.
    Killable,
    /// Nothing but a wake-up ends it.
    Uninterruptible,
}

impl WaitMode {
    /// The parameter's value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Interruptible => "interruptible",
            Self::Killable => "killable",
            Self::Uninterruptible => "uninterruptible",
        }
    }

    /// The `/proc/<pid>/stat` state of a reader asleep in this mode.
    pub fn proc_state(self) -> char {
        match self {
            Self::Interruptible => 'S',
            _ => 'D',
        }
    }
}

/// `timeout_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeout {
    /// 0: wait for ever.
    None,
    /// [`LONG_MS`]: a timed wait that never times out within a case.
    Long,
    /// [`SHORT_MS`]: every sleep times out at once.
    Short,
}

impl Timeout {
    /// The parameter's value.
    pub fn ms(self) -> u32 {
        match self {
            Self::None => 0,
            Self::Long => LONG_MS,
            Self::Short => SHORT_MS,
        }
    }
}

/// The module parameters of one case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// `wait_mode`.
    pub wait_mode: WaitMode,
    /// `timeout_ms`.
    pub timeout: Timeout,
    /// `verbose` at load time.
    pub verbose: bool,
    /// `pending_max`; `None` keeps the default.
    pub pending_max: Option<u32>,
}

impl Params {
    /// The `insmod` argument string.
    pub fn insmod_args(&self) -> String {
        let mut s = format!(
            "wait_mode={} timeout_ms={} verbose={}",
            self.wait_mode.name(),
            self.timeout.ms(),
            u8::from(self.verbose)
        );
        if let Some(m) = self.pending_max {
            s.push_str(&format!(" pending_max={m}"));
        }
        s
    }
}

/// How a file is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// `O_RDONLY`.
    Read,
    /// `O_WRONLY`.
    Write,
    /// `O_RDWR`.
    ReadWrite,
}

impl Access {
    /// The `open` flags.
    pub fn flags(self) -> i32 {
        match self {
            Self::Read => libc::O_RDONLY,
            Self::Write => libc::O_WRONLY,
            Self::ReadWrite => libc::O_RDWR,
        }
    }

    /// Whether `read()` is allowed (FMODE_READ).
    fn can_read(self) -> bool {
        self != Self::Write
    }

    /// Whether `write()` and the mutating ioctls are allowed (FMODE_WRITE).
    fn can_write(self) -> bool {
        self != Self::Read
    }
}

/// One file the parent holds open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileModel {
    /// Its access mode.
    pub access: Access,
    /// Opened with `O_NONBLOCK`.
    pub nonblock: bool,
    /// fdinfo `complete_reads`.
    pub reads: u64,
    /// fdinfo `complete_reads_woken`.
    pub reads_woken: u64,
    /// fdinfo `complete_writes`.
    pub writes: u64,
}

/// One forked reader still alive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sleeper {
    /// Spawn number: the case's handle for its pid.
    pub id: u32,
    /// Its SIGINT disposition.
    pub sigint: OnSigint,
    /// Whether its current wait logs (`verbose` when the wait began).
    pub logs: bool,
    /// fdinfo `complete_reads` of its file (one per entry into `read_iter`, restarts included).
    pub reads: u64,
    /// SIGSTOPped out of the queue (interruptible waits only).
    pub stopped: bool,
    /// SIGINTs its handler has run.
    pub handled: u32,
    /// A SIGINT queued until the read returns (killable and uninterruptible waits): its handler
    /// runs then, or its default action kills.
    pub sigint_pending: bool,
    /// A fatal signal that kills it as soon as its (uninterruptible) wait ends.
    pub fatal: Option<i32>,
    /// TIF_SIGPENDING is set while it sleeps in D (killable and uninterruptible waits).
    pub sigpending: bool,
}

/// How a sleeper ends in an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Its `read()` returned 0 (`Ok`) or failed with the errno; the handler ran `signals` times.
    Read {
        /// `Ok(())` for a return of 0, else the errno.
        res: Result<(), i32>,
        /// SIGINTs its handler counted.
        signals: u32,
    },
    /// It was killed by this signal, without reporting.
    Died(i32),
}

/// Who logged a driver line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Who {
    /// The test process itself.
    Parent,
    /// The sleeper with this spawn number.
    Sleeper(u32),
}

/// A driver log line, as far as the model predicts it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Line {
    /// `going to sleep`.
    Sleep,
    /// `awoken`.
    Awoken,
    /// `gave up waiting: ...`, with the errno when the model knows it.
    GaveUp(Option<i32>),
    /// `awakening the readers...`.
    Awakening,
    /// `completing all`.
    CompleteAll,
    /// `reinit`.
    Reinit,
    /// `refused a write: too many pending completions`.
    Refused,
}

/// What one operation must do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prediction {
    /// The system call's result: `Ok(value)` or `Err(errno)`; `None` for operations that are not
    /// one call (spawn, signals).
    pub ret: Option<Result<i64, i32>>,
    /// The sleepers that end in this operation.
    pub ended: Vec<(u32, End)>,
    /// The sleeper a write wakes (the head of the FIFO).
    pub woken: Option<u32>,
    /// Sleepers that are asleep in the driver after the operation and were not before it
    /// (spawned, or restarted): the case waits for them to settle.
    pub settle: Vec<u32>,
    /// The sleeper that must be stopped (state T) after the operation.
    pub stopped: Option<u32>,
    /// The driver lines the operation logs, in order for one task (across tasks unordered).
    pub lines: Vec<(Who, Line)>,
    /// The module was unloaded; the case loads it again with the same parameters.
    pub reloaded: bool,
}

impl Prediction {
    /// `s`'s read returns `res` in this operation (its handler ran for every SIGINT so far).
    fn returned(&mut self, s: &Sleeper, res: Result<(), i32>) {
        self.ended.push((
            s.id,
            End::Read {
                res,
                signals: s.handled,
            },
        ));
    }
}

/// One operation of the state machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `open(/dev/complete)`.
    Open(Access, bool),
    /// `close` of the parent's file number `.0`.
    Close(usize),
    /// `read(file, len)`: `O_NONBLOCK` files, or blocking ones when the model says the read
    /// returns at once (something pending, all done, or a short timeout).
    Read(usize, usize),
    /// `preadv2(file, len, RWF_NOWAIT)`.
    ReadNowait(usize, usize),
    /// `write(file, len)`.
    Write(usize, usize),
    /// Fork a reader that opens `O_RDONLY` and makes one blocking read.
    Spawn(OnSigint),
    /// SIGINT to the sleeper at that place.
    Sigint(usize),
    /// SIGKILL to it.
    Sigkill(usize),
    /// SIGSTOP to it (interruptible waits), waiting until it is stopped.
    Stop(usize),
    /// SIGCONT to a stopped sleeper.
    Cont(usize),
    /// SIGSTOP then SIGCONT at once (killable and uninterruptible waits: no effect).
    StopCont(usize),
    /// `ioctl(COMPLETE_ALL)` on that file.
    CompleteAll(usize),
    /// `ioctl(REINIT)`.
    Reinit(usize),
    /// `ioctl(STATUS)`, compared with the model.
    Status(usize),
    /// An unknown ioctl command: ENOTTY.
    Unknown(usize),
    /// Write `verbose` in sysfs.
    Verbose(bool),
    /// `delete_module(O_NONBLOCK)`.
    Rmmod,
}

/// The model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Model {
    /// The module parameters.
    pub params: Params,
    /// The completion's count (meaningless while `all_done`).
    pub done: u64,
    /// `COMPLETE_ALL` was called and no `REINIT` since.
    pub all_done: bool,
    /// `verbose` now.
    pub verbose: bool,
    /// The parent's open files, in opening order.
    pub files: Vec<FileModel>,
    /// The live sleepers; the ones not stopped are the FIFO queue, oldest first.
    pub sleepers: Vec<Sleeper>,
    /// The STATUS counters (`pending`, `all_done` and `sleepers` are derived).
    pub stats: CompleteStatus,
    /// The next spawn number.
    pub next_id: u32,
}
