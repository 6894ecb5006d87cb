// SPDX-License-Identifier: GPL-2.0
//! The cases: plain functions in one table. A case gets the [`Ctx`] and returns `Ok(())`,
//! a failure or a skip. Adding a case is one function and one row of [`CASES`].
//!
//! A case's name tells its file: the name starts with the name of a file in this directory and
//! `_`, the rest is the function in it (`ioctl_reinit_race` is `ioctl::reinit_race`, in
//! `ioctl.rs`; `io_uring_read` is `io_uring::read`). A failing KTAP line names the file to open.

use std::cell::{RefCell, RefMut};
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{CaseResult, Context};
use crate::kmsg::{Event, Kmsg};
use crate::module;
use crate::sys::{self, Dev};
use crate::uapi::CompleteStatus;

mod fault;
mod file;
mod freezer;
mod io_uring;
mod ioctl;
mod kthread;
mod lifecycle;
mod log;
mod model;
mod nonblock;
mod param;
mod signal;
mod stress;
mod timeout;
mod wait;

/// How long a case waits for anything the driver should do (the VM is emulated and slow).
pub const WAIT: Duration = Duration::from_secs(10);

/// How long a case watches something that must *not* happen.
pub const QUIET: Duration = Duration::from_millis(300);

/// A case function.
pub type CaseFn = fn(&Ctx) -> CaseResult;

/// One row of the table.
pub struct Case {
    /// The KTAP test name.
    pub name: &'static str,
    /// `Some(params)`: the runner loads the module afresh with these parameters before the case
    /// and unloads it after. `None`: the case loads what it needs itself.
    pub params: Option<&'static str>,
    /// The case.
    pub run: CaseFn,
}

/// Every case, in run order.
pub const CASES: &[Case] = &[
    case("wait_sleep_and_wake", Some(""), wait::sleep_and_wake),
    case(
        "wait_uninterruptible_state",
        Some("wait_mode=uninterruptible"),
        wait::uninterruptible_state,
    ),
    case(
        "wait_killable_state",
        Some("wait_mode=killable"),
        wait::killable_state,
    ),
    case("wait_pending_writes", Some(""), wait::pending_writes),
    case("nonblock_read", Some(""), nonblock::read),
    case("wait_fifo_order", Some(""), wait::fifo_order),
    case("wait_comm_printed", Some(""), wait::comm_printed),
    case("stress_threads", Some("verbose=0"), stress::threads),
    case("signal_endings", None, signal::endings),
    case("freezer_cgroup2", None, freezer::cgroup2),
    case("freezer_v1", None, freezer::v1),
    case("timeout_expires", None, timeout::expires),
    case("timeout_jiffies", None, timeout::jiffies),
    case(
        "timeout_last_jiffy",
        Some("timeout_ms=200"),
        timeout::last_jiffy,
    ),
    case("ioctl_complete_all", Some(""), ioctl::complete_all),
    case("ioctl_reinit", Some(""), ioctl::reinit),
    case("ioctl_status", Some(""), ioctl::status),
    case(
        "ioctl_status_fields",
        Some("timeout_ms=3000"),
        ioctl::status_fields,
    ),
    case("ioctl_unknown", Some(""), ioctl::unknown),
    case("file_bad_input", Some(""), file::bad_input),
    case("file_fdinfo", Some(""), file::fdinfo),
    case("file_fdinfo_exact", Some(""), file::fdinfo_exact),
    case("file_ioctl_only", Some(""), file::ioctl_only),
    case("param_verbose", Some("verbose=1"), param::verbose),
    case("lifecycle_unload", None, lifecycle::unload),
    case("file_permissions", Some(""), file::permissions),
    case("param_refused", None, param::refused),
    case("param_accepted", None, param::accepted),
    case("param_sysfs", Some(""), param::sysfs),
    case("param_modinfo", None, param::modinfo),
    case("nonblock_rwf_nowait", Some(""), nonblock::rwf_nowait),
    case(
        "param_pending_max",
        Some("pending_max=3"),
        param::pending_max,
    ),
    case(
        "param_pending_max_zero",
        Some("pending_max=0"),
        param::pending_max_zero,
    ),
    case(
        "param_pending_max_one",
        Some("pending_max=1"),
        param::pending_max_one,
    ),
    case(
        "param_timeout_min",
        Some("timeout_ms=1"),
        param::timeout_min,
    ),
    case(
        "param_timeout_max",
        Some("timeout_ms=3600000"),
        param::timeout_max,
    ),
    case(
        "param_verbose_in_flight",
        Some(""),
        param::verbose_in_flight,
    ),
    case("timeout_signals", Some("timeout_ms=300"), timeout::signals),
    case("ioctl_needs_write", Some(""), ioctl::needs_write),
    case("param_bool_bare", None, param::bool_bare),
    case("ioctl_reinit_race", Some("verbose=0"), ioctl::reinit_race),
    case("kthread_static", None, kthread::kthread_static),
    case("kthread_dynamic", None, kthread::kthread_dynamic),
    case("kthread_onstack", None, kthread::kthread_onstack),
    case("kthread_repeat", None, kthread::kthread_repeat),
    case("kthread_period_zero", None, kthread::kthread_period_zero),
    case(
        "kthread_unload_pending",
        None,
        kthread::kthread_unload_pending,
    ),
    case("kthread_create_fails", None, kthread::kthread_create_fails),
    case(
        "kthread_param_defaults",
        None,
        kthread::kthread_param_defaults,
    ),
    case("kthread_param_edges", None, kthread::kthread_param_edges),
    case("kthread_period_write", None, kthread::kthread_period_write),
    case("kthread_created_pids", None, kthread::kthread_created_pids),
    case("kthread_stop_order", None, kthread::kthread_stop_order),
    case(
        "kthread_stop_cuts_sleep",
        None,
        kthread::kthread_stop_cuts_sleep,
    ),
    case("kthread_stop_prompt", None, kthread::kthread_stop_prompt),
    case(
        "kthread_onstack_create_fails",
        None,
        kthread::kthread_onstack_create_fails,
    ),
    case("model", None, model::model),
    case("model_concurrent", None, model::model_concurrent),
    case(
        "stress_writers_pending_max",
        None,
        stress::writers_pending_max,
    ),
    case("stress_soak", Some("verbose=0"), stress::soak),
    case("fault_injection", None, fault::injection),
    case("io_uring_read", Some(""), io_uring::read),
    case("io_uring_async_read", Some(""), io_uring::async_read),
    case("io_uring_nonblock", Some(""), io_uring::nonblock),
    case("io_uring_write", Some(""), io_uring::write),
    case("io_uring_cancel", None, io_uring::cancel),
    case("io_uring_ends", None, io_uring::ends),
    case("log_levels", None, log::levels),
    case("lifecycle_kmsg_clean", None, lifecycle::kmsg_clean),
];

