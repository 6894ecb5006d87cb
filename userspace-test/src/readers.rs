// SPDX-License-Identifier: GPL-2.0
//! Forked reader processes: each opens `/dev/complete`, makes one `read()`, and reports the
//! outcome back through a shared pipe as one line `pid ret errno elapsed_ns signals`.

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::error::{CaseError, CaseResult, Context};
use crate::sys::{self, Exit};

/// What a reader does about `SIGINT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnSigint {
    /// The default action (the signal kills it).
    Default,
    /// A counting handler without `SA_RESTART`: the read fails with `EINTR`.
    Handler,
    /// A counting handler with `SA_RESTART`: the read restarts.
    HandlerRestart,
}

/// How a reader reads.
#[derive(Clone, Copy, Debug)]
pub struct ReaderOpts {
    /// Open with `O_NONBLOCK`.
    pub nonblock: bool,
    /// The `count` of the read.
    pub len: usize,
    /// Its `SIGINT` disposition.
    pub sigint: OnSigint,
    /// A `SIGALRM` every this many milliseconds during the read (an interval timer), caught by
    /// a counting handler with `SA_RESTART`.
    pub alarm_every_ms: Option<u32>,
    /// Run `SCHED_FIFO` pinned to this CPU: woken, the reader preempts a normal task there at
    /// once (the writer, if pinned there too), before that task logs anything more.
    pub rt_cpu: Option<usize>,
    /// Read `jiffies` ([`sys::jiffies`]) right before the read and right after it.
    pub jiffies: bool,
}

impl Default for ReaderOpts {
    fn default() -> Self {
        Self {
            nonblock: false,
            len: 1,
            sigint: OnSigint::Default,
            alarm_every_ms: None,
            rt_cpu: None,
            jiffies: false,
        }
    }
}

/// What a reader reported after its read returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// The reader's pid.
    pub pid: i32,
    /// `read()`'s return value (-2: the open failed).
    pub ret: i64,
    /// errno when `ret` < 0.
    pub errno: i32,
    /// How long the read took.
    pub elapsed: Duration,
    /// Signals its handler counted.
    pub signals: u32,
    /// `jiffies` right before the read and right after it (0 unless asked, or unreadable).
    pub jiffies: (u64, u64),
}

impl Report {
    /// Parses one report line.
    pub fn parse(line: &str) -> Option<Self> {
        let mut f = line.split_whitespace();
        let r = Report {
            pid: f.next()?.parse().ok()?,
            ret: f.next()?.parse().ok()?,
            errno: f.next()?.parse().ok()?,
            elapsed: Duration::from_nanos(f.next()?.parse().ok()?),
            signals: f.next()?.parse().ok()?,
            jiffies: (f.next()?.parse().ok()?, f.next()?.parse().ok()?),
        };
        f.next().is_none().then_some(r)
    }

    /// The line a reader writes.
    pub fn line(&self) -> String {
        format!(
            "{} {} {} {} {} {} {}\n",
            self.pid,
            self.ret,
            self.errno,
            self.elapsed.as_nanos(),
            self.signals,
            self.jiffies.0,
            self.jiffies.1
        )
    }

    /// The outcome in words: `returned 0` or `failed with EINTR (...)`.
    pub fn outcome(&self) -> String {
        match self.ret {
            -2 => format!("could not open /dev/complete: {}", sys::Errno(self.errno)),
            r if r < 0 => format!("read failed with {}", sys::Errno(self.errno)),
            r => format!("read returned {r}"),
        }
    }

    /// Fails unless the read returned 0.
    pub fn expect_ok(&self) -> CaseResult {
        crate::ensure!(
            self.ret == 0,
            "reader {}: expected read() to return 0, but it {} after {:?}",
            self.pid,
            self.outcome(),
            self.elapsed
        );
        Ok(())
    }

