// SPDX-License-Identifier: GPL-2.0

//! `/dev/complete`: LDD3's `complete` driver in Rust.
//!
//! Every `read()` sleeps on one module-wide completion; every `write()` calls `complete()` once,
//! which wakes exactly one sleeping reader, the oldest (completions queue their waiters
//! exclusively, in FIFO order). A write made while nobody sleeps is remembered in the
//! completion's `done` counter and lets a later read through at once.
//!
//! ```text
//! # insmod complete_dev.ko
//! # cat /dev/complete &          # sleeps: "process 80 (cat) going to sleep"
//! # echo x > /dev/complete       # "process 79 (sh) awakening the readers...", "awoken 80 (cat)"
//! ```
//!
//! Compared with the LDD3 original:
//! - the wait is interruptible by default (`wait_mode`), so `cat` can be stopped with Ctrl-C;
//!   a signal ends the read with `-ERESTARTSYS` (EINTR, or a transparent restart under
//!   `SA_RESTART` or when no handler runs: Ctrl-Z then `fg`, the freezer) and consumes nothing;
//!   `wait_mode=uninterruptible` keeps the original's unkillable D state for teaching (the
//!   hung-task detector reports a reader asleep longer than `hung_task_timeout_secs`);
//! - `timeout_ms` bounds the wait (the read fails with `ETIMEDOUT`); a signal with a handler
//!   ends a timed wait with `EINTR`, never a restart, so no signal can stretch a read past its
//!   timeout; a wake-up with no handler (stop and continue, the freezer) restarts the read;
//! - `O_NONBLOCK` reads, and `preadv2(RWF_NOWAIT)` on any file, take a pending completion or fail
//!   with `EAGAIN`, never sleeping;
//! - `write()` never copies the bytes: it consumes the iterator and returns the full length; a
//!   write that finds `pending_max` completions pending fails with `EOVERFLOW`. The check and the
//!   `complete()` are two steps, so N writers at once can leave up to `pending_max - 1 + N`; the
//!   most `pending_max` can be leaves room for every task there can be, so the count never
//!   reaches `UINT_MAX`, the value that means "all done";
//! - ioctls for `complete_all()`, `reinit_completion()` (both need a file open for writing) and a
//!   status record (`uapi/`);
//! - per-file counters in `/proc/<pid>/fdinfo/<fd>`;
//! - `rmmod` is refused while the device is open (the file operations hold the module).
//!
//! Zero-length reads return 0 at once and consume nothing; a zero-length `write()` completes like
//! any other (a zero-length `writev()` never reaches the driver: the VFS returns 0 first).
//! Neither direction touches the user buffer, so an unmapped buffer is not an error.
//! `lseek` fails with `ESPIPE`.

use core::num::NonZero;
use kernel::{
    fs::{
        file,
        File,
        Kiocb, //
    },
    ioctl::{
        _IO,
        _IOR, //
    },
    iov::{
        IovIterDest,
        IovIterSource, //
    },
    miscdevice::{
        MiscDevice,
        MiscDeviceOptions,
        MiscDeviceRegistration, //
    },
    prelude::*,
    seq_file::{
        seq_print,
        SeqFile, //
    },
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    time::{
        msecs_to_jiffies,
        Jiffies, //
    },
    uaccess::UserSlice, //
};

#[path = "ext/completion.rs"]
#[expect(
    dead_code,
    reason = "a shared wrapper: this module uses only part of it"
)]
mod completion;
#[path = "ext/file.rs"]
mod file_ext;
#[path = "ext/param.rs"]
mod param;
#[path = "ext/task.rs"]
mod task;
#[path = "uapi/complete_dev.rs"]
#[expect(
    dead_code,
    reason = "the uapi file also serves userspace (`from_words`)"
)]
#[allow(
    unreachable_pub,
    reason = "a uapi definition is public; the lint only runs with W=1"
)]
mod uapi;

