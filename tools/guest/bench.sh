#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make bench`, VM side: load the Rust driver and the C baseline side by
# side with logging off, run complete_bench (it interleaves the subjects,
# turns logging on for its last part through sysfs and prints the JSON
# between marker lines), then unload both. Run under -icount with 1 vCPU.
# Tuning (kernel command line, seen here as environment variables):
# bench_rounds, bench_samples, bench_log_samples, bench_tput_ms, bench_threads.
set -u
dmesg -n 1 # the console is for the progress lines and the JSON
insmod /modules/complete_dev.ko verbose=0 || exit 1
insmod /modules/complete_ref.ko verbose=0 || exit 1
if [ ! -c /dev/complete ] || [ ! -c /dev/complete_ref ]; then
	echo "bench: /dev/complete or /dev/complete_ref missing"
	exit 1
fi
complete_bench run \
	--rounds "${bench_rounds:-5}" \
	--samples "${bench_samples:-2000}" \
	--log-samples "${bench_log_samples:-2000}" \
	--tput-ms "${bench_tput_ms:-200}" \
	--threads "${bench_threads:-1,4,16}"
rc=$?
rmmod complete_ref || rc=1
rmmod complete_dev || rc=1
exit $rc
