// SPDX-License-Identifier: GPL-2.0
//! Loading and unloading `complete_dev.ko` with `finit_module(2)` and `delete_module(2)`.

use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{CaseResult, Context};
use crate::sys::{self, Errno};

/// The module's name: `complete_dev`, or `$COMPLETE_DEV_MODULE` (with `COMPLETE_DEV_PATH`,
/// another driver's).
pub fn name() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::env::var("COMPLETE_DEV_MODULE").unwrap_or_else(|_| "complete_dev".to_string())
    })
}

/// How long `/dev/complete` may take to appear or disappear, and `rmmod` to be accepted.
const SETTLE: Duration = Duration::from_secs(10);

/// Whether the module is loaded.
pub fn is_loaded() -> bool {
    is_loaded_named(name())
}

/// Whether the module `name` is loaded.
pub fn is_loaded_named(name: &str) -> bool {
    Path::new("/sys/module").join(name).exists()
}

/// Loads the module file at `path` with the space-separated `params`.
pub fn load(path: &Path, params: &str) -> Result<(), Errno> {
    let p = path.to_str().ok_or(Errno(libc::EINVAL))?;
    let fd = sys::open(p, libc::O_RDONLY)?;
    let args = sys::cstring(params)?;
    // SAFETY: `fd` is an open file and `args` a NUL-terminated string, both live for the call.
    let r = unsafe { libc::syscall(libc::SYS_finit_module, fd.as_raw_fd(), args.as_ptr(), 0) };
    if r == 0 {
        return Ok(());
    }
    let e = Errno::last();
    if e.0 != libc::ENOSYS {
        return Err(e);
    }
    // No finit_module: hand the image over with init_module.
    load_image(path, params)
}

/// Loads the module file at `path` with `init_module(2)`, the image read by us: unlike
/// `finit_module`, whose kernel-side read of the file warns with a stack dump when its `vmalloc`
/// fails, every allocation of this path fails quietly (`__GFP_NOWARN`), which fault injection
/// needs.
pub fn load_image(path: &Path, params: &str) -> Result<(), Errno> {
    let image = std::fs::read(path).map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::EIO)))?;
    let args = sys::cstring(params)?;
    // SAFETY: `image` and `args` are valid for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_init_module,
            image.as_ptr(),
            image.len(),
            args.as_ptr(),
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}

/// `delete_module(name(), O_NONBLOCK)`, as `rmmod` does: refused while in use.
pub fn unload() -> Result<(), Errno> {
    unload_named(name())
}

/// `delete_module(name, O_NONBLOCK)`, as `rmmod` does: refused while in use.
pub fn unload_named(name: &str) -> Result<(), Errno> {
    let name = sys::cstring(name)?;
    // SAFETY: `name` is a NUL-terminated string live for the call.
    let r = unsafe { libc::syscall(libc::SYS_delete_module, name.as_ptr(), libc::O_NONBLOCK) };
    if r == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}

/// Unloads the module if loaded, retrying while it is busy (a reader still exiting), then waits
/// for `/dev/complete` to go.
pub fn unload_settled() -> CaseResult {
    unload_settled_named(name())?;
    wait_node(false)
}

/// Unloads the module `name` if loaded, retrying while it is busy (still initialising, or a
/// user still exiting).
pub fn unload_settled_named(name: &str) -> CaseResult {
    let end = Instant::now() + SETTLE;
    while is_loaded_named(name) {
        match unload_named(name) {
            Ok(()) => break,
            Err(e) if (e.0 == libc::EAGAIN || e.0 == libc::EBUSY) && Instant::now() < end => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e).with_ctx(|| format!("delete_module({name})")),
        }
    }
    Ok(())
}

/// Loads the module afresh with `params` (unloading a loaded one first, so every counter starts
/// at zero) and waits for `/dev/complete`.
pub fn load_fresh(path: &Path, params: &str) -> CaseResult {
    unload_settled()?;
    load(path, params).with_ctx(|| format!("finit_module({}, \"{params}\")", path.display()))?;
    wait_node(true)
}

/// Waits until `/dev/complete` exists (`present`) or is gone.
pub fn wait_node(present: bool) -> CaseResult {
    let what = if present {
        "/dev/complete to appear"
    } else {
        "/dev/complete to disappear"
    };
    sys::poll_until(SETTLE, what, || {
        Ok(if Path::new(sys::dev_path()).exists() == present {
            Ok(())
        } else {
            Err(format!("exists: {}", !present))
        })
    })
}
