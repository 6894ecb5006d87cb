// SPDX-License-Identifier: GPL-2.0
//! The cgroup freezers against a sleeping reader, in every wait mode, with and without
//! `timeout_ms`.
//!
//! cgroup v2 (`cgroup.freeze`) sets `JOBCTL_TRAP_FREEZE` and wakes the task as a signal would
//! (`signal_wake_up(task, false)`: `TASK_INTERRUPTIBLE` only); the task freezes on its way back
//! to userspace (`kernel/cgroup/freezer.c`). The v1 freezer controller (`freezer.state`) calls
//! `freeze_task()` (`kernel/freezer.c`): a task asleep in a state without `TASK_FREEZABLE`, as
//! the driver's waits are, gets `fake_signal_wake_up()` (again `TASK_INTERRUPTIBLE` only) and
//! freezes in `get_signal()`. Either way an interruptible read is woken with `-ERESTARTSYS`
//! (`-ERESTARTNOHAND` when timed), the task freezes, and after the thaw, with no handler run,
//! the read restarts and sleeps again; a killable or uninterruptible reader is not woken, so the
//! freeze does not complete while it sleeps.

use std::path::{Path, PathBuf};

use super::{expect_ok, within, zero, Ctx, QUIET, WAIT};
use crate::error::{CaseResult, Context};
use crate::kmsg::Event;
use crate::readers::{ReaderOpts, Readers};
use crate::sys;
use crate::uapi::CompleteStatus;
use crate::{bail, ensure_eq};

/// One freezer cgroup with a reader in it.
trait Freezer {
    /// The cgroup directory.
    fn dir(&self) -> &Path;
    /// Freezes (`true`) or thaws the cgroup.
    fn freeze(&self, on: bool) -> CaseResult;
    /// The cgroup's freezer state as its files show it: `frozen 0`/`frozen 1` (v2),
    /// `THAWED`/`FREEZING`/`FROZEN` (v1).
    fn state(&self) -> CaseResult<String>;
    /// What [`Freezer::state`] says once the freeze completed.
    fn frozen(&self) -> &'static str;
    /// What it says while the freeze waits for a task.
    fn freezing(&self) -> &'static str;
    /// Moves process `pid` into the cgroup.
    fn add(&self, pid: i32) -> CaseResult {
        write(&self.dir().join("cgroup.procs"), &pid.to_string())
    }
}

/// Writes `value` to the cgroup file `path`.
fn write(path: &Path, value: &str) -> CaseResult {
    std::fs::write(path, value).with_ctx(|| format!("write {value:?} to {}", path.display()))
}

/// Reads the cgroup file `path`.
fn read(path: &Path) -> CaseResult<String> {
    std::fs::read_to_string(path).with_ctx(|| format!("read {}", path.display()))
}

/// Whether a filesystem of type `fstype` is mounted at `dir` (`/proc/mounts`).
fn mounted(dir: &Path, fstype: &str) -> CaseResult<bool> {
    let mounts = read(Path::new("/proc/mounts"))?;
    let dir = dir.to_string_lossy();
    Ok(mounts.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 2 && f[1] == dir && f[2] == fstype
    }))
}

/// `mount -t fstype -o data none dir`, creating `dir`.
fn mount(dir: &Path, fstype: &str, data: &str) -> CaseResult {
    std::fs::create_dir_all(dir).with_ctx(|| format!("mkdir {}", dir.display()))?;
    let (src, target, ty) = (
        sys::cstring("none"),
        sys::cstring(&dir.to_string_lossy()),
        sys::cstring(fstype),
    );
    let data = sys::cstring(data);
    let (Ok(src), Ok(target), Ok(ty), Ok(data)) = (src, target, ty, data) else {
        bail!("mount {}: a NUL in the arguments", dir.display());
    };
    // SAFETY: every pointer is a valid NUL-terminated string for the duration of the call.
    let r = unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            ty.as_ptr(),
            0,
            data.as_ptr().cast(),
        )
    };
    sys::cvt(r).with_ctx(|| {
        format!(
            "mount -t {fstype} -o {data:?} none {} (CONFIG_CGROUPS, CONFIG_CGROUP_FREEZER?)",
            dir.display()
        )
    })?;
    Ok(())
}

