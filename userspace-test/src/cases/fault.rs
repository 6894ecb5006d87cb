// SPDX-License-Identifier: GPL-2.0
//! Fault injection: every allocation our modules make, failed in turn.
//!
//! The kernel's `fail-nth` (`/proc/thread-self/fail-nth`, `CONFIG_FAULT_INJECTION`) makes the
//! N-th fault-injection site this thread reaches fail. With failslab on for `GFP_KERNEL`
//! allocations, a loop over N = 1, 2, ... fails each allocation of one call in turn (the
//! kernel's own in `init_module`, then the module's: the misc device registration, the kthread
//! creations and their packets, the dynamic completion; in `open`, the per-file allocation),
//! until a call runs without reaching the N-th site. Every failed call must fail cleanly (an
//! errno, nothing half-registered), and afterwards the module must unload and kmemleak find
//! nothing. The case skips on a kernel without fault injection; the sanitizer kernel
//! (`make check SANITIZE=1`) has it, and there it must run.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

use super::Ctx;
use crate::error::{CaseError, CaseResult, Context};
use crate::module;
use crate::sys::{self, Dev};
use crate::{bail, ensure};

/// The failslab knobs.
const FAILSLAB: &str = "/sys/kernel/debug/failslab";
/// The page allocator's knobs.
const FAIL_PAGE_ALLOC: &str = "/sys/kernel/debug/fail_page_alloc";
/// This thread's fail-nth.
const FAIL_NTH: &str = "/proc/thread-self/fail-nth";
/// kmemleak's control file.
const KMEMLEAK: &str = "/sys/kernel/debug/kmemleak";
/// KUnit's suite filter for module loads: the suites would otherwise run at every `insmod`.
const KUNIT_FILTER: &str = "/sys/module/kunit/parameters/filter_glob";
/// More allocation sites than any one call here has.
const MAX_SITES: u32 = 2000;

fn write(path: &str, value: &str) -> CaseResult {
    std::fs::write(path, value).with_ctx(|| format!("write '{value}' to {path}"))
}

/// Sets up failslab so that `fail-nth` reaches `GFP_KERNEL` allocations, quietly, and keeps the
/// page allocator out of it (a failed page allocation prints a warning with a stack dump).
fn setup() -> CaseResult {
    for p in [FAILSLAB, FAIL_PAGE_ALLOC, FAIL_NTH] {
        if !Path::new(p).exists() {
            return Err(CaseError::Skip(format!(
                "no {p}: the kernel has no fault injection (CONFIG_FAULT_INJECTION, FAILSLAB, \
                 FAIL_PAGE_ALLOC, FAULT_INJECTION_DEBUG_FS; `make check SANITIZE=1` has them)"
            )));
        }
    }
    write(&format!("{FAILSLAB}/ignore-gfp-wait"), "N")?;
    write(&format!("{FAILSLAB}/verbose"), "0")?;
    write(&format!("{FAIL_PAGE_ALLOC}/verbose"), "0")?;
    // Order 11 is above MAX_PAGE_ORDER: the page allocator never takes the fault.
    write(&format!("{FAIL_PAGE_ALLOC}/min-order"), "11")?;
    if Path::new(KUNIT_FILTER).exists() {
        write(KUNIT_FILTER, "no_suite_matches_this")?;
    }
    if Path::new(KMEMLEAK).exists() {
        write(KMEMLEAK, "clear")?;
    }
    Ok(())
}

/// This thread's `fail-nth`, opened once: opening it allocates, and with a fault armed that
/// allocation would take the fault.
struct FailNth(std::fs::File);

impl FailNth {
    fn open() -> CaseResult<Self> {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(FAIL_NTH)
            .ctx("open fail-nth")?;
        Ok(Self(f))
    }

    /// Arms a fault at the `n`-th site (0 disarms).
    fn set(&self, n: u32) -> CaseResult {
        self.0
            .write_at(n.to_string().as_bytes(), 0)
            .with_ctx(|| format!("write {n} to {FAIL_NTH}"))
            .map(|_| ())
    }

    /// Whether the armed fault fired (the count reads 0 once it did).
    fn fired(&self) -> CaseResult<bool> {
        let mut buf = [0u8; 16];
        let n = self.0.read_at(&mut buf, 0).ctx("read fail-nth")?;
        Ok(String::from_utf8_lossy(&buf[..n]).trim() == "0")
    }
}

/// How many fault sites a load of `ko` reaches before the module's parameters are parsed: a
/// load with a refused parameter value stops right there. The module loader's own allocations
/// come before that point, and some of them warn with a stack dump when they fail
/// (`kasan_alloc_module_shadow()` and `execmem` `vmalloc` without `__GFP_NOWARN`), which is the
/// kernel's reaction, not a bug of ours; every allocation of the module's own code (its init,
/// and the sysfs and notifier work around it) comes after.
fn sites_before_params(ko: &Path, bad_param: &str) -> CaseResult<u32> {
    const ARMED: u32 = 1_000_000;
    let nth = FailNth::open()?;
    nth.set(ARMED)?;
    let r = module::load_image(ko, bad_param);
    let mut buf = [0u8; 16];
    let n = nth.0.read_at(&mut buf, 0).ctx("read fail-nth")?;
    nth.set(0)?;
    let left: u32 = String::from_utf8_lossy(&buf[..n])
        .trim()
        .parse()
        .map_err(|e| format!("fail-nth reads {:?}: {e}", &buf[..n]))?;
    match r {
        Err(e) if e.0 == libc::EINVAL => Ok(ARMED - left),
        other => bail!(
            "insmod {} \"{bad_param}\": expected EINVAL, got {other:?}",
            ko.display()
        ),
    }
}

/// Runs `call` with fail-nth = n for n = first, first + 1, ... until it completes without
/// reaching the n-th site; `check` judges each call whose fault fired. Returns how many faults
/// fired.
fn each_site<T>(
    what: &str,
    first: u32,
    mut call: impl FnMut() -> Result<T, sys::Errno>,
    mut check: impl FnMut(u32, Result<T, sys::Errno>) -> CaseResult,
) -> CaseResult<u32> {
    let nth = FailNth::open()?;
    for n in first..=first + MAX_SITES {
        nth.set(n)?;
        let r = call();
        let fired = nth.fired()?;
        nth.set(0)?;
        if !fired {
            // The fault did not fire: every site passed. The call must have succeeded.
            ensure!(r.is_ok(), "{what}: failed without an injected fault");
            return Ok(n - first);
        }
        check(n, r).map_err(|e| match e {
            CaseError::Fail(s) => CaseError::Fail(format!("{what}, fault at site {n}: {s}")),
            skip => skip,
        })?;
    }
    bail!("{what}: more than {MAX_SITES} fault sites")
}

/// A failed call must say ENOMEM.
fn expect_enomem<T>(r: &Result<T, sys::Errno>) -> CaseResult {
    match r {
        Err(e) if e.0 == libc::ENOMEM => Ok(()),
        Err(e) => bail!("expected ENOMEM, got {e}"),
        Ok(_) => Ok(()),
    }
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
                !Path::new(sys::DEV_PATH).exists(),
                "{} exists after a failed insmod",
                sys::DEV_PATH
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
