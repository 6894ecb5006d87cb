// SPDX-License-Identifier: GPL-2.0

//! From events to a timeline: lanes, sleeps, and which completion woke whom.
//!
//! What the log tells, and how it is read (complete_dev.rs, complete_kthread.rs):
//! - a blocking read logs `going to sleep` before it waits, even when a completion is pending,
//!   and `awoken` or `gave up waiting` after; an `O_NONBLOCK` read logs nothing;
//! - a write logs `awakening the readers...` before its `complete()`, which adds one to the
//!   completion's count and wakes the oldest waiter; the waiter that returns takes one from the
//!   count. So each `awoken` took exactly one earlier `complete()`, and since the count cannot
//!   tell the completions apart, the oldest one still untaken is the one drawn (first in, first
//!   out, which is also the order in which `complete()` wakes the waiters);
//! - a completion made while every sleeper already has one coming (or nobody sleeps) is
//!   *pending*: it waits in the count for a later read, which then returns at once;
//! - `gave up waiting` (a signal, a timeout) takes nothing: the completions stay for others;
//! - after `complete_all()` every wait returns at once without taking anything, until
//!   `reinit_completion()`, which also drops the pending completions.
//!
//! The log's records are in the order the kernel stored them, which on SMP is not always the
//! order of their timestamps; the events are taken in timestamp order. An `awoken` line is always
//! stamped after the `complete()` that woke it (the waker logs before it completes), so the
//! reading above holds in either order.

use std::collections::{HashMap, VecDeque};

use crate::parse::{Event, What, Who};

/// One process or thread: a horizontal lane of the picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    /// The comm.
    pub comm: String,
    /// The pid, if the log names it.
    pub pid: Option<i32>,
}

impl Lane {
    /// The lane's label: `cat (pid 92)`.
    pub fn label(&self) -> String {
        match self.pid {
            Some(pid) => format!("{} (pid {pid})", self.comm),
            None => format!("{} (pid not logged)", self.comm),
        }
    }
}

/// A stretch of time a task slept on the completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Sleep {
    /// Its lane.
    pub lane: usize,
    /// When it logged `going to sleep`.
    pub from: f64,
    /// When its wait ended, or the end of the log.
    pub to: f64,
    /// Whether it was still asleep when the log ends.
    pub open: bool,
}

/// What a `complete()` did at the moment it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// A sleeper was waiting for it.
    Wakes,
    /// Nobody was waiting for it: it stays in the count for a later read.
    Pending,
    /// After `complete_all()`: the count is already "all done", nothing changes.
    NoEffect,
}

/// A point event on a lane.
#[derive(Debug, Clone, PartialEq)]
pub enum MarkKind {
    /// `going to sleep`.
    Sleep,
    /// The wait ended with a completion.
    Woken,
    /// The wait ended without one (signal, timeout): the error.
    GaveUp(String),
    /// A `complete()`.
    Complete(Fate),
    /// A `complete_all()`.
    CompleteAll,
    /// A `reinit_completion()`.
    Reinit,
    /// The thread stopped.
    Stopped,
}

/// A point event on a lane.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// Its lane.
    pub lane: usize,
    /// When.
    pub t: f64,
    /// What.
    pub kind: MarkKind,
}

/// Why an arrow was drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A `complete()` woke a sleeper.
    Woke,
    /// A pending `complete()` let a later read through.
    Pending,
    /// `complete_all()` let this wait through.
    All,
}

/// From a completion to the wait it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrow {
    /// The lane of the task that completed.
    pub from_lane: usize,
    /// When it completed.
    pub from_t: f64,
    /// The lane of the task whose wait it ended.
    pub to_lane: usize,
    /// When that task logged it was awoken.
    pub to_t: f64,
    /// Why.
    pub cause: Cause,
}

/// One module load's worth of events: a panel of the picture.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Panel {
    /// The load line's parameters, and any notes.
    pub title: String,
    /// The lanes, in the order they first appear.
    pub lanes: Vec<Lane>,
    /// The sleeps.
    pub sleeps: Vec<Sleep>,
    /// The point events.
    pub marks: Vec<Mark>,
    /// Which completion ended which wait.
    pub arrows: Vec<Arrow>,
    /// The first event's time.
    pub start: f64,
    /// The last event's time.
    pub end: f64,
}

