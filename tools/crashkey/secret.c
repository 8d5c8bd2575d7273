// SPDX-License-Identifier: GPL-2.0
/*
 * Secret buffers and passphrase input.
 *
 * Input is read with read(2) straight into a secret buffer: stdio would keep
 * a copy of the passphrase in its own heap buffer, which nobody wipes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "output.h"
#include "secret.h"

void secret_harden_process(void)
{
	struct rlimit no_core = { 0, 0 };

	/* Best effort: without them we still wipe, we just lose a layer. */
	(void)setrlimit(RLIMIT_CORE, &no_core);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static size_t page_round(size_t n)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t p = page > 0 ? (size_t)page : 4096;

	return (n + p - 1) / p * p;
}

int secret_alloc(struct secret *s, size_t cap)
{
	size_t size = page_round(cap ? cap : 1);
	void *p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		memset(s, 0, sizeof(*s));
		return -ENOMEM;
	}
	/*
	 * Locking can fail under RLIMIT_MEMLOCK for non-root users; the key
	 * is still wiped after use, so go on without it.
	 */
	(void)mlock(p, size);
	(void)madvise(p, size, MADV_DONTDUMP);
	s->data = p;
	s->len = 0;
	s->cap = size;
	return 0;
}

void secret_free(struct secret *s)
{
	if (s->data) {
		explicit_bzero(s->data, s->cap);
		(void)munlock(s->data, s->cap);
		(void)munmap(s->data, s->cap);
	}
	memset(s, 0, sizeof(*s));
}

/* Doubles the capacity of @s, moving its content; the old copy is wiped. */
static int secret_grow(struct secret *s, size_t limit)
{
	struct secret bigger;
	size_t want = s->cap * 2;

	if (want > limit + 1)
		want = limit + 1;
	if (secret_alloc(&bigger, want) < 0)
		return -ENOMEM;
	memcpy(bigger.data, s->data, s->len);
	bigger.len = s->len;
	secret_free(s);
	*s = bigger;
	return 0;
}

/*
 * The terminal state to put back if a signal arrives while echo is off,
 * and the buffer to wipe then. Only set during secret_read_tty().
 */
static struct termios saved_tty;
static volatile sig_atomic_t tty_changed;
static struct secret *volatile reading;

static void restore_tty_and_die(int sig)
{
	if (tty_changed)
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	if (reading)
		explicit_bzero(reading->data, reading->cap);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Reads bytes from @fd into @s up to a newline (not stored) or end of input.
 * 1 line read, 0 end of input before any byte, -1 error (errno set; EFBIG
 * for a line longer than PASSPHRASE_LINE_MAX).
 */
static int read_line(int fd, struct secret *s)
{
	bool got_any = false;
	unsigned char c;
	ssize_t n;

	/* The buffer never grows, so a signal handler may wipe it safely. */
	for (;;) {
		n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return got_any ? 1 : 0;
		got_any = true;
		if (c == '\n')
			break;
		if (s->len >= PASSPHRASE_LINE_MAX) {
			explicit_bzero(&c, sizeof(c));
			errno = EFBIG;
			return -1;
		}
		s->data[s->len++] = c;
	}
	explicit_bzero(&c, sizeof(c));
	return 1;
}

static int read_tty(struct secret *s, const char *prompt)
{
	struct sigaction sa, old[4];
	static const int sigs[4] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct termios noecho;
	int ret, i, saved_errno;

	if (tcgetattr(STDIN_FILENO, &saved_tty) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = restore_tty_and_die;
	sigemptyset(&sa.sa_mask);
	reading = s;
	for (i = 0; i < 4; i++)
		sigaction(sigs[i], &sa, &old[i]);

	noecho = saved_tty;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	noecho.c_lflag |= ECHONL;
	/* Echo goes off before the prompt shows, so typing is never echoed. */
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho) == 0)
		tty_changed = 1;
	fputs(prompt, stderr);
	fflush(stderr);
	ret = read_line(STDIN_FILENO, s);
	saved_errno = errno;
	if (tty_changed)
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	tty_changed = 0;

	for (i = 0; i < 4; i++)
		sigaction(sigs[i], &old[i], NULL);
	reading = NULL;
	errno = saved_errno;
	return ret;
}

/* Reads all of @fd into @s, growing it up to KEY_FILE_MAX bytes. */
static int read_all(int fd, struct secret *s)
{
	ssize_t n;

	for (;;) {
		if (s->len == s->cap) {
			if (s->cap > KEY_FILE_MAX) {
				errno = EFBIG;
				return -1;
			}
			if (secret_grow(s, KEY_FILE_MAX) < 0) {
				errno = ENOMEM;
				return -1;
			}
		}
		n = read(fd, s->data + s->len, s->cap - s->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		s->len += (size_t)n;
	}
	if (s->len > KEY_FILE_MAX) {
		errno = EFBIG;
		return -1;
	}
	return 0;
}

static bool read_key_file(struct secret *s, const char *path)
{
	bool from_stdin = strcmp(path, "-") == 0;
	int fd = from_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	int ret, saved_errno;

	if (fd < 0) {
		ck_error("cannot open key file %s: %s", path, strerror(errno));
		return false;
	}
	ret = read_all(fd, s);
	saved_errno = errno;
	if (!from_stdin)
		close(fd);
	if (ret < 0) {
		if (saved_errno == EFBIG)
			ck_error("key file %s is larger than %u bytes", path,
				 KEY_FILE_MAX);
		else
			ck_error("cannot read key file %s: %s", path,
				 strerror(saved_errno));
		return false;
	}
	if (s->len == 0) {
		ck_error("key file %s is empty", path);
		return false;
	}
	return true;
}

bool secret_read_passphrase(struct secret *s, enum pass_source src,
			    const char *key_file, const char *prompt)
{
	bool tty = src == PASS_DEFAULT && isatty(STDIN_FILENO);
	bool ok = false;
	int ret;

	/* Lines get their whole buffer up front: it must never move. */
	if (secret_alloc(s, src == PASS_FILE ? 4096 : PASSPHRASE_LINE_MAX) < 0) {
		ck_error("cannot allocate memory for the passphrase");
		return false;
	}
	if (src == PASS_FILE) {
		ok = read_key_file(s, key_file);
	} else {
		ret = tty ? read_tty(s, prompt) : read_line(STDIN_FILENO, s);
		if (ret > 0)
			ok = true;
		else if (ret == 0)
			ck_error("no passphrase given: standard input is empty");
		else if (errno == EFBIG)
			ck_error("passphrase is longer than %d bytes",
				 PASSPHRASE_LINE_MAX);
		else
			ck_error("cannot read the passphrase: %s",
				 strerror(errno));
	}
	if (!ok)
		secret_free(s);
	return ok;
}
