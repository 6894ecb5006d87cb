// SPDX-License-Identifier: GPL-2.0

//! The ioctls of `uapi/complete_dev.rs`: `COMPLETE_ALL` (`complete_all()`), `REINIT`
//! (`reinit_completion()`), both on a file open for writing, and `STATUS`, a snapshot of the
//! module's counters.

use kernel::{
    fs::{
        file,
        File, //
    },
    ioctl::{
        _IO,
        _IOR, //
    },
    prelude::*,
    sync::atomic::Relaxed,
    uaccess::UserSlice, //
};

#[cfg(upstream_completion)]
use crate::completion::CompletionExt as _;
use crate::{
    completion::ALL_DONE,
    log,
    stats::STATS,
    CompleteFile, //
};

#[path = "../uapi/complete_dev.rs"]
#[expect(
    dead_code,
    reason = "the uapi file also serves userspace (`from_words`)"
)]
#[allow(
    unreachable_pub,
    reason = "a uapi definition is public; the lint only runs with W=1"
)]
mod uapi;

use uapi::CompleteStatus;

/// `COMPLETE_IOC_COMPLETE_ALL`, as `kernel::ioctl` encodes it for this architecture.
const IOC_COMPLETE_ALL: u32 = _IO(uapi::COMPLETE_IOC_MAGIC, uapi::COMPLETE_IOC_NR_COMPLETE_ALL);
/// `COMPLETE_IOC_REINIT`, as `kernel::ioctl` encodes it for this architecture.
const IOC_REINIT: u32 = _IO(uapi::COMPLETE_IOC_MAGIC, uapi::COMPLETE_IOC_NR_REINIT);
/// `COMPLETE_IOC_STATUS`, as `kernel::ioctl` encodes it for this architecture.
const IOC_STATUS: u32 = _IOR::<[u64; 8]>(uapi::COMPLETE_IOC_MAGIC, uapi::COMPLETE_IOC_NR_STATUS);

// The uapi file's numbers are the ones userspace uses: they must be the kernel's.
const _: () = {
    assert!(uapi::COMPLETE_IOC_COMPLETE_ALL == IOC_COMPLETE_ALL);
    assert!(uapi::COMPLETE_IOC_REINIT == IOC_REINIT);
    assert!(uapi::COMPLETE_IOC_STATUS == IOC_STATUS);
    assert!(CompleteStatus::SIZE == core::mem::size_of::<[u64; 8]>());
};

impl CompleteFile {
    /// Runs ioctl `cmd` on `file`; `ENOTTY` for a command this driver does not have.
    pub(crate) fn ioctl(&self, file: &File, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            IOC_COMPLETE_ALL => self.complete_all(file)?,
            IOC_REINIT => self.reinit(file)?,
            IOC_STATUS => self.status(UserSlice::new(
                UserPtr::from_addr(arg),
                CompleteStatus::SIZE,
            ))?,
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }

    /// `COMPLETE_IOC_COMPLETE_ALL`: every current and later read passes, until `REINIT`.
    fn complete_all(&self, file: &File) -> Result {
        require_write(file)?;
        log::process_if_verbose("completing all");
        self.comp.complete_all();
        Ok(())
    }

    /// `COMPLETE_IOC_REINIT`: forget pending completions and the all-done state.
    fn reinit(&self, file: &File) -> Result {
        require_write(file)?;
        log::process_if_verbose("reinit");
        self.comp.reinit_completion();
        Ok(())
    }

    /// `COMPLETE_IOC_STATUS`: copy a snapshot of the module's state to userspace.
    fn status(&self, dest: UserSlice) -> Result {
        let done = self.comp.pending();
        let status = CompleteStatus {
            pending: if done == ALL_DONE { 0 } else { done.into() },
            all_done: (done == ALL_DONE).into(),
            // Never negative: each reader adds 1 before it subtracts 1.
            sleepers: STATS.sleepers.load(Relaxed).try_into().unwrap_or(0),
            reads_woken: STATS.reads_woken.load(Relaxed),
            reads_interrupted: STATS.reads_interrupted.load(Relaxed),
            reads_timed_out: STATS.reads_timed_out.load(Relaxed),
            reads_would_block: STATS.reads_would_block.load(Relaxed),
            completes: STATS.completes.load(Relaxed),
        };
        dest.writer().write(&status.to_words())
    }
}

/// Fails with `EBADF` unless `file` was opened for writing, as `write()` would: the ioctls that
/// change what every reader sees are writes.
fn require_write(file: &File) -> Result {
    match file.flags() & file::flags::O_ACCMODE {
        file::flags::O_WRONLY | file::flags::O_RDWR => Ok(()),
        _ => Err(EBADF),
    }
}
