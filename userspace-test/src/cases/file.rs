// SPDX-License-Identifier: GPL-2.0
//! The device file: odd arguments, per-file counters in fdinfo, the node's permissions.

use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::time::{Duration, Instant};

use super::{expect_errno, expect_ok, zero, Ctx, WAIT};
use crate::error::{CaseResult, Context};
use crate::kmsg::Event;
use crate::sys::{self, Errno, Exit, Mapping};
use crate::uapi::CompleteStatus;
use crate::{bail, ensure, ensure_eq};

/// Zero-length, unmapped and huge buffers: writes return their length and complete once each;
/// reads never touch the buffer; a zero-count read returns 0 at once and consumes nothing;
/// lseek fails with ESPIPE.
pub fn bad_input(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    let nb = ctx.open_nb()?;
    let page = sys::page_size();
    let mut want = zero();

    expect_ok(dev.write_at(0, 0), 0, "write(NULL, 0)")?;
    want.pending = 1;
    want.completes = 1;
    ctx.expect_status(&dev, want, "after a zero-length write")?;

    let none = Mapping::new(page, libc::PROT_NONE).ctx("mmap PROT_NONE")?;
    expect_ok(
        dev.write_at(none.addr(), page),
        page,
        "write from a PROT_NONE page",
    )?;
    let freed = Mapping::freed_page().ctx("mmap/munmap a page")?;
    expect_ok(
        dev.write_at(freed, page),
        page,
        "write from an unmapped page",
    )?;
    let big_len = 64 << 20;
    let big = Mapping::new(big_len, libc::PROT_READ).ctx("mmap 64 MiB")?;
    expect_ok(
        dev.write_at(big.addr(), big_len),
        big_len,
        "write of 64 MiB",
    )?;
    want.pending = 4;
    want.completes = 4;
    ctx.expect_status(&dev, want, "after four writes")?;

    expect_ok(
        sys::guarded_read_at(&dev, freed, page, 10),
        0,
        "read into an unmapped page",
    )?;
    expect_ok(
        nb.read_at(none.addr(), page),
        0,
        "O_NONBLOCK read into a PROT_NONE page",
    )?;
    want.pending = 2;
    want.reads_woken = 2;
    ctx.expect_status(&dev, want, "after two reads into bad buffers")?;

    expect_ok(
        nb.read(0),
        0,
        "O_NONBLOCK read of count 0 with completions pending",
    )?;
    ctx.expect_status(&dev, want, "after a zero-count read (nothing consumed)")?;
    for i in 0..2 {
        expect_ok(nb.read(1), 0, &format!("draining read #{i}"))?;
    }
    want.pending = 0;
    want.reads_woken = 4;
    ctx.expect_status(&dev, want, "after draining")?;

    // Nothing pending: a blocking zero-count read must still return at once.
    let start = Instant::now();
    expect_ok(
        sys::guarded_read_at(&dev, 0, 0, 10),
        0,
        "blocking read(NULL, 0)",
    )?;
    ensure!(
        start.elapsed() < Duration::from_secs(2),
        "zero-count read took {:?}",
        start.elapsed()
    );
    ctx.expect_status(&dev, want, "after a blocking zero-count read")?;
    let me = sys::getpid();
    ensure_eq!(
        ctx.count_events(me, |e| *e == Event::Sleep)?,
        1,
        "'going to sleep' lines of {me} (only the blocking one-page read may log one)"
    );

    for (name, whence) in [
        ("SEEK_SET", libc::SEEK_SET),
        ("SEEK_CUR", libc::SEEK_CUR),
        ("SEEK_END", libc::SEEK_END),
    ] {
        expect_errno(
            dev.lseek(0, whence),
            libc::ESPIPE,
            &format!("lseek(0, {name})"),
        )?;
    }
    Ok(())
}

/// The three counters of `/proc/self/fdinfo/<fd>`, in order.
pub(super) fn fd_counters(fd: i32) -> CaseResult<[u64; 3]> {
    let lines = sys::fdinfo(0, fd)?;
    let mut out = [0u64; 3];
    for (i, key) in ["complete_reads", "complete_reads_woken", "complete_writes"]
        .iter()
        .enumerate()
    {
        let Some((_, v)) = lines.iter().find(|(k, _)| k == key) else {
            bail!("/proc/self/fdinfo/{fd} has no '{key}:' line: {lines:?}");
        };
        out[i] = v
            .parse()
            .map_err(|e| format!("/proc/self/fdinfo/{fd}: {key}: {v:?}: {e}"))?;
    }
    Ok(out)
}

/// Per-file counters in fdinfo count this file's reads, successful reads and writes only.
pub fn fdinfo(ctx: &Ctx) -> CaseResult {
    let a = ctx.open_nb()?;
    let b = ctx.open_nb()?;
    ensure_eq!(fd_counters(a.raw())?, [0, 0, 0], "fdinfo of a new file");
    expect_errno(
        a.read(1),
        libc::EAGAIN,
        "O_NONBLOCK read with nothing pending",
    )?;
    for i in 0..3 {
        expect_ok(a.write(b"x"), 1, &format!("write #{i}"))?;
    }
    for i in 0..2 {
        expect_ok(a.read(1), 0, &format!("read #{i}"))?;
    }
    expect_ok(a.read(0), 0, "zero-count read")?;
    ensure_eq!(
        fd_counters(a.raw())?,
        [3, 2, 3],
        "fdinfo [reads, reads_woken, writes] of the used file"
    );
    ensure_eq!(fd_counters(b.raw())?, [0, 0, 0], "fdinfo of the other file");
    expect_ok(b.read(1), 0, "read on the other file")?;
    expect_ok(b.write(b""), 0, "zero-length write on the other file")?;
    ensure_eq!(
        fd_counters(b.raw())?,
        [1, 1, 1],
        "fdinfo of the other file after use"
    );
    ensure_eq!(
        fd_counters(a.raw())?,
        [3, 2, 3],
        "fdinfo of the first file unchanged"
    );
    let want = CompleteStatus {
        pending: 1,
        reads_woken: 3,
        reads_would_block: 1,
        completes: 4,
        ..zero()
    };
    ctx.expect_status(&a, want, "at the end")
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