/// Builds one panel from its events, in time order.
#[derive(Default)]
struct Builder {
    panel: Panel,
    lanes: HashMap<Who, usize>,
    /// Sleeping lanes, oldest first, with when each went to sleep.
    asleep: VecDeque<(usize, f64)>,
    /// Completions not yet taken, oldest first: lane, time, fate.
    pending: VecDeque<(usize, f64, Fate)>,
    /// The last `complete_all()` not yet undone by a reinit: lane and time.
    all: Option<(usize, f64)>,
}

impl Builder {
    /// The lane of `who`, added at the end if new.
    fn lane(&mut self, who: &Who) -> usize {
        if let Some(&i) = self.lanes.get(who) {
            return i;
        }
        let lane = match who {
            Who::Task { pid, comm } => Lane {
                comm: comm.clone(),
                pid: Some(*pid),
            },
            Who::Thread(name) => Lane {
                comm: name.clone(),
                pid: None,
            },
        };
        self.panel.lanes.push(lane);
        self.lanes.insert(who.clone(), self.panel.lanes.len() - 1);
        self.panel.lanes.len() - 1
    }

    fn mark(&mut self, lane: usize, t: f64, kind: MarkKind) {
        self.panel.marks.push(Mark { lane, t, kind });
    }

    /// Ends the sleep of `lane` at `t`, if it sleeps.
    fn wake(&mut self, lane: usize, t: f64) {
        if let Some(i) = self.asleep.iter().position(|&(l, _)| l == lane) {
            if let Some((_, from)) = self.asleep.remove(i) {
                self.panel.sleeps.push(Sleep {
                    lane,
                    from,
                    to: t,
                    open: false,
                });
            }
        }
    }

    fn sleep(&mut self, lane: usize, t: f64) {
        if !self.asleep.iter().any(|&(l, _)| l == lane) {
            self.asleep.push_back((lane, t));
        }
    }

    /// Adds one event.
    fn add(&mut self, ev: &Event) {
        let Some(who) = &ev.who else {
            return;
        };
        let (lane, t) = (self.lane(who), ev.t);
        match &ev.what {
            What::Load(_) => {}
            What::Pid(pid) => self.panel.lanes[lane].pid = Some(*pid),
            What::Sleep => {
                self.sleep(lane, t);
                self.mark(lane, t, MarkKind::Sleep);
            }
            What::Woken { again } => {
                self.wake(lane, t);
                self.mark(lane, t, MarkKind::Woken);
                let taken = match self.all {
                    Some((from, at)) => Some((from, at, Cause::All)),
                    None => self.pending.pop_front().map(|(from, at, fate)| {
                        let cause = match fate {
                            Fate::Pending => Cause::Pending,
                            _ => Cause::Woke,
                        };
                        (from, at, cause)
                    }),
                };
                if let Some((from_lane, from_t, cause)) = taken {
                    self.panel.arrows.push(Arrow {
                        from_lane,
                        from_t,
                        to_lane: lane,
                        to_t: t,
                        cause,
                    });
                }
                if *again {
                    self.sleep(lane, t);
                }
            }
            What::GaveUp(why) => {
                self.wake(lane, t);
                self.mark(lane, t, MarkKind::GaveUp(why.clone()));
            }
            What::Complete => {
                let fate = if self.all.is_some() {
                    Fate::NoEffect
                } else if self.pending.len() < self.asleep.len() {
                    Fate::Wakes
                } else {
                    Fate::Pending
                };
                if fate != Fate::NoEffect {
                    self.pending.push_back((lane, t, fate));
                }
                self.mark(lane, t, MarkKind::Complete(fate));
            }
            What::CompleteAll => {
                self.all = Some((lane, t));
                self.pending.clear();
                self.mark(lane, t, MarkKind::CompleteAll);
            }
            What::Reinit => {
                self.all = None;
                self.pending.clear();
                self.mark(lane, t, MarkKind::Reinit);
            }
            What::Stopped => {
                self.wake(lane, t);
                self.mark(lane, t, MarkKind::Stopped);
            }
        }
    }

    /// The panel, sleeps still open at its end closed there.
    fn finish(mut self) -> Panel {
        let end = self.panel.end;
        for (lane, from) in std::mem::take(&mut self.asleep) {
            self.panel.sleeps.push(Sleep {
                lane,
                from,
                to: end,
                open: true,
            });
        }
        self.panel
    }
}

