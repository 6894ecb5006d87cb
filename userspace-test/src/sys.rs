// SPDX-License-Identifier: GPL-2.0
//! Thin wrappers over the system calls the cases make: `/dev/complete` itself, processes,
//! signals, pipes, mappings and `/proc`. Every failure carries its errno by name.
//!
//! The `/proc` readers are in [`procfs`], CPU affinity, scheduling and names of threads in
//! [`thread`]; both are re-exported here, so every case calls `sys::` whatever it needs.

use std::ffi::CString;
use std::fmt;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::error::{CaseError, CaseResult};
use crate::uapi::{self, CompleteStatus};

mod procfs;
mod thread;

pub use procfs::{
    describe_task, fdinfo, fdinfo_text, fds_of, jiffies, proc_flags, proc_state, proc_syscall,
    JiffiesFile, PF_POSTCOREDUMP,
};
pub use thread::{
    get_affinity, gettid, own_comm, pin_task_to_cpu, pin_to_cpu, set_affinity, set_comm, set_fifo,
    set_task_fifo,
};

/// The device node of the driver: `/dev/complete`, or `$COMPLETE_DEV_PATH` (another driver with
/// the same read and write, such as the kernel's sample `/dev/rust-completion`).
pub fn dev_path() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        std::env::var("COMPLETE_DEV_PATH").unwrap_or_else(|_| "/dev/complete".to_string())
    })
}

/// Whether the device has the STATUS ioctl: not with `COMPLETE_DEV_NO_STATUS=1` (the kernel's
/// sample), where the cases leave their STATUS checks out.
pub fn has_status() -> bool {
    std::env::var("COMPLETE_DEV_NO_STATUS").as_deref() != Ok("1")
}

/// How often the polling helpers look again.
const POLL_STEP: Duration = Duration::from_millis(10);

