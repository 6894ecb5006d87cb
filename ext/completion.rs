// SPDX-License-Identifier: GPL-2.0

//! The whole completion API, safely.
//!
//! The kernel crate's [`kernel::sync::Completion`] offers only `complete_all` and
//! `wait_for_completion` in 7.3. This file extends the same shape (an [`Opaque`] around
//! `struct completion`, a `pin_init!` constructor) with the rest of the C API under its C names,
//! so that the day the kernel crate grows them this file goes away by changing one import:
//! `complete`, every `wait_for_completion*` flavour returning [`Result`],
//! `try_wait_for_completion`, `completion_done` and `reinit_completion`, plus a read of the
//! counter and [`StaticCompletion`], the Rust counterpart of a file-scope `DECLARE_COMPLETION`.
//!
//! C header: [`include/linux/completion.h`](srctree/include/linux/completion.h)
//!
//! Reference: <https://docs.kernel.org/scheduler/completion.html>

use kernel::{
    bindings,
    interrupt::local_interrupt_disable,
    prelude::*,
    sync::atomic::{
        Acquire,
        Atomic,
        Release, //
    },
    time::Jiffies,
    types::Opaque, //
};

// `reinit_completion` takes the completion's `raw_spinlock_t` through the out-of-line
// `_raw_spin_lock_irqsave()` of kernel/locking/spinlock.c, built on SMP or `DEBUG_SPINLOCK`
// kernels unless the architecture inlines it (in 7.3: s390 always, loongarch and csky without
// preemption; x86 never). Refuse the others with a message rather than a missing-symbol error.
#[cfg(any(
    all(not(CONFIG_SMP), not(CONFIG_DEBUG_SPINLOCK)),
    CONFIG_INLINE_SPIN_LOCK_IRQSAVE,
    CONFIG_INLINE_SPIN_UNLOCK_IRQRESTORE
))]
compile_error!("ext/completion.rs needs the out-of-line _raw_spin_lock_irqsave() (SMP or DEBUG_SPINLOCK, not inlined)");

/// The value of `done` after `complete_all()`: every waiter passes until
/// [`Completion::reinit_completion`].
///
/// `UINT_MAX - 1` unconsumed [`Completion::complete`] calls followed by one more reach it too (C
/// does not check): a user of `complete()` that cannot bound its events must bound them itself.
pub(crate) const ALL_DONE: u32 = u32::MAX;

/// The timeout that waits for ever (C `MAX_SCHEDULE_TIMEOUT`, `LONG_MAX`). The timed waits take
/// any larger timeout as this one: C would read it as a negative `long`.
pub(crate) const MAX_SCHEDULE_TIMEOUT: Jiffies = c_long::MAX as Jiffies;

/// A completion: a counter of "done" events and an exclusive, FIFO queue of waiters.
///
/// [`Completion::complete`] adds one event and wakes the oldest waiter; each wait consumes one
/// event, sleeping while there is none. [`Completion::complete_all`] lets every current and future
/// waiter through until [`Completion::reinit_completion`].
///
/// # Examples
///
/// ```
/// # use kernel::prelude::*;
/// let c = KBox::pin_init(Completion::new(), GFP_KERNEL)?;
/// c.complete();
/// assert!(c.try_wait_for_completion());
/// assert!(!c.try_wait_for_completion());
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

// SAFETY: Every operation of this type on the `struct completion` either takes its `wait.lock`
// (complete, complete_all, the waits, try_wait_for_completion, reinit_completion) or is a single
// `READ_ONCE`-like read of `done` (completion_done's fast path, `pending`), which is what the C
// API allows concurrently with everything else.
unsafe impl Sync for Completion {}

impl Completion {
    /// Creates an initialiser for a new, not-done [`Completion`] (C `init_completion`).
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // INVARIANT: `init_completion` initialises the `struct completion` in place.
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

    /// Signals every current and future waiter, until [`Completion::reinit_completion`].
    #[inline]
    pub(crate) fn complete_all(&self) {
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`.
        unsafe { bindings::complete_all(self.as_raw()) };
    }

    /// Waits for an event in `TASK_UNINTERRUPTIBLE` state: signals cannot end the wait.
    #[inline]
    pub(crate) fn wait_for_completion(&self) {
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`.
        unsafe { bindings::wait_for_completion(self.as_raw()) };
    }

