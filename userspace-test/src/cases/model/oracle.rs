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

use proptest::prelude::*;
use proptest::sample::select;
use proptest_state_machine::ReferenceStateMachine;

use crate::readers::OnSigint;
use crate::uapi::CompleteStatus;

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

/// The default and largest `pending_max`: `UINT_MAX - 1 - 2^22` (see the driver).
const PENDING_MAX_DEFAULT: u64 = u32::MAX as u64 - 1 - (1 << 22);

impl Model {
    /// The freshly loaded module.
    pub fn new(params: Params) -> Self {
        Self {
            params,
            done: 0,
            all_done: false,
            verbose: params.verbose,
            files: Vec::new(),
            sleepers: Vec::new(),
            stats: CompleteStatus::default(),
            next_id: 0,
        }
    }

    /// What STATUS must report now.
    pub fn status(&self) -> CompleteStatus {
        CompleteStatus {
            pending: if self.all_done { 0 } else { self.done },
            all_done: self.all_done.into(),
            sleepers: self.sleepers.iter().filter(|s| !s.stopped).count() as u64,
            ..self.stats
        }
    }

    /// The `pending_max` in force.
    fn pending_max(&self) -> u64 {
        self.params
            .pending_max
            .map_or(PENDING_MAX_DEFAULT, u64::from)
    }

    /// Whether a read that enters the wait now returns at once.
    fn passes(&self) -> bool {
        self.all_done || self.done > 0
    }

    /// Whether a handled signal ends a wait with EINTR even under `SA_RESTART`: timed waits do.
    fn timed_eintr(&self) -> bool {
        self.params.timeout == Timeout::Long
    }

    /// Whether `op` may run in this state.
    pub fn allows(&self, op: &Op) -> bool {
        let file = |i: usize| i < self.files.len();
        let sleeper = |i: usize| self.sleepers.get(i);
        let interruptible = self.params.wait_mode == WaitMode::Interruptible;
        match *op {
            Op::Open(..) => self.files.len() < MAX_FILES,
            Op::Close(f)
            | Op::Write(f, _)
            | Op::ReadNowait(f, _)
            | Op::CompleteAll(f)
            | Op::Reinit(f)
            | Op::Status(f)
            | Op::Unknown(f) => file(f),
            Op::Read(f, len) => {
                file(f)
                    && (self.files[f].nonblock
                        || !self.files[f].access.can_read()
                        || len == 0
                        || self.passes()
                        || self.params.timeout == Timeout::Short)
            }
            Op::Spawn(_) => self.sleepers.len() < MAX_SLEEPERS,
            Op::Sigint(s) => sleeper(s).is_some_and(|s| !s.stopped),
            Op::Sigkill(s) => sleeper(s).is_some(),
            Op::Stop(s) => interruptible && sleeper(s).is_some_and(|s| !s.stopped),
            Op::Cont(s) => sleeper(s).is_some_and(|s| s.stopped),
            Op::StopCont(s) => !interruptible && sleeper(s).is_some(),
            Op::Verbose(_) | Op::Rmmod => true,
        }
    }

    /// Applies `op` and returns what the driver must do.
    pub fn step(&mut self, op: &Op) -> Prediction {
        let mut p = Prediction::default();
        match *op {
            Op::Open(access, nonblock) => {
                self.files.push(FileModel {
                    access,
                    nonblock,
                    reads: 0,
                    reads_woken: 0,
                    writes: 0,
                });
                p.ret = Some(Ok(0));
            }
            Op::Close(f) => {
                self.files.remove(f);
                p.ret = Some(Ok(0));
            }
            Op::Read(f, len) => p.ret = Some(self.parent_read(f, len, false, &mut p)),
            Op::ReadNowait(f, len) => p.ret = Some(self.parent_read(f, len, true, &mut p)),
            Op::Write(f, len) => p.ret = Some(self.write(f, len, &mut p)),
            Op::Spawn(sigint) => self.spawn(sigint, &mut p),
            Op::Sigint(s) => self.sigint(s, &mut p),
            Op::Sigkill(s) => self.sigkill(s, &mut p),
            Op::Stop(s) => self.stop(s, &mut p),
            Op::Cont(s) => self.cont(s, &mut p),
            Op::StopCont(s) => self.stop_cont(s),
            Op::CompleteAll(f) => p.ret = Some(self.complete_all(f, &mut p)),
            Op::Reinit(f) => {
                p.ret = Some(if !self.files[f].access.can_write() {
                    Err(libc::EBADF)
                } else {
                    self.done = 0;
                    self.all_done = false;
                    self.log(&mut p, Who::Parent, Line::Reinit);
                    Ok(0)
                });
            }
            Op::Status(_) => p.ret = Some(Ok(0)),
            Op::Unknown(_) => p.ret = Some(Err(libc::ENOTTY)),
            Op::Verbose(v) => {
                self.verbose = v;
                p.ret = Some(Ok(0));
            }
            Op::Rmmod => {
                p.ret = Some(if self.files.is_empty() && self.sleepers.is_empty() {
                    let (params, next_id) = (self.params, self.next_id);
                    *self = Self::new(params);
                    self.next_id = next_id;
                    p.reloaded = true;
                    Ok(0)
                } else {
                    Err(libc::EAGAIN)
                });
            }
        }
        p
    }

