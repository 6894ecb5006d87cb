// SPDX-License-Identifier: GPL-2.0
//! Reads that must not sleep: `O_NONBLOCK` and `preadv2(RWF_NOWAIT)`.

use super::{expect_errno, expect_ok, zero, Ctx};
use crate::ensure_eq;
use crate::error::CaseResult;
use crate::kmsg::Event;
use crate::sys;
use crate::uapi::CompleteStatus;

/// `O_NONBLOCK` never sleeps: EAGAIN with nothing pending; one write lets exactly one read pass.
pub fn read(ctx: &Ctx) -> CaseResult {
    let nb = ctx.open_nb()?;
    expect_errno(
        nb.read(1),
        libc::EAGAIN,
        "O_NONBLOCK read with nothing pending",
    )?;
    expect_ok(nb.write(b"x"), 1, "write(1 byte)")?;
    expect_ok(nb.read(1), 0, "O_NONBLOCK read after one write")?;
    expect_errno(
        nb.read(1),
        libc::EAGAIN,
        "second O_NONBLOCK read after one write",
    )?;
    let me = sys::getpid();
    ensure_eq!(
        ctx.count_events(me, |e| *e == Event::Sleep)?,
        0,
        "'going to sleep' lines of O_NONBLOCK reader {me}"
    );
    let want = CompleteStatus {
        reads_woken: 1,
        reads_would_block: 2,
        completes: 1,
        ..zero()
    };
    ctx.expect_status(&nb, want, "at the end")
}

/// `preadv2(RWF_NOWAIT)` on a blocking file behaves like an `O_NONBLOCK` read: `EAGAIN` with
/// nothing pending, one completion consumed otherwise. This pins the file's `FMODE_NOWAIT`:
/// without it the VFS refuses `RWF_NOWAIT` with `EOPNOTSUPP` before the driver sees the read.
pub fn rwf_nowait(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    expect_errno(
        dev.read_nowait(),
        libc::EAGAIN,
        "preadv2(RWF_NOWAIT) with nothing pending",
    )?;
    expect_ok(dev.write(b"x"), 1, "write")?;
    expect_ok(dev.read_nowait(), 0, "preadv2(RWF_NOWAIT) with one pending")?;
    let want = CompleteStatus {
        reads_woken: 1,
        reads_would_block: 1,
        completes: 1,
        ..zero()
    };
    ctx.expect_status(&dev, want, "after the two RWF_NOWAIT reads")
}
