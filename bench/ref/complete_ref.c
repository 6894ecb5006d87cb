// SPDX-License-Identifier: GPL-2.0
/*
 * complete_ref: the Rust driver (complete_dev.rs) written again in C.
 *
 * BENCHMARK BASELINE ONLY. This module exists so that `make bench` compares
 * Rust with C doing the same work, so the Rust/C ratio measures the
 * language and not the features. It is not a supported driver. It has what
 * sits on the Rust driver's paths, with the same semantics:
 *
 *  - read() returns 0 at once for a zero-length buffer; else it counts the
 *    read, sleeps on one module-wide completion as `wait_mode` and
 *    `timeout_ms` say (both read once per file, at open), or with O_NONBLOCK
 *    takes a pending completion or fails with EAGAIN; it counts the outcome
 *    and returns 0 (end of file) once woken;
 *  - write() fails with EOVERFLOW if the pending count has reached
 *    `pending_max`; else it counts, calls complete() once and returns the
 *    full length without copying the bytes (iov_iter_advance);
 *  - a signal ends a timed wait with EINTR, never a restart; files are
 *    opened with FMODE_NOWAIT (RWF_NOWAIT reads never sleep);
 *  - per-file counters in a per-open allocation, shown in
 *    /proc/<pid>/fdinfo/<fd>; module-wide counters (sleepers, outcomes,
 *    completes), all atomic64_t like the Rust driver's Atomic<u64>;
 *  - the COMPLETE_IOC_COMPLETE_ALL, _REINIT (both on a file open for
 *    writing, else EBADF) and _STATUS ioctls of uapi/;
 *  - the same log lines, switched by the same `verbose` bool parameter
 *    (default Y, writable in /sys/module/complete_ref/parameters/verbose).
 *
 * Like the Rust driver it uses read_iter/write_iter (the Rust MiscDevice
 * trait offers only these), so both go through the same VFS path.
 * The device name is the `name` parameter (default "complete_ref"), so it
 * loads next to /dev/complete. complete_ldd.c is the bare LDD3 logic.
 *
 * Derived from complete.c of the book "Linux Device Drivers" by Alessandro
 * Rubini and Jonathan Corbet, published by O'Reilly & Associates
 * (docs/ldd3.md).
 */

/* "complete_ref: ..." like the Rust driver's "complete_dev: ..." */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/fs.h>
#include <linux/ioctl.h>
#include <linux/jiffies.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

/* uapi/complete_dev.rs */
struct complete_status {
	__u64 pending;
	__u64 all_done;
	__u64 sleepers;
	__u64 reads_woken;
	__u64 reads_interrupted;
	__u64 reads_timed_out;
	__u64 reads_would_block;
	__u64 completes;
};
#define COMPLETE_IOC_MAGIC 0xC9
#define COMPLETE_IOC_COMPLETE_ALL _IO(COMPLETE_IOC_MAGIC, 1)
#define COMPLETE_IOC_REINIT _IO(COMPLETE_IOC_MAGIC, 2)
#define COMPLETE_IOC_STATUS _IOR(COMPLETE_IOC_MAGIC, 3, struct complete_status)

static bool verbose = true;
module_param(verbose, bool, 0644);
MODULE_PARM_DESC(verbose, "log each sleep, wake-up and write (default Y; writable at run time)");

static char *name = "complete_ref";
module_param(name, charp, 0444);
MODULE_PARM_DESC(name, "device name, /dev/<name> (default complete_ref)");

enum wait_mode { WAIT_INTERRUPTIBLE, WAIT_KILLABLE, WAIT_UNINTERRUPTIBLE };
static const char *const wait_modes[] = { "interruptible", "killable", "uninterruptible" };
static char *wait_mode = "interruptible";
module_param(wait_mode, charp, 0444);
MODULE_PARM_DESC(wait_mode, "how read() sleeps: interruptible (default), killable, or uninterruptible");
static enum wait_mode mode;

static unsigned int timeout_ms;
module_param(timeout_ms, uint, 0444);
MODULE_PARM_DESC(timeout_ms, "longest wait of a read in ms, 0 = for ever (default); ETIMEDOUT on expiry");

