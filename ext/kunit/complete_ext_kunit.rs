// SPDX-License-Identifier: GPL-2.0

//! The KUnit suites of `ext/`, in a test module of their own.
//!
//! Upstream keeps tests out of the code they test; out of tree, that is a module of its own. Its
//! suites run when it is loaded (`insmod complete_ext_kunit.ko` on a kernel with `CONFIG_KUNIT`)
//! and print KTAP to the kernel log: `ext_completion`, `ext_param` and `ext_kthread`. It does
//! nothing else, and the modules a reader loads (`complete_dev.ko`, `complete_kthread.ko`) carry
//! no test code. `make check` builds it and loads it once in the VM.
//!
//! Its sources, this file and the `*_test.rs` files, live in `ext/kunit/`, apart from the
//! wrappers of `ext/` they test and include here with `#[path]`.

use kernel::prelude::*;

#[path = "../completion.rs"]
mod completion;
#[path = "completion_test.rs"]
mod completion_test;
#[path = "../kthread.rs"]
#[expect(dead_code, reason = "the tests use most, not all, of the wrapper")]
mod kthread;
#[path = "kthread_test.rs"]
mod kthread_test;
#[path = "../param.rs"]
#[expect(dead_code, reason = "the tests use most, not all, of the wrapper")]
mod param;
#[path = "param_test.rs"]
mod param_test;
#[path = "../task.rs"]
mod task;

module! {
    type: ExtKunit,
    name: "complete_ext_kunit",
    authors: ["complete-dev developers"],
    description: "KUnit suites of complete-dev's ext/ wrappers: completion, kthread, parameters",
    license: "GPL",
}

/// The test module: nothing to set up, the suites register themselves.
struct ExtKunit;

impl kernel::Module for ExtKunit {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}
