// SPDX-License-Identifier: GPL-2.0

//! The `onstack` variant: the completion lives on the waiter thread's stack
//! (`DECLARE_COMPLETION_ONSTACK`), and the waiter creates the worker itself with
//! `kthread::scoped`, which stops the worker before the waiter's frame can go.
//!
//! Module init learns through a second completion ([`Startup`]) whether the waiter could create
//! the worker; it waits at most [`STARTUP_TIMEOUT_MS`] for that report, so `insmod` fails with
//! `ETIMEDOUT` if the waiter thread does not run within 5 s.

use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, //
    },
    time::msecs_to_jiffies, //
};
use pin_init::stack_pin_init;

use crate::{
    completion::Completion,
    kthread::{
        self,
        KThread,
        StopToken, //
    },
    wait_loop,
    waiter_not_created,
    work_loop, //
};

/// How long init waits for the `onstack` waiter to report whether it created the worker.
const STARTUP_TIMEOUT_MS: u32 = 5000;

/// What the `onstack` waiter tells init: whether it could create the worker.
#[pin_data]
struct Startup {
    #[pin]
    reported: Completion,
    /// 0, or the negative errno of the worker's creation.
    err: Atomic<i32>,
}

impl Startup {
    /// Stores the outcome, then wakes init (the completion orders the store before init's read).
    fn report(&self, res: Result) {
        self.err
            .store(res.err().map_or(0, |e| e.to_errno()), Relaxed);
        self.reported.complete();
    }
}

/// Starts the `onstack` waiter, which puts the completion on its stack and creates the worker;
/// returns once the waiter reported that the worker runs, or with the worker's creation error.
pub(crate) fn start() -> Result<KThread<'static, u32>> {
    let startup = Arc::pin_init(
        pin_init!(Startup {
            reported <- Completion::new(),
            err: Atomic::new(0),
        }),
        GFP_KERNEL,
    )?;
    let report = startup.clone();
    let waiter = KThread::run(fmt!("ckt_waiter"), move |tok: &StopToken| {
        onstack_waiter(tok, &report)
    })
    .inspect_err(waiter_not_created)?;
    pr_info!("created ckt_waiter (pid {})\n", waiter.pid());
    // On any error below `waiter` is dropped, which stops it; it does not wait for anything
    // but a stop, so this cannot hang.
    startup
        .reported
        .wait_for_completion_timeout(msecs_to_jiffies(STARTUP_TIMEOUT_MS))?;
    match startup.err.load(Relaxed) {
        0 => Ok(waiter),
        e => {
            pr_info!(
                "ckt_worker not created (error {}): stopping ckt_waiter\n",
                e
            );
            Err(Error::from_errno(e))
        }
    }
}

/// The `onstack` waiter: `DECLARE_COMPLETION_ONSTACK(done)`, hand `&done` to a worker, wait.
///
/// Why lending `done` to another thread is sound: `done` lives in this function's frame until it
/// returns. The worker is created by `kthread::scoped`, which runs the waiting loop as its body
/// and, when the body returns, stops the worker and waits until it has exited (`kthread_stop()`),
/// all before `scoped` itself returns. So every use of `done` by the worker happens before this
/// frame ends; the borrow checker enforces it, since the worker closure borrows `done` for the
/// length of the `scoped` call and `scoped` keeps the thread handle to itself (it cannot be leaked
/// past the call). What the borrow checker cannot see is whether the body returns: a panic
/// (`BUG()`) in it would end this thread with the worker still holding `done`, which is why
/// `scoped` is `unsafe`; the body here cannot panic (see the SAFETY comment).
fn onstack_waiter(tok: &StopToken, startup: &Startup) -> u32 {
    stack_pin_init!(let done = Completion::new());
    let done: &Completion = &done;
    // SAFETY: The body returns: `report` is an atomic store and a `complete()`, and `wait_loop`
    // only logs, waits with a timeout and counts with `wrapping_add`; nothing in it panics or
    // ends the task.
    let run = unsafe {
        kthread::scoped(
            fmt!("ckt_worker"),
            |wtok: &StopToken| work_loop(wtok, done),
            || {
                startup.report(Ok(()));
                wait_loop(tok, done, "onstack")
            },
        )
    };
    match run {
        Ok((wakes, completions)) => {
            // `scoped` has stopped the worker: nobody uses `done` any more.
            pr_info!(
                "ckt_waiter: ckt_worker stopped, {:?} completions\n",
                completions
            );
            wakes
        }
        Err(e) => {
            startup.report(Err(e));
            0
        }
    }
}
