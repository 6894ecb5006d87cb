// SPDX-License-Identifier: GPL-2.0

//! Kernel threads, safely: `kthread_run()`, `kthread_should_stop()` and `kthread_stop()`.
//!
//! The kernel crate of 7.3 has no kthread abstraction. This file offers:
//!
//! - [`KThread::run`]: creates and wakes a thread (C `kthread_run`) running a Rust closure, with a
//!   name formatted by [`fmt!`] (C `namefmt, ...`);
//! - [`StopToken`]: handed to the closure, the only way to ask [`StopToken::should_stop`]
//!   (C `kthread_should_stop`), so it can only be asked from inside such a thread;
//! - [`KThread::stop`]: stops the thread and returns what the closure returned (C `kthread_stop`
//!   and its return value), or why there is nothing ([`StopError`]); dropping a [`KThread`]
//!   stops it too;
//! - [`scoped`]: runs a thread whose closure borrows from the caller's stack for the length of a
//!   call, stopping it before the call returns (how a `DECLARE_COMPLETION_ONSTACK` is shared with
//!   another thread). It is `unsafe`: see its `# Safety` section for why.
//!
//! # Threads and module unloading
//!
//! A thread runs the module's code. It must be stopped (its [`KThread`] stopped or dropped)
//! before the module's exit returns: after that the module's text and data are freed, and a
//! thread still running would execute freed memory. Keep every handle in the module's state, so
//! that dropping the module drops them, and never leak one.
//!
//! That is the one thing the types do not enforce: [`KThread::run`] is safe, and so is
//! [`core::mem::forget`], and a forgotten handle leaves its thread running after `rmmod`. The
//! soundness this file claims is the kernel crate's: every sequence of safe calls is sound while
//! the module is loaded; unloading is the module's own contract, as it is for upstream's
//! workqueues (a work item still queued at unload runs freed text the same way). Closing it would
//! mean a module reference per thread, which would keep `rmmod` from ever calling the exit that
//! stops the threads.
//!
//! # Ownership of the closure
//!
//! The closure and the slot for its result live in one [`KBox`]ed packet that the [`KThread`]
//! owns from creation to stop. The thread only borrows it, between the moment it starts and the
//! moment it exits. The handle touches the packet again only after `kthread_stop()` returned, i.e.
//! after the thread has exited (`kthread_stop` waits for the thread's `exited` completion, which
//! also orders the thread's writes before our reads). Then the packet is freed, with whichever of
//! the closure (never ran) or the result (ran) it holds. No case leaks:
//!
//! - creation fails: `kthread_create_on_node()` never calls the thread function on any of its
//!   error paths (`kthread()` exits with `-EINTR` without calling it when the creator was killed),
//!   so the packet, closure inside, is freed at once;
//! - stopped before the closure started: `kthread()` sees `KTHREAD_SHOULD_STOP` and exits without
//!   calling the thread function; [`KThread::stop`] drops the unused closure and returns
//!   [`StopError::NeverRan`] (`EINTR` as an [`Error`]), just like `kthread_stop()` returns
//!   `-EINTR` then;
//! - the closure started but never returned: the thread died in it (a Rust panic is `BUG()`, whose
//!   oops ends the task in `make_task_dead()` -> `do_exit()`; so does an oops in code it called).
//!   The task still completes its `exited` completion on the way out: in 7.3, `do_exit()` calls
//!   `exit_mm()` (kernel/exit.c:974), which calls `mm_exit_exec_release(current, mm)` before it
//!   returns early for a kernel thread's NULL `mm` (kernel/exit.c:562-564); that calls
//!   `mm_release()` (kernel/fork.c:1518-1521), whose `complete_vfork_done()` (kernel/fork.c:1515)
//!   completes `vfork_done`, which `set_kthread_struct()` pointed at `exited`
//!   (kernel/kthread.c:114). So `kthread_stop()` returns; [`KThread::stop`] frees the packet,
//!   which then holds neither closure (moved out when it started; whatever it captured is
//!   leaked) nor result, and returns [`StopError::Died`];
//! - the closure returns before the stop: the thread exits, but the reference the handle holds on
//!   the `task_struct` (taken before the first wake-up) keeps it valid for the later
//!   `kthread_stop()`, which then returns at once.
//!
//! C header: [`include/linux/kthread.h`](srctree/include/linux/kthread.h)

use core::marker::PhantomData;
use kernel::{
    bindings,
    error::from_err_ptr,
    fmt,
    prelude::*,
    sync::aref::ARef,
    task::Task, //
};

/// A thread's name, formatted once and NUL-terminated for C's `"%s"`.
struct ThreadName(KVec<u8>);

