// SPDX-License-Identifier: GPL-2.0
//! The model's transition function: [`Model::step`] applies one operation to the model and
//! predicts what the driver must do (the return value, the sleepers that return and how, the
//! log lines), [`Model::allows`] says which operations may run in a state, and
//! [`Model::status`] derives what STATUS must report.

use super::{
    End, FileModel, Line, Model, Op, Params, Prediction, Sleeper, Timeout, WaitMode, Who,
    MAX_FILES, MAX_SLEEPERS,
};
use crate::readers::OnSigint;
use crate::uapi::CompleteStatus;

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

    /// A `write()` of `len` on file `f`: refused, left pending, or waking the head of the queue.
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
