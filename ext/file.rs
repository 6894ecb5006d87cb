// SPDX-License-Identifier: GPL-2.0

//! What [`File`] and [`Kiocb`] do not offer in 7.3: the open flags behind a [`Kiocb`], and
//! `FMODE_NOWAIT`.
//!
//! [`Kiocb`] gives no `&File` in 7.3, yet a read must honour `O_NONBLOCK`, which `fcntl(F_SETFL)`
//! can change at any time after `open`, so it has to be read from the file at each call.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use kernel::{
    bindings,
    fs::{
        File,
        Kiocb, //
    },
    types::ForeignOwnable, //
};

/// C `IOCB_NOWAIT`, which bindgen cannot see through its cast: it is `RWF_NOWAIT`, a stable
/// uapi value (`include/uapi/linux/fs.h`), set by `preadv2(RWF_NOWAIT)` and io_uring.
const IOCB_NOWAIT: i32 = 0x0000_0008;

/// C `FMODE_NOWAIT`, which bindgen cannot see through its `__force fmode_t` cast.
const FMODE_NOWAIT: u32 = 1 << 27;

/// Tells whether this I/O must not sleep: `O_NONBLOCK` on the file or `IOCB_NOWAIT` on the call.
pub(crate) fn is_nonblocking<T: ForeignOwnable>(kiocb: &Kiocb<'_, T>) -> bool {
    let raw = kiocb.as_raw();
    // SAFETY: A `Kiocb` wraps a valid `struct kiocb` whose `ki_filp` is the file of this I/O,
    // alive for the whole call. `f_flags` may be changed concurrently by `fcntl(F_SETFL)`; like
    // `File::flags()` and the C drivers that test `filp->f_flags & O_NONBLOCK`, we take one
    // volatile (`READ_ONCE`) snapshot.
    let f_flags = unsafe { core::ptr::read_volatile(&raw const (*(*raw).ki_filp).f_flags) };
    // Two tests, like C's `||`: the second load only when the first does not decide.
    if f_flags & bindings::O_NONBLOCK != 0 {
        return true;
    }
    // SAFETY: As above, `raw` is a valid `struct kiocb`; `ki_flags` belongs to this call alone.
    unsafe { (*raw).ki_flags & IOCB_NOWAIT != 0 }
}

/// Marks `file` as supporting non-blocking I/O per call (C `file->f_mode |= FMODE_NOWAIT`), so
/// that `preadv2(RWF_NOWAIT)` and io_uring reach the driver instead of failing with
/// `EOPNOTSUPP`; the driver must then honour `IOCB_NOWAIT` ([`is_nonblocking`]).
///
/// # Safety
///
/// Call it only from the file's `open` callback: `f_mode` is written without synchronisation,
/// which is sound only while no other task can reach the file (it is not yet in any file table).
pub(crate) unsafe fn set_nowait(file: &File) {
    let raw = file.as_ptr();
    // SAFETY: `file` is valid (shared reference); the caller guarantees that nobody else reads or
    // writes `f_mode` during the call.
    unsafe { (*raw).f_mode |= FMODE_NOWAIT };
}
