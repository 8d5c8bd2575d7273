// SPDX-License-Identifier: GPL-2.0
/*
 * elfcheck FILE SIZE: is FILE a complete ELF core dump of SIZE bytes?
 *
 * Test-only helper for the matrix's verify boot: a vmcore copied raw from
 * /proc/vmcore must be an ELF64 ET_CORE file of this machine's type whose
 * program headers end exactly where the file ends, and as long as the
 * capture kernel said /proc/vmcore was.
 */
#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(__x86_64__)
#define NATIVE_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define NATIVE_MACHINE EM_AARCH64
#elif defined(__powerpc64__)
#define NATIVE_MACHINE EM_PPC64
#elif defined(__s390x__)
#define NATIVE_MACHINE EM_S390
#else
#error "unknown machine"
#endif

static int fail(const char *what)
{
	fprintf(stderr, "elfcheck: %s\n", what);
	return 1;
}

/* The dump is written by this machine's kernel, so it is in native order. */
static int check_core(FILE *f, uint64_t *end)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	unsigned int i;

	if (fread(&eh, sizeof(eh), 1, f) != 1)
		return fail("shorter than an ELF header");
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return fail("no ELF magic");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64)
		return fail("not ELF64");
	if (eh.e_type != ET_CORE)
		return fail("not a core file");
	if (eh.e_machine != NATIVE_MACHINE)
		return fail("core of another machine type");
	if (eh.e_phentsize != sizeof(ph) || !eh.e_phnum)
		return fail("bad program header table");

	*end = eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(ph);
	for (i = 0; i < eh.e_phnum; i++) {
		if (fseeko(f, eh.e_phoff + (off_t)i * sizeof(ph), SEEK_SET) ||
		    fread(&ph, sizeof(ph), 1, f) != 1)
			return fail("program header table truncated");
		if (ph.p_offset + ph.p_filesz > *end)
			*end = ph.p_offset + ph.p_filesz;
	}
	printf("elfcheck: ELF64 core, machine %u, %u program headers, %" PRIu64
	       " bytes described\n", eh.e_machine, eh.e_phnum, *end);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t expected, described;
	struct stat st;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: elfcheck FILE SIZE\n");
		return 2;
	}
	expected = strtoull(argv[2], NULL, 0);
	f = fopen(argv[1], "rb");
	if (!f || fstat(fileno(f), &st)) {
		fprintf(stderr, "elfcheck: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (check_core(f, &described))
		return 1;
	fclose(f);
	if ((uint64_t)st.st_size != described)
		return fail("file size differs from what its headers describe");
	if ((uint64_t)st.st_size != expected)
		return fail("file size differs from /proc/vmcore's");
	printf("elfcheck: ok, %" PRIu64 " bytes\n", expected);
	return 0;
}
