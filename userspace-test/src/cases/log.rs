// SPDX-License-Identifier: GPL-2.0
//! The level of every log record of both modules: each line at the level its `pr_*` call means.
//!
//! `log_levels` makes `complete_dev` and `complete_kthread` (each variant) log every kind of
//! line they have, then judges every record whose text starts with `complete_dev: ` or
//! `complete_kthread: ` against [`ROWS`]: the record must match a row, and carry that row's level
//! (`/dev/kmsg`'s priority: what `dmesg --level` and a log collector filter on). A record with the
//! prefix that no row matches fails the case, so a new line cannot go unchecked; every row of the
//! modules' own lines must have been seen in each phase it names, so the case cannot pass without
//! the lines it judges.

use std::path::Path;

use super::{expect_errno, expect_ok, Ctx, WAIT};
use crate::error::{CaseError, CaseResult, Context};
use crate::kmsg::{Event, Record};
use crate::module;
use crate::readers::{OnSigint, ReaderOpts, Readers};
use crate::sys;

/// `KERN_ERR`, `KERN_WARNING`, `KERN_NOTICE`, `KERN_INFO`: the levels used here.
const ERR: u8 = 3;
const WARNING: u8 = 4;
const NOTICE: u8 = 5;
const INFO: u8 = 6;

/// A level's name, as `KERN_<NAME>`.
fn level_name(level: u8) -> &'static str {
    match level {
        0 => "KERN_EMERG",
        1 => "KERN_ALERT",
        2 => "KERN_CRIT",
        3 => "KERN_ERR",
        4 => "KERN_WARNING",
        5 => "KERN_NOTICE",
        6 => "KERN_INFO",
        _ => "KERN_DEBUG",
    }
}

/// Which module's prefix a row's lines carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Module {
    /// `complete_dev: `
    Dev,
    /// `complete_kthread: `
    Kthread,
    /// Either: a line of the kernel's module loader, prefixed with the module's name.
    Loader,
}

/// The steps of the case; a row names those that must show its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// `complete_dev` loaded with an unknown parameter, every read and write line, the ioctls.
    Dev,
    /// `complete_dev` refused a parameter value at load.
    DevRefused,
    /// `complete_kthread variant=static`, loaded, one wake-up, unloaded.
    Static,
    /// The same with `variant=dynamic`.
    Dynamic,
    /// The same with `variant=onstack`.
    OnStack,
    /// `complete_kthread` refused a parameter value at load.
    KthreadRefused,
}

/// One kind of line: its module, its text after the prefix (`{n}` a number, possibly negative;
/// `{*}` any text), its level, and the phases that must show it (none: a line the case cannot
/// provoke, judged when it appears).
struct Row {
    module: Module,
    text: &'static str,
    level: u8,
    seen_in: &'static [Phase],
}

const fn row(module: Module, text: &'static str, level: u8, seen_in: &'static [Phase]) -> Row {
    Row {
        module,
        text,
        level,
        seen_in,
    }
}

use Phase::{
    Dev as D, DevRefused as DR, Dynamic as Y, KthreadRefused as KR, OnStack as O, Static as S,
};

/// The kthread phases of every variant.
const SDO: &[Phase] = &[S, Y, O];

