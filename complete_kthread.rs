// SPDX-License-Identifier: GPL-2.0

//! Two kernel threads and a completion: the kthread completion tutorial in Rust.
//!
//! `ckt_worker` sleeps `period_ms` milliseconds, calls `complete()`, and again; `ckt_waiter`
//! waits on the same completion and logs every wake-up. `rmmod` stops both threads.
//!
//! ```text
//! # insmod complete_kthread.ko variant=onstack period_ms=200
//! # ps | grep ckt_              # ckt_waiter and ckt_worker
//! # dmesg                        # "ckt_worker: complete #1", "ckt_waiter: woken #1", ...
//! # rmmod complete_kthread       # returns at once
//! ```
//!
//! `variant` picks where the completion lives, i.e. which of the tutorial's initialisations it
//! is:
//!
//! - `static` (default): a module-wide static, the counterpart of
//!   `static DECLARE_COMPLETION(done)` (`StaticCompletion`, initialised once in module init);
//! - `dynamic`: pinned in a reference-counted allocation shared by both threads, the counterpart
//!   of `init_completion()` on allocated memory (`Arc::pin_init(Completion::new())`);
//! - `onstack`: on the waiter thread's stack, the counterpart of `DECLARE_COMPLETION_ONSTACK`;
//!   the waiter creates the worker itself with `kthread::scoped`, which stops the worker before
//!   the waiter's stack frame (and the completion in it) can go away.
//!
//! Compared with the tutorial:
//! - it never hangs: the waiter waits interruptibly in slices of at most one second, and
//!   `kthread_stop()` interrupts such a wait at once (it raises `TIF_NOTIFY_SIGNAL`), so the
//!   order that hangs the tutorial (waiter first, while it waits for a completion nobody will
//!   make) is the order used here, for every variant;
//! - the worker's sleep is interruptible too, so `rmmod` does not wait for a `period_ms` to end;
//! - a failed thread creation is an error of `insmod`, logged, and the thread created already
//!   is stopped;
//! - `kthread_stop()` returns what each thread function returned: the number of wake-ups and of
//!   completions, which the unload message reports.

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

#[path = "ext/completion.rs"]
#[expect(
    dead_code,
    reason = "a shared wrapper: this module uses only part of it"
)]
mod completion;
#[path = "ext/kthread.rs"]
mod kthread;
#[path = "ext/param.rs"]
#[expect(
    dead_code,
    reason = "a shared wrapper: this module uses only part of it"
)]
mod param;

use completion::{
    Completion,
    StaticCompletion, //
};
use kthread::{
    KThread,
    StopError,
    StopToken, //
};
use param::{
    Choice,
    ChoiceParam,
    UintParam, //
};

module! {
    type: KthreadModule,
    name: "complete_kthread",
    authors: ["complete-dev developers"],
    description: "Two kernel threads signalling through a static, dynamic or on-stack completion",
    license: "GPL",
}

/// Where the completion lives.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// A module-wide static (`DECLARE_COMPLETION`).
    Static,
    /// An allocation shared by both threads (`init_completion`).
    Dynamic,
    /// The waiter's stack (`DECLARE_COMPLETION_ONSTACK`).
    OnStack,
}

impl Choice for Variant {
    const CHOICES: &'static [(Self, &'static str)] = &[
        (Self::Static, "static"),
        (Self::Dynamic, "dynamic"),
        (Self::OnStack, "onstack"),
    ];
}

module_param_sysfs!(
    /// Where the completion lives.
    VARIANT: ChoiceParam<Variant> = ChoiceParam::new(),
    name: "variant", type: "charp", perm: 0o444,
    desc: "where the completion lives: static (DECLARE_COMPLETION, default), dynamic (init_completion), onstack (DECLARE_COMPLETION_ONSTACK)"
);

module_param_sysfs!(
    /// The worker's period, in milliseconds.
    PERIOD_MS: UintParam = UintParam::new(100, 60_000),
    name: "period_ms", type: "uint", perm: 0o644,
    desc: "ms between two complete() calls of the worker, default 100, 0 counts as 1, at most 60000; writable at run time"
);

/// The static completion of the `static` variant: `static DECLARE_COMPLETION(done)`.
static DONE: StaticCompletion = StaticCompletion::new();

/// The longest single wait of the waiter, in milliseconds: a bound, not a period (a stop ends the
/// wait at once). It keeps the waiter away from the hung-task detector even with a long
/// `period_ms`.
const WAIT_SLICE_MS: u32 = 1000;

/// How long init waits for the `onstack` waiter to report whether it created the worker.
const STARTUP_TIMEOUT_MS: u32 = 5000;

/// The module: the threads, stopped (waiter first) when it is dropped on `rmmod`.
struct KthreadModule {
    variant: &'static str,
    /// Returns the number of wake-ups it logged.
    waiter: Option<KThread<'static, u32>>,
    /// Returns the number of completions it made; `None` for `onstack`, whose waiter owns it.
    worker: Option<KThread<'static, u32>>,
}