/// The panels of `events`: one per module load (with a first, untitled one for events before
/// any load), each with at least one lane.
pub fn build(events: &[Event]) -> Vec<Panel> {
    let mut sorted: Vec<&Event> = events.iter().collect();
    // A stable sort: events stamped alike keep the log's order.
    sorted.sort_by(|a, b| a.t.total_cmp(&b.t));
    let mut panels = Vec::new();
    let mut cur: Option<Builder> = None;
    for ev in sorted {
        if let What::Load(title) = &ev.what {
            panels.extend(cur.take().map(Builder::finish));
            cur = Some(Builder {
                panel: Panel {
                    title: title.clone(),
                    start: ev.t,
                    ..Panel::default()
                },
                ..Builder::default()
            });
        }
        let b = cur.get_or_insert_with(|| Builder {
            panel: Panel {
                title: "before any module load in the log".into(),
                start: ev.t,
                ..Panel::default()
            },
            ..Builder::default()
        });
        b.panel.end = ev.t;
        b.add(ev);
    }
    panels.extend(cur.map(Builder::finish));
    panels.retain(|p| !p.lanes.is_empty());
    panels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::events;

    /// The labels of the lanes.
    fn labels(p: &Panel) -> Vec<String> {
        p.lanes.iter().map(Lane::label).collect()
    }

    /// The arrows as `from label -> to label (cause)`.
    fn arrows(p: &Panel) -> Vec<String> {
        p.arrows
            .iter()
            .map(|a| {
                format!(
                    "{} -> {} ({:?})",
                    p.lanes[a.from_lane].label(),
                    p.lanes[a.to_lane].label(),
                    a.cause
                )
            })
            .collect()
    }

    fn kinds(p: &Panel, lane: usize) -> Vec<MarkKind> {
        p.marks
            .iter()
            .filter(|m| m.lane == lane)
            .map(|m| m.kind.clone())
            .collect()
    }

    /// The kernel log of a `make demo` run (its dump), as recorded: two readers sleep, two
    /// writes wake them in order, a third write stays pending and the next read takes it.
    const DEMO: &str = "\
--- guest kernel log ---
[    0.000000] Linux version 7.3.0 (gcc) #1 SMP
[    6.931503] complete_dev: loaded: /dev/complete, wait_mode=interruptible timeout_ms=0 verbose=true
[    7.143414] complete_dev: process 92 (cat) going to sleep
[    7.595958] complete_dev: process 101 (cat) going to sleep
[    8.121000] clocksource: Marking clocksource 'tsc' as unstable
[    9.042378] complete_dev: process 52 (sh) awakening the readers...
[    9.043277] complete_dev: awoken 92 (cat)
[    9.900000] complete_dev: process 52 (sh) awakening the readers...
[    9.901000] complete_dev: awoken 101 (cat)
[   10.500000] complete_dev: process 52 (sh) awakening the readers...
[   11.000000] complete_dev: process 120 (cat) going to sleep
[   11.000100] complete_dev: awoken 120 (cat)
--- end of guest kernel log ---
";

    #[test]
    fn demo_two_sleepers_woken_in_order_and_a_pending_write() {
        let panels = build(&events(DEMO));
        assert_eq!(panels.len(), 1);
        let p = &panels[0];
        assert!(p.title.contains("wait_mode=interruptible"), "{}", p.title);
        assert_eq!(
            labels(p),
            [
                "cat (pid 92)",
                "cat (pid 101)",
                "sh (pid 52)",
                "cat (pid 120)"
            ]
        );
        assert_eq!(
            arrows(p),
            [
                "sh (pid 52) -> cat (pid 92) (Woke)",
                "sh (pid 52) -> cat (pid 101) (Woke)",
                "sh (pid 52) -> cat (pid 120) (Pending)",
            ]
        );
        assert_eq!(
            kinds(p, 2),
            [
                MarkKind::Complete(Fate::Wakes),
                MarkKind::Complete(Fate::Wakes),
                MarkKind::Complete(Fate::Pending),
            ]
        );
        let sleeps: Vec<_> = p.sleeps.iter().map(|s| (s.lane, s.from, s.to)).collect();
        assert_eq!(
            sleeps,
            [
                (0, 7.143414, 9.043277),
                (1, 7.595958, 9.901),
                (3, 11.0, 11.0001)
            ]
        );
        assert!(p.sleeps.iter().all(|s| !s.open));
        assert_eq!((p.start, p.end), (6.931503, 11.0001));
    }

    #[test]
    fn out_of_order_timestamps_are_taken_in_time_order() {
        // Two CPUs: the record of the reader's sleep was stored after the write's, but stamped
        // before it; the awoken line of the first reader comes before the second reader's sleep
        // in the log though stamped after it.
        let log = "\
[ 1.000000] complete_dev: process 10 (cat) going to sleep
[ 2.000200] complete_dev: process 30 (sh) awakening the readers...
[ 2.000100] complete_dev: process 20 (cat) going to sleep
[ 2.000500] complete_dev: awoken 10 (cat)
[ 2.000300] complete_dev: process 30 (sh) awakening the readers...
[ 2.000600] complete_dev: awoken 20 (cat)
";
        let p = &build(&events(log))[0];
        assert_eq!(
            labels(p),
            ["cat (pid 10)", "cat (pid 20)", "sh (pid 30)"],
            "lanes in order of first appearance in time"
        );
        assert_eq!(
            arrows(p),
            [
                "sh (pid 30) -> cat (pid 10) (Woke)",
                "sh (pid 30) -> cat (pid 20) (Woke)"
            ]
        );
        // With two sleepers, neither write was left pending.
        assert_eq!(
            kinds(p, 2),
            [
                MarkKind::Complete(Fate::Wakes),
                MarkKind::Complete(Fate::Wakes)
            ]
        );
        assert!(p.arrows.iter().all(|a| a.from_t <= a.to_t));
        assert_eq!((p.start, p.end), (1.0, 2.0006));
    }

    #[test]
    fn a_reader_killed_while_asleep_takes_nothing() {
        let log = "\
[ 1.0] complete_dev: process 10 (cat) going to sleep
[ 1.5] complete_dev: process 11 (cat) going to sleep
[ 2.0] complete_dev: process 10 (cat) gave up waiting: ERESTARTSYS
[ 3.0] complete_dev: process 30 (sh) awakening the readers...
[ 3.1] complete_dev: awoken 11 (cat)
[ 4.0] complete_dev: process 12 (cat) going to sleep
";
        let p = &build(&events(log))[0];
        assert_eq!(arrows(p), ["sh (pid 30) -> cat (pid 11) (Woke)"]);
        assert_eq!(
            kinds(p, 0),
            [MarkKind::Sleep, MarkKind::GaveUp("ERESTARTSYS".into())]
        );
        let killed = p.sleeps.iter().find(|s| s.lane == 0).unwrap();
        assert_eq!((killed.from, killed.to, killed.open), (1.0, 2.0, false));
        // The last reader is still asleep when the log ends.
        let last = p.sleeps.iter().find(|s| s.lane == 3).unwrap();
        assert_eq!((last.from, last.to, last.open), (4.0, 4.0, true));
    }

    #[test]
    fn a_reader_killed_after_the_write_leaves_it_to_the_next() {
        // The signal came between the writer's log line and its complete(): the completion stays
        // in the count and the next read takes it.
        let log = "\
[ 1.0] complete_dev: process 10 (cat) going to sleep
[ 2.0] complete_dev: process 30 (sh) awakening the readers...
[ 2.1] complete_dev: process 10 (cat) gave up waiting: EINTR
[ 3.0] complete_dev: process 11 (cat) going to sleep
[ 3.1] complete_dev: awoken 11 (cat)
";
        let p = &build(&events(log))[0];
        assert_eq!(arrows(p), ["sh (pid 30) -> cat (pid 11) (Woke)"]);
        assert_eq!(p.arrows[0].from_t, 2.0);
    }

    #[test]
    fn pending_writes_wait_for_later_reads() {
        // Two writes with nobody asleep; one read takes the first; a reinit drops the second.
        let log = "\
[ 1.0] complete_dev: process 30 (sh) awakening the readers...
[ 1.1] complete_dev: process 30 (sh) awakening the readers...
[ 2.0] complete_dev: process 40 (cat) going to sleep
[ 2.0001] complete_dev: awoken 40 (cat)
[ 3.0] complete_dev: process 50 (t) reinit
[ 4.0] complete_dev: process 41 (cat) going to sleep
";
        let p = &build(&events(log))[0];
        assert_eq!(arrows(p), ["sh (pid 30) -> cat (pid 40) (Pending)"]);
        assert_eq!(p.arrows[0].from_t, 1.0, "the oldest pending write is taken");
        assert_eq!(
            kinds(p, 0),
            [
                MarkKind::Complete(Fate::Pending),
                MarkKind::Complete(Fate::Pending)
            ]
        );
        assert!(p.sleeps.iter().any(|s| s.lane == 3 && s.open));
    }

    #[test]
    fn a_second_write_for_one_sleeper_is_left_pending() {
        // Both writes come before the sleeper's awoken line: the first is its, the second waits.
        let log = "\
[ 1.0] complete_dev: process 10 (cat) going to sleep
[ 2.0] complete_dev: process 30 (sh) awakening the readers...
[ 2.0001] complete_dev: process 31 (sh) awakening the readers...
[ 2.0002] complete_dev: awoken 10 (cat)
[ 3.0] complete_dev: process 11 (cat) going to sleep
[ 3.0001] complete_dev: awoken 11 (cat)
";
        let p = &build(&events(log))[0];
        assert_eq!(
            arrows(p),
            [
                "sh (pid 30) -> cat (pid 10) (Woke)",
                "sh (pid 31) -> cat (pid 11) (Pending)"
            ]
        );
    }

    #[test]
    fn complete_all_lets_every_wait_through_until_reinit() {
        let log = "\
[ 1.0] complete_dev: process 10 (cat) going to sleep
[ 1.1] complete_dev: process 11 (cat) going to sleep
[ 2.0] complete_dev: process 50 (t) completing all
[ 2.1] complete_dev: awoken 10 (cat)
[ 2.2] complete_dev: awoken 11 (cat)
[ 2.3] complete_dev: process 30 (sh) awakening the readers...
[ 2.4] complete_dev: process 12 (cat) going to sleep
[ 2.5] complete_dev: awoken 12 (cat)
[ 3.0] complete_dev: process 50 (t) reinit
[ 3.1] complete_dev: process 13 (cat) going to sleep
";
        let p = &build(&events(log))[0];
        assert_eq!(
            arrows(p),
            [
                "t (pid 50) -> cat (pid 10) (All)",
                "t (pid 50) -> cat (pid 11) (All)",
                "t (pid 50) -> cat (pid 12) (All)"
            ]
        );
        assert!(p
            .marks
            .iter()
            .any(|m| m.kind == MarkKind::Complete(Fate::NoEffect)));
        assert!(p.sleeps.iter().any(|s| s.lane == 5 && s.open));
    }

    #[test]
    fn kthread_rounds_are_panels_with_thread_lanes() {
        let log = "\
[ 5.0] complete_kthread: loading: variant=static period_ms=250
[ 5.01] complete_kthread: ckt_waiter: waiting on the static completion
[ 5.02] complete_kthread: created ckt_waiter (pid 61)
[ 5.03] complete_kthread: ckt_worker: completing every 250 ms
[ 5.04] complete_kthread: created ckt_worker (pid 62)
[ 5.28] complete_kthread: ckt_worker: complete #1
[ 5.29] complete_kthread: ckt_waiter: woken #1
[ 5.53] complete_kthread: ckt_worker: complete #2
[ 5.54] complete_kthread: ckt_waiter: woken #2
[ 5.60] complete_kthread: unloading (static): stopping ckt_waiter
[ 5.61] complete_kthread: ckt_waiter: stopping after 2 wake-ups
[ 5.62] complete_kthread: ckt_worker: stopping after 2 completions
[ 6.0] complete_kthread: loading: variant=dynamic period_ms=250
[ 6.02] complete_kthread: ckt_waiter: waiting on the dynamic completion
[ 6.03] complete_kthread: created ckt_waiter (pid 70)
[ 6.035] complete_kthread: ckt_worker not created (error -12): stopping ckt_waiter
[ 6.04] complete_kthread: ckt_waiter stopped after 0 wake-ups
";
        let panels = build(&events(log));
        assert_eq!(panels.len(), 2);
        let p = &panels[0];
        assert_eq!(p.title, "complete_kthread: variant=static period_ms=250");
        assert_eq!(labels(p), ["ckt_waiter (pid 61)", "ckt_worker (pid 62)"]);
        assert_eq!(
            arrows(p),
            [
                "ckt_worker (pid 62) -> ckt_waiter (pid 61) (Woke)",
                "ckt_worker (pid 62) -> ckt_waiter (pid 61) (Woke)"
            ]
        );
        // The waiter sleeps again after each wake-up: three sleeps, none open.
        let sleeps: Vec<_> = p.sleeps.iter().map(|s| (s.from, s.to, s.open)).collect();
        assert_eq!(
            sleeps,
            [
                (5.01, 5.29, false),
                (5.29, 5.54, false),
                (5.54, 5.61, false)
            ]
        );
        let q = &panels[1];
        assert_eq!(q.title, "complete_kthread: variant=dynamic period_ms=250");
        assert_eq!(labels(q), ["ckt_waiter (pid 70)"]);
        assert_eq!(kinds(q, 0), [MarkKind::Sleep, MarkKind::Stopped]);
    }
}