    /// `who` logs `line` if `verbose` is on now.
    fn log(&self, p: &mut Prediction, who: Who, line: Line) {
        if self.verbose {
            p.lines.push((who, line));
        }
    }

    /// A read (len > 0) that does not sleep or that the model knows returns at once: takes one
    /// completion if there is one; true if it succeeded.
    fn try_take(&mut self) -> bool {
        if self.all_done {
            true
        } else if self.done > 0 {
            self.done -= 1;
            true
        } else {
            false
        }
    }

    /// A `read()` (or with `nowait`, `preadv2(RWF_NOWAIT)`) of `len` on the parent's file `f`.
    fn parent_read(
        &mut self,
        f: usize,
        len: usize,
        nowait: bool,
        p: &mut Prediction,
    ) -> Result<i64, i32> {
        let file = &self.files[f];
        if !file.access.can_read() {
            return Err(libc::EBADF);
        }
        if len == 0 {
            // Before the driver: `vfs_readv` returns 0 for an empty vector, and `read_iter`
            // returns 0 for an empty buffer without counting.
            return Ok(0);
        }
        self.files[f].reads += 1;
        let res = if nowait || self.files[f].nonblock {
            if self.try_take() {
                Ok(0)
            } else {
                self.stats.reads_would_block += 1;
                return Err(libc::EAGAIN);
            }
        } else {
            self.log(p, Who::Parent, Line::Sleep);
            if self.try_take() {
                self.log(p, Who::Parent, Line::Awoken);
                Ok(0)
            } else {
                // Only drawn with a short timeout (see `allows`).
                self.log(p, Who::Parent, Line::GaveUp(Some(libc::ETIMEDOUT)));
                self.stats.reads_timed_out += 1;
                return Err(libc::ETIMEDOUT);
            }
        };
        self.stats.reads_woken += 1;
        self.files[f].reads_woken += 1;
        res
    }

    /// A `write()` of `len` on file `f`: refused, banked, or waking the head of the queue.
    fn write(&mut self, f: usize, len: usize, p: &mut Prediction) -> Result<i64, i32> {
        if !self.files[f].access.can_write() {
            return Err(libc::EBADF);
        }
        if !self.all_done && self.done >= self.pending_max() {
            self.log(p, Who::Parent, Line::Refused);
            return Err(libc::EOVERFLOW);
        }
        self.log(p, Who::Parent, Line::Awakening);
        self.files[f].writes += 1;
        self.stats.completes += 1;
        if !self.all_done {
            match self.sleepers.iter().position(|s| !s.stopped) {
                Some(i) => {
                    let s = self.sleepers.remove(i);
                    p.woken = Some(s.id);
                    self.wake(s, p);
                }
                None => self.done += 1,
            }
        }
        Ok(len as i64)
    }

    /// `s` leaves the queue with the completion it was woken for.
    fn wake(&mut self, s: Sleeper, p: &mut Prediction) {
        self.stats.reads_woken += 1;
        if s.logs {
            p.lines.push((Who::Sleeper(s.id), Line::Awoken));
        }
        let end = match (s.fatal, s.sigint_pending, s.sigint) {
            (Some(sig), _, _) => End::Died(sig),
            // A queued SIGINT with the default action kills it on the way out of the read.
            (None, true, OnSigint::Default) => End::Died(libc::SIGINT),
            (None, pending, _) => End::Read {
                res: Ok(()),
                signals: s.handled + u32::from(pending),
            },
        };
        p.ended.push((s.id, end));
    }

    /// `COMPLETE_ALL` on file `f`: every queued sleeper passes, and every later read.
    fn complete_all(&mut self, f: usize, p: &mut Prediction) -> Result<i64, i32> {
        if !self.files[f].access.can_write() {
            return Err(libc::EBADF);
        }
        self.log(p, Who::Parent, Line::CompleteAll);
        self.all_done = true;
        self.done = 0;
        let (queued, stopped): (Vec<_>, Vec<_>) = std::mem::take(&mut self.sleepers)
            .into_iter()
            .partition(|s| !s.stopped);
        self.sleepers = stopped;
        for s in queued {
            self.wake(s, p);
        }
        Ok(0)
    }

