// SPDX-License-Identifier: GPL-2.0

//! The counters: the module's, which `COMPLETE_IOC_STATUS` reports, and each open file's, which
//! `/proc/<pid>/fdinfo/<fd>` shows.
//!
//! Each counts a call the driver receives, as a user sees it: a read that returns 0 counts as
//! woken (also after `complete_all()`, when it consumed nothing), one that fails counts under
//! its errno (a restart of a timed read as interrupted), and `sleepers` counts the readers
//! between their going to sleep and their return, including those that find a completion pending
//! and never block. docs/driver.md defines each.

use kernel::{
    prelude::*,
    seq_file::{
        seq_print,
        SeqFile, //
    },
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
};

use crate::{
    log,
    params::VERBOSE,
    CompleteFile, //
};

/// Module-wide counters, reported by `COMPLETE_IOC_STATUS`.
pub(crate) static STATS: Stats = Stats::new();

/// Event counters; each is only ever incremented, except `sleepers`.
pub(crate) struct Stats {
    /// Readers in a blocking read right now (signed: leaving adds -1).
    pub(crate) sleepers: Atomic<i64>,
    pub(crate) reads_woken: Atomic<u64>,
    pub(crate) reads_interrupted: Atomic<u64>,
    pub(crate) reads_timed_out: Atomic<u64>,
    pub(crate) reads_would_block: Atomic<u64>,
    /// The `complete()` calls of every file (fdinfo's `complete_writes` counts one file's).
    pub(crate) completes: Atomic<u64>,
}

impl Stats {
    /// All counters at zero.
    const fn new() -> Self {
        Self {
            sleepers: Atomic::new(0),
            reads_woken: Atomic::new(0),
            reads_interrupted: Atomic::new(0),
            reads_timed_out: Atomic::new(0),
            reads_would_block: Atomic::new(0),
            completes: Atomic::new(0),
        }
    }
}

impl CompleteFile {
    /// Logs `going to sleep` if `verbose` is on, and counts a sleeper; returns `verbose`, which
    /// [`CompleteFile::sleep_ends`] takes so that a read logs both lines or neither.
    #[inline]
    pub(crate) fn sleep_begins(&self) -> bool {
        let verbose = VERBOSE.get();
        if verbose {
            log::process("going to sleep");
        }
        STATS.sleepers.add(1, Relaxed);
        verbose
    }

    /// Counts the end of a blocking read and, if `verbose`, logs how it ended.
    #[inline(always)] // Parity with C: left out of line, a read costs 9 instructions more.
    pub(crate) fn sleep_ends(&self, res: Result, verbose: bool) {
        STATS.sleepers.add(-1, Relaxed);
        self.count_read(res);
        if verbose {
            match res {
                Ok(()) => log::awoken(),
                Err(e) => log::gave_up(e),
            }
        }
    }

    /// Counts a write: this file's and the module's `complete()` calls.
    #[inline]
    pub(crate) fn count_write(&self) {
        self.writes.add(1, Relaxed);
        STATS.completes.add(1, Relaxed);
    }

    /// Counts the end of one read: in the module's outcome counters, and in this file's
    /// `reads_woken` if it succeeded.
    pub(crate) fn count_read(&self, res: Result) {
        let Err(e) = res else {
            STATS.reads_woken.add(1, Relaxed);
            self.reads_woken.add(1, Relaxed);
            return;
        };
        let counter = if e == ETIMEDOUT {
            &STATS.reads_timed_out
        } else if e == EAGAIN {
            &STATS.reads_would_block
        } else {
            &STATS.reads_interrupted
        };
        counter.add(1, Relaxed);
    }

    /// Shows this file's counters in `/proc/<pid>/fdinfo/<fd>`.
    pub(crate) fn show_fdinfo(&self, m: &SeqFile) {
        seq_print!(
            m,
            "complete_reads:\t{}\ncomplete_reads_woken:\t{}\ncomplete_writes:\t{}\n",
            self.reads.load(Relaxed),
            self.reads_woken.load(Relaxed),
            self.writes.load(Relaxed)
        );
    }
}
