// SPDX-License-Identifier: GPL-2.0
//! The `param_modinfo` case: the module file's `.modinfo` section, read from the ELF file itself
//! (section headers, the section name table, the NUL-separated strings), and each parameter's
//! description held against what the loaded module shows and accepts.

use super::{load_logged, PARAMS_DIR};
use crate::cases::{expect_errno, within, Ctx};
use crate::error::{CaseResult, Context};
use crate::module;
use crate::{bail, ensure_eq};

/// `len` bytes of `image` at `off`, or an error naming `what`.
fn bytes_at<'a>(image: &'a [u8], off: u64, len: u64, what: &str) -> Result<&'a [u8], String> {
    usize::try_from(off)
        .ok()
        .zip(usize::try_from(len).ok())
        .and_then(|(o, l)| image.get(o..o.checked_add(l)?))
        .ok_or_else(|| format!("{what}: {len} bytes at {off} lie outside the file"))
}

/// A little-endian unsigned number of `N` bytes of `image` at `off`.
fn le_at<const N: usize>(image: &[u8], off: u64, what: &str) -> Result<u64, String> {
    let b = bytes_at(image, off, N as u64, what)?;
    Ok(b.iter().rev().fold(0, |v, &x| (v << 8) | u64::from(x)))
}

/// The NUL-separated strings of the `.modinfo` section of a 64-bit little-endian ELF module
/// file: what `modinfo` prints (`parm=NAME:DESC`, `parmtype=NAME:TYPE`, ...).
pub fn modinfo_strings(image: &[u8]) -> Result<Vec<String>, String> {
    ensure_elf(image)?;
    let shoff = le_at::<8>(image, 0x28, "e_shoff")?;
    let shentsize = le_at::<2>(image, 0x3a, "e_shentsize")?;
    let shnum = le_at::<2>(image, 0x3c, "e_shnum")?;
    let shstrndx = le_at::<2>(image, 0x3e, "e_shstrndx")?;
    let section = |i: u64| -> Result<(u64, u64, u64), String> {
        let h = shoff + i * shentsize;
        Ok((
            le_at::<4>(image, h, "sh_name")?,
            le_at::<8>(image, h + 0x18, "sh_offset")?,
            le_at::<8>(image, h + 0x20, "sh_size")?,
        ))
    };
    let (_, stroff, strsize) = section(shstrndx)?;
    let names = bytes_at(image, stroff, strsize, ".shstrtab")?;
    for i in 0..shnum {
        let (name, off, size) = section(i)?;
        let name = names
            .get(usize::try_from(name).unwrap_or(usize::MAX)..)
            .and_then(|n| n.split(|&b| b == 0).next())
            .ok_or_else(|| format!("section {i}: name offset {name} outside .shstrtab"))?;
        if name == b".modinfo" {
            let data = bytes_at(image, off, size, ".modinfo")?;
            return Ok(data
                .split(|&b| b == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect());
        }
    }
    Err("no .modinfo section".to_string())
}

/// Fails unless `image` starts like a 64-bit little-endian ELF file.
fn ensure_elf(image: &[u8]) -> Result<(), String> {
    match image.get(..6) {
        Some([0x7f, b'E', b'L', b'F', 2, 1]) => Ok(()),
        _ => Err("not a 64-bit little-endian ELF file".to_string()),
    }
}

/// The word after `key` in `desc` (up to a space, `,`, `;` or `)`), if `key` is there.
pub fn word_after<'a>(desc: &'a str, key: &str) -> Option<&'a str> {
    let rest = &desc[desc.find(key)? + key.len()..];
    let end = rest
        .find(|c: char| c.is_whitespace() || ",;)".contains(c))
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The descriptions `modinfo` shows against the module as it runs: each parameter the module
/// file declares (`parmtype=` in its `.modinfo`, read from the file the case loads) has a
/// description (`parm=`) that states its default as `default X`, which is what sysfs shows
/// after a load without parameters, and a `uint` one its largest value as `at most N`, which
/// is what the module accepts: N loads (and reads back), N + 1 fails with `EINVAL`. The
/// parameters and their types are the four of the driver.
pub fn modinfo(ctx: &Ctx) -> CaseResult {
    let ko = &ctx.opts.module;
    let image = std::fs::read(ko).with_ctx(|| format!("read {}", ko.display()))?;
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
    let types = field("parmtype=");
    let descs = field("parm=");
    ensure_eq!(
        types,
        [
            ("pending_max", "uint"),
            ("timeout_ms", "uint"),
            ("verbose", "bool"),
            ("wait_mode", "charp"),
        ]
        .map(|(n, t)| (n.to_string(), t.to_string())),
        "parmtype entries of {}",
        ko.display()
    );
    for (name, ty) in &types {
        ctx.load("")?;
        let Some((_, desc)) = descs.iter().find(|(n, _)| n == name) else {
            bail!(
                "parameter {name} has no description (parm=) in {}",
                ko.display()
            );
        };
        let path = format!("{PARAMS_DIR}/{name}");
        let Some(default) = word_after(desc, "default ") else {
            bail!("the description of {name} states no 'default X': {desc:?}");
        };
        let shown = std::fs::read_to_string(&path).with_ctx(|| format!("read {path}"))?;
        ensure_eq!(
            shown.strip_suffix('\n').unwrap_or(&shown),
            default,
            "{path} after insmod without parameters, against the description {desc:?}"
        );
        if ty != "uint" {
            continue;
        }
        let Some(max) = word_after(desc, "at most ") else {
            bail!("the description of uint parameter {name} states no 'at most N': {desc:?}");
        };
        let max: u32 = max
            .parse()
            .map_err(|e| format!("the description of {name}: 'at most {max}': {e}"))?;
        let arg = format!("{name}={max}");
        within(
            &format!("the most the description of {name} states"),
            ctx.load(&arg),
        )?;
        let shown = std::fs::read_to_string(&path).with_ctx(|| format!("read {path}"))?;
        ensure_eq!(shown, format!("{max}\n"), "{path} after insmod {arg}");
        let above = u64::from(max) + 1;
        let arg = format!("{name}={above}");
        let (res, _) = load_logged(ctx, &arg)?;
        if res.is_ok() {
            let _ = module::unload_settled();
        }
        let errno = if above > u64::from(u32::MAX) {
            libc::ERANGE
        } else {
            libc::EINVAL
        };
        expect_errno(
            res,
            errno,
            &format!("insmod {arg}, one above the most the description states ({desc:?})"),
        )?;
    }
    Ok(())
}
