// SPDX-License-Identifier: GPL-2.0
//! The parameters of `complete_kthread.ko`: `variant` (read-only) and `period_ms` (writable at
//! run time) as sysfs, the module file's `.modinfo` and `docs/kthread.md` state them, their
//! edges at load, and a write of `period_ms` while the worker runs.

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use super::{
    is_loaded, load, module_file, module_lines, no_bad_lines, pids_named, prompt_unload, records,
    unload_settled, wait_line, wait_threads, Unloader, NAME, VARIANTS, WAITER, WORKER,
};
use crate::cases::param::{modinfo_strings, word_after};
use crate::cases::{expect_errno, Ctx, WAIT};
use crate::error::{CaseResult, Context};
use crate::kmsg::Record;
use crate::module;
use crate::sys;
use crate::{bail, ensure, ensure_eq};

/// The module's parameter files.
const PARAMS_DIR: &str = "/sys/module/complete_kthread/parameters";

/// The defaults and the bound `docs/kthread.md` and the module's descriptions state (a unit test
/// holds the doc to them, the VM cases the module).
pub(super) const DEFAULT_VARIANT: &str = "static";
pub(super) const DEFAULT_PERIOD_MS: u32 = 100;
pub(super) const PERIOD_MAX: u32 = 60_000;

/// `variant` is `charp` 0444, `period_ms` `uint` 0644 (root's, like every parameter file); the
/// read-only one refuses `open(O_WRONLY)` with `EACCES` even for root. After `insmod` without
/// parameters they read `static` and `100`, the defaults the `.modinfo` descriptions of the
/// module file state (`modinfo -F parm`: the choice marked `default`, `default 100`) and
/// `docs/kthread.md` too; the module logs them (`loading: variant=static period_ms=100`, the
/// waiter on the static completion, the worker every 100 ms) and runs with them: its first
/// three completions come at least 100 ms apart.
pub fn kthread_param_defaults(ctx: &Ctx) -> CaseResult {
    let ko = module_file(ctx)?;
    let image = std::fs::read(&ko).with_ctx(|| format!("read {}", ko.display()))?;
    let strings = modinfo_strings(&image).with_ctx(|| format!("{}", ko.display()))?;
    let field = |key: &str| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = strings
            .iter()
            .filter_map(|s| s.strip_prefix(key)?.split_once(':'))
            .map(|(n, d)| (n.to_string(), d.to_string()))
            .collect();
        v.sort();
        v
    };
    ensure_eq!(
        field("parmtype="),
        [("period_ms", "uint"), ("variant", "charp")].map(|(n, t)| (n.to_string(), t.to_string())),
        "parmtype entries of {}",
        ko.display()
    );
    let descs = field("parm=");
    let desc = |name: &str| -> CaseResult<String> {
        match descs.iter().find(|(n, _)| n == name) {
            Some((_, d)) => Ok(d.clone()),
            None => bail!(
                "parameter {name} has no description (parm=) in {}",
                ko.display()
            ),
        }
    };
    let (vdesc, pdesc) = (desc("variant")?, desc("period_ms")?);
    ensure_eq!(
        default_choices(&vdesc),
        vec![DEFAULT_VARIANT],
        "the variant marked 'default' in the description of variant ({vdesc:?})"
    );
    ensure_eq!(
        word_after(&pdesc, "default ").map(str::to_string),
        Some(DEFAULT_PERIOD_MS.to_string()),
        "the 'default X' of period_ms's description ({pdesc:?})"
    );
    ensure_eq!(
        word_after(&pdesc, "at most ").map(str::to_string),
        Some(PERIOD_MAX.to_string()),
        "the 'at most N' of period_ms's description ({pdesc:?})"
    );

    let _guard = Unloader;
    unload_settled()?;
    load(&ko, "")?;
    for (name, mode) in [("period_ms", 0o644), ("variant", 0o444)] {
        let path = format!("{PARAMS_DIR}/{name}");
        let md = std::fs::metadata(&path).with_ctx(|| format!("stat {path}"))?;
        ensure_eq!(
            (md.mode() & 0o7777, md.uid(), md.gid()),
            (mode, 0, 0),
            "mode, owner and group of {path}"
        );
    }
    let variant = format!("{PARAMS_DIR}/variant");
    expect_errno(
        sys::open(&variant, libc::O_WRONLY).map(|_| ()),
        libc::EACCES,
        &format!("open({variant}, O_WRONLY) as root"),
    )?;
    for (name, want) in [
        ("variant", DEFAULT_VARIANT.to_string()),
        ("period_ms", DEFAULT_PERIOD_MS.to_string()),
    ] {
        ensure_eq!(
            read_param(name)?,
            format!("{want}\n"),
            "{PARAMS_DIR}/{name} after insmod without parameters"
        );
    }
    wait_line(ctx, "ckt_worker: complete #3")?;
    let recs = records(ctx)?;
    let lines = module_lines(&recs);
    super::expect_in_order(
        &lines,
        &[
            format!("loading: variant={DEFAULT_VARIANT} period_ms={DEFAULT_PERIOD_MS}"),
            format!("loaded: variant={DEFAULT_VARIANT}"),
        ],
    )?;
    for l in [
        format!("ckt_waiter: waiting on the {DEFAULT_VARIANT} completion"),
        format!("ckt_worker: completing every {DEFAULT_PERIOD_MS} ms"),
    ] {
        ensure!(lines.contains(&l.as_str()), "no '{l}' line in {lines:?}");
    }
    let gaps = completion_gaps_ms(&recs, 0);
    ensure!(
        gaps.len() >= 2 && gaps.iter().all(|&g| g >= f64::from(DEFAULT_PERIOD_MS)),
        "completions of the default period: gaps {gaps:?} ms, expected at least \
         {DEFAULT_PERIOD_MS} each"
    );
    prompt_unload("default parameters")?;
    no_bad_lines(&records(ctx)?)
}