    /// Waits for an event; a signal ends the wait with `ERESTARTSYS`, consuming nothing.
    ///
    /// So does anything else that wakes an interruptible sleeper: a stop request (`SIGSTOP`,
    /// Ctrl-Z), ptrace, the freezer. The system call then restarts when the task runs again, if
    /// no handler ran (see `arch/x86/kernel/signal.c`).
    #[inline]
    pub(crate) fn wait_for_completion_interruptible(&self) -> Result {
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`.
        let ret = unsafe { bindings::wait_for_completion_interruptible(self.as_raw()) };
        // 0 or -ERESTARTSYS, nothing else: no call to the out-of-line `to_result`.
        if ret == 0 {
            Ok(())
        } else {
            Err(ERESTARTSYS)
        }
    }

    /// Waits for an event; only a fatal signal ends the wait (`ERESTARTSYS`), consuming nothing.
    #[inline]
    pub(crate) fn wait_for_completion_killable(&self) -> Result {
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`.
        let ret = unsafe { bindings::wait_for_completion_killable(self.as_raw()) };
        // 0 or -ERESTARTSYS, nothing else: no call to the out-of-line `to_result`.
        if ret == 0 {
            Ok(())
        } else {
            Err(ERESTARTSYS)
        }
    }

    /// Waits uninterruptibly for at most `timeout` jiffies ([`MAX_SCHEDULE_TIMEOUT`] or more: for
    /// ever).
    ///
    /// Returns the jiffies left (at least 1) or `ETIMEDOUT`.
    #[inline]
    pub(crate) fn wait_for_completion_timeout(&self, timeout: Jiffies) -> Result<Jiffies> {
        let timeout = timeout.min(MAX_SCHEDULE_TIMEOUT);
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`.
        let left = unsafe { bindings::wait_for_completion_timeout(self.as_raw(), timeout) };
        if left == 0 {
            Err(ETIMEDOUT)
        } else {
            Ok(left)
        }
    }

    /// Waits interruptibly for at most `timeout` jiffies ([`MAX_SCHEDULE_TIMEOUT`] or more: for
    /// ever).
    ///
    /// Returns the jiffies left (at least 1), `ERESTARTSYS` on a signal (or a stop request, as for
    /// [`Completion::wait_for_completion_interruptible`]) or `ETIMEDOUT`.
    #[inline]
    pub(crate) fn wait_for_completion_interruptible_timeout(
        &self,
        timeout: Jiffies,
    ) -> Result<Jiffies> {
        let timeout = timeout.min(MAX_SCHEDULE_TIMEOUT);
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`.
        let ret =
            unsafe { bindings::wait_for_completion_interruptible_timeout(self.as_raw(), timeout) };
        timeout_result(ret)
    }

    /// Waits killably for at most `timeout` jiffies ([`MAX_SCHEDULE_TIMEOUT`] or more: for ever).
    ///
    /// Returns the jiffies left (at least 1), `ERESTARTSYS` on a fatal signal or `ETIMEDOUT`.
    #[inline]
    pub(crate) fn wait_for_completion_killable_timeout(&self, timeout: Jiffies) -> Result<Jiffies> {
        let timeout = timeout.min(MAX_SCHEDULE_TIMEOUT);
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`.
        let ret = unsafe { bindings::wait_for_completion_killable_timeout(self.as_raw(), timeout) };
        timeout_result(ret)
    }

    /// Consumes one event if there is one, without ever sleeping.
    #[inline]
    pub(crate) fn try_wait_for_completion(&self) -> bool {
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`.
        unsafe { bindings::try_wait_for_completion(self.as_raw()) }
    }