impl kernel::Module for KthreadModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let variant = VARIANT.get();
        pr_info!(
            "loading: variant={} period_ms={}\n",
            VARIANT.name(),
            PERIOD_MS.get()
        );
        let (waiter, worker) = match variant {
            Variant::Static => {
                let comp = DONE.init();
                start_pair(comp, comp)?
            }
            Variant::Dynamic => {
                let comp = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
                start_pair(comp.clone(), comp)?
            }
            Variant::OnStack => (start_onstack()?, None),
        };
        pr_info!("loaded: variant={}\n", VARIANT.name());
        Ok(Self {
            variant: VARIANT.name(),
            waiter: Some(waiter),
            worker,
        })
    }
}

impl Drop for KthreadModule {
    fn drop(&mut self) {
        pr_info!("unloading ({}): stopping ckt_waiter\n", self.variant);
        // Waiter first: the order that hangs the tutorial. The waiter's wait is interruptible,
        // so the stop ends it at once.
        let wakes = self.waiter.take().map(KThread::stop);
        let completions = self.worker.take().map(KThread::stop);
        match (wakes, completions) {
            (Some(Ok(w)), Some(Ok(c))) => {
                pr_info!("unloaded: {} wake-ups, {} completions\n", w, c);
            }
            (Some(Ok(w)), None) => pr_info!("unloaded: {} wake-ups\n", w),
            (w, c) => pr_info!(
                "unloaded: a thread has no result (waiter {:?}, worker {:?})\n",
                w.map(|r| r.err()),
                c.map(|r| r.err())
            ),
        }
    }
}

/// Logs that the waiter could not be created: init then fails with `e`.
fn waiter_not_created(e: &Error) {
    pr_info!("ckt_waiter not created (error {})\n", e.to_errno());
}

/// Starts the waiter, then the worker, sharing one completion (`static` and `dynamic`).
///
/// If the worker cannot be created, the waiter is stopped (logging how) and the error returned.
fn start_pair<C>(
    for_waiter: C,
    for_worker: C,
) -> Result<(KThread<'static, u32>, Option<KThread<'static, u32>>)>
where
    C: core::ops::Deref<Target = Completion> + Send + 'static,
{
    let waiter = KThread::run(fmt!("ckt_waiter"), move |tok: &StopToken| {
        wait_loop(tok, &for_waiter, VARIANT.name())
    })
    .inspect_err(waiter_not_created)?;
    pr_info!("created ckt_waiter (pid {})\n", waiter.pid());
    let worker = KThread::run(fmt!("ckt_worker"), move |tok: &StopToken| {
        work_loop(tok, &for_worker)
    });
    let worker = match worker {
        Ok(worker) => worker,
        Err(e) => {
            pr_info!(
                "ckt_worker not created (error {}): stopping ckt_waiter\n",
                e.to_errno()
            );
            match waiter.stop() {
                Ok(wakes) => pr_info!("ckt_waiter stopped after {} wake-ups\n", wakes),
                // The stop came before the thread ran its function: the closure was dropped.
                Err(StopError::NeverRan) => pr_info!("ckt_waiter stopped before it ran (EINTR)\n"),
                Err(StopError::Died) => pr_info!("ckt_waiter died before it was stopped\n"),
            }
            return Err(e);
        }
    };
    pr_info!("created ckt_worker (pid {})\n", worker.pid());
    Ok((waiter, Some(worker)))
}

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
fn start_onstack() -> Result<KThread<'static, u32>> {
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

/// The waiter: waits on `comp` until stopped, logging each wake-up; returns their number.
fn wait_loop(tok: &StopToken, comp: &Completion, what: &str) -> u32 {
    pr_info!("ckt_waiter: waiting on the {} completion\n", what);
    let mut wakes = 0u32;
    while !tok.should_stop() {
        // On error, ETIMEDOUT (nothing within the slice) or ERESTARTSYS (`kthread_stop()`
        // interrupted the wait), the loop condition decides.
        if comp
            .wait_for_completion_interruptible_timeout(msecs_to_jiffies(WAIT_SLICE_MS))
            .is_ok()
        {
            wakes = wakes.wrapping_add(1);
            pr_info!("ckt_waiter: woken #{}\n", wakes);
        }
    }
    pr_info!("ckt_waiter: stopping after {} wake-ups\n", wakes);
    wakes
}

/// The worker: every `period_ms`, `complete()`; returns the number of completions when stopped.
fn work_loop(tok: &StopToken, comp: &Completion) -> u32 {
    pr_info!("ckt_worker: completing every {} ms\n", PERIOD_MS.get());
    let mut completions = 0u32;
    while !tok.should_stop() {
        // A stop cuts the sleep short; the loop condition then ends the loop.
        if tok.sleep_ms(PERIOD_MS.get().max(1)) {
            completions = completions.wrapping_add(1);
            pr_info!("ckt_worker: complete #{}\n", completions);
            comp.complete();
        }
    }
    pr_info!("ckt_worker: stopping after {} completions\n", completions);
    completions
}
