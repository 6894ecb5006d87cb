// SPDX-License-Identifier: GPL-2.0
//! FIFO wake order among sleepers.

use super::{expect_ok, zero, Ctx, WAIT};
use crate::error::CaseResult;
use crate::kmsg::Event;
use crate::readers::{ReaderOpts, Readers};
use crate::sys;
use crate::uapi::CompleteStatus;
use crate::{bail, ensure, ensure_eq};

/// Readers in the order they went to sleep.
const N: usize = 8;

/// N readers fall asleep one after another; each of N writes wakes exactly the oldest one, as the
/// readers' own reports and the driver's `going to sleep`/`awoken` lines both show.
pub fn fifo_order(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    let mut rd = Readers::new()?;
    let mut pids = Vec::with_capacity(N);
    for i in 0..N {
        let pid = rd.spawn(&format!("ct-fifo{i}"), ReaderOpts::default())?;
        ctx.wait_asleep(pid, 'S')?;
        ctx.wait_sleepers(&dev, i as u64 + 1)?;
        pids.push(pid);
    }
    for (i, &pid) in pids.iter().enumerate() {
        ensure_eq!(
            sys::proc_state(pid)?,
            'S',
            "state of reader #{i} ({pid}) before the writes"
        );
    }
    // The order of the `going to sleep` lines is the sleep order.
    let sleep_order = ordered_pids(ctx, &pids, |e| *e == Event::Sleep)?;
    ensure_eq!(
        sleep_order,
        pids,
        "pids in the order of their 'going to sleep' lines"
    );

    for (i, &pid) in pids.iter().enumerate() {
        expect_ok(dev.write(b"w"), 1, &format!("write #{i}"))?;
        let r = rd.report_from(pid, WAIT, &format!("write #{i}"))?;
        r.expect_ok()?;
        let left = (N - i - 1) as u64;
        let want = CompleteStatus {
            sleepers: left,
            reads_woken: i as u64 + 1,
            completes: i as u64 + 1,
            ..zero()
        };
        ctx.expect_status(&dev, want, &format!("after write #{i}"))?;
        for (j, &other) in pids.iter().enumerate().skip(i + 1) {
            let st = sys::proc_state(other)?;
            ensure!(
                st == 'S',
                "after write #{i}: reader #{j} ({other}) should still sleep, state {st}"
            );
        }
        rd.reap_ok(pid, WAIT)?;
    }
    rd.expect_silence(std::time::Duration::ZERO, "after all writes")?;
    let woken = ordered_pids(ctx, &pids, |e| *e == Event::Awoken)?;
    ensure_eq!(woken, pids, "pids in the order of their 'awoken' lines");
    Ok(())
}

/// The pids of `pids` in the order of their log lines matching `pred`; each must have one.
fn ordered_pids(ctx: &Ctx, pids: &[i32], pred: impl Fn(&Event) -> bool) -> CaseResult<Vec<i32>> {
    let k = ctx.kmsg_now()?;
    let mut lines: Vec<(u64, i32)> = k
        .driver_lines()
        .into_iter()
        .filter(|(_, d)| pids.contains(&d.pid) && pred(&d.event))
        .map(|(seq, d)| (seq, d.pid))
        .collect();
    lines.sort_unstable();
    for &p in pids {
        let n = lines.iter().filter(|&&(_, q)| q == p).count();
        if n != 1 {
            bail!(
                "reader {p}: {n} matching kernel log lines, expected exactly 1 (lost kmsg records?)"
            );
        }
    }
    Ok(lines.into_iter().map(|(_, p)| p).collect())
}
