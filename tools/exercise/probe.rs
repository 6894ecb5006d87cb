// SPDX-License-Identifier: GPL-2.0
//! `cdprobe`: what busybox cannot show the exercise grader (tools/guest/exercise.sh): the errno
//! of one `read()` (after a signal with or without `SA_RESTART`) and of one `ioctl()`.
//!
//! ```text
//! cdprobe read PATH restart|norestart   # prints "read=N ms=T signals=S" or "errno=NAME ms=T ..."
//! cdprobe ioctl PATH CMD                # CMD in hex; prints "ioctl=N" or "errno=NAME"
//! cdprobe dfl CMD ARGS...               # CMD with SIGINT and SIGQUIT at their default action
//! ```
//!
//! `dfl` is for Ctrl-C: a non-interactive shell starts its background commands with SIGINT
//! ignored, so a `kill -INT` would not end a `cat` it started.
//!
//! Built by tools/exercise.sh with `rustc` alone (std and libc, no crates), static.

use std::{
    ffi::CString,
    io::Write,
    os::raw::{c_char, c_int, c_long, c_ulong, c_void},
    os::unix::process::CommandExt,
    process::ExitCode,
    sync::atomic::{AtomicU32, Ordering},
    time::Instant,
};

const O_RDWR: c_int = 2;
const SIGINT: c_int = 2;
const SIGQUIT: c_int = 3;
const SIGUSR1: c_int = 10;
/// C `SIG_DFL`.
const SIG_DFL: usize = 0;

extern "C" {
    fn open(path: *const c_char, flags: c_int, ...) -> c_int;
    fn read(fd: c_int, buf: *mut c_void, n: usize) -> isize;
    fn ioctl(fd: c_int, req: c_ulong, ...) -> c_int;
    /// `handler`: a `sighandler_t`, a function's address or `SIG_DFL`.
    fn signal(sig: c_int, handler: usize) -> usize;
    fn siginterrupt(sig: c_int, flag: c_int) -> c_int;
}

static SIGNALS: AtomicU32 = AtomicU32::new(0);

extern "C" fn on_signal(_sig: c_int) {
    SIGNALS.fetch_add(1, Ordering::Relaxed);
}

fn errno_name(e: i32) -> String {
    match e {
        4 => "EINTR".into(),
        11 => "EAGAIN".into(),
        16 => "EBUSY".into(),
        22 => "EINVAL".into(),
        25 => "ENOTTY".into(),
        110 => "ETIMEDOUT".into(),
        512 => "ERESTARTSYS".into(),
        n => format!("E{n}"),
    }
}

fn last_errno() -> String {
    errno_name(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
}

fn open_dev(path: &str) -> Result<c_int, String> {
    let c = CString::new(path).map_err(|_| format!("bad path {path:?}"))?;
    // SAFETY: `c` is a NUL-terminated string that outlives the call.
    let fd = unsafe { open(c.as_ptr(), O_RDWR) };
    if fd < 0 {
        return Err(format!("open {path}: {}", last_errno()));
    }
    Ok(fd)
}

fn run(args: &[String]) -> Result<(), String> {
    match args {
        [cmd, path, mode] if cmd == "read" => {
            // SAFETY: `on_signal` only touches an atomic: async-signal-safe.
            unsafe {
                signal(SIGUSR1, on_signal as extern "C" fn(c_int) as usize);
                siginterrupt(SIGUSR1, c_int::from(mode == "norestart"));
            }
            let fd = open_dev(path)?;
            println!("ready");
            let _ = std::io::stdout().flush();
            let mut buf = [0u8; 1];
            let t0 = Instant::now();
            // SAFETY: `buf` is valid for 1 byte of writes for the whole call.
            let n = unsafe { read(fd, buf.as_mut_ptr().cast(), 1) };
            let res = if n < 0 {
                format!("errno={}", last_errno())
            } else {
                format!("read={n}")
            };
            println!(
                "{res} ms={} signals={}",
                t0.elapsed().as_millis(),
                SIGNALS.load(Ordering::Relaxed)
            );
            Ok(())
        }
        [cmd, path, req] if cmd == "ioctl" => {
            let req = c_ulong::from_str_radix(req.trim_start_matches("0x"), 16)
                .map_err(|_| format!("not a hex ioctl number: {req}"))?;
            let fd = open_dev(path)?;
            // SAFETY: the exercises' ioctls take no argument; 0 is passed and never read.
            let r = unsafe { ioctl(fd, req, 0 as c_long) };
            if r < 0 {
                println!("errno={}", last_errno());
            } else {
                println!("ioctl={r}");
            }
            Ok(())
        }
        [cmd, prog, rest @ ..] if cmd == "dfl" => {
            // SAFETY: restoring the default action of two signals has no precondition.
            unsafe {
                signal(SIGINT, SIG_DFL);
                signal(SIGQUIT, SIG_DFL);
            }
            let e = std::process::Command::new(prog).args(rest).exec();
            Err(format!("exec {prog}: {e}"))
        }
        _ => Err(
            "usage: cdprobe read PATH restart|norestart | ioctl PATH HEXCMD | dfl CMD ARGS..."
                .into(),
        ),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cdprobe: {e}");
            ExitCode::from(2)
        }
    }
}
