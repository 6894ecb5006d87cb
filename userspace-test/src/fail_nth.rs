// SPDX-License-Identifier: GPL-2.0
//! Failing a call's allocations one at a time, with the kernel's `fail-nth`.
//!
//! `/proc/thread-self/fail-nth` (`CONFIG_FAULT_INJECTION`) makes the N-th fault-injection site
//! this thread reaches fail; with failslab on for `GFP_KERNEL` allocations ([`setup`]),
//! [`each_site`] runs a call with N = first, first + 1, ... until it completes without reaching
//! the N-th site, and judges every call whose fault fired. It reaches the allocations made in
//! this thread only: those of `init_module` and of the module's init (the caller's side of a
//! `kthread_create()` too), not those of other tasks, such as a kernel thread the module's init
//! started, or `kthreadd` creating the thread. Used by the `fault_injection` and
//! `kthread_create_fails` cases; `kthread_onstack_create_fails` arms a kernel thread's own
//! fail-nth ([`write`] to `/proc/N/fail-nth`).

use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{CaseError, CaseResult, Context};
use crate::module;
use crate::sys;
use crate::{bail, ensure};

/// The failslab knobs.
const FAILSLAB: &str = "/sys/kernel/debug/failslab";
/// The page allocator's knobs.
const FAIL_PAGE_ALLOC: &str = "/sys/kernel/debug/fail_page_alloc";
/// This thread's fail-nth.
const FAIL_NTH: &str = "/proc/thread-self/fail-nth";
/// KUnit's suite filter for module loads: the suites would otherwise run at every `insmod`.
const KUNIT_FILTER: &str = "/sys/module/kunit/parameters/filter_glob";
/// More allocation sites than any one call here has.
const MAX_SITES: u32 = 2000;

/// Writes `value` to the file at `path`.
pub fn write(path: &str, value: &str) -> CaseResult {
    std::fs::write(path, value).with_ctx(|| format!("write '{value}' to {path}"))
}

/// Sets up failslab so that `fail-nth` reaches `GFP_KERNEL` allocations, quietly, and keeps the
/// page allocator out of it (a failed page allocation prints a warning with a stack dump).
/// Skips the case, saying which kernels cannot run it, where the kernel has no fault injection.
pub fn setup() -> CaseResult {
    for (p, what) in [
        (FAIL_NTH, "CONFIG_FAULT_INJECTION"),
        (
            FAILSLAB,
            "CONFIG_FAILSLAB and CONFIG_FAULT_INJECTION_DEBUG_FS",
        ),
        (
            FAIL_PAGE_ALLOC,
            "CONFIG_FAIL_PAGE_ALLOC and CONFIG_FAULT_INJECTION_DEBUG_FS",
        ),
    ] {
        if !Path::new(p).exists() {
            return Err(CaseError::Skip(format!(
                "no {p}: this case needs fault injection, and a kernel without {what} (or with \
                 debugfs not mounted) cannot run it; userspace-test/config lists the options, \
                 which the kernels of `make check` have"
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
pub fn sites_before_params(ko: &Path, bad_param: &str) -> CaseResult<u32> {
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
pub fn each_site<T>(
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
pub fn expect_enomem<T>(r: &Result<T, sys::Errno>) -> CaseResult {
    match r {
        Err(e) if e.0 == libc::ENOMEM => Ok(()),
        Err(e) => bail!("expected ENOMEM, got {e}"),
        Ok(_) => Ok(()),
    }
}
