// SPDX-License-Identifier: GPL-2.0
//! The device file: odd arguments, per-file counters in fdinfo and its exact text, the node's
//! permissions, access mode 3.

use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::time::{Duration, Instant};

use super::{expect_errno, expect_ok, zero, Ctx, WAIT};
use crate::error::{CaseResult, Context};
use crate::kmsg::Event;
use crate::readers::{ReaderOpts, Readers};
use crate::sys::{self, Dev, Errno, Exit, Mapping};
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
/// gets EACCES, whatever the access mode.
pub fn permissions(_ctx: &Ctx) -> CaseResult {
    let md = std::fs::metadata(sys::dev_path()).ctx("stat /dev/complete")?;
    ensure!(
        md.file_type().is_char_device(),
        "{} is not a character device",
        sys::dev_path()
    );
    ensure_eq!(md.mode() & 0o777, 0o600, "mode of {}", sys::dev_path());
    ensure_eq!((md.uid(), md.gid()), (0, 0), "owner of {}", sys::dev_path());
    let said = nobody_opens()?;
    ensure_eq!(
        said.as_str(),
        "O_RDWR:EACCES O_RDONLY:EACCES O_WRONLY:EACCES 3:EACCES",
        "open(/dev/complete) as uid 65534"
    );
    Ok(())
}

/// Opens `/dev/complete` in each access mode (`O_RDWR`, `O_RDONLY`, `O_WRONLY`, 3) from a child
/// dropped to uid/gid 65534 with no groups; returns `mode:ok` or `mode:ERRNO` for each, in that
/// order, space-separated.
fn nobody_opens() -> CaseResult<String> {
    let (rx, tx) = sys::pipe().ctx("pipe2")?;
    let txfd = tx.as_raw_fd();
    // The child opens the node relative to its directory, opened here: only the node's own mode
    // decides, not whether uid 65534 may search the directories above (the VM's / is 0700).
    let (dir, node) = ("/dev", "complete");
    ensure_eq!(
        format!("{dir}/{node}"),
        sys::dev_path(),
        "the node's directory and name"
    );
    let dir = sys::open(dir, libc::O_PATH | libc::O_DIRECTORY).ctx("open /dev O_PATH")?;
    let dirfd = dir.as_raw_fd();
    let node = sys::cstring(node).ctx("the node's name")?;
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
        let mut out = Vec::new();
        for (name, flags) in [
            ("O_RDWR", libc::O_RDWR),
            ("O_RDONLY", libc::O_RDONLY),
            ("O_WRONLY", libc::O_WRONLY),
            ("3", libc::O_ACCMODE),
        ] {
            // SAFETY: `node` is NUL-terminated and `dirfd` an open directory, both live for
            // the call.
            let fd = unsafe { libc::openat(dirfd, node.as_ptr(), flags | libc::O_CLOEXEC) };
            if fd >= 0 {
                // SAFETY: `fd` was just opened here and is owned by nobody else.
                unsafe { libc::close(fd) };
                out.push(format!("{name}:ok"));
            } else {
                out.push(format!("{name}:{}", Errno::last().name()));
            }
        }
        say(out.join(" "))
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
    Ok(said)
}

/// The exact text of `/proc/<pid>/fdinfo/<fd>` for a file of `/dev/complete` opened with
/// `flags` (`O_CLOEXEC` included, which fdinfo shows for a close-on-exec descriptor) with these
/// counters `[reads, reads_woken, writes]`: the VFS's four lines (`fs/proc/fd.c` `seq_show()`:
/// the position, never moved from 0; the flags in octal with a leading 0, `O_LARGEFILE` added by
/// `open()`; the mount id and inode number of the node), then the driver's three.
fn fdinfo_want(flags: i32, counters: [u64; 3]) -> CaseResult<String> {
    let (mnt_id, ino) = sys::mnt_id_ino(sys::dev_path()).ctx("statx /dev/complete")?;
    let [reads, woken, writes] = counters;
    Ok(format!(
        "pos:\t0\nflags:\t0{:o}\nmnt_id:\t{mnt_id}\nino:\t{ino}\n\
         complete_reads:\t{reads}\ncomplete_reads_woken:\t{woken}\ncomplete_writes:\t{writes}\n",
        flags | sys::KERNEL_O_LARGEFILE
    ))
}

