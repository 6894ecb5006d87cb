// SPDX-License-Identifier: GPL-2.0
//! Fault injection: every allocation our modules make, failed in turn.
//!
//! The kernel's `fail-nth` ([`crate::fail_nth`]) fails each allocation of one call in turn (the
//! kernel's own in `init_module`, then the module's: the misc device registration, the kthread
//! creations and their packets, the dynamic completion; in `open`, the per-file allocation),
//! until a call runs without reaching the N-th site. Every failed call must fail cleanly (an
//! errno, nothing half-registered), and afterwards the module must unload and kmemleak find
//! nothing. The case skips on a kernel without fault injection; the kernels of `make check`
//! have it (tools/kernel.config), and there it must run.

use std::path::Path;
use std::time::Duration;

use super::Ctx;
use crate::ensure;
use crate::error::{CaseResult, Context};
use crate::fail_nth::{self, each_site, expect_enomem, sites_before_params, write};
use crate::module;
use crate::sys::{self, Dev};

/// kmemleak's control file.
const KMEMLEAK: &str = "/sys/kernel/debug/kmemleak";

/// Sets up fail-nth (see [`fail_nth::setup`]) and clears kmemleak's old reports.
fn setup() -> CaseResult {
    fail_nth::setup()?;
    if Path::new(KMEMLEAK).exists() {
        write(KMEMLEAK, "clear")?;
    }
    Ok(())
}

/// `insmod complete_dev.ko`, `open` of the device, and `insmod complete_kthread.ko` of every
/// variant, with each of their allocations failed in turn.
pub fn injection(ctx: &Ctx) -> CaseResult {
    setup()?;
    let dev_ko = ctx.opts.module.clone();
    module::unload_settled()?;
    let first = sites_before_params(&dev_ko, "timeout_ms=refused")? + 1;
    let insmod = each_site(
        "insmod complete_dev",
        first,
        || module::load_image(&dev_ko, ""),
        |_, r| {
            expect_enomem(&r)?;
            if r.is_ok() {
                // An allocation whose failure the kernel absorbed: fine, start again.
                return module::unload_settled();
            }
            ensure!(!module::is_loaded(), "module loaded after a failed insmod");
            ensure!(
                !Path::new(sys::dev_path()).exists(),
                "{} exists after a failed insmod",
                sys::dev_path()
            );
            Ok(())
        },
    )?;
    module::wait_node(true)?;
    let mut files = Vec::new();
    let opens = each_site(
        "open /dev/complete",
        1,
        || Dev::open(false),
        |_, r| {
            expect_enomem(&r)?;
            files.extend(r.ok());
            Ok(())
        },
    )?;
    drop(files);
    module::unload_settled()?;

    let kthread_ko = dev_ko.with_file_name("complete_kthread.ko");
    let mut kthread_sites = Vec::new();
    for variant in ["static", "dynamic", "onstack"] {
        kthread_sites.push(kthread_variant(&kthread_ko, variant)?);
    }
    leak_check()?;
    ctx.kmsg_now()?;
    println!(
        "# fault_injection: faults injected: insmod complete_dev {insmod}, open {opens}, \
         insmod complete_kthread static/dynamic/onstack {kthread_sites:?}"
    );
    Ok(())
}

/// Fails each allocation of `insmod complete_kthread.ko variant=...` in turn.
fn kthread_variant(ko: &Path, variant: &str) -> CaseResult<u32> {
    let params = format!("variant={variant} period_ms=50");
    let name = "complete_kthread";
    module::unload_settled_named(name)?;
    let first = sites_before_params(ko, "variant=refused")? + 1;
    let n = each_site(
        &format!("insmod {name} {params}"),
        first,
        || module::load_image(ko, &params),
        |_, r| {
            expect_enomem(&r)?;
            if r.is_ok() {
                return module::unload_settled_named(name);
            }
            ensure!(
                !module::is_loaded_named(name),
                "module loaded after a failed insmod"
            );
            Ok(())
        },
    )?;
    module::unload_settled_named(name)?;
    Ok(n)
}

/// kmemleak, where the kernel has it: two scans (as its documentation advises) after the
/// 5 s minimum age, and nothing may be reported since [`setup`] cleared the old reports.
fn leak_check() -> CaseResult {
    if !Path::new(KMEMLEAK).exists() {
        return Ok(());
    }
    std::thread::sleep(Duration::from_secs(6));
    write(KMEMLEAK, "scan")?;
    write(KMEMLEAK, "scan")?;
    let report = std::fs::read_to_string(KMEMLEAK).ctx("read kmemleak")?;
    ensure!(report.trim().is_empty(), "kmemleak reports:\n{report}");
    Ok(())
}
