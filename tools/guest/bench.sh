#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make bench`, VM side: load the Rust driver and the two C baselines side
# by side with logging off, run complete_bench (it interleaves the subjects,
# turns logging on for its last part through sysfs and prints the JSON
# between marker lines), then unload them. Run under -icount with 1 vCPU.
# Tuning (kernel command line, seen here as environment variables):
# bench_rounds, bench_samples, bench_log_samples, bench_tput_ms, bench_threads;
# bench_toolchain and bench_kernel name the build in the JSON.
set -u
dmesg -n 1 # the console is for the progress lines and the JSON
for m in complete_dev complete_ref complete_ldd; do
	insmod /modules/$m.ko verbose=0 || exit 1
done
for d in complete complete_ref complete_ldd; do
	[ -c /dev/$d ] || {
		echo "bench: /dev/$d missing"
		exit 1
	}
done
complete_bench run \
	--rounds "${bench_rounds:-5}" \
	--samples "${bench_samples:-2000}" \
	--log-samples "${bench_log_samples:-2000}" \
	--tput-ms "${bench_tput_ms:-200}" \
	--threads "${bench_threads:-1,4,16}" \
	--toolchain "${bench_toolchain:-unknown}" \
	--kernel-variant "${bench_kernel:-unknown}"
rc=$?
for m in complete_ldd complete_ref complete_dev; do
	rmmod $m || rc=1
done
exit $rc
