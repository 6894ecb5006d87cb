// SPDX-License-Identifier: GPL-2.0

//! Branch hints newer than the kernel's minimum Rust version.
//!
//! [`core::hint::cold_path`] is stable from Rust 1.95, and the kernel builds with Rust 1.85 and
//! newer. `Kbuild` passes `--cfg complete_dev_cold_path` when `CONFIG_RUSTC_VERSION` is 1.95 or
//! more; with an older compiler [`cold_path`] does nothing: the same code, only its layout can
//! differ. Once the kernel's minimum reaches 1.95, callers use `core::hint::cold_path` directly
//! and this file goes away.

/// Marks the path it is called on as unlikely, where the compiler has
/// [`core::hint::cold_path`]; does nothing otherwise.
#[inline(always)]
pub(crate) fn cold_path() {
    #[cfg(complete_dev_cold_path)]
    core::hint::cold_path();
}
