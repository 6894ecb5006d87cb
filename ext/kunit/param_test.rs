// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the sysfs parameters ([`super::param`]).
//!
//! Built into the test module `complete_ext_kunit.ko` only (see `complete_ext_kunit.rs`). They
//! call the `kernel_param_ops` callbacks directly, as `kernel/params.c` does, on a
//! `struct kernel_param` of their own.

use kernel::prelude::*;

#[kunit_tests(ext_param)]
mod tests {
    use super::super::param::{
        get_param,
        set_param,
        BoolParam,
        ParamValue,
        UintParam, //
    };
    use kernel::{
        bindings,
        fmt::{
            self,
            Write, //
        },
        page::PAGE_SIZE,
        prelude::*,
        str::Formatter, //
    };

    /// A `struct kernel_param` for `arg`, with the operations of `P`.
    fn kernel_param<P: ParamValue>(arg: &'static P) -> bindings::kernel_param {
        bindings::kernel_param {
            name: c"test".as_char_ptr(),
            mod_: core::ptr::null_mut(),
            ops: &super::super::param::Ops::<P>::OPS,
            perm: 0o644,
            level: -1,
            flags: 0,
            __bindgen_anon_1: bindings::kernel_param__bindgen_ty_1 {
                arg: core::ptr::from_ref(arg).cast_mut().cast(),
            },
        }
    }

    #[test]
    fn bool_without_value_means_yes() -> Result {
        static B: BoolParam = BoolParam::new(false);
        let kp = kernel_param(&B);
        // `parse_args()` passes NULL for `name` without `=` only with this flag set.
        assert_ne!(
            super::super::param::Ops::<BoolParam>::OPS.flags & bindings::KERNEL_PARAM_OPS_FL_NOARG,
            0
        );
        // SAFETY: `kp` is a valid `kernel_param` whose `arg` is a static `BoolParam`; NULL is
        // what `insmod m.ko verbose` passes.
        let ret = unsafe { set_param::<BoolParam>(core::ptr::null(), &kp) };
        assert_eq!(ret, 0);
        assert!(B.get());
        // SAFETY: As above, with a NUL-terminated value.
        let ret = unsafe { set_param::<BoolParam>(c"n".as_char_ptr(), &kp) };
        assert_eq!(ret, 0);
        assert!(!B.get());
        Ok(())
    }

    /// `(input, C kstrtobool(input) result)`: what C's `bool` parameters accept
    /// (`param_set_bool()` hands the value to `kstrtobool()`, which reads at most two bytes).
    const KSTRTOBOOL: &[(&CStr, Result<bool>)] = &[
        (c"y", Ok(true)),
        (c"Y", Ok(true)),
        (c"1", Ok(true)),
        (c"yes", Ok(true)),
        (c"t", Ok(true)),
        (c"T", Ok(true)),
        (c"e", Ok(true)),
        (c"E", Ok(true)),
        (c"on", Ok(true)),
        (c"ON", Ok(true)),
        (c"oN", Ok(true)),
        (c"1\n", Ok(true)),
        (c"y\n\n", Ok(true)),
        (c"1junk", Ok(true)),
        (c"n", Ok(false)),
        (c"N", Ok(false)),
        (c"0", Ok(false)),
        (c"no", Ok(false)),
        (c"f", Ok(false)),
        (c"F", Ok(false)),
        (c"d", Ok(false)),
        (c"D", Ok(false)),
        (c"off", Ok(false)),
        (c"OFF", Ok(false)),
        (c"of", Ok(false)),
        (c"0\n", Ok(false)),
        (c"", Err(EINVAL)),
        (c"\n", Err(EINVAL)),
        (c"o", Err(EINVAL)),
        (c"o\n", Err(EINVAL)),
        (c"ox", Err(EINVAL)),
        (c"2", Err(EINVAL)),
        (c" 1", Err(EINVAL)),
        (c"-1", Err(EINVAL)),
        (c"maybe", Err(EINVAL)),
    ];

    #[test]
    fn bool_parses_as_c_kstrtobool() -> Result {
        static B: BoolParam = BoolParam::new(false);
        let kp = kernel_param(&B);
        for &(input, want) in KSTRTOBOOL {
            // C's own answer first: the table is C's behaviour, not a guess.
            let mut c_value = false;
            // SAFETY: `input` is NUL-terminated; `c_value` is valid for writes.
            let c_ret = unsafe { bindings::kstrtobool(input.as_char_ptr(), &mut c_value) };
            let c_result = if c_ret == 0 {
                Ok(c_value)
            } else {
                Err(Error::from_errno(c_ret))
            };
            if c_result != want {
                pr_err!(
                    "kstrtobool({:?}) is {:?}, the table says {:?}\n",
                    input,
                    c_result,
                    want
                );
            }
            assert_eq!(c_result, want);
            let before = B.get();
            // SAFETY: `kp` is a valid `kernel_param` whose `arg` is a static `BoolParam`;
            // `input` is NUL-terminated.
            let ret = unsafe { set_param::<BoolParam>(input.as_char_ptr(), &kp) };
            match want {
                Ok(v) => {
                    assert_eq!(ret, 0);
                    assert_eq!(B.get(), v);
                }
                Err(e) => {
                    assert_eq!(ret, e.to_errno());
                    assert_eq!(B.get(), before);
                }
            }
        }
        Ok(())
    }