const fn case(name: &'static str, params: Option<&'static str>, run: CaseFn) -> Case {
    Case { name, params, run }
}

/// The run's options.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Reader threads of `stress_threads`.
    pub readers: usize,
    /// Writer threads of `stress_threads`.
    pub writers: usize,
    /// Writes of `stress_threads`.
    pub writes: usize,
    /// Print the driver's kernel log lines of each case.
    pub verbose: bool,
    /// The module file.
    pub module: PathBuf,
    /// Seed of `model` and `stress_soak` (`None`: from the clock).
    pub seed: Option<u64>,
    /// Proptest cases of `model`.
    pub model_cases: u32,
    /// Most operations in one `model` case.
    pub model_ops: usize,
    /// Most shrink steps of a failing `model` case.
    pub model_shrink: u32,
    /// Runs of `model_concurrent`.
    pub model_runs: u32,
    /// Most seconds spent shrinking a failing `model_concurrent` run.
    pub model_shrink_secs: u32,
    /// Worker threads of `stress_soak`.
    pub soak_workers: usize,
    /// Operations of `stress_soak` in all.
    pub soak_ops: usize,
}

/// What every case gets.
pub struct Ctx {
    /// The options.
    pub opts: Opts,
    kmsg: RefCell<Kmsg>,
}

impl Ctx {
    /// A context reading the kernel log through `kmsg`.
    pub fn new(opts: Opts, kmsg: Kmsg) -> Self {
        Self {
            opts,
            kmsg: RefCell::new(kmsg),
        }
    }

