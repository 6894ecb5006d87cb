// SPDX-License-Identifier: GPL-2.0
//! `/dev/kmsg`: the kernel log, one record per `read()`, and the driver's lines in it.
//!
//! A record is `prio,seq,ts_usec,flags[,...];message\n` followed by optional ` KEY=value`
//! continuation lines; non-printable bytes of the message are escaped as `\xNN`.

use std::os::fd::{AsRawFd, OwnedFd};

use crate::sys::{self, Errno};

/// The prefix `pr_info!` gives every line of the module: its name and `: `.
pub fn driver_prefix() -> &'static str {
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PREFIX.get_or_init(|| format!("{}: ", crate::module::name()))
}

/// One kernel log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Log level (0 = emerg .. 7 = debug).
    pub level: u8,
    /// Sequence number: the order of the records.
    pub seq: u64,
    /// Timestamp in microseconds since boot.
    pub ts_us: u64,
    /// The message, unescaped, without the trailing newline.
    pub msg: String,
}

/// Parses one record as `read()` returns it; `None` if it is malformed.
pub fn parse_record(buf: &[u8]) -> Option<Record> {
    let semi = buf.iter().position(|&b| b == b';')?;
    let header = std::str::from_utf8(&buf[..semi]).ok()?;
    let mut fields = header.split(',');
    let prio: u32 = fields.next()?.parse().ok()?;
    let seq = fields.next()?.parse().ok()?;
    let ts_us = fields.next()?.parse().ok()?;
    let body = &buf[semi + 1..];
    let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    Some(Record {
        level: (prio & 7) as u8,
        seq,
        ts_us,
        msg: unescape(&body[..end]),
    })
}

/// Undoes the `\xNN` escaping of `/dev/kmsg`.
fn unescape(b: &[u8]) -> String {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1] == b'x' {
            let hex = std::str::from_utf8(&b[i + 2..i + 4]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a driver line says a task did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `process P (C) going to sleep`
    Sleep,
    /// `awoken P (C)`
    Awoken,
    /// `process P (C) gave up waiting: ERR`
    GaveUp(String),
    /// `process P (C) awakening the readers...`
    Awakening,
    /// `process P (C) completing all`
    CompleteAll,
    /// `process P (C) reinit`
    Reinit,
    /// `process P (C) refused a write: too many pending completions`
    Refused,
}

/// A driver line about one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverLine {
    /// The task's pid.
    pub pid: i32,
    /// Its comm.
    pub comm: String,
    /// What it did.
    pub event: Event,
}

/// Whether the driver's lines name a task by its pid alone (`process 80 going to sleep`,
/// `awoken 80`), as the kernel's sample does, whose kernel crate has no task `comm`:
/// `COMPLETE_DEV_NO_COMM=1`. Its lines are then read with an empty comm.
fn no_comm() -> bool {
    static NO_COMM: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *NO_COMM.get_or_init(|| std::env::var("COMPLETE_DEV_NO_COMM").as_deref() == Ok("1"))
}

/// A line without comm made one with an empty comm: `process 80 () going to sleep`,
/// `awoken 80 ()`.
fn with_empty_comm(rest: &str) -> Option<String> {
    if let Some(pid) = rest.strip_prefix("awoken ") {
        return pid.parse::<i32>().ok().map(|_| format!("awoken {pid} ()"));
    }
    let (pid, tail) = rest.strip_prefix("process ")?.split_once(' ')?;
    pid.parse::<i32>().ok()?;
    Some(format!("process {pid} () {tail}"))
}

