// SPDX-License-Identifier: GPL-2.0
//! The `model` case: random operation sequences against [`oracle`], with
//! `proptest-state-machine` drawing them and shrinking a failure to the shortest sequence.
//!
//! Each proptest case loads the module with the parameters the model drew, then runs its
//! operations one at a time: after each one the driver is left to settle (woken readers report,
//! restarted ones sleep again), and the return value, the sleepers that returned (which ones, in
//! FIFO order, with what), STATUS, every open file's fdinfo and the driver's log lines since the
//! previous operation must equal the model's prediction. Case `i` of a run with seed `S` uses
//! seed `S + i`, so `complete_dev model --seed S+i --model-cases 1` replays a failure.

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use proptest::test_runner::{Config, RngSeed, TestError, TestRunner};
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest};

use super::{Ctx, WAIT};
use crate::error::{CaseError, CaseResult};
use crate::kmsg::{Event, Kmsg};
use crate::module;
use crate::readers::{ReaderOpts, Readers};
use crate::sys::{self, Errno, Exit};
use crate::uapi::{self, CompleteStatus};
use oracle::{End, Line, Model, Op, Prediction, Reference, Who};

mod concurrent;
mod linearizability;
mod oracle;

pub use concurrent::model_concurrent;

/// The writable parameter the `Verbose` operation writes.
const VERBOSE: &str = "/sys/module/complete_dev/parameters/verbose";

/// An ioctl command the driver does not know (type 0xC9, number 0x7f, no direction or size).
const UNKNOWN_IOCTL: u32 = (uapi::COMPLETE_IOC_MAGIC << 8) | 0x7f;

/// What `init_test` needs and cannot be passed through the state machine traits.
#[derive(Clone)]
struct Env {
    module: PathBuf,
}

thread_local! {
    static ENV: std::cell::RefCell<Option<Env>> = const { std::cell::RefCell::new(None) };
}

/// Stops the current proptest case with `msg` (the runner turns the panic into a failure).
fn fail(msg: String) -> ! {
    std::panic::panic_any(msg)
}

/// Unwraps a case result inside the state machine, failing the proptest case on error.
fn or_fail<T>(r: CaseResult<T>) -> T {
    r.unwrap_or_else(|e| match e {
        CaseError::Fail(s) | CaseError::Skip(s) => fail(s),
    })
}

/// The driver side of the state machine.
pub struct Driver {
    /// The model before the next operation.
    model: Model,
    /// The parent's open files, in the model's order.
    files: Vec<OwnedFd>,
    /// The forked sleepers and their report pipe.
    readers: Readers,
    /// Spawn number to pid, of every sleeper of this proptest case.
    pids: BTreeMap<u32, i32>,
    /// The kernel log, for the driver's lines.
    kmsg: Kmsg,
    /// The last kernel log record already compared.
    seen: u64,
    /// The test's own pid (its driver lines are [`Who::Parent`]).
    me: i32,
    /// Where the module file is.
    env: Env,
    /// Bytes for writes (the largest length drawn).
    buf: Vec<u8>,
}

impl Driver {
    /// Loads the module as `model` says and starts reading the log.
    fn load(model: &Model, env: Env) -> CaseResult<Self> {
        let mut kmsg = Kmsg::open().map_err(|e| format!("open /dev/kmsg: {e}"))?;
        module::load_fresh(&env.module, &model.params.insmod_args())?;
        kmsg.collect().map_err(|e| format!("read /dev/kmsg: {e}"))?;
        let seen = kmsg.driver_lines().last().map_or(0, |(s, _)| *s);
        Ok(Self {
            model: model.clone(),
            files: Vec::new(),
            readers: Readers::new()?,
            pids: BTreeMap::new(),
            kmsg,
            seen,
            me: sys::getpid(),
            env,
            buf: vec![0u8; 1 << 20],
        })
    }

    /// The descriptor of the parent's file number `f`.
    fn raw(&self, f: usize) -> i32 {
        self.files[f].as_raw_fd()
    }

