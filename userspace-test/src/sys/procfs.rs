// SPDX-License-Identifier: GPL-2.0
//! What the cases read in `/proc`: a task's state, flags, blocking system call and wchan
//! (`stat`, `syscall`, `wchan`), a file's fdinfo, the descriptors of a process that refer to a
//! path, and the kernel's `jiffies` (`/proc/schedstat`).

use std::io::{BufRead, BufReader};
use std::os::fd::RawFd;

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

/// The kernel's `jiffies`, from the `timestamp` line of `/proc/schedstat`
/// (`CONFIG_SCHEDSTATS`): the tick count the driver's timeouts are made of.
pub fn jiffies() -> Result<u64, String> {
    JiffiesFile::open()?.read()
}

/// `/proc/schedstat` opened for one [`jiffies`] read. On the sanitizer kernel under TCG the open
/// takes about as long as the read (each 0.5 to 3 ms, of a 4 ms jiffy at HZ=250): a caller that
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
