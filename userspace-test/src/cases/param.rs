// SPDX-License-Identifier: GPL-2.0
//! The module parameters: `verbose` writable at run time, out-of-range values refused, a bare
//! boolean, the `pending_max` bound.

use std::path::Path;

use super::{expect_errno, expect_ok, zero, Ctx, WAIT};
use crate::error::{CaseResult, Context};
use crate::kmsg::Event;
use crate::module;
use crate::sys;
use crate::uapi::CompleteStatus;
use crate::{bail, ensure, ensure_eq};

/// The `verbose` parameter in sysfs.
const VERBOSE: &str = "/sys/module/complete_dev/parameters/verbose";

/// `verbose` is writable at run time: 0 silences the driver's lines, 1 brings them back.
pub fn verbose(ctx: &Ctx) -> CaseResult {
    let read = || {
        std::fs::read_to_string(VERBOSE)
            .map(|s| s.trim().to_string())
            .map_err(|e| format!("read {VERBOSE}: {e}"))
    };
    ensure_eq!(read()?, "Y", "{VERBOSE} after insmod verbose=1");
    let dev = ctx.open()?;
    let me = sys::getpid();
    let awakening = |e: &Event| *e == Event::Awakening;

    std::fs::write(VERBOSE, "0").map_err(|e| format!("write 0 to {VERBOSE}: {e}"))?;
    ensure_eq!(read()?, "N", "{VERBOSE} after writing 0");
    expect_ok(dev.write(b"q"), 1, "write with verbose=0")?;
    // Give a stray line time to reach the log before counting.
    std::thread::sleep(super::QUIET);
    ensure_eq!(
        ctx.count_events(me, awakening)?,
        0,
        "'awakening' lines with verbose=0"
    );

    std::fs::write(VERBOSE, "1").map_err(|e| format!("write 1 to {VERBOSE}: {e}"))?;
    ensure_eq!(read()?, "Y", "{VERBOSE} after writing 1");
    expect_ok(dev.write(b"l"), 1, "write with verbose=1")?;
    ctx.wait_events(me, 1, "awakening the readers", awakening)?;
    ensure_eq!(
        ctx.count_events(me, awakening)?,
        1,
        "'awakening' lines in all"
    );
    Ok(())
}

/// Out-of-range parameters make insmod fail, leave nothing loaded, and the driver logs why.
pub fn refused(ctx: &Ctx) -> CaseResult {
    module::unload_settled()?;
    for (param, bad) in [
        ("wait_mode", "bogus"),
        ("timeout_ms", "99999999"),
        ("verbose", "maybe"),
    ] {
        let arg = format!("{param}={bad}");
        match module::load(&ctx.opts.module, &arg) {
            Ok(()) => {
                let _ = module::unload_settled();
                bail!("insmod {arg} succeeded");
            }
            Err(e) => {
                ensure!(
                    e.0 != libc::ENOENT && e.0 != libc::EEXIST,
                    "insmod {arg} failed for the wrong reason: {e}"
                );
            }
        }
        ensure!(
            !module::is_loaded(),
            "module loaded after insmod {arg} failed"
        );
        ensure!(
            !Path::new(sys::DEV_PATH).exists(),
            "{} exists after insmod {arg} failed",
            sys::DEV_PATH
        );
        sys::poll_until(WAIT, &format!("a 'refused' log line for {arg}"), || {
            let k = ctx.kmsg_now()?;
            let found = k
                .module_messages()
                .iter()
                .any(|m| m.contains("refused") && m.contains(param) && m.contains(bad));
            Ok(if found {
                Ok(())
            } else {
                Err(format!("module lines so far: {:?}", k.module_messages()))
            })
        })?;
    }
    Ok(())
}

/// `insmod complete_dev.ko verbose` (a bool without a value) means `verbose=Y`, as C bool
/// parameters do (before the fix the load failed with `EINVAL`).
pub fn bool_bare(ctx: &Ctx) -> CaseResult {
    for (params, want) in [("verbose=0", "N"), ("verbose", "Y")] {
        ctx.load(params)?;
        let path = "/sys/module/complete_dev/parameters/verbose";
        let got = std::fs::read_to_string(path).with_ctx(|| format!("read {path}"))?;
        ensure_eq!(got.trim(), want, "{path} after insmod with \"{params}\"");
    }
    Ok(())
}

/// The pending count this case loads the module with.
pub const PENDING_MAX: u64 = 3;

/// With `pending_max=3` a fourth unread write fails with `EOVERFLOW` and counts nothing; a read
/// makes room again; after `COMPLETE_ALL` the bound does not apply (nothing is counted), after
/// `REINIT` it does again. Stands in for the 2^32 - 1 writes after which, before the fix, `done`
/// reached `UINT_MAX` and every read passed as if `COMPLETE_ALL` had been called.
pub fn pending_max(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    let nb = ctx.open_nb()?;
    for i in 0..PENDING_MAX {
        expect_ok(dev.write(b"x"), 1, &format!("write #{i}"))?;
    }
    expect_errno(dev.write(b"x"), libc::EOVERFLOW, "write beyond pending_max")?;
    let mut want = CompleteStatus {
        pending: PENDING_MAX,
        completes: PENDING_MAX,
        ..zero()
    };
    ctx.expect_status(&dev, want, "after the refused write")?;
    expect_ok(nb.read(1), 0, "read")?;
    expect_ok(dev.write(b"x"), 1, "write after a read made room")?;
    want.reads_woken = 1;
    want.completes += 1;
    ctx.expect_status(&dev, want, "after a read and a write")?;
    expect_ok(dev.ioctl(sys::IOC_COMPLETE_ALL, 0), 0, "COMPLETE_ALL")?;
    for i in 0..PENDING_MAX + 2 {
        expect_ok(
            dev.write(b"x"),
            1,
            &format!("write #{i} after COMPLETE_ALL"),
        )?;
    }
    expect_ok(dev.ioctl(sys::IOC_REINIT, 0), 0, "REINIT")?;
    for i in 0..PENDING_MAX {
        expect_ok(dev.write(b"x"), 1, &format!("write #{i} after REINIT"))?;
    }
    expect_errno(
        dev.write(b"x"),
        libc::EOVERFLOW,
        "write beyond pending_max after REINIT",
    )?;
    want.pending = PENDING_MAX;
    want.completes += PENDING_MAX + 2 + PENDING_MAX;
    ctx.expect_status(&dev, want, "at the end")
}