/// The choices of `variant` whose parenthesis in `desc` says `default`
/// (`static (DECLARE_COMPLETION, default)`).
fn default_choices(desc: &str) -> Vec<&'static str> {
    VARIANTS
        .into_iter()
        .filter(|c| {
            let key = format!("{c} (");
            desc.find(&key).is_some_and(|i| {
                let rest = &desc[i + key.len()..];
                rest[..rest.find(')').unwrap_or(rest.len())]
                    .split(',')
                    .any(|w| w.trim() == "default")
            })
        })
        .collect()
}

/// Reads the parameter file `name`, byte for byte.
fn read_param(name: &str) -> CaseResult<String> {
    let path = format!("{PARAMS_DIR}/{name}");
    std::fs::read_to_string(&path).with_ctx(|| format!("read {path}"))
}

/// The gaps, in ms, between consecutive `ckt_worker: complete #N` records after the record with
/// sequence number `after` (their `/dev/kmsg` timestamps).
fn completion_gaps_ms(recs: &[Record], after: u64) -> Vec<f64> {
    let ts = completion_times(recs, after);
    ts.windows(2)
        .map(|w| (w[1] - w[0]) as f64 / 1000.0)
        .collect()
}

/// The timestamps (µs) of the `ckt_worker: complete #N` records after sequence number `after`.
fn completion_times(recs: &[Record], after: u64) -> Vec<u64> {
    recs.iter()
        .filter(|r| r.seq > after)
        .filter(|r| {
            r.msg
                .strip_prefix(super::PREFIX)
                .is_some_and(|m| m.starts_with("ckt_worker: complete #"))
        })
        .map(|r| r.ts_us)
        .collect()
}