/// Every line the modules print, from their `pr_*` calls (complete_dev.rs, complete_dev/*.rs,
/// complete_kthread.rs, complete_kthread/*.rs, ext/param.rs), and the module loader's lines that
/// carry a module's name; the first row that matches a record judges it.
const ROWS: &[Row] = &[
    // complete_dev/params.rs, complete_dev/log.rs: pr_info.
    row(
        Module::Dev,
        "loaded: /dev/complete, wait_mode={*} timeout_ms={n} verbose={*} pending_max={n}",
        INFO,
        &[D],
    ),
    row(Module::Dev, "process {n} ({*}) going to sleep", INFO, &[D]),
    row(
        Module::Dev,
        "process {n} ({*}) awakening the readers...",
        INFO,
        &[D],
    ),
    row(Module::Dev, "awoken {n} ({*})", INFO, &[D]),
    row(
        Module::Dev,
        "process {n} ({*}) gave up waiting: {*}",
        INFO,
        &[D],
    ),
    row(
        Module::Dev,
        "process {n} ({*}) refused a write: too many pending completions",
        INFO,
        &[D],
    ),
    row(Module::Dev, "process {n} ({*}) completing all", INFO, &[D]),
    row(Module::Dev, "process {n} ({*}) reinit", INFO, &[D]),
    // ext/param.rs `set_param`: pr_err, in both modules.
    row(
        Module::Dev,
        "parameter {*}: '{*}' refused: expected {*}",
        ERR,
        &[DR],
    ),
    row(
        Module::Kthread,
        "parameter {*}: '{*}' refused: expected {*}",
        ERR,
        &[KR],
    ),
    // complete_kthread.rs, complete_kthread/onstack.rs: pr_info.
    row(
        Module::Kthread,
        "loading: variant={*} period_ms={n}",
        INFO,
        SDO,
    ),
    row(Module::Kthread, "loaded: variant={*}", INFO, SDO),
    // Two calls: `start_pair` (static, dynamic) and `onstack::start`.
    row(Module::Kthread, "created ckt_waiter (pid {n})", INFO, SDO),
    row(
        Module::Kthread,
        "created ckt_worker (pid {n})",
        INFO,
        &[S, Y],
    ),
    row(
        Module::Kthread,
        "ckt_waiter: waiting on the {*} completion",
        INFO,
        SDO,
    ),
    row(
        Module::Kthread,
        "ckt_worker: completing every {n} ms",
        INFO,
        SDO,
    ),
    row(Module::Kthread, "ckt_worker: complete #{n}", INFO, SDO),
    row(Module::Kthread, "ckt_waiter: woken #{n}", INFO, SDO),
    row(
        Module::Kthread,
        "unloading ({*}): stopping ckt_waiter",
        INFO,
        SDO,
    ),
    row(
        Module::Kthread,
        "ckt_waiter: stopping after {n} wake-ups",
        INFO,
        SDO,
    ),
    row(
        Module::Kthread,
        "ckt_worker: stopping after {n} completions",
        INFO,
        SDO,
    ),
    row(
        Module::Kthread,
        "unloaded: {n} wake-ups, {n} completions",
        INFO,
        &[S, Y],
    ),
    row(
        Module::Kthread,
        "ckt_waiter: ckt_worker stopped, {*} completions",
        INFO,
        &[O],
    ),
    row(Module::Kthread, "unloaded: {n} wake-ups", INFO, &[O]),
    // Only when a thread cannot be created or returns no result (kthread_create_fails provokes
    // the first four): judged if they appear.
    row(
        Module::Kthread,
        "ckt_waiter not created (error {n})",
        INFO,
        &[],
    ),
    row(
        Module::Kthread,
        "ckt_worker not created (error {n}): stopping ckt_waiter",
        INFO,
        &[],
    ),
    row(
        Module::Kthread,
        "ckt_waiter stopped after {n} wake-ups",
        INFO,
        &[],
    ),
    row(
        Module::Kthread,
        "ckt_waiter stopped before it ran (EINTR)",
        INFO,
        &[],
    ),
    row(
        Module::Kthread,
        "ckt_waiter died before it was stopped",
        INFO,
        &[],
    ),
    row(
        Module::Kthread,
        "unloaded: a thread has no result ({*})",
        INFO,
        &[],
    ),
    // The module loader (kernel/params.c `parse_args`, kernel/module/main.c), with the module's
    // name as prefix: the kernel's levels.
    row(
        Module::Loader,
        "`{*}' invalid for parameter `{*}'",
        ERR,
        &[DR, KR],
    ),
    row(
        Module::Loader,
        "unknown parameter '{*}' ignored",
        WARNING,
        &[D],
    ),
    row(
        Module::Loader,
        "parameters '{*}' after `--' ignored",
        WARNING,
        &[],
    ),
    // The first out-of-tree, unsigned module of a boot only.
    row(
        Module::Loader,
        "loading out-of-tree module taints kernel.",
        WARNING,
        &[],
    ),
    row(
        Module::Loader,
        "module verification failed: signature and/or required key missing - tainting kernel",
        NOTICE,
        &[],
    ),
];

