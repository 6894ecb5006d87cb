// SPDX-License-Identifier: GPL-2.0
//! The module parameters: `verbose` writable at run time, out-of-range values refused, a bare
//! boolean, the `pending_max` bound.

use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::{expect_errno, expect_ok, zero, Ctx};
use crate::error::{CaseResult, Context};
use crate::kmsg::Event;
use crate::module;
use crate::sys;
use crate::uapi::CompleteStatus;
use crate::{bail, ensure, ensure_eq};

mod effect;
mod modinfo;

pub use effect::{pending_max_one, pending_max_zero, timeout_max, timeout_min, verbose_in_flight};
pub use modinfo::{modinfo, modinfo_strings, word_after};

/// The `verbose` parameter in sysfs.
const VERBOSE: &str = "/sys/module/complete_dev/parameters/verbose";

/// `verbose` is writable at run time: 0 silences the driver's lines, 1 brings them back.
pub fn verbose(ctx: &Ctx) -> CaseResult {
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

/// `insmod complete_dev.ko verbose` (a bool without a value) means `verbose=Y`, as C bool
/// parameters do: the missing value must not fail the load with `EINVAL`.
pub fn bool_bare(ctx: &Ctx) -> CaseResult {
    for (params, want) in [("verbose=0", "N"), ("verbose", "Y")] {
        ctx.load(params)?;
        let path = "/sys/module/complete_dev/parameters/verbose";
        let got = std::fs::read_to_string(path).with_ctx(|| format!("read {path}"))?;
        ensure_eq!(got.trim(), want, "{path} after insmod with \"{params}\"");
    }
    Ok(())
}

/// The pending count this case loads the module with.
pub const PENDING_MAX: u64 = 3;

/// With `pending_max=3` a fourth unread write fails with `EOVERFLOW` and counts nothing; a read
/// makes room again; after `COMPLETE_ALL` the bound does not apply (nothing is counted), after
/// `REINIT` it does again. Stands in for 2^32 - 1 unread writes: without the bound `done` would
/// reach `UINT_MAX`, the all-done value, and every read would pass as if `COMPLETE_ALL` had been
/// called.
pub fn pending_max(ctx: &Ctx) -> CaseResult {
    let dev = ctx.open()?;
    let nb = ctx.open_nb()?;
    for i in 0..PENDING_MAX {
        expect_ok(dev.write(b"x"), 1, &format!("write #{i}"))?;
    }
    expect_errno(dev.write(b"x"), libc::EOVERFLOW, "write beyond pending_max")?;
    let mut want = CompleteStatus {
        pending: PENDING_MAX,
        completes: PENDING_MAX,
        ..zero()
    };
    ctx.expect_status(&dev, want, "after the refused write")?;
    expect_ok(nb.read(1), 0, "read")?;
    expect_ok(dev.write(b"x"), 1, "write after a read made room")?;
    want.reads_woken = 1;
    want.completes += 1;
    ctx.expect_status(&dev, want, "after a read and a write")?;
    expect_ok(dev.ioctl(sys::IOC_COMPLETE_ALL, 0), 0, "COMPLETE_ALL")?;
    for i in 0..PENDING_MAX + 2 {
        expect_ok(
            dev.write(b"x"),
            1,
            &format!("write #{i} after COMPLETE_ALL"),
        )?;
    }
    expect_ok(dev.ioctl(sys::IOC_REINIT, 0), 0, "REINIT")?;
    for i in 0..PENDING_MAX {
        expect_ok(dev.write(b"x"), 1, &format!("write #{i} after REINIT"))?;
    }
    expect_errno(
        dev.write(b"x"),
        libc::EOVERFLOW,
        "write beyond pending_max after REINIT",
    )?;
    want.pending = PENDING_MAX;
    want.completes += PENDING_MAX + 2 + PENDING_MAX;
    ctx.expect_status(&dev, want, "at the end")
}

/// The parameter files of the module.
const PARAMS_DIR: &str = "/sys/module/complete_dev/parameters";

/// The largest `pending_max`, and its default: `UINT_MAX - 1 - PID_MAX_LIMIT` (complete_dev.rs).
pub const PENDING_LIMIT: u32 = u32::MAX - 1 - (1 << 22);

/// The largest `timeout_ms`: one hour.
pub const TIMEOUT_MAX: u32 = 3_600_000;

/// What the driver says a `uint` parameter takes, in its refusal line.
fn expected_uint(max: u32) -> String {
    format!("a number from 0 to {max}")
}

/// What the driver says `verbose` takes.
const EXPECTED_BOOL: &str = "one of y, n, 1, 0, on, off";

/// What the driver says `wait_mode` takes.
const EXPECTED_WAIT: &str = "one of interruptible, killable, uninterruptible";

/// The values of the four parameters as a load gives them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Values {
    wait_mode: &'static str,
    timeout_ms: u32,
    verbose: bool,
    pending_max: u32,
}

