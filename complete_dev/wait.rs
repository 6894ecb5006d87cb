// SPDX-License-Identifier: GPL-2.0

//! The waits beyond LDD3's one: `wait_mode` (interruptible, killable or uninterruptible), the
//! `timeout_ms` bound, and the reads that never sleep (`O_NONBLOCK`, `RWF_NOWAIT`).
//!
//! The lesson's default, an interruptible wait without a timeout, is in `read_iter` itself;
//! [`WaitSpec::sleep`] makes every other wait, and [`CompleteFile::try_read`] the reads that must
//! not sleep. A timed wait ended by a signal is restarted only where no handler runs (a stop and
//! continue, the freezer, ptrace), and then with its whole timeout again, as in C.

use core::num::NonZero;
use kernel::{
    prelude::*,
    time::{
        msecs_to_jiffies,
        Jiffies, //
    }, //
};

use crate::{
    completion::Completion,
    param::Choice,
    params::{
        TIMEOUT_MS,
        WAIT_MODE, //
    },
    CompleteFile, //
};

/// How a reader sleeps.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitMode {
    /// Any signal ends the wait.
    Interruptible,
    /// Only a fatal signal ends the wait.
    Killable,
    /// Nothing ends the wait but a write: the LDD3 behaviour (D state).
    Uninterruptible,
}

impl Choice for WaitMode {
    const CHOICES: &'static [(Self, &'static str)] = &[
        (Self::Interruptible, "interruptible"),
        (Self::Killable, "killable"),
        (Self::Uninterruptible, "uninterruptible"),
    ];
}

/// How a read of one file sleeps: `wait_mode` and `timeout_ms`.
///
/// Both parameters are read-only once the module is loaded, so each file takes them once, at
/// `open`.
#[derive(Clone, Copy)]
pub(crate) struct WaitSpec {
    pub(crate) mode: WaitMode,
    /// The timeout in jiffies; `None` waits for ever.
    pub(crate) timeout: Option<NonZero<Jiffies>>,
}

impl WaitSpec {
    /// The wait the module parameters ask for.
    pub(crate) fn from_params() -> Self {
        let ms = TIMEOUT_MS.get();
        Self {
            mode: WAIT_MODE.get(),
            // `msecs_to_jiffies` rounds up: a non-zero `ms` is at least one jiffy.
            timeout: NonZero::new(msecs_to_jiffies(ms)),
        }
    }

    /// Sleeps on `comp` as this spec says.
    #[inline]
    pub(crate) fn sleep(self, comp: &Completion) -> Result {
        match (self.mode, self.timeout) {
            (WaitMode::Interruptible, None) => comp.wait_for_completion_interruptible(),
            (WaitMode::Killable, None) => comp.wait_for_completion_killable(),
            (WaitMode::Uninterruptible, None) => {
                comp.wait_for_completion();
                Ok(())
            }
            (mode, Some(timeout)) => timed_wait(comp, mode, timeout.get()),
        }
    }
}

/// Waits on `comp` for at most `timeout` jiffies.
///
/// A signal ends the wait with `ERESTARTNOHAND`, not `ERESTARTSYS`: a handled signal makes it
/// `EINTR` even under `SA_RESTART`, which would begin the whole timeout again; a wake-up with no
/// handler to run (a stop and continue, the freezer, a ptrace stop) restarts the read, and the
/// restarted read waits its whole timeout again, so a periodic stop and continue keeps a timed
/// read waiting for ever, as in C. Restarting with the time left would need a `restart_block`
/// pointing into this module's text, which outlives the module if it is unloaded in between.
fn timed_wait(comp: &Completion, mode: WaitMode, timeout: Jiffies) -> Result {
    let res = match mode {
        WaitMode::Interruptible => comp.wait_for_completion_interruptible_timeout(timeout),
        WaitMode::Killable => comp.wait_for_completion_killable_timeout(timeout),
        WaitMode::Uninterruptible => comp.wait_for_completion_timeout(timeout),
    };
    match res {
        Ok(_) => Ok(()),
        Err(e) if e == ERESTARTSYS => Err(ERESTARTNOHAND),
        Err(e) => Err(e),
    }
}

impl CompleteFile {
    /// A read that must not sleep (`O_NONBLOCK` or `RWF_NOWAIT`): takes a pending completion, or
    /// fails with `EAGAIN`.
    #[inline]
    pub(crate) fn try_read(&self) -> Result<usize> {
        let res = if self.comp.try_wait_for_completion() {
            Ok(())
        } else {
            Err(EAGAIN)
        };
        self.count_read(res);
        res.map(|()| 0)
    }
}