/// The module a record's text names by its prefix, and the text after it.
fn split_prefix(msg: &str) -> Option<(Module, &str)> {
    if let Some(rest) = msg.strip_prefix("complete_dev: ") {
        Some((Module::Dev, rest))
    } else {
        msg.strip_prefix("complete_kthread: ")
            .map(|rest| (Module::Kthread, rest))
    }
}

/// Whether `s` is the whole of `pat`: `{n}` matches an optional `-` and digits, `{*}` any text.
fn matches(pat: &str, s: &str) -> bool {
    if pat.is_empty() {
        return s.is_empty();
    }
    if let Some(rest) = pat.strip_prefix("{n}") {
        let t = s.strip_prefix('-').unwrap_or(s);
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        return (1..=digits).any(|k| matches(rest, &t[k..]));
    }
    if let Some(rest) = pat.strip_prefix("{*}") {
        return (0..=s.len())
            .filter(|&i| s.is_char_boundary(i))
            .any(|i| matches(rest, &s[i..]));
    }
    let next = [pat.find("{n}"), pat.find("{*}")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(pat.len());
    let (lit, rest) = pat.split_at(next);
    s.strip_prefix(lit).is_some_and(|r| matches(rest, r))
}

/// The index of the first row that matches `msg`, if any.
fn row_of(module: Module, text: &str) -> Option<usize> {
    ROWS.iter()
        .position(|r| (r.module == module || r.module == Module::Loader) && matches(r.text, text))
}

/// Judges the records of each phase: every record with a module's prefix matches a row and has
/// its level, and every row was seen in each phase it names. The error lists every record at the
/// wrong level or without a row, then every row not seen.
fn judge(phases: &[(Phase, Vec<Record>)]) -> Result<(), String> {
    let mut wrong = Vec::new();
    let mut seen: Vec<(usize, Phase)> = Vec::new();
    for (phase, recs) in phases {
        for r in recs {
            let Some((module, text)) = split_prefix(&r.msg) else {
                continue;
            };
            match row_of(module, text) {
                None => wrong.push(format!(
                    "record {} {:?} ({phase:?}): level {} ({}), but no row of the table matches it",
                    r.seq,
                    r.msg,
                    r.level,
                    level_name(r.level)
                )),
                Some(i) => {
                    let want = ROWS[i].level;
                    if r.level != want {
                        wrong.push(format!(
                            "record {} {:?} ({phase:?}): level {} ({}), expected {want} ({}) \
                             (row '{}')",
                            r.seq,
                            r.msg,
                            r.level,
                            level_name(r.level),
                            level_name(want),
                            ROWS[i].text
                        ));
                    }
                    seen.push((i, *phase));
                }
            }
        }
    }
    let missing: Vec<String> = ROWS
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.seen_in.iter().map(move |p| (i, r, *p)))
        .filter(|(i, _, p)| phases.iter().any(|(q, _)| q == p) && !seen.contains(&(*i, *p)))
        .map(|(_, r, p)| format!("no record '{}' ({:?}) in phase {p:?}", r.text, r.module))
        .collect();
    if wrong.is_empty() && missing.is_empty() {
        return Ok(());
    }
    Err(wrong
        .into_iter()
        .chain(missing)
        .collect::<Vec<_>>()
        .join("; "))
}

