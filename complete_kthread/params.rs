// SPDX-License-Identifier: GPL-2.0

//! The parameters of `complete_kthread`: `variant`, read-only, and `period_ms`, writable at run
//! time (the worker reads it before each sleep).

use crate::{
    module_param_sysfs,
    param::{
        Choice,
        ChoiceParam,
        UintParam, //
    }, //
};

/// Where the completion lives.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    /// A module-wide static (`DECLARE_COMPLETION`).
    Static,
    /// An allocation shared by both threads (`init_completion`).
    Dynamic,
    /// The waiter's stack (`DECLARE_COMPLETION_ONSTACK`).
    OnStack,
}

impl Choice for Variant {
    const CHOICES: &'static [(Self, &'static str)] = &[
        (Self::Static, "static"),
        (Self::Dynamic, "dynamic"),
        (Self::OnStack, "onstack"),
    ];
}

module_param_sysfs!(
    /// Where the completion lives.
    pub(crate) VARIANT: ChoiceParam<Variant> = ChoiceParam::new(),
    name: "variant", type: "charp", perm: 0o444,
    desc: "where the completion lives: static (DECLARE_COMPLETION, default), dynamic (init_completion), onstack (DECLARE_COMPLETION_ONSTACK)"
);

module_param_sysfs!(
    /// The worker's period, in milliseconds.
    pub(crate) PERIOD_MS: UintParam = UintParam::new(100, 60_000),
    name: "period_ms", type: "uint", perm: 0o644,
    desc: "ms between two complete() calls of the worker, default 100, 0 counts as 1, at most 60000; writable at run time"
);