/// Fails unless `/proc/<pid>/fdinfo/<fd>` (`pid` 0: self) is exactly [`fdinfo_want`].
fn expect_fdinfo(pid: i32, fd: i32, flags: i32, counters: [u64; 3], what: &str) -> CaseResult {
    let want = fdinfo_want(flags, counters)?;
    let got = sys::fdinfo_text(pid, fd)?;
    ensure!(
        got == want,
        "fdinfo of {what} (pid {pid}, fd {fd}):\n got      {got:?}\n expected {want:?}"
    );
    Ok(())
}

/// The text of fdinfo, byte for byte: the VFS's lines with the flags each file was opened with,
/// then the driver's counters after reads and writes the case made; the file of a reader asleep
/// in `read()`, seen from another process, already counts that read (`complete_reads: 1`) but not
/// as woken; a thread's file, read while the thread sleeps and after a write woke it.
pub fn fdinfo_exact(ctx: &Ctx) -> CaseResult {
    let cloexec = libc::O_CLOEXEC;
    let a = Dev::open_flags(libc::O_RDWR | libc::O_NONBLOCK).ctx("open O_RDWR|O_NONBLOCK")?;
    let a_flags = libc::O_RDWR | libc::O_NONBLOCK | cloexec;
    let w = Dev::open_flags(libc::O_WRONLY).ctx("open O_WRONLY")?;
    let w_flags = libc::O_WRONLY | cloexec;
    expect_fdinfo(
        0,
        a.raw(),
        a_flags,
        [0, 0, 0],
        "a new O_RDWR|O_NONBLOCK file",
    )?;
    expect_fdinfo(0, w.raw(), w_flags, [0, 0, 0], "a new O_WRONLY file")?;
    for i in 0..3 {
        expect_ok(w.write(b"x"), 1, &format!("write #{i} on O_WRONLY"))?;
    }
    for i in 0..2 {
        expect_ok(a.write(b"xy"), 2, &format!("write #{i} on O_RDWR"))?;
    }
    for i in 0..5 {
        expect_ok(a.read(1), 0, &format!("read #{i}"))?;
    }
    for i in 0..2 {
        expect_errno(
            a.read(1),
            libc::EAGAIN,
            &format!("read #{i} with nothing pending"),
        )?;
    }
    expect_ok(a.read(0), 0, "zero-count read (not counted)")?;
    expect_fdinfo(
        0,
        a.raw(),
        a_flags,
        [7, 5, 2],
        "the O_RDWR|O_NONBLOCK file after use",
    )?;
    expect_fdinfo(
        0,
        w.raw(),
        w_flags,
        [0, 0, 3],
        "the O_WRONLY file after use",
    )?;

    // A reader process asleep in read(): its own file, found in its fd table (it also inherited
    // ours, which share our files).
    let ours = sys::fds_of(sys::getpid(), sys::dev_path())?;
    let mut rd = Readers::new()?;
    let pid = rd.spawn("ct-fdinfo", ReaderOpts::default())?;
    ctx.wait_asleep(pid, 'S')?;
    let theirs: Vec<i32> = sys::fds_of(pid, sys::dev_path())?
        .into_iter()
        .filter(|fd| !ours.contains(fd))
        .collect();
    let [fd] = theirs[..] else {
        bail!("reader {pid} has {theirs:?} as its own /dev/complete descriptors, expected one");
    };
    expect_fdinfo(
        pid,
        fd,
        libc::O_RDONLY | cloexec,
        [1, 0, 0],
        "a reader asleep in read()",
    )?;
    expect_ok(w.write(b"x"), 1, "write to wake the reader")?;
    rd.report_from(pid, WAIT, "after the write")?.expect_ok()?;
    rd.reap_ok(pid, WAIT)?;

    // A thread asleep in read() on a file of this process.
    let t = Dev::open_flags(libc::O_RDWR).ctx("open O_RDWR")?;
    let t_fd = t.raw();
    let t_flags = libc::O_RDWR | cloexec;
    let sleeper = std::thread::spawn(move || {
        let r = t.read(1);
        (t, r)
    });
    let asleep = (|| {
        ctx.wait_sleepers(&w, 1)?;
        expect_fdinfo(
            0,
            t_fd,
            t_flags,
            [1, 0, 0],
            "a thread's file, the thread asleep",
        )?;
        expect_ok(w.write(b"x"), 1, "write to wake the thread")
    })();
    if asleep.is_err() {
        // Let the thread go whatever happened, so that it can be joined.
        let _ = w.ioctl(sys::IOC_COMPLETE_ALL, 0);
    }
    let (t, r) = sleeper
        .join()
        .map_err(|_| "the sleeping thread panicked".to_string())?;
    asleep?;
    expect_ok(r, 0, "the thread's read")?;
    expect_fdinfo(
        0,
        t.raw(),
        t_flags,
        [1, 1, 0],
        "a thread's file after its read",
    )?;
    expect_fdinfo(
        0,
        w.raw(),
        w_flags,
        [0, 0, 5],
        "the O_WRONLY file at the end",
    )?;
    let want = CompleteStatus {
        reads_woken: 7,
        reads_would_block: 2,
        completes: 7,
        ..zero()
    };
    ctx.expect_status(&a, want, "at the end")
}

