// SPDX-License-Identifier: GPL-2.0
//! Unit tests of the linearizability check: small hand-made histories that some order explains
//! or none does (FIFO wake-ups, barging, `COMPLETE_ALL`, signals per wait mode, timeouts by time
//! and by jiffies, the two steps of a write under `pending_max`).

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