/// Both modules log every kind of line they have, each record at the level of its row.
pub fn levels(ctx: &Ctx) -> CaseResult {
    let kthread = ctx.opts.module.with_file_name("complete_kthread.ko");
    if !kthread.is_file() {
        return Err(CaseError::Skip(format!(
            "no module file at {}",
            kthread.display()
        )));
    }
    let _guard = KthreadUnloader;
    let mut phases = Vec::new();
    phases.push((Phase::Dev, phase(ctx, || dev_lines(ctx))?));
    phases.push((
        Phase::DevRefused,
        phase(ctx, || refused(&ctx.opts.module, "timeout_ms=3600001"))?,
    ));
    for (p, v) in [
        (Phase::Static, "static"),
        (Phase::Dynamic, "dynamic"),
        (Phase::OnStack, "onstack"),
    ] {
        phases.push((p, phase(ctx, || kthread_lines(ctx, &kthread, v))?));
    }
    phases.push((
        Phase::KthreadRefused,
        phase(ctx, || refused(&kthread, "period_ms=60001"))?,
    ));
    let n: usize = phases.iter().map(|(_, r)| r.len()).sum();
    judge(&phases).map_err(|e| CaseError::Fail(format!("{n} records: {e}")))
}

/// Runs `f` and returns the kernel log records it led to.
fn phase(ctx: &Ctx, f: impl FnOnce() -> CaseResult) -> CaseResult<Vec<Record>> {
    let start = ctx.kmsg_now()?.records.len();
    f()?;
    // printk stores a record before it returns: every line of the step is there.
    Ok(ctx.kmsg_now()?.records[start..].to_vec())
}

/// `complete_dev` with `pending_max=1` and an unknown parameter: a reader woken by a write, one
/// interrupted, a pending write and one refused, `COMPLETE_ALL`, `REINIT`; then unloaded.
fn dev_lines(ctx: &Ctx) -> CaseResult {
    ctx.load("pending_max=1 ct_no_such_parameter=1")?;
    {
        let dev = ctx.open()?;
        let mut rd = Readers::new()?;
        let woken = rd.spawn("ct-lvl-woken", ReaderOpts::default())?;
        ctx.wait_asleep(woken, 'S')?;
        expect_ok(dev.write(b"w"), 1, "write to the sleeping reader")?;
        rd.report_from(woken, WAIT, "after the write")?
            .expect_ok()?;
        rd.reap_ok(woken, WAIT)?;

        let opts = ReaderOpts {
            sigint: OnSigint::Handler,
            ..ReaderOpts::default()
        };
        let given_up = rd.spawn("ct-lvl-intr", opts)?;
        ctx.wait_asleep(given_up, 'S')?;
        sys::kill(given_up, libc::SIGINT).ctx("kill(SIGINT)")?;
        rd.report_from(given_up, WAIT, "after SIGINT")?
            .expect_err(libc::EINTR)?;
        rd.reap(given_up, WAIT)?;
        ctx.wait_events(given_up, 1, "gave up waiting", |e| {
            matches!(e, Event::GaveUp(_))
        })?;

        expect_ok(dev.write(b"p"), 1, "write left pending")?;
        expect_errno(
            dev.write(b"r"),
            libc::EOVERFLOW,
            "write beyond pending_max=1",
        )?;
        expect_ok(dev.ioctl(sys::IOC_COMPLETE_ALL, 0), 0, "COMPLETE_ALL")?;
        expect_ok(dev.ioctl(sys::IOC_REINIT, 0), 0, "REINIT")?;
    }
    module::unload_settled()
}

/// A load of `ko` with `params` that a parameter refuses: `EINVAL`, nothing loaded.
fn refused(ko: &Path, params: &str) -> CaseResult {
    module::unload_settled()?;
    module::unload_settled_named(KTHREAD)?;
    expect_errno(
        module::load(ko, params),
        libc::EINVAL,
        &format!("insmod {} {params}", ko.display()),
    )
}

/// The name of `complete_kthread.ko`.
const KTHREAD: &str = "complete_kthread";

