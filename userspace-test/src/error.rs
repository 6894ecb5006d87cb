// SPDX-License-Identifier: GPL-2.0
//! The outcome of a case and the helpers that build it.

use std::fmt::Display;

/// Why a case did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseError {
    /// The case ran and found the driver wrong (or could not do its job).
    Fail(String),
    /// The case cannot run here; the reason says why (the runner itself skips everything when
    /// not root or without the module file).
    Skip(String),
}

/// What every case and helper returns.
pub type CaseResult<T = ()> = Result<T, CaseError>;

impl From<String> for CaseError {
    fn from(s: String) -> Self {
        CaseError::Fail(s)
    }
}

/// Adds a description of what was being done to any displayable error.
pub trait Context<T> {
    /// Wraps the error as `what: error`.
    fn ctx(self, what: impl Display) -> CaseResult<T>;
    /// Like [`Context::ctx`], the description built only on error.
    fn with_ctx<D: Display>(self, what: impl FnOnce() -> D) -> CaseResult<T>;
}

impl<T, E: Display> Context<T> for Result<T, E> {
    fn ctx(self, what: impl Display) -> CaseResult<T> {
        self.map_err(|e| CaseError::Fail(format!("{what}: {e}")))
    }

    fn with_ctx<D: Display>(self, what: impl FnOnce() -> D) -> CaseResult<T> {
        self.map_err(|e| CaseError::Fail(format!("{}: {e}", what())))
    }
}

/// Returns from the enclosing function with a failure built by `format!`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::error::CaseError::Fail(format!($($arg)*)))
    };
}

/// Fails with the `format!` message unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            $crate::bail!($($arg)*);
        }
    };
}

/// Fails unless `got == want`; the message says what was compared, and both values.
#[macro_export]
macro_rules! ensure_eq {
    ($got:expr, $want:expr, $($arg:tt)*) => {{
        let (got, want) = (&$got, &$want);
        if got != want {
            $crate::bail!("{}: got {:?}, expected {:?}", format!($($arg)*), got, want);
        }
    }};
}
