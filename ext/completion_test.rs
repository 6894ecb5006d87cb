// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the completion wrapper ([`super::completion`]).
//!
//! Built into the test module `complete_ext_kunit.ko` only (see `complete_ext_kunit.rs`); they run
//! when it is loaded, and `make check` reads their KTAP result from the kernel log. Every test
//! returns a [`Result`]: a failed set-up fails the test instead of panicking, which would be
//! `BUG()`.

use kernel::prelude::*;

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