impl ThreadName {
    /// Formats `name`; an interior NUL ends the name there, as it would in C.
    fn format(name: fmt::Arguments<'_>) -> Result<Self> {
        let mut n = Self(KVec::new());
        fmt::Write::write_fmt(&mut n, name).map_err(|_| ENOMEM)?;
        n.0.push(0, GFP_KERNEL)?;
        Ok(n)
    }

    /// The NUL-terminated name.
    fn as_ptr(&self) -> *const c_void {
        self.0.as_ptr().cast()
    }
}

impl fmt::Write for ThreadName {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0
            .extend_from_slice(s.as_bytes(), GFP_KERNEL)
            .map_err(|_| fmt::Error)
    }
}

/// The packet a thread runs: the closure until it is taken, then the result.
struct Packet<F, R> {
    func: Option<F>,
    result: Option<R>,
}

/// A running kernel thread and the right to stop it.
///
/// Dropping it stops the thread (discarding its result); [`KThread::stop`] stops it and returns
/// the result. It must be stopped or dropped before the module's exit returns (see the file
/// documentation): `KThread::run(..)?;` alone drops the handle at once, which stops the thread
/// straight away, hence `#[must_use]`.
///
/// `'a` is how long whatever the closure borrows lives: the thread is stopped before `'a` ends.
/// [`KThread::run`] only makes `'static` threads; [`scoped`] makes shorter-lived ones.
///
/// # Invariants
///
/// - `task` is a kernel thread created by `kthread_create_on_node()` with [`thread_fn::<F, R>`]
///   and the packet as its data; the [`ARef`] keeps its `task_struct` valid even after it exits;
/// - while `packet` is not null, the thread has not been stopped, and `packet` comes from
///   `KBox::<Packet<F, R>>::into_raw`: the thread may use it until it exits, we own it afterwards;
///   `finish` is `finish::<F, R>`;
/// - the thread is stopped before `'a` ends: everything the closure borrows outlives it.
#[must_use = "dropping the handle stops the thread at once"]
pub(crate) struct KThread<'a, R> {
    task: ARef<Task>,
    packet: *mut c_void,
    finish: unsafe fn(*mut c_void) -> Result<R, StopError>,
    _borrows: PhantomData<&'a ()>,
}

// SAFETY: The handle may stop the thread from any task: `kthread_stop()` has no requirement on the
// caller's identity. Stopping takes the result (`R: Send`) or drops the closure, which is `Send` by
// the bound of every constructor.
unsafe impl<R: Send> Send for KThread<'_, R> {}

// SAFETY: `&KThread` offers only reads of the task's immutable pid; stopping needs ownership.
unsafe impl<R: Send> Sync for KThread<'_, R> {}

/// Why [`KThread::stop`] returned no result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StopError {
    /// The thread was stopped before its closure started; the closure was dropped unrun. C
    /// `kthread_stop()` returns `-EINTR` then, and so does the [`Error`] conversion.
    NeverRan,
    /// The closure started but never returned: the thread died in it (an oops, e.g. a Rust
    /// panic). Whatever the closure owned was leaked. As an [`Error`]: `ESRCH`.
    Died,
}

impl From<StopError> for Error {
    fn from(e: StopError) -> Self {
        match e {
            StopError::NeverRan => EINTR,
            StopError::Died => ESRCH,
        }
    }
}

/// Proof that the code holding it runs in a thread made by [`KThread`]: asks whether it should
/// stop, and sleeps in a way that a stop interrupts.
///
/// It is neither [`Send`] nor [`Sync`], so it never leaves its thread.
pub(crate) struct StopToken {
    _not_send: PhantomData<*mut ()>,
}

impl StopToken {
    /// Whether [`KThread::stop`] (C `kthread_stop()`) was called on this thread; once true, the
    /// thread should return soon, since the stopper waits for it.
    #[inline]
    pub(crate) fn should_stop(&self) -> bool {
        // SAFETY: By the existence of `self`, the current task is a kthread made by
        // `kthread_create_on_node()` (see `thread_fn`), which is what `kthread_should_stop()`
        // requires.
        unsafe { bindings::kthread_should_stop() }
    }

    /// Sleeps for `ms` milliseconds, or less if the thread is stopped meanwhile (C
    /// `msleep_interruptible`; `kthread_stop()` raises `TIF_NOTIFY_SIGNAL`, which ends it).
    ///
    /// Returns `true` if the whole time elapsed.
    #[inline]
    pub(crate) fn sleep_ms(&self, ms: u32) -> bool {
        // SAFETY: `msleep_interruptible` may be called from any sleepable context; a kthread's
        // thread function is one.
        unsafe { bindings::msleep_interruptible(ms) == 0 }
    }
}