/// `complete_kthread` with `variant`: loaded, its first wake-up, unloaded (which waits for both
/// threads to stop, and so for their last lines).
fn kthread_lines(ctx: &Ctx, ko: &Path, variant: &str) -> CaseResult {
    module::unload_settled_named(KTHREAD)?;
    let params = format!("variant={variant} period_ms=20");
    let start = ctx.kmsg_now()?.records.len();
    module::load(ko, &params).with_ctx(|| format!("insmod {} {params}", ko.display()))?;
    let woken = "complete_kthread: ckt_waiter: woken #1";
    sys::poll_until(WAIT, &format!("'{woken}' in the kernel log"), || {
        let k = ctx.kmsg_now()?;
        Ok(if k.records[start..].iter().any(|r| r.msg == woken) {
            Ok(())
        } else {
            Err("not yet".into())
        })
    })?;
    module::unload_settled_named(KTHREAD)
}

/// Unloads `complete_kthread` when dropped, whatever the case did.
struct KthreadUnloader;

impl Drop for KthreadUnloader {
    fn drop(&mut self) {
        let _ = module::unload_settled_named(KTHREAD);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seq: u64, level: u8, msg: &str) -> Record {
        Record {
            level,
            seq,
            ts_us: 0,
            msg: msg.to_string(),
        }
    }

    #[test]
    fn patterns() {
        assert!(matches("awoken {n} ({*})", "awoken 80 (my (odd) comm)"));
        assert!(matches("error {n})", "error -12)"));
        assert!(!matches("awoken {n} ({*})", "awoken x (cat)"));
        assert!(!matches(
            "unloaded: {n} wake-ups",
            "unloaded: 3 wake-ups, 4 completions"
        ));
        assert!(matches("{*}", ""));
        assert!(!matches("a{n}", "a"));
        assert!(!matches("abc", "abcd"));
    }

    /// One line of each kind, with the phase it is seen in and the row that must judge it.
    fn samples() -> Vec<(Phase, &'static str, &'static str)> {
        vec![
            (D, "complete_dev: unknown parameter 'ct_x' ignored", "unknown parameter '{*}' ignored"),
            (D, "complete_dev: loaded: /dev/complete, wait_mode=interruptible timeout_ms=0 verbose=true pending_max=1", "loaded: /dev/complete, wait_mode={*} timeout_ms={n} verbose={*} pending_max={n}"),
            (D, "complete_dev: process 80 (cat) going to sleep", "process {n} ({*}) going to sleep"),
            (D, "complete_dev: process 79 (sh) awakening the readers...", "process {n} ({*}) awakening the readers..."),
            (D, "complete_dev: awoken 80 (cat)", "awoken {n} ({*})"),
            (D, "complete_dev: process 81 (a) b) gave up waiting: Error(512)", "process {n} ({*}) gave up waiting: {*}"),
            (D, "complete_dev: process 79 (sh) refused a write: too many pending completions", "process {n} ({*}) refused a write: too many pending completions"),
            (D, "complete_dev: process 79 (sh) completing all", "process {n} ({*}) completing all"),
            (D, "complete_dev: process 79 (sh) reinit", "process {n} ({*}) reinit"),
            (DR, "complete_dev: parameter timeout_ms: '3600001' refused: expected a number from 0 to 3600000", "parameter {*}: '{*}' refused: expected {*}"),
            (DR, "complete_dev: `3600001' invalid for parameter `timeout_ms'", "`{*}' invalid for parameter `{*}'"),
            (KR, "complete_kthread: parameter period_ms: '60001' refused: expected a number from 0 to 60000", "parameter {*}: '{*}' refused: expected {*}"),
            (KR, "complete_kthread: `60001' invalid for parameter `period_ms'", "`{*}' invalid for parameter `{*}'"),
            (O, "complete_kthread: ckt_waiter: ckt_worker stopped, Ok(4) completions", "ckt_waiter: ckt_worker stopped, {*} completions"),
            (O, "complete_kthread: unloaded: 3 wake-ups", "unloaded: {n} wake-ups"),
            (S, "complete_kthread: ckt_waiter not created (error -12)", "ckt_waiter not created (error {n})"),
            (S, "complete_kthread: loading out-of-tree module taints kernel.", "loading out-of-tree module taints kernel."),
        ]
    }

