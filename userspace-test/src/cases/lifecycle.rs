// SPDX-License-Identifier: GPL-2.0
//! The module's life: unloading, the node's permissions, refused parameters, a clean log.

use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::time::Duration;

use super::{expect_ok, Ctx, WAIT};
use crate::error::{CaseResult, Context};
use crate::kmsg;
use crate::module;
use crate::readers::{ReaderOpts, Readers};
use crate::sys::{self, Dev, Errno, Exit};
use crate::{bail, ensure, ensure_eq};

/// insmod/rmmod cycles of the `unload` case.
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
        Path::new(sys::DEV_PATH).exists(),
        "{} gone after a refused rmmod ({why})",
        sys::DEV_PATH
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
        sys::DEV_PATH,
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

/// `/dev/complete` is a root-only (0600) character device: a process dropped to uid/gid 65534
/// gets EACCES.
pub fn permissions(_ctx: &Ctx) -> CaseResult {
    let md = std::fs::metadata(sys::DEV_PATH).ctx("stat /dev/complete")?;
    ensure!(
        md.file_type().is_char_device(),
        "{} is not a character device",
        sys::DEV_PATH
    );
    ensure_eq!(md.mode() & 0o777, 0o600, "mode of {}", sys::DEV_PATH);
    ensure_eq!((md.uid(), md.gid()), (0, 0), "owner of {}", sys::DEV_PATH);

    let (rx, tx) = sys::pipe().ctx("pipe2")?;
    let txfd = tx.as_raw_fd();
    let pid = sys::fork_child("ct-nobody", || {
        let say = |s: String| sys::write_fd(txfd, s.as_bytes()).map(|_| 0).unwrap_or(5);
        // SAFETY: plain credential system calls with valid (empty) arguments.
        let steps = unsafe {
            [
                ("setgroups([])", libc::setgroups(0, std::ptr::null())),
                ("setgid(65534)", libc::setgid(65534)),
                ("setuid(65534)", libc::setuid(65534)),
            ]
        };
        for (name, r) in steps {
            if r != 0 {
                return say(format!("{name} failed: {}", Errno::last()));
            }
        }
        if sys::geteuid() != 65534 {
            return say(format!("euid is {} after setuid", sys::geteuid()));
        }
        let mut out = String::new();
        for (name, flags) in [("O_RDWR", libc::O_RDWR), ("O_RDONLY", libc::O_RDONLY)] {
            match sys::open(sys::DEV_PATH, flags) {
                Ok(_) => out.push_str(&format!("{name}:ok ")),
                Err(e) => out.push_str(&format!("{name}:{} ", e.name())),
            }
        }
        say(out)
    })
    .ctx("fork")?;
    drop(tx);
    let data = sys::read_fd_timeout(rx.as_raw_fd(), WAIT).ctx("read the child's report")?;
    let st = sys::wait_exit(pid, WAIT).with_ctx(|| format!("waitpid({pid})"))?;
    let said = String::from_utf8_lossy(&data).trim().to_string();
    ensure_eq!(
        st,
        Some(Exit::Code(0)),
        "exit of unprivileged child {pid} (it said {said:?})"
    );
    ensure_eq!(
        said.as_str(),
        "O_RDWR:EACCES O_RDONLY:EACCES",
        "open(/dev/complete) as uid 65534"
    );
    Ok(())
}

/// Out-of-range parameters make insmod fail, leave nothing loaded, and the driver logs why.
pub fn params_refused(ctx: &Ctx) -> CaseResult {
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