    /// A sleeper (new or restarted) enters `read_iter` and the wait.
    fn enter_wait(&mut self, mut s: Sleeper, p: &mut Prediction) {
        s.reads += 1;
        s.logs = self.verbose;
        if s.logs {
            p.lines.push((Who::Sleeper(s.id), Line::Sleep));
        }
        if self.try_take() {
            self.wake(s, p);
        } else if self.params.timeout == Timeout::Short {
            self.stats.reads_timed_out += 1;
            if s.logs {
                p.lines
                    .push((Who::Sleeper(s.id), Line::GaveUp(Some(libc::ETIMEDOUT))));
            }
            p.returned(&s, Err(libc::ETIMEDOUT));
        } else {
            p.settle.push(s.id);
            self.sleepers.push(s);
        }
    }

    /// A new reader with this SIGINT disposition makes its blocking read.
    fn spawn(&mut self, sigint: OnSigint, p: &mut Prediction) {
        let s = Sleeper {
            id: self.next_id,
            sigint,
            logs: false,
            reads: 0,
            stopped: false,
            handled: 0,
            sigint_pending: false,
            fatal: None,
            sigpending: false,
        };
        self.next_id += 1;
        self.enter_wait(s, p);
    }

    /// The wait of the queued sleeper at `i` ends by a signal: it leaves the queue.
    fn interrupted(&mut self, i: usize, p: &mut Prediction) -> Sleeper {
        let s = self.sleepers.remove(i);
        self.stats.reads_interrupted += 1;
        if s.logs {
            p.lines.push((Who::Sleeper(s.id), Line::GaveUp(None)));
        }
        s
    }

    /// SIGINT to the sleeper at `i`, as its disposition and the wait mode make it act.
    fn sigint(&mut self, i: usize, p: &mut Prediction) {
        let mode = self.params.wait_mode;
        let s = &mut self.sleepers[i];
        match (s.sigint, mode) {
            (_, WaitMode::Killable | WaitMode::Uninterruptible) => {
                // `complete_signal` starts a group exit for a fatal signal only if the task
                // "wants" it: not if TIF_SIGPENDING is already set (a SIGSTOP or a SIGINT earlier
                // in this wait). Then the SIGINT just stays queued until the wait ends.
                if s.sigint == OnSigint::Default && !s.sigpending && s.fatal.is_none() {
                    s.fatal = Some(libc::SIGINT);
                    if mode == WaitMode::Killable {
                        let s = self.interrupted(i, p);
                        p.ended.push((s.id, End::Died(libc::SIGINT)));
                        return;
                    }
                } else if s.fatal.is_none() {
                    s.sigint_pending = true;
                }
                s.sigpending = true;
            }
            (OnSigint::Default, WaitMode::Interruptible) => {
                let s = self.interrupted(i, p);
                p.ended.push((s.id, End::Died(libc::SIGINT)));
            }
            (OnSigint::Handler, WaitMode::Interruptible) => {
                let mut s = self.interrupted(i, p);
                s.handled += 1;
                p.returned(&s, Err(libc::EINTR));
            }
            (OnSigint::HandlerRestart, WaitMode::Interruptible) => {
                let mut s = self.interrupted(i, p);
                s.handled += 1;
                if self.timed_eintr() {
                    p.returned(&s, Err(libc::EINTR));
                } else {
                    // The read restarts: a new entry at the tail of the queue.
                    self.enter_wait(s, p);
                }
            }
        }
    }

    /// SIGKILL to the sleeper at `i`.
    fn sigkill(&mut self, i: usize, p: &mut Prediction) {
        let s = &mut self.sleepers[i];
        if s.stopped {
            let s = self.sleepers.remove(i);
            p.ended.push((s.id, End::Died(libc::SIGKILL)));
        } else if self.params.wait_mode == WaitMode::Uninterruptible {
            // A group exit already under way (a fatal SIGINT) drops the SIGKILL and keeps its
            // exit code.
            s.fatal.get_or_insert(libc::SIGKILL);
            s.sigpending = true;
        } else {
            let s = self.interrupted(i, p);
            p.ended.push((s.id, End::Died(libc::SIGKILL)));
        }
    }

    /// SIGSTOP then SIGCONT to a killable or uninterruptible sleeper: the wait goes on, the stop
    /// is flushed by the SIGCONT, but TIF_SIGPENDING stays set until the task runs.
    fn stop_cont(&mut self, i: usize) {
        self.sleepers[i].sigpending = true;
    }