    /// Fails unless the read failed with `errno`.
    pub fn expect_err(&self, errno: i32) -> CaseResult {
        crate::ensure!(
            self.ret == -1 && self.errno == errno,
            "reader {}: expected read() to fail with {}, but it {} after {:?}",
            self.pid,
            sys::Errno(errno).name(),
            self.outcome(),
            self.elapsed
        );
        Ok(())
    }
}

/// The body of a reader child: returns its exit code (0 if the read returned 0).
fn reader_main(tx: i32, opts: ReaderOpts) -> i32 {
    let handler = match opts.sigint {
        OnSigint::Default => Ok(()),
        OnSigint::Handler => sys::install_handler(libc::SIGINT, false),
        OnSigint::HandlerRestart => sys::install_handler(libc::SIGINT, true),
    };
    if handler.is_err() {
        return 4;
    }
    if let Some(ms) = opts.alarm_every_ms {
        if sys::install_handler(libc::SIGALRM, true).is_err() || sys::interval_timer(ms).is_err() {
            return 4;
        }
    }
    if let Some(cpu) = opts.rt_cpu {
        if sys::pin_to_cpu(cpu).is_err() || sys::set_fifo(1).is_err() {
            return 4;
        }
    }
    let flags = libc::O_RDONLY | if opts.nonblock { libc::O_NONBLOCK } else { 0 };
    // Opened before: `jiffies` is read right before and after the read.
    let jiffies_file = || {
        opts.jiffies
            .then(|| sys::JiffiesFile::open().ok())
            .flatten()
    };
    let (before, after) = (jiffies_file(), jiffies_file());
    let jiffies = |f: Option<sys::JiffiesFile>| f.and_then(|f| f.read().ok()).unwrap_or(0);
    let mut jiffies_at = (0, 0);
    let start = Instant::now();
    let (ret, errno, fd) = match sys::open(sys::dev_path(), flags) {
        Err(e) => (-2, e.0, None),
        Ok(fd) => {
            let mut buf = vec![0u8; opts.len.max(1)];
            jiffies_at.0 = jiffies(before);
            // SAFETY: `buf` is valid for writes of at least `opts.len` bytes.
            let r = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), opts.len) };
            let errno = if r < 0 { sys::Errno::last().0 } else { 0 };
            jiffies_at.1 = jiffies(after);
            (r as i64, errno, Some(fd))
        }
    };
    let report = Report {
        pid: sys::getpid(),
        ret,
        errno,
        elapsed: start.elapsed(),
        signals: sys::SIGNALS_SEEN.load(std::sync::atomic::Ordering::SeqCst),
        jiffies: jiffies_at,
    };
    drop(fd);
    if sys::write_fd(tx, report.line().as_bytes()).is_err() {
        return 5;
    }
    if ret == 0 {
        0
    } else {
        1
    }
}

/// The readers of one case and the pipe they report through.
///
/// Dropping it releases every reader still alive: `COMPLETE_ALL` (which also ends D-state
/// sleeps), `SIGCONT`, `SIGKILL`, and reaps them, so the module can be unloaded.
pub struct Readers {
    rx: OwnedFd,
    tx: OwnedFd,
    partial: Vec<u8>,
    queue: VecDeque<Report>,
    /// Pids not yet reaped.
    live: Vec<i32>,
}

impl Readers {
    /// An empty set with a fresh report pipe.
    pub fn new() -> CaseResult<Self> {
        let (rx, tx) = sys::pipe().ctx("pipe2 for reader reports")?;
        Ok(Self {
            rx,
            tx,
            partial: Vec::new(),
            queue: VecDeque::new(),
            live: Vec::new(),
        })
    }

    /// Forks a reader whose comm is `name`; returns its pid.
    pub fn spawn(&mut self, name: &str, opts: ReaderOpts) -> CaseResult<i32> {
        let tx = self.tx.as_raw_fd();
        let pid = sys::fork_child(name, || reader_main(tx, opts))
            .with_ctx(|| format!("fork reader {name}"))?;
        self.live.push(pid);
        Ok(pid)
    }