/// The C thread function: runs the closure of the packet `data` once and stores its result.
///
/// # Safety
///
/// `data` must be the `Packet<F, R>` of a [`KThread`], which the current thread may use
/// exclusively until it exits.
unsafe extern "C" fn thread_fn<F: FnOnce(&StopToken) -> R, R>(data: *mut c_void) -> c_int {
    // SAFETY: Per the function safety requirement, nobody else touches the packet until we exit.
    let packet = unsafe { &mut *data.cast::<Packet<F, R>>() };
    if let Some(f) = packet.func.take() {
        let token = StopToken {
            _not_send: PhantomData,
        };
        packet.result = Some(f(&token));
    }
    // The result travels in the packet; `kthread_stop()`'s own return value is not used.
    0
}

/// Frees a packet after its thread exited; returns the result, or why there is none.
///
/// # Safety
///
/// `packet` must come from `KBox::<Packet<F, R>>::into_raw`, and its thread (if any) must have
/// exited, so that nothing else uses it.
unsafe fn finish<F, R>(packet: *mut c_void) -> Result<R, StopError> {
    // SAFETY: Per the function safety requirement, we own the box again.
    let packet = KBox::into_inner(unsafe { KBox::from_raw(packet.cast::<Packet<F, R>>()) });
    match (packet.func, packet.result) {
        (_, Some(r)) => Ok(r),
        // An unused closure (thread stopped before it started) is dropped here.
        (Some(_), None) => Err(StopError::NeverRan),
        // Taken but no result: the thread died while running it.
        (None, None) => Err(StopError::Died),
    }
}

impl<R: Send + 'static> KThread<'static, R> {
    /// Creates a thread named by `name` and wakes it to run `f` (C `kthread_run()`).
    ///
    /// The name is truncated to 15 bytes in `comm` (`ps`, `/proc/<pid>/comm`).
    ///
    /// # Examples
    ///
    /// ```ignore
    /// let t = KThread::run(fmt!("mythread{}", 1), |tok: &StopToken| {
    ///     let mut n = 0u32;
    ///     while !tok.should_stop() {
    ///         n += 1;
    ///         tok.sleep_ms(100);
    ///     }
    ///     n
    /// })?;
    /// let loops: u32 = t.stop()?;
    /// ```
    pub(crate) fn run<F>(name: fmt::Arguments<'_>, f: F) -> Result<Self>
    where
        F: FnOnce(&StopToken) -> R + Send + 'static,
    {
        // SAFETY: `'a` is `'static`: the closure borrows nothing that could end.
        unsafe { Self::run_unchecked(name, f) }
    }
}

impl<'a, R: Send> KThread<'a, R> {
    /// Like [`KThread::run`], for a closure that may borrow for `'a`.
    ///
    /// # Safety
    ///
    /// The returned handle must be stopped or dropped before `'a` ends; in particular it must not
    /// be leaked (e.g. with [`core::mem::forget`]).
    unsafe fn run_unchecked<F>(name: fmt::Arguments<'_>, f: F) -> Result<Self>
    where
        F: FnOnce(&StopToken) -> R + Send + 'a,
    {
        let packet = KBox::new(
            Packet::<F, R> {
                func: Some(f),
                result: None,
            },
            GFP_KERNEL,
        )?;
        // Formatted once, here: `kvasprintf` formats its arguments twice (to size, then to
        // fill), and a `Display` whose output changed length in between would trip its WARN.
        let name = ThreadName::format(name)?;
        let packet = KBox::into_raw(packet).cast::<c_void>();
        // SAFETY: `thread_fn::<F, R>` gets `packet`, a `Packet<F, R>` that nobody else touches
        // until the thread exits (we keep it until then). "%s" prints `name`, NUL-terminated, which
        // outlives the call, during which `kvasprintf` copies it.
        let task = unsafe {
            bindings::kthread_create_on_node(
                Some(thread_fn::<F, R>),
                packet,
                bindings::NUMA_NO_NODE,
                c"%s".as_char_ptr(),
                name.as_ptr(),
            )
        };
        let task = match from_err_ptr(task) {
            Ok(task) => task,
            Err(e) => {
                // SAFETY: The thread function never runs when creation fails (see the file
                // documentation), so the packet is ours alone.
                drop(unsafe { finish::<F, R>(packet) });
                return Err(e);
            }
        };
        // SAFETY: `kthread_create_on_node()` succeeded, so `task` points to a valid, just-created
        // `task_struct` (`Task` is a transparent wrapper of it); the thread sleeps until the
        // wake-up below, so it cannot have exited and dropped its own reference yet.
        let task_ref = unsafe { &*task.cast::<Task>() };
        // Our own reference (`get_task_struct`), for `kthread_stop` even after the thread exits.
        let task = ARef::from(task_ref);
        // SAFETY: `task` is valid: we hold a reference.
        unsafe { bindings::wake_up_process(task.as_ptr()) };
        // INVARIANT: `task` was created with `thread_fn::<F, R>` and `packet` and is not stopped;
        // `finish::<F, R>` matches; the caller stops us before `'a` ends.
        Ok(Self {
            task,
            packet,
            finish: finish::<F, R>,
            _borrows: PhantomData,
        })
    }
}

impl<R> KThread<'_, R> {
    /// The thread's process id, as shown by `ps`.
    pub(crate) fn pid(&self) -> i32 {
        self.task.pid()
    }

