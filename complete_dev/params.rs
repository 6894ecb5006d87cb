// SPDX-License-Identifier: GPL-2.0

//! The module parameters, each a file in `/sys/module/complete_dev/parameters/`, and the bound
//! on pending completions that `pending_max` sets.
//!
//! `wait_mode`, `timeout_ms` and `pending_max` are read-only once loaded; `verbose` may be
//! written at run time and takes effect at the next log line. Each description states the
//! default and the bound that `insmod` enforces, as `modinfo` shows them.

use kernel::prelude::*;

#[cfg(upstream_completion)]
use crate::completion::CompletionExt as _;
use crate::{
    completion::{
        Completion,
        ALL_DONE, //
    },
    module_param_sysfs,
    param::{
        BoolParam,
        ChoiceParam,
        UintParam, //
    },
    wait::WaitMode,
};

module_param_sysfs!(
    /// How `read()` sleeps.
    pub(crate) WAIT_MODE: ChoiceParam<WaitMode> = ChoiceParam::new(),
    name: "wait_mode", type: "charp", perm: 0o444,
    desc: "how read() sleeps: interruptible, killable, or uninterruptible (LDD3, D state); default interruptible"
);

module_param_sysfs!(
    /// The timeout of each wait of a read, in milliseconds; 0 waits for ever.
    pub(crate) TIMEOUT_MS: UintParam = UintParam::new(0, 3_600_000),
    name: "timeout_ms", type: "uint", perm: 0o444,
    desc: "timeout of each wait of a read in ms, 0 = for ever; ETIMEDOUT on expiry; default 0, at most 3600000"
);

module_param_sysfs!(
    /// Whether reads and writes are logged.
    pub(crate) VERBOSE: BoolParam = BoolParam::new(true),
    name: "verbose", type: "bool", perm: 0o644,
    desc: "log each sleep, wake-up and write; writable at run time; default Y"
);

/// The largest value `pending_max` takes, and its default: `UINT_MAX - 1`, less one per task
/// that could pass [`refuse_above_pending_max`] at once (`PID_MAX_LIMIT`, 2^22 on 64-bit), so
/// that `done` never reaches `UINT_MAX`, the all-done value of `complete_all()`.
const PENDING_MAX_BOUND: u32 = u32::MAX - 1 - (1 << 22);

module_param_sysfs!(
    /// The pending count at which a write fails with `EOVERFLOW`.
    pub(crate) PENDING_MAX: UintParam = UintParam::new(PENDING_MAX_BOUND, PENDING_MAX_BOUND),
    name: "pending_max", type: "uint", perm: 0o444,
    desc: "test only: a write that would leave more pending completions fails with EOVERFLOW; default 4290772990, at most 4290772990"
);

/// Fails a write with `EOVERFLOW`, logging why, if `pending_max` completions are pending.
///
/// The check and the `complete()` that follows are two steps, so N writers at once can leave up
/// to `pending_max - 1 + N` pending; [`PENDING_MAX_BOUND`] leaves room for every task there can
/// be. After `complete_all()` every write passes.
#[inline]
pub(crate) fn refuse_above_pending_max(comp: &Completion) -> Result {
    let pending = comp.pending();
    if pending != ALL_DONE && pending >= PENDING_MAX.get() {
        crate::log::process_if_verbose("refused a write: too many pending completions");
        return Err(EOVERFLOW);
    }
    Ok(())
}

/// Logs the `loaded:` line, with every parameter's value.
pub(crate) fn log_loaded() {
    pr_info!(
        "loaded: /dev/complete, wait_mode={} timeout_ms={} verbose={} pending_max={}\n",
        WAIT_MODE.name(),
        TIMEOUT_MS.get(),
        VERBOSE.get(),
        PENDING_MAX.get()
    );
}
