// SPDX-License-Identifier: GPL-2.0
//! `complete_kthread.ko` when an allocation fails where `insmod`'s fail-nth cannot reach: the
//! `onstack` worker, created by the waiter thread.

use std::path::{Path, PathBuf};

use super::{
    is_loaded, module_lines, no_bad_lines, pids_named, records, unload_settled, wait_threads, Hog,
    Unloader, WAITER, WORKER,
};
use crate::cases::{on_cpu, Ctx, WAIT};
use crate::error::{CaseError, CaseResult, Context};
use crate::fail_nth;
use crate::module;
use crate::sys::{self, Errno};
use crate::{bail, ensure, ensure_eq};

/// `kthreadd`'s pid: every kernel thread is its child.
const KTHREADD: i32 = 2;

/// More allocation sites than the `onstack` waiter has before its worker runs.
const MAX_SITES: u32 = 20;

/// The `onstack` worker's creation fails: `insmod` fails with `ENOMEM`, after `created
/// ckt_waiter (pid N)` the log says `ckt_worker not created (error -12): stopping ckt_waiter`
/// and nothing else, and no module and no `ckt_` thread is left.
///
/// That creation runs in the waiter thread, so the case arms the waiter's own fail-nth
/// (`/proc/N/fail-nth`, which root may write for another task) before the waiter runs: a busy
/// loop holds CPU 1 (`SCHED_FIFO` 2), `kthreadd` is moved to CPU 1 above it (`SCHED_FIFO` 3), so
/// the waiter it creates for `insmod` (which runs on CPU 0) inherits CPU 1 and, once it is
/// `SCHED_NORMAL` again (`kthread()` resets it), waits behind the busy loop. The case finds it
/// by name, makes it `SCHED_FIFO` 1 (still below the loop), writes its fail-nth, gives
/// `kthreadd` back its policy and CPUs, and ends the loop: the waiter runs with its n-th
/// allocation failing, for n = 1, 2, ... until a load succeeds without reaching the n-th site
/// (then both threads run and the fail-nth still reads non-zero). At least one site must have
/// failed the creation. Skips on a single CPU and without fault injection.
pub fn kthread_onstack_create_fails(ctx: &Ctx) -> CaseResult {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return Err(CaseError::Skip(
            "a single CPU: the waiter cannot be held back alone".into(),
        ));
    }
    let ko = super::module_file(ctx)?;
    fail_nth::setup()?;
    let _guard = Unloader;
    unload_settled()?;
    let sites = on_cpu(0, || {
        for n in 1..=MAX_SITES {
            if !one_site(ctx, &ko, n)? {
                return Ok(n - 1);
            }
        }
        bail!("the onstack waiter reached more than {MAX_SITES} fault sites")
    })?;
    ensure!(
        sites >= 1,
        "no fault site of the onstack waiter before its worker ran"
    );
    println!(
        "# kthread_onstack_create_fails: {sites} fault sites of ckt_waiter, each failed the \
         creation of ckt_worker"
    );
    Ok(())
}

