// SPDX-License-Identifier: GPL-2.0

//! The whole completion API, safely.
//!
//! The kernel crate's [`kernel::sync::Completion`] offers only `complete_all` and
//! `wait_for_completion` in 7.3. This file extends the same shape (an [`Opaque`] around
//! `struct completion`, a `pin_init!` constructor) with `complete`, every wait flavour returning
//! [`Result`], `try_wait`, `done`, `reinit` and a read of the counter, plus [`StaticCompletion`],
//! the Rust counterpart of a file-scope `DECLARE_COMPLETION`.
//!
//! C header: [`include/linux/completion.h`](srctree/include/linux/completion.h)
//!
//! Reference: <https://docs.kernel.org/scheduler/completion.html>

use kernel::{
    bindings,
    prelude::*,
    sync::atomic::{
        Acquire,
        Atomic,
        Release, //
    },
    time::Jiffies,
    types::Opaque, //
};

/// The value of `done` after `complete_all()`: every waiter passes until [`Completion::reinit`].
pub(crate) const ALL_DONE: u32 = u32::MAX;

/// A completion: a counter of "done" events and an exclusive, FIFO queue of waiters.
///
/// [`Completion::complete`] adds one event and wakes the oldest waiter; each wait consumes one
/// event, sleeping while there is none. [`Completion::complete_all`] lets every current and future
/// waiter through until [`Completion::reinit`].
///
/// # Examples
///
/// ```
/// # use kernel::prelude::*;
/// let c = KBox::pin_init(Completion::new(), GFP_KERNEL)?;
/// c.complete();
/// assert!(c.try_wait());
/// assert!(!c.try_wait());
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `inner` is an initialised `struct completion`.
#[repr(transparent)]
#[pin_data]
pub(crate) struct Completion {
    #[pin]
    inner: Opaque<bindings::completion>,
}

// SAFETY: A `struct completion` may be used from any task; it holds no thread-bound data.
unsafe impl Send for Completion {}

// SAFETY: Every operation on a `struct completion` takes its internal lock, so shared use from
// several tasks at once is what it is made for.
unsafe impl Sync for Completion {}

impl Completion {
    /// Creates an initialiser for a new, not-done [`Completion`] (C `init_completion`).
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            inner <- Opaque::ffi_init(|slot: *mut bindings::completion| {
                // SAFETY: `slot` is valid for writes of a `struct completion` and pinned.
                unsafe { bindings::init_completion(slot) };
            }),
        })
    }

    fn as_raw(&self) -> *mut bindings::completion {
        self.inner.get()
    }

    /// Signals one event: wakes the oldest waiter, or is remembered for the next one.
    #[inline]
    pub(crate) fn complete(&self) {
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`.
        unsafe { bindings::complete(self.as_raw()) };
    }

    /// Signals every current and future waiter, until [`Completion::reinit`].
    #[inline]
    pub(crate) fn complete_all(&self) {
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`.
        unsafe { bindings::complete_all(self.as_raw()) };
    }

    /// Waits for an event in `TASK_UNINTERRUPTIBLE` state: signals cannot end the wait.
    #[inline]
    pub(crate) fn wait(&self) {
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`.
        unsafe { bindings::wait_for_completion(self.as_raw()) };
    }

    /// Waits for an event; any signal ends the wait with `ERESTARTSYS`, consuming nothing.
    #[inline]
    pub(crate) fn wait_interruptible(&self) -> Result {
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`.
        let ret = unsafe { bindings::wait_for_completion_interruptible(self.as_raw()) };
        kernel::error::to_result(ret)
    }

    /// Waits for an event; only a fatal signal ends the wait (`ERESTARTSYS`), consuming nothing.
    #[inline]
    pub(crate) fn wait_killable(&self) -> Result {
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`.
        let ret = unsafe { bindings::wait_for_completion_killable(self.as_raw()) };
        kernel::error::to_result(ret)
    }

    /// Waits uninterruptibly for at most `timeout` jiffies.
    ///
    /// Returns the jiffies left (at least 1) or `ETIMEDOUT`.
    #[inline]
    pub(crate) fn wait_timeout(&self, timeout: Jiffies) -> Result<Jiffies> {
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`.
        let left = unsafe { bindings::wait_for_completion_timeout(self.as_raw(), timeout) };
        if left == 0 {
            Err(ETIMEDOUT)
        } else {
            Ok(left)
        }
    }

    /// Waits interruptibly for at most `timeout` jiffies.
    ///
    /// Returns the jiffies left (at least 1), `ERESTARTSYS` on a signal or `ETIMEDOUT`.
    #[inline]
    pub(crate) fn wait_interruptible_timeout(&self, timeout: Jiffies) -> Result<Jiffies> {
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`.
        let ret =
            unsafe { bindings::wait_for_completion_interruptible_timeout(self.as_raw(), timeout) };
        timeout_result(ret)
    }

    /// Waits killably for at most `timeout` jiffies.
    ///
    /// Returns the jiffies left (at least 1), `ERESTARTSYS` on a fatal signal or `ETIMEDOUT`.
    #[inline]
    pub(crate) fn wait_killable_timeout(&self, timeout: Jiffies) -> Result<Jiffies> {
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`.
        let ret = unsafe { bindings::wait_for_completion_killable_timeout(self.as_raw(), timeout) };
        timeout_result(ret)
    }

    /// Consumes one event if there is one, without ever sleeping (C `try_wait_for_completion`).
    #[inline]
    pub(crate) fn try_wait(&self) -> bool {
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`.
        unsafe { bindings::try_wait_for_completion(self.as_raw()) }
    }

    /// Tells whether an event is pending, i.e. a wait would not sleep (C `completion_done`).
    #[inline]
    pub(crate) fn done(&self) -> bool {
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`.
        unsafe { bindings::completion_done(self.as_raw()) }
    }

    /// Returns the counter of pending events; [`ALL_DONE`] after [`Completion::complete_all`].
    ///
    /// A snapshot, like C `READ_ONCE(x->done)`: it may change as soon as it is read.
    #[inline]
    pub(crate) fn pending(&self) -> u32 {
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`, so
        // its `done` field is valid for reads; the read is volatile (C `READ_ONCE`) because other
        // tasks change the field under the completion's lock.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_raw()).done) }
    }

    /// Forgets every pending event, so waits block again (C `reinit_completion`).
    ///
    /// Like the C function this is a plain store that takes no lock: a `complete()` running at
    /// the same moment may be kept or lost. Waiters already asleep stay asleep.
    #[inline]
    pub(crate) fn reinit(&self) {
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`, so
        // its `done` field is valid for writes; the write is volatile (C `WRITE_ONCE`), exactly
        // what the static inline C `reinit_completion()` does.
        unsafe { core::ptr::write_volatile(&raw mut (*self.as_raw()).done, 0) };
    }
}

