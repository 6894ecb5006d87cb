// SPDX-License-Identifier: GPL-2.0
//! The module's life: unloading and loading again, and a clean kernel log at the end.

use std::path::Path;
use std::time::Duration;

use super::{expect_ok, Ctx, WAIT};
use crate::error::{CaseResult, Context};
use crate::kmsg;
use crate::module;
use crate::readers::{ReaderOpts, Readers};
use crate::sys::{self, Dev};
use crate::{bail, ensure};

/// insmod/rmmod cycles of the `lifecycle_unload` case.
const CYCLES: usize = 100;

/// Fails unless unloading is refused now (EAGAIN or EBUSY) and the module stays.
fn expect_refused(why: &str) -> CaseResult {
    match module::unload() {
        Ok(()) => bail!("rmmod accepted {why}"),
        Err(e) if e.0 == libc::EAGAIN || e.0 == libc::EBUSY => {}
        Err(e) => bail!("rmmod {why}: expected EAGAIN/EBUSY, got {e}"),
    }
    ensure!(
        module::is_loaded(),
        "module gone after a refused rmmod ({why})"
    );
    ensure!(
        Path::new(sys::dev_path()).exists(),
        "{} gone after a refused rmmod ({why})",
        sys::dev_path()
    );
    Ok(())
}

/// rmmod is refused while a reader sleeps or a file is open, accepted once all are closed;
/// then 100 insmod/rmmod cycles all work and the node comes and goes with the module.
pub fn unload(ctx: &Ctx) -> CaseResult {
    ctx.load("")?;
    {
        let mut rd = Readers::new()?;
        let pid = rd.spawn("ct-unload", ReaderOpts::default())?;
        ctx.wait_asleep(pid, 'S')?;
        expect_refused("while a reader sleeps")?;
        {
            let dev = ctx.open()?;
            expect_ok(dev.write(b"x"), 1, "write to wake the reader")?;
        }
        rd.report_from(pid, WAIT, "after the write")?.expect_ok()?;
        rd.reap_ok(pid, WAIT)?;
    }
    {
        let _dev = ctx.open()?;
        expect_refused("while a file is open")?;
    }
    sys::poll_until(
        Duration::from_secs(5),
        "rmmod accepted after the last close",
        || {
            Ok(match module::unload() {
                Ok(()) => Ok(()),
                Err(e) if e.0 == libc::EAGAIN || e.0 == libc::EBUSY => Err(format!("{e}")),
                Err(e) => return Err(format!("delete_module: {e}").into()),
            })
        },
    )?;
    module::wait_node(false)?;
    ensure!(
        !module::is_loaded(),
        "/sys/module/complete_dev still there after rmmod"
    );

    for i in 0..CYCLES {
        module::load(&ctx.opts.module, "verbose=0")
            .with_ctx(|| format!("cycle {i}: finit_module"))?;
        super::within(&format!("cycle {i}"), module::wait_node(true))?;
        drop(Dev::open(false).with_ctx(|| format!("cycle {i}: open /dev/complete"))?);
        module::unload().with_ctx(|| format!("cycle {i}: delete_module"))?;
        super::within(&format!("cycle {i}"), module::wait_node(false))?;
    }
    // Nothing left behind: no module, no misc class entry, no parameters.
    for path in [
        "/sys/module/complete_dev",
        "/sys/class/misc/complete",
        sys::dev_path(),
    ] {
        ensure!(
            !std::path::Path::new(path).exists(),
            "{path} still exists after {CYCLES} cycles"
        );
    }
    let modules = std::fs::read_to_string("/proc/modules").ctx("read /proc/modules")?;
    ensure!(
        !modules.lines().any(|l| l.starts_with("complete_dev ")),
        "complete_dev still listed in /proc/modules after {CYCLES} cycles"
    );
    Ok(())
}

/// The whole kernel log so far holds no bug, warning, lockdep, hung-task or sanitizer report.
pub fn kmsg_clean(_ctx: &Ctx) -> CaseResult {
    let records = kmsg::read_whole_log().ctx("read /dev/kmsg from the start")?;
    ensure!(!records.is_empty(), "/dev/kmsg returned no record at all");
    let hits: Vec<String> = kmsg::bad_records(&records)
        .into_iter()
        .map(|r| {
            format!(
                "[{}.{:06}] {}",
                r.ts_us / 1_000_000,
                r.ts_us % 1_000_000,
                r.msg
            )
        })
        .collect();
    if !hits.is_empty() {
        let shown: Vec<&str> = hits.iter().take(10).map(String::as_str).collect();
        bail!(
            "{} bad kernel log line(s) in {} records:\n{}",
            hits.len(),
            records.len(),
            shown.join("\n")
        );
    }
    Ok(())
}