/// `umount dir`.
fn umount(dir: &Path) {
    if let Ok(target) = sys::cstring(&dir.to_string_lossy()) {
        // SAFETY: `target` is a valid NUL-terminated string for the duration of the call.
        unsafe { libc::umount(target.as_ptr()) };
    }
}

/// A child cgroup of the cgroup v2 hierarchy (mounted for the case if it is not).
struct V2 {
    dir: PathBuf,
    /// The mount point this case made, unmounted on drop.
    mounted_here: Option<PathBuf>,
}

impl V2 {
    fn new() -> CaseResult<Self> {
        let root = PathBuf::from("/sys/fs/cgroup");
        let (root, mounted_here) = if mounted(&root, "cgroup2")? {
            (root, None)
        } else {
            let mine = PathBuf::from("/tmp/ct-cgroup2");
            if !mounted(&mine, "cgroup2")? {
                mount(&mine, "cgroup2", "")?;
            }
            (mine.clone(), Some(mine))
        };
        let dir = root.join("ct-freezer");
        let _ = std::fs::remove_dir(&dir);
        std::fs::create_dir(&dir).with_ctx(|| format!("mkdir {}", dir.display()))?;
        Ok(Self { dir, mounted_here })
    }
}

impl Freezer for V2 {
    fn dir(&self) -> &Path {
        &self.dir
    }
    fn freeze(&self, on: bool) -> CaseResult {
        write(&self.dir.join("cgroup.freeze"), if on { "1" } else { "0" })
    }
    fn state(&self) -> CaseResult<String> {
        let events = read(&self.dir.join("cgroup.events"))?;
        events
            .lines()
            .find(|l| l.starts_with("frozen "))
            .map(str::to_string)
            .ok_or_else(|| format!("no 'frozen' line in cgroup.events: {events:?}").into())
    }
    fn frozen(&self) -> &'static str {
        "frozen 1"
    }
    fn freezing(&self) -> &'static str {
        "frozen 0"
    }
}

impl Drop for V2 {
    fn drop(&mut self) {
        let _ = self.freeze(false);
        let _ = std::fs::remove_dir(&self.dir);
        if let Some(m) = &self.mounted_here {
            umount(m);
        }
    }
}

/// A child cgroup of a v1 hierarchy with the freezer controller, mounted for the case.
struct V1 {
    root: PathBuf,
    dir: PathBuf,
}

impl V1 {
    fn new() -> CaseResult<Self> {
        let root = PathBuf::from("/tmp/ct-freezer-v1");
        if !mounted(&root, "cgroup")? {
            mount(&root, "cgroup", "freezer")?;
        }
        let dir = root.join("ct-freezer");
        let _ = std::fs::remove_dir(&dir);
        std::fs::create_dir(&dir).with_ctx(|| format!("mkdir {}", dir.display()))?;
        Ok(Self { root, dir })
    }
}

impl Freezer for V1 {
    fn dir(&self) -> &Path {
        &self.dir
    }
    fn freeze(&self, on: bool) -> CaseResult {
        write(
            &self.dir.join("freezer.state"),
            if on { "FROZEN" } else { "THAWED" },
        )
    }
    fn state(&self) -> CaseResult<String> {
        Ok(read(&self.dir.join("freezer.state"))?.trim().to_string())
    }
    fn frozen(&self) -> &'static str {
        "FROZEN"
    }
    fn freezing(&self) -> &'static str {
        "FREEZING"
    }
}

impl Drop for V1 {
    fn drop(&mut self) {
        let _ = self.freeze(false);
        let _ = std::fs::remove_dir(&self.dir);
        umount(&self.root);
    }
}

/// cgroup v2's `cgroup.freeze` against a sleeping reader (see [`cycle`]).
pub fn cgroup2(ctx: &Ctx) -> CaseResult {
    every_mode(ctx, &|| Ok(Box::new(V2::new()?)))
}

