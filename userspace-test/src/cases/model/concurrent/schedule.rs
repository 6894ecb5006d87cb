// SPDX-License-Identifier: GPL-2.0
//! The runs of `model_concurrent`, drawn from a seed: the module parameters (18 combinations in
//! turn), the tasks (three sleepers with a signal each, two plain sleepers that make FIFO order
//! observable, two workers with random operations and pauses), and a run in words.

use proptest::prelude::RngExt;
use proptest::test_runner::{RngAlgorithm, TestRng};

use super::{LONG_MS, SHORT_MS};
use crate::cases::model::linearizability::{Call, Cfg, Sig};
use crate::cases::model::oracle::WaitMode;

/// One step of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Sleep this many milliseconds (not an operation).
    Pause(u32),
    /// Make this operation.
    Op(Call),
}

/// What one task does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Its comm.
    pub name: String,
    /// Its steps.
    pub steps: Vec<Step>,
    /// Its `SIGINT` handler has `SA_RESTART`.
    pub restart: bool,
    /// The signal the controller sends it once it is seen asleep in a blocking read.
    pub signal: Option<Sig>,
    /// The controller writes once when it first sees it asleep: a lone write, whose reader
    /// the FIFO order names.
    pub probe: bool,
}

/// One run: its configuration and its tasks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// The seed it was drawn from.
    pub seed: u64,
    /// The module parameters.
    pub cfg: Cfg,
    /// The tasks.
    pub tasks: Vec<Plan>,
}

/// The configuration of seed `s`: 18 combinations in turn.
pub fn config(s: u64) -> Cfg {
    let c = s % 18;
    let mode = [
        WaitMode::Interruptible,
        WaitMode::Killable,
        WaitMode::Uninterruptible,
    ][(c / 6) as usize];
    let timeout_ms = [0, SHORT_MS, LONG_MS][((c / 2) % 3) as usize];
    let pending_max = (c % 2 == 1).then_some(1 + ((s / 18) % 3) as u32);
    Cfg {
        mode,
        timeout_ms,
        pending_max,
    }
}

impl Schedule {
    /// The run of seed `s`.
    pub fn from_seed(s: u64) -> Self {
        let mut b = [0u8; 32];
        b[..8].copy_from_slice(&s.to_le_bytes());
        b[8..16].copy_from_slice(b"cm-lin\0\0");
        let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &b);
        let restart = (s / 18) % 2 == 1;
        let mut tasks = Vec::new();
        for (i, sig) in [Sig::Kill, Sig::Int { restart }, Sig::Stop]
            .into_iter()
            .enumerate()
        {
            tasks.push(Plan {
                name: format!("cm-s{i}"),
                steps: vec![Step::Pause(rng.random_range(0..=10)), Step::Op(Call::Read)],
                restart,
                signal: Some(sig),
                probe: false,
            });
        }
        // Two sleepers without a signal, one well after the other: the controller sees the
        // first asleep before the second reads, so the first write must wake the first (FIFO).
        for (i, pause) in [rng.random_range(0..=4), rng.random_range(8..=14)]
            .into_iter()
            .enumerate()
        {
            tasks.push(Plan {
                name: format!("cm-p{i}"),
                steps: vec![Step::Pause(pause), Step::Op(Call::Read)],
                restart: false,
                signal: None,
                probe: i == 1,
            });
        }
        for i in 0..2 {
            let n = rng.random_range(4..=7);
            // Mostly after the sleepers went to sleep, so that the signals find them asleep.
            let first =
                (rng.random_range(0..4u32) > 0).then(|| Step::Pause(rng.random_range(15..=50)));
            let steps = first
                .into_iter()
                .chain((0..n).map(|_| match rng.random_range(0..24u32) {
                    0..=6 => Step::Op(Call::Write),
                    7..=9 => Step::Op(Call::ReadNowait),
                    10..=12 => Step::Op(Call::Read),
                    13..=14 => Step::Op(Call::Status),
                    15 => Step::Op(Call::CompleteAll),
                    16..=17 => Step::Op(Call::Reinit),
                    _ => Step::Pause(rng.random_range(5..=40)),
                }))
                .collect();
            tasks.push(Plan {
                name: format!("cm-w{i}"),
                steps,
                restart: false,
                signal: None,
                probe: false,
            });
        }
        Self {
            seed: s,
            cfg: config(s),
            tasks,
        }
    }

    /// The `insmod` parameters.
    pub(super) fn insmod_args(&self) -> String {
        let mut s = format!(
            "wait_mode={} timeout_ms={} verbose=1",
            self.cfg.mode.name(),
            self.cfg.timeout_ms
        );
        if let Some(m) = self.cfg.pending_max {
            s.push_str(&format!(" pending_max={m}"));
        }
        s
    }

    /// The schedule in words, one task a line.
    pub fn describe(&self) -> String {
        let mut out = format!("module loaded with \"{}\"", self.insmod_args());
        for (t, p) in self.tasks.iter().enumerate() {
            let steps: Vec<String> = p
                .steps
                .iter()
                .map(|s| match s {
                    Step::Pause(ms) => format!("pause {ms} ms"),
                    Step::Op(c) => format!("{c:?}"),
                })
                .collect();
            out.push_str(&format!(
                "\n  task {t} ({}): {}{}",
                p.name,
                steps.join(", "),
                match p.signal {
                    Some(s) => format!("; once asleep: {s:?}"),
                    None if p.probe => "; once asleep: the controller writes".into(),
                    None => String::new(),
                }
            ));
        }
        out
    }
}

/// The operations of a plan, in order.
pub(super) fn ops(plan: &Plan) -> Vec<Call> {
    plan.steps
        .iter()
        .filter_map(|s| match s {
            Step::Op(c) => Some(*c),
            Step::Pause(_) => None,
        })
        .collect()
}