    /// Every line of a variant's load, wake-up and unload.
    fn kthread_run(variant: &str) -> Vec<String> {
        let mut v = vec![
            format!("loading: variant={variant} period_ms=20"),
            "created ckt_waiter (pid 90)".into(),
            format!("ckt_waiter: waiting on the {variant} completion"),
            "ckt_worker: completing every 20 ms".into(),
            "loaded: variant=x".into(),
            "ckt_worker: complete #1".into(),
            "ckt_waiter: woken #1".into(),
            format!("unloading ({variant}): stopping ckt_waiter"),
            "ckt_waiter: stopping after 1 wake-ups".into(),
            "ckt_worker: stopping after 2 completions".into(),
        ];
        if variant == "onstack" {
            v.push("ckt_waiter: ckt_worker stopped, Ok(2) completions".into());
            v.push("unloaded: 1 wake-ups".into());
        } else {
            v.push("created ckt_worker (pid 91)".into());
            v.push("unloaded: 1 wake-ups, 2 completions".into());
        }
        v.into_iter()
            .map(|l| format!("complete_kthread: {l}"))
            .collect()
    }

    fn full_log() -> Vec<(Phase, Vec<Record>)> {
        let mut phases: Vec<(Phase, Vec<Record>)> = Vec::new();
        let mut seq = 0;
        let mut push = |p: Phase, msg: &str, level: u8| {
            seq += 1;
            match phases.iter_mut().find(|(q, _)| *q == p) {
                Some((_, v)) => v.push(rec(seq, level, msg)),
                None => phases.push((p, vec![rec(seq, level, msg)])),
            }
        };
        for (p, msg, text) in samples() {
            let r = ROWS.iter().find(|r| r.text == text).expect("a row");
            push(p, msg, r.level);
        }
        for (p, v) in [(S, "static"), (Y, "dynamic"), (O, "onstack")] {
            for l in kthread_run(v) {
                push(p, &l, INFO);
            }
        }
        push(D, "other: not a module line", 4);
        phases
    }

    #[test]
    fn each_sample_judged_by_its_row() {
        for (_, msg, text) in samples() {
            let (m, t) = split_prefix(msg).expect("a module prefix");
            let i = row_of(m, t).unwrap_or_else(|| panic!("no row for {msg}"));
            assert_eq!(ROWS[i].text, text, "{msg}");
        }
    }

    #[test]
    fn a_full_log_passes() {
        assert_eq!(judge(&full_log()), Ok(()));
    }

    #[test]
    fn a_wrong_level_fails_naming_the_record() {
        let mut log = full_log();
        let r = log[0]
            .1
            .iter_mut()
            .find(|r| r.msg.ends_with("(cat)"))
            .expect("awoken");
        r.level = NOTICE;
        let e = judge(&log).expect_err("a wrong level");
        assert!(
            e.contains("\"complete_dev: awoken 80 (cat)\"")
                && e.contains("level 5 (KERN_NOTICE), expected 6 (KERN_INFO)"),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_line_fails() {
        let mut log = full_log();
        log[0].1.push(rec(999, INFO, "complete_dev: something new"));
        let e = judge(&log).expect_err("no row");
        assert!(
            e.contains("\"complete_dev: something new\"") && e.contains("no row"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_line_fails() {
        let mut log = full_log();
        for (p, recs) in &mut log {
            if *p == O {
                recs.retain(|r| !r.msg.contains("unloaded: "));
            }
        }
        let e = judge(&log).expect_err("missing");
        assert_eq!(
            e,
            "no record 'unloaded: {n} wake-ups' (Kthread) in phase OnStack"
        );
    }

    #[test]
    fn a_module_row_does_not_judge_the_other_module() {
        assert_eq!(row_of(Module::Dev, "ckt_worker: complete #1"), None);
        assert_eq!(row_of(Module::Kthread, "reinit"), None);
    }
}
