// SPDX-License-Identifier: GPL-2.0
//! The running kernel's configuration, and the jiffies arithmetic of its `HZ`.
//!
//! The configuration comes from `/proc/config.gz` (`CONFIG_IKCONFIG_PROC`) if the kernel has it,
//! else from `/boot/config-$(uname -r)`, where Debian installs it (the test VM puts the booted
//! kernel's `.config` there too: `tools/initramfs.sh`).

use std::process::Command;
use std::time::Duration;

/// A kernel `.config`, and where it was read.
#[derive(Debug, Clone)]
pub struct KernelConfig {
    /// The file's text.
    text: String,
    /// Where it came from.
    pub source: String,
}

impl KernelConfig {
    /// The running kernel's configuration; the reason if neither place has it.
    pub fn running() -> Result<Self, String> {
        let mut tried = Vec::new();
        if std::path::Path::new("/proc/config.gz").exists() {
            match Command::new("gzip")
                .args(["-dc", "/proc/config.gz"])
                .output()
            {
                Ok(o) if o.status.success() => {
                    return Ok(Self::from_text(
                        String::from_utf8_lossy(&o.stdout).into_owned(),
                        "/proc/config.gz",
                    ))
                }
                Ok(o) => tried.push(format!("gzip -dc /proc/config.gz: {}", o.status)),
                Err(e) => tried.push(format!("gzip -dc /proc/config.gz: {e}")),
            }
        } else {
            tried.push("no /proc/config.gz".to_string());
        }
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_err(|e| format!("read /proc/sys/kernel/osrelease: {e}"))?;
        let path = format!("/boot/config-{}", release.trim());
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Self::from_text(text, &path)),
            Err(e) => {
                tried.push(format!("{path}: {e}"));
                Err(format!(
                    "the kernel's configuration is not available ({})",
                    tried.join("; ")
                ))
            }
        }
    }

    /// A configuration from its text.
    pub fn from_text(text: String, source: &str) -> Self {
        Self {
            text,
            source: source.to_string(),
        }
    }

    /// The value of `CONFIG_<name>` (`None` if unset).
    pub fn get(&self, name: &str) -> Option<&str> {
        let key = format!("CONFIG_{name}=");
        self.text
            .lines()
            .find_map(|l| l.strip_prefix(key.as_str()))
            .map(str::trim)
    }

    /// Whether `CONFIG_<name>=y`.
    pub fn is_set(&self, name: &str) -> bool {
        self.get(name) == Some("y")
    }

    /// `CONFIG_HZ`.
    pub fn hz(&self) -> Result<Hz, String> {
        let v = self
            .get("HZ")
            .ok_or_else(|| format!("{} has no CONFIG_HZ", self.source))?;
        let hz: u32 = v
            .parse()
            .map_err(|_| format!("{}: CONFIG_HZ={v} is not a number", self.source))?;
        Hz::new(hz).ok_or_else(|| format!("{}: CONFIG_HZ={hz} is out of range", self.source))
    }
}

/// The kernel's tick rate, and what its jiffies mean in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hz(u32);

impl Hz {
    /// `HZ`, if it is one the kernel allows (24 to 10000 in `kernel/Kconfig.hz` and its
    /// architecture overrides; 100, 250, 300, 1000 on x86).
    pub fn new(hz: u32) -> Option<Self> {
        (24..=10_000).contains(&hz).then_some(Self(hz))
    }

    /// The value.
    pub fn get(self) -> u32 {
        self.0
    }

    /// One jiffy.
    pub fn tick(self) -> Duration {
        Duration::from_nanos(1_000_000_000 / u64::from(self.0))
    }

    /// `n` jiffies.
    pub fn jiffies(self, n: u64) -> Duration {
        Duration::from_nanos(n * 1_000_000_000 / u64::from(self.0))
    }

    /// The kernel's `msecs_to_jiffies(ms)` (include/linux/jiffies.h) for `ms` below
    /// `INT_MAX`: rounded up, so a non-zero `ms` is at least one jiffy. HZ dividing 1000 (100,
    /// 250, 1000): `(ms + 1000/HZ - 1) / (1000/HZ)`; HZ a multiple of 1000: `ms * (HZ/1000)`;
    /// any other HZ (300): the kernel multiplies by a fixed-point `HZ/1000` rounded up, which
    /// is `ceil(ms * HZ / 1000)` for the values used here.
    pub fn msecs_to_jiffies(self, ms: u32) -> u64 {
        let (ms, hz) = (u64::from(ms), u64::from(self.0));
        if hz <= 1000 && 1000 % hz == 0 {
            let per = 1000 / hz;
            ms.div_ceil(per)
        } else if hz > 1000 && hz % 1000 == 0 {
            ms * (hz / 1000)
        } else {
            (ms * hz).div_ceil(1000)
        }
    }

