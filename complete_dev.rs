// SPDX-License-Identifier: GPL-2.0
//
// Derived from complete.c of the book "Linux Device Drivers" by Alessandro Rubini and Jonathan
// Corbet, published by O'Reilly & Associates (docs/ldd3.md sets the two side by side).

//! `/dev/complete`: LDD3's `complete` driver in Rust.
//!
//! Every `read()` sleeps on one static completion; every `write()` calls `complete()`, which
//! wakes the oldest sleeper. The rest is in `complete_dev/`; all of it in `docs/driver.md`.
//!
//! ```text
//! # cat /dev/complete &      # "process 80 (cat) going to sleep"
//! # echo x > /dev/complete   # "process 79 (sh) awakening the readers...", "awoken 80 (cat)"
//! [1]+  Done                 cat /dev/complete
//! ```

use kernel::{
    fs::{
        File,
        Kiocb, //
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
    seq_file::SeqFile,
    sync::atomic::{
        Atomic,
        Relaxed, //
    }, //
};

/// The completion every reader sleeps on: LDD3's `DECLARE_COMPLETION(comp)`.
static COMP: StaticCompletion = StaticCompletion::new();

#[vtable]
impl MiscDevice for CompleteFile {
    type Ptr = KBox<Self>;

    /// LDD3's `complete_read`: sleep until a writer calls `complete()`.
    #[inline]
    fn read_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        if iov.is_empty() {
            return Ok(0); // A zero-length read consumes nothing.
        }
        let me = kiocb.file();
        me.reads.add(1, Relaxed);
        if file_ext::is_nonblocking(&kiocb) {
            return me.try_read(); // O_NONBLOCK, RWF_NOWAIT: never sleeps.
        }
        let verbose = me.sleep_begins(); // "going to sleep", if verbose.
        let res = match (me.wait.mode, me.wait.timeout) {
            (WaitMode::Interruptible, None) => me.comp.wait_for_completion_interruptible(),
            _ => me.wait.sleep(me.comp), // The other wait modes and timeouts.
        };
        me.sleep_ends(res, verbose); // "awoken" or "gave up waiting", if verbose.
        res.map(|()| 0) // End of file: `cat` returns once woken.
    }

    /// LDD3's `complete_write`: wake the oldest sleeping reader, or leave the event pending.
    #[inline]
    fn write_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let me = kiocb.file();
        params::refuse_above_pending_max(me.comp)?;
        log::process_if_verbose("awakening the readers...");
        me.count_write();
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
                wait: WaitSpec::from_params(),
                reads: Atomic::new(0),
                reads_woken: Atomic::new(0),
                writes: Atomic::new(0),
            },
            GFP_KERNEL,
        )?)
    }

    fn ioctl(me: &CompleteFile, file: &File, cmd: u32, arg: usize) -> Result<isize> {
        me.ioctl(file, cmd, arg)
    }

    fn show_fdinfo(me: &CompleteFile, m: &SeqFile, _file: &File) {
        me.show_fdinfo(m);
    }
}

/// An open file: what its reads wait on and how, and its counters for
/// `/proc/<pid>/fdinfo/<fd>`.
struct CompleteFile {
    /// The module's completion ([`COMP`]), looked up once at `open`.
    comp: &'static Completion,
    /// How a read of this file sleeps: `wait_mode` and `timeout_ms` as they were at `open`.
    wait: WaitSpec,
    /// fdinfo's `complete_reads`: the reads of a non-empty buffer.
    reads: Atomic<u64>,
    /// fdinfo's `complete_reads_woken`: the reads that returned 0.
    reads_woken: Atomic<u64>,
    /// fdinfo's `complete_writes`: this file's `complete()` calls (STATUS `completes` counts all).
    writes: Atomic<u64>,
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
        COMP.init();
        params::log_loaded();
        try_pin_init!(Self {
            _miscdev <- MiscDeviceRegistration::register(MiscDeviceOptions { name: c"complete" }),
        })
    }
}

// Beyond LDD3, a file each in complete_dev/; the wrappers the 7.3 kernel crate lacks in ext/.
#[path = "complete_dev/ioctl.rs"]
mod ioctl;
#[path = "complete_dev/log.rs"]
mod log;
#[path = "complete_dev/params.rs"]
mod params;
#[path = "complete_dev/stats.rs"]
mod stats;
#[path = "complete_dev/wait.rs"]
mod wait;

// On a kernel with the upstream series, the kernel crate's completion (docs/upstream.md).
#[cfg_attr(not(upstream_completion), path = "ext/completion.rs")]
#[cfg_attr(upstream_completion, path = "ext/completion_upstream.rs")]
#[cfg_attr(
    not(upstream_completion),
    expect(
        dead_code,
        reason = "a shared wrapper: this module uses only part of it"
    )
)]
mod completion;
#[path = "ext/file.rs"]
mod file_ext;
#[path = "ext/param.rs"]
mod param;

use completion::{
    Completion,
    StaticCompletion, //
};
use wait::{
    WaitMode,
    WaitSpec, //
};
