// SPDX-License-Identifier: GPL-2.0

//! Module parameters that show in `/sys/module/<module>/parameters/`.
//!
//! The `module!` macro of 7.3 only declares load-time parameters (`perm: 0`, no `get`), so they
//! never appear in sysfs and cannot change at run time. [`module_param_sysfs!`] declares one the
//! way C `module_param_cb()` does: a `struct kernel_param` in the `__param` section with our own
//! `kernel_param_ops`, plus the `parm`/`parmtype` strings that `modinfo` prints. The value lives
//! in an atomic, so the module reads it without the parameter lock while sysfs may change it.
//!
//! C header: [`include/linux/moduleparam.h`](srctree/include/linux/moduleparam.h)

use core::marker::PhantomData;
use kernel::{
    bindings, fmt,
    prelude::*,
    str::{parse_int::ParseInt, BStr},
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
};

/// A parameter value: how it is parsed from a string and shown as one.
pub(crate) trait ParamValue: Sync + 'static {
    /// Parses `arg` (a trailing newline already removed) and stores it, or fails with `EINVAL`.
    fn set(&self, arg: &[u8]) -> Result;
    /// Writes the value into `out`; returns the number of bytes written.
    fn show(&self, out: &mut [u8]) -> usize;
    /// What a valid value looks like, for the error message of a refused one.
    fn expected(&self) -> Expected<'_>;
}

/// What a parameter accepts, printed when a value is refused.
pub(crate) enum Expected<'a> {
    /// A fixed description.
    Text(&'static str),
    /// A number from 0 to the bound.
    UpTo(u32),
    /// One of these names.
    OneOf(&'a [&'static str]),
}

impl fmt::Display for Expected<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(t) => f.write_str(t),
            Self::UpTo(max) => write!(f, "a number from 0 to {max}"),
            Self::OneOf(names) => {
                f.write_str("one of ")?;
                for (i, n) in names.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(n)?;
                }
                Ok(())
            }
        }
    }
}

/// A boolean parameter (`y`/`n`/`1`/`0`/`on`/`off`, as C `bool` parameters).
pub(crate) struct BoolParam(Atomic<bool>);

impl BoolParam {
    /// Creates the parameter with its default value.
    pub(crate) const fn new(default: bool) -> Self {
        Self(Atomic::new(default))
    }

    /// Returns the current value.
    #[inline]
    pub(crate) fn get(&self) -> bool {
        self.0.load(Relaxed)
    }
}

impl ParamValue for BoolParam {
    fn expected(&self) -> Expected<'_> {
        Expected::Text("one of y, n, 1, 0, on, off")
    }

    fn set(&self, arg: &[u8]) -> Result {
        self.0.store(kernel::str::kstrtobool_bytes(arg)?, Relaxed);
        Ok(())
    }

    fn show(&self, out: &mut [u8]) -> usize {
        put(out, if self.get() { b"Y\n" } else { b"N\n" })
    }
}

/// An unsigned parameter with an upper bound.
pub(crate) struct UintParam {
    value: Atomic<u32>,
    max: u32,
}

impl UintParam {
    /// Creates the parameter with its default value and its largest accepted value.
    pub(crate) const fn new(default: u32, max: u32) -> Self {
        Self {
            value: Atomic::new(default),
            max,
        }
    }

    /// Returns the current value.
    #[inline]
    pub(crate) fn get(&self) -> u32 {
        self.value.load(Relaxed)
    }
}

impl ParamValue for UintParam {
    fn expected(&self) -> Expected<'_> {
        Expected::UpTo(self.max)
    }

    fn set(&self, arg: &[u8]) -> Result {
        let v = u32::from_str(BStr::from_bytes(arg))?;
        if v > self.max {
            return Err(EINVAL);
        }
        self.value.store(v, Relaxed);
        Ok(())
    }

    fn show(&self, out: &mut [u8]) -> usize {
        let mut digits = [0u8; 11];
        let mut v = self.get();
        let mut i = digits.len() - 1;
        digits[i] = b'\n';
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        put(out, &digits[i..])
    }
}

/// A parameter that takes one of a fixed list of names; [`ChoiceParam::get`] gives its index.
pub(crate) struct ChoiceParam {
    index: Atomic<u32>,
    choices: &'static [&'static str],
}

impl ChoiceParam {
    /// Creates the parameter; `default` is an index into `choices`.
    pub(crate) const fn new(choices: &'static [&'static str], default: u32) -> Self {
        Self {
            index: Atomic::new(default),
            choices,
        }
    }

    /// Returns the index of the current choice.
    #[inline]
    pub(crate) fn get(&self) -> u32 {
        self.index.load(Relaxed)
    }

    /// Returns the name of the current choice.
    pub(crate) fn name(&self) -> &'static str {
        self.choices
            .get(self.get() as usize)
            .copied()
            .unwrap_or("?")
    }
}

impl ParamValue for ChoiceParam {
    fn expected(&self) -> Expected<'_> {
        Expected::OneOf(self.choices)
    }

    fn set(&self, arg: &[u8]) -> Result {
        let i = self
            .choices
            .iter()
            .position(|c| c.as_bytes() == arg)
            .ok_or(EINVAL)?;
        self.index.store(i as u32, Relaxed);
        Ok(())
    }

    fn show(&self, out: &mut [u8]) -> usize {
        let n = put(out, self.name().as_bytes());
        n + put(&mut out[n..], b"\n")
    }
}

