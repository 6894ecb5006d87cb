// SPDX-License-Identifier: GPL-2.0
//! The sequential specification the search replays: the states one step of an operation can
//! lead to from a state of the completion (its count, the all-done state, the FIFO queue of
//! waiters, every operation's progress and the STATUS counters), and when a timed wait may
//! have expired.

use super::{Call, Checker, Ph, Ret, Sig, St, Tag, WaitMode, JIFFY_SLACK_NS};
use crate::uapi::CompleteStatus;

const COMPLETES: usize = 0;
const WOKEN: usize = 1;
const INTERRUPTED: usize = 2;
const TIMED_OUT: usize = 3;
const WOULD_BLOCK: usize = 4;

impl Checker<'_> {
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
    pub(super) fn steps(&self, st: &St, i: usize, min: u64) -> Vec<(St, Option<Tag>)> {
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
