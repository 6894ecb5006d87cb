// SPDX-License-Identifier: GPL-2.0

//! From a console log to events: the `dmesg` lines of the modules, read as what a task did.
//!
//! The input is the serial console a demo VM run leaves in `build/logs/`: the transcript, then
//! the whole kernel log between the `--- guest kernel log ---` markers, one `[  secs.usecs] text`
//! line per record, in the order the kernel stored the records (which is not always the order of
//! their timestamps on SMP). Only the dump is read, so the lines the transcript repeats are not
//! counted twice; a file without the markers (plain `dmesg` output) is read whole.
//!
//! Lines of other modules, of the kernel and of the modules that this tool does not know are
//! skipped, so a driver that grows a new log line does not break the picture.

/// The marker line before the kernel log dump (tools/guest/init).
const DUMP_BEGIN: &str = "--- guest kernel log ---";
/// The marker line after it.
const DUMP_END: &str = "--- end of guest kernel log ---";

/// Who a line is about: the key of a lane.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Who {
    /// A task the driver names with its pid and comm (`process 80 (cat) ...`).
    Task {
        /// Its pid.
        pid: i32,
        /// Its comm.
        comm: String,
    },
    /// A kernel thread the module names only by its comm (`ckt_waiter: ...`); its pid comes from
    /// another line ([`What::Pid`]), if any.
    Thread(String),
}

/// What a line says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// The module was loaded: a new panel of the picture, with this title.
    Load(String),
    /// The thread's pid, logged when it was created.
    Pid(i32),
    /// The task starts to wait on the completion.
    Sleep,
    /// The task's wait ended because of a completion; `again`: it waits again at once (the
    /// kthread's loop), without a line of its own.
    Woken {
        /// Whether the task waits again at once.
        again: bool,
    },
    /// The task's wait ended without a completion: a signal, a timeout.
    GaveUp(String),
    /// The task called `complete()`: a `write()` or the kthread worker's tick.
    Complete,
    /// The task called `complete_all()`.
    CompleteAll,
    /// The task called `reinit_completion()`.
    Reinit,
    /// The thread stopped.
    Stopped,
}

/// One event of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Seconds since boot, from the line's timestamp.
    pub t: f64,
    /// The lane it belongs to; `None` for [`What::Load`].
    pub who: Option<Who>,
    /// What happened.
    pub what: What,
}

/// The events of every known module line in `log`, in the order of the log.
pub fn events(log: &str) -> Vec<Event> {
    dump(log)
        .filter_map(stamped)
        .filter_map(|(t, text)| {
            let (who, what) = known(text)?;
            Some(Event { t, who, what })
        })
        .collect()
}

/// The kernel log lines of `log`: the dump between the markers, or every line without them.
fn dump(log: &str) -> impl Iterator<Item = &str> {
    let lines = log.lines().map(|l| l.trim_end_matches('\r'));
    let marked = log.lines().any(|l| l.trim_end() == DUMP_BEGIN);
    let mut inside = !marked;
    lines.filter(move |l| {
        if marked && *l == DUMP_BEGIN {
            inside = true;
            return false;
        }
        if marked && *l == DUMP_END {
            inside = false;
        }
        inside
    })
}

/// `[  12.345678] text` as (seconds, text); `None` for a line without a timestamp.
fn stamped(line: &str) -> Option<(f64, &str)> {
    let (stamp, text) = line.strip_prefix('[')?.split_once("] ")?;
    Some((stamp.trim().parse().ok()?, text))
}

/// A line of a module this tool knows, as lane and event; `None` for any other line.
fn known(text: &str) -> Option<(Option<Who>, What)> {
    if let Some(msg) = text.strip_prefix("complete_dev: ") {
        return device_line(msg);
    }
    if let Some(msg) = text.strip_prefix("complete_kthread: ") {
        return kthread_line(msg);
    }
    None
}

/// What `complete_dev` logs about a task, by the end of the line after `process P (C`.
const DEVICE_TAILS: [(&str, What); 4] = [
    (") going to sleep", What::Sleep),
    (") awakening the readers...", What::Complete),
    (") completing all", What::CompleteAll),
    (") reinit", What::Reinit),
];

/// The tail of a `process P (C) gave up waiting: ERR` line, before the error.
const GAVE_UP: &str = ") gave up waiting: ";

/// A `complete_dev` message (without the module prefix).
fn device_line(msg: &str) -> Option<(Option<Who>, What)> {
    if let Some(params) = msg.strip_prefix("loaded: /dev/complete, ") {
        return Some((None, What::Load(format!("complete_dev: {params}"))));
    }
    if let Some(task) = msg.strip_prefix("awoken ") {
        let who = task_of(task.strip_suffix(')')?)?;
        return Some((Some(who), What::Woken { again: false }));
    }
    let task = msg.strip_prefix("process ")?;
    for (tail, what) in DEVICE_TAILS {
        if let Some(head) = task.strip_suffix(tail) {
            return Some((Some(task_of(head)?), what));
        }
    }
    // The comm may hold anything, ") gave up waiting: " too: the last one is the driver's.
    let at = task.rfind(GAVE_UP)?;
    let why = task[at + GAVE_UP.len()..].to_string();
    Some((Some(task_of(&task[..at])?), What::GaveUp(why)))
}

