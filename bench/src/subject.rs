// SPDX-License-Identifier: GPL-2.0

//! The four things measured: the two drivers, a futex semaphore and a pipe.
//!
//! Each offers the same two operations: `wait` (block until one event is there and consume it)
//! and `signal` (post one event, waking one waiter). For the drivers these are `read()` and
//! `write()` of one byte, so each call is one system call like a real user's.

use std::ffi::CString;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

/// What a subject is, before it is opened.
#[derive(Clone, Debug)]
pub enum Kind {
    /// A `/dev/complete`-like device: `read()` sleeps, `write()` wakes one reader.
    Device(String),
    /// A counting semaphore on a futex word: the kernel's cheapest sleep/wake pair.
    Futex,
    /// One byte through a pipe.
    Pipe,
}

/// A subject opened for one run; dropped (closed) at its end.
pub struct Subject {
    kind: Kind,
    /// Device: one file for all threads. Pipe: read end.
    rfd: libc::c_int,
    /// Pipe: write end; -1 otherwise.
    wfd: libc::c_int,
    /// Pipe: a second, non-blocking open file description of the read end, to drain it.
    drain_fd: libc::c_int,
    /// Futex: the semaphore count.
    word: AtomicU32,
}

fn check(ret: libc::c_long, what: &str) -> io::Result<libc::c_long> {
    if ret < 0 {
        let e = io::Error::last_os_error();
        Err(io::Error::new(e.kind(), format!("{what}: {e}")))
    } else {
        Ok(ret)
    }
}

impl Subject {
    /// Opens `kind` for one run.
    pub fn open(kind: &Kind) -> io::Result<Self> {
        let (mut rfd, mut wfd, mut drain_fd) = (-1, -1, -1);
        match kind {
            Kind::Device(path) => {
                let c = CString::new(path.as_str()).expect("no NUL in a path");
                // SAFETY: `c` is a valid NUL-terminated string.
                rfd = check(
                    unsafe { libc::open(c.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) }.into(),
                    path,
                )? as libc::c_int;
            }
            Kind::Futex => {}
            Kind::Pipe => {
                let mut p = [0; 2];
                // SAFETY: `p` has room for the two descriptors.
                check(
                    unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }.into(),
                    "pipe2",
                )?;
                (rfd, wfd) = (p[0], p[1]);
                let path = CString::new(format!("/proc/self/fd/{rfd}")).unwrap();
                // SAFETY: `path` is a valid NUL-terminated string.
                drain_fd = check(
                    unsafe {
                        libc::open(
                            path.as_ptr(),
                            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
                        )
                    }
                    .into(),
                    "reopen pipe",
                )? as libc::c_int;
            }
        }
        Ok(Self {
            kind: kind.clone(),
            rfd,
            wfd,
            drain_fd,
            word: AtomicU32::new(0),
        })
    }

    /// Blocks until one event is available and consumes it.
    #[inline]
    pub fn wait(&self) -> io::Result<()> {
        let mut b = [0u8; 1];
        match self.kind {
            Kind::Device(_) => {
                // SAFETY: `b` is valid for one byte.
                let n = unsafe { libc::read(self.rfd, b.as_mut_ptr().cast(), 1) };
                check(n as libc::c_long, "read device")?;
                Ok(())
            }
            Kind::Pipe => {
                // SAFETY: `b` is valid for one byte.
                let n = unsafe { libc::read(self.rfd, b.as_mut_ptr().cast(), 1) };
                match check(n as libc::c_long, "read pipe")? {
                    1 => Ok(()),
                    _ => Err(io::Error::other("pipe closed")),
                }
            }
            Kind::Futex => loop {
                let v = self.word.load(Ordering::Acquire);
                if v > 0 {
                    if self
                        .word
                        .compare_exchange(v, v - 1, Ordering::AcqRel, Ordering::Relaxed)
                        .is_ok()
                    {
                        return Ok(());
                    }
                    continue;
                }
                // SAFETY: `word` is a valid, aligned u32 that outlives the call.
                unsafe {
                    libc::syscall(
                        libc::SYS_futex,
                        self.word.as_ptr(),
                        libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                        0u32,
                        std::ptr::null::<libc::timespec>(),
                    )
                };
            },
        }
    }

    /// Posts one event, waking one waiter if there is one.
    #[inline]
    pub fn signal(&self) -> io::Result<()> {
        let b = [b'x'; 1];
        match self.kind {
            Kind::Device(_) => {
                // SAFETY: `b` is valid for one byte.
                let n = unsafe { libc::write(self.rfd, b.as_ptr().cast(), 1) };
                check(n as libc::c_long, "write device")?;
            }
            Kind::Pipe => {
                // SAFETY: `b` is valid for one byte.
                let n = unsafe { libc::write(self.wfd, b.as_ptr().cast(), 1) };
                check(n as libc::c_long, "write pipe")?;
            }
            Kind::Futex => {
                self.word.fetch_add(1, Ordering::Release);
                // SAFETY: `word` is a valid, aligned u32 that outlives the call.
                unsafe {
                    libc::syscall(
                        libc::SYS_futex,
                        self.word.as_ptr(),
                        libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                        1,
                    )
                };
            }
        }
        Ok(())
    }

    /// Takes whatever the pipe holds without blocking, so blocked writers can go on (shutdown).
    pub fn drain_nonblocking(&self) {
        if self.drain_fd >= 0 {
            let mut buf = [0u8; 4096];
            // SAFETY: `buf` is valid for its length; the descriptor is non-blocking.
            while unsafe { libc::read(self.drain_fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
        }
    }

    /// Whether signals pile up (a completion's `done` count) and must be consumed after a run.
    pub fn keeps_count(&self) -> bool {
        matches!(self.kind, Kind::Device(_))
    }
}

impl Drop for Subject {
    fn drop(&mut self) {
        for fd in [self.rfd, self.wfd, self.drain_fd] {
            if fd >= 0 {
                // SAFETY: the descriptor is ours and closed once.
                unsafe { libc::close(fd) };
            }
        }
    }
}