/// The values of a load without parameters.
const DEFAULTS: Values = Values {
    wait_mode: "interruptible",
    timeout_ms: 0,
    verbose: true,
    pending_max: PENDING_LIMIT,
};

impl Values {
    /// The text of each parameter file, byte for byte, by file name.
    fn files(&self) -> [(&'static str, String); 4] {
        [
            ("pending_max", format!("{}\n", self.pending_max)),
            ("timeout_ms", format!("{}\n", self.timeout_ms)),
            (
                "verbose",
                if self.verbose { "Y\n" } else { "N\n" }.to_string(),
            ),
            ("wait_mode", format!("{}\n", self.wait_mode)),
        ]
    }

    /// The driver's `loaded:` line (with the module's log prefix).
    fn loaded_line(&self) -> String {
        format!(
            "complete_dev: loaded: /dev/complete, wait_mode={} timeout_ms={} verbose={} \
             pending_max={}",
            self.wait_mode, self.timeout_ms, self.verbose, self.pending_max
        )
    }
}

/// Fails unless every parameter file holds exactly what `want` gives.
fn expect_files(want: &Values, what: &str) -> CaseResult {
    for (name, text) in want.files() {
        let path = format!("{PARAMS_DIR}/{name}");
        let got = std::fs::read(&path).with_ctx(|| format!("read {path}"))?;
        ensure!(
            got == text.as_bytes(),
            "{path} {what}: got {:?}, expected {text:?}",
            String::from_utf8_lossy(&got)
        );
    }
    Ok(())
}

/// Lines the kernel prints on the first load of an out-of-tree or unsigned module, whatever its
/// parameters: not the driver's, and not about parameters.
fn is_taint_line(m: &str) -> bool {
    m.ends_with("loading out-of-tree module taints kernel.")
        || m.contains("module verification failed")
}

/// Loads the module (unloading it first) with `params`: the result of `finit_module`, and the
/// kernel log lines with the module's prefix that the load printed, in order.
fn load_logged(ctx: &Ctx, params: &str) -> CaseResult<(Result<(), sys::Errno>, Vec<String>)> {
    module::unload_settled()?;
    let before = ctx.kmsg_now()?.records.len();
    let res = module::load(&ctx.opts.module, params);
    // printk stores a record before it returns: the load's lines are all there now.
    let k = ctx.kmsg_now()?;
    let lines = k.records[before.min(k.records.len())..]
        .iter()
        .map(|r| r.msg.clone())
        .filter(|m| m.starts_with(crate::kmsg::driver_prefix()) && !is_taint_line(m))
        .collect();
    Ok((res, lines))
}

/// The two lines of a load-time refusal by the driver's `set`: the driver's own, then the
/// loader's (`kernel/params.c` `parse_args()`, prefixed with the module name).
fn refusal(name: &str, val: &str, expected: &str) -> [String; 2] {
    [
        format!("complete_dev: parameter {name}: '{val}' refused: expected {expected}"),
        loader_invalid(name, val),
    ]
}

/// The loader's line for a value that the parameter refused (any errno but `ENOENT`/`ENOSPC`).
fn loader_invalid(name: &str, val: &str) -> String {
    format!("complete_dev: `{val}' invalid for parameter `{name}'")
}

/// One refused load: the parameters, the errno `finit_module` must give, the lines in order.
struct Refused {
    params: &'static str,
    errno: i32,
    lines: Vec<String>,
}

/// Every refused load, with what C's loader gives for the same input: the errno of the
/// parameter's `set` (`kstrtouint()`: `ERANGE` above `UINT_MAX`, `EINVAL` for anything else it
/// cannot parse; the bound: `EINVAL`, as `param_set_uint_minmax()`; `kstrtobool()`; a name not in
/// the table: `EINVAL`), or `EINVAL` from `parse_one()` itself for a name without `=` whose type
/// takes no bare form (no driver line then). With several refused, the load fails with the last
/// one's errno (`parse_args()` goes on and keeps the last).
fn refused_table() -> Vec<Refused> {
    let r = |params: &'static str, errno: i32, lines: Vec<String>| Refused {
        params,
        errno,
        lines,
    };
    let uint = |name: &str, val: &str, max: u32| refusal(name, val, &expected_uint(max)).to_vec();
    let t = |val: &str| uint("timeout_ms", val, TIMEOUT_MAX);
    let p = |val: &str| uint("pending_max", val, PENDING_LIMIT);
    let b = |val: &str| refusal("verbose", val, EXPECTED_BOOL).to_vec();
    let w = |val: &str| refusal("wait_mode", val, EXPECTED_WAIT).to_vec();
    let (inval, range) = (libc::EINVAL, libc::ERANGE);
    vec![
        r("timeout_ms=3600001", inval, t("3600001")),
        r("timeout_ms=0x36ee81", inval, t("0x36ee81")),
        r("timeout_ms=4294967295", inval, t("4294967295")),
        r("timeout_ms=4294967296", range, t("4294967296")),
        r("timeout_ms=0x100000000", range, t("0x100000000")),
        r(
            "timeout_ms=99999999999999999999",
            range,
            t("99999999999999999999"),
        ),
        r("timeout_ms=", inval, t("")),
        r("timeout_ms", inval, vec![loader_invalid("timeout_ms", "")]),
        r("timeout_ms=abc", inval, t("abc")),
        r("timeout_ms=-1", inval, t("-1")),
        r("timeout_ms=-0", inval, t("-0")),
        r("timeout_ms=1e3", inval, t("1e3")),
        r("timeout_ms=0x", inval, t("0x")),
        r("timeout_ms=08", inval, t("08")),
        r("timeout_ms=5ms", inval, t("5ms")),
        r("timeout_ms=\" 5\"", inval, t(" 5")),
        // The driver shows the value without its one trailing newline, the loader as given.
        r(
            "timeout_ms=\"3600001\n\"",
            inval,
            vec![
                refusal("timeout_ms", "3600001", &expected_uint(TIMEOUT_MAX))[0].clone(),
                loader_invalid("timeout_ms", "3600001\n"),
            ],
        ),
        r("pending_max=4290772991", inval, p("4290772991")),
        r("pending_max=4294967295", inval, p("4294967295")),
        r("pending_max=4294967296", range, p("4294967296")),
        r("pending_max=", inval, p("")),
        r("verbose=", inval, b("")),
        r("verbose=maybe", inval, b("maybe")),
        r("verbose=2", inval, b("2")),
        r("verbose=o", inval, b("o")),
        r("verbose=-1", inval, b("-1")),
        r("verbose=\" y\"", inval, b(" y")),
        r("wait_mode=", inval, w("")),
        r("wait_mode", inval, vec![loader_invalid("wait_mode", "")]),
        r("wait_mode=Killable", inval, w("Killable")),
        r("wait_mode=KILLABLE", inval, w("KILLABLE")),
        r("wait_mode=kill", inval, w("kill")),
        r("wait_mode=killable2", inval, w("killable2")),
        r("wait_mode=\"killable \"", inval, w("killable ")),
        r("wait_mode=bogus", inval, w("bogus")),
        r(
            "verbose=maybe timeout_ms=4294967296",
            range,
            [b("maybe"), t("4294967296")].concat(),
        ),
        r(
            "timeout_ms=4294967296 verbose=maybe",
            inval,
            [t("4294967296"), b("maybe")].concat(),
        ),
        r("timeout_ms=abc timeout_ms=5", inval, t("abc")),
    ]
}