/// The loads at the edges of the parameters: `period_ms=60000`, the most, loads, reads back and
/// is in effect (`completing every 60000 ms`, no completion for 1 s); `period_ms=0` loads and
/// reads back 0 (that it acts as 1 ms is `kthread_period_zero`'s); `period_ms=60001`, junk,
/// a negative number, an empty value, and `variant` values that are not a choice (another word,
/// another case, empty) fail with `EINVAL`, each with the module's `refused` line, and leave
/// no module and no thread.
pub fn kthread_param_edges(ctx: &Ctx) -> CaseResult {
    let ko = module_file(ctx)?;
    let _guard = Unloader;
    unload_settled()?;
    for (params, period) in [("period_ms=60000", "60000"), ("period_ms=0", "0")] {
        ctx.kmsg().mark().ctx("lseek(/dev/kmsg, SEEK_END)")?;
        load(&ko, params)?;
        wait_threads(1, &format!("{params}: both threads"))?;
        ensure_eq!(
            read_param("period_ms")?,
            format!("{period}\n"),
            "{PARAMS_DIR}/period_ms after insmod {params}"
        );
        wait_line(ctx, &format!("ckt_worker: completing every {period} ms"))?;
        if period == "60000" {
            std::thread::sleep(Duration::from_secs(1));
            let recs = records(ctx)?;
            let lines = module_lines(&recs);
            let early: Vec<&&str> = lines
                .iter()
                .filter(|l| l.starts_with("ckt_worker: complete #"))
                .collect();
            ensure!(
                early.is_empty(),
                "period_ms=60000: completions within 1 s of the load: {early:?}"
            );
        }
        prompt_unload(params)?;
    }
    for (name, value) in [
        ("period_ms", "60001"),
        ("period_ms", "4294967295"),
        ("period_ms", "abc"),
        ("period_ms", "-1"),
        ("period_ms", ""),
        ("variant", "heap"),
        ("variant", "Static"),
        ("variant", ""),
    ] {
        ctx.kmsg().mark().ctx("lseek(/dev/kmsg, SEEK_END)")?;
        let params = format!("{name}={value}");
        let res = module::load(&ko, &params);
        if res.is_ok() {
            let _ = unload_settled();
        }
        expect_errno(res, libc::EINVAL, &format!("insmod {NAME} {params}"))?;
        ensure!(!is_loaded(), "insmod {params}: the module is loaded");
        let (w, k) = (pids_named(WAITER), pids_named(WORKER));
        ensure!(
            w.is_empty() && k.is_empty(),
            "insmod {params}: threads left: {WAITER} {w:?}, {WORKER} {k:?}"
        );
        let recs = records(ctx)?;
        let refused = format!("parameter {name}: '{value}' refused: expected ");
        let lines = module_lines(&recs);
        ensure!(
            lines.iter().any(|l| l.starts_with(&refused)),
            "insmod {params}: no line '{refused}...' in {lines:?}"
        );
        ensure!(
            !lines.iter().any(|l| l.starts_with("loading:")),
            "insmod {params}: init ran: {lines:?}"
        );
    }
    no_bad_lines(&records(ctx)?)
}

/// How much later than the old period the first completion after a write may come, in ms: the
/// worker's wake-up and log line on the slowest kernel.
const LATE_MS: f64 = 400.0;