/// One `insmod variant=onstack` with the waiter's `n`-th allocation failing; whether the fault
/// fired (the load then must have failed as it should).
fn one_site(ctx: &Ctx, ko: &Path, n: u32) -> CaseResult<bool> {
    ctx.kmsg().mark().ctx("lseek(/dev/kmsg, SEEK_END)")?;
    let hog = sys::fork_child("ct-hog", || {
        if sys::pin_to_cpu(1).is_err() || sys::set_fifo(2).is_err() {
            return 4;
        }
        loop {
            std::hint::spin_loop();
        }
    })
    .ctx("fork the busy loop")?;
    let hog = Hog(hog);
    sys::poll_until(WAIT, "the busy loop SCHED_FIFO", || {
        // SAFETY: plain system call.
        let p = unsafe { libc::sched_getscheduler(hog.0) };
        Ok(if p == libc::SCHED_FIFO {
            Ok(())
        } else {
            Err(format!("policy {p}"))
        })
    })?;
    let held = Kthreadd::hold()?;
    let path: PathBuf = ko.to_path_buf();
    let insmod = std::thread::spawn(move || module::load(&path, "variant=onstack period_ms=50"));
    let mut waiter = 0;
    sys::poll_until(WAIT, "a task named ckt_waiter", || {
        let w = pids_named(WAITER);
        Ok(match w[..] {
            [p] => {
                waiter = p;
                Ok(())
            }
            _ => Err(format!("{w:?}")),
        })
    })?;
    sys::set_task_fifo(waiter, 1).with_ctx(|| format!("make {WAITER} ({waiter}) SCHED_FIFO 1"))?;
    let nth = format!("/proc/{waiter}/fail-nth");
    fail_nth::write(&nth, &n.to_string())?;
    drop(held);
    drop(hog);
    let res = insmod
        .join()
        .map_err(|_| CaseError::Fail("the insmod thread panicked".into()))?;
    let recs = records(ctx)?;
    let lines = module_lines(&recs);
    match res {
        Ok(()) => {
            let left = std::fs::read_to_string(&nth);
            let (w, k) = (pids_named(WAITER), pids_named(WORKER));
            ensure!(
                w == [waiter] && k.len() == 1,
                "insmod succeeded with the fault armed at site {n} of {WAITER} ({waiter}): \
                 {WAITER} {w:?}, {WORKER} {k:?} ({nth}: {left:?}); log {lines:?}"
            );
            let left = left.with_ctx(|| format!("read {nth}"))?;
            // Disarm what is left of it before the stop.
            fail_nth::write(&nth, "0")?;
            unload_settled()?;
            wait_threads(0, "no ckt_ thread after rmmod")?;
            no_bad_lines(&records(ctx)?)?;
            // Non-zero: the waiter never reached its n-th site. Zero: a failure it absorbed.
            Ok(left.trim() == "0")
        }
        Err(e) => {
            ensure_eq!(
                e,
                Errno(libc::ENOMEM),
                "insmod variant=onstack with {WAITER}'s fault at site {n} (log {lines:?})"
            );
            ensure!(
                !is_loaded(),
                "site {n}: module loaded after a failed insmod"
            );
            wait_threads(
                0,
                &format!("no ckt_ thread left after the fault at site {n}"),
            )?;
            ensure_eq!(
                lines,
                vec![
                    "loading: variant=onstack period_ms=50".to_string(),
                    format!("created {WAITER} (pid {waiter})"),
                    "ckt_worker not created (error -12): stopping ckt_waiter".to_string(),
                ],
                "the log of the insmod with {WAITER}'s fault at site {n}"
            );
            no_bad_lines(&recs)?;
            Ok(true)
        }
    }
}

/// `kthreadd` moved to CPU 1 as `SCHED_FIFO` 3; its policy and CPUs are given back when dropped.
struct Kthreadd(libc::cpu_set_t);

impl Kthreadd {
    fn hold() -> CaseResult<Self> {
        // SAFETY: an all-zero cpu_set_t is a valid (empty) set.
        let mut old: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `old` is valid for writes of its size.
        sys::cvt(unsafe {
            libc::sched_getaffinity(KTHREADD, std::mem::size_of_val(&old), &mut old)
        })
        .ctx("sched_getaffinity(kthreadd)")?;
        let held = Self(old);
        sys::pin_task_to_cpu(KTHREADD, 1).ctx("pin kthreadd to CPU 1")?;
        sys::set_task_fifo(KTHREADD, 3).ctx("make kthreadd SCHED_FIFO 3")?;
        Ok(held)
    }
}

impl Drop for Kthreadd {
    fn drop(&mut self) {
        let p = libc::sched_param { sched_priority: 0 };
        // SAFETY: plain system calls with valid arguments.
        unsafe {
            libc::sched_setscheduler(KTHREADD, libc::SCHED_OTHER, &p);
            libc::sched_setaffinity(KTHREADD, std::mem::size_of_val(&self.0), &self.0);
        }
    }
}