/// An errno value, shown by name.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    /// The calling thread's current errno.
    pub fn last() -> Self {
        Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }

    /// The symbolic name of the common values, or `errno N`.
    pub fn name(self) -> String {
        let n = match self.0 {
            0 => "0",
            libc::EPERM => "EPERM",
            libc::ENOENT => "ENOENT",
            libc::ESRCH => "ESRCH",
            libc::EINTR => "EINTR",
            libc::EIO => "EIO",
            libc::ENXIO => "ENXIO",
            libc::ENOEXEC => "ENOEXEC",
            libc::EBADF => "EBADF",
            libc::ECHILD => "ECHILD",
            libc::EAGAIN => "EAGAIN",
            libc::ENOMEM => "ENOMEM",
            libc::EACCES => "EACCES",
            libc::EFAULT => "EFAULT",
            libc::EBUSY => "EBUSY",
            libc::EEXIST => "EEXIST",
            libc::ENODEV => "ENODEV",
            libc::EINVAL => "EINVAL",
            libc::ENOTTY => "ENOTTY",
            libc::ESPIPE => "ESPIPE",
            libc::ERANGE => "ERANGE",
            libc::ENOSYS => "ENOSYS",
            libc::ETIMEDOUT => "ETIMEDOUT",
            libc::EOVERFLOW => "EOVERFLOW",
            libc::EALREADY => "EALREADY",
            libc::EKEYREJECTED => "EKEYREJECTED",
            512 => "ERESTARTSYS",
            514 => "ERESTARTNOHAND",
            n => return format!("errno {n}"),
        };
        n.to_string()
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({})",
            self.name(),
            std::io::Error::from_raw_os_error(self.0)
        )
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// `Ok(ret)` for a non-negative return value, else the errno.
pub fn cvt<T: Copy + Default + PartialOrd>(ret: T) -> Result<T, Errno> {
    if ret < T::default() {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

/// A C string for a path or a parameter list (an interior NUL becomes `EINVAL`).
pub fn cstring(s: &str) -> Result<CString, Errno> {
    CString::new(s).map_err(|_| Errno(libc::EINVAL))
}

/// `open(2)` with `O_CLOEXEC` added.
pub fn open(path: &str, flags: i32) -> Result<OwnedFd, Errno> {
    let p = cstring(path)?;
    // SAFETY: `p` is a valid NUL-terminated string for the duration of the call.
    let fd = cvt(unsafe { libc::open(p.as_ptr(), flags | libc::O_CLOEXEC) })?;
    // SAFETY: `open` just returned this descriptor, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `COMPLETE_IOC_COMPLETE_ALL`, encoded by `nix` for the architecture the test runs on.
pub const IOC_COMPLETE_ALL: u32 =
    nix::request_code_none!(uapi::COMPLETE_IOC_MAGIC, uapi::COMPLETE_IOC_NR_COMPLETE_ALL) as u32;
/// `COMPLETE_IOC_REINIT`, encoded by `nix`.
pub const IOC_REINIT: u32 =
    nix::request_code_none!(uapi::COMPLETE_IOC_MAGIC, uapi::COMPLETE_IOC_NR_REINIT) as u32;
/// `COMPLETE_IOC_STATUS`, encoded by `nix`.
pub const IOC_STATUS: u32 = nix::request_code_read!(
    uapi::COMPLETE_IOC_MAGIC,
    uapi::COMPLETE_IOC_NR_STATUS,
    CompleteStatus::SIZE
) as u32;

/// One open file of `/dev/complete`.
pub struct Dev {
    fd: OwnedFd,
}

impl Dev {
    /// Opens the device read-write, blocking or not.
    pub fn open(nonblock: bool) -> Result<Self, Errno> {
        Self::open_flags(libc::O_RDWR | if nonblock { libc::O_NONBLOCK } else { 0 })
    }

    /// Opens the device with these `open(2)` flags (`O_RDONLY`, `O_WRONLY`, ...).
    pub fn open_flags(flags: i32) -> Result<Self, Errno> {
        Ok(Self {
            fd: open(dev_path(), flags)?,
        })
    }

    /// `preadv2(fd, [one byte], 1, -1, RWF_NOWAIT)`: a read that must not block.
    pub fn read_nowait(&self) -> Result<usize, Errno> {
        let mut b = [0u8; 1];
        let iov = libc::iovec {
            iov_base: b.as_mut_ptr().cast(),
            iov_len: b.len(),
        };
        // SAFETY: `iov` describes `b`, valid for writes for the call; offset -1 is "the current
        // position", as for read().
        let r = cvt(unsafe { libc::preadv2(self.raw(), &iov, 1, -1, libc::RWF_NOWAIT) })?;
        Ok(r as usize)
    }

    /// The descriptor number (for `/proc/self/fdinfo`).
    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// `read(fd, buf, len)` into a scratch buffer; returns the byte count.
    pub fn read(&self, len: usize) -> Result<usize, Errno> {
        let mut buf = vec![0u8; len.max(1)];
        self.read_at(buf.as_mut_ptr() as usize, len)
    }

    /// `read(fd, addr, len)` with any address: the kernel checks it, so a bad one is harmless.
    pub fn read_at(&self, addr: usize, len: usize) -> Result<usize, Errno> {
        // SAFETY: the kernel validates the user range and fails with EFAULT if it is not
        // writable; no Rust object aliases it (callers pass scratch or unmapped memory).
        let r = cvt(unsafe { libc::read(self.raw(), addr as *mut libc::c_void, len) })?;
        Ok(r as usize)
    }

    /// `write(fd, buf)`; returns the byte count.
    pub fn write(&self, buf: &[u8]) -> Result<usize, Errno> {
        self.write_at(buf.as_ptr() as usize, buf.len())
    }

    /// `write(fd, addr, len)` with any address: the kernel checks it, so a bad one is harmless.
    pub fn write_at(&self, addr: usize, len: usize) -> Result<usize, Errno> {
        // SAFETY: the kernel only reads the user range and validates it itself.
        let r = cvt(unsafe { libc::write(self.raw(), addr as *const libc::c_void, len) })?;
        Ok(r as usize)
    }

    /// `COMPLETE_IOC_STATUS`.
    pub fn status(&self) -> Result<CompleteStatus, Errno> {
        let mut words = [0u64; 8];
        self.ioctl(IOC_STATUS, words.as_mut_ptr() as usize)?;
        Ok(CompleteStatus::from_words(words))
    }

    /// `ioctl(fd, cmd, arg)` with a raw argument.
    pub fn ioctl(&self, cmd: u32, arg: usize) -> Result<i32, Errno> {
        // SAFETY: `arg` is either unused by the command or points to memory the caller owns
        // (or deliberately not: the kernel validates user pointers).
        cvt(unsafe { libc::ioctl(self.raw(), cmd as libc::c_ulong, arg) })
    }

    /// `lseek(fd, off, whence)`.
    pub fn lseek(&self, off: i64, whence: i32) -> Result<i64, Errno> {
        // SAFETY: plain system call on an owned descriptor.
        cvt(unsafe { libc::lseek(self.raw(), off, whence) })
    }
}

/// An anonymous private mapping, unmapped on drop.
pub struct Mapping {
    addr: usize,
    len: usize,
}

impl Mapping {
    /// `mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)`.
    pub fn new(len: usize, prot: i32) -> Result<Self, Errno> {
        // SAFETY: a fresh anonymous mapping chosen by the kernel aliases nothing.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        Ok(Self {
            addr: p as usize,
            len,
        })
    }

    /// The start address.
    pub fn addr(&self) -> usize {
        self.addr
    }

    /// The address of one page that was mapped and is unmapped again (nothing maps it now).
    pub fn freed_page() -> Result<usize, Errno> {
        let m = Self::new(page_size(), libc::PROT_READ | libc::PROT_WRITE)?;
        let addr = m.addr;
        drop(m);
        Ok(addr)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the range is the mapping this object owns; nothing refers to it any more.
        unsafe { libc::munmap(self.addr as *mut libc::c_void, self.len) };
    }
}

/// The page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory effects.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as usize
    } else {
        4096
    }
}