/// Every refused load ([`refused_table`]): `finit_module` fails with the errno C's loader gives
/// for the same input, nothing is left loaded (no module, no node), and the kernel log holds
/// exactly the lines of the table, in order: the driver's `parameter NAME: 'VALUE' refused:
/// expected ...` and the loader's `` `VALUE' invalid for parameter `NAME' ``.
pub fn refused(ctx: &Ctx) -> CaseResult {
    for row in refused_table() {
        let arg = row.params;
        let (res, lines) = load_logged(ctx, arg)?;
        if res.is_ok() {
            let _ = module::unload_settled();
            bail!(
                "insmod {arg:?} succeeded, expected {}",
                sys::Errno(row.errno)
            );
        }
        expect_errno(res, row.errno, &format!("insmod {arg:?}"))?;
        ensure!(
            !module::is_loaded(),
            "module loaded after insmod {arg:?} failed"
        );
        ensure!(
            !Path::new(sys::dev_path()).exists(),
            "{} exists after insmod {arg:?} failed",
            sys::dev_path()
        );
        ensure_eq!(lines, row.lines, "kernel log lines of insmod {arg:?}");
    }
    Ok(())
}

/// Every accepted load: the parameters, the values they give, the lines before `loaded:`.
fn accepted_table() -> Vec<(String, Values, Vec<String>)> {
    let d = DEFAULTS;
    let t = |timeout_ms| Values { timeout_ms, ..d };
    let p = |pending_max| Values { pending_max, ..d };
    let b = |verbose| Values { verbose, ..d };
    let w = |wait_mode| Values { wait_mode, ..d };
    let none = Vec::new;
    let mut rows = vec![
        ("", d, none()),
        ("timeout_ms=0", t(0), none()),
        ("timeout_ms=1", t(1), none()),
        ("timeout_ms=3600000", t(TIMEOUT_MAX), none()),
        ("timeout_ms=0x36ee80", t(TIMEOUT_MAX), none()),
        ("timeout_ms=0x10", t(16), none()),
        ("timeout_ms=0X1f", t(31), none()),
        ("timeout_ms=010", t(8), none()),
        ("timeout_ms=+5", t(5), none()),
        ("timeout_ms=\"300\"", t(300), none()),
        ("timeout_ms=\"5\n\"", t(5), none()),
        ("timeout_ms=7 timeout_ms=9", t(9), none()),
        ("pending_max=0", p(0), none()),
        ("pending_max=3", p(3), none()),
        ("pending_max=4290772990", p(PENDING_LIMIT), none()),
        ("pending_max=0xffbffffe", p(PENDING_LIMIT), none()),
        ("verbose", b(true), none()),
        ("verbose=0 verbose", b(true), none()),
        ("verbose=\"N\"", b(false), none()),
        ("verbose=\"1\n\"", b(true), none()),
        ("wait_mode=interruptible", w("interruptible"), none()),
        ("wait_mode=killable", w("killable"), none()),
        ("wait_mode=uninterruptible", w("uninterruptible"), none()),
        ("wait_mode=\"killable\"", w("killable"), none()),
        (
            "wait_mode=\"uninterruptible\n\"",
            w("uninterruptible"),
            none(),
        ),
        (
            "wait_mode=killable timeout_ms=300 verbose=0 pending_max=7",
            Values {
                wait_mode: "killable",
                timeout_ms: 300,
                verbose: false,
                pending_max: 7,
            },
            none(),
        ),
        (
            "bogus=1",
            d,
            vec!["complete_dev: unknown parameter 'bogus' ignored".to_string()],
        ),
        ("async_probe=1", d, none()),
        (
            "timeout_ms=5 -- verbose=0",
            t(5),
            vec!["complete_dev: parameters 'verbose=0' after `--' ignored".to_string()],
        ),
    ]
    .into_iter()
    .map(|(p, v, l)| (p.to_string(), v, l))
    .collect::<Vec<_>>();
    // Every form kstrtobool() takes: its first character, or "on"/"off" in any case.
    for (forms, v) in [
        (
            &[
                "y", "Y", "1", "on", "ON", "oN", "yes", "true", "T", "e", "enable",
            ][..],
            true,
        ),
        (
            &[
                "n", "N", "0", "off", "OFF", "oF", "no", "false", "F", "d", "disable",
            ][..],
            false,
        ),
    ] {
        for f in forms {
            rows.push((format!("verbose={f}"), b(v), none()));
        }
    }
    rows
}

