// SPDX-License-Identifier: GPL-2.0

//! `ext/completion.rs` on a kernel that has the upstream completion series (`upstream/completion/`,
//! docs/upstream.md): the kernel crate's [`Completion`] and [`StaticCompletion`] in place of this
//! project's, and what the series leaves out.
//!
//! Built instead of `ext/completion.rs` with `make UPSTREAM_COMPLETION=1` (Kbuild passes
//! `--cfg upstream_completion`); the methods have the same names and types, so the modules'
//! code does not change, but for the [`CompletionExt`] import where `pending()` is called.

pub(crate) use kernel::sync::{
    Completion,
    StaticCompletion, //
};

/// The value of `done` after `complete_all()`, as in `ext/completion.rs`.
#[allow(dead_code, reason = "complete_kthread does not read the counter")]
pub(crate) const ALL_DONE: u32 = u32::MAX;

/// What stays in ext/: a read of the counter of pending events, which no C function offers
/// (STATUS reports it, the `pending_max` bound checks it).
#[allow(dead_code, reason = "complete_kthread does not read the counter")]
pub(crate) trait CompletionExt {
    /// Returns the counter of pending events; [`ALL_DONE`] after `complete_all()`.
    ///
    /// A snapshot, like C `READ_ONCE(x->done)`: it may change as soon as it is read.
    fn pending(&self) -> u32;
}

impl CompletionExt for Completion {
    #[inline]
    fn pending(&self) -> u32 {
        // SAFETY: `as_raw()` points to an initialised `struct completion` for as long as `self`
        // lives (its documentation), so its `done` field is valid for reads. The read is volatile
        // (C `READ_ONCE`, as in `try_wait_for_completion`): other tasks change the field under the
        // completion's lock.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_raw()).done) }
    }
}