    /// The pid of the sleeper with spawn number `id` (0 if there is none).
    fn pid_of(&self, id: u32) -> i32 {
        self.pids.get(&id).copied().unwrap_or(0)
    }

    /// Runs `op` on the driver; the system call's result where there is one.
    ///
    /// `pre` is the model before the operation: sleeper operations name the sleeper by its place
    /// there, and a spawn takes its next spawn number.
    fn exec(&mut self, op: &Op, pre: &Model) -> CaseResult<Option<Result<i64, i32>>> {
        let sleeper = |i: usize| self.pid_of(pre.sleepers.get(i).map_or(u32::MAX, |s| s.id));
        let kill = |pid: i32, sig: i32| {
            sys::kill(pid, sig).map_err(|e| CaseError::Fail(format!("kill({pid}, {sig}): {e}")))
        };
        let r = |v: Result<i64, Errno>| Some(v.map_err(|e| e.0));
        Ok(match *op {
            Op::Open(access, nb) => {
                let flags = access.flags() | if nb { libc::O_NONBLOCK } else { 0 };
                let fd = sys::open(sys::dev_path(), flags).map_err(|e| {
                    CaseError::Fail(format!("open(/dev/complete, {access:?}): {e}"))
                })?;
                self.files.push(fd);
                Some(Ok(0))
            }
            Op::Close(f) => {
                drop(self.files.remove(f));
                Some(Ok(0))
            }
            Op::Read(f, len) => r(self.read(f, len)?),
            Op::ReadNowait(f, len) => {
                let mut buf = [0u8; 4096];
                let iov = libc::iovec {
                    iov_base: buf.as_mut_ptr().cast(),
                    iov_len: len.min(buf.len()),
                };
                // SAFETY: `iov` describes `buf`, valid for writes of its length.
                let n = unsafe { libc::preadv2(self.raw(f), &iov, 1, -1, libc::RWF_NOWAIT) };
                r(sys::cvt(n).map(|n| n as i64))
            }
            Op::Write(f, len) => {
                // SAFETY: `buf` is valid for reads of `len` bytes (at most its length).
                let n = unsafe { libc::write(self.raw(f), self.buf.as_ptr().cast(), len) };
                r(sys::cvt(n).map(|n| n as i64))
            }
            Op::Spawn(sigint) => {
                let id = pre.next_id;
                let opts = ReaderOpts {
                    sigint,
                    ..ReaderOpts::default()
                };
                let pid = self.readers.spawn(&format!("cm-{id}"), opts)?;
                self.pids.insert(id, pid);
                None
            }
            Op::Sigint(i) => kill(sleeper(i), libc::SIGINT).map(|()| None)?,
            Op::Sigkill(i) => kill(sleeper(i), libc::SIGKILL).map(|()| None)?,
            Op::Stop(i) => kill(sleeper(i), libc::SIGSTOP).map(|()| None)?,
            Op::Cont(i) => kill(sleeper(i), libc::SIGCONT).map(|()| None)?,
            Op::StopCont(i) => {
                kill(sleeper(i), libc::SIGSTOP)?;
                kill(sleeper(i), libc::SIGCONT).map(|()| None)?
            }
            Op::CompleteAll(f) => r(ioctl(self.raw(f), uapi::COMPLETE_IOC_COMPLETE_ALL, 0)),
            Op::Reinit(f) => r(ioctl(self.raw(f), uapi::COMPLETE_IOC_REINIT, 0)),
            Op::Unknown(f) => r(ioctl(self.raw(f), UNKNOWN_IOCTL, 0)),
            Op::Status(f) => {
                let got = status(self.raw(f)).map_err(|e| format!("STATUS on file {f}: {e}"))?;
                let want = self.model.status();
                crate::ensure!(
                    got == want,
                    "STATUS on file {f}: got {got:?}, expected {want:?}"
                );
                Some(Ok(0))
            }
            Op::Verbose(v) => {
                std::fs::write(VERBOSE, if v { "1" } else { "0" })
                    .map_err(|e| format!("write {VERBOSE}: {e}"))?;
                Some(Ok(0))
            }
            Op::Rmmod => match module::unload() {
                Ok(()) => {
                    module::wait_node(false)?;
                    module::load_fresh(&self.env.module, &self.model.params.insmod_args())?;
                    Some(Ok(0))
                }
                Err(e) => Some(Err(e.0)),
            },
        })
    }

