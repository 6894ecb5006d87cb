// SPDX-License-Identifier: GPL-2.0
//! Exercise 2, the interruptible wait
//!
//! LDD3's read sleeps uninterruptibly; here Ctrl-C ends it and the read returns the wait's
//! `ERESTARTSYS` (exercises/02-interruptible/README.md).

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
    prelude::*, //
};

/// The completion every reader sleeps on: LDD3's `DECLARE_COMPLETION(comp)`.
static COMP: StaticCompletion = StaticCompletion::new();

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
}

module! {
    type: CompleteModule,
    name: "complete_dev",
    authors: ["complete-dev developers"],
    description: "Exercise 2: the interruptible wait",
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
