# SPDX-License-Identifier: GPL-2.0
# complete-dev: see README.md for what each target does.
#
# `make` builds the module(s) the out-of-tree way, `make -C $(KDIR) M=$(CURDIR)`.
# Without KDIR it uses (and first builds) the cached Rust-enabled kernel of `make kernel`.
# KERNEL=debian: Debian's own kernel instead, the modules built to match it (docs/debian.md).

SHELL := /bin/bash
BUILD_DIR ?= $(CURDIR)/build
export BUILD_DIR V KDIR ACCEL TOOLCHAIN KVARIANT SANITIZE KCSAN VM_APPEND KERNEL MUTANTS MUTANTS_CASES N RESET SOLUTION UPSTREAM_STEPS UPSTREAM_EACH

.PHONY: all modules deps kernel userspace demo demo-kthread shell exercise check mutants upstream-check bench install clean rust-analyzer help

all: modules

modules:
	@tools/module-build.sh

deps:
	@tools/deps.sh

kernel:
	@if [[ "$(KERNEL)" == debian ]]; then tools/deps.sh && tools/debian-kernel.sh prepare >/dev/null; \
	else source tools/lib.sh && ensure_kernel >/dev/null; fi

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

# The lesson as exercises (docs/exercises.md): without N the list and the learner's status;
# N=3 grades exercises/03-*/ in a VM (RESET=1 starts over, SOLUTION=1 shows the reference).
exercise:
	@if [[ -n "$(N)" ]]; then tools/exercise.sh run; else tools/exercise.sh list; fi

check:
	@tools/check.sh

# The project's own mutation check (docs/testing.md): each mutant of tools/tests/mutants.txt
# built in a copy and run through the VM check job. MUTANTS=id,id runs only those.
mutants: kdir-check-check
	@tools/mutants.sh

# The patch series of upstream/ (docs/upstream.md): applied with git am on the base repository,
# checkpatch --strict, rustfmtcheck, per-patch builds, then the kernel with all of them booted
# and tested, and the project's modules on their API (tools/upstream-check.sh).
# UPSTREAM_STEPS=apply,build,full chooses the parts.
upstream-check:
	@tools/upstream-check.sh

# On a Debian machine running Debian's kernel: build the modules for it as KERNEL=debian does,
# match them to it, and load them (tools/install.sh).
install:
	@tools/install.sh

# With KDIR= or KERNEL=debian, before building anything for a VM: that kernel's .config has
# what the VM job needs (fails in well under a second, naming what is missing). vm-run.sh
# checks again.
kdir-check-%:
	@[[ -z "$(KDIR)$(KERNEL)" ]] || tools/kdir-check.sh $*

clean:
	@source tools/lib.sh; if [[ -n "$(KDIR)" || -f $$CACHE_DIR/current-kdir ]]; then \
		$(MAKE) -C "$$(kdir)" M=$(CURDIR) clean >/dev/null; fi
	rm -rf $(BUILD_DIR) userspace-test/target userspace-test/complete_dev bench/target rust-project.json
	rm -rf tools/timeline/target

rust-analyzer: modules
	@source tools/lib.sh && k=$$(kdir) && kbuild_env "$$k" && $(MAKE) -C "$$k" M=$(CURDIR) rust-analyzer

help:
	@printf '%s\n' \
		'make                build the modules (the same as make modules)' \
		'make modules        build complete_dev.ko, complete_kthread.ko (and ext/kunit/complete_ext_kunit.ko on a KUnit kernel): make -C $$KDIR M=$$PWD' \
		'make deps           install what is missing: Debian packages, bindgen-cli, rust-src, the LLVM toolchain' \
		'make kernel         fetch the kernel source and build the kernel, cached (KVARIANT=perf|sanitize|kcsan, TOOLCHAIN=gcc)' \
		'make userspace      build the kselftest complete_dev with the selftests make of a kernel tree' \
		'make demo           boot a VM and play the LDD3 scenario: transcript and timeline picture' \
		'make demo-kthread   boot a VM and run the kthread example, all three variants' \
		'make shell          a busybox shell in the VM with complete_dev loaded, its log live' \
		'make exercise       the lesson as exercises, with your status; N=3 grades yours in a VM (RESET=1, SOLUTION=1)' \
		'make check          every check: host lint and builds, then KUnit, kselftest, demo, shell (SANITIZE=1, KCSAN=1)' \
		'make mutants        the mutation check: each mutant of tools/tests/mutants.txt through the VM check job, killed or survived (MUTANTS=id,id)' \
		'make upstream-check the patch series of upstream/: git am, checkpatch --strict, per-patch builds, the patched kernel booted and tested (UPSTREAM_STEPS=)' \
		'make bench          the Rust driver against its C twin on the perf kernel: table, JSON, PNG' \
		'make install        on Debian running its own 7.3 kernel: build the modules for it, match them, load them' \
		'make clean          remove the module build outputs and build/ (not the cache)' \
		'make rust-analyzer  write rust-project.json for editors' \
		'make help           this list' \
		'Variables: KDIR= KERNEL=debian ACCEL=tcg|kvm|auto TOOLCHAIN=llvm|gcc KSERIES= V=1 N= RESET=1 SOLUTION=1 (README.md, docs/)'
