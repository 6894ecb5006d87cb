// SPDX-License-Identifier: GPL-2.0

//! Two kernel threads and a completion: the kthread completion tutorial in Rust.
//!
//! `ckt_worker` sleeps `period_ms` milliseconds, calls `complete()`, and again; `ckt_waiter`
//! waits on the same completion and logs every wake-up; `rmmod` stops both threads at once.
//! `variant` picks where the completion lives: `static` (`DECLARE_COMPLETION`, the default),
//! `dynamic` (`init_completion()` on an allocation) or `onstack` (`DECLARE_COMPLETION_ONSTACK`,
//! in `complete_kthread/onstack.rs`). How it differs from the tutorial: `docs/kthread.md`.
//!
//! ```text
//! # insmod complete_kthread.ko variant=onstack period_ms=200
//! # dmesg                        # "ckt_worker: complete #1", "ckt_waiter: woken #1", ...
//! # rmmod complete_kthread       # returns at once
//! ```

use kernel::{
    prelude::*,
    sync::Arc,
    time::msecs_to_jiffies, //
};

/// The static completion of the `static` variant: `static DECLARE_COMPLETION(done)`.
static DONE: StaticCompletion = StaticCompletion::new();

/// The longest single wait of the waiter, in milliseconds: a bound, not a period (a stop ends the
/// wait at once). It keeps the waiter away from the hung-task detector even with a long
/// `period_ms`.
const WAIT_SLICE_MS: u32 = 1000;

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

module! {
    type: KthreadModule,
    name: "complete_kthread",
    authors: ["complete-dev developers"],
    description: "Two kernel threads signalling through a static, dynamic or on-stack completion",
    license: "GPL",
}

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
            Variant::OnStack => (onstack::start()?, None),
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

// The parameters and the `onstack` variant, a file each in complete_kthread/; the wrappers the
// 7.3 kernel crate lacks in ext/.
#[path = "complete_kthread/onstack.rs"]
mod onstack;
#[path = "complete_kthread/params.rs"]
mod params;

// On a kernel with the upstream series, the kernel crate's completion (docs/upstream.md).
#[cfg_attr(not(upstream_completion), path = "ext/completion.rs")]
#[cfg_attr(upstream_completion, path = "ext/completion_upstream.rs")]
#[cfg_attr(
    not(upstream_completion),
    expect(
        dead_code,
        reason = "a shared wrapper: this module uses only part of it"
    )
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
use params::{
    Variant,
    PERIOD_MS,
    VARIANT, //
};