/// Parses a record's message as a driver line about a task; `None` for anything else.
pub fn parse_driver(msg: &str) -> Option<DriverLine> {
    let rest = msg.strip_prefix(driver_prefix())?;
    let filled;
    let rest = if no_comm() {
        filled = with_empty_comm(rest)?;
        filled.as_str()
    } else {
        rest
    };
    if let Some(r) = rest.strip_prefix("awoken ") {
        let (pid, comm) = pid_comm(r, "")?;
        return Some(DriverLine {
            pid,
            comm,
            event: Event::Awoken,
        });
    }
    let r = rest.strip_prefix("process ")?;
    let (pid_s, tail) = r.split_once(' ')?;
    let pid = pid_s.parse().ok()?;
    let tail = tail.strip_prefix('(')?;
    const FIXED: [(&str, Event); 5] = [
        (") going to sleep", Event::Sleep),
        (") awakening the readers...", Event::Awakening),
        (") completing all", Event::CompleteAll),
        (") reinit", Event::Reinit),
        (
            ") refused a write: too many pending completions",
            Event::Refused,
        ),
    ];
    for (suffix, event) in FIXED {
        if let Some(comm) = tail.strip_suffix(suffix) {
            return Some(DriverLine {
                pid,
                comm: comm.to_string(),
                event,
            });
        }
    }
    const GAVE_UP: &str = ") gave up waiting: ";
    let i = tail.rfind(GAVE_UP)?;
    Some(DriverLine {
        pid,
        comm: tail[..i].to_string(),
        event: Event::GaveUp(tail[i + GAVE_UP.len()..].to_string()),
    })
}

/// `P (C)` followed by `suffix`.
fn pid_comm(s: &str, suffix: &str) -> Option<(i32, String)> {
    let s = s.strip_suffix(suffix)?;
    let (pid, comm) = s.split_once(' ')?;
    let comm = comm.strip_prefix('(')?.strip_suffix(')')?;
    Some((pid.parse().ok()?, comm.to_string()))
}

/// Why the log reader could not give every record: a lost record is a failure, never skipped,
/// or a check that a line is absent could pass on a log with holes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KmsgError {
    /// `read()` failed (other than `EAGAIN`, `EINTR`).
    Read(Errno),
    /// `read()` returned `EPIPE`: records were overwritten before we read them.
    Overwritten {
        /// The last sequence number read before, if any.
        after: Option<u64>,
    },
    /// A record's sequence number is not the one after the previous record's.
    Gap {
        /// The sequence number expected.
        want: u64,
        /// The one read.
        got: u64,
    },
    /// A record that does not parse as `prio,seq,ts_usec,flags;message`.
    Unparsable(String),
}

impl std::fmt::Display for KmsgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KmsgError::Read(e) => write!(f, "read(/dev/kmsg): {e}"),
            KmsgError::Overwritten { after: Some(s) } => write!(
                f,
                "records lost: read(/dev/kmsg) gave EPIPE after record {s} (overwritten before \
                 they were read; a bigger log_buf_len keeps them)"
            ),
            KmsgError::Overwritten { after: None } => write!(
                f,
                "records lost: read(/dev/kmsg) gave EPIPE before the first record (overwritten \
                 before they were read; a bigger log_buf_len keeps them)"
            ),
            KmsgError::Gap { want, got } => write!(
                f,
                "records lost: record {got} follows record {} ({} missing)",
                want - 1,
                got.saturating_sub(*want)
            ),
            KmsgError::Unparsable(r) => write!(f, "unparsable /dev/kmsg record {r:?}"),
        }
    }
}

/// Checks that records come without holes: each sequence number the one after the last.
#[derive(Debug, Default, Clone)]
pub struct Sequence {
    /// The sequence number the next record must have (`None`: any, after a mark).
    next: Option<u64>,
}

impl Sequence {
    /// Takes one record as `read()` returned it: parsed, and in sequence.
    pub fn take(&mut self, buf: &[u8]) -> Result<Record, KmsgError> {
        let rec = parse_record(buf).ok_or_else(|| {
            let shown = &buf[..buf.len().min(200)];
            KmsgError::Unparsable(String::from_utf8_lossy(shown).into_owned())
        })?;
        if let Some(want) = self.next {
            if rec.seq != want {
                return Err(KmsgError::Gap { want, got: rec.seq });
            }
        }
        self.next = Some(rec.seq + 1);
        Ok(rec)
    }

    /// `read()` said `EPIPE`.
    pub fn overwritten(&self) -> KmsgError {
        KmsgError::Overwritten {
            after: self.next.map(|n| n - 1),
        }
    }