/// Maps the C convention of the `*_timeout` waits (`-ERESTARTSYS`, 0, jiffies left) to a result.
fn timeout_result(ret: c_long) -> Result<Jiffies> {
    match ret {
        0 => Err(ETIMEDOUT),
        r if r < 0 => Err(ERESTARTSYS),
        // The C functions return at most the `timeout` they were given, so this cannot truncate.
        r => Ok(r as Jiffies),
    }
}

/// A completion with static storage: the Rust counterpart of a file-scope `DECLARE_COMPLETION`.
///
/// Rust cannot build the self-referencing wait queue of `COMPLETION_INITIALIZER` in a constant,
/// so the storage is static and [`StaticCompletion::init`] runs `init_completion` on it once, in
/// module init, before anything that uses it is registered. [`StaticCompletion::get`] hands out
/// the [`Completion`] only after that. The storage lives as long as the module's memory, so it
/// outlives every file and thread the module creates.
///
/// # Examples
///
/// ```ignore
/// static DONE: StaticCompletion = StaticCompletion::new();
/// // In module init, before registering the users:
/// DONE.init();
/// // Anywhere after:
/// DONE.get()?.complete();
/// ```
///
/// # Invariants
///
/// Once `ready` reads `true` (with acquire ordering), `inner` is an initialised completion.
pub(crate) struct StaticCompletion {
    inner: Completion,
    ready: Atomic<bool>,
}

impl StaticCompletion {
    /// Creates the uninitialised static storage; call [`StaticCompletion::init`] before use.
    pub(crate) const fn new() -> Self {
        Self {
            inner: Completion {
                inner: Opaque::uninit(),
            },
            ready: Atomic::new(false),
        }
    }

    /// Initialises the completion; the first call does the work, later calls do nothing.
    ///
    /// Call it from module init, before the completion can be reached by anyone else.
    pub(crate) fn init(&'static self) {
        if self.ready.load(Acquire) {
            return;
        }
        // SAFETY: `inner` is static storage, so valid for writes and never moved; `ready` is
        // false, so nobody else uses it yet (module init runs once, before any user exists).
        unsafe { bindings::init_completion(self.inner.as_raw()) };
        // INVARIANT: `inner` was initialised just above.
        self.ready.store(true, Release);
    }

    /// Returns the completion, or `ENODEV` if [`StaticCompletion::init`] has not run.
    #[inline]
    pub(crate) fn get(&'static self) -> Result<&'static Completion> {
        if self.ready.load(Acquire) {
            Ok(&self.inner)
        } else {
            Err(ENODEV)
        }
    }
}
