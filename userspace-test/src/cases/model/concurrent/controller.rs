// SPDX-License-Identifier: GPL-2.0
//! The controller of a run: it forks the tasks, starts them at once, watches every blocking
//! read until it sees the task asleep, sends the signals, ends the reads still blocked with
//! writes, reports a run that hangs, and then checks the whole history with the
//! linearizability checker.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use super::schedule::{ops, Schedule};
use super::task::{do_call, task_main, to_ret, Board, Shared};
use super::{
    now, timeout_jiffies, DRAIN_GAP, DRAIN_PATIENCE, MAIN_CAP, MAX_OPS, MAX_TASKS, REOBSERVE_NS,
    SHORT_MS, STOP_WAIT, WRONG_STATE_LOOKS, WRONG_STATE_NS,
};
use crate::cases::model::linearizability::{self, Call, Checker, Entry, Ret, Sig, Tag};
use crate::cases::model::oracle::WaitMode;
use crate::cases::{Ctx, WAIT};
use crate::error::{CaseResult, Context};
use crate::module;
use crate::sys::{self, Exit};

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

/// Whether a sleeper whose signal `sig` was sent at `sent` (ns) is looked at once more at `now`,
/// for its read may have restarted and slept again, at the tail of the queue. Never after
/// SIGKILL: that read does not restart, and the killed task's exit can sleep (state D) with the
/// read's number still in `/proc/<pid>/syscall`, which looks like the read asleep again: the
/// checker then wants the next write to wake it, where the kernel rightly counted it interrupted.
fn reobserve(sig: Option<Sig>, sent: Option<u64>, reseen: bool, now: u64) -> bool {
    sig != Some(Sig::Kill) && !reseen && sent.is_some_and(|at| now > at + REOBSERVE_NS)
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
            let again = reobserve(
                self.sched.tasks[t].signal,
                self.tasks[t].sent,
                self.tasks[t].reseen,
                now(),
            );
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
    let dev = sys::open(sys::dev_path(), libc::O_RDWR).ctx("open /dev/complete")?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn killed_sleeper_not_looked_at_again() {
        let (at, later) = (1_000, 1_000 + REOBSERVE_NS + 1);
        assert!(!reobserve(Some(Sig::Kill), Some(at), false, later));
        assert!(reobserve(
            Some(Sig::Int { restart: true }),
            Some(at),
            false,
            later
        ));
        assert!(reobserve(Some(Sig::Stop), Some(at), false, later));
        assert!(!reobserve(Some(Sig::Stop), Some(at), true, later));
        assert!(!reobserve(Some(Sig::Stop), Some(at), false, at + 1));
        assert!(!reobserve(Some(Sig::Stop), None, false, later));
    }
}
