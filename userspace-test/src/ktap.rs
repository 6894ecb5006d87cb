// SPDX-License-Identifier: GPL-2.0
//! KTAP output as `tools/testing/selftests/kselftest.h` prints it, and its exit codes.

use std::io::Write;

/// `KSFT_PASS`.
pub const KSFT_PASS: i32 = 0;
/// `KSFT_FAIL`.
pub const KSFT_FAIL: i32 = 1;
/// `KSFT_SKIP`.
pub const KSFT_SKIP: i32 = 4;

/// The result of one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Passed.
    Pass,
    /// Failed, with the reason.
    Fail(String),
    /// Skipped, with the reason.
    Skip(String),
}

/// A KTAP writer that counts results; every line is flushed as it is written.
pub struct Ktap<W: Write> {
    out: W,
    number: usize,
    pass: usize,
    fail: usize,
    skip: usize,
}

impl<W: Write> Ktap<W> {
    /// A writer on `out`.
    pub fn new(out: W) -> Self {
        Self {
            out,
            number: 0,
            pass: 0,
            fail: 0,
            skip: 0,
        }
    }

    fn line(&mut self, s: &str) {
        // Nothing sensible is left to do when stdout itself fails.
        let _ = writeln!(self.out, "{s}");
        let _ = self.out.flush();
    }

    /// `TAP version 13` and the plan `1..n`.
    pub fn header(&mut self, plan: usize) {
        self.line("TAP version 13");
        self.line(&format!("1..{plan}"));
    }

    /// A diagnostic: every line of `msg` prefixed with `# `.
    pub fn diag(&mut self, msg: &str) {
        for l in msg.lines() {
            self.line(&format!("# {l}"));
        }
    }

    /// The result line of the next test (after a `# reason` line when it failed).
    pub fn result(&mut self, name: &str, outcome: &Outcome) {
        self.number += 1;
        let n = self.number;
        match outcome {
            Outcome::Pass => {
                self.pass += 1;
                self.line(&format!("ok {n} {name}"));
            }
            Outcome::Fail(reason) => {
                self.fail += 1;
                self.diag(&format!("{name}: {reason}"));
                self.line(&format!("not ok {n} {name}"));
            }
            Outcome::Skip(reason) => {
                self.skip += 1;
                let reason = reason.lines().next().unwrap_or("");
                self.line(&format!("ok {n} {name} # SKIP {reason}"));
            }
        }
    }

    /// The closing `# Totals:` line.
    pub fn totals(&mut self) {
        let (p, f, s) = (self.pass, self.fail, self.skip);
        self.line(&format!(
            "# Totals: pass:{p} fail:{f} xfail:0 xpass:0 skip:{s} error:0"
        ));
    }

    /// The kselftest exit code: fail if any failed, skip if all skipped, else pass.
    pub fn exit_code(&self) -> i32 {
        if self.fail > 0 {
            KSFT_FAIL
        } else if self.pass == 0 && self.skip > 0 {
            KSFT_SKIP
        } else {
            KSFT_PASS
        }
    }

    /// The writer back (for tests).
    #[cfg(test)]
    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(outcomes: &[(&str, Outcome)]) -> (String, i32) {
        let mut k = Ktap::new(Vec::new());
        k.header(outcomes.len());
        for (n, o) in outcomes {
            k.result(n, o);
        }
        k.totals();
        let code = k.exit_code();
        (String::from_utf8(k.into_inner()).expect("utf8"), code)
    }

    #[test]
    fn mixed_results() {
        let (out, code) = run(&[
            ("a", Outcome::Pass),
            ("b", Outcome::Fail("went wrong\nsecond line".into())),
            ("c", Outcome::Skip("not root".into())),
        ]);
        assert_eq!(
            out,
            "TAP version 13\n1..3\nok 1 a\n# b: went wrong\n# second line\nnot ok 2 b\n\
             ok 3 c # SKIP not root\n# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0\n"
        );
        assert_eq!(code, KSFT_FAIL);
    }

    #[test]
    fn exit_codes() {
        assert_eq!(run(&[("a", Outcome::Pass)]).1, KSFT_PASS);
        assert_eq!(
            run(&[("a", Outcome::Pass), ("b", Outcome::Skip("x".into()))]).1,
            KSFT_PASS
        );
        assert_eq!(run(&[("a", Outcome::Skip("x".into()))]).1, KSFT_SKIP);
    }
}
