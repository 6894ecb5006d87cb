// SPDX-License-Identifier: GPL-2.0
//! The cases: plain functions in one table. A case gets the [`Ctx`] and returns `Ok(())`,
//! a failure or a skip. Adding a case is one function and one row of [`CASES`].

use std::cell::{RefCell, RefMut};
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{CaseResult, Context};
use crate::kmsg::{Event, Kmsg};
use crate::module;
use crate::sys::{self, Dev};
use crate::uapi::CompleteStatus;

mod basic;
mod faults;
mod input;
mod ioctl;
mod kthread;
mod lifecycle;
mod limits;
mod model;
mod order;
mod signals;
mod soak;
mod stress;
mod timeout;

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
    case("sleep_and_wake", Some(""), basic::sleep_and_wake),
    case(
        "uninterruptible_state",
        Some("wait_mode=uninterruptible"),
        basic::uninterruptible_state,
    ),
    case(
        "killable_state",
        Some("wait_mode=killable"),
        basic::killable_state,
    ),
    case("pending_writes", Some(""), basic::pending_writes),
    case("nonblock", Some(""), basic::nonblock),
    case("fifo_order", Some(""), order::fifo_order),
    case("stress", Some("verbose=0"), stress::stress),
    case("signals", Some(""), signals::signals),
    case("timeout", None, timeout::timeout),
    case("ioctl_complete_all", Some(""), ioctl::complete_all),
    case("ioctl_reinit", Some(""), ioctl::reinit),
    case("ioctl_status", Some(""), ioctl::status),
    case("ioctl_unknown", Some(""), ioctl::unknown),
    case("bad_input", Some(""), input::bad_input),
    case("fdinfo", Some(""), input::fdinfo),
    case("verbose_param", Some("verbose=1"), input::verbose_param),
    case("unload", None, lifecycle::unload),
    case("permissions", Some(""), lifecycle::permissions),
    case("params_refused", None, lifecycle::params_refused),
    case("rwf_nowait", Some(""), limits::rwf_nowait),
    case("pending_max", Some("pending_max=3"), limits::pending_max),
    case(
        "timeout_signals",
        Some("timeout_ms=300"),
        limits::timeout_signals,
    ),
    case("ioctl_needs_write", Some(""), limits::ioctl_needs_write),
    case("bool_param_bare", None, limits::bool_param_bare),
    case("reinit_race", Some("verbose=0"), limits::reinit_race),
    case("kthread_static", None, kthread::kthread_static),
    case("kthread_dynamic", None, kthread::kthread_dynamic),
    case("kthread_onstack", None, kthread::kthread_onstack),
    case("kthread_repeat", None, kthread::kthread_repeat),
    case("kthread_create_fails", None, kthread::kthread_create_fails),
    case("model", None, model::model),
    case("soak", Some("verbose=0"), soak::soak),
    case("fault_injection", None, faults::fault_injection),
    case("kmsg_clean", None, lifecycle::kmsg_clean),
];

const fn case(name: &'static str, params: Option<&'static str>, run: CaseFn) -> Case {
    Case { name, params, run }
}

/// The run's options.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Reader threads of `stress`.
    pub readers: usize,
    /// Writer threads of `stress`.
    pub writers: usize,
    /// Writes of `stress`.
    pub writes: usize,
    /// Print the driver's kernel log lines of each case.
    pub verbose: bool,
    /// The module file.
    pub module: PathBuf,
    /// Seed of `model` and `soak` (`None`: from the clock).
    pub seed: Option<u64>,
    /// Proptest cases of `model`.
    pub model_cases: u32,
    /// Most operations in one `model` case.
    pub model_ops: usize,
    /// Most shrink steps of a failing `model` case.
    pub model_shrink: u32,
    /// Worker threads of `soak`.
    pub soak_workers: usize,
    /// Operations of `soak` in all.
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

    /// Fails unless STATUS is exactly `want`.
    pub fn expect_status(&self, dev: &Dev, want: CompleteStatus, when: &str) -> CaseResult {
        let got = self.status(dev)?;
        crate::ensure!(got == want, "STATUS {when}: got {got:?}, expected {want:?}");
        Ok(())
    }

    /// Waits until STATUS shows `n` sleepers.
    pub fn wait_sleepers(&self, dev: &Dev, n: u64) -> CaseResult {
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