/// This process's pid.
pub fn getpid() -> i32 {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() }
}

/// `kill(pid, sig)`.
pub fn kill(pid: i32, sig: i32) -> Result<(), Errno> {
    // SAFETY: plain system call.
    cvt(unsafe { libc::kill(pid, sig) }).map(|_| ())
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `exit(code)`.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
}

/// `waitpid(pid, WNOHANG)` polled until the child ends or `timeout` passes (`Ok(None)`).
pub fn wait_exit(pid: i32, timeout: Duration) -> Result<Option<Exit>, Errno> {
    let end = Instant::now() + timeout;
    loop {
        let mut st = 0;
        // SAFETY: `st` is a valid out-pointer.
        let r = cvt(unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) })?;
        if r == pid {
            if libc::WIFEXITED(st) {
                return Ok(Some(Exit::Code(libc::WEXITSTATUS(st))));
            }
            if libc::WIFSIGNALED(st) {
                return Ok(Some(Exit::Signal(libc::WTERMSIG(st))));
            }
        }
        if Instant::now() >= end {
            return Ok(None);
        }
        std::thread::sleep(POLL_STEP);
    }
}

/// Forks a child named `name` (its comm) that runs `body` and `_exit`s with its return value.
///
/// The test is single-threaded whenever it forks, so the child may allocate. A panic in the child
/// never unwinds into the runner: it exits with status 99.
pub fn fork_child(name: &str, body: impl FnOnce() -> i32) -> Result<i32, Errno> {
    let cname = cstring(name)?;
    // SAFETY: the process is single-threaded here (the stress_threads case joins its threads
    // first).
    let pid = cvt(unsafe { libc::fork() })?;
    if pid != 0 {
        return Ok(pid);
    }
    // SAFETY: PR_SET_NAME reads a NUL-terminated string (truncated to 15 bytes by the kernel).
    unsafe { libc::prctl(libc::PR_SET_NAME, cname.as_ptr() as libc::c_ulong, 0, 0, 0) };
    let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(99);
    // SAFETY: `_exit` skips the parent's atexit handlers and buffers, as a forked child should.
    unsafe { libc::_exit(code) }
}

/// Signals seen by [`count_signal`] in this process.
pub static SIGNALS_SEEN: AtomicU32 = AtomicU32::new(0);

extern "C" fn count_signal(_sig: libc::c_int) {
    SIGNALS_SEEN.fetch_add(1, Ordering::SeqCst);
}

/// Installs a handler for `sig` that only counts it, with or without `SA_RESTART`.
pub fn install_handler(sig: i32, restart: bool) -> Result<(), Errno> {
    // SAFETY: an all-zero sigaction is a valid starting point; the handler is async-signal-safe
    // (one atomic increment).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = count_signal as *const () as libc::sighandler_t;
        sa.sa_flags = if restart { libc::SA_RESTART } else { 0 };
        libc::sigemptyset(&mut sa.sa_mask);
        cvt(libc::sigaction(sig, &sa, std::ptr::null_mut())).map(|_| ())
    }
}

/// Starts `ITIMER_REAL` with a period of `ms` milliseconds: a `SIGALRM` every `ms`.
pub fn interval_timer(ms: u32) -> Result<(), Errno> {
    let tv = libc::timeval {
        tv_sec: (ms / 1000).into(),
        tv_usec: ((ms % 1000) * 1000).into(),
    };
    let it = libc::itimerval {
        it_interval: tv,
        it_value: tv,
    };
    // SAFETY: `it` is a valid `itimerval`; the old value is not asked for.
    cvt(unsafe { libc::setitimer(libc::ITIMER_REAL, &it, std::ptr::null_mut()) }).map(|_| ())
}

