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
    bindings,
    error::to_result,
    fmt::{
        self,
        Write, //
    },
    prelude::*,
    str::{
        BStr,
        Formatter, //
    },
    sync::atomic::{
        Atomic,
        Relaxed, //
    }, //
};

/// A parameter value: how it is parsed from a string and shown as one.
pub(crate) trait ParamValue: Sync + 'static {
    /// Whether the parameter may be given without a value (`insmod m.ko name`), which then means
    /// what [`ParamValue::NOARG_VALUE`] says (C `KERNEL_PARAM_OPS_FL_NOARG`).
    const NOARG: bool = false;
    /// The value a bare `name` stands for, when [`ParamValue::NOARG`] is set.
    const NOARG_VALUE: &'static [u8] = b"";
    /// Whether [`ParamValue::set`] gets the value as given, trailing newline included (for a
    /// parser of C's that handles it itself), instead of with one trailing newline removed.
    const RAW: bool = false;
    /// Parses `arg` and stores it, or fails (`EINVAL`, or what C's parser of the type gives).
    fn set(&self, arg: &[u8]) -> Result;
    /// Writes the value, with a trailing newline, as sysfs shows it.
    fn show(&self, f: &mut Formatter<'_>) -> fmt::Result;
    /// Writes what a valid value looks like, for the error message of a refused one.
    fn expected(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// Shows what a parameter accepts ([`ParamValue::expected`]), for `{}` in a message.
struct ExpectedOf<'a, P>(&'a P);

impl<P: ParamValue> fmt::Display for ExpectedOf<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expected(f)
    }
}

/// A boolean parameter (`y`/`n`/`1`/`0`/`on`/`off`, as C `bool` parameters; a bare name is `y`).
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
    // C `param_set_bool`: "No equals means "set"...".
    const NOARG: bool = true;
    const NOARG_VALUE: &'static [u8] = b"1";

    fn expected(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("one of y, n, 1, 0, on, off")
    }

    fn set(&self, arg: &[u8]) -> Result {
        self.0.store(kernel::str::kstrtobool_bytes(arg)?, Relaxed);
        Ok(())
    }

    fn show(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(if self.get() { "Y\n" } else { "N\n" })
    }
}

impl BoolParam {
    /// The `kernel_param_ops` of this type, found by [`module_param_sysfs!`] through the type.
    #[doc(hidden)]
    pub(crate) const KERNEL_PARAM_OPS: bindings::kernel_param_ops = Ops::<Self>::OPS;
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
    const RAW: bool = true;

    fn expected(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a number from 0 to {}", self.max)
    }

    /// Parses `arg` as C's `uint` parameters do ([`kstrtouint`]); a value above the bound fails
    /// with `EINVAL`, as C `param_set_uint_minmax()` does.
    fn set(&self, arg: &[u8]) -> Result {
        let v = kstrtouint(arg)?;
        if v > self.max {
            return Err(EINVAL);
        }
        self.value.store(v, Relaxed);
        Ok(())
    }

    fn show(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.get())
    }
}

/// Parses `arg` with C `kstrtouint(arg, 0, ...)`, the parser of C `uint` parameters: decimal,
/// `0x` hexadecimal or `0` octal, an optional leading `+` and one optional trailing newline.
/// Anything else fails with `EINVAL`, a value above `UINT_MAX` with `ERANGE`.
fn kstrtouint(arg: &[u8]) -> Result<u32> {
    // C wants a NUL-terminated string: copy it (parameters are set in process context).
    let mut s = KVec::with_capacity(arg.len() + 1, GFP_KERNEL)?;
    s.extend_from_slice(arg, GFP_KERNEL)?;
    s.push(0, GFP_KERNEL)?;
    let mut v: u32 = 0;
    // SAFETY: `s` is NUL-terminated and outlives the call; `v` is valid for writes.
    to_result(unsafe { bindings::kstrtouint(s.as_ptr().cast(), 0, &mut v) })?;
    Ok(v)
}

impl UintParam {
    /// The `kernel_param_ops` of this type, found by [`module_param_sysfs!`] through the type.
    #[doc(hidden)]
    pub(crate) const KERNEL_PARAM_OPS: bindings::kernel_param_ops = Ops::<Self>::OPS;
}

/// A value chosen by name from a fixed table: the type of a [`ChoiceParam`].
pub(crate) trait Choice: Copy + Send + Sync + 'static {
    /// Every value with the name that selects it; the first is the default.
    const CHOICES: &'static [(Self, &'static str)];
}

