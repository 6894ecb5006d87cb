// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the completion wrapper ([`super::completion`]).
//!
//! They run when the module is loaded in a kernel with `CONFIG_KUNIT`; `make check` reads their
//! KTAP result from the kernel log and fails if any test fails.

use kernel::prelude::*;

#[kunit_tests(complete_dev_completion)]
mod tests {
    use super::super::completion::{
        Completion,
        StaticCompletion,
        ALL_DONE, //
    };
    use kernel::prelude::*;

    fn new_completion() -> Pin<KBox<Completion>> {
        KBox::pin_init(Completion::new(), GFP_KERNEL).expect("allocation for the test")
    }

    #[test]
    fn fresh_is_not_done() {
        let c = new_completion();
        assert!(!c.done());
        assert_eq!(c.pending(), 0);
        assert!(!c.try_wait());
    }

    #[test]
    fn complete_counts_and_wait_consumes_one_each() {
        let c = new_completion();
        c.complete();
        c.complete();
        assert_eq!(c.pending(), 2);
        assert!(c.done());
        assert!(c.wait_interruptible().is_ok());
        assert!(c.wait_killable().is_ok());
        assert_eq!(c.pending(), 0);
        assert!(!c.try_wait());
    }

    #[test]
    fn try_wait_takes_exactly_one() {
        let c = new_completion();
        c.complete();
        assert!(c.try_wait());
        assert!(!c.try_wait());
    }

    #[test]
    fn timeout_waits_expire_when_nothing_is_pending() {
        let c = new_completion();
        assert_eq!(c.wait_timeout(1), Err(ETIMEDOUT));
        assert_eq!(c.wait_interruptible_timeout(1), Err(ETIMEDOUT));
        assert_eq!(c.wait_killable_timeout(1), Err(ETIMEDOUT));
        assert_eq!(c.pending(), 0);
    }

    #[test]
    fn timeout_waits_return_time_left_when_pending() {
        let c = new_completion();
        c.complete();
        c.complete();
        c.complete();
        assert!(matches!(c.wait_timeout(100), Ok(left) if left >= 1));
        assert!(matches!(c.wait_interruptible_timeout(100), Ok(left) if left >= 1));
        assert!(matches!(c.wait_killable_timeout(100), Ok(left) if left >= 1));
        assert_eq!(c.pending(), 0);
    }

    #[test]
    fn complete_all_lets_everyone_through_until_reinit() {
        let c = new_completion();
        c.complete_all();
        assert_eq!(c.pending(), ALL_DONE);
        for _ in 0..5 {
            assert!(c.try_wait());
            c.wait();
        }
        assert_eq!(c.pending(), ALL_DONE);
        c.reinit();
        assert_eq!(c.pending(), 0);
        assert!(!c.done());
        assert!(!c.try_wait());
    }

    #[test]
    fn reinit_forgets_pending_events() {
        let c = new_completion();
        c.complete();
        c.reinit();
        assert!(!c.try_wait());
        assert_eq!(c.wait_timeout(1), Err(ETIMEDOUT));
    }

    #[test]
    fn static_completion_needs_init() {
        static C: StaticCompletion = StaticCompletion::new();
        assert_eq!(C.get().err(), Some(ENODEV));
        C.init();
        C.init();
        let c = C.get().expect("initialised above");
        c.complete();
        assert!(c.try_wait());
        assert!(!c.done());
    }
}