    /// A read on a parent file. A blocking read is only drawn when the model says it returns at
    /// once; should the driver sleep anyway, the read has hung: after [`WAIT`] a watchdog notes
    /// the reading thread's state and wchan, and only then releases it with `COMPLETE_ALL` so
    /// that the run can go on to report the hang as a failure (never as the read's result).
    fn read(&self, f: usize, len: usize) -> CaseResult<Result<i64, Errno>> {
        let mut buf = [0u8; 4096];
        let len = len.min(buf.len());
        let (tx, rx) = mpsc::channel::<()>();
        // SAFETY: gettid has no memory effects.
        let tid = unsafe { libc::gettid() };
        let hung = std::thread::scope(|s| {
            let watchdog = s.spawn(move || {
                if rx.recv_timeout(WAIT) != Err(mpsc::RecvTimeoutError::Timeout) {
                    return None;
                }
                let task = format!("/proc/self/task/{tid}");
                let state = std::fs::read_to_string(format!("{task}/stat"))
                    .ok()
                    .and_then(|st| {
                        let i = st.rfind(')')?;
                        st[i + 1..].split_whitespace().next().map(String::from)
                    })
                    .unwrap_or_else(|| "unknown".into());
                let wchan = std::fs::read_to_string(format!("{task}/wchan"))
                    .unwrap_or_else(|e| format!("({e})"));
                if let Ok(fd) = sys::open(sys::dev_path(), libc::O_WRONLY | libc::O_NONBLOCK) {
                    let _ = ioctl(fd.as_raw_fd(), uapi::COMPLETE_IOC_COMPLETE_ALL, 0);
                }
                Some(format!("state {state}, wchan {wchan}"))
            });
            // SAFETY: `buf` is valid for writes of `len` bytes.
            let n = unsafe { libc::read(self.raw(f), buf.as_mut_ptr().cast(), len) };
            let res = sys::cvt(n).map(|n| n as i64);
            drop(tx);
            (res, watchdog.join().ok().flatten())
        });
        match hung {
            (_, Some(how)) => Err(CaseError::Fail(format!(
                "the blocking read on file {f} (the test itself, pid {}, thread {tid}) did not \
                 return within {WAIT:?}, though the model says it returns at once: it hung in \
                 {how} (released by COMPLETE_ALL only to report this)",
                self.me
            ))),
            (res, None) => Ok(res),
        }
    }