    /// The kernel log reader, positioned at the start of the current case.
    pub fn kmsg(&self) -> RefMut<'_, Kmsg> {
        self.kmsg.borrow_mut()
    }

    /// Reads the new kernel log records and returns the reader.
    pub fn kmsg_now(&self) -> CaseResult<RefMut<'_, Kmsg>> {
        let mut k = self.kmsg();
        k.collect().ctx("read /dev/kmsg")?;
        Ok(k)
    }

    /// Opens `/dev/complete` (blocking).
    pub fn open(&self) -> CaseResult<Dev> {
        Dev::open(false).ctx("open /dev/complete O_RDWR")
    }

    /// Opens `/dev/complete` with `O_NONBLOCK`.
    pub fn open_nb(&self) -> CaseResult<Dev> {
        Dev::open(true).ctx("open /dev/complete O_RDWR|O_NONBLOCK")
    }

    /// Loads the module afresh with `params` (for cases that manage the module themselves).
    pub fn load(&self, params: &str) -> CaseResult {
        module::load_fresh(&self.opts.module, params)
    }

    /// `COMPLETE_IOC_STATUS` on `dev`.
    pub fn status(&self, dev: &Dev) -> CaseResult<CompleteStatus> {
        dev.status().ctx("ioctl(COMPLETE_IOC_STATUS)")
    }

    /// Fails unless STATUS is exactly `want` (nothing to check on a device without STATUS).
    pub fn expect_status(&self, dev: &Dev, want: CompleteStatus, when: &str) -> CaseResult {
        if !sys::has_status() {
            return Ok(());
        }
        let got = self.status(dev)?;
        crate::ensure!(got == want, "STATUS {when}: got {got:?}, expected {want:?}");
        Ok(())
    }

    /// Waits until STATUS shows `n` sleepers (on a device without STATUS, the callers' wait for
    /// each reader's `going to sleep` line and sleeping state stands alone).
    pub fn wait_sleepers(&self, dev: &Dev, n: u64) -> CaseResult {
        if !sys::has_status() {
            return Ok(());
        }
        sys::poll_until(WAIT, &format!("STATUS.sleepers == {n}"), || {
            let s = self.status(dev)?;
            Ok(if s.sleepers == n {
                Ok(())
            } else {
                Err(format!("{s:?}"))
            })
        })
    }

    /// Waits until `pid` sleeps in the driver: its last driver line is `going to sleep` (with no
    /// `awoken`/`gave up` after it) and `/proc/<pid>/stat` shows `state` (S, or D).
    pub fn wait_asleep(&self, pid: i32, state: char) -> CaseResult {
        sys::poll_until(
            WAIT,
            &format!("reader {pid} asleep in state {state}"),
            || {
                let k = self.kmsg_now()?;
                let ev = k.events_of(pid, |e| {
                    matches!(e, Event::Sleep | Event::Awoken | Event::GaveUp(_))
                });
                let logged = matches!(ev.last(), Some((_, d)) if d.event == Event::Sleep);
                let st = sys::proc_state(pid)?;
                Ok(if logged && st == state {
                    Ok(())
                } else {
                    Err(format!(
                        "state {st}, 'going to sleep' logged and pending: {logged}"
                    ))
                })
            },
        )
    }

    /// The driver lines about `pid` that tell of its reads (`going to sleep`, `awoken`, `gave up
    /// waiting`), in order, reading the log first. A `gave up waiting` reason is an errno name
    /// whether or not the kernel has `CONFIG_SYMBOLIC_ERRNAME` (without, it prints `Error(N)`).
    pub fn read_events(&self, pid: i32) -> CaseResult<Vec<Event>> {
        Ok(self
            .kmsg_now()?
            .events_of(pid, |e| {
                matches!(e, Event::Sleep | Event::Awoken | Event::GaveUp(_))
            })
            .into_iter()
            .map(|(_, d)| match d.event {
                Event::GaveUp(why) => Event::GaveUp(errname(&why)),
                e => e,
            })
            .collect())
    }

    /// Counts the driver lines about `pid` that match `pred` (reading the log first).
    pub fn count_events(&self, pid: i32, pred: impl Fn(&Event) -> bool) -> CaseResult<usize> {
        Ok(self.kmsg_now()?.events_of(pid, pred).len())
    }

    /// Waits until the log holds at least `n` driver lines about `pid` matching `pred`.
    pub fn wait_events(
        &self,
        pid: i32,
        n: usize,
        what: &str,
        pred: impl Fn(&Event) -> bool,
    ) -> CaseResult {
        sys::poll_until(
            WAIT,
            &format!("{n} '{what}' kernel log line(s) of pid {pid}"),
            || {
                let got = self.count_events(pid, &pred)?;
                Ok(if got >= n {
                    Ok(())
                } else {
                    Err(format!("{got} so far"))
                })
            },
        )
    }
}

