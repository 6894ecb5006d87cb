// SPDX-License-Identifier: GPL-2.0
//! What each forked task of a run does: the shared board (a `MAP_SHARED` anonymous mapping)
//! where it records every operation's invocation and response time, `jiffies` around it and its
//! result, the system call each operation makes, and the task's body.

use std::os::fd::{AsRawFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use super::schedule::{Plan, Step};
use super::{jiffies, now, MAX_OPS, MAX_TASKS};
use crate::cases::model::linearizability::{Call, Ret};
use crate::sys::{self, Errno};
use crate::uapi::CompleteStatus;

/// One operation's record in shared memory; `resp` is written last.
#[repr(C)]
pub(super) struct Slot {
    pub(super) inv: AtomicU64,
    pub(super) resp: AtomicU64,
    /// `jiffies` before the invocation and after the response; 0: not known.
    pub(super) jiffies_before: AtomicU64,
    pub(super) jiffies_after: AtomicU64,
    pub(super) ret: AtomicI64,
    pub(super) errno: AtomicI64,
    pub(super) status: [AtomicU64; 8],
}

/// Every task's slots.
#[repr(C)]
pub(super) struct Board {
    pub(super) slots: [[Slot; MAX_OPS]; MAX_TASKS],
}

/// A shared anonymous mapping holding a [`Board`], seen by every forked task.
pub(super) struct Shared {
    ptr: NonNull<Board>,
}

impl Shared {
    pub(super) fn new() -> Result<Self, Errno> {
        // SAFETY: a fresh anonymous mapping aliases nothing; it is zero-filled, and all-zero
        // bytes are valid atomics.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                std::mem::size_of::<Board>(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        NonNull::new(p.cast()).map_or(Err(Errno(libc::ENOMEM)), |ptr| Ok(Self { ptr }))
    }

    pub(super) fn board(&self) -> &Board {
        // SAFETY: the mapping lives as long as `self` and holds a zero-initialised `Board`;
        // it is only accessed through atomics.
        unsafe { self.ptr.as_ref() }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: the mapping this object owns; no reference to it outlives `self`.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), std::mem::size_of::<Board>()) };
    }
}

/// Makes one operation on `fd`: `(ret, errno, STATUS words)`.
pub(super) fn do_call(fd: RawFd, call: Call) -> (i64, i32, [u64; 8]) {
    let mut byte = [0u8; 1];
    let mut words = [0u64; 8];
    let ioctl = |cmd: u32, arg: usize| {
        // SAFETY: the commands take no argument, or STATUS a buffer of 8 words we own.
        unsafe { libc::ioctl(fd, cmd as libc::c_ulong, arg) as i64 }
    };
    let r = match call {
        // SAFETY: `byte` is valid for writes of one byte.
        Call::Read => unsafe { libc::read(fd, byte.as_mut_ptr().cast(), 1) as i64 },
        Call::ReadNowait => {
            let iov = libc::iovec {
                iov_base: byte.as_mut_ptr().cast(),
                iov_len: 1,
            };
            // SAFETY: `iov` describes `byte`.
            unsafe { libc::preadv2(fd, &iov, 1, -1, libc::RWF_NOWAIT) as i64 }
        }
        // SAFETY: `byte` is valid for reads of one byte.
        Call::Write => unsafe { libc::write(fd, byte.as_ptr().cast(), 1) as i64 },
        Call::CompleteAll => ioctl(sys::IOC_COMPLETE_ALL, 0),
        Call::Reinit => ioctl(sys::IOC_REINIT, 0),
        Call::Status | Call::FinalStatus => ioctl(sys::IOC_STATUS, words.as_mut_ptr() as usize),
        Call::Asleep(_) | Call::Signal(..) => 0,
    };
    let errno = if r < 0 { Errno::last().0 } else { 0 };
    (r, errno, words)
}

/// The body of a task: wait for the start, make the steps, record each operation.
pub(super) fn task_main(plan: &Plan, slots: &[Slot; MAX_OPS], go: RawFd) -> i32 {
    if sys::install_handler(libc::SIGINT, plan.restart).is_err() {
        return 4;
    }
    let Ok(fd) = sys::open(sys::dev_path(), libc::O_RDWR) else {
        return 3;
    };
    let mut b = [0u8; 1];
    // SAFETY: `b` is valid for writes of one byte. The parent closes its end to start us.
    while unsafe { libc::read(go, b.as_mut_ptr().cast(), 1) } != 0 {}
    let mut k = 0;
    for step in &plan.steps {
        match *step {
            Step::Pause(ms) => std::thread::sleep(Duration::from_millis(ms.into())),
            Step::Op(call) => {
                let Some(slot) = slots.get(k) else { return 5 };
                k += 1;
                slot.jiffies_before.store(jiffies(), SeqCst);
                slot.inv.store(now(), SeqCst);
                let (r, errno, words) = do_call(fd.as_raw_fd(), call);
                slot.ret.store(r, SeqCst);
                slot.errno.store(errno.into(), SeqCst);
                for (s, w) in slot.status.iter().zip(words) {
                    s.store(w, SeqCst);
                }
                slot.resp.store(now(), SeqCst);
                slot.jiffies_after.store(jiffies(), SeqCst);
            }
        }
    }
    0
}

/// A recorded result.
pub(super) fn to_ret(call: Call, r: i64, errno: i32, words: [u64; 8]) -> Ret {
    if r < 0 {
        Ret::Err(errno)
    } else if matches!(call, Call::Status | Call::FinalStatus) {
        Ret::Status(CompleteStatus::from_words(words))
    } else {
        Ret::Val(r)
    }
}
