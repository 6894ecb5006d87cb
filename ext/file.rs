// SPDX-License-Identifier: GPL-2.0

//! The open flags behind a [`Kiocb`].
//!
//! [`Kiocb`] gives no `&File` in 7.3, yet a read must honour `O_NONBLOCK`, which `fcntl(F_SETFL)`
//! can change at any time after `open`, so it has to be read from the file at each call.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use kernel::{bindings, fs::Kiocb, types::ForeignOwnable};

/// C `IOCB_NOWAIT`, which bindgen cannot see through its cast: it is `RWF_NOWAIT`, a stable
/// uapi value (`include/uapi/linux/fs.h`), set by `preadv2(RWF_NOWAIT)` and io_uring.
const IOCB_NOWAIT: i32 = 0x0000_0008;

/// Tells whether this I/O must not sleep: `O_NONBLOCK` on the file or `IOCB_NOWAIT` on the call.
pub(crate) fn is_nonblocking<T: ForeignOwnable>(kiocb: &Kiocb<'_, T>) -> bool {
    let raw = kiocb.as_raw();
    // SAFETY: A `Kiocb` wraps a valid `struct kiocb` whose `ki_filp` is the file of this I/O,
    // alive for the whole call. `f_flags` may be changed concurrently by `fcntl(F_SETFL)`; like
    // the C drivers that test `filp->f_flags & O_NONBLOCK`, we take one volatile snapshot.
    let (f_flags, ki_flags) = unsafe {
        (
            core::ptr::read_volatile(&raw const (*(*raw).ki_filp).f_flags),
            (*raw).ki_flags,
        )
    };
    f_flags & bindings::O_NONBLOCK != 0 || ki_flags & IOCB_NOWAIT != 0
}