/// Runs `f` with the test pinned to `cpu`, then restores its affinity. Readers made
/// `SCHED_FIFO` on the same CPU ([`crate::readers::ReaderOpts::rt_cpu`]) then run the moment the
/// test wakes them, before the test logs anything more: a line the driver printed after the
/// wake-up would come after the reader's.
pub fn on_cpu<T>(cpu: usize, f: impl FnOnce() -> CaseResult<T>) -> CaseResult<T> {
    let old = sys::get_affinity().ctx("sched_getaffinity")?;
    sys::pin_to_cpu(cpu).with_ctx(|| format!("pin the test to CPU {cpu}"))?;
    let res = f();
    let restored = sys::set_affinity(&old).ctx("restore the test's CPU affinity");
    let v = res?;
    restored?;
    Ok(v)
}

/// Fails unless `res` is the error `errno`.
pub fn expect_errno<T: std::fmt::Debug>(
    res: Result<T, sys::Errno>,
    errno: i32,
    what: &str,
) -> CaseResult {
    match res {
        Err(e) if e.0 == errno => Ok(()),
        Err(e) => crate::bail!("{what}: expected {}, got {e}", sys::Errno(errno).name()),
        Ok(v) => crate::bail!(
            "{what}: expected {}, but it succeeded with {v:?}",
            sys::Errno(errno).name()
        ),
    }
}

/// Fails unless `res` is `Ok(want)`.
pub fn expect_ok<T: std::fmt::Debug + PartialEq>(
    res: Result<T, sys::Errno>,
    want: T,
    what: &str,
) -> CaseResult {
    match res {
        Ok(v) if v == want => Ok(()),
        Ok(v) => crate::bail!("{what}: returned {v:?}, expected {want:?}"),
        Err(e) => crate::bail!("{what}: failed with {e}, expected {want:?}"),
    }
}

/// An error as the kernel logs it (`ERESTARTSYS`, or `Error(512)` without
/// `CONFIG_SYMBOLIC_ERRNAME`), by its name.
pub fn errname(logged: &str) -> String {
    logged
        .strip_prefix("Error(")
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|n| n.parse::<i32>().ok())
        .map_or_else(|| logged.to_string(), |n| sys::Errno(n.abs()).name())
}

/// A STATUS record with every field zero, for `..zero()` in expectations.
pub fn zero() -> CompleteStatus {
    CompleteStatus::default()
}

/// Prefixes a failure of `r` with `what` (e.g. the sub-step of a case).
pub fn within<T>(what: &str, r: CaseResult<T>) -> CaseResult<T> {
    r.map_err(|e| match e {
        crate::error::CaseError::Fail(s) => crate::error::CaseError::Fail(format!("{what}: {s}")),
        skip => skip,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::CASES;

    /// The file a case's name points to: the longest case file name that, with `_`, starts it
    /// (`io_uring_read`: `io_uring`), else its first word (`model`).
    fn file_of(name: &str, files: &BTreeSet<String>) -> String {
        files
            .iter()
            .filter(|f| name.starts_with(&format!("{f}_")))
            .max_by_key(|f| f.len())
            .cloned()
            .unwrap_or_else(|| name.split('_').next().unwrap_or(name).to_string())
    }

    /// The names of the case files (`*.rs` here, without `mod.rs`).
    fn case_files() -> BTreeSet<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cases");
        let entries =
            std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()));
        entries
            .map(|e| e.unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display())))
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let stem = name.strip_suffix(".rs")?.to_string();
                (stem != "mod" && e.path().is_file()).then_some(stem)
            })
            .collect()
    }

    #[test]
    fn every_case_name_starts_with_its_file() {
        let files = case_files();
        for c in CASES {
            let file = file_of(c.name, &files);
            assert!(
                files.contains(&file),
                "case {}: no src/cases/{file}.rs (files: {files:?})",
                c.name
            );
        }
    }

    #[test]
    fn every_case_file_has_a_case() {
        let files = case_files();
        let used: BTreeSet<String> = CASES.iter().map(|c| file_of(c.name, &files)).collect();
        for f in &files {
            assert!(
                used.contains(f),
                "src/cases/{f}.rs: no case name starts with '{f}'"
            );
        }
    }

    #[test]
    fn errnames() {
        assert_eq!(super::errname("Error(512)"), "ERESTARTSYS");
        assert_eq!(super::errname("Error(514)"), "ERESTARTNOHAND");
        assert_eq!(super::errname("ETIMEDOUT"), "ETIMEDOUT");
        assert_eq!(super::errname("Error(x)"), "Error(x)");
    }

    #[test]
    fn case_names_are_unique() {
        let mut seen = BTreeSet::new();
        for c in CASES {
            assert!(seen.insert(c.name), "case {} twice in CASES", c.name);
        }
    }
}