    /// Stops the thread and returns what its closure returned (C `kthread_stop()`).
    ///
    /// Sets the thread's "should stop" flag, wakes it, interrupts its interruptible sleeps and
    /// waits until it has exited. Fails with [`StopError::NeverRan`] if the thread was stopped
    /// before its closure started (the closure is then dropped unrun; C `kthread_stop()` returns
    /// `-EINTR`), and with [`StopError::Died`] if the closure never returned.
    ///
    /// It waits for as long as the closure takes to return: a closure that never looks at
    /// [`StopToken::should_stop`], or a thread stopping (or dropping) its own handle, hangs the
    /// caller, exactly like C `kthread_stop()`. That is a liveness bug, not a memory-safety one.
    pub(crate) fn stop(mut self) -> Result<R, StopError> {
        self.stop_in_place().unwrap_or(Err(StopError::NeverRan))
    }

    /// Stops the thread, if not done yet, and frees the packet; returns the closure's result.
    ///
    /// `None` if it was stopped already (only [`Drop`] can see that, after [`KThread::stop`]).
    fn stop_in_place(&mut self) -> Option<Result<R, StopError>> {
        if self.packet.is_null() {
            return None;
        }
        // SAFETY: By the type invariant `task` is a kthread, valid as we hold a reference, and
        // not stopped yet (`packet` is not null); `kthread_stop()` waits until it has exited.
        unsafe { bindings::kthread_stop(self.task.as_ptr()) };
        // Not `mem::take`: raw pointers are `Default` only from Rust 1.88, and the kernel builds
        // with 1.85.
        let packet = self.packet;
        self.packet = core::ptr::null_mut();
        // SAFETY: The thread has exited, so the packet is ours; `finish` matches its type (type
        // invariant); `packet` is null from now on, so it is freed only once.
        Some(unsafe { (self.finish)(packet) })
    }
}

impl<R> Drop for KThread<'_, R> {
    fn drop(&mut self) {
        // Stopping is what keeps the closure's borrows valid: never skip it.
        drop(self.stop_in_place());
    }
}

/// Runs `f` in a new thread named `name` while the current task runs `body`; then stops the
/// thread and returns what `body` returned and what the thread returned ([`KThread::stop`]).
///
/// Unlike [`KThread::run`], `f` may borrow from the caller, even from its stack: the thread is
/// stopped (and has exited) before `scoped` returns, so before anything it borrows can go away,
/// and no handle escapes. Fails without running `body` if the thread cannot be created.
///
/// Why `unsafe`: that argument holds only if `body` returns. In the kernel nothing unwinds: a
/// Rust panic is `BUG()`, whose oops ends the current task on the spot (with `panic_on_oops=0`),
/// and a failing KUnit assertion ends the test's thread through `kthread_exit()`. Either way the
/// caller's frame is gone while the thread still borrows it, and no safe signature can rule that
/// out. (The alternative, keeping the caller's stack alive by reference until the thread is done,
/// needs `try_get_task_stack()`, a static inline C function the 7.3 bindings do not reach.)
///
/// # Safety
///
/// `body` must return: it must not panic, must not contain KUnit assertions (`assert!` and
/// friends inside a `#[kunit_tests]` module), and must not end the task in any other way
/// (`kthread_exit()`, `do_exit()`).
///
/// # Examples
///
/// ```ignore
/// stack_pin_init!(let done = Completion::new());
/// // SAFETY: `wait_for_it` only waits and returns.
/// let (mine, theirs) = unsafe {
///     kthread::scoped(fmt!("helper"), |tok: &StopToken| use_it(&done, tok), || wait_for_it(&done))
/// }?;
/// ```
pub(crate) unsafe fn scoped<'env, F, R, B, T>(
    name: fmt::Arguments<'_>,
    f: F,
    body: B,
) -> Result<(T, Result<R, StopError>)>
where
    F: FnOnce(&StopToken) -> R + Send + 'env,
    R: Send + 'env,
    B: FnOnce() -> T,
{
    // SAFETY: `thread` is a local of this function that is neither leaked nor returned; `body`
    // returns (function safety requirement), so `thread` is stopped below before this call
    // returns, so before `'env` ends.
    let thread = unsafe { KThread::<'env, R>::run_unchecked(name, f)? };
    let mine = body();
    Ok((mine, thread.stop()))
}