    /// Forgets the position: the next record may have any sequence number.
    pub fn reset(&mut self) {
        self.next = None;
    }
}

/// A reader of `/dev/kmsg` that keeps the records since its last [`Kmsg::mark`].
pub struct Kmsg {
    fd: OwnedFd,
    seq: Sequence,
    /// The records read since the mark, in order.
    pub records: Vec<Record>,
}

impl Kmsg {
    /// Opens `/dev/kmsg` non-blocking, positioned at the oldest record still in the buffer.
    pub fn open() -> Result<Self, Errno> {
        Ok(Self {
            fd: sys::open("/dev/kmsg", libc::O_RDONLY | libc::O_NONBLOCK)?,
            seq: Sequence::default(),
            records: Vec::new(),
        })
    }

    /// Forgets the kept records and moves to the end of the log: later reads see new records only.
    pub fn mark(&mut self) -> Result<(), Errno> {
        self.records.clear();
        self.seq.reset();
        // SAFETY: plain system call on an owned descriptor.
        sys::cvt(unsafe { libc::lseek(self.fd.as_raw_fd(), 0, libc::SEEK_END) })?;
        Ok(())
    }

    /// Reads every record available now and keeps it. Fails if a record was lost (`EPIPE`, or
    /// a hole in the sequence numbers) or does not parse: the records kept so far stay.
    pub fn collect(&mut self) -> Result<(), KmsgError> {
        let mut buf = vec![0u8; 16384];
        loop {
            // SAFETY: `buf` is valid for writes of its length.
            let r = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if r < 0 {
                match Errno::last().0 {
                    libc::EAGAIN => return Ok(()),
                    libc::EINTR => continue,
                    // The kernel moved our position past the lost records: start over from
                    // there after a mark, but this log has a hole.
                    libc::EPIPE => return Err(self.seq.overwritten()),
                    e => return Err(KmsgError::Read(Errno(e))),
                }
            }
            if r == 0 {
                return Ok(());
            }
            let rec = self.seq.take(&buf[..r as usize])?;
            self.records.push(rec);
        }
    }

    /// The driver lines kept, with their sequence numbers.
    pub fn driver_lines(&self) -> Vec<(u64, DriverLine)> {
        self.records
            .iter()
            .filter_map(|r| parse_driver(&r.msg).map(|d| (r.seq, d)))
            .collect()
    }

    /// The kept driver lines about `pid` that match `pred`, in order.
    pub fn events_of(&self, pid: i32, pred: impl Fn(&Event) -> bool) -> Vec<(u64, DriverLine)> {
        self.driver_lines()
            .into_iter()
            .filter(|(_, d)| d.pid == pid && pred(&d.event))
            .collect()
    }

    /// The kept driver messages about `pid` (without the module prefix), in order.
    pub fn lines_of(&self, pid: i32) -> Vec<String> {
        self.records
            .iter()
            .filter(|r| parse_driver(&r.msg).is_some_and(|d| d.pid == pid))
            .map(|r| r.msg[driver_prefix().len()..].to_string())
            .collect()
    }

    /// The kept messages (driver lines or not) that start with the module's prefix.
    pub fn module_messages(&self) -> Vec<&str> {
        self.records
            .iter()
            .map(|r| r.msg.as_str())
            .filter(|m| m.starts_with(driver_prefix()))
            .collect()
    }

    /// Fails unless the kept log has each of `steps` (the `n`-th line, from 0, of a task with
    /// that event) and in that order, by sequence number: the order the kernel logged them in,
    /// across tasks and CPUs.
    pub fn expect_order(&self, steps: &[Step]) -> Result<(), String> {
        let lines = self.driver_lines();
        let mut prev: Option<(u64, &Step)> = None;
        for step in steps {
            let seq = lines
                .iter()
                .filter(|(_, d)| d.pid == step.pid && d.event == step.event)
                .nth(step.nth)
                .map(|(s, _)| *s)
                .ok_or_else(|| format!("no {step} in the kernel log"))?;
            if let Some((p, before)) = prev {
                if p >= seq {
                    return Err(format!(
                        "{step} (record {seq}) was logged before {before} (record {p}), not after"
                    ));
                }
            }
            prev = Some((seq, step));
        }
        Ok(())
    }
}