/// The v1 freezer controller's `freezer.state` against a sleeping reader (see [`cycle`]).
pub fn v1(ctx: &Ctx) -> CaseResult {
    every_mode(ctx, &|| Ok(Box::new(V1::new()?)))
}

type MakeFreezer = dyn Fn() -> CaseResult<Box<dyn Freezer>>;

fn every_mode(ctx: &Ctx, make: &MakeFreezer) -> CaseResult {
    for mode in ["interruptible", "killable", "uninterruptible"] {
        for timeout_ms in [0, 60_000] {
            let what = format!("wait_mode={mode} timeout_ms={timeout_ms}");
            within(&what, cycle(ctx, make, mode, timeout_ms))?;
        }
    }
    Ok(())
}

/// One freeze and thaw of a sleeping reader, then a write.
///
/// Interruptible: the freeze completes; the reader logged `gave up waiting: ERESTARTSYS`
/// (`ERESTARTNOHAND` when timed) and froze; after the thaw it logs `going to sleep` again and the
/// write ends its read with 0 (before `-ERESTARTNOHAND`, a timed read failed with EINTR here).
/// Killable and uninterruptible: the freeze does not complete while the reader sleeps (it is
/// never woken), the reader logs nothing until the write, which it reads after the thaw.
fn cycle(ctx: &Ctx, make: &MakeFreezer, mode: &str, timeout_ms: u32) -> CaseResult {
    ctx.load(&format!("wait_mode={mode} timeout_ms={timeout_ms}"))?;
    ctx.kmsg().mark().ctx("lseek(/dev/kmsg, SEEK_END)")?;
    {
        let dev = ctx.open()?;
        // Made first, dropped last: the readers are released and reaped before the cgroup goes.
        let fr = make()?;
        let mut rd = Readers::new()?;
        let pid = rd.spawn("ct-frozen", ReaderOpts::default())?;
        let interruptible = mode == "interruptible";
        let asleep = if interruptible { 'S' } else { 'D' };
        ctx.wait_asleep(pid, asleep)?;
        fr.add(pid)?;
        fr.freeze(true)?;
        let mut want_lines = vec![Event::Sleep];
        if interruptible {
            let want = fr.frozen();
            sys::poll_until(WAIT, &format!("freezer state '{want}'"), || {
                let st = fr.state()?;
                Ok(if st == want { Ok(()) } else { Err(st) })
            })?;
            let why = if timeout_ms == 0 {
                "ERESTARTSYS"
            } else {
                "ERESTARTNOHAND"
            };
            want_lines.push(Event::GaveUp(why.into()));
        } else {
            std::thread::sleep(QUIET);
            ensure_eq!(
                fr.state()?,
                fr.freezing(),
                "freezer state with the reader asleep in {asleep}"
            );
            ensure_eq!(sys::proc_state(pid)?, asleep, "state of reader {pid}");
        }
        ensure_eq!(
            ctx.read_events(pid)?,
            want_lines,
            "driver lines of reader {pid} while frozen"
        );
        rd.expect_silence(QUIET, "while frozen")?;
        fr.freeze(false)?;
        if interruptible {
            // No handler ran: the read restarts.
            ctx.wait_events(pid, 2, "going to sleep", |e| *e == Event::Sleep)?;
            want_lines.push(Event::Sleep);
        }
        ctx.wait_asleep(pid, asleep)?;
        ctx.wait_sleepers(&dev, 1)?;
        rd.expect_silence(QUIET, "after the thaw")?;
        expect_ok(dev.write(b"x"), 1, "write(1 byte)")?;
        rd.report_from(pid, WAIT, "after the write")?.expect_ok()?;
        rd.reap_ok(pid, WAIT)?;
        want_lines.push(Event::Awoken);
        ensure_eq!(
            ctx.read_events(pid)?,
            want_lines,
            "driver lines of reader {pid}"
        );
        let want = CompleteStatus {
            reads_woken: 1,
            reads_interrupted: u64::from(interruptible),
            completes: 1,
            ..zero()
        };
        ctx.expect_status(&dev, want, "after the thawed reader was woken")?;
    }
    crate::module::unload_settled()
}