    /// Waits for the sleepers that end in this operation and checks how they ended.
    fn check_ended(&mut self, p: &Prediction) -> CaseResult {
        let mut want: BTreeMap<i32, (u32, End)> = p
            .ended
            .iter()
            .map(|&(id, end)| (self.pid_of(id), (id, end)))
            .collect();
        let readers: Vec<(i32, u32, End)> = want
            .iter()
            .filter(|(_, (_, e))| matches!(e, End::Read { .. }))
            .map(|(&pid, &(id, e))| (pid, id, e))
            .collect();
        for _ in &readers {
            let Some(r) = self.readers.next_report(WAIT)? else {
                let left: Vec<String> = want
                    .iter()
                    .map(|(&pid, (id, _))| {
                        format!("sleeper {id} (pid {pid}, {})", sys::describe_task(pid))
                    })
                    .collect();
                crate::bail!("did not return within {WAIT:?}: {}", left.join("; "));
            };
            let Some((id, End::Read { res, signals })) = want.remove(&r.pid) else {
                crate::bail!(
                    "{} returned ({}, handler ran {}), but the model expected {}",
                    self.who(r.pid),
                    r.outcome(),
                    r.signals,
                    expected_wakes(p)
                );
            };
            let got = if r.ret == 0 { Ok(()) } else { Err(r.errno) };
            crate::ensure!(
                r.ret <= 0 && got == res && r.signals == signals,
                "sleeper {id} (pid {}) {} with {} handler runs, expected {} with {signals}",
                r.pid,
                r.outcome(),
                r.signals,
                match res {
                    Ok(()) => "read returned 0".to_string(),
                    Err(e) => format!("read failed with {}", Errno(e).name()),
                }
            );
            self.reap(
                r.pid,
                id,
                if res.is_ok() {
                    Exit::Code(0)
                } else {
                    Exit::Code(1)
                },
            )?;
        }
        for (pid, (id, end)) in want {
            let End::Died(sig) = end else { continue };
            self.reap(pid, id, Exit::Signal(sig))?;
        }
        if let Some(r) = self.readers.next_report(Duration::ZERO)? {
            crate::bail!(
                "{} returned ({}), but the model expected {}",
                self.who(r.pid),
                r.outcome(),
                expected_wakes(p)
            );
        }
        Ok(())
    }

    /// Reaps sleeper `id` and fails unless it ended as `want`.
    fn reap(&mut self, pid: i32, id: u32, want: Exit) -> CaseResult {
        let got = self.readers.reap(pid, WAIT)?;
        crate::ensure!(
            got == want,
            "sleeper {id} (pid {pid}) ended with {got:?}, expected {want:?}"
        );
        Ok(())
    }

    /// `sleeper N (pid P)`, or `unknown pid P`.
    fn who(&self, pid: i32) -> String {
        match self.pids.iter().find(|(_, &p)| p == pid) {
            Some((id, _)) => format!("sleeper {id} (pid {pid})"),
            None => format!("unknown pid {pid}"),
        }
    }

    /// Checks that STATUS equals the model's, waiting for the sleepers the operation put to
    /// sleep or stopped to be in that state; then compares fdinfo and the log.
    fn check_state(&mut self, p: &Prediction) -> CaseResult {
        let want = self.model.status();
        let asleep = self.model.params.wait_mode.proc_state();
        let mut waits: Vec<(i32, char)> = p
            .settle
            .iter()
            .map(|&id| (self.pid_of(id), asleep))
            .collect();
        if let Some(id) = p.stopped {
            waits.push((self.pid_of(id), 'T'));
        }
        let probe = or_fail(
            sys::open(sys::dev_path(), libc::O_RDONLY)
                .map_err(|e| CaseError::Fail(format!("open for STATUS: {e}"))),
        );
        let check = || -> CaseResult<Result<(), String>> {
            let got = status(probe.as_raw_fd()).map_err(|e| format!("STATUS: {e}"))?;
            if got != want {
                return Ok(Err(format!("STATUS {got:?}, expected {want:?}")));
            }
            for &(pid, st) in &waits {
                let now = sys::proc_state(pid)?;
                if now != st {
                    return Ok(Err(format!("pid {pid} in state {now}, expected {st}")));
                }
            }
            Ok(Ok(()))
        };
        // Sleepers that return report after the driver counted them, so STATUS is final once
        // their reports are in; only a sleeper going to sleep or stopping needs waiting for.
        if waits.is_empty() {
            check()?.map_err(CaseError::Fail)?;
        } else {
            sys::poll_until(WAIT, "STATUS and sleepers as the model predicts", check)?;
        }
        drop(probe);
        for (i, (fd, m)) in self.files.iter().zip(&self.model.files).enumerate() {
            let got = super::file::fd_counters(fd.as_raw_fd())?;
            let want = [m.reads, m.reads_woken, m.writes];
            crate::ensure!(
                got == want,
                "fdinfo [reads, reads_woken, writes] of file {i} ({:?}{}): got {got:?}, expected {want:?}",
                m.access,
                if m.nonblock { ", O_NONBLOCK" } else { "" }
            );
        }
        self.check_lines(p)
    }