use completion::{
    Completion,
    StaticCompletion,
    ALL_DONE, //
};
use param::{
    BoolParam,
    Choice,
    ChoiceParam,
    UintParam, //
};
use task::Comm;
use uapi::CompleteStatus;

/// The completion every reader sleeps on: LDD3's `static DECLARE_COMPLETION(comp)`.
static COMP: StaticCompletion = StaticCompletion::new();

#[vtable]
impl MiscDevice for CompleteFile {
    type Ptr = KBox<Self>;

    /// LDD3's `complete_read`: sleep until a writer calls `complete()`.
    #[inline] // Parity with C (docs/benchmark.md#speed-devices).
    fn read_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        if iov.is_empty() {
            return Ok(0);
        }
        let me = kiocb.file();
        me.reads.add(1, Relaxed);
        if file_ext::is_nonblocking(&kiocb) {
            // O_NONBLOCK or RWF_NOWAIT: take a pending completion, or fail without sleeping.
            let res = if me.comp.try_wait_for_completion() {
                Ok(())
            } else {
                Err(EAGAIN)
            };
            me.count_read(res);
            return res.map(|()| 0);
        }
        me.sleep().map(|()| 0) // End of file: `cat` returns once woken.
    }

    /// LDD3's `complete_write`: wake the oldest sleeping reader, or bank the event for the next.
    #[inline] // Parity with C (docs/benchmark.md#speed-devices).
    fn write_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let me = kiocb.file();
        let pending = me.comp.pending();
        if pending != ALL_DONE && pending >= PENDING_MAX.get() {
            log_current("refused a write: too many pending completions");
            return Err(EOVERFLOW);
        }
        log_current("awakening the readers...");
        me.writes.add(1, Relaxed);
        STATS.completes.add(1, Relaxed);
        me.comp.complete();
        // The bytes carry no meaning: take them all without copying.
        let len = iov.len();
        iov.advance(len);
        Ok(len)
    }

    fn open(file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<KBox<Self>> {
        // SAFETY: We are in the file's `open`: no other task can reach it yet.
        unsafe { file_ext::set_nowait(file) };
        Ok(KBox::new(
            Self {
                comp: COMP.get()?,
                wait: WaitSpec::current(),
                reads: Atomic::new(0),
                reads_woken: Atomic::new(0),
                writes: Atomic::new(0),
            },
            GFP_KERNEL,
        )?)
    }

    fn ioctl(me: &CompleteFile, file: &File, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            IOC_COMPLETE_ALL => me.complete_all(file)?,
            IOC_REINIT => me.reinit(file)?,
            IOC_STATUS => me.status(UserSlice::new(
                UserPtr::from_addr(arg),
                CompleteStatus::SIZE,
            ))?,
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }

    fn show_fdinfo(me: &CompleteFile, m: &SeqFile, _file: &File) {
        seq_print!(
            m,
            "complete_reads:\t{}\ncomplete_reads_woken:\t{}\ncomplete_writes:\t{}\n",
            me.reads.load(Relaxed),
            me.reads_woken.load(Relaxed),
            me.writes.load(Relaxed)
        );
    }
}

/// An open file: what its reads wait on and how, and its counters for
/// `/proc/<pid>/fdinfo/<fd>`.
struct CompleteFile {
    /// The module's completion ([`COMP`]), looked up once at `open`.
    comp: &'static Completion,
    wait: WaitSpec,
    reads: Atomic<u64>,
    reads_woken: Atomic<u64>,
    writes: Atomic<u64>,
}

