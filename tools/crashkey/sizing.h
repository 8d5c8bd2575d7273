/* SPDX-License-Identifier: GPL-2.0 */
/* Written by ci-matrix/bench-report.py from docs/bench/runs: make bench-report. */
#ifndef CRASHKEY_SIZING_H
#define CRASHKEY_SIZING_H

/*
 * SIZING_BASE_MIB: the smallest crashkernel= with which make bench's crashkey
 * way saved a dump (the matrix's kernel and initrd, one volume);
 * SIZING_VOLUME_KIB: what unlocking one more volume took, of 64. 0: not measured.
 */
#if defined(__x86_64__)
#define SIZING_BASE_MIB	51	/* run 2026-12-07T200625Z */
#define SIZING_VOLUME_KIB	1522	/* run 2026-12-07T200625Z */
#elif defined(__aarch64__)
#define SIZING_BASE_MIB	40	/* run 2026-12-07T204443Z */
#define SIZING_VOLUME_KIB	1500	/* run 2026-12-07T200625Z */
#elif defined(__powerpc64__)
#define SIZING_BASE_MIB	80	/* run 2026-12-07T200625Z */
#define SIZING_VOLUME_KIB	1548	/* run 2026-12-07T200625Z */
#elif defined(__s390x__)
#define SIZING_BASE_MIB	39	/* run 2026-12-07T200625Z */
#define SIZING_VOLUME_KIB	1487	/* run 2026-12-07T200625Z */
#else
#define SIZING_BASE_MIB	0
#define SIZING_VOLUME_KIB	0
#endif

#endif