    /// SIGSTOP to the sleeper at `i` (interruptible): the wait ends, the task stops.
    fn stop(&mut self, i: usize, p: &mut Prediction) {
        let mut s = self.interrupted(i, p);
        s.stopped = true;
        p.stopped = Some(s.id);
        // Out of the queue, but alive: it keeps its place among the live sleepers.
        self.sleepers.insert(i, s);
    }

    /// SIGCONT to the stopped sleeper at `i`: the read restarts at the tail of the queue, timed
    /// or not (no handler ran: a timed wait's `-ERESTARTNOHAND` restarts too).
    fn cont(&mut self, i: usize, p: &mut Prediction) {
        let mut s = self.sleepers.remove(i);
        s.stopped = false;
        self.enter_wait(s, p);
    }
}

/// The [`ReferenceStateMachine`] over [`Model`]: the operations and their weights.
pub struct Reference;

/// Write lengths: 0, small, a page, large (the driver never copies the bytes).
fn write_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        1usize..=16,
        Just(4096usize),
        Just(1usize << 20)
    ]
}

/// Read lengths: mostly 1, sometimes 0.
fn read_len() -> impl Strategy<Value = usize> {
    prop_oneof![4 => Just(1usize), 1 => Just(0usize), 1 => Just(4096usize)]
}

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Model> {
        let mode = prop_oneof![
            3 => Just(WaitMode::Interruptible),
            1 => Just(WaitMode::Killable),
            1 => Just(WaitMode::Uninterruptible),
        ];
        let timeout = prop_oneof![
            4 => Just(Timeout::None),
            1 => Just(Timeout::Long),
            1 => Just(Timeout::Short),
        ];
        let pending_max = prop_oneof![2 => Just(None), 1 => (1u32..=3).prop_map(Some)];
        (mode, timeout, any::<bool>(), pending_max)
            .prop_map(move |(wait_mode, timeout, verbose, pending_max)| {
                Model::new(Params {
                    wait_mode,
                    timeout,
                    verbose,
                    pending_max,
                })
            })
            .boxed()
    }

    fn transitions(m: &Model) -> BoxedStrategy<Op> {
        let access = prop_oneof![
            1 => Just(Access::Read),
            1 => Just(Access::Write),
            2 => Just(Access::ReadWrite),
        ];
        let open = (access, any::<bool>()).prop_map(|(a, nb)| Op::Open(a, nb));
        let sigint = prop_oneof![
            1 => Just(OnSigint::Default),
            2 => Just(OnSigint::Handler),
            2 => Just(OnSigint::HandlerRestart),
        ];
        let mut ops: Vec<(u32, BoxedStrategy<Op>)> = vec![
            (if m.files.is_empty() { 10 } else { 3 }, open.boxed()),
            (4, sigint.prop_map(Op::Spawn).boxed()),
            (1, any::<bool>().prop_map(Op::Verbose).boxed()),
            (1, Just(Op::Rmmod).boxed()),
        ];
        if !m.files.is_empty() {
            let f = 0..m.files.len();
            ops.extend([
                (2, f.clone().prop_map(Op::Close).boxed()),
                (
                    6,
                    (f.clone(), read_len())
                        .prop_map(|(f, l)| Op::Read(f, l))
                        .boxed(),
                ),
                (
                    2,
                    (f.clone(), read_len())
                        .prop_map(|(f, l)| Op::ReadNowait(f, l))
                        .boxed(),
                ),
                (
                    8,
                    (f.clone(), write_len())
                        .prop_map(|(f, l)| Op::Write(f, l))
                        .boxed(),
                ),
                (1, f.clone().prop_map(Op::CompleteAll).boxed()),
                (2, f.clone().prop_map(Op::Reinit).boxed()),
                (1, f.clone().prop_map(Op::Status).boxed()),
                (1, f.prop_map(Op::Unknown).boxed()),
            ]);
        }
        let (stopped, queued): (Vec<usize>, Vec<usize>) =
            (0..m.sleepers.len()).partition(|&i| m.sleepers[i].stopped);
        if !queued.is_empty() {
            let stop = if m.params.wait_mode == WaitMode::Interruptible {
                select(queued.clone()).prop_map(Op::Stop).boxed()
            } else {
                select(queued.clone()).prop_map(Op::StopCont).boxed()
            };
            ops.extend([(4, select(queued).prop_map(Op::Sigint).boxed()), (3, stop)]);
        }
        if !stopped.is_empty() {
            ops.push((4, select(stopped).prop_map(Op::Cont).boxed()));
        }
        if !m.sleepers.is_empty() {
            ops.push((2, (0..m.sleepers.len()).prop_map(Op::Sigkill).boxed()));
        }
        proptest::strategy::Union::new_weighted(ops).boxed()
    }

    fn preconditions(m: &Model, op: &Op) -> bool {
        m.allows(op)
    }

    fn apply(mut m: Model, op: &Op) -> Model {
        m.step(op);
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(mode: WaitMode, timeout: Timeout) -> Model {
        Model::new(Params {
            wait_mode: mode,
            timeout,
            verbose: true,
            pending_max: Some(2),
        })
    }

    #[test]
    fn fifo_and_banking() {
        let mut m = model(WaitMode::Interruptible, Timeout::None);
        m.step(&Op::Open(Access::ReadWrite, true));
        m.step(&Op::Spawn(OnSigint::HandlerRestart));
        m.step(&Op::Spawn(OnSigint::Handler));
        // The first sleeper restarts: it goes behind the second.
        m.step(&Op::Sigint(0));
        assert_eq!(m.step(&Op::Write(0, 1)).woken, Some(1));
        assert_eq!(m.step(&Op::Write(0, 1)).woken, Some(0));
        assert_eq!(m.step(&Op::Write(0, 0)).ret, Some(Ok(0)));
        assert_eq!(m.step(&Op::Write(0, 5)).ret, Some(Ok(5)));
        assert_eq!(m.step(&Op::Write(0, 5)).ret, Some(Err(libc::EOVERFLOW)));
        assert_eq!(m.status().pending, 2);
        assert_eq!(m.status().completes, 4);
        assert_eq!(m.status().reads_interrupted, 1);
        assert_eq!(m.step(&Op::Read(0, 1)).ret, Some(Ok(0)));
        assert_eq!(m.step(&Op::Read(0, 0)).ret, Some(Ok(0)));
        assert_eq!(m.files[0].reads, 1);
    }

    #[test]
    fn stop_requeues_at_the_tail() {
        let mut m = model(WaitMode::Interruptible, Timeout::None);
        m.step(&Op::Open(Access::Write, false));
        m.step(&Op::Spawn(OnSigint::Default));
        m.step(&Op::Spawn(OnSigint::Default));
        m.step(&Op::Stop(0));
        assert_eq!(m.status().sleepers, 1);
        m.step(&Op::Cont(0));
        assert_eq!(m.sleepers[1].id, 0);
        assert_eq!(m.step(&Op::Write(0, 1)).woken, Some(1));
        assert_eq!(m.step(&Op::Rmmod).ret, Some(Err(libc::EAGAIN)));
    }

    #[test]
    fn uninterruptible_kill_waits_for_the_wake() {
        let mut m = model(WaitMode::Uninterruptible, Timeout::None);
        m.step(&Op::Open(Access::ReadWrite, false));
        m.step(&Op::Spawn(OnSigint::Handler));
        assert!(m.step(&Op::Sigkill(0)).ended.is_empty());
        let p = m.step(&Op::Write(0, 1));
        assert_eq!(p.ended, vec![(0, End::Died(libc::SIGKILL))]);
        assert_eq!(m.status().reads_woken, 1);
    }

    #[test]
    fn a_pending_signal_keeps_a_killable_sleeper_from_dying() {
        let mut m = model(WaitMode::Killable, Timeout::None);
        m.step(&Op::Open(Access::Write, false));
        m.step(&Op::Spawn(OnSigint::Default));
        m.step(&Op::Spawn(OnSigint::Default));
        m.step(&Op::StopCont(1));
        assert!(m.step(&Op::Sigint(1)).ended.is_empty());
        let p = m.step(&Op::Sigint(0));
        assert_eq!(p.ended, vec![(0, End::Died(libc::SIGINT))]);
        let p = m.step(&Op::Write(0, 1));
        assert_eq!(p.ended, vec![(1, End::Died(libc::SIGINT))]);
        assert_eq!(m.status().reads_woken, 1);
        assert_eq!(m.status().reads_interrupted, 1);
    }

    #[test]
    fn read_only_files_cannot_complete_all() {
        let mut m = model(WaitMode::Interruptible, Timeout::Long);
        m.step(&Op::Open(Access::Read, false));
        assert_eq!(m.step(&Op::CompleteAll(0)).ret, Some(Err(libc::EBADF)));
        assert_eq!(m.step(&Op::Write(0, 1)).ret, Some(Err(libc::EBADF)));
        m.step(&Op::Close(0));
        assert_eq!(m.step(&Op::Rmmod).ret, Some(Ok(0)));
    }
}
