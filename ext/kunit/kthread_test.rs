// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the kernel thread wrapper ([`super::kthread`]).
//!
//! Built into the test module `complete_ext_kunit.ko` only (see `complete_ext_kunit.rs`). Every
//! test returns a [`Result`]: a failed set-up fails the test instead of panicking, which would be
//! `BUG()`.

use kernel::prelude::*;

#[kunit_tests(ext_kthread)]
mod tests {
    use super::super::completion::{
        Completion as ExtCompletion,
        MAX_SCHEDULE_TIMEOUT, //
    };
    use super::super::kthread::{
        scoped,
        KThread,
        StopError,
        StopToken, //
    };
    use super::super::task::Comm;
    use kernel::{
        fmt,
        prelude::*,
        sync::{
            atomic::{
                Atomic,
                Relaxed, //
            },
            Arc,
            Completion, //
        },
        time::{
            delay::fsleep,
            Delta, //
        },
    };

    #[test]
    fn a_stop_ends_interruptible_waits_with_erestartsys() -> Result {
        // `kthread_stop()` raises TIF_NOTIFY_SIGNAL: to an interruptible wait it is a signal,
        // whether it comes before the wait or during it, and it stays raised for the next one.
        let started = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
        let never = Arc::pin_init(ExtCompletion::new(), GFP_KERNEL)?;
        let (signal, c) = (started.clone(), never.clone());
        let t = KThread::run(fmt!("kt_wait"), move |_tok: &StopToken| {
            signal.complete_all();
            let untimed = c.wait_for_completion_interruptible();
            let timed = c.wait_for_completion_interruptible_timeout(MAX_SCHEDULE_TIMEOUT);
            (untimed, timed)
        })?;
        started.wait_for_completion();
        let (untimed, timed) = t.stop()?;
        assert_eq!(untimed, Err(ERESTARTSYS));
        assert_eq!(timed, Err(ERESTARTSYS));
        assert_eq!(never.pending(), 0);
        Ok(())
    }

    /// Shows a longer text each time it is formatted: `ab`, then `abab`, and so on.
    struct Grows(Atomic<u32>);

    impl fmt::Display for Grows {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let n = self.0.fetch_add(1, Relaxed);
            for _ in 0..=n {
                f.write_str("ab")?;
            }
            Ok(())
        }
    }

    #[test]
    fn the_name_is_formatted_once() -> Result {
        let grows = Grows(Atomic::new(0));
        let ran = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
        let signal = ran.clone();
        // C's `kvasprintf` formats twice (to size, then to fill) and WARNs when the lengths
        // differ: the wrapper must hand it a finished string.
        let t = KThread::run(fmt!("kt_{}", grows), move |_tok: &StopToken| {
            let mut name = [0u8; 16];
            let comm = Comm::current();
            name[..comm.as_bytes().len()].copy_from_slice(comm.as_bytes());
            signal.complete_all();
            name
        })?;
        assert_eq!(grows.0.load(Relaxed), 1);
        // Stopped before it ran, the thread would never report its name.
        ran.wait_for_completion();
        let name = t.stop()?;
        assert_eq!(&name[..6], b"kt_ab\0");
        Ok(())
    }

    /// Counts its drops in a shared counter.
    struct DropCount(Arc<Atomic<u32>>);

    impl Drop for DropCount {
        fn drop(&mut self) {
            self.0.add(1, Relaxed);
        }
    }

    #[test]
    fn stop_returns_what_the_closure_returned() -> Result {
        let started = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
        let signal = started.clone();
        let t = KThread::run(fmt!("kt_test"), move |tok: &StopToken| {
            signal.complete_all();
            let mut loops = 0u32;
            while !tok.should_stop() {
                loops += 1;
                tok.sleep_ms(1);
            }
            loops + 1000
        })?;
        // The closure has started: the stop can only end its loop, never pre-empt it.
        started.wait_for_completion();
        assert!(matches!(t.stop(), Ok(n) if n >= 1000));
        Ok(())
    }

    #[test]
    fn closure_dropped_once_whether_or_not_it_ran() -> Result {
        let drops = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
        for i in 0..20u32 {
            let d = DropCount(drops.clone());
            let t = KThread::run(fmt!("kt_test{}", i), move |_tok: &StopToken| {
                let _d = d;
                7u32
            })?;
            // Often stopped before the thread ran (NeverRan), sometimes after it returned.
            match t.stop() {
                Ok(r) => assert_eq!(r, 7),
                Err(e) => assert_eq!(e, StopError::NeverRan),
            }
            assert_eq!(drops.load(Relaxed), i + 1);
        }
        Ok(())
    }

    #[test]
    fn stop_errors_are_the_errnos_of_c_kthread_stop() -> Result {
        // C `kthread_stop()` returns -EINTR for a thread stopped before its function ran; a thread
        // that died in it has no result, which the wrapper reports as -ESRCH.
        assert_eq!(Error::from(StopError::NeverRan), EINTR);
        assert_eq!(Error::from(StopError::Died), ESRCH);
        Ok(())
    }

    #[test]
    fn dropping_the_handle_stops_the_thread() -> Result {
        let drops = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
        let d = DropCount(drops.clone());
        let t = KThread::run(fmt!("kt_test"), move |tok: &StopToken| {
            let _d = d;
            while !tok.should_stop() {
                tok.sleep_ms(1000);
            }
        })?;
        drop(t);
        assert_eq!(drops.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn scoped_thread_borrows_from_the_stack() -> Result {
        let counter = Atomic::new(0u32);
        // SAFETY: The body only loads an atomic and sleeps, then returns; it holds no assertion
        // (they all come after `scoped` returned).
        let (mine, theirs) = unsafe {
            scoped(
                fmt!("kt_scoped"),
                |tok: &StopToken| {
                    while !tok.should_stop() {
                        counter.add(1, Relaxed);
                        tok.sleep_ms(1);
                    }
                    counter.load(Relaxed)
                },
                || {
                    while counter.load(Relaxed) < 3 {
                        fsleep(Delta::from_millis(1));
                    }
                    1
                },
            )
        }?;
        assert_eq!(mine, 1);
        assert!(matches!(theirs, Ok(n) if n >= 3));
        Ok(())
    }
}
