// SPDX-License-Identifier: GPL-2.0
/*
 * complete_ref: LDD3's "complete" driver in C, on the misc-device API.
 *
 * BENCHMARK BASELINE ONLY. This module exists so that `make bench` can
 * compare the Rust driver (complete_dev.ko, /dev/complete) with the same
 * logic written in C. It is not a supported driver: no ioctls, no timeout,
 * no O_NONBLOCK, no counters. It keeps exactly the parts that sit on the
 * measured paths of the Rust driver in its default configuration:
 *
 *  - read() sleeps on one module-wide completion, interruptibly
 *    (wait_for_completion_interruptible; a signal gives -ERESTARTSYS),
 *    and returns 0 (end of file) once woken;
 *  - write() calls complete() once, wakes the oldest sleeper, and returns
 *    the full length without copying the bytes (iov_iter_advance);
 *  - the same log lines, switched by the same `verbose` bool parameter
 *    (default Y, writable in /sys/module/complete_ref/parameters/verbose).
 *
 * Like the Rust driver it uses read_iter/write_iter (the Rust MiscDevice
 * trait offers only these), so both go through the same VFS path.
 * The device name is the `name` parameter (default "complete_ref"), so it
 * loads next to /dev/complete.
 */

/* "complete_ref: ..." like the Rust driver's "complete_dev: ..." */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/uio.h>

static bool verbose = true;
module_param(verbose, bool, 0644);
MODULE_PARM_DESC(verbose, "log each sleep, wake-up and write (default Y; writable at run time)");

static char *name = "complete_ref";
module_param(name, charp, 0444);
MODULE_PARM_DESC(name, "device name, /dev/<name> (default complete_ref)");

static DECLARE_COMPLETION(comp);

static ssize_t complete_ref_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	int ret;

	if (verbose)
		pr_info("process %i (%s) going to sleep\n", current->pid, current->comm);
	ret = wait_for_completion_interruptible(&comp);
	if (ret)
		return ret;
	if (verbose)
		pr_info("awoken %i (%s)\n", current->pid, current->comm);
	return 0; /* EOF */
}

static ssize_t complete_ref_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	size_t count = iov_iter_count(from);

	if (verbose)
		pr_info("process %i (%s) awakening the readers...\n",
			current->pid, current->comm);
	complete(&comp);
	iov_iter_advance(from, count); /* consume without copying */
	return count;
}

static const struct file_operations complete_ref_fops = {
	.owner = THIS_MODULE,
	.read_iter = complete_ref_read_iter,
	.write_iter = complete_ref_write_iter,
	/* no .llseek: lseek fails with ESPIPE, as on /dev/complete */
};

static struct miscdevice complete_ref_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.fops = &complete_ref_fops,
};

static int __init complete_ref_init(void)
{
	complete_ref_dev.name = name;
	pr_info("loaded: /dev/%s, verbose=%d (benchmark baseline)\n", name, verbose);
	return misc_register(&complete_ref_dev);
}

static void __exit complete_ref_exit(void)
{
	misc_deregister(&complete_ref_dev);
}

module_init(complete_ref_init);
module_exit(complete_ref_exit);

MODULE_DESCRIPTION("LDD3 complete driver in C: benchmark baseline for complete_dev");
MODULE_AUTHOR("complete-dev developers");
MODULE_LICENSE("GPL");
