// SPDX-License-Identifier: GPL-2.0
//! Thin wrappers over the system calls the cases make: `/dev/complete` itself, processes,
//! signals, pipes, mappings and `/proc`. Every failure carries its errno by name.

use std::ffi::CString;
use std::fmt;
use std::io::{BufRead, BufReader};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::error::{CaseError, CaseResult};
use crate::uapi::{self, CompleteStatus};

/// The device node of the driver.
pub const DEV_PATH: &str = "/dev/complete";

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
            fd: open(DEV_PATH, flags)?,
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

/// The state letter of `/proc/<pid>/stat` (R, S, D, T, Z, ...).
pub fn proc_state(pid: i32) -> Result<char, String> {
    let path = format!("/proc/{pid}/stat");
    let s = std::fs::read_to_string(&path).map_err(|e| format!("read {path}: {e}"))?;
    // The comm may hold spaces and parentheses: the state follows the last ')'.
    s.rfind(')')
        .and_then(|i| s[i + 1..].split_whitespace().next())
        .and_then(|f| f.chars().next())
        .ok_or_else(|| format!("{path}: no state field in {s:?}"))
}

/// The `flags` field (`PF_*`) of `/proc/<pid>/stat`.
pub fn proc_flags(pid: i32) -> Result<u32, String> {
    let path = format!("/proc/{pid}/stat");
    let s = std::fs::read_to_string(&path).map_err(|e| format!("read {path}: {e}"))?;
    // Fields after the comm: state ppid pgrp session tty_nr tpgid flags.
    s.rfind(')')
        .and_then(|i| s[i + 1..].split_whitespace().nth(6))
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| format!("{path}: no flags field in {s:?}"))
}

/// `PF_POSTCOREDUMP` of `include/linux/sched.h`: set first thing in `do_exit()`
/// (`synchronize_group_exit()`), before `PF_EXITING`: the task is exiting.
pub const PF_POSTCOREDUMP: u32 = 0x8;

/// The system call number `pid` is blocked in (`/proc/<pid>/syscall`); `None` when it is
/// running, in none (-1), or the file cannot be read.
pub fn proc_syscall(pid: i32) -> Option<i64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
    s.split_whitespace()
        .next()?
        .parse()
        .ok()
        .filter(|&n: &i64| n >= 0)
}

/// `state X, wchan Y` of a task, for the report of one that hung.
pub fn describe_task(pid: i32) -> String {
    let state = proc_state(pid).map_or_else(|e| e, String::from);
    let wchan =
        std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_else(|e| format!("({e})"));
    format!("state {state}, wchan {wchan}")
}

/// The `key:\tvalue` lines of `/proc/<pid>/fdinfo/<fd>` (`pid` 0 means self).
pub fn fdinfo(pid: i32, fd: RawFd) -> Result<Vec<(String, String)>, String> {
    let path = if pid == 0 {
        format!("/proc/self/fdinfo/{fd}")
    } else {
        format!("/proc/{pid}/fdinfo/{fd}")
    };
    let s = std::fs::read_to_string(&path).map_err(|e| format!("read {path}: {e}"))?;
    Ok(s.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect())
}

/// The whole text of `/proc/<pid>/fdinfo/<fd>` (`pid` 0 means self), byte for byte.
pub fn fdinfo_text(pid: i32, fd: RawFd) -> Result<String, String> {
    let path = if pid == 0 {
        format!("/proc/self/fdinfo/{fd}")
    } else {
        format!("/proc/{pid}/fdinfo/{fd}")
    };
    let b = std::fs::read(&path).map_err(|e| format!("read {path}: {e}"))?;
    String::from_utf8(b).map_err(|e| format!("{path}: not UTF-8: {e}"))
}