/// Copies as much of `s` as fits into `out`; returns the number of bytes copied.
fn put(out: &mut [u8], s: &[u8]) -> usize {
    let n = s.len().min(out.len());
    out[..n].copy_from_slice(&s[..n]);
    n
}

/// The `kernel_param_ops` of a [`ParamValue`] type.
pub(crate) struct Ops<P>(PhantomData<P>);

impl<P: ParamValue> Ops<P> {
    /// The operations: parse on `set`, print on `get`, nothing to free.
    pub(crate) const OPS: bindings::kernel_param_ops = bindings::kernel_param_ops {
        flags: 0,
        set: Some(set_param::<P>),
        get: Some(get_param::<P>),
        free: None,
    };
}

/// `kernel_param_ops::set`: called at load time and on sysfs writes, under the parameter lock.
///
/// # Safety
///
/// `kp` must point to a `kernel_param` made by [`module_param_sysfs!`], whose `arg` points to a
/// static `P`; `val` must be null or a NUL-terminated string valid for the duration of the call.
unsafe extern "C" fn set_param<P: ParamValue>(
    val: *const c_char,
    kp: *const bindings::kernel_param,
) -> c_int {
    if val.is_null() {
        // `insmod m.ko name` without `=value`: not a form our parameters accept.
        return EINVAL.to_errno();
    }
    // SAFETY: `val` is non-null and NUL-terminated for the call (function safety requirement).
    let arg = unsafe { CStr::from_char_ptr(val) }.to_bytes();
    let arg = arg.strip_suffix(b"\n").unwrap_or(arg);
    // SAFETY: `kp` is valid and its `arg` points to a static `P` (function safety requirement).
    let (param, name) = unsafe { (&*(*kp).__bindgen_anon_1.arg.cast::<P>(), (*kp).name) };
    match param.set(arg) {
        Ok(()) => 0,
        Err(e) => {
            // SAFETY: `name` is the NUL-terminated static name set by `module_param_sysfs!`.
            let name = unsafe { CStr::from_char_ptr(name) };
            pr_err!(
                "parameter {}: '{}' refused: expected {}\n",
                name,
                BStr::from_bytes(arg),
                param.expected()
            );
            e.to_errno()
        }
    }
}

/// `kernel_param_ops::get`: prints the value for a sysfs read, under the parameter lock.
///
/// # Safety
///
/// `kp` must be as for [`set_param`]; `buffer` must be valid for writes of `PAGE_SIZE` bytes, as
/// sysfs guarantees for `get`.
unsafe extern "C" fn get_param<P: ParamValue>(
    buffer: *mut c_char,
    kp: *const bindings::kernel_param,
) -> c_int {
    // SAFETY: `kp` is valid and its `arg` points to a static `P` (function safety requirement).
    let param = unsafe { &*(*kp).__bindgen_anon_1.arg.cast::<P>() };
    // SAFETY: `buffer` is valid for `PAGE_SIZE` bytes and nothing else uses it during the call.
    let out =
        unsafe { core::slice::from_raw_parts_mut(buffer.cast::<u8>(), kernel::page::PAGE_SIZE) };
    param.show(out) as c_int
}

/// Turns a `concat!` string into the byte array that a `.modinfo` entry needs.
pub(crate) const fn modinfo<const N: usize>(s: &str) -> [u8; N] {
    let b = s.as_bytes();
    let mut a = [0u8; N];
    let mut i = 0;
    while i < N {
        a[i] = b[i];
        i += 1;
    }
    a
}

/// Declares a static parameter that shows in sysfs, like C `module_param_cb()` plus
/// `MODULE_PARM_DESC()`.
///
/// ```ignore
/// module_param_sysfs!(VERBOSE: BoolParam = BoolParam::new(true),
///     name: "verbose", type: "bool", perm: 0o644, desc: "log each read and write");
/// ```
#[macro_export]
macro_rules! module_param_sysfs {
    ($(#[$meta:meta])* $id:ident: $ty:ty = $init:expr, name: $name:literal, type: $tname:literal,
     perm: $perm:expr, desc: $desc:literal) => {
        $(#[$meta])*
        static $id: $ty = $init;

        const _: () = {
            #[link_section = "__param"]
            #[used(compiler)]
            static PARAM: ::kernel::module_param::KernelParam =
                ::kernel::module_param::KernelParam::new(::kernel::bindings::kernel_param {
                    name: concat!($name, "\0").as_ptr().cast(),
                    // `__this_module` is set up by the kernel at load time and is not freed
                    // before the module is unloaded, which removes this parameter too; only its
                    // address is taken here.
                    mod_: &raw mut ::kernel::bindings::__this_module,
                    ops: ::core::ptr::from_ref(&$crate::param::Ops::<$ty>::OPS),
                    perm: $perm,
                    level: -1,
                    flags: 0,
                    __bindgen_anon_1: ::kernel::bindings::kernel_param__bindgen_ty_1 {
                        arg: ::core::ptr::from_ref(&$id).cast_mut().cast(),
                    },
                });

            const PARM: &str = concat!("parm=", $name, ":", $desc, "\0");
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static PARM_INFO: [u8; PARM.len()] = $crate::param::modinfo(PARM);

            const TYPE: &str = concat!("parmtype=", $name, ":", $tname, "\0");
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static TYPE_INFO: [u8; TYPE.len()] = $crate::param::modinfo(TYPE);
        };
    };
}
