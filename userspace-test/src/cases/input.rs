// SPDX-License-Identifier: GPL-2.0
//! Odd arguments, per-file counters and the writable `verbose` parameter.

use std::time::{Duration, Instant};

use super::{expect_errno, expect_ok, zero, Ctx};
use crate::error::{CaseResult, Context};
use crate::kmsg::Event;
use crate::sys::{self, Mapping};
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
fn fd_counters(fd: i32) -> CaseResult<[u64; 3]> {
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

const VERBOSE: &str = "/sys/module/complete_dev/parameters/verbose";

/// `verbose` is writable at run time: 0 silences the driver's lines, 1 brings them back.
pub fn verbose_param(ctx: &Ctx) -> CaseResult {
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