    /// `(input, C kstrtouint(input, 0, ..) result)`: what C's `uint` parameters accept.
    const KSTRTOUINT: &[(&CStr, Result<u32>)] = &[
        (c"0", Ok(0)),
        (c"42", Ok(42)),
        (c"+5", Ok(5)),
        (c"5\n", Ok(5)),
        (c"0x1f", Ok(31)),
        (c"0X1F", Ok(31)),
        (c"017", Ok(15)),
        (c"00037777777777", Ok(u32::MAX)),
        (c"0004294967295", Err(EINVAL)),
        (c"4294967295", Ok(u32::MAX)),
        (c"0xffffffff", Ok(u32::MAX)),
        (c"4294967296", Err(ERANGE)),
        (c"0x100000000", Err(ERANGE)),
        (c"99999999999999999999999", Err(ERANGE)),
        (c"", Err(EINVAL)),
        (c"\n", Err(EINVAL)),
        (c"5\n\n", Err(EINVAL)),
        (c" 5", Err(EINVAL)),
        (c"5 ", Err(EINVAL)),
        (c"-0", Err(EINVAL)),
        (c"-1", Err(EINVAL)),
        (c"++5", Err(EINVAL)),
        (c"0b101", Err(EINVAL)),
        (c"0o17", Err(EINVAL)),
        (c"0x+5", Err(EINVAL)),
        (c"0x", Err(EINVAL)),
        (c"08", Err(EINVAL)),
        (c"1e3", Err(EINVAL)),
        (c"junk", Err(EINVAL)),
    ];

    #[test]
    fn uint_parses_as_c_kstrtouint() -> Result {
        static U: UintParam = UintParam::new(7, u32::MAX);
        let kp = kernel_param(&U);
        for &(input, want) in KSTRTOUINT {
            // C's own answer first: the table is C's behaviour, not a guess.
            let mut c_value: u32 = 0;
            // SAFETY: `input` is NUL-terminated; `c_value` is valid for writes.
            let c_ret = unsafe { bindings::kstrtouint(input.as_char_ptr(), 0, &mut c_value) };
            let c_result = if c_ret == 0 {
                Ok(c_value)
            } else {
                Err(Error::from_errno(c_ret))
            };
            if c_result != want {
                pr_err!(
                    "kstrtouint({:?}) is {:?}, the table says {:?}\n",
                    input,
                    c_result,
                    want
                );
            }
            assert_eq!(c_result, want);
            // SAFETY: `kp` is a valid `kernel_param` whose `arg` is a static `UintParam`;
            // `input` is NUL-terminated.
            let ret = unsafe { set_param::<UintParam>(input.as_char_ptr(), &kp) };
            match want {
                Ok(v) => {
                    assert_eq!(ret, 0);
                    assert_eq!(U.get(), v);
                }
                Err(e) => assert_eq!(ret, e.to_errno()),
            }
        }
        Ok(())
    }

    #[test]
    fn uint_above_its_bound_is_einval() -> Result {
        static U: UintParam = UintParam::new(3, 10);
        let kp = kernel_param(&U);
        for (input, ret) in [
            (c"10", 0),
            (c"11", EINVAL.to_errno()),
            (c"0xb", EINVAL.to_errno()),
        ] {
            // SAFETY: As in `uint_parses_as_c_kstrtouint`.
            let got = unsafe { set_param::<UintParam>(input.as_char_ptr(), &kp) };
            assert_eq!(got, ret);
        }
        assert_eq!(U.get(), 10);
        Ok(())
    }

    /// A value longer than a page when shown.
    struct Long;

    impl ParamValue for Long {
        fn set(&self, _arg: &[u8]) -> Result {
            Err(EINVAL)
        }

        fn show(&self, f: &mut Formatter<'_>) -> fmt::Result {
            for _ in 0..2 * PAGE_SIZE {
                f.write_str("x")?;
            }
            Ok(())
        }

        fn expected(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("nothing")
        }
    }

    #[test]
    fn show_writes_less_than_a_page() -> Result {
        static L: Long = Long;
        let kp = kernel_param(&L);
        let mut buf = KVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?;
        buf[PAGE_SIZE - 1] = 0xa5;
        // SAFETY: `kp` is a valid `kernel_param` whose `arg` is a static `Long`; `buf` holds
        // `PAGE_SIZE` initialised bytes (sysfs gives `get` a zeroed page), valid for reads and
        // writes, and nothing else accesses them during the call.
        let n = unsafe { get_param::<Long>(buf.as_mut_ptr().cast(), &kp) };
        assert_eq!(n as usize, PAGE_SIZE - 1);
        assert_eq!(buf[PAGE_SIZE - 1], 0xa5);
        assert_eq!(buf[PAGE_SIZE - 2], b'x');
        Ok(())
    }
}
