// SPDX-License-Identifier: GPL-2.0
//! Unit tests of the oracle: short operation sequences and what the model predicts for them
//! (FIFO order and pending writes, a stop that requeues at the tail, signals per wait mode, files
//! that may not write).

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
fn fifo_and_pending() {
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
