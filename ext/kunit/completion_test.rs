// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the completion wrapper ([`super::completion`]).
//!
//! Built into the test module `complete_ext_kunit.ko` only (see `complete_ext_kunit.rs`); they run
//! when it is loaded, and `make check` reads their KTAP result from the kernel log. Every test
//! returns a [`Result`]: a failed set-up fails the test instead of panicking, which would be
//! `BUG()`.

use kernel::prelude::*;

/// A probe inside [`StaticCompletion::init`]'s window, between winning the compare-exchange and
/// publishing `READY`: the test module is built with `--cfg complete_ext_kunit` (Kbuild), which
/// makes `init` call [`init_window::probe_here`] there.
///
/// Armed by [`init_window::probe`] for the length of a call, the probe raises an interrupt on
/// its own CPU (an `irq_work`) and gives it time to arrive. The interrupt's handler asks
/// [`init_window::PROBED`] for its completion: if it runs inside the window (interrupts on during
/// it), it finds it not ready, which is when a handler that called `init` would spin for ever on
/// the CPU that should finish it.
///
/// [`StaticCompletion::init`]: super::completion::StaticCompletion::init
pub(crate) mod init_window {
    use super::super::completion::StaticCompletion;
    use kernel::{
        bindings,
        prelude::*,
        sync::atomic::{
            Acquire,
            Atomic,
            Relaxed,
            Release, //
        },
        types::Opaque, //
    };

    /// The static whose `init` the test probes.
    pub(crate) static PROBED: StaticCompletion = StaticCompletion::new();

    /// [`SEEN`]: the interrupt has not run.
    pub(crate) const NOT_RUN: u32 = 0;
    /// [`SEEN`]: the interrupt ran inside the window (the completion was not ready yet).
    pub(crate) const IN_WINDOW: u32 = 1;
    /// [`SEEN`]: the interrupt ran after the window.
    pub(crate) const AFTER: u32 = 2;

    /// What the interrupt saw.
    static SEEN: Atomic<u32> = Atomic::new(NOT_RUN);

    /// [`ARMED`]: no probe armed; [`probe_here`] does nothing.
    const DISARMED: u32 = 0;
    /// [`ARMED`]: armed, the next `init` winner probes.
    const PENDING: u32 = 1;
    /// [`ARMED`]: a winner took the probe and is queueing [`WORK`].
    const QUEUEING: u32 = 2;
    /// Whether the next `init` winner probes. Only [`probe`] moves it from [`DISARMED`] to
    /// [`PENDING`], and only [`probe_here`] from [`PENDING`] to [`QUEUEING`] and back to
    /// [`DISARMED`] once `irq_work_queue` returned.
    static ARMED: Atomic<u32> = Atomic::new(DISARMED);

    /// 1 while a [`probe`] runs: its holder alone writes [`WORK`].
    static BUSY: Atomic<u32> = Atomic::new(0);

    /// The `irq_work` the probe raises.
    struct Work(Opaque<bindings::irq_work>);

    // SAFETY: The `irq_work` is written only by `probe`, while it holds `BUSY` and the work is
    // idle (never queued, or queued by a probe that returned only after `irq_work_sync`); it is
    // otherwise used only through the C API, which may be called from any CPU.
    unsafe impl Sync for Work {}

    static WORK: Work = Work(Opaque::uninit());

    /// The interrupt: note whether [`PROBED`] was ready.
    extern "C" fn handler(_work: *mut bindings::irq_work) {
        let seen = if PROBED.get().is_ok() {
            AFTER
        } else {
            IN_WINDOW
        };
        SEEN.store(seen, Release);
    }

