# crashkey entry points (see README.md).
#
#   make demo [ARCH=x86_64|...]   build everything for ARCH and run the crash-key demo in QEMU
#   make check                    every test: static checks, host unit tests, tool tests,
#                                 KUnit and the end-to-end matrix for CHECK_ARCHES
#   make check-host               only the tests that need no QEMU (CI's host job)
#   make check-arch ARCH=arm64    only the QEMU matrix of one arch (CI's per-arch jobs)
#   make check-debug              the scenario on KASAN/kmemleak/lockdep kernels, with
#                                 STRESS_LOADS (200) loads under churn, for DEBUG_ARCHES
#   make bench [BENCH_ARCHES=...]  the smallest crashkernel= with crashkey, with the
#                                 passphrase and unencrypted, by bisection in QEMU; the
#                                 run's raw logs and result lines in docs/bench/runs/
#                                 (docs/design.md, "make bench"), then bench-report
#   make bench-report             every bench table (docs/bench/bench.md, README.md)
#                                 made again from docs/bench/runs/ alone
#   make deb                      the crashkey Debian package (tools/debian), checked by
#                                 lintian, in $(CRASHKEY_CACHE)/build/deb
#   make kernel-deb [ARCH=...] [KERNEL_CONFIG=debian|matrix|<file>]
#                                 the crashkey kernel as Debian packages (bindeb-pkg), from
#                                 the running kernel's config or Debian's, with what crashkey
#                                 needs turned on (cross-build/kernel-deb.sh)
#
# Both install the Debian packages they need first. Kernel trees, build dirs, ccache and
# downloaded packages persist in CRASHKEY_CACHE (outside the clone).

ARCH ?= x86_64
# Longest boots first: an arch boots while the next ones build, so the run ends with
# the shortest boots (s390x crashes at three placements; x86_64 also hibernates).
CHECK_ARCHES ?= s390x x86_64 ppc64le arm64 ppc64le_hash
DEBUG_ARCHES ?= x86_64 arm64
BENCH_ARCHES ?= x86_64
CRASHKEY_CACHE ?= /var/cache/crashkey
export CRASHKEY_CACHE

.PHONY: demo check check-host check-arch check-debug bench bench-report deb deps kernel \
	kernel-deb

demo: ARCHES = $(ARCH)
demo: deps
	STORY=1 ci-matrix/run.sh $(ARCH)

check: ARCHES = $(CHECK_ARCHES)
check: deps
	tests/run-all.sh $(CHECK_ARCHES)

check-host: ARCHES = x86_64
check-host: deps
	tests/run-all.sh --host

check-arch: ARCHES = $(ARCH)
check-arch: deps
	tests/run-all.sh --matrix $(ARCH)

check-debug: ARCHES = $(DEBUG_ARCHES)
check-debug: deps
	KERNEL_VARIANT=debug ci-matrix/run.sh $(DEBUG_ARCHES)

bench: ARCHES = $(BENCH_ARCHES)
bench: deps
	ci-matrix/run.sh -s bench $(BENCH_ARCHES); status=$$?; \
		ci-matrix/bench-report.py docs/bench README.md && exit $$status

bench-report:
	ci-matrix/bench-report.py docs/bench README.md

# Only what packaging needs: not the kernel source, QEMU or the cross compilers.
deb:
	ci-matrix/install-deps.sh --deb
	tools/build-deb.sh

deps:
	ci-matrix/install-deps.sh $(ARCHES)

kernel: ARCHES = $(ARCH)
kernel: deps
	cross-build/build.sh $(ARCH)

kernel-deb: ARCHES = $(ARCH)
kernel-deb: deps
	cross-build/kernel-deb.sh $(ARCH)
