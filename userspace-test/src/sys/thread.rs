// SPDX-License-Identifier: GPL-2.0
//! The calling thread and other tasks: CPU affinity, `SCHED_FIFO`, the thread id, and the comm
//! the driver's log lines name a task by.

use super::{cstring, cvt, Errno};

/// The calling thread's CPU affinity.
pub fn get_affinity() -> Result<libc::cpu_set_t, Errno> {
    // SAFETY: an all-zero cpu_set_t is a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is valid for writes of its size.
    cvt(unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) })?;
    Ok(set)
}

/// Sets the calling thread's CPU affinity.
pub fn set_affinity(set: &libc::cpu_set_t) -> Result<(), Errno> {
    set_task_affinity(0, set)
}

/// Sets the CPU affinity of task `tid` (0: the calling thread).
fn set_task_affinity(tid: i32, set: &libc::cpu_set_t) -> Result<(), Errno> {
    // SAFETY: `set` is a valid cpu_set_t of that size.
    cvt(unsafe { libc::sched_setaffinity(tid, std::mem::size_of_val(set), set) }).map(|_| ())
}

/// Pins the calling thread to `cpu`.
pub fn pin_to_cpu(cpu: usize) -> Result<(), Errno> {
    pin_task_to_cpu(0, cpu)
}

/// Restricts task `tid` (0: the calling thread) to CPU `cpu`. A kernel thread that was not bound
/// to a CPU (`kthread_bind()`) may be moved too.
pub fn pin_task_to_cpu(tid: i32, cpu: usize) -> Result<(), Errno> {
    // SAFETY: an all-zero cpu_set_t is a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(Errno(libc::EINVAL));
    }
    // SAFETY: `cpu` is below CPU_SETSIZE (checked above), so the bit is inside `set`.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    set_task_affinity(tid, &set)
}

/// Makes the calling thread `SCHED_FIFO` with priority `prio`: it runs as soon as it is woken,
/// ahead of every normal task of its CPU.
pub fn set_fifo(prio: i32) -> Result<(), Errno> {
    set_task_fifo(0, prio)
}

/// Makes task `tid` (0: the calling thread) `SCHED_FIFO` with priority `prio`.
pub fn set_task_fifo(tid: i32, prio: i32) -> Result<(), Errno> {
    let p = libc::sched_param {
        sched_priority: prio,
    };
    // SAFETY: `p` is a valid sched_param.
    cvt(unsafe { libc::sched_setscheduler(tid, libc::SCHED_FIFO, &p) }).map(|_| ())
}

/// The calling thread's id (its pid in the kernel's log lines).
pub fn gettid() -> i32 {
    // SAFETY: gettid cannot fail.
    unsafe { libc::gettid() }
}

/// Names the calling thread (its comm, truncated by the kernel to 15 bytes).
pub fn set_comm(name: &str) -> Result<(), Errno> {
    let c = cstring(name)?;
    // SAFETY: PR_SET_NAME reads a NUL-terminated string.
    cvt(unsafe { libc::prctl(libc::PR_SET_NAME, c.as_ptr() as libc::c_ulong, 0, 0, 0) }).map(|_| ())
}

/// The comm of this process's main thread.
pub fn own_comm() -> Result<String, String> {
    std::fs::read_to_string("/proc/self/comm")
        .map(|s| s.trim_end_matches('\n').to_string())
        .map_err(|e| format!("read /proc/self/comm: {e}"))
}