/// A blocking read that cannot hang the test: `SIGALRM` (no `SA_RESTART`) after `secs`
/// seconds ends it with `EINTR`. Only for interruptible waits.
pub fn guarded_read(dev: &Dev, len: usize, secs: u32) -> Result<usize, Errno> {
    let mut buf = vec![0u8; len.max(1)];
    guarded_read_at(dev, buf.as_mut_ptr() as usize, len, secs)
}

/// [`guarded_read`] into any address.
pub fn guarded_read_at(dev: &Dev, addr: usize, len: usize, secs: u32) -> Result<usize, Errno> {
    install_handler(libc::SIGALRM, false)?;
    // SAFETY: alarm has no memory effects.
    unsafe { libc::alarm(secs) };
    let r = dev.read_at(addr, len);
    // SAFETY: as above.
    unsafe { libc::alarm(0) };
    r
}

/// A pipe; both ends close on exec.
pub fn pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid two-element out-array.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: `pipe2` just returned both descriptors, owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Writes all of `buf` to a raw descriptor (a short pipe write of a small record is atomic).
pub fn write_fd(fd: RawFd, buf: &[u8]) -> Result<usize, Errno> {
    // SAFETY: `buf` is valid for reads of its length.
    let r = cvt(unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) })?;
    Ok(r as usize)
}

/// Reads what is available from `fd` within `timeout` (poll then read); `Ok(empty)` on timeout.
pub fn read_fd_timeout(fd: RawFd, timeout: Duration) -> Result<Vec<u8>, Errno> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: `pfd` is one valid pollfd.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    if n < 0 {
        let e = Errno::last();
        return if e.0 == libc::EINTR {
            Ok(Vec::new())
        } else {
            Err(e)
        };
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut buf = vec![0u8; 4096];
    // SAFETY: `buf` is valid for writes of its length.
    let r = cvt(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })?;
    buf.truncate(r as usize);
    Ok(buf)
}

/// The mount id (`statx` `STATX_MNT_ID`, the number fdinfo's `mnt_id:` shows) and the inode
/// number of `path`.
pub fn mnt_id_ino(path: &str) -> Result<(u64, u64), Errno> {
    let p = cstring(path)?;
    // SAFETY: an all-zero `statx` is a valid value of this plain C struct.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: `p` is NUL-terminated and `stx` valid for writes, both for the call.
    cvt(unsafe {
        libc::statx(
            libc::AT_FDCWD,
            p.as_ptr(),
            0,
            libc::STATX_INO | libc::STATX_MNT_ID,
            &mut stx,
        )
    })?;
    if stx.stx_mask & libc::STATX_MNT_ID == 0 {
        return Err(Errno(libc::ENOSYS));
    }
    Ok((stx.stx_mnt_id, stx.stx_ino))
}

/// The kernel's `O_LARGEFILE`, which `open()` adds to every file's flags on a 64-bit kernel
/// (`force_o_largefile()`) and fdinfo shows (`arch/*/include/uapi/asm/fcntl.h`); libc calls it
/// 0 on 64-bit targets.
pub const KERNEL_O_LARGEFILE: i32 = if cfg!(target_arch = "aarch64") {
    0o400000
} else if cfg!(target_arch = "powerpc64") {
    0o200000
} else if cfg!(target_arch = "mips64") {
    0o20000
} else if cfg!(target_arch = "sparc64") {
    0o1000000
} else {
    // asm-generic (x86_64, riscv64, loongarch64, s390x).
    0o100000
};

/// Calls `check` every few milliseconds until it says `true` or `timeout` passes; then fails
/// with `what` and the last state `check` described.
pub fn poll_until(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> CaseResult<Result<(), String>>,
) -> CaseResult {
    let end = Instant::now() + timeout;
    loop {
        let last = match check()? {
            Ok(()) => return Ok(()),
            Err(state) => state,
        };
        if Instant::now() >= end {
            return Err(CaseError::Fail(format!(
                "timed out after {timeout:?} waiting for {what}: {last}"
            )));
        }
        std::thread::sleep(POLL_STEP);
    }
}
/// The effective uid.
pub fn geteuid() -> u32 {
    // SAFETY: cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The uapi file's hand-encoded numbers are the ones `nix` computes for this architecture.
    #[test]
    fn uapi_ioctl_numbers_match_nix() {
        assert_eq!(uapi::COMPLETE_IOC_COMPLETE_ALL, IOC_COMPLETE_ALL);
        assert_eq!(uapi::COMPLETE_IOC_REINIT, IOC_REINIT);
        assert_eq!(uapi::COMPLETE_IOC_STATUS, IOC_STATUS);
    }
}