    /// Runs `f` with the probe armed for the next `init` winner, waits until the interrupt the
    /// probe raised (if a winner probed) has run, and returns `f`'s result and what the interrupt
    /// saw ([`NOT_RUN`] if no winner probed).
    ///
    /// Call from task context: it waits for the interrupt with `irq_work_sync`, which may sleep.
    /// One probe at a time: a call while another runs (on another CPU, or from its `f`) fails
    /// with `EBUSY`.
    pub(crate) fn probe<R>(f: impl FnOnce() -> R) -> Result<(R, u32)> {
        if BUSY.cmpxchg(0, 1, Acquire).is_err() {
            return Err(EBUSY);
        }
        let work = bindings::irq_work {
            func: Some(handler),
            // `IRQ_WORK_INIT(handler)`: the node's flags zero, `irqwait` empty.
            ..Default::default()
        };
        // SAFETY: `WORK` is static storage, valid for writes. We hold `BUSY`, and every earlier
        // holder left `ARMED` at `DISARMED` and the work idle (`irq_work_sync` below) before
        // releasing it, so nothing queues or reads the work during the write.
        unsafe { WORK.0.get().write(work) };
        SEEN.store(NOT_RUN, Relaxed);
        ARMED.store(PENDING, Release);
        let r = f();
        // Disarm if no winner took the probe; if one did, wait until it has queued the work.
        if ARMED.cmpxchg(PENDING, DISARMED, Relaxed).is_err() {
            while ARMED.load(Acquire) != DISARMED {
                core::hint::spin_loop();
            }
        }
        // SAFETY: `WORK` was initialised above, and is queued at most once, by the winner that
        // took the probe, which has returned from `irq_work_queue` (`ARMED` is `DISARMED`);
        // `irq_work_sync` waits until it is idle again.
        unsafe { bindings::irq_work_sync(WORK.0.get()) };
        let seen = SEEN.load(Acquire);
        BUSY.store(0, Release);
        Ok((r, seen))
    }

    /// Called by `init` inside its window: if armed, raises the interrupt on this CPU and waits
    /// long enough for it to arrive while interrupts are on.
    pub(crate) fn probe_here() {
        if ARMED.cmpxchg(PENDING, QUEUEING, Acquire).is_err() {
            return;
        }
        // SAFETY: `probe` initialised `WORK` before storing `PENDING` (release, paired with the
        // acquire above), and writes it again only after we store `DISARMED` below and the work
        // is idle; `irq_work_queue` may be called from any context.
        unsafe { bindings::irq_work_queue(WORK.0.get()) };
        ARMED.store(DISARMED, Release);
        // SAFETY: A plain busy wait, allowed in any context.
        unsafe { bindings::__udelay(200) };
    }
}

#[kunit_tests(ext_completion)]
mod tests {
    use super::super::completion::{
        Completion,
        StaticCompletion,
        ALL_DONE,
        MAX_SCHEDULE_TIMEOUT, //
    };
    use kernel::{
        prelude::*,
        sync::{
            atomic::{
                Atomic,
                Relaxed, //
            },
            Arc, //
        },
        time::{
            msecs_to_jiffies,
            Jiffies, //
        },
        workqueue, //
    };

    fn new_completion() -> Result<Pin<KBox<Completion>>> {
        KBox::pin_init(Completion::new(), GFP_KERNEL)
    }

    #[test]
    fn fresh_is_not_done() -> Result {
        let c = new_completion()?;
        assert!(!c.completion_done());
        assert_eq!(c.pending(), 0);
        assert!(!c.try_wait_for_completion());
        Ok(())
    }

    #[test]
    fn complete_counts_and_wait_consumes_one_each() -> Result {
        let c = new_completion()?;
        c.complete();
        c.complete();
        assert_eq!(c.pending(), 2);
        assert!(c.completion_done());
        assert!(c.wait_for_completion_interruptible().is_ok());
        assert!(c.wait_for_completion_killable().is_ok());
        assert_eq!(c.pending(), 0);
        assert!(!c.try_wait_for_completion());
        Ok(())
    }

    #[test]
    fn try_wait_takes_exactly_one() -> Result {
        let c = new_completion()?;
        c.complete();
        assert!(c.try_wait_for_completion());
        assert!(!c.try_wait_for_completion());
        Ok(())
    }

    #[test]
    fn timeout_waits_expire_when_nothing_is_pending() -> Result {
        let c = new_completion()?;
        assert_eq!(c.wait_for_completion_timeout(1), Err(ETIMEDOUT));
        assert_eq!(
            c.wait_for_completion_interruptible_timeout(1),
            Err(ETIMEDOUT)
        );
        assert_eq!(c.wait_for_completion_killable_timeout(1), Err(ETIMEDOUT));
        assert_eq!(c.pending(), 0);
        Ok(())
    }

    #[test]
    fn timeout_waits_return_time_left_when_pending() -> Result {
        let c = new_completion()?;
        c.complete();
        c.complete();
        c.complete();
        // An event already pending is taken without sleeping: the whole timeout is left.
        assert_eq!(c.wait_for_completion_timeout(100), Ok(100));
        assert_eq!(c.wait_for_completion_interruptible_timeout(100), Ok(100));
        assert_eq!(c.wait_for_completion_killable_timeout(100), Ok(100));
        assert_eq!(c.pending(), 0);
        Ok(())
    }