    /// The next report, waiting up to `timeout`; `None` if none came.
    pub fn next_report(&mut self, timeout: Duration) -> CaseResult<Option<Report>> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(r) = self.queue.pop_front() {
                return Ok(Some(r));
            }
            let left = end.saturating_duration_since(Instant::now());
            let data = sys::read_fd_timeout(self.rx.as_raw_fd(), left).ctx("read report pipe")?;
            self.partial.extend_from_slice(&data);
            while let Some(nl) = self.partial.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.partial.drain(..=nl).collect();
                let text = String::from_utf8_lossy(&line);
                let r = Report::parse(&text)
                    .ok_or_else(|| CaseError::Fail(format!("malformed reader report {text:?}")))?;
                self.queue.push_back(r);
            }
            if self.queue.is_empty() && Instant::now() >= end {
                return Ok(None);
            }
        }
    }

    /// The next report, which must come from `pid` within `timeout`.
    pub fn report_from(&mut self, pid: i32, timeout: Duration, why: &str) -> CaseResult<Report> {
        match self.next_report(timeout)? {
            Some(r) if r.pid == pid => Ok(r),
            Some(r) => Err(CaseError::Fail(format!(
                "{why}: expected reader {pid} to return first, but reader {} did ({})",
                r.pid,
                r.outcome()
            ))),
            None => Err(CaseError::Fail(format!(
                "{why}: reader {pid} did not return within {timeout:?} (state {})",
                sys::proc_state(pid).map_or_else(|e| e, String::from)
            ))),
        }
    }

    /// Fails if any reader has reported (checking for `grace`).
    pub fn expect_silence(&mut self, grace: Duration, why: &str) -> CaseResult {
        if let Some(r) = self.next_report(grace)? {
            crate::bail!(
                "{why}: reader {} returned unexpectedly: {}",
                r.pid,
                r.outcome()
            );
        }
        Ok(())
    }

    /// Reaps `pid`, waiting up to `timeout`.
    pub fn reap(&mut self, pid: i32, timeout: Duration) -> CaseResult<Exit> {
        let st = sys::wait_exit(pid, timeout).with_ctx(|| format!("waitpid({pid})"))?;
        let st = st.ok_or_else(|| {
            CaseError::Fail(format!(
                "reader {pid} did not exit within {timeout:?} (state {})",
                sys::proc_state(pid).map_or_else(|e| e, String::from)
            ))
        })?;
        self.live.retain(|&p| p != pid);
        Ok(st)
    }

    /// Reaps `pid` and fails unless it exited with status 0.
    pub fn reap_ok(&mut self, pid: i32, timeout: Duration) -> CaseResult {
        match self.reap(pid, timeout)? {
            Exit::Code(0) => Ok(()),
            other => Err(CaseError::Fail(format!(
                "reader {pid} ended with {other:?}, expected exit code 0"
            ))),
        }
    }
}

impl Drop for Readers {
    fn drop(&mut self) {
        if self.live.is_empty() {
            return;
        }
        if let Ok(dev) = sys::Dev::open(true) {
            let _ = dev.ioctl(sys::IOC_COMPLETE_ALL, 0);
        }
        for &pid in &self.live {
            let _ = sys::kill(pid, libc::SIGCONT);
            let _ = sys::kill(pid, libc::SIGKILL);
        }
        for pid in std::mem::take(&mut self.live) {
            let _ = sys::wait_exit(pid, Duration::from_secs(10));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_round_trip() {
        let r = Report {
            pid: 42,
            ret: -1,
            errno: libc::EINTR,
            elapsed: Duration::from_millis(300),
            signals: 1,
            jiffies: (4294937296, 4294937301),
        };
        assert_eq!(Report::parse(&r.line()), Some(r));
        assert_eq!(Report::parse("1 2 3"), None);
        assert_eq!(Report::parse("1 2 3 4 5 6"), None);
        assert_eq!(Report::parse("1 2 3 4 5 6 7 8"), None);
    }
}
