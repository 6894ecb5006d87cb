// SPDX-License-Identifier: GPL-2.0
//! Exercise 5, the kthread pair: a worker thread completes a static completion every
//! [`PERIOD_MS`], a waiter thread waits on it and counts; `rmmod` stops both at once
//! (exercises/05-kthread-pair/README.md).

use kernel::{
    prelude::*,
    time::msecs_to_jiffies, //
};

/// The completion the two threads share: `static DECLARE_COMPLETION(done)`.
static DONE: StaticCompletion = StaticCompletion::new();

/// How often the worker calls `complete()`, in milliseconds.
const PERIOD_MS: u32 = 100;

/// The longest single wait of the waiter: a bound that keeps it away from the hung-task detector.
const WAIT_SLICE_MS: u32 = 1000;

/// The waiter: waits on `comp` until stopped, logging each wake-up; returns their number.
fn wait_loop(tok: &StopToken, comp: &Completion) -> u32 {
    let mut wakes = 0u32;
    while !tok.should_stop() {
        if comp
            .wait_for_completion_interruptible_timeout(msecs_to_jiffies(WAIT_SLICE_MS))
            .is_ok()
        {
            wakes = wakes.wrapping_add(1);
            pr_info!("ckt_waiter: woken #{}\n", wakes);
        }
    }
    wakes
}

/// The worker: every [`PERIOD_MS`], `complete()`; returns the number of completions.
fn work_loop(tok: &StopToken, comp: &Completion) -> u32 {
    let mut completions = 0u32;
    while !tok.should_stop() {
        if tok.sleep_ms(PERIOD_MS) {
            completions = completions.wrapping_add(1);
            pr_info!("ckt_worker: complete #{}\n", completions);
            comp.complete();
        }
    }
    completions
}

module! {
    type: KthreadModule,
    name: "complete_kthread",
    authors: ["complete-dev developers"],
    description: "Exercise 5: two kernel threads signalling through a static completion",
    license: "GPL",
}

/// The module: the two threads, stopped when it is dropped on `rmmod`.
struct KthreadModule {
    /// Returns the number of wake-ups it logged.
    waiter: Option<KThread<'static, u32>>,
    /// Returns the number of completions it made.
    worker: Option<KThread<'static, u32>>,
}

impl kernel::Module for KthreadModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let comp = DONE.init();
        let waiter = KThread::run(fmt!("ckt_waiter"), move |tok: &StopToken| {
            wait_loop(tok, comp)
        })?;
        let worker = KThread::run(fmt!("ckt_worker"), move |tok: &StopToken| {
            work_loop(tok, comp)
        })?;
        Ok(Self {
            waiter: Some(waiter),
            worker: Some(worker),
        })
    }
}

impl Drop for KthreadModule {
    fn drop(&mut self) {
        // The waiter first, while the worker still completes; each stop returns at once.
        let wakes = self.waiter.take().map(KThread::stop);
        let completions = self.worker.take().map(KThread::stop);
        if let (Some(Ok(w)), Some(Ok(c))) = (wakes, completions) {
            pr_info!("unloaded: {} wake-ups, {} completions\n", w, c);
        }
    }
}

#[path = "ext/completion.rs"]
#[expect(
    dead_code,
    reason = "a shared wrapper: this module uses only part of it"
)]
mod completion;
#[path = "ext/kthread.rs"]
#[expect(
    dead_code,
    reason = "a shared wrapper: this module uses only part of it"
)]
mod kthread;

use completion::{
    Completion,
    StaticCompletion, //
};
use kthread::{
    KThread,
    StopToken, //
};