    #[test]
    fn timeouts_at_and_beyond_long_max_wait_for_ever() -> Result {
        let c = new_completion()?;
        // C takes a `long`: `LONG_MAX + 1` and more would be negative there, and a consumed event
        // would come back as `-ERESTARTSYS`. The wrapper takes them as `MAX_SCHEDULE_TIMEOUT`.
        for timeout in [MAX_SCHEDULE_TIMEOUT, MAX_SCHEDULE_TIMEOUT + 1, Jiffies::MAX] {
            for _ in 0..3 {
                c.complete();
            }
            assert_eq!(
                c.wait_for_completion_timeout(timeout),
                Ok(MAX_SCHEDULE_TIMEOUT)
            );
            assert_eq!(
                c.wait_for_completion_interruptible_timeout(timeout),
                Ok(MAX_SCHEDULE_TIMEOUT)
            );
            assert_eq!(
                c.wait_for_completion_killable_timeout(timeout),
                Ok(MAX_SCHEDULE_TIMEOUT)
            );
            assert_eq!(c.pending(), 0);
        }
        Ok(())
    }

    #[test]
    fn complete_all_lets_everyone_through_until_reinit() -> Result {
        let c = new_completion()?;
        c.complete_all();
        assert_eq!(c.pending(), ALL_DONE);
        for _ in 0..5 {
            assert!(c.try_wait_for_completion());
            c.wait_for_completion();
        }
        assert_eq!(c.pending(), ALL_DONE);
        c.reinit_completion();
        assert_eq!(c.pending(), 0);
        assert!(!c.completion_done());
        assert!(!c.try_wait_for_completion());
        Ok(())
    }

    #[test]
    fn reinit_forgets_pending_events() -> Result {
        let c = new_completion()?;
        c.complete();
        c.reinit_completion();
        assert!(!c.try_wait_for_completion());
        assert_eq!(c.wait_for_completion_timeout(1), Err(ETIMEDOUT));
        Ok(())
    }

    #[test]
    fn static_completion_needs_init() -> Result {
        static C: StaticCompletion = StaticCompletion::new();
        assert_eq!(C.get().err(), Some(ENODEV));
        let first = C.init();
        first.complete();
        // A second `init` must not re-initialise: the pending event survives.
        let again = C.init();
        assert!(core::ptr::eq(first, again));
        let c = C.get()?;
        assert_eq!(c.pending(), 1);
        assert!(c.try_wait_for_completion());
        assert!(!c.completion_done());
        Ok(())
    }

    #[test]
    fn init_is_not_interrupted_in_its_window() -> Result {
        use super::init_window;
        let (c, seen) = init_window::probe(|| init_window::PROBED.init())?;
        // The interrupt arrives once the winner turns interrupts back on, after `READY`: a
        // handler calling `init` there returns at once instead of spinning.
        assert_eq!(seen, init_window::AFTER);
        assert!(core::ptr::eq(c, init_window::PROBED.get()?));
        Ok(())
    }

    /// Rounds of [`concurrent_init_initialises_once`]: one fresh static each.
    const ROUNDS: usize = 32;
    /// Work items racing in each round.
    const RACERS: u32 = 4;

    #[test]
    fn concurrent_init_initialises_once() -> Result {
        // One fresh `StaticCompletion` per round: `init` is one-shot by design.
        static STATICS: [StaticCompletion; ROUNDS] = [const { StaticCompletion::new() }; ROUNDS];
        let finished = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
        let mut bad_rounds = 0u32;
        for s in &STATICS {
            let start = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
            for _ in 0..RACERS {
                let (start, finished) = (start.clone(), finished.clone());
                workqueue::system_unbound().try_spawn(GFP_KERNEL, move || {
                    // Line the racers up, then all `init` and `complete` at once. A second
                    // `init_completion` on the way (the bug this tests for) would zero `done`
                    // and lose an earlier racer's event.
                    // The wait is bounded: with fewer CPUs than racers, spinning for the last ones
                    // could starve them on a kernel without preemption.
                    start.add(1, Relaxed);
                    for _ in 0..100_000 {
                        if start.load(Relaxed) >= RACERS {
                            break;
                        }
                        core::hint::spin_loop();
                    }
                    s.init().complete();
                    finished.complete();
                })?;
            }
            for _ in 0..RACERS {
                finished.wait_for_completion_timeout(msecs_to_jiffies(10_000))?;
            }
            if s.get()?.pending() != RACERS {
                bad_rounds += 1;
            }
        }
        assert_eq!(bad_rounds, 0);
        Ok(())
    }
}
