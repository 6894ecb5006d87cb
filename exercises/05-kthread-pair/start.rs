// SPDX-License-Identifier: GPL-2.0
//! Exercise 5, the kthread pair: a worker thread completes a static completion every
//! [`PERIOD_MS`], a waiter thread waits on it and counts; `rmmod` stops both at once
//! (exercises/05-kthread-pair/README.md).

use kernel::{
    prelude::*,
    time::msecs_to_jiffies, //
};

#[allow(dead_code)]
/// The completion the two threads share: `static DECLARE_COMPLETION(done)`.
static DONE: StaticCompletion = StaticCompletion::new();

/// How often the worker calls `complete()`, in milliseconds.
const PERIOD_MS: u32 = 100;

/// The longest single wait of the waiter: a bound that keeps it away from the hung-task detector.
const WAIT_SLICE_MS: u32 = 1000;

#[allow(dead_code)]
/// The waiter: waits on `comp` until stopped, logging each wake-up; returns their number.
fn wait_loop(tok: &StopToken, comp: &Completion) -> u32 {
    let _ = (tok, comp, msecs_to_jiffies(WAIT_SLICE_MS));
    // Your code: until stopped, wait on `comp` (at most WAIT_SLICE_MS at a time) and log
    // "ckt_waiter: woken #N" for each wake-up; return their number.
    0
}

#[allow(dead_code)]
/// The worker: every [`PERIOD_MS`], `complete()`; returns the number of completions.
fn work_loop(tok: &StopToken, comp: &Completion) -> u32 {
    let _ = (tok, comp);
    // Your code: until stopped, sleep PERIOD_MS, log "ckt_worker: complete #N", complete().
    0
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
        // Your code: initialise DONE, start ckt_waiter (wait_loop) and ckt_worker (work_loop).
        Ok(Self {
            waiter: None,
            worker: None,
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
