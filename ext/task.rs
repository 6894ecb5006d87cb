// SPDX-License-Identifier: GPL-2.0

//! The command name (`comm`) of the current task.
//!
//! [`kernel::task::Task`] has `pid()` but no `comm` accessor in 7.3.
//!
//! C header: [`include/linux/sched.h`](srctree/include/linux/sched.h)

use kernel::{
    bindings,
    fmt,
    task::Task, //
};

/// Length of `task_struct::comm`, including the terminating NUL (C `TASK_COMM_LEN`).
const COMM_LEN: usize = bindings::TASK_COMM_LEN as usize;

/// A copy of a task's command name, printable with `{}` in `pr_*!` messages.
#[derive(Clone, Copy)]
pub(crate) struct Comm([u8; COMM_LEN]);

impl Comm {
    /// Copies the command name of the current task (C `get_task_comm(buf, current)`).
    pub(crate) fn current() -> Self {
        let mut buf = [0u8; COMM_LEN];
        let task = Task::current_raw();
        // SAFETY: `task` is the current task, valid while it runs this code; `comm` is an array
        // of `COMM_LEN` bytes inside it. Another task may rewrite it while we copy (another
        // thread of the group through `/proc/<pid>/task/<tid>/comm`, which takes no lock we
        // could take), so we copy byte by byte with volatile reads: each byte is some value it
        // had, the copy may mix an old and a new name, as C `get_task_comm()` (`strscpy_pad`
        // from the same field) may, and the last byte of the buffer stays NUL whatever we read.
        let comm = unsafe { &raw const (*task).comm };
        for (i, b) in buf.iter_mut().enumerate().take(COMM_LEN - 1) {
            // SAFETY: `i < COMM_LEN - 1`, so the byte lies inside the `comm` array (see above).
            *b = unsafe { core::ptr::read_volatile(comm.cast::<u8>().add(i)) };
        }
        Self(buf)
    }

    /// Returns the name without its NUL padding.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(COMM_LEN);
        &self.0[..len]
    }
}

impl fmt::Display for Comm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Each run of printable ASCII goes out in one `write_str`: a call per byte through the
        // formatter costs about 1,200 instructions per message for a 14-byte name.
        let mut rest = self.as_bytes();
        while !rest.is_empty() {
            let n = rest
                .iter()
                .position(|&b| !(b.is_ascii_graphic() || b == b' '))
                .unwrap_or(rest.len());
            let (run, tail) = rest.split_at(n);
            // Printable ASCII is valid UTF-8, so this never fails.
            f.write_str(core::str::from_utf8(run).map_err(|_| fmt::Error)?)?;
            rest = match tail.split_first() {
                Some((_, after)) => {
                    fmt::Write::write_char(f, '?')?;
                    after
                }
                None => tail,
            };
        }
        Ok(())
    }
}
