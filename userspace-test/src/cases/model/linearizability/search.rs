// SPDX-License-Identifier: GPL-2.0
//! The search for an order: Wing and Gong's depth-first search over which operation takes its
//! next step, with Lowe's memoization of the specification states already found to lead
//! nowhere, and the report of the longest explained prefix when no order explains the history.

use std::collections::HashSet;

use super::{Cfg, Checker, Entry, NoOrder, Ph, St, Tag, MAX_ENTRIES, MAX_STATES};

impl<'a> Checker<'a> {
    /// A checker of `h` under `cfg`; `timeout_jiffies` is `timeout_ms` in jiffies, if known.
    pub fn new(cfg: Cfg, timeout_jiffies: Option<u64>, h: &'a [Entry]) -> Self {
        let tasks = h.iter().map(|e| e.task + 1).max().unwrap_or(0);
        let mut by_task = vec![Vec::new(); tasks];
        for (i, e) in h.iter().enumerate() {
            by_task[e.task].push(i);
        }
        let st = St {
            done: 0,
            all: false,
            queue: Vec::new(),
            ph: vec![Ph::Start; h.len()],
            c: [0; 5],
        };
        Self {
            cfg,
            timeout_jiffies,
            h,
            by_task,
            failed: HashSet::new(),
            states: 0,
            best: (0, st),
        }
    }

    /// The states visited so far.
    pub fn states(&self) -> usize {
        self.states
    }

    /// Searches for an order; on success the tags of the explanation found.
    pub fn check(&mut self) -> Result<Vec<Tag>, NoOrder> {
        if self.h.len() > MAX_ENTRIES {
            return Err(NoOrder {
                explained: 0,
                stuck: Vec::new(),
                state: format!("{} operations, more than {MAX_ENTRIES}", self.h.len()),
                gave_up: true,
            });
        }
        let st = self.best.1.clone();
        let mut tags = Vec::new();
        match self.dfs(st, &mut tags) {
            Some(true) => {
                tags.reverse();
                Ok(tags)
            }
            res => {
                let (explained, st) = self.best.clone();
                let min = self.min_resp(&st);
                let stuck = (0..self.h.len())
                    .filter(|&i| st.ph[i] != Ph::Done && self.h[i].inv <= min)
                    .collect();
                Err(NoOrder {
                    explained,
                    stuck,
                    state: format!(
                        "done {} all_done {} queue {:?} [completes, woken, interrupted, timed out, would block] {:?}",
                        st.done, st.all, st.queue, st.c
                    ),
                    gave_up: res.is_none(),
                })
            }
        }
    }

    /// The earliest response among the operations not done.
    fn min_resp(&self, st: &St) -> u64 {
        (0..self.h.len())
            .filter(|&i| st.ph[i] != Ph::Done)
            .map(|i| self.h[i].resp)
            .min()
            .unwrap_or(u64::MAX)
    }

    /// `Some(true)`: explained (tags pushed in reverse); `Some(false)`: not from here; `None`:
    /// gave up.
    fn dfs(&mut self, st: St, tags: &mut Vec<Tag>) -> Option<bool> {
        let n_done = st.ph.iter().filter(|p| **p == Ph::Done).count();
        if n_done == self.h.len() {
            return Some(true);
        }
        if self.failed.contains(&st) {
            return Some(false);
        }
        self.states += 1;
        if self.states > MAX_STATES {
            return None;
        }
        if n_done > self.best.0 {
            self.best = (n_done, st.clone());
        }
        let min = self.min_resp(&st);
        for i in 0..self.h.len() {
            if st.ph[i] == Ph::Done || self.h[i].inv > min {
                continue;
            }
            for (next, tag) in self.steps(&st, i, min) {
                if self.dfs(next, tags)? {
                    tags.extend(tag);
                    return Some(true);
                }
            }
        }
        self.failed.insert(st);
        Some(false)
    }
}