    /// The driver's log lines since the last operation, per task, equal the prediction.
    fn check_lines(&mut self, p: &Prediction) -> CaseResult {
        self.kmsg
            .collect()
            .map_err(|e| format!("read /dev/kmsg: {e}"))?;
        let mut got: BTreeMap<Who, Vec<Event>> = BTreeMap::new();
        for (seq, d) in self.kmsg.driver_lines() {
            if seq <= self.seen {
                continue;
            }
            self.seen = seq;
            let who = if d.pid == self.me {
                Who::Parent
            } else {
                match self.pids.iter().find(|(_, &pid)| pid == d.pid) {
                    Some((&id, _)) => Who::Sleeper(id),
                    None => crate::bail!("a driver line of pid {}, not ours: {d:?}", d.pid),
                }
            };
            got.entry(who).or_default().push(d.event);
        }
        let mut want: BTreeMap<Who, Vec<Line>> = BTreeMap::new();
        for (who, line) in &p.lines {
            want.entry(*who).or_default().push(line.clone());
        }
        let same = got.len() == want.len()
            && got.iter().all(|(who, evs)| {
                want.get(who).is_some_and(|ls| {
                    ls.len() == evs.len() && ls.iter().zip(evs).all(|(l, e)| line_matches(l, e))
                })
            });
        crate::ensure!(same, "driver log lines: got {got:?}, expected {want:?}");
        Ok(())
    }
}

/// Whether a log event is the predicted line.
fn line_matches(l: &Line, e: &Event) -> bool {
    match (l, e) {
        (Line::Sleep, Event::Sleep)
        | (Line::Awoken, Event::Awoken)
        | (Line::Awakening, Event::Awakening)
        | (Line::CompleteAll, Event::CompleteAll)
        | (Line::Reinit, Event::Reinit)
        | (Line::Refused, Event::Refused)
        | (Line::GaveUp(None), Event::GaveUp(_)) => true,
        // The kernel prints the error's name with CONFIG_SYMBOLIC_ERRNAME, else `Error(N)`.
        (Line::GaveUp(Some(e)), Event::GaveUp(g)) => {
            *g == Errno(*e).name() || *g == format!("Error({e})")
        }
        _ => false,
    }
}

/// What the model expected of the sleepers in `p`, in words.
fn expected_wakes(p: &Prediction) -> String {
    match (p.woken, p.ended.is_empty()) {
        (Some(id), _) => format!("sleeper {id}, the head of the FIFO, to be woken"),
        (None, true) => "no sleeper to return".to_string(),
        (None, false) => format!(
            "only {:?} to end",
            p.ended.iter().map(|(id, _)| *id).collect::<Vec<_>>()
        ),
    }
}

/// `ioctl(fd, cmd, arg)`.
fn ioctl(fd: i32, cmd: u32, arg: usize) -> Result<i64, Errno> {
    // SAFETY: the commands used here take no argument or one the caller owns.
    sys::cvt(unsafe { libc::ioctl(fd, cmd as libc::c_ulong, arg) }).map(i64::from)
}

/// `COMPLETE_IOC_STATUS` on `fd`.
fn status(fd: i32) -> Result<CompleteStatus, Errno> {
    let mut words = [0u64; 8];
    ioctl(fd, uapi::COMPLETE_IOC_STATUS, words.as_mut_ptr() as usize)?;
    Ok(CompleteStatus::from_words(words))
}

/// The state machine test over [`Driver`] and [`Reference`].
pub struct DriverTest;

impl StateMachineTest for DriverTest {
    type SystemUnderTest = Driver;
    type Reference = Reference;

    fn init_test(model: &Model) -> Driver {
        let env = ENV.with(|e| e.borrow().clone());
        let env = env.unwrap_or_else(|| fail("model: no environment set".into()));
        or_fail(Driver::load(model, env))
    }