/// The descriptor numbers in `pid`'s file table that refer to `path` (from `/proc/<pid>/fd`).
pub fn fds_of(pid: i32, path: &str) -> Result<Vec<RawFd>, String> {
    let dir = format!("/proc/{pid}/fd");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).map_err(|e| format!("read_dir {dir}: {e}"))? {
        let e = e.map_err(|e| format!("read_dir {dir}: {e}"))?;
        // A descriptor closed meanwhile is simply not one of them.
        let Ok(target) = std::fs::read_link(e.path()) else {
            continue;
        };
        if target.as_os_str() == path {
            if let Some(n) = e.file_name().to_str().and_then(|n| n.parse().ok()) {
                out.push(n);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
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

/// The kernel's `jiffies`, from the `timestamp` line of `/proc/schedstat`
/// (`CONFIG_SCHEDSTATS`): the tick count the driver's timeouts are made of.
pub fn jiffies() -> Result<u64, String> {
    JiffiesFile::open()?.read()
}

/// `/proc/schedstat` opened for one [`jiffies`] read. On the sanitizer kernel under TCG the open
/// took about as long as the read (each 0.5 to 3 ms, of a 4 ms jiffy at HZ=250): a caller that
/// needs `jiffies` at an exact moment opens the file before.
pub struct JiffiesFile(std::fs::File);

const SCHEDSTAT: &str = "/proc/schedstat";

impl JiffiesFile {
    /// Opens `/proc/schedstat`.
    pub fn open() -> Result<Self, String> {
        std::fs::File::open(SCHEDSTAT)
            .map(Self)
            .map_err(|e| format!("open {SCHEDSTAT}: {e}"))
    }

    /// `jiffies` now, from the file's second line. Read through a 32-byte buffer: `seq_read`
    /// makes another record (a CPU's statistics) only for a read that asks for more than the
    /// records it has made hold, and the header is 32 bytes while `jiffies` has 10 digits.
    pub fn read(self) -> Result<u64, String> {
        let line = BufReader::with_capacity(32, self.0)
            .lines()
            .nth(1)
            .transpose()
            .map_err(|e| format!("read {SCHEDSTAT}: {e}"))?
            .unwrap_or_default();
        let v = line
            .strip_prefix("timestamp ")
            .ok_or_else(|| format!("{SCHEDSTAT}: line 2 is '{line}', not 'timestamp <jiffies>'"))?;
        v.parse()
            .map_err(|e| format!("{SCHEDSTAT}: 'timestamp {v}': {e}"))
    }
}

/// The calling thread's CPU affinity.
pub fn get_affinity() -> Result<libc::cpu_set_t, Errno> {
    // SAFETY: an all-zero cpu_set_t is a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is valid for writes of its size.
    cvt(unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) })?;
    Ok(set)
}

/// Sets the calling thread's CPU affinity.
pub fn set_affinity(set: &libc::cpu_set_t) -> Result<(), Errno> {
    set_task_affinity(0, set)
}

/// Sets the CPU affinity of task `tid` (0: the calling thread).
fn set_task_affinity(tid: i32, set: &libc::cpu_set_t) -> Result<(), Errno> {
    // SAFETY: `set` is a valid cpu_set_t of that size.
    cvt(unsafe { libc::sched_setaffinity(tid, std::mem::size_of_val(set), set) }).map(|_| ())
}

/// Pins the calling thread to `cpu`.
pub fn pin_to_cpu(cpu: usize) -> Result<(), Errno> {
    pin_task_to_cpu(0, cpu)
}

/// Restricts task `tid` (0: the calling thread) to CPU `cpu`. A kernel thread that was not bound
/// to a CPU (`kthread_bind()`) may be moved too.
pub fn pin_task_to_cpu(tid: i32, cpu: usize) -> Result<(), Errno> {
    // SAFETY: an all-zero cpu_set_t is a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(Errno(libc::EINVAL));
    }
    // SAFETY: `cpu` is below CPU_SETSIZE (checked above), so the bit is inside `set`.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    set_task_affinity(tid, &set)
}

/// Makes the calling thread `SCHED_FIFO` with priority `prio`: it runs as soon as it is woken,
/// ahead of every normal task of its CPU.
pub fn set_fifo(prio: i32) -> Result<(), Errno> {
    set_task_fifo(0, prio)
}

/// Makes task `tid` (0: the calling thread) `SCHED_FIFO` with priority `prio`.
pub fn set_task_fifo(tid: i32, prio: i32) -> Result<(), Errno> {
    let p = libc::sched_param {
        sched_priority: prio,
    };
    // SAFETY: `p` is a valid sched_param.
    cvt(unsafe { libc::sched_setscheduler(tid, libc::SCHED_FIFO, &p) }).map(|_| ())
}

/// The calling thread's id (its pid in the kernel's log lines).
pub fn gettid() -> i32 {
    // SAFETY: gettid cannot fail.
    unsafe { libc::gettid() }
}

/// Names the calling thread (its comm, truncated by the kernel to 15 bytes).
pub fn set_comm(name: &str) -> Result<(), Errno> {
    let c = cstring(name)?;
    // SAFETY: PR_SET_NAME reads a NUL-terminated string.
    cvt(unsafe { libc::prctl(libc::PR_SET_NAME, c.as_ptr() as libc::c_ulong, 0, 0, 0) }).map(|_| ())
}

/// The comm of this process's main thread.
pub fn own_comm() -> Result<String, String> {
    std::fs::read_to_string("/proc/self/comm")
        .map(|s| s.trim_end_matches('\n').to_string())
        .map_err(|e| format!("read /proc/self/comm: {e}"))
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
