// SPDX-License-Identifier: GPL-2.0
//! Exercise 6, the on-stack completion: the waiter thread keeps the completion in its own stack
//! frame (`DECLARE_COMPLETION_ONSTACK`) and lends it to a worker that `kthread::scoped` stops
//! before that frame goes (exercises/06-onstack/README.md).

use kernel::{
    prelude::*,
    time::msecs_to_jiffies, //
};
use pin_init::stack_pin_init;

/// How often the worker calls `complete()`, in milliseconds.
const PERIOD_MS: u32 = 100;

/// The longest single wait of the waiter: a bound that keeps it away from the hung-task detector.
const WAIT_SLICE_MS: u32 = 1000;

#[allow(dead_code)]
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

#[allow(dead_code)]
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

/// The waiter thread: `DECLARE_COMPLETION_ONSTACK(done)`, lend `&done` to a worker, wait.
fn onstack_waiter(tok: &StopToken) -> u32 {
    stack_pin_init!(let done = Completion::new());
    let done: &Completion = &done;
    let _ = (&done, msecs_to_jiffies(WAIT_SLICE_MS));
    // Your code: lend `done` to a ckt_worker running work_loop, made by kthread::scoped, and
    // wait on it here with wait_loop.
    while !tok.should_stop() {
        tok.sleep_ms(PERIOD_MS);
    }
    0
}

module! {
    type: KthreadModule,
    name: "complete_kthread",
    authors: ["complete-dev developers"],
    description: "Exercise 6: a waiter thread lends its on-stack completion to a worker",
    license: "GPL",
}

/// The module: the waiter thread, which owns the worker; stopped when it is dropped on `rmmod`.
struct KthreadModule {
    /// Returns the number of wake-ups it logged.
    waiter: Option<KThread<'static, u32>>,
}

impl kernel::Module for KthreadModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let waiter = KThread::run(fmt!("ckt_waiter"), onstack_waiter)?;
        Ok(Self {
            waiter: Some(waiter),
        })
    }
}

impl Drop for KthreadModule {
    fn drop(&mut self) {
        // Stopping the waiter ends its body; `scoped` then stops the worker.
        if let Some(Ok(w)) = self.waiter.take().map(KThread::stop) {
            pr_info!("unloaded: {} wake-ups\n", w);
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

use completion::Completion;
use kthread::{
    KThread,
    StopToken, //
};
