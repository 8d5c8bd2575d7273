// SPDX-License-Identifier: GPL-2.0
/*
 * elfcheck FILE SIZE: is FILE a complete ELF core dump of SIZE bytes?
 * elfcheck --covers FILE START END: do FILE's PT_LOAD segments hold all of the
 *     physical range [START, END)?
 * elfcheck --paddr FILE OFFSET: which physical address does byte OFFSET of
 *     FILE hold (to trace a key that keyscan --where found)?
 *
 * Test-only helper for the matrix: a vmcore copied raw from /proc/vmcore must
 * be an ELF64 ET_CORE file of this machine's type whose program headers end
 * exactly where the file ends, and as long as the capture kernel said
 * /proc/vmcore was (verify boot); memory hot-added while the crash image was
 * loaded must be in the capture kernel's /proc/vmcore (capture boot).
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
static int read_header(FILE *f, Elf64_Ehdr *eh)
{
	if (fread(eh, sizeof(*eh), 1, f) != 1)
		return fail("shorter than an ELF header");
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return fail("no ELF magic");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return fail("not ELF64");
	if (eh->e_type != ET_CORE)
		return fail("not a core file");
	if (eh->e_machine != NATIVE_MACHINE)
		return fail("core of another machine type");
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || !eh->e_phnum)
		return fail("bad program header table");
	return 0;
}

static int read_program_header(FILE *f, const Elf64_Ehdr *eh, unsigned int i,
			       Elf64_Phdr *ph)
{
	if (fseeko(f, eh->e_phoff + (off_t)i * sizeof(*ph), SEEK_SET) ||
	    fread(ph, sizeof(*ph), 1, f) != 1)
		return fail("program header table truncated");
	return 0;
}

static int check_core(FILE *f, uint64_t *end)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	unsigned int i;

	if (read_header(f, &eh))
		return 1;
	*end = eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(ph);
	for (i = 0; i < eh.e_phnum; i++) {
		if (read_program_header(f, &eh, i, &ph))
			return 1;
		if (ph.p_offset + ph.p_filesz > *end)
			*end = ph.p_offset + ph.p_filesz;
	}
	printf("elfcheck: ELF64 core, machine %u, %u program headers, %" PRIu64
	       " bytes described\n", eh.e_machine, eh.e_phnum, *end);
	return 0;
}

/*
 * PT_LOAD segments of a vmcore do not overlap, so the range is covered when
 * the parts of it they hold add up to its length.
 */
static int check_covers(FILE *f, uint64_t start, uint64_t end)
{
	uint64_t held = 0, from, to;
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	unsigned int i;

	if (start >= end)
		return fail("empty range");
	if (read_header(f, &eh))
		return 1;
	for (i = 0; i < eh.e_phnum; i++) {
		if (read_program_header(f, &eh, i, &ph))
			return 1;
		if (ph.p_type != PT_LOAD)
			continue;
		from = ph.p_paddr > start ? ph.p_paddr : start;
		to = ph.p_paddr + ph.p_memsz < end ? ph.p_paddr + ph.p_memsz : end;
		if (from < to)
			held += to - from;
	}
	printf("elfcheck: %#" PRIx64 "-%#" PRIx64 ": %" PRIu64 " of %" PRIu64
	       " bytes in PT_LOAD segments\n", start, end, held, end - start);
	if (held != end - start)
		return fail("the range is not all in the dump");
	return 0;
}

static int print_paddr(FILE *f, uint64_t offset)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	unsigned int i;

	if (read_header(f, &eh))
		return 1;
	for (i = 0; i < eh.e_phnum; i++) {
		if (read_program_header(f, &eh, i, &ph))
			return 1;
		if (ph.p_type != PT_LOAD || offset < ph.p_offset ||
		    offset - ph.p_offset >= ph.p_filesz)
			continue;
		printf("%#" PRIx64 "\n", ph.p_paddr + (offset - ph.p_offset));
		return 0;
	}
	return fail("the offset is in no PT_LOAD segment");
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *rest;

	errno = 0;
	*v = strtoull(s, &rest, 0);
	return errno || rest == s || *rest;
}

static FILE *open_core(const char *path)
{
	FILE *f = fopen(path, "rb");

	if (!f)
		fprintf(stderr, "elfcheck: %s: %s\n", path, strerror(errno));
	return f;
}

static int covers_main(char **argv)
{
	uint64_t start, end;
	FILE *f;
	int ret;

	if (parse_u64(argv[3], &start) || parse_u64(argv[4], &end))
		return fail("START and END must be numbers");
	f = open_core(argv[2]);
	if (!f)
		return 1;
	ret = check_covers(f, start, end);
	fclose(f);
	return ret;
}

static int paddr_main(char **argv)
{
	uint64_t offset;
	FILE *f;
	int ret;

	if (parse_u64(argv[3], &offset))
		return fail("OFFSET must be a number");
	f = open_core(argv[2]);
	if (!f)
		return 1;
	ret = print_paddr(f, offset);
	fclose(f);
	return ret;
}

int main(int argc, char **argv)
{
	uint64_t expected, described;
	struct stat st;
	FILE *f;

	if (argc == 5 && !strcmp(argv[1], "--covers"))
		return covers_main(argv);
	if (argc == 4 && !strcmp(argv[1], "--paddr"))
		return paddr_main(argv);
	if (argc != 3 || parse_u64(argv[2], &expected)) {
		fprintf(stderr, "usage: elfcheck FILE SIZE | elfcheck --covers FILE START END\n"
			"       elfcheck --paddr FILE OFFSET\n");
		return 2;
	}
	f = open_core(argv[1]);
	if (!f)
		return 1;
	if (fstat(fileno(f), &st)) {
		fprintf(stderr, "elfcheck: %s: %s\n", argv[1], strerror(errno));
		fclose(f);
		return 1;
	}
	if (check_core(f, &described)) {
		fclose(f);
		return 1;
	}
	fclose(f);
	if ((uint64_t)st.st_size != described)
		return fail("file size differs from what its headers describe");
	if ((uint64_t)st.st_size != expected)
		return fail("file size differs from /proc/vmcore's");
	printf("elfcheck: ok, %" PRIu64 " bytes\n", expected);
	return 0;
}
