// SPDX-License-Identifier: GPL-2.0
//! Exercise 4, complete_all and reinit_completion
//!
//! Two ioctls: `COMPLETE_ALL` wakes every reader and leaves the completion done, `REINIT` makes
//! it not done again (exercises/04-complete-all/README.md).

use kernel::{
    fs::{
        File,
        Kiocb, //
    },
    ioctl::_IO,
    iov::{
        IovIterDest,
        IovIterSource, //
    },
    miscdevice::{
        MiscDevice,
        MiscDeviceOptions,
        MiscDeviceRegistration, //
    },
    prelude::*, //
};

/// The completion every reader sleeps on: LDD3's `DECLARE_COMPLETION(comp)`.
static COMP: StaticCompletion = StaticCompletion::new();

/// `COMPLETE_IOC_COMPLETE_ALL` of `uapi/complete_dev.rs`: `complete_all()`.
const IOC_COMPLETE_ALL: u32 = _IO(0xC9, 1);
/// `COMPLETE_IOC_REINIT` of `uapi/complete_dev.rs`: `reinit_completion()`.
const IOC_REINIT: u32 = _IO(0xC9, 2);

/// An open file of `/dev/complete`.
struct CompleteFile {
    /// The module's completion, [`COMP`].
    comp: &'static Completion,
}

#[vtable]
impl MiscDevice for CompleteFile {
    type Ptr = KBox<Self>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<KBox<Self>> {
        Ok(KBox::new(Self { comp: COMP.get()? }, GFP_KERNEL)?)
    }

    /// LDD3's `complete_read`: sleep until a writer calls `complete()`, then end of file.
    fn read_iter(kiocb: Kiocb<'_, Self::Ptr>, _iov: &mut IovIterDest<'_>) -> Result<usize> {
        let me = kiocb.file();
        me.comp.wait_for_completion_interruptible()?;
        Ok(0)
    }

    /// LDD3's `complete_write`: wake the oldest sleeping reader, or leave the event pending.
    fn write_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let me = kiocb.file();
        me.comp.complete();
        let len = iov.len();
        iov.advance(len);
        Ok(len)
    }

    /// `COMPLETE_ALL` wakes every reader, now and later; `REINIT` makes the completion not done.
    fn ioctl(me: &CompleteFile, _file: &File, cmd: u32, _arg: usize) -> Result<isize> {
        match cmd {
            IOC_COMPLETE_ALL => me.comp.complete_all(),
            IOC_REINIT => me.comp.reinit_completion(),
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }
}

module! {
    type: CompleteModule,
    name: "complete_dev",
    authors: ["complete-dev developers"],
    description: "Exercise 4: complete_all and reinit_completion",
    license: "GPL",
}

/// The module: the misc device `/dev/complete`.
#[pin_data]
struct CompleteModule {
    #[pin]
    _miscdev: MiscDeviceRegistration<CompleteFile>,
}

impl kernel::InPlaceModule for CompleteModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        COMP.init();
        try_pin_init!(Self {
            _miscdev <- MiscDeviceRegistration::register(MiscDeviceOptions { name: c"complete" }),
        })
    }
}

#[path = "ext/completion.rs"]
#[expect(
    dead_code,
    reason = "a shared wrapper: this module uses only part of it"
)]
mod completion;

use completion::{
    Completion,
    StaticCompletion, //
};
