// SPDX-License-Identifier: GPL-2.0
//! The ring the io_uring cases submit through: an `io-uring` ring with the buffer its requests
//! use, the requests the cases make (read, write, cancel) with the `user_data` that tells their
//! completions apart, and waits for a completion (or for none) with its result in words.

use std::time::{Duration, Instant};

use io_uring::{opcode, squeue, types, IoUring};

use crate::cases::WAIT;
use crate::error::{CaseError, CaseResult, Context};
use crate::sys::{self, Dev};
use crate::{bail, ensure_eq};

/// The `user_data` of the read under test.
pub(super) const READ: u64 = 1;
/// The `user_data` of a write.
pub(super) const WRITE: u64 = 2;
/// The `user_data` of a cancel.
pub(super) const CANCEL: u64 = 3;

/// A ring and the buffer its requests use (kept alive as long as the ring: the kernel holds its
/// address until the request completes).
pub(super) struct Ring {
    ring: IoUring,
    buf: Box<[u8; 16]>,
}

impl Ring {
    pub(super) fn new() -> CaseResult<Self> {
        Ok(Self {
            ring: IoUring::new(8).ctx("io_uring_setup(8 entries) (CONFIG_IO_URING?)")?,
            buf: Box::new([0; 16]),
        })
    }

    /// Queues `entry` and submits it.
    pub(super) fn submit(&mut self, entry: io_uring::squeue::Entry, what: &str) -> CaseResult {
        // SAFETY: the entry's buffer is `self.buf` or caller-owned data that outlives the request
        // (the ring is dropped before the buffer, see the field order), and its descriptor is
        // open for the request's life.
        unsafe { self.ring.submission().push(&entry) }
            .map_err(|e| CaseError::Fail(format!("{what}: submission queue full: {e}")))?;
        let n = self
            .ring
            .submit()
            .with_ctx(|| format!("{what}: io_uring_enter"))?;
        ensure_eq!(n, 1, "{what}: requests submitted");
        Ok(())
    }

    /// A one-byte `IORING_OP_READ` of `dev` with these `rw_flags`.
    fn read_entry(&mut self, dev: &Dev, rw_flags: i32) -> squeue::Entry {
        opcode::Read::new(types::Fd(dev.raw()), self.buf.as_mut_ptr(), 1)
            .offset(u64::MAX) // -1: the file position, as read(2); the driver has none.
            .rw_flags(rw_flags)
            .build()
            .user_data(READ)
    }

    /// Submits a one-byte `IORING_OP_READ` of `dev` with these `rw_flags`.
    pub(super) fn read(&mut self, dev: &Dev, rw_flags: i32) -> CaseResult {
        let e = self.read_entry(dev, rw_flags);
        self.submit(e, "IORING_OP_READ")
    }

    /// Submits a one-byte `IORING_OP_READ` of `dev` with `IOSQE_ASYNC`: io_uring queues it to
    /// io-wq without trying it inline first.
    pub(super) fn read_async(&mut self, dev: &Dev) -> CaseResult {
        let e = self.read_entry(dev, 0).flags(squeue::Flags::ASYNC);
        self.submit(e, "IORING_OP_READ with IOSQE_ASYNC")
    }

    /// Submits an `IORING_OP_WRITE` of `len` bytes of the buffer to `dev`.
    pub(super) fn write(&mut self, dev: &Dev, len: u32) -> CaseResult {
        let e = opcode::Write::new(types::Fd(dev.raw()), self.buf.as_ptr(), len)
            .offset(u64::MAX)
            .build()
            .user_data(WRITE);
        self.submit(e, "IORING_OP_WRITE")
    }

    /// Submits an `IORING_OP_ASYNC_CANCEL` of the read.
    pub(super) fn cancel_read(&mut self) -> CaseResult {
        let e = opcode::AsyncCancel::new(READ).build().user_data(CANCEL);
        self.submit(e, "IORING_OP_ASYNC_CANCEL")
    }

    /// The next completion `(user_data, res)`, waiting up to `timeout`.
    pub(super) fn next_cqe(&mut self, timeout: Duration) -> CaseResult<Option<(u64, i32)>> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(c) = self.ring.completion().next() {
                return Ok(Some((c.user_data(), c.result())));
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            // io_uring_enter(GETEVENTS) with a timeout: it also runs the task work through which
            // io-wq posts a failed request's completion.
            let ts = types::Timespec::from(left.min(Duration::from_millis(100)));
            let args = types::SubmitArgs::new().timespec(&ts);
            match self.ring.submitter().submit_with_args(1, &args) {
                Ok(_) => {}
                Err(e) if matches!(e.raw_os_error(), Some(libc::ETIME | libc::EINTR)) => {}
                Err(e) => bail!("io_uring_enter(GETEVENTS): {e}"),
            }
        }
    }

    /// Fails unless the next completion, within [`WAIT`], is `user_data` with result `res`.
    pub(super) fn expect_cqe(&mut self, user_data: u64, res: i32, what: &str) -> CaseResult {
        match self.next_cqe(WAIT)? {
            Some(got) => ensure_eq!(
                got,
                (user_data, res),
                "{what}: completion (user_data, res) [{}]",
                res_name(got.1)
            ),
            None => bail!("{what}: no completion within {WAIT:?}"),
        }
        Ok(())
    }

    /// Fails if a completion comes within `grace`.
    pub(super) fn expect_no_cqe(&mut self, grace: Duration, what: &str) -> CaseResult {
        if let Some((ud, res)) = self.next_cqe(grace)? {
            bail!(
                "{what}: unexpected completion user_data {ud} res {res} [{}]",
                res_name(res)
            );
        }
        Ok(())
    }
}

/// A completion's result in words: a count, or a negative errno by name.
fn res_name(res: i32) -> String {
    if res < 0 {
        sys::Errno(-res).name()
    } else {
        format!("{res}")
    }
}