impl CompleteFile {
    /// Sleeps on the completion as this file's [`WaitSpec`] says, logging before and after, and
    /// counts the outcome.
    #[inline] // Parity with C (docs/benchmark.md#speed-devices).
    fn sleep(&self) -> Result {
        let verbose = VERBOSE.get();
        if verbose {
            log_line("going to sleep");
        }
        STATS.sleepers.add(1, Relaxed);
        let res = match (self.wait.mode, self.wait.timeout) {
            (WaitMode::Interruptible, None) => self.comp.wait_for_completion_interruptible(),
            (WaitMode::Killable, None) => self.comp.wait_for_completion_killable(),
            (WaitMode::Uninterruptible, None) => {
                self.comp.wait_for_completion();
                Ok(())
            }
            (mode, Some(timeout)) => self.timed_wait(mode, timeout.get()),
        };
        STATS.sleepers.add(-1, Relaxed);
        // Counted before the log line, so a reader of the log finds the counters up to date.
        self.count_read(res);
        if verbose {
            match res {
                Ok(()) => log_awoken(),
                Err(e) => log_gave_up(e),
            }
        }
        res
    }

    /// Waits on the completion for at most `timeout` jiffies.
    ///
    /// A signal ends the wait with `ERESTARTNOHAND`, not `ERESTARTSYS`: a handled signal makes it
    /// `EINTR` even under `SA_RESTART`, which would begin the whole timeout again, so a periodic
    /// signal could keep a timed read waiting for ever; a wake-up with no handler to run (a stop
    /// and continue, the freezer, a ptrace attach) restarts the read instead of failing it.
    fn timed_wait(&self, mode: WaitMode, timeout: Jiffies) -> Result {
        let res = match mode {
            WaitMode::Interruptible => self.comp.wait_for_completion_interruptible_timeout(timeout),
            WaitMode::Killable => self.comp.wait_for_completion_killable_timeout(timeout),
            WaitMode::Uninterruptible => self.comp.wait_for_completion_timeout(timeout),
        };
        match res {
            Ok(_) => Ok(()),
            Err(e) if e == ERESTARTSYS => Err(ERESTARTNOHAND),
            Err(e) => Err(e),
        }
    }

    /// Counts the end of one read: in the module's outcome counters, and in this file's
    /// `reads_woken` if it succeeded.
    fn count_read(&self, res: Result) {
        let Err(e) = res else {
            STATS.reads_woken.add(1, Relaxed);
            self.reads_woken.add(1, Relaxed);
            return;
        };
        let counter = if e == ETIMEDOUT {
            &STATS.reads_timed_out
        } else if e == EAGAIN {
            &STATS.reads_would_block
        } else {
            &STATS.reads_interrupted
        };
        counter.add(1, Relaxed);
    }

    /// `COMPLETE_IOC_COMPLETE_ALL`: every current and later read passes, until `REINIT`.
    fn complete_all(&self, file: &File) -> Result {
        require_write(file)?;
        log_current("completing all");
        self.comp.complete_all();
        Ok(())
    }

    /// `COMPLETE_IOC_REINIT`: forget pending completions and the all-done state.
    fn reinit(&self, file: &File) -> Result {
        require_write(file)?;
        log_current("reinit");
        self.comp.reinit_completion();
        Ok(())
    }

    /// `COMPLETE_IOC_STATUS`: copy a snapshot of the module's state to userspace.
    fn status(&self, dest: UserSlice) -> Result {
        let done = self.comp.pending();
        let status = CompleteStatus {
            pending: if done == ALL_DONE { 0 } else { done.into() },
            all_done: (done == ALL_DONE).into(),
            // Never negative: each reader adds 1 before it subtracts 1.
            sleepers: STATS.sleepers.load(Relaxed).try_into().unwrap_or(0),
            reads_woken: STATS.reads_woken.load(Relaxed),
            reads_interrupted: STATS.reads_interrupted.load(Relaxed),
            reads_timed_out: STATS.reads_timed_out.load(Relaxed),
            reads_would_block: STATS.reads_would_block.load(Relaxed),
            completes: STATS.completes.load(Relaxed),
        };
        dest.writer().write(&status.to_words())
    }
}

