// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The userspace API of `/dev/complete`: ioctl numbers and the status record.
//!
//! This file is the one definition, shared by the driver (`complete_dev.rs`) and the test
//! (`userspace-test/`); it uses nothing but `core`, so both can compile it: the driver includes
//! it with `#[path]`, the test through the symlink `userspace-test/src/uapi.rs`.
//!
//! The numbers follow the kernel's `_IO`/`_IOR` encoding, whose layout differs between
//! architectures (`include/uapi/asm-generic/ioctl.h`, overridden by alpha, mips, parisc, powerpc
//! and sparc). The driver asserts at compile time that these constants equal `kernel::ioctl`'s
//! `_IO`/`_IOR`, and the test that they equal the `nix` crate's request codes, so a wrong
//! encoding cannot build or pass.

/// The ioctl type byte of this driver.
pub const COMPLETE_IOC_MAGIC: u32 = 0xC9;

/// Command number of [`COMPLETE_IOC_COMPLETE_ALL`].
pub const COMPLETE_IOC_NR_COMPLETE_ALL: u32 = 1;
/// Command number of [`COMPLETE_IOC_REINIT`].
pub const COMPLETE_IOC_NR_REINIT: u32 = 2;
/// Command number of [`COMPLETE_IOC_STATUS`].
pub const COMPLETE_IOC_NR_STATUS: u32 = 3;

/// Whether this architecture has its own `_IOC` layout (`arch/*/include/uapi/asm/ioctl.h` of
/// mips, powerpc and sparc; alpha and parisc too, which Rust does not target) rather than
/// asm-generic's.
const IOC_OWN_LAYOUT: bool = cfg!(any(
    target_arch = "mips",
    target_arch = "mips32r6",
    target_arch = "mips64",
    target_arch = "mips64r6",
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "sparc",
    target_arch = "sparc64"
));

/// The `_IOC` fields that differ between the layouts.
mod ioc {
    use super::IOC_OWN_LAYOUT;

    /// `_IOC_NONE`.
    pub(super) const NONE: u32 = if IOC_OWN_LAYOUT { 1 } else { 0 };
    /// `_IOC_READ`.
    pub(super) const READ: u32 = 2;
    /// `_IOC_SIZEBITS`.
    pub(super) const SIZEBITS: u32 = if IOC_OWN_LAYOUT { 13 } else { 14 };
}

/// C `_IOC(dir, COMPLETE_IOC_MAGIC, nr, size)`: nr in bits 0-7, type in 8-15, size from bit 16,
/// direction above the size.
const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << (16 + ioc::SIZEBITS)) | ((size as u32) << 16) | (COMPLETE_IOC_MAGIC << 8) | nr
}

/// `_IO(0xC9, 1)`: `complete_all()`: wake every sleeper and let every later read through.
pub const COMPLETE_IOC_COMPLETE_ALL: u32 = ioc(ioc::NONE, COMPLETE_IOC_NR_COMPLETE_ALL, 0);
/// `_IO(0xC9, 2)`: `reinit_completion()`: forget pending completions, reads block again.
pub const COMPLETE_IOC_REINIT: u32 = ioc(ioc::NONE, COMPLETE_IOC_NR_REINIT, 0);
/// `_IOR(0xC9, 3, struct complete_status)`: copy a [`CompleteStatus`] to the argument.
pub const COMPLETE_IOC_STATUS: u32 = ioc(ioc::READ, COMPLETE_IOC_NR_STATUS, CompleteStatus::SIZE);

/// What `COMPLETE_IOC_STATUS` returns: eight `__u64` in the machine's byte order, in this order,
/// 64 bytes.
///
/// The read counters count the calls the driver receives, each by how it ended. io_uring issues
/// a blocking read first without letting it sleep (`IOCB_NOWAIT`, the same flag as
/// `RWF_NOWAIT`: the driver cannot tell them apart), then, after `EAGAIN`, once more from an
/// io-wq worker that may sleep: with nothing pending, one io_uring read counts one read that
/// would block and one that was woken (or interrupted, or timed out). Through io_uring a file
/// opened `O_NONBLOCK` is read twice, both `EAGAIN`.
///
/// ```c
/// struct complete_status {
///     __u64 pending;           /* completions not yet consumed (0 when all_done) */
///     __u64 all_done;          /* 1 after COMPLETE_ALL, until REINIT */
///     __u64 sleepers;          /* readers asleep in read() right now */
///     __u64 reads_woken;       /* reads that consumed a completion (returned 0) */
///     __u64 reads_interrupted; /* reads ended by a signal (EINTR/ERESTARTSYS), or an io_uring cancel */
///     __u64 reads_timed_out;   /* reads that failed with ETIMEDOUT */
///     __u64 reads_would_block; /* reads not allowed to sleep that failed with EAGAIN: O_NONBLOCK,
///                                 RWF_NOWAIT, io_uring's own first try of a blocking read */
///     __u64 completes;         /* complete() calls made by write() */
/// };
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompleteStatus {
    /// Completions not yet consumed (0 when `all_done`).
    pub pending: u64,
    /// 1 after `COMPLETE_ALL`, until `REINIT`.
    pub all_done: u64,
    /// Readers in a blocking `read()` now: asleep, or about to take a pending completion.
    pub sleepers: u64,
    /// Reads that returned 0: each took a completion, or passed after `COMPLETE_ALL`.
    pub reads_woken: u64,
    /// Reads ended by a signal, restarted by the kernel or not (or by an io_uring cancel, which
    /// signals its io-wq worker).
    pub reads_interrupted: u64,
    /// Reads that failed with `ETIMEDOUT`.
    pub reads_timed_out: u64,
    /// Reads not allowed to sleep (`O_NONBLOCK`, `RWF_NOWAIT`, io_uring's own nonblocking first
    /// try of a blocking read) that failed with `EAGAIN`.
    pub reads_would_block: u64,
    /// `complete()` calls made by `write()`.
    pub completes: u64,
}

impl CompleteStatus {
    /// Size of the record in bytes.
    pub const SIZE: usize = 8 * 8;

    /// The record as the eight words of the C struct, in order.
    pub const fn to_words(self) -> [u64; 8] {
        [
            self.pending,
            self.all_done,
            self.sleepers,
            self.reads_woken,
            self.reads_interrupted,
            self.reads_timed_out,
            self.reads_would_block,
            self.completes,
        ]
    }

    /// The record from the eight words of the C struct.
    pub const fn from_words(w: [u64; 8]) -> Self {
        Self {
            pending: w[0],
            all_done: w[1],
            sleepers: w[2],
            reads_woken: w[3],
            reads_interrupted: w[4],
            reads_timed_out: w[5],
            reads_would_block: w[6],
            completes: w[7],
        }
    }
}