/// One line in an order [`Kmsg::expect_order`] checks: the `nth` (from 0) line of `pid` that is
/// `event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The task.
    pub pid: i32,
    /// Which of its lines with this event, from 0.
    pub nth: usize,
    /// The event.
    pub event: Event,
}

/// The `nth` (from 0) line of `pid` that is `event`.
pub fn step(pid: i32, nth: usize, event: Event) -> Step {
    Step { pid, nth, event }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match &self.event {
            Event::Sleep => "'going to sleep'".to_string(),
            Event::Awoken => "'awoken'".to_string(),
            Event::GaveUp(e) => format!("'gave up waiting: {e}'"),
            Event::Awakening => "'awakening the readers...'".to_string(),
            Event::CompleteAll => "'completing all'".to_string(),
            Event::Reinit => "'reinit'".to_string(),
            Event::Refused => "'refused a write'".to_string(),
        };
        write!(f, "{what} #{} of pid {}", self.nth + 1, self.pid)
    }
}

/// Every record still in the kernel's buffer, from the oldest.
pub fn read_whole_log() -> Result<Vec<Record>, KmsgError> {
    let mut k = Kmsg::open().map_err(KmsgError::Read)?;
    k.collect()?;
    Ok(k.records)
}

/// The kernel log patterns that fail a run, shared with `tools/vm-run.sh`; the file's header
/// says how they match.
const LOG_PATTERNS: &str = include_str!("../log-patterns.txt");

/// The patterns of [`LOG_PATTERNS`]: those that report a kernel bug, and the exceptions (`!`).
fn log_patterns() -> (Vec<&'static str>, Vec<&'static str>) {
    let mut bad = Vec::new();
    let mut benign = Vec::new();
    for line in LOG_PATTERNS.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.strip_prefix('!') {
            Some(p) => benign.push(p),
            None => bad.push(line),
        }
    }
    (bad, benign)
}

