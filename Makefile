# SPDX-License-Identifier: GPL-2.0
#
# Host-side entry points.  Kbuild reads ./Kbuild (not this file) for M= builds.
#
#   make run      setup + build + boot the arm64 SMMUv3 guest and judge it
#   make check    everything CI runs: every guest in CHECK_GUESTS
#   make lint     checkpatch --strict, kernel-doc, sparse, W=1, sphinx -W
#   make bench    the benchmark: one guest per IOMMU model (or GUESTS), one
#                 table; BASE=<out/bench/bench.tsv of a run> marks what moved
#   make mutants  break the driver on purpose; the suite must notice
#   make soak N=20   N warm runs of make check's guests, PASS/FAIL per run
#   make dkms-check  dkms install against the installed headers
#   make module   an ordinary out-of-tree build against KDIR
#   make shell GUEST=<guest>   boot a guest with the suite and get a shell
#
# Variables: GUESTS (for run), CHECK_GUESTS, KDIR, KERNEL (+KDIR, MODDIR:
# boot your own kernel), QEMU_SYSTEM_AARCH64, QEMU_SYSTEM_X86_64, ITD_OUT,
# ITD_CACHE, ITD_PARALLEL, ITD_TIMEOUT (see scripts/*.sh).

KDIR ?= /lib/modules/$(shell uname -r)/build
GUESTS ?= arm64-smmuv3
GUEST ?= arm64-smmuv3
CHECK_GUESTS ?= check
N ?= 20
LINT ?= lint
# When make started: run.sh prints make check's whole time, lint included.
export ITD_CHECK_T0 := $(shell date +%s.%N | cut -c1-13)

.PHONY: all run check matrix setup module modules_install clean shell help \
	lint bench mutants dkms-check soak

all: module

help:
	@sed -n 's/^#   //p' Makefile

setup:
	scripts/setup.sh

run:
	scripts/run.sh $(GUESTS)

# make check runs lint beside the guests (run.sh waits for it and counts a
# lint failure as a failure); LINT= leaves it out.
check:
	ITD_LINT=$(LINT) scripts/run.sh $(CHECK_GUESTS)

matrix:
	scripts/run.sh all

lint:
	scripts/setup.sh
	scripts/lint.sh

# Without GUESTS on its command line, make bench takes one guest per IOMMU.
bench:
	ITD_BENCH_BASE=$(BASE) scripts/bench.sh \
		$(if $(filter command line environment,$(origin GUESTS)),$(GUESTS))

mutants:
	scripts/mutants.sh $(GUEST)

soak:
	scripts/soak.sh $(N) $(CHECK_GUESTS)

dkms-check:
	scripts/dkms-check.sh

shell:
	ITD_INTERACTIVE=1 scripts/run.sh $(GUEST)

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

modules_install:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install

clean:
	rm -rf out
	find . \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name 'modules.order' -o -name 'Module.symvers' \
		-o -name '*.o.d' -o -name '.*.d' \) -not -path './.git/*' -delete
	rm -rf .tmp_versions
