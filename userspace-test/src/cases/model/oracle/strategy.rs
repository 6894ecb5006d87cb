// SPDX-License-Identifier: GPL-2.0
//! The random operations of the `model` case: the [`ReferenceStateMachine`] over [`Model`]
//! that `proptest-state-machine` draws from, with the module parameters of a sequence, the
//! operations a state allows and their weights, and the lengths of reads and writes.

use proptest::prelude::*;
use proptest::sample::select;
use proptest_state_machine::ReferenceStateMachine;

use super::{Access, Model, Op, Params, Timeout, WaitMode};
use crate::readers::OnSigint;

/// The [`ReferenceStateMachine`] over [`Model`]: the operations and their weights.
pub struct Reference;

/// Write lengths: 0, small, a page, large (the driver never copies the bytes).
fn write_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        1usize..=16,
        Just(4096usize),
        Just(1usize << 20)
    ]
}

/// Read lengths: mostly 1, sometimes 0.
fn read_len() -> impl Strategy<Value = usize> {
    prop_oneof![4 => Just(1usize), 1 => Just(0usize), 1 => Just(4096usize)]
}

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Model> {
        let mode = prop_oneof![
            3 => Just(WaitMode::Interruptible),
            1 => Just(WaitMode::Killable),
            1 => Just(WaitMode::Uninterruptible),
        ];
        let timeout = prop_oneof![
            4 => Just(Timeout::None),
            1 => Just(Timeout::Long),
            1 => Just(Timeout::Short),
        ];
        let pending_max = prop_oneof![2 => Just(None), 1 => (1u32..=3).prop_map(Some)];
        (mode, timeout, any::<bool>(), pending_max)
            .prop_map(move |(wait_mode, timeout, verbose, pending_max)| {
                Model::new(Params {
                    wait_mode,
                    timeout,
                    verbose,
                    pending_max,
                })
            })
            .boxed()
    }

    fn transitions(m: &Model) -> BoxedStrategy<Op> {
        let access = prop_oneof![
            1 => Just(Access::Read),
            1 => Just(Access::Write),
            2 => Just(Access::ReadWrite),
        ];
        let open = (access, any::<bool>()).prop_map(|(a, nb)| Op::Open(a, nb));
        let sigint = prop_oneof![
            1 => Just(OnSigint::Default),
            2 => Just(OnSigint::Handler),
            2 => Just(OnSigint::HandlerRestart),
        ];
        let mut ops: Vec<(u32, BoxedStrategy<Op>)> = vec![
            (if m.files.is_empty() { 10 } else { 3 }, open.boxed()),
            (4, sigint.prop_map(Op::Spawn).boxed()),
            (1, any::<bool>().prop_map(Op::Verbose).boxed()),
            (1, Just(Op::Rmmod).boxed()),
        ];
        if !m.files.is_empty() {
            let f = 0..m.files.len();
            ops.extend([
                (2, f.clone().prop_map(Op::Close).boxed()),
                (
                    6,
                    (f.clone(), read_len())
                        .prop_map(|(f, l)| Op::Read(f, l))
                        .boxed(),
                ),
                (
                    2,
                    (f.clone(), read_len())
                        .prop_map(|(f, l)| Op::ReadNowait(f, l))
                        .boxed(),
                ),
                (
                    8,
                    (f.clone(), write_len())
                        .prop_map(|(f, l)| Op::Write(f, l))
                        .boxed(),
                ),
                (1, f.clone().prop_map(Op::CompleteAll).boxed()),
                (2, f.clone().prop_map(Op::Reinit).boxed()),
                (1, f.clone().prop_map(Op::Status).boxed()),
                (1, f.prop_map(Op::Unknown).boxed()),
            ]);
        }
        let (stopped, queued): (Vec<usize>, Vec<usize>) =
            (0..m.sleepers.len()).partition(|&i| m.sleepers[i].stopped);
        if !queued.is_empty() {
            let stop = if m.params.wait_mode == WaitMode::Interruptible {
                select(queued.clone()).prop_map(Op::Stop).boxed()
            } else {
                select(queued.clone()).prop_map(Op::StopCont).boxed()
            };
            ops.extend([(4, select(queued).prop_map(Op::Sigint).boxed()), (3, stop)]);
        }
        if !stopped.is_empty() {
            ops.push((4, select(stopped).prop_map(Op::Cont).boxed()));
        }
        if !m.sleepers.is_empty() {
            ops.push((2, (0..m.sleepers.len()).prop_map(Op::Sigkill).boxed()));
        }
        proptest::strategy::Union::new_weighted(ops).boxed()
    }

    fn preconditions(m: &Model, op: &Op) -> bool {
        m.allows(op)
    }

    fn apply(mut m: Model, op: &Op) -> Model {
        m.step(op);
        m
    }
}