/// Access mode 3 (`O_ACCMODE`, "open for ioctl only"): `open()` needs both read and write
/// permission (`ACC_MODE(3)` is 6) and gives a file that may neither read nor write
/// (`OPEN_FMODE(3)` is 0): `read()`, `preadv2()` and `write()` fail with `EBADF` in the VFS,
/// `COMPLETE_ALL` and `REINIT` with `EBADF` in the driver (not open for writing), and change
/// nothing; `STATUS` works; fdinfo shows flags 3 and no counts. With the node's mode opened up
/// to others, uid 65534 can open mode 3 only when it may both read and write.
pub fn ioctl_only(ctx: &Ctx) -> CaseResult {
    let f = Dev::open_flags(libc::O_ACCMODE).ctx("open(/dev/complete, 3)")?;
    let f_flags = libc::O_ACCMODE | libc::O_CLOEXEC;
    expect_fdinfo(0, f.raw(), f_flags, [0, 0, 0], "a new mode-3 file")?;
    let rw = ctx.open()?;
    expect_ok(rw.write(b"x"), 1, "write on O_RDWR")?;
    let want = CompleteStatus {
        pending: 1,
        completes: 1,
        ..zero()
    };
    ctx.expect_status(&f, want, "STATUS on the mode-3 file")?;
    expect_errno(f.read(1), libc::EBADF, "read(1) on mode 3")?;
    expect_errno(f.read(0), libc::EBADF, "read(0) on mode 3")?;
    expect_errno(
        f.read_nowait(),
        libc::EBADF,
        "preadv2(RWF_NOWAIT) on mode 3",
    )?;
    expect_errno(f.write(b"x"), libc::EBADF, "write(1) on mode 3")?;
    expect_errno(f.write(b""), libc::EBADF, "write(0) on mode 3")?;
    expect_errno(
        f.ioctl(sys::IOC_COMPLETE_ALL, 0),
        libc::EBADF,
        "COMPLETE_ALL on mode 3",
    )?;
    expect_errno(f.ioctl(sys::IOC_REINIT, 0), libc::EBADF, "REINIT on mode 3")?;
    expect_errno(f.lseek(0, libc::SEEK_SET), libc::ESPIPE, "lseek on mode 3")?;
    ctx.expect_status(&f, want, "STATUS after the refused calls (nothing changed)")?;
    expect_fdinfo(
        0,
        f.raw(),
        f_flags,
        [0, 0, 0],
        "the mode-3 file after the refused calls",
    )?;
    let me = sys::getpid();
    ensure_eq!(
        ctx.count_events(me, |e| matches!(e, Event::CompleteAll | Event::Reinit))?,
        0,
        "'completing all' and 'reinit' lines of {me}"
    );
    drop(f);

    // Who may open mode 3: both permissions, for uid 65534 through the "others" bits.
    let restore = std::fs::metadata(sys::dev_path())
        .ctx("stat /dev/complete")?
        .mode()
        & 0o7777;
    let mut res = Ok(());
    for (mode, want) in [
        (0o604, "O_RDWR:EACCES O_RDONLY:ok O_WRONLY:EACCES 3:EACCES"),
        (0o602, "O_RDWR:EACCES O_RDONLY:EACCES O_WRONLY:ok 3:EACCES"),
        (0o606, "O_RDWR:ok O_RDONLY:ok O_WRONLY:ok 3:ok"),
    ] {
        res = chmod(sys::dev_path(), mode).and_then(|()| {
            let got = nobody_opens()?;
            ensure_eq!(
                got.as_str(),
                want,
                "open as uid 65534 with the node at {mode:#o}"
            );
            Ok(())
        });
        if res.is_err() {
            break;
        }
    }
    chmod(sys::dev_path(), restore)?;
    res
}

/// `chmod(path, mode)`.
fn chmod(path: &str, mode: u32) -> CaseResult {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_ctx(|| format!("chmod {path} {mode:#o}"))
}