module! {
    type: CompleteModule,
    name: "complete_dev",
    authors: ["complete-dev developers"],
    description: "LDD3's complete driver in Rust: read() sleeps on a completion, write() completes it",
    license: "GPL",
}

/// The module: the misc device; the completion it uses is [`COMP`].
#[pin_data]
struct CompleteModule {
    #[pin]
    _miscdev: MiscDeviceRegistration<CompleteFile>,
}

impl kernel::InPlaceModule for CompleteModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        // The completion is ready before the device appears; being static, it is torn down only
        // with the module's memory, after the device is gone.
        let _ = COMP.init();
        pr_info!(
            "loaded: /dev/complete, wait_mode={} timeout_ms={} verbose={} pending_max={}\n",
            WAIT_MODE.name(),
            TIMEOUT_MS.get(),
            VERBOSE.get(),
            PENDING_MAX.get()
        );
        try_pin_init!(Self {
            _miscdev <- MiscDeviceRegistration::register(MiscDeviceOptions { name: c"complete" }),
        })
    }
}

/// How a reader sleeps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WaitMode {
    /// Any signal ends the wait.
    Interruptible,
    /// Only a fatal signal ends the wait.
    Killable,
    /// Nothing ends the wait but a write: the LDD3 behaviour (D state).
    Uninterruptible,
}

impl Choice for WaitMode {
    const CHOICES: &'static [(Self, &'static str)] = &[
        (Self::Interruptible, "interruptible"),
        (Self::Killable, "killable"),
        (Self::Uninterruptible, "uninterruptible"),
    ];
}

/// How a read of one file sleeps: `wait_mode` and `timeout_ms`.
///
/// Both parameters are read-only once the module is loaded, so each file takes them once, at
/// `open`.
#[derive(Clone, Copy)]
struct WaitSpec {
    mode: WaitMode,
    /// The timeout in jiffies; `None` waits for ever.
    timeout: Option<NonZero<Jiffies>>,
}

impl WaitSpec {
    /// The wait the parameters ask for.
    fn current() -> Self {
        let ms = TIMEOUT_MS.get();
        Self {
            mode: WAIT_MODE.get(),
            // `msecs_to_jiffies` rounds up: a non-zero `ms` is at least one jiffy.
            timeout: NonZero::new(msecs_to_jiffies(ms)),
        }
    }
}

module_param_sysfs!(
    /// How `read()` sleeps.
    WAIT_MODE: ChoiceParam<WaitMode> = ChoiceParam::new(),
    name: "wait_mode", type: "charp", perm: 0o444,
    desc: "how read() sleeps: interruptible, killable, or uninterruptible (LDD3, D state); default interruptible"
);

module_param_sysfs!(
    /// Longest wait of a read, in milliseconds; 0 waits for ever.
    TIMEOUT_MS: UintParam = UintParam::new(0, 3_600_000),
    name: "timeout_ms", type: "uint", perm: 0o444,
    desc: "longest wait of a read in ms, 0 = for ever; ETIMEDOUT on expiry; default 0, at most 3600000"
);

module_param_sysfs!(
    /// Whether reads and writes are logged.
    VERBOSE: BoolParam = BoolParam::new(true),
    name: "verbose", type: "bool", perm: 0o644,
    desc: "log each sleep, wake-up and write; writable at run time; default Y"
);

/// The largest pending count a write may leave: `UINT_MAX - 1`, less one per task that could
/// pass the check at once (`PID_MAX_LIMIT`, 2^22 on 64-bit), so that `done` never reaches
/// `UINT_MAX`, the all-done value of `complete_all()`.
const PENDING_LIMIT: u32 = u32::MAX - 1 - (1 << 22);

module_param_sysfs!(
    /// The pending count at which a write fails with `EOVERFLOW` (concurrent writers may each
    /// pass the check once: see the module documentation).
    PENDING_MAX: UintParam = UintParam::new(PENDING_LIMIT, PENDING_LIMIT),
    name: "pending_max", type: "uint", perm: 0o444,
    desc: "test only: a write that would leave more pending completions fails with EOVERFLOW; default 4290772990, at most 4290772990"
);