    /// How late past its expiry a timer `delta` jiffies away may fire, in jiffies: the timer
    /// wheel (kernel/time/timer.c, `calc_index`) puts it in the first bucket after its expiry at
    /// the granularity of its level, `8^level` jiffies, level 0 for `delta` below 63 jiffies,
    /// level n below `63 * 8^n`. So a timeout of `delta` jiffies armed at jiffy J fires at the
    /// tick J + delta + 1 (level 0) up to J + delta + 8^level.
    pub fn wheel_granularity(delta: u64) -> u64 {
        let mut gran = 1;
        let mut start = 63; // LVL_START(1)
        while delta >= start && gran < 1 << 24 {
            gran *= 8;
            start *= 8;
        }
        gran
    }
}

/// Whether the kernel prints error names (`CONFIG_SYMBOLIC_ERRNAME`): the driver logs a
/// `kernel::error::Error` with `{:?}`, which is its name (`ETIMEDOUT`) with it and `Error(110)`
/// without it (rust/kernel/error.rs). From the configuration, else from whether `errname` is in
/// `/proc/kallsyms` (lib/errname.c is built only with the option).
pub fn symbolic_errname(config: Option<&KernelConfig>) -> Result<bool, String> {
    if let Some(c) = config {
        return Ok(c.is_set("SYMBOLIC_ERRNAME"));
    }
    let syms = std::fs::read_to_string("/proc/kallsyms").map_err(|e| {
        format!("cannot tell how the kernel prints an error: no configuration, /proc/kallsyms: {e}")
    })?;
    Ok(syms
        .lines()
        .any(|l| l.split_whitespace().nth(2) == Some("errname")))
}

/// How the driver's `{:?}` prints the kernel error `errno` (positive): its name, or
/// `Error(N)`.
pub fn error_text(errno: i32, symbolic: bool) -> String {
    let name = match errno {
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EAGAIN => "EAGAIN",
        libc::EINTR => "EINTR",
        ERESTARTSYS => "ERESTARTSYS",
        ERESTARTNOHAND => "ERESTARTNOHAND",
        _ => "",
    };
    if symbolic && !name.is_empty() {
        name.to_string()
    } else {
        format!("Error({errno})")
    }
}

/// The kernel-internal `ERESTARTSYS` (include/linux/errno.h).
pub const ERESTARTSYS: i32 = 512;
/// The kernel-internal `ERESTARTNOHAND`.
pub const ERESTARTNOHAND: i32 = 514;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msecs_to_jiffies_as_the_kernel() {
        let hz250 = Hz::new(250).expect("250");
        let got: Vec<u64> = [1, 2, 3, 4, 5, 8, 9, 20, 100, 200, 300]
            .iter()
            .map(|&ms| hz250.msecs_to_jiffies(ms))
            .collect();
        assert_eq!(got, [1, 1, 1, 1, 2, 2, 3, 5, 25, 50, 75]);
        let hz1000 = Hz::new(1000).expect("1000");
        assert_eq!(hz1000.msecs_to_jiffies(1), 1);
        assert_eq!(hz1000.msecs_to_jiffies(300), 300);
        let hz100 = Hz::new(100).expect("100");
        assert_eq!(hz100.msecs_to_jiffies(1), 1);
        assert_eq!(hz100.msecs_to_jiffies(11), 2);
        let hz300 = Hz::new(300).expect("300");
        assert_eq!(hz300.msecs_to_jiffies(1), 1);
        assert_eq!(hz300.msecs_to_jiffies(10), 3);
        assert_eq!(hz300.msecs_to_jiffies(11), 4);
        assert_eq!(Hz::new(2000).expect("2000").msecs_to_jiffies(3), 6);
        assert_eq!(hz250.tick(), Duration::from_millis(4));
        assert_eq!(hz250.jiffies(50), Duration::from_millis(200));
        assert_eq!(Hz::new(0), None);
    }

    #[test]
    fn wheel_levels() {
        assert_eq!(Hz::wheel_granularity(1), 1);
        assert_eq!(Hz::wheel_granularity(62), 1);
        assert_eq!(Hz::wheel_granularity(63), 8);
        assert_eq!(Hz::wheel_granularity(75), 8);
        assert_eq!(Hz::wheel_granularity(503), 8);
        assert_eq!(Hz::wheel_granularity(504), 64);
    }

    #[test]
    fn config_values() {
        let c = KernelConfig::from_text(
            "# CONFIG_FOO is not set\nCONFIG_HZ_250=y\nCONFIG_HZ=250\nCONFIG_SYMBOLIC_ERRNAME=y\n"
                .into(),
            "test",
        );
        assert_eq!(c.hz(), Ok(Hz(250)));
        assert!(c.is_set("SYMBOLIC_ERRNAME"));
        assert!(!c.is_set("FOO"));
        assert_eq!(symbolic_errname(Some(&c)), Ok(true));
        let none = KernelConfig::from_text("CONFIG_HZ_250=y\n".into(), "x");
        assert_eq!(none.hz(), Err("x has no CONFIG_HZ".to_string()));
        assert_eq!(error_text(ERESTARTNOHAND, true), "ERESTARTNOHAND");
        assert_eq!(error_text(ERESTARTNOHAND, false), "Error(514)");
        assert_eq!(error_text(libc::ETIMEDOUT, false), "Error(110)");
    }
}