    fn apply(mut d: Driver, after: &Model, op: Op) -> Driver {
        OPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pre = d.model.clone();
        let p = d.model.step(&op);
        let ret = or_fail(d.exec(&op, &pre));
        if let Some(want) = p.ret {
            if ret != Some(want) {
                fail(format!(
                    "{op:?}: returned {}, expected {}",
                    show(ret),
                    show(Some(want))
                ));
            }
        }
        or_fail(d.check_ended(&p));
        or_fail(d.check_state(&p));
        if d.model != *after {
            fail(format!(
                "model diverged from the reference: {:?} vs {after:?}",
                d.model
            ));
        }
        d
    }
}

/// A system call's result in words: the value or the errno's name.
fn show(r: Option<Result<i64, i32>>) -> String {
    match r {
        None => "nothing".into(),
        Some(Ok(v)) => v.to_string(),
        Some(Err(e)) => Errno(e).name(),
    }
}

/// Operations applied so far in this run (first runs and shrinking alike).
static OPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The seed of a run: `--seed`, or one from the clock (printed, so a failure can be replayed).
pub fn seed(opt: Option<u64>) -> u64 {
    opt.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64 ^ u64::from(std::process::id()))
    })
}

/// `--model-cases` proptest cases of up to `--model-ops` operations each, against a fresh module
/// per case; a failure is shrunk and reported with its seed and the replay command.
pub fn model(ctx: &Ctx) -> CaseResult {
    let o = &ctx.opts;
    let base = seed(o.seed);
    ENV.with(|e| {
        *e.borrow_mut() = Some(Env {
            module: o.module.clone(),
        })
    });
    println!(
        "# model: seed {base}, {} cases of 1..={} operations",
        o.model_cases, o.model_ops
    );
    let start = Instant::now();
    OPS.store(0, std::sync::atomic::Ordering::Relaxed);
    let strategy = Reference::sequential_strategy(1..=o.model_ops.max(1));
    // Failures are panics inside the state machine; proptest reports them, shrunk.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let res = run_cases(o, base, &strategy);
    std::panic::set_hook(hook);
    res?;
    println!(
        "# model: {} cases, {} operations in {:.1} s",
        o.model_cases,
        OPS.load(std::sync::atomic::Ordering::Relaxed),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The proptest cases of [`model`], case `i` with seed `base + i`.
fn run_cases(
    o: &super::Opts,
    base: u64,
    strategy: &impl proptest::strategy::Strategy<
        Value = (
            Model,
            Vec<Op>,
            Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
        ),
    >,
) -> CaseResult {
    for i in 0..o.model_cases {
        let seed = base.wrapping_add(i as u64);
        let config = Config {
            cases: 1,
            failure_persistence: None,
            fork: false,
            timeout: 0,
            max_shrink_iters: o.model_shrink,
            max_shrink_time: 600_000,
            rng_seed: RngSeed::Fixed(seed),
            verbose: 0,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config.clone());
        let res = runner.run(strategy, |(init, ops, seen)| {
            DriverTest::test_sequential(config.clone(), init, ops, seen);
            Ok(())
        });
        let (reason, (init, ops, _)) = match res {
            Ok(()) => continue,
            Err(TestError::Fail(reason, value)) => (reason, value),
            Err(TestError::Abort(reason)) => {
                crate::bail!("model: seed {seed}: proptest aborted: {reason}")
            }
        };
        let list: Vec<String> = ops
            .iter()
            .enumerate()
            .map(|(n, op)| format!("  {}. {op:?}", n + 1))
            .collect();
        crate::bail!(
            "model: seed {seed} (case {i} of base seed {base}) failed: {reason}\n\
             shrunk to {} operation(s) on a module loaded with \"{}\":\n{}\n\
             replay: complete_dev model --seed {seed} --model-cases 1",
            ops.len(),
            init.params.insmod_args(),
            list.join("\n")
        );
    }
    Ok(())
}