/// Whether `pat` occurs in `line` where a word starts: at the start, or after a character
/// that is not an ASCII letter, digit or underscore (the `(^|[^[:alnum:]_])` of the shell side).
fn at_word_start(line: &str, pat: &str) -> bool {
    line.char_indices().any(|(i, _)| {
        line[i..].starts_with(pat)
            && line[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'))
    })
}

/// Whether a kernel log line reports a kernel bug (see [`LOG_PATTERNS`]).
pub fn is_bad_line(line: &str) -> bool {
    let (bad, benign) = log_patterns();
    bad.iter().any(|p| at_word_start(line, p)) && !benign.iter().any(|p| at_word_start(line, p))
}

/// The records among `records` that report a kernel bug (see [`is_bad_line`]).
pub fn bad_records(records: &[Record]) -> Vec<&Record> {
    records.iter().filter(|r| is_bad_line(&r.msg)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_without_comm_get_an_empty_one() {
        assert_eq!(
            with_empty_comm("process 80 going to sleep").as_deref(),
            Some("process 80 () going to sleep")
        );
        assert_eq!(
            with_empty_comm("awoken 80").as_deref(),
            Some("awoken 80 ()")
        );
        assert_eq!(
            with_empty_comm("process 79 awakening the readers...").as_deref(),
            Some("process 79 () awakening the readers...")
        );
        assert_eq!(with_empty_comm("loaded: /dev/complete"), None);
        assert_eq!(with_empty_comm("awoken x"), None);
    }

    #[test]
    fn record_with_continuation() {
        let r = parse_record(b"6,1234,5678901,-;complete_dev: awoken 42 (ct-r0)\n SUBSYSTEM=x\n")
            .expect("parses");
        assert_eq!(r.level, 6);
        assert_eq!(r.seq, 1234);
        assert_eq!(r.ts_us, 5678901);
        assert_eq!(r.msg, "complete_dev: awoken 42 (ct-r0)");
    }

    #[test]
    fn record_facility_and_escape() {
        // Facility 1 (user) level 4, extra header field, an escaped tab.
        let r = parse_record(b"12,7,100,c,caller=T1;a\\x09b\n").expect("parses");
        assert_eq!(r.level, 4);
        assert_eq!(r.msg, "a\tb");
    }

    #[test]
    fn malformed_records() {
        assert_eq!(parse_record(b"no header\n"), None);
        assert_eq!(parse_record(b"x,1,2,-;m\n"), None);
        assert_eq!(parse_record(b"6,1;m\n"), None);
    }

    #[test]
    fn sequence_fails_on_a_hole_or_junk() {
        let mut q = Sequence::default();
        assert_eq!(q.take(b"6,10,1,-;a\n").map(|r| r.seq), Ok(10));
        assert_eq!(q.take(b"6,11,2,-;b\n").map(|r| r.seq), Ok(11));
        assert_eq!(
            q.take(b"6,13,3,-;d\n"),
            Err(KmsgError::Gap { want: 12, got: 13 })
        );
        assert_eq!(
            q.overwritten(),
            KmsgError::Overwritten { after: Some(11) },
            "EPIPE after record 11"
        );
        let e = q.take(b"garbage\n").expect_err("junk is an error");
        assert_eq!(e, KmsgError::Unparsable("garbage\n".into()));
        assert!(e.to_string().contains("unparsable"), "{e}");
        assert_eq!(
            KmsgError::Gap { want: 12, got: 15 }.to_string(),
            "records lost: record 15 follows record 11 (3 missing)"
        );
        q.reset();
        assert_eq!(q.overwritten(), KmsgError::Overwritten { after: None });
        assert_eq!(
            q.take(b"6,99,4,-;e\n").map(|r| r.seq),
            Ok(99),
            "any after a reset"
        );
    }

    fn kmsg_with(lines: &[(u64, &str)]) -> Vec<(u64, DriverLine)> {
        lines
            .iter()
            .filter_map(|(s, m)| parse_driver(m).map(|d| (*s, d)))
            .collect()
    }

    #[test]
    fn order_of_steps() {
        let lines = [
            (1, "complete_dev: process 5 (w) awakening the readers..."),
            (2, "complete_dev: awoken 7 (r)"),
            (3, "complete_dev: process 5 (w) awakening the readers..."),
            (4, "complete_dev: awoken 8 (r)"),
        ];
        let recs: Vec<Record> = lines
            .iter()
            .map(|(s, m)| Record {
                level: 6,
                seq: *s,
                ts_us: 0,
                msg: m.to_string(),
            })
            .collect();
        assert_eq!(kmsg_with(&lines).len(), 4);
        let k = Kmsg {
            fd: sys::open("/dev/null", libc::O_RDONLY).expect("open /dev/null"),
            seq: Sequence::default(),
            records: recs,
        };
        let ok = [
            step(5, 0, Event::Awakening),
            step(7, 0, Event::Awoken),
            step(5, 1, Event::Awakening),
            step(8, 0, Event::Awoken),
        ];
        assert_eq!(k.expect_order(&ok), Ok(()));
        let e = k
            .expect_order(&[step(8, 0, Event::Awoken), step(5, 1, Event::Awakening)])
            .expect_err("out of order");
        assert_eq!(
            e,
            "'awakening the readers...' #2 of pid 5 (record 3) was logged before 'awoken' #1 of \
             pid 8 (record 4), not after"
        );
        let e = k
            .expect_order(&[step(9, 0, Event::Awoken)])
            .expect_err("missing");
        assert_eq!(e, "no 'awoken' #1 of pid 9 in the kernel log");
        assert_eq!(k.lines_of(7), vec!["awoken 7 (r)".to_string()]);
    }

    #[test]
    fn log_patterns_union() {
        let (bad, benign) = log_patterns();
        for p in [
            "BUG:",
            "WARNING:",
            "Kernel panic",
            "RCU stall",
            "detected stalls",
            "KASAN",
            "KCSAN",
        ] {
            assert!(bad.contains(&p), "{p} missing from log-patterns.txt");
        }
        assert!(benign.contains(&"Speculative Return Stack Overflow: WARNING: See"));
        // A KCSAN exception names one race, both functions: never KCSAN as a whole.
        for p in benign.iter().filter(|p| p.contains("KCSAN")) {
            let pair = p.strip_prefix("BUG: KCSAN: data-race in ").unwrap_or("");
            let names: Vec<&str> = pair.split(" / ").collect();
            assert!(
                names.len() == 2 && names.iter().all(|n| !n.is_empty() && !n.contains(' ')),
                "KCSAN exception {p:?} does not name two functions"
            );
        }
    }

    #[test]
    fn every_log_pattern_is_caught() {
        let (bad, benign) = log_patterns();
        for p in bad {
            assert!(
                is_bad_line(&format!("[    1.234567] {p} here")),
                "{p} after a timestamp"
            );
            assert!(
                is_bad_line(&format!("{p} at the start")),
                "{p} at the start"
            );
            assert!(is_bad_line(&format!("cpu:{p}")), "{p} after a colon");
            assert!(!is_bad_line(&format!("X{p}")), "{p} inside a word");
            assert!(!is_bad_line(&format!("a_{p}")), "{p} after an underscore");
        }
        for p in benign {
            assert!(!is_bad_line(&format!("[    0.1] {p} x")), "exception {p}");
        }
    }

    #[test]
    fn real_log_lines() {
        for l in [
            "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
            "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100",
            "INFO: task cat:92 blocked for more than 10 seconds.",
            "WARNING: CPU: 0 PID: 1 at kernel/foo.c:10 bar+0x1/0x2",
            "BUG: sleeping function called from invalid context at kernel/sched/completion.c:100",
            "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [sh:1]",
            "BUG: KCSAN: data-race in complete / reinit_completion",
            "BUG: KCSAN: data-race in try_wait_for_completion+0x5c/0xa0",
        ] {
            assert!(is_bad_line(l), "{l}");
        }
        for l in [
            "complete_dev: process 80 (cat) going to sleep",
            "PM: DEBUG: no BUG here",
            "kcsan: enabled early",
            "kcsan: strict mode configured",
            "Speculative Return Stack Overflow: WARNING: See https://kernel.org/doc/html/latest/admin-guide/hw-vuln/srso.html for mitigation options.",
        ] {
            assert!(!is_bad_line(l), "{l}");
        }
    }

    #[test]
    fn driver_lines() {
        let d = |m: &str| parse_driver(m).map(|d| (d.pid, d.comm, d.event));
        assert_eq!(
            d("complete_dev: process 80 (cat) going to sleep"),
            Some((80, "cat".into(), Event::Sleep))
        );
        assert_eq!(
            d("complete_dev: process 79 (sh) awakening the readers..."),
            Some((79, "sh".into(), Event::Awakening))
        );
        assert_eq!(
            d("complete_dev: awoken 80 (my (odd) comm)"),
            Some((80, "my (odd) comm".into(), Event::Awoken))
        );
        assert_eq!(
            d("complete_dev: process 81 (a) b) gave up waiting: ETIMEDOUT"),
            Some((81, "a) b".into(), Event::GaveUp("ETIMEDOUT".into())))
        );
        assert_eq!(
            d("complete_dev: process 5 (x) completing all"),
            Some((5, "x".into(), Event::CompleteAll))
        );
        assert_eq!(
            d("complete_dev: process 5 (x) reinit"),
            Some((5, "x".into(), Event::Reinit))
        );
        assert_eq!(
            d("complete_dev: process 5 (x) refused a write: too many pending completions"),
            Some((5, "x".into(), Event::Refused))
        );
        assert_eq!(d("complete_dev: loaded: /dev/complete, wait_mode=x"), None);
        assert_eq!(d("other: process 1 (a) going to sleep"), None);
        assert_eq!(d("complete_dev: process x (a) going to sleep"), None);
    }
}
