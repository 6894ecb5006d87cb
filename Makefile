# SPDX-License-Identifier: GPL-2.0
# complete-dev: see README.md for what each target does.
#
# `make` builds the module(s) the out-of-tree way, `make -C $(KDIR) M=$(CURDIR)`.
# Without KDIR it uses (and first builds) the cached Rust-enabled kernel of `make kernel`.

SHELL := /bin/bash
BUILD_DIR ?= $(CURDIR)/build
export BUILD_DIR V KDIR ACCEL TOOLCHAIN KVARIANT SANITIZE KCSAN VM_APPEND

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

demo: kdir-check-demo modules
	@tools/vm-run.sh demo

demo-kthread: kdir-check-demo-kthread modules
	@tools/vm-run.sh demo-kthread

shell: kdir-check-shell modules
	@tools/vm-run.sh shell

bench: kdir-check-bench
	@tools/bench.sh

check:
	@tools/check.sh

# With KDIR=, before building anything for a VM: that kernel's .config has what the VM job
# needs (fails in well under a second, naming what is missing). vm-run.sh checks again.
kdir-check-%:
	@[[ -z "$(KDIR)" ]] || tools/kdir-check.sh $*

clean:
	@source tools/lib.sh; if [[ -n "$(KDIR)" || -f $$CACHE_DIR/current-kdir ]]; then \
		$(MAKE) -C "$$(kdir)" M=$(CURDIR) clean >/dev/null; fi
	rm -rf $(BUILD_DIR) userspace-test/target userspace-test/complete_dev bench/target rust-project.json
	rm -rf tools/timeline/target

rust-analyzer: modules
	@source tools/lib.sh && k=$$(kdir) && kbuild_env "$$k" && $(MAKE) -C "$$k" M=$(CURDIR) rust-analyzer