/* UINT_MAX - 1, less one per task that could pass the check at once. */
#define PENDING_LIMIT (UINT_MAX - 1 - (1U << 22))
static unsigned int pending_max = PENDING_LIMIT;
module_param(pending_max, uint, 0444);
MODULE_PARM_DESC(pending_max, "test only: a write that would leave more pending completions fails with EOVERFLOW");

static DECLARE_COMPLETION(comp);

static struct {
	atomic64_t sleepers;
	atomic64_t reads_woken;
	atomic64_t reads_interrupted;
	atomic64_t reads_timed_out;
	atomic64_t reads_would_block;
	atomic64_t completes;
} stats;

/* An open file: how its reads wait, and its counters. */
struct complete_ref_file {
	struct completion *comp;
	enum wait_mode mode;
	unsigned long timeout; /* jiffies; 0 waits for ever */
	atomic64_t reads;
	atomic64_t reads_woken;
	atomic64_t writes;
};

static int complete_ref_open(struct inode *inode, struct file *file)
{
	struct complete_ref_file *f = kmalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return -ENOMEM;
	f->comp = &comp;
	f->mode = mode;
	f->timeout = timeout_ms ? msecs_to_jiffies(timeout_ms) : 0;
	atomic64_set(&f->reads, 0);
	atomic64_set(&f->reads_woken, 0);
	atomic64_set(&f->writes, 0);
	file->private_data = f;
	file->f_mode |= FMODE_NOWAIT;
	return 0;
}

static int complete_ref_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

/* A *_timeout wait's result as the Rust driver maps it: a signal gives EINTR. */
static int timeout_result(long ret)
{
	if (ret == 0)
		return -ETIMEDOUT;
	return ret < 0 ? -EINTR : 0;
}

/* Counts the end of one read, as the Rust driver's count_read(). */
static void count_read(struct complete_ref_file *f, int ret)
{
	if (!ret) {
		atomic64_inc(&stats.reads_woken);
		atomic64_inc(&f->reads_woken);
	} else if (ret == -ETIMEDOUT) {
		atomic64_inc(&stats.reads_timed_out);
	} else if (ret == -EAGAIN) {
		atomic64_inc(&stats.reads_would_block);
	} else {
		atomic64_inc(&stats.reads_interrupted);
	}
}

/* Sleeps as the file's wait mode says; counts the outcome before logging it. */
static int complete_ref_sleep(struct complete_ref_file *f)
{
	bool log = READ_ONCE(verbose);
	int ret;

	if (log)
		pr_info("process %i (%s) going to sleep\n", current->pid, current->comm);
	atomic64_inc(&stats.sleepers);
	if (!f->timeout) {
		switch (f->mode) {
		case WAIT_KILLABLE:
			ret = wait_for_completion_killable(f->comp);
			break;
		case WAIT_UNINTERRUPTIBLE:
			wait_for_completion(f->comp);
			ret = 0;
			break;
		default:
			ret = wait_for_completion_interruptible(f->comp);
		}
	} else {
		switch (f->mode) {
		case WAIT_KILLABLE:
			ret = timeout_result(wait_for_completion_killable_timeout(f->comp, f->timeout));
			break;
		case WAIT_UNINTERRUPTIBLE:
			ret = timeout_result(wait_for_completion_timeout(f->comp, f->timeout));
			break;
		default:
			ret = timeout_result(wait_for_completion_interruptible_timeout(f->comp,
										       f->timeout));
		}
	}
	atomic64_dec(&stats.sleepers);
	count_read(f, ret);
	if (log) {
		if (!ret)
			pr_info("awoken %i (%s)\n", current->pid, current->comm);
		else
			pr_info("process %i (%s) gave up waiting: %d\n", current->pid,
				current->comm, ret);
	}
	return ret;
}

static ssize_t complete_ref_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct complete_ref_file *f = iocb->ki_filp->private_data;
	int ret;

	if (!iov_iter_count(to))
		return 0;
	atomic64_inc(&f->reads);
	if ((READ_ONCE(iocb->ki_filp->f_flags) & O_NONBLOCK) || (iocb->ki_flags & IOCB_NOWAIT)) {
		ret = try_wait_for_completion(f->comp) ? 0 : -EAGAIN;
		count_read(f, ret);
	} else {
		ret = complete_ref_sleep(f);
	}
	return ret; /* 0, end of file, once woken */
}