    /// Tells whether an event is pending, i.e. a wait would not sleep.
    #[inline]
    pub(crate) fn completion_done(&self) -> bool {
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`.
        unsafe { bindings::completion_done(self.as_raw()) }
    }

    /// Returns the counter of pending events; [`ALL_DONE`] after [`Completion::complete_all`].
    ///
    /// A snapshot, like C `READ_ONCE(x->done)`: it may change as soon as it is read.
    #[inline]
    pub(crate) fn pending(&self) -> u32 {
        // SAFETY: By the type invariant `self.as_raw()` is an initialised `struct completion`, so
        // its `done` field is valid for reads. The read is volatile (C `READ_ONCE`, as in
        // `try_wait_for_completion`): other tasks change the field under the completion's lock.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_raw()).done) }
    }

    /// Forgets every pending event and the all-done state, so waits block again.
    ///
    /// Unlike the static inline C `reinit_completion()`, a plain store that the caller must keep
    /// away from every other use of the completion, this takes the completion's lock, so it is
    /// atomic with respect to every other change of the counter: each `complete()`,
    /// `complete_all()` and each consumption of an event by a wait happens entirely before or
    /// entirely after it. A wait is not one such step: a sleeping waiter drops the lock while it
    /// sleeps, so a reinit can fall between its going to sleep and its waking. A waiter woken by
    /// `complete_all()` that has not yet run when this is called finds nothing pending and sleeps
    /// again; waiters already asleep stay asleep.
    pub(crate) fn reinit_completion(&self) {
        let raw = self.as_raw();
        // SAFETY: By the type invariant `raw` is an initialised `struct completion`, so
        // `wait.lock` is an initialised `raw_spinlock_t`; every C function that changes `done`
        // holds it, with interrupts off, which `_raw_spin_lock_irqsave` does too.
        let flags = unsafe { bindings::_raw_spin_lock_irqsave(&raw mut (*raw).wait.lock) };
        // SAFETY: We hold `wait.lock`, so nobody else reads or writes `done` with a lock (and the
        // unlocked readers use `READ_ONCE`); `done` is valid for writes (type invariant).
        unsafe { core::ptr::write_volatile(&raw mut (*raw).done, 0) };
        // SAFETY: We took this lock above with these `flags`, on this CPU.
        unsafe { bindings::_raw_spin_unlock_irqrestore(&raw mut (*raw).wait.lock, flags) };
    }
}

/// Maps the C convention of the `*_timeout` waits (`-ERESTARTSYS`, 0, jiffies left) to a result.
fn timeout_result(ret: c_long) -> Result<Jiffies> {
    match ret {
        0 => Err(ETIMEDOUT),
        r if r < 0 => Err(ERESTARTSYS),
        // Positive, and at most the `timeout` given, which is at most `LONG_MAX`: no truncation.
        r => Ok(r as Jiffies),
    }
}

/// [`StaticCompletion::state`]: nobody has started `init_completion` yet.
const UNINIT: u32 = 0;
/// [`StaticCompletion::state`]: one caller of [`StaticCompletion::init`] runs `init_completion`.
const INITIALISING: u32 = 1;
/// [`StaticCompletion::state`]: the completion is initialised and may be used.
const READY: u32 = 2;

/// A completion with static storage: the Rust counterpart of a file-scope `DECLARE_COMPLETION`.
///
/// Rust cannot build the self-referencing wait queue of `COMPLETION_INITIALIZER` in a constant,
/// so the storage is static and [`StaticCompletion::init`] runs `init_completion` on it exactly
/// once, whoever calls it and however often. [`StaticCompletion::get`] hands out the
/// [`Completion`] only after that. The storage lives as long as the module's memory, so it
/// outlives every file and thread the module creates.
///
/// # Examples
///
/// ```ignore
/// static DONE: StaticCompletion = StaticCompletion::new();
/// // In module init, before registering the users:
/// let done: &'static Completion = DONE.init();
/// // Anywhere after:
/// DONE.get()?.complete();
/// ```
///
/// # Invariants
///
/// - `state` only ever moves from [`UNINIT`] to [`INITIALISING`] (one caller wins the
///   compare-exchange) and from [`INITIALISING`] to [`READY`] (the same caller, once
///   `init_completion` returned); nothing but that caller touches `inner` before `READY`;
/// - once `state` reads [`READY`] (with acquire ordering), `inner` is an initialised
///   `struct completion`.
pub(crate) struct StaticCompletion {
    inner: Opaque<bindings::completion>,
    state: Atomic<u32>,
}

// SAFETY: Before `READY` only the caller that won the compare-exchange touches `inner`; from
// `READY` on it is used only as a `Completion`, which may be shared between tasks (`Sync`).
unsafe impl Sync for StaticCompletion {}

impl StaticCompletion {
    /// Creates the uninitialised static storage; [`StaticCompletion::init`] makes it usable.
    pub(crate) const fn new() -> Self {
        // INVARIANT: `UNINIT`, and nobody has touched `inner`.
        Self {
            inner: Opaque::uninit(),
            state: Atomic::new(UNINIT),
        }
    }

    /// Initialises the completion if nobody did yet, and returns it.
    ///
    /// The first caller runs `init_completion`; a concurrent caller waits (spinning: the work is
    /// a few stores) until that is done; every later call only reads the state. So it never
    /// re-initialises a completion that has waiters or pending events.
    ///
    /// Callable from any context but NMI: the first caller works with local interrupts (and so
    /// preemption) off, so a caller that interrupts or preempts it on its own CPU cannot spin
    /// waiting for it; a caller on another CPU waits for a few stores.
    pub(crate) fn init(&'static self) -> &'static Completion {
        if self.state.load(Acquire) == READY {
            return self.ready();
        }
        // Interrupts off on every configuration, not only the preemptible ones that the doc of
        // `LocalInterruptDisabled` speaks for: in 7.3, `local_interrupt_disable()`
        // (rust/kernel/interrupt.rs:52) calls its C helper (rust/helpers/interrupt.c:5), whose
        // `local_interrupt_disable()` (include/linux/interrupt_rc.h:58) starts with an
        // unconditional `local_irq_save(flags)` (interrupt_rc.h:65; include/linux/irqflags.h:214
        // with `TRACE_IRQFLAGS`, :239 without, both `raw_local_irq_save`) and counts the nesting
        // in `preempt_count`; the guard's drop restores the saved flags once the count is back
        // to zero (interrupt_rc.h:72). A kernel series must be checked for this again before
        // tools/kernels declares it; lockdep kernels check it below, and KUnit's
        // `init_is_not_interrupted_in_its_window` checks the window.
        let irqs_off = local_interrupt_disable();
        // SAFETY: `lockdep_assert_irqs_disabled()` may be called in any context; it only reads
        // lockdep's per-CPU state and warns (once) if interrupts are on.
        unsafe { bindings::lockdep_assert_irqs_disabled() };
        match self.state.cmpxchg(UNINIT, INITIALISING, Acquire) {
            Ok(_) => {
                // The test module's probe of this window (`kunit/completion_test.rs`); the
                // modules a reader loads are built without it.
                #[cfg(complete_ext_kunit)]
                crate::completion_test::init_window::probe_here();
                // SAFETY: We won the compare-exchange from `UNINIT`, so by the type invariant
                // nobody else touches `inner` until we store `READY`; it is static storage, so
                // valid for writes and never moved.
                unsafe { bindings::init_completion(self.inner.get()) };
                // INVARIANT: `inner` was initialised just above; `Release` publishes it.
                self.state.store(READY, Release);
            }
            Err(_) => {
                // Interrupts on, as in any busy wait: the winner runs on another CPU.
                drop(irqs_off);
                while self.state.load(Acquire) != READY {
                    core::hint::spin_loop();
                }
                return self.ready();
            }
        }
        drop(irqs_off);
        self.ready()
    }

    /// Returns the completion, or `ENODEV` if [`StaticCompletion::init`] has not finished.
    #[inline]
    pub(crate) fn get(&'static self) -> Result<&'static Completion> {
        if self.state.load(Acquire) == READY {
            Ok(self.ready())
        } else {
            Err(ENODEV)
        }
    }

    /// The completion, once `state` was seen `READY` with acquire ordering.
    fn ready(&'static self) -> &'static Completion {
        // SAFETY: Both callers saw `READY` with acquire ordering, so `inner` is an initialised
        // `struct completion` (type invariant), which is `Completion`'s invariant; `Completion`
        // is a transparent wrapper of `Opaque<bindings::completion>`, so the cast keeps layout
        // and validity.
        unsafe { &*core::ptr::from_ref(&self.inner).cast::<Completion>() }
    }
}