/// `P (C` (the closing parenthesis already cut off) as a task.
fn task_of(head: &str) -> Option<Who> {
    let (pid, comm) = head.split_once(" (")?;
    Some(Who::Task {
        pid: pid.parse().ok()?,
        comm: comm.to_string(),
    })
}

/// A `complete_kthread` message (without the module prefix).
fn kthread_line(msg: &str) -> Option<(Option<Who>, What)> {
    if let Some(params) = msg.strip_prefix("loading: ") {
        return Some((None, What::Load(format!("complete_kthread: {params}"))));
    }
    if let Some(created) = msg.strip_prefix("created ") {
        // `created ckt_waiter (pid 61)`
        let (name, pid) = created.strip_suffix(')')?.split_once(" (pid ")?;
        return Some((Some(thread(name)), What::Pid(pid.parse().ok()?)));
    }
    // `ckt_waiter stopped after 3 wake-ups`: module init stopping the waiter on a failure.
    if let Some(name) = msg
        .split_once(" stopped after ")
        .or_else(|| msg.split_once(" stopped before "))
        .map(|(name, _)| name)
        .filter(|name| !name.contains(' '))
    {
        return Some((Some(thread(name)), What::Stopped));
    }
    let (name, said) = msg.split_once(": ")?;
    let what = if said.starts_with("waiting on ") {
        What::Sleep
    } else if said.starts_with("woken #") {
        What::Woken { again: true }
    } else if said.starts_with("complete #") {
        What::Complete
    } else if said.starts_with("stopping after ") {
        What::Stopped
    } else {
        return None;
    };
    Some((Some(thread(name)), what))
}

/// The lane key of a kernel thread.
fn thread(name: &str) -> Who {
    Who::Thread(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(pid: i32, comm: &str) -> Option<Who> {
        Some(Who::Task {
            pid,
            comm: comm.to_string(),
        })
    }

    #[test]
    fn device_lines() {
        let cases = [
            (
                "process 80 (cat) going to sleep",
                task(80, "cat"),
                What::Sleep,
            ),
            (
                "awoken 80 (cat)",
                task(80, "cat"),
                What::Woken { again: false },
            ),
            (
                "process 79 (sh) awakening the readers...",
                task(79, "sh"),
                What::Complete,
            ),
            (
                "process 7 (a) b) gave up waiting: ERESTARTSYS",
                task(7, "a) b"),
                What::GaveUp("ERESTARTSYS".into()),
            ),
            (
                "process 9 (t) completing all",
                task(9, "t"),
                What::CompleteAll,
            ),
            ("process 9 (t) reinit", task(9, "t"), What::Reinit),
        ];
        for (msg, who, what) in cases {
            assert_eq!(device_line(msg), Some((who, what)), "{msg}");
        }
        for unknown in [
            "process 79 (sh) refused a write",
            "process x (sh) going to sleep",
            "awoken 80 cat",
            "unloaded",
        ] {
            assert_eq!(device_line(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn only_the_dump_is_read() {
        let log = "\
  [7.04] $ cat /dev/complete & r1=$!\r
        kernel: [    7.143414] complete_dev: process 92 (cat) going to sleep\r
[    6.000000] complete_dev: process 1 (x) going to sleep\r
--- guest kernel log ---\r
[    0.000000] Linux version 7.3\r
[    7.143414] complete_dev: process 92 (cat) going to sleep\r
[    7.2] complete_kthread: ckt_waiter: woken #1\r
--- end of guest kernel log ---\r
[    8.000000] complete_dev: process 2 (y) going to sleep\r
";
        let ev = events(log);
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert_eq!(ev[0].t, 7.143414);
        assert_eq!(ev[0].who, task(92, "cat"));
        assert_eq!(ev[1].what, What::Woken { again: true });
        // Without markers, every stamped line counts.
        assert_eq!(events("[ 1.5] complete_dev: awoken 3 (cat)\n").len(), 1);
    }

    #[test]
    fn kthread_lines() {
        let waiter = Some(Who::Thread("ckt_waiter".into()));
        let worker = Some(Who::Thread("ckt_worker".into()));
        let cases = [
            (
                "loading: variant=static period_ms=250",
                None,
                What::Load("complete_kthread: variant=static period_ms=250".into()),
            ),
            ("created ckt_waiter (pid 61)", waiter.clone(), What::Pid(61)),
            (
                "ckt_waiter: waiting on the static completion",
                waiter.clone(),
                What::Sleep,
            ),
            ("ckt_worker: complete #1", worker.clone(), What::Complete),
            (
                "ckt_waiter: woken #1",
                waiter.clone(),
                What::Woken { again: true },
            ),
            (
                "ckt_waiter: stopping after 2 wake-ups",
                waiter.clone(),
                What::Stopped,
            ),
            ("ckt_waiter stopped after 0 wake-ups", waiter, What::Stopped),
            (
                "ckt_worker: stopping after 2 completions",
                worker,
                What::Stopped,
            ),
        ];
        for (msg, who, what) in cases {
            assert_eq!(kthread_line(msg), Some((who, what)), "{msg}");
        }
        for unknown in [
            "unloading (static): stopping ckt_waiter",
            "ckt_waiter: ckt_worker stopped, Ok(2) completions",
            "loaded: variant=static",
            "ckt_waiter not created (error -12)",
            "ckt_worker not created (error -12): stopping ckt_waiter",
        ] {
            assert_eq!(kthread_line(unknown), None, "{unknown}");
        }
    }
}