/// A parameter that takes one of the names of a [`Choice`] type; [`ChoiceParam::get`] gives the
/// value.
///
/// # Invariants
///
/// `index` is a valid index into `T::CHOICES`.
pub(crate) struct ChoiceParam<T: Choice> {
    index: Atomic<u32>,
    _choice: PhantomData<T>,
}

impl<T: Choice> ChoiceParam<T> {
    /// Creates the parameter, set to the first of `T::CHOICES`.
    pub(crate) const fn new() -> Self {
        assert!(!T::CHOICES.is_empty());
        // INVARIANT: `T::CHOICES` is not empty, so 0 is a valid index.
        Self {
            index: Atomic::new(0),
            _choice: PhantomData,
        }
    }

    /// The current choice and its name.
    fn entry(&self) -> (T, &'static str) {
        // By the type invariant the index is valid: this never takes the fallback.
        T::CHOICES
            .get(self.index.load(Relaxed) as usize)
            .copied()
            .unwrap_or(T::CHOICES[0])
    }

    /// Returns the current choice.
    #[inline]
    pub(crate) fn get(&self) -> T {
        self.entry().0
    }

    /// Returns the name of the current choice.
    pub(crate) fn name(&self) -> &'static str {
        self.entry().1
    }
}

impl<T: Choice> ParamValue for ChoiceParam<T> {
    fn expected(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("one of ")?;
        for (i, (_, name)) in T::CHOICES.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }

    fn set(&self, arg: &[u8]) -> Result {
        let i = T::CHOICES
            .iter()
            .position(|(_, name)| name.as_bytes() == arg)
            .ok_or(EINVAL)?;
        // INVARIANT: `i` came from `position` over `T::CHOICES`. The table has far fewer than
        // 2^32 entries, so the cast keeps it.
        self.index.store(i as u32, Relaxed);
        Ok(())
    }

    fn show(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.name())
    }
}

impl<T: Choice> ChoiceParam<T> {
    /// The `kernel_param_ops` of this type, found by [`module_param_sysfs!`] through the type.
    #[doc(hidden)]
    pub(crate) const KERNEL_PARAM_OPS: bindings::kernel_param_ops = Ops::<Self>::OPS;
}

/// The `kernel_param_ops` of a [`ParamValue`] type.
pub(crate) struct Ops<P>(PhantomData<P>);

impl<P: ParamValue> Ops<P> {
    /// The operations: parse on `set`, print on `get`, nothing to free.
    pub(crate) const OPS: bindings::kernel_param_ops = bindings::kernel_param_ops {
        flags: if P::NOARG {
            bindings::KERNEL_PARAM_OPS_FL_NOARG
        } else {
            0
        },
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
pub(crate) unsafe extern "C" fn set_param<P: ParamValue>(
    val: *const c_char,
    kp: *const bindings::kernel_param,
) -> c_int {
    let arg = if val.is_null() {
        // `insmod m.ko name` without `=value`: only `NOARG` types take it (the kernel passes
        // NULL to the others only if `KERNEL_PARAM_OPS_FL_NOARG` is set, which it is not).
        if !P::NOARG {
            return EINVAL.to_errno();
        }
        P::NOARG_VALUE
    } else {
        // SAFETY: `val` is non-null and NUL-terminated for the call (function safety
        // requirement).
        unsafe { CStr::from_char_ptr(val) }.to_bytes()
    };
    let line = arg.strip_suffix(b"\n").unwrap_or(arg);
    let arg = if P::RAW { arg } else { line };
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
                BStr::from_bytes(line),
                ExpectedOf(param)
            );
            e.to_errno()
        }
    }
}

