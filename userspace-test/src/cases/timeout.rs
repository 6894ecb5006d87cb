// SPDX-License-Identifier: GPL-2.0
//! `timeout_ms`: a read nobody completes fails with ETIMEDOUT, in every wait mode, and a timed
//! read ends within its timeout even under signals.

use std::time::Duration;

use super::{within, zero, Ctx, WAIT};
use crate::error::CaseResult;
use crate::kmsg::Event;
use crate::module;
use crate::readers::{ReaderOpts, Readers};
use crate::uapi::CompleteStatus;
use crate::{ensure, ensure_eq};

/// The module's `timeout_ms` in this case.
const TIMEOUT_MS: u64 = 300;

/// For each `wait_mode`, with `timeout_ms=300`: the read fails with ETIMEDOUT after 250 ms..3 s,
/// the driver logs that it gave up, and STATUS counts one timed-out read.
pub fn expires(ctx: &Ctx) -> CaseResult {
    for mode in ["interruptible", "killable", "uninterruptible"] {
        within(&format!("wait_mode={mode}"), one_mode(ctx, mode))?;
    }
    Ok(())
}

fn one_mode(ctx: &Ctx, mode: &str) -> CaseResult {
    ctx.load(&format!("wait_mode={mode} timeout_ms={TIMEOUT_MS}"))?;
    {
        let dev = ctx.open_nb()?;
        let mut rd = Readers::new()?;
        let pid = rd.spawn("ct-timeout", ReaderOpts::default())?;
        let r = rd.report_from(pid, WAIT, "read with nobody writing")?;
        r.expect_err(libc::ETIMEDOUT)?;
        let (lo, hi) = (Duration::from_millis(250), Duration::from_secs(3));
        ensure!(
            r.elapsed >= lo && r.elapsed <= hi,
            "reader {pid} timed out after {:?}, expected {lo:?}..{hi:?}",
            r.elapsed
        );
        ensure_eq!(
            rd.reap(pid, WAIT)?,
            crate::sys::Exit::Code(1),
            "exit of reader {pid}"
        );
        ctx.wait_events(pid, 1, "gave up waiting", |e| matches!(e, Event::GaveUp(_)))?;
        let want = CompleteStatus {
            reads_timed_out: 1,
            ..zero()
        };
        ctx.expect_status(&dev, want, "after the timeout")?;
    }
    module::unload_settled()
}

/// With `timeout_ms=300`, a read whose process gets a `SIGALRM` every 100 ms with an
/// `SA_RESTART` handler ends with `EINTR` within the timeout (before the fix each restart began
/// the whole timeout again and the read never ended).
pub fn signals(ctx: &Ctx) -> CaseResult {
    let _dev = ctx.open()?;
    let mut rd = Readers::new()?;
    let opts = ReaderOpts {
        alarm_every_ms: Some(100),
        ..ReaderOpts::default()
    };
    let pid = rd.spawn("ct-tmo-sig", opts)?;
    let r = rd.report_from(pid, WAIT, "timed read under a 100 ms SA_RESTART timer")?;
    r.expect_err(libc::EINTR)?;
    ensure!(
        r.elapsed < Duration::from_secs(3),
        "reader {pid}: the timed read took {:?}",
        r.elapsed
    );
    ensure!(r.signals >= 1, "reader {pid} saw no SIGALRM");
    rd.reap(pid, WAIT)?;
    Ok(())
}
