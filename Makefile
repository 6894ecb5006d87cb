# complete-dev: see README.md for what each target does.
#
# `make` builds the module(s) the out-of-tree way, `make -C $(KDIR) M=$(CURDIR)`.
# Without KDIR it uses (and first builds) the cached Rust-enabled kernel of `make kernel`.

SHELL := /bin/bash
BUILD_DIR ?= $(CURDIR)/build
export BUILD_DIR V KDIR ACCEL TOOLCHAIN KVARIANT

.PHONY: all modules deps kernel userspace demo demo-kthread shell check bench clean rust-analyzer

all: modules

modules:
	@tools/module-build.sh

deps:
	@tools/deps.sh

kernel: deps
	@tools/kernel-build.sh >/dev/null

userspace:
	@tools/userspace-build.sh

demo: modules
	@tools/vm-run.sh demo

demo-kthread: modules
	@tools/vm-run.sh demo-kthread

shell: modules
	@tools/vm-run.sh shell

bench:
	@tools/bench.sh

check:
	@tools/check.sh

clean:
	@if [[ -n "$(KDIR)" || -f $${COMPLETE_DEV_CACHE:-$$HOME/.cache/complete-dev}/current-kdir ]]; then \
		$(MAKE) -C "$$(source tools/lib.sh && kdir)" M=$(CURDIR) clean >/dev/null; fi
	rm -rf $(BUILD_DIR) userspace-test/target userspace-test/selftest/complete_test bench/target rust-project.json

rust-analyzer: modules
	@source tools/lib.sh && k=$$(kdir) && kbuild_env "$$k" && $(MAKE) -C "$$k" M=$(CURDIR) rust-analyzer