/// Every accepted load ([`accepted_table`]): bounds (0, the maximum), hexadecimal, octal, `+`,
/// quotes, a trailing newline, a repeated name (the last wins), every boolean form, every
/// `wait_mode`, an unknown name and `async_probe` (ignored by the loader), parameters after
/// `--`. After each, every parameter file holds exactly the value, and the kernel log holds
/// exactly the expected lines and then the driver's `loaded:` line with the four values.
pub fn accepted(ctx: &Ctx) -> CaseResult {
    for (params, want, mut lines) in accepted_table() {
        let (res, got) = load_logged(ctx, &params)?;
        res.map_err(|e| format!("insmod {params:?}: {e}"))?;
        expect_files(&want, &format!("after insmod {params:?}"))?;
        lines.push(want.loaded_line());
        ensure_eq!(got, lines, "kernel log lines of insmod {params:?}");
    }
    Ok(())
}

/// The parameter files: exactly the four parameters, each owned by root with the mode its
/// declaration gives (0444, `verbose` 0644), holding the defaults; the read-only ones cannot be
/// opened for writing even by root (`EACCES`: sysfs checks the mode, not the capability).
/// `verbose` through sysfs: each `write()` returns its full count or `EINVAL` for every form
/// `kstrtobool()` refuses (a trailing newline allowed), reads back as `Y\n` or `N\n`, and a
/// refused write logs the driver's refusal line and changes nothing; an empty write returns 0.
pub fn sysfs(ctx: &Ctx) -> CaseResult {
    let mut names: Vec<String> = std::fs::read_dir(PARAMS_DIR)
        .with_ctx(|| format!("read_dir {PARAMS_DIR}"))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .with_ctx(|| format!("read_dir {PARAMS_DIR}"))?;
    names.sort();
    ensure_eq!(
        names,
        ["pending_max", "timeout_ms", "verbose", "wait_mode"],
        "files in {PARAMS_DIR}"
    );
    for (name, mode) in [
        ("pending_max", 0o444),
        ("timeout_ms", 0o444),
        ("verbose", 0o644),
        ("wait_mode", 0o444),
    ] {
        let path = format!("{PARAMS_DIR}/{name}");
        let md = std::fs::metadata(&path).with_ctx(|| format!("stat {path}"))?;
        ensure!(md.is_file(), "{path} is not a regular file");
        ensure_eq!(
            format!("{:#o}", md.mode() & 0o7777),
            format!("{mode:#o}"),
            "mode of {path}"
        );
        ensure_eq!((md.uid(), md.gid()), (0, 0), "owner of {path}");
        if mode & 0o222 == 0 {
            for flags in [libc::O_WRONLY, libc::O_RDWR] {
                expect_errno(
                    sys::open(&path, flags).map(|_| ()),
                    libc::EACCES,
                    &format!("open({path}, {flags:#o}) as root"),
                )?;
            }
        }
    }
    expect_files(&DEFAULTS, "after insmod without parameters")?;

    // (what is written, the write's result, verbose after it)
    let rows: &[(&[u8], Result<usize, i32>, bool)] = &[
        (b"0", Ok(1), false),
        (b"1", Ok(1), true),
        (b"n\n", Ok(2), false),
        (b"Y\n", Ok(2), true),
        (b"off", Ok(3), false),
        (b"on", Ok(2), true),
        (b"OFF\n", Ok(4), false),
        (b"oN\n", Ok(3), true),
        (b"no", Ok(2), false),
        (b"yes", Ok(3), true),
        (b"false", Ok(5), false),
        (b"true", Ok(4), true),
        (b"disable", Ok(7), false),
        (b"enable", Ok(6), true),
        (b"", Ok(0), true),
        (b"maybe", Err(libc::EINVAL), true),
        (b"\n", Err(libc::EINVAL), true),
        (b"o\n", Err(libc::EINVAL), true),
        (b"N", Ok(1), false),
        (b"2", Err(libc::EINVAL), false),
        (b" 1", Err(libc::EINVAL), false),
        (b"-1", Err(libc::EINVAL), false),
        (b"", Ok(0), false),
        (b"1\n\n", Ok(3), true),
    ];
    let path = format!("{PARAMS_DIR}/verbose");
    for &(data, want, after) in rows {
        let shown = String::from_utf8_lossy(data).into_owned();
        let before = ctx.kmsg_now()?.records.len();
        let got = write_once(&path, data);
        let k = ctx.kmsg_now()?;
        let lines: Vec<String> = k.records[before.min(k.records.len())..]
            .iter()
            .map(|r| r.msg.clone())
            .filter(|m| m.starts_with(crate::kmsg::driver_prefix()))
            .collect();
        drop(k);
        let what = format!("write({path}, {shown:?})");
        match want {
            Ok(n) => expect_ok(got, n, &what)?,
            Err(e) => expect_errno(got, e, &what)?,
        }
        let want_lines: Vec<String> = match want {
            Ok(_) => Vec::new(),
            // The driver shows the value without one trailing newline, escaped.
            Err(_) => {
                let v = data.strip_suffix(b"\n").unwrap_or(data);
                vec![format!(
                    "complete_dev: parameter verbose: '{}' refused: expected {EXPECTED_BOOL}",
                    bstr(v)
                )]
            }
        };
        ensure_eq!(lines, want_lines, "kernel log lines of {what}");
        let want_vals = Values {
            verbose: after,
            ..DEFAULTS
        };
        expect_files(&want_vals, &format!("after {what}"))?;
    }
    Ok(())
}

/// `bytes` as the kernel's `BStr` shows them in the driver's refusal line: printable ASCII as
/// it is, `\t`, `\n`, `\r`, anything else `\xNN`.
fn bstr(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        match b {
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            0x20..=0x7e => s.push(char::from(b)),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s
}

/// Opens `path` for writing and makes one `write()` of `data`: its result.
fn write_once(path: &str, data: &[u8]) -> Result<usize, sys::Errno> {
    let fd = sys::open(path, libc::O_WRONLY)?;
    // SAFETY: `data` is valid for reads of its length for the call.
    let r = sys::cvt(unsafe { libc::write(fd.as_raw_fd(), data.as_ptr().cast(), data.len()) })?;
    Ok(r as usize)
}
