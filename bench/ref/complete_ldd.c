// SPDX-License-Identifier: GPL-2.0
/*
 * complete_ldd: LDD3's "complete" driver in C, on the misc-device API.
 *
 * BENCHMARK BASELINE ONLY, the second C line of `make bench`: the bare
 * LDD3 logic, so readers see what the Rust driver's features cost on top
 * (complete_ref.c is the C twin with those features, the first baseline).
 * It is not a supported driver: no ioctls, no timeout, no O_NONBLOCK, no
 * counters. It keeps exactly the parts that sit on the measured paths of
 * the Rust driver in its default configuration:
 *
 *  - read() sleeps on one module-wide completion, interruptibly
 *    (wait_for_completion_interruptible; a signal gives -ERESTARTSYS),
 *    and returns 0 (end of file) once woken;
 *  - write() calls complete() once, wakes the oldest sleeper, and returns
 *    the full length without copying the bytes (iov_iter_advance);
 *  - the same log lines, switched by the same `verbose` bool parameter
 *    (default Y, writable in /sys/module/complete_ldd/parameters/verbose).
 *
 * Like the Rust driver it uses read_iter/write_iter (the Rust MiscDevice
 * trait offers only these), so both go through the same VFS path.
 * The device name is the `name` parameter (default "complete_ldd"), so it
 * loads next to /dev/complete.
 *
 * Derived from complete.c of the book "Linux Device Drivers" by Alessandro
 * Rubini and Jonathan Corbet, published by O'Reilly & Associates
 * (docs/ldd3.md).
 */

/* "complete_ldd: ..." like the Rust driver's "complete_dev: ..." */
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

static char *name = "complete_ldd";
module_param(name, charp, 0444);
MODULE_PARM_DESC(name, "device name, /dev/<name> (default complete_ldd)");

static DECLARE_COMPLETION(comp);

static ssize_t complete_ldd_read_iter(struct kiocb *iocb, struct iov_iter *to)
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

static ssize_t complete_ldd_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	size_t count = iov_iter_count(from);

	if (verbose)
		pr_info("process %i (%s) awakening the readers...\n",
			current->pid, current->comm);
	complete(&comp);
	iov_iter_advance(from, count); /* consume without copying */
	return count;
}

static const struct file_operations complete_ldd_fops = {
	.owner = THIS_MODULE,
	.read_iter = complete_ldd_read_iter,
	.write_iter = complete_ldd_write_iter,
	/* no .llseek: lseek fails with ESPIPE, as on /dev/complete */
};

static struct miscdevice complete_ldd_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.fops = &complete_ldd_fops,
};

static int __init complete_ldd_init(void)
{
	complete_ldd_dev.name = name;
	pr_info("loaded: /dev/%s, verbose=%d (bare benchmark baseline)\n", name, verbose);
	return misc_register(&complete_ldd_dev);
}

static void __exit complete_ldd_exit(void)
{
	misc_deregister(&complete_ldd_dev);
}

module_init(complete_ldd_init);
module_exit(complete_ldd_exit);

MODULE_DESCRIPTION("LDD3 complete driver in C, bare: second benchmark baseline for complete_dev");
MODULE_AUTHOR("complete-dev developers");
MODULE_LICENSE("GPL");