/// `kernel_param_ops::get`: prints the value for a sysfs read, under the parameter lock.
///
/// Writes at most `PAGE_SIZE - 1` bytes: sysfs treats a count of `PAGE_SIZE` as a bug (it logs
/// "fill_read_buffer: ... returned bad count" and cuts it). A value that does not fit is cut.
///
/// # Safety
///
/// `kp` must be as for [`set_param`]; `buffer` must be valid for reads and writes of `PAGE_SIZE`
/// bytes, all of them initialised, and nothing else may access them during the call (the body
/// makes a `&mut [u8]` of them). The kernel's one caller of a scalar parameter's `get`,
/// `param_attr_show()` (kernel/params.c:573 in 7.3), passes the buffer of
/// `sysfs_kf_seq_show()`, which is at least `PAGE_SIZE` bytes and zeroed
/// (`memset(buf, 0, PAGE_SIZE)`, fs/sysfs/file.c:58-63). `param_array_get()` (kernel/params.c:489)
/// would pass less than a page, but [`module_param_sysfs!`] declares no arrays.
pub(crate) unsafe extern "C" fn get_param<P: ParamValue>(
    buffer: *mut c_char,
    kp: *const bindings::kernel_param,
) -> c_int {
    /// The most a `get` may write.
    const MAX: usize = kernel::page::PAGE_SIZE - 1;
    // SAFETY: `kp` is valid and its `arg` points to a static `P` (function safety requirement).
    let param = unsafe { &*(*kp).__bindgen_anon_1.arg.cast::<P>() };
    // SAFETY: `buffer` is valid for reads and writes of `PAGE_SIZE > MAX` initialised bytes, and
    // nothing else accesses them during the call (function safety requirement).
    let out = unsafe { core::slice::from_raw_parts_mut(buffer.cast::<u8>(), MAX) };
    let mut f = Formatter::new(out);
    // A value longer than `MAX` fails the write; what fit is kept, cut at `MAX`.
    let _ = param.show(&mut f);
    // `MAX` fits in a `c_int`.
    f.bytes_written().min(MAX) as c_int
}

/// Declares a static parameter that shows in sysfs, like C `module_param_cb()` plus
/// `MODULE_PARM_DESC()`.
///
/// `$ty` is one of the [`ParamValue`] types of this file, found through its inherent
/// `KERNEL_PARAM_OPS`, so the macro works whatever the including crate calls this module.
/// `perm` is checked at compile time as C `VERIFY_OCTAL_PERMISSIONS` does: at most `0o777`, the
/// user at least as able to read as the group, the group as the others, the user at least as
/// able to write as the group, and never writable by others. A visibility before the name
/// (`pub(crate) VERBOSE: ...`) lets a parameter declared in a submodule be read elsewhere.
///
/// ```ignore
/// module_param_sysfs!(VERBOSE: BoolParam = BoolParam::new(true),
///     name: "verbose", type: "bool", perm: 0o644, desc: "log each read and write");
/// ```
#[macro_export]
macro_rules! module_param_sysfs {
    ($(#[$meta:meta])* $vis:vis $id:ident: $ty:ty = $init:expr, name: $name:literal,
     type: $tname:literal, perm: $perm:expr, desc: $desc:literal) => {
        $(#[$meta])*
        $vis static $id: $ty = $init;

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
                    ops: ::core::ptr::from_ref(&<$ty>::KERNEL_PARAM_OPS),
                    // C `VERIFY_OCTAL_PERMISSIONS`, evaluated at compile time.
                    perm: {
                        const PERM: u16 = $perm;
                        assert!(PERM <= 0o777, "permissions beyond 0777");
                        assert!((PERM >> 6) & 4 >= (PERM >> 3) & 4, "group may read, user not");
                        assert!((PERM >> 3) & 4 >= PERM & 4, "others may read, group not");
                        assert!((PERM >> 6) & 2 >= (PERM >> 3) & 2, "group may write, user not");
                        assert!(PERM & 2 == 0, "writable by others");
                        PERM
                    },
                    level: -1,
                    flags: 0,
                    __bindgen_anon_1: ::kernel::bindings::kernel_param__bindgen_ty_1 {
                        arg: ::core::ptr::from_ref(&$id).cast_mut().cast(),
                    },
                });

            const PARM: &str = concat!("parm=", $name, ":", $desc, "\0");
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static PARM_INFO: [u8; PARM.len()] = $crate::modinfo_bytes!(PARM);

            const TYPE: &str = concat!("parmtype=", $name, ":", $tname, "\0");
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static TYPE_INFO: [u8; TYPE.len()] = $crate::modinfo_bytes!(TYPE);
        };
    };
}

/// Turns a `&str` constant into the byte array that a `.modinfo` entry needs (a helper of
/// [`module_param_sysfs!`]).
#[doc(hidden)]
#[macro_export]
macro_rules! modinfo_bytes {
    ($s:ident) => {{
        let b = $s.as_bytes();
        let mut a = [0u8; $s.len()];
        let mut i = 0;
        while i < a.len() {
            a[i] = b[i];
            i += 1;
        }
        a
    }};
}