static ssize_t complete_ref_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct complete_ref_file *f = iocb->ki_filp->private_data;
	size_t count = iov_iter_count(from);
	unsigned int pending = READ_ONCE(f->comp->done);

	if (pending != UINT_MAX && pending >= pending_max) {
		if (READ_ONCE(verbose))
			pr_info("process %i (%s) refused a write: too many pending completions\n",
				current->pid, current->comm);
		return -EOVERFLOW;
	}
	if (READ_ONCE(verbose))
		pr_info("process %i (%s) awakening the readers...\n",
			current->pid, current->comm);
	atomic64_inc(&f->writes);
	atomic64_inc(&stats.completes);
	complete(f->comp);
	iov_iter_advance(from, count); /* consume without copying */
	return count;
}

static long complete_ref_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct complete_ref_file *f = file->private_data;
	struct complete_status st;
	unsigned int done;

	switch (cmd) {
	case COMPLETE_IOC_COMPLETE_ALL:
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		if (READ_ONCE(verbose))
			pr_info("process %i (%s) completing all\n", current->pid, current->comm);
		complete_all(f->comp);
		return 0;
	case COMPLETE_IOC_REINIT:
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		if (READ_ONCE(verbose))
			pr_info("process %i (%s) reinit\n", current->pid, current->comm);
		reinit_completion(f->comp);
		return 0;
	case COMPLETE_IOC_STATUS:
		done = READ_ONCE(f->comp->done);
		st = (struct complete_status){
			.pending = done == UINT_MAX ? 0 : done,
			.all_done = done == UINT_MAX,
			.sleepers = atomic64_read(&stats.sleepers),
			.reads_woken = atomic64_read(&stats.reads_woken),
			.reads_interrupted = atomic64_read(&stats.reads_interrupted),
			.reads_timed_out = atomic64_read(&stats.reads_timed_out),
			.reads_would_block = atomic64_read(&stats.reads_would_block),
			.completes = atomic64_read(&stats.completes),
		};
		return copy_to_user((void __user *)arg, &st, sizeof(st)) ? -EFAULT : 0;
	default:
		return -ENOTTY;
	}
}

static void complete_ref_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct complete_ref_file *f = file->private_data;

	seq_printf(m, "complete_reads:\t%lld\ncomplete_reads_woken:\t%lld\ncomplete_writes:\t%lld\n",
		   atomic64_read(&f->reads), atomic64_read(&f->reads_woken),
		   atomic64_read(&f->writes));
}

static const struct file_operations complete_ref_fops = {
	.owner = THIS_MODULE,
	.open = complete_ref_open,
	.release = complete_ref_release,
	.read_iter = complete_ref_read_iter,
	.write_iter = complete_ref_write_iter,
	.unlocked_ioctl = complete_ref_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.show_fdinfo = complete_ref_show_fdinfo,
	/* no .llseek: lseek fails with ESPIPE, as on /dev/complete */
};

static struct miscdevice complete_ref_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.fops = &complete_ref_fops,
};

static int __init complete_ref_init(void)
{
	int i = match_string(wait_modes, ARRAY_SIZE(wait_modes), wait_mode);

	if (i < 0) {
		pr_err("wait_mode=%s: expected interruptible, killable or uninterruptible\n",
		       wait_mode);
		return -EINVAL;
	}
	mode = i;
	complete_ref_dev.name = name;
	pr_info("loaded: /dev/%s, wait_mode=%s timeout_ms=%u verbose=%d (benchmark baseline)\n",
		name, wait_modes[mode], timeout_ms, verbose);
	return misc_register(&complete_ref_dev);
}

static void __exit complete_ref_exit(void)
{
	misc_deregister(&complete_ref_dev);
}

module_init(complete_ref_init);
module_exit(complete_ref_exit);

MODULE_DESCRIPTION("complete_dev's logic and counters in C: benchmark baseline for complete_dev");
MODULE_AUTHOR("complete-dev developers");
MODULE_LICENSE("GPL");