/// A write of `period_ms` while the module runs takes effect at the worker's next sleep, never
/// in the one under way (the worker reads `period_ms` before each sleep):
///
/// - during a 60 s sleep (`period_ms=60000`, the worker's `completing every 60000 ms` logged),
///   `20` is written and reads back: no completion for 1.5 s after it (the sleep goes on);
///   `rmmod` then cuts that sleep: `stopping after 0 completions`;
/// - with `period_ms=50`, after 4 completions, `500` is written between two marks the case
///   writes to `/dev/kmsg`: the gaps between `complete #N` records (their timestamps) before
///   the write are 50 to 500 ms; the first completion after it ends the sleep under way, less
///   than 50 + 400 ms after the write (the new value did not lengthen it); every later gap is
///   500 ms to 1 s.
pub fn kthread_period_write(ctx: &Ctx) -> CaseResult {
    let ko = module_file(ctx)?;
    let _guard = Unloader;
    unload_settled()?;
    let path = format!("{PARAMS_DIR}/period_ms");

    load(&ko, "period_ms=60000")?;
    wait_line(ctx, "ckt_worker: completing every 60000 ms")?;
    std::fs::write(&path, "20").with_ctx(|| format!("write 20 to {path}"))?;
    ensure_eq!(read_param("period_ms")?, "20\n", "{path} after writing 20");
    std::thread::sleep(Duration::from_millis(1500));
    let recs = records(ctx)?;
    let lines = module_lines(&recs);
    let done: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("ckt_worker: complete #"))
        .collect();
    ensure!(
        done.is_empty(),
        "20 written during a 60 s sleep: completions within 1.5 s: {done:?}"
    );
    prompt_unload("period_ms 60000 then 20")?;
    let recs = records(ctx)?;
    let lines = module_lines(&recs);
    ensure!(
        lines.contains(&"ckt_worker: stopping after 0 completions"),
        "rmmod during the 60 s sleep after writing 20: no 'ckt_worker: stopping after 0 \
         completions' line in {lines:?}"
    );

    ctx.kmsg().mark().ctx("lseek(/dev/kmsg, SEEK_END)")?;
    load(&ko, "period_ms=50")?;
    wait_line(ctx, "ckt_worker: complete #4")?;
    let before = mark(ctx, "writing period_ms=500")?;
    std::fs::write(&path, "500").with_ctx(|| format!("write 500 to {path}"))?;
    let after = mark(ctx, "wrote period_ms=500")?;
    sys::poll_until(WAIT, "3 completions after the write of 500", || {
        let n = completion_times(&records(ctx)?, after.seq).len();
        Ok(if n >= 4 {
            Ok(())
        } else {
            Err(format!("{n} so far"))
        })
    })?;
    prompt_unload("period_ms 50 then 500")?;
    let recs = records(ctx)?;
    let all = completion_times(&recs, 0);
    let before_write = &all[..all.len() - completion_times(&recs, before.seq).len()];
    let old: Vec<f64> = before_write
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / 1000.0)
        .collect();
    let first = completion_times(&recs, after.seq)[0];
    let new = completion_gaps_ms(&recs, after.seq);
    let first_ms = first.saturating_sub(after.ts_us) as f64 / 1000.0;
    println!(
        "# kthread_period_write: gaps before the write {old:?} ms; first completion {first_ms} ms \
         after it; gaps after {new:?} ms"
    );
    ensure!(
        old.len() >= 3 && old.iter().all(|&g| (50.0..500.0).contains(&g)),
        "period_ms=50: gaps {old:?} ms, expected 50 to 500 ms each"
    );
    ensure!(
        (0.0..50.0 + LATE_MS).contains(&first_ms),
        "the first completion after writing 500 came {first_ms} ms after the write, expected \
         less than {} ms (the sleep under way keeps the old 50 ms)",
        50.0 + LATE_MS
    );
    ensure!(
        new.len() >= 3 && new.iter().all(|&g| (500.0..1000.0).contains(&g)),
        "after writing 500: gaps {new:?} ms, expected 500 ms to 1 s each"
    );
    no_bad_lines(&recs)
}

/// Writes a line to the kernel log (`ckt-test: what`) and returns its record.
fn mark(ctx: &Ctx, what: &str) -> CaseResult<Record> {
    let msg = format!("ckt-test: {what}");
    std::fs::write("/dev/kmsg", format!("{msg}\n")).ctx("write to /dev/kmsg")?;
    let recs = records(ctx)?;
    match recs.iter().rev().find(|r| r.msg == msg) {
        Some(r) => Ok(r.clone()),
        None => bail!("the mark '{msg}' is not in the kernel log"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_choice_of_the_description() {
        let desc = "where the completion lives: static (DECLARE_COMPLETION, default), dynamic \
                    (init_completion), onstack (DECLARE_COMPLETION_ONSTACK)";
        assert_eq!(default_choices(desc), vec!["static"]);
        assert_eq!(
            default_choices("dynamic (x, default), static (y)"),
            vec!["dynamic"]
        );
        assert!(default_choices("static (defaults)").is_empty());
    }

    /// `docs/kthread.md` states the defaults and the bound the cases hold the module to.
    #[test]
    fn doc_states_the_defaults() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/kthread.md");
        let doc = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let row = |name: &str| {
            doc.lines()
                .find(|l| l.starts_with(&format!("| `{name}` |")))
                .unwrap_or_else(|| panic!("no table row for {name} in docs/kthread.md"))
                .to_string()
        };
        let v = row("variant");
        assert!(
            v.contains(&format!("`{DEFAULT_VARIANT}` (default)")) && v.contains("read-only"),
            "{v}"
        );
        let p = row("period_ms");
        assert!(
            p.contains(&format!("default {DEFAULT_PERIOD_MS},"))
                && p.contains(&format!("at most {PERIOD_MAX} "))
                && p.contains("writable at run time"),
            "{p}"
        );
    }
}