/// `COMPLETE_IOC_COMPLETE_ALL`, as `kernel::ioctl` encodes it for this architecture.
const IOC_COMPLETE_ALL: u32 = _IO(uapi::COMPLETE_IOC_MAGIC, uapi::COMPLETE_IOC_NR_COMPLETE_ALL);
/// `COMPLETE_IOC_REINIT`, as `kernel::ioctl` encodes it for this architecture.
const IOC_REINIT: u32 = _IO(uapi::COMPLETE_IOC_MAGIC, uapi::COMPLETE_IOC_NR_REINIT);
/// `COMPLETE_IOC_STATUS`, as `kernel::ioctl` encodes it for this architecture.
const IOC_STATUS: u32 = _IOR::<[u64; 8]>(uapi::COMPLETE_IOC_MAGIC, uapi::COMPLETE_IOC_NR_STATUS);

// The uapi file's numbers are the ones userspace uses: they must be the kernel's.
const _: () = {
    assert!(uapi::COMPLETE_IOC_COMPLETE_ALL == IOC_COMPLETE_ALL);
    assert!(uapi::COMPLETE_IOC_REINIT == IOC_REINIT);
    assert!(uapi::COMPLETE_IOC_STATUS == IOC_STATUS);
    assert!(CompleteStatus::SIZE == core::mem::size_of::<[u64; 8]>());
};

/// Module-wide counters, reported by `COMPLETE_IOC_STATUS`.
static STATS: Stats = Stats::new();

/// Event counters; each is only ever incremented, except `sleepers`.
struct Stats {
    /// Readers asleep right now (signed: leaving adds -1).
    sleepers: Atomic<i64>,
    reads_woken: Atomic<u64>,
    reads_interrupted: Atomic<u64>,
    reads_timed_out: Atomic<u64>,
    reads_would_block: Atomic<u64>,
    completes: Atomic<u64>,
}

impl Stats {
    /// All counters at zero.
    const fn new() -> Self {
        Self {
            sleepers: Atomic::new(0),
            reads_woken: Atomic::new(0),
            reads_interrupted: Atomic::new(0),
            reads_timed_out: Atomic::new(0),
            reads_would_block: Atomic::new(0),
            completes: Atomic::new(0),
        }
    }
}

/// Fails with `EBADF` unless `file` was opened for writing, as `write()` would: the ioctls that
/// change what every reader sees are writes.
fn require_write(file: &File) -> Result {
    match file.flags() & file::flags::O_ACCMODE {
        file::flags::O_WRONLY | file::flags::O_RDWR => Ok(()),
        _ => Err(EBADF),
    }
}

/// Logs `process <pid> (<comm>) <what>` for the current task, if `verbose` is on.
fn log_current(what: &str) {
    if VERBOSE.get() {
        log_line(what);
    }
}

/// Logs `process <pid> (<comm>) <what>` for the current task.
#[inline(never)] // Parity with C (docs/benchmark.md#speed-devices).
fn log_line(what: &str) {
    pr_info!(
        "process {} ({}) {}\n",
        current!().pid(),
        Comm::current(),
        what
    );
}

/// Logs `awoken <pid> (<comm>)` for the current task.
#[inline(never)] // Parity with C (docs/benchmark.md#speed-devices).
fn log_awoken() {
    pr_info!("awoken {} ({})\n", current!().pid(), Comm::current());
}

/// Logs that the current task gave up waiting, and why.
#[inline(never)] // Parity with C (docs/benchmark.md#speed-devices).
fn log_gave_up(err: Error) {
    pr_info!(
        "process {} ({}) gave up waiting: {:?}\n",
        current!().pid(),
        Comm::current(),
        err
    );
}
