// SPDX-License-Identifier: GPL-2.0

//! The driver's log lines, LDD3's `printk`s: `process <pid> (<comm>) <what>`, `awoken <pid>
//! (<comm>)` and `process <pid> (<comm>) gave up waiting: <errno>`, at `KERN_INFO`.
//!
//! The `verbose` parameter switches them off (the `loaded:` line stays). The three functions a
//! read or write may call are kept out of line, so that the read and write paths keep nothing in
//! registers across a log call: that keeps the driver within 1% of its C twin
//! (docs/benchmark.md#speed-devices).

use kernel::prelude::*;

use crate::params::VERBOSE;

#[path = "../ext/task.rs"]
mod task;

use task::Comm;

/// Logs `process <pid> (<comm>) <what>` for the current task, if `verbose` is on.
pub(crate) fn process_if_verbose(what: &str) {
    if VERBOSE.get() {
        process(what);
    }
}

/// Logs `process <pid> (<comm>) <what>` for the current task.
#[inline(never)] // Parity with C (docs/benchmark.md#speed-devices).
pub(crate) fn process(what: &str) {
    pr_info!(
        "process {} ({}) {}\n",
        current!().pid(),
        Comm::current(),
        what
    );
}

/// Logs `awoken <pid> (<comm>)` for the current task.
#[inline(never)] // Parity with C (docs/benchmark.md#speed-devices).
pub(crate) fn awoken() {
    pr_info!("awoken {} ({})\n", current!().pid(), Comm::current());
}

/// Logs that the current task gave up waiting, and why.
#[inline(never)] // Parity with C (docs/benchmark.md#speed-devices).
pub(crate) fn gave_up(err: Error) {
    pr_info!(
        "process {} ({}) gave up waiting: {:?}\n",
        current!().pid(),
        Comm::current(),
        err
    );
}
