// SPDX-License-Identifier: GPL-2.0
/*
 * crashkey - hand LUKS volume keys to the kdump kernel.
 *
 * This file only parses the command line and dispatches; the commands
 * themselves are in commands.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "crypttab.h"
#include "luks.h"
#include "output.h"
#include "secret.h"

#ifndef CRASHKEY_VERSION
#define CRASHKEY_VERSION "unknown"
#endif

static const char main_usage[] =
"Usage: crashkey [--json] [--quiet] [--verbose] <command> [options]\n"
"       crashkey --help | --version\n"
"       crashkey <command> --help\n"
"\n"
"Hands the volume keys of LUKS-encrypted disks to the kdump kernel, so a\n"
"crash dump can be written to them.\n"
"\n"
"Commands in the running kernel:\n"
"  add DEVICE|UUID     register a volume's key for the kdump kernel\n"
"  remove DEVICE|UUID  stop handing over a volume's key\n"
"  list                show the registered volumes\n"
"  status              show kernel support, the registered volumes and\n"
"                      whether a crash would hand their keys over\n"
"Command in the kdump (capture) kernel:\n"
"  unlock              restore the handed-over keys and open the volumes\n"
"\n"
"Options:\n"
"  -j, --json     list, status, unlock: print one JSON object\n"
"  -q, --quiet    print no informational messages\n"
"  -v, --verbose  also show libcryptsetup's messages\n"
"  -h, --help     show this help\n"
"  -V, --version  show the version\n"
"\n"
"Exit codes: 0 success, 1 operation failed, 2 usage error,\n"
"            3 unlock: some volumes not unlocked, 4 unlock: no keys handed over,\n"
"            5 status --check: a check failed\n"
"\n"
"See crashkey(8) for details.\n";

static const char add_usage[] =
"Usage: crashkey add [--key-file FILE | --stdin | --volume-key-keyring KEY]\n"
"                    [--token-only] [--token-id ID] [--token-type TYPE]\n"
"                    [--description DESC] DEVICE|UUID\n"
"\n"
"Derives the volume key of a LUKS volume from a passphrase (or a LUKS2\n"
"token, or takes it from the kernel keyring), adds it as a logon key to the\n"
"user keyring and registers it with the kernel, which hands it to the kdump\n"
"kernel after a crash.\n"
"\n"
"DEVICE is a block device or a LUKS image file; a UUID (optionally written\n"
"UUID=...) is looked up on all block devices.\n"
"\n"
"The passphrase is read from the terminal with echo off, or when standard\n"
"input is not a terminal, from its first line.\n"
"\n"
"Options:\n"
"  -k, --key-file FILE       use the whole content of FILE as passphrase\n"
"                            (\"-\": all of standard input)\n"
"  -s, --stdin               read the passphrase as one line of standard\n"
"                            input, without its newline\n"
"  -K, --volume-key-keyring KEY\n"
"                            take the volume key from a user key in the\n"
"                            session or user keyring, as cryptsetup 2.7's\n"
"                            --link-vk-to-keyring leaves it: KEY is\n"
"                            %user:DESC, DESC or a key serial number; it is\n"
"                            checked against the LUKS header\n"
"  -t, --token-only          get the volume key through a LUKS2 token\n"
"                            (TPM2, FIDO2, ...) instead of a passphrase; a\n"
"                            token PIN is read as a passphrase would be\n"
"      --token-id ID         only this token (implies --token-only)\n"
"      --token-type TYPE     only tokens of this type, e.g. systemd-tpm2\n"
"                            (implies --token-only)\n"
"  -d, --description DESC    logon key description (default\n"
"                            kdump-cryptsetup:vk-<UUID>); must have a\n"
"                            \"prefix:\" and end in vk-<UUID>\n"
"  -h, --help                show this help\n";

static const char remove_usage[] =
"Usage: crashkey remove DEVICE|UUID\n"
"\n"
"Removes the volume's item from the kernel and revokes and unlinks its\n"
"logon key. A UUID is used as given, so a volume whose disk is gone can\n"
"be removed too. Fails if the volume is not registered.\n"
"\n"
"Options:\n"
"  -h, --help    show this help\n";

static const char list_usage[] =
"Usage: crashkey [--json] list\n"
"\n"
"Shows each registered volume: UUID, whether its logon key is in the user\n"
"keyring, whether the loaded crash kernel carries its key (HANDOVER: yes,\n"
"stale: registered again since the load, no, or unknown on an older\n"
"kernel), the block device holding it (if found) and the key description.\n"
"\n"
"Options:\n"
"  -j, --json    print one JSON object\n"
"  -h, --help    show this help\n";

static const char status_usage[] =
"Usage: crashkey [--json] status [--check]\n"
"\n"
"Shows whether the kernel supports handing over keys, whether this is the\n"
"running or the kdump (capture) kernel, whether a crash kernel is loaded,\n"
"the kernel's count and reuse settings, what the loaded crash kernel\n"
"carries, and the registered volumes. Then checks, without crashing the\n"
"machine, that a crash would hand every key over: the loaded crash kernel\n"
"carries every registered key, enough memory is reserved for it\n"
"(crashkernel=), and kdump-tools loads it with kexec -s.\n"
"\n"
"Options:\n"
"      --check   exit 5 if a check failed\n"
"  -j, --json    print one JSON object\n"
"  -h, --help    show this help\n"
"\n"
"Exit codes: 0 shown (with --check: no check failed), 5 with --check: a\n"
"            check failed\n";

static const char unlock_usage[] =
"Usage: crashkey unlock [--no-restore] [--dry-run] [--crypttab FILE]\n"
"                       [--wait SECONDS]\n"
"\n"
"In the kdump kernel: asks the kernel to restore the handed-over keys as\n"
"user keys, then opens each LUKS volume whose key is there under the name\n"
"its crypttab entry gives it, or as /dev/mapper/luks-<UUID>. Every key is\n"
"revoked and unlinked afterwards.\n"
"\n"
"Options:\n"
"  -n, --no-restore  do not ask the kernel; use the keys already in the\n"
"                    user keyring\n"
"      --dry-run     check the keys against the LUKS headers but open no\n"
"                    volume and keep the keys\n"
"      --crypttab FILE\n"
"                    take volume names and detached headers from FILE\n"
"                    (default " CRYPTTAB_DEFAULT "; no error if it is missing)\n"
"      --wait SECONDS\n"
"                    look for missing devices again until SECONDS have\n"
"                    passed since unlock started (default 0)\n"
"  -j, --json        print one JSON object\n"
"  -h, --help        show this help\n"
"\n"
"Exit codes: 0 all volumes unlocked, 1 failed, 3 some volumes not unlocked,\n"
"            4 no keys were handed over\n";

/* Long options without a short form. */
enum {
	OPT_DRY_RUN = 256, OPT_CRYPTTAB, OPT_WAIT, OPT_CHECK, OPT_TOKEN_ID,
	OPT_TOKEN_TYPE
};

/* Longest --wait: a day is more than any disk takes to show up. */
#define WAIT_MAX_SECONDS	86400
/* LUKS2 has 32 token slots. */
#define TOKEN_ID_MAX		31

/* Options every command accepts as well, wherever they are written. */
#define COMMON_SHORT "jqvh"
#define COMMON_LONG \
	{ "json", no_argument, NULL, 'j' }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }

struct command {
	const char *name;
	const char *usage;
	/* Parses the command's own arguments and runs it. */
	int (*run)(const struct command *cmd, int argc, char **argv);
};

static int usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints the complaint and where to find help; returns EXIT_USAGE. */
static int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "crashkey: ");
	if (cmd)
		fprintf(stderr, "%s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'crashkey %s%s--help'.\n", cmd ? cmd : "",
		cmd ? " " : "");
	return EXIT_USAGE;
}

/* Turns getopt's complaint into our message. */
static int bad_option(const char *cmd, int c, char **argv)
{
	const char *opt = argv[optind - 1];
	char shortopt[3] = { '-', (char)optopt, '\0' };

	/* For "-xyz" getopt reports the letter, not the whole word. */
	if (strncmp(opt, "--", 2) != 0 && optopt > 0 && optopt < 256)
		opt = shortopt;
	if (c == ':')
		return usage_error(cmd, "option '%s' needs an argument", opt);
	/* "--stdin=x": getopt knows the option but not what to do with x. */
	if (optopt > 0 && strchr(opt, '='))
		return usage_error(cmd, "option '%s' takes no argument", opt);
	return usage_error(cmd, "unknown option '%s'", opt);
}

/*
 * Handles an option every command shares. 1 if it was one, 0 if not,
 * -1 if the caller should print the command's help and exit.
 */
static int common_option(int c)
{
	switch (c) {
	case 'j':
		out_opts.json = true;
		return 1;
	case 'q':
		out_opts.quiet = true;
		return 1;
	case 'v':
		out_opts.verbose = true;
		return 1;
	case 'h':
		return -1;
	default:
		return 0;
	}
}

static int show_help(const char *usage)
{
	fputs(usage, stdout);
	return EXIT_OK;
}

/* A decimal number from 0 to @max, nothing else around it. */
static bool parse_number(const char *arg, unsigned long max,
			 unsigned long *out)
{
	unsigned long v;
	char *end;

	/* strtoul() would take "-1" as ULONG_MAX and " 5" as 5. */
	if (*arg < '0' || *arg > '9')
		return false;
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/*
 * add, remove and unlock write logon keys and configfs, which only root may:
 * said once, up front, rather than as the EACCES of whichever step fails.
 */
static int need_root(const struct command *cmd)
{
	if (geteuid() == 0)
		return 0;
	fprintf(stderr, "crashkey %s: must be run as root\n", cmd->name);
	return EXIT_FAILED;
}

static int run_add(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key-file", required_argument, NULL, 'k' },
		{ "stdin", no_argument, NULL, 's' },
		{ "description", required_argument, NULL, 'd' },
		{ "volume-key-keyring", required_argument, NULL, 'K' },
		{ "token-only", no_argument, NULL, 't' },
		{ "token-id", required_argument, NULL, OPT_TOKEN_ID },
		{ "token-type", required_argument, NULL, OPT_TOKEN_TYPE },
		COMMON_LONG,
		{ NULL, 0, NULL, 0 }
	};
	struct add_args args = { .source = PASS_DEFAULT, .token_id = -1 };
	unsigned long number;
	bool use_stdin = false;
	int c, common;

	while ((c = getopt_long(argc, argv, ":k:sd:K:t" COMMON_SHORT, opts,
				NULL)) != -1) {
		common = common_option(c);
		if (common < 0)
			return show_help(cmd->usage);
		if (common > 0)
			continue;
		switch (c) {
		case 'k':
			args.key_file = optarg;
			break;
		case 's':
			use_stdin = true;
			break;
		case 'd':
			args.description = optarg;
			break;
		case 'K':
			args.vk_keyring = optarg;
			break;
		case 't':
			args.token = true;
			break;
		case OPT_TOKEN_ID:
			if (!parse_number(optarg, TOKEN_ID_MAX, &number))
				return usage_error(cmd->name, "invalid "
						   "--token-id \"%s\"", optarg);
			args.token_id = (int)number;
			args.token = true;
			break;
		case OPT_TOKEN_TYPE:
			args.token_type = optarg;
			args.token = true;
			break;
		default:
			return bad_option(cmd->name, c, argv);
		}
	}
	if (!!args.key_file + use_stdin + !!args.vk_keyring > 1)
		return usage_error(cmd->name, "--key-file, --stdin and "
				   "--volume-key-keyring exclude each other");
	if (args.vk_keyring && args.token)
		return usage_error(cmd->name, "--volume-key-keyring and the "
				   "token options exclude each other");
	if (args.key_file)
		args.source = PASS_FILE;
	else if (use_stdin)
		args.source = PASS_LINE;
	if (optind != argc - 1)
		return usage_error(cmd->name, "%s",
				   optind < argc ? "too many arguments"
						 : "missing DEVICE or UUID");
	args.target = argv[optind];
	if (need_root(cmd))
		return EXIT_FAILED;
	return cmd_add(&args);
}

/* Commands whose only options are the common ones. */
static int parse_common_only(const struct command *cmd, int argc, char **argv,
			     int nargs)
{
	static const struct option opts[] = {
		COMMON_LONG,
		{ NULL, 0, NULL, 0 }
	};
	int c, common;

	while ((c = getopt_long(argc, argv, ":" COMMON_SHORT, opts,
				NULL)) != -1) {
		common = common_option(c);
		if (common < 0) {
			show_help(cmd->usage);
			return -1;
		}
		if (common == 0)
			return bad_option(cmd->name, c, argv);
	}
	if (argc - optind > nargs)
		return usage_error(cmd->name, "too many arguments");
	if (argc - optind < nargs)
		return usage_error(cmd->name, "missing DEVICE or UUID");
	return 0;
}

static int run_remove(const struct command *cmd, int argc, char **argv)
{
	int ret = parse_common_only(cmd, argc, argv, 1);

	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	if (need_root(cmd))
		return EXIT_FAILED;
	return cmd_remove(argv[optind]);
}

static int run_list(const struct command *cmd, int argc, char **argv)
{
	int ret = parse_common_only(cmd, argc, argv, 0);

	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	return cmd_list();
}

static int run_status(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "check", no_argument, NULL, OPT_CHECK },
		COMMON_LONG,
		{ NULL, 0, NULL, 0 }
	};
	bool check = false;
	int c, common;

	while ((c = getopt_long(argc, argv, ":" COMMON_SHORT, opts,
				NULL)) != -1) {
		common = common_option(c);
		if (common < 0)
			return show_help(cmd->usage);
		if (common > 0)
			continue;
		if (c != OPT_CHECK)
			return bad_option(cmd->name, c, argv);
		check = true;
	}
	if (optind != argc)
		return usage_error(cmd->name, "too many arguments");
	return cmd_status(check);
}

/* --wait's argument: whole seconds, 0 to WAIT_MAX_SECONDS. */
static int run_unlock(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-restore", no_argument, NULL, 'n' },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "crypttab", required_argument, NULL, OPT_CRYPTTAB },
		{ "wait", required_argument, NULL, OPT_WAIT },
		COMMON_LONG,
		{ NULL, 0, NULL, 0 }
	};
	struct unlock_args args = { 0 };
	unsigned long seconds;
	int c, common;

	while ((c = getopt_long(argc, argv, ":n" COMMON_SHORT, opts,
				NULL)) != -1) {
		common = common_option(c);
		if (common < 0)
			return show_help(cmd->usage);
		if (common > 0)
			continue;
		switch (c) {
		case 'n':
			args.no_restore = true;
			break;
		case OPT_DRY_RUN:
			args.dry_run = true;
			break;
		case OPT_CRYPTTAB:
			args.crypttab = optarg;
			break;
		case OPT_WAIT:
			if (!parse_number(optarg, WAIT_MAX_SECONDS, &seconds))
				return usage_error(cmd->name, "invalid --wait "
						   "'%s': whole seconds, 0 to "
						   "%d", optarg,
						   WAIT_MAX_SECONDS);
			args.wait = (unsigned int)seconds;
			break;
		default:
			return bad_option(cmd->name, c, argv);
		}
	}
	if (optind != argc)
		return usage_error(cmd->name, "too many arguments");
	if (need_root(cmd))
		return EXIT_FAILED;
	return cmd_unlock(&args);
}

static const struct command commands[] = {
	{ "add", add_usage, run_add },
	{ "remove", remove_usage, run_remove },
	{ "list", list_usage, run_list },
	{ "status", status_usage, run_status },
	{ "unlock", unlock_usage, run_unlock },
};

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "version", no_argument, NULL, 'V' },
		COMMON_LONG,
		{ NULL, 0, NULL, 0 }
	};
	const struct command *cmd;
	int c, common;

	secret_harden_process();
	opterr = 0;	/* we word the messages ourselves */

	/* "+": stop at the command name, its options are parsed below. */
	while ((c = getopt_long(argc, argv, "+:V" COMMON_SHORT, opts,
				NULL)) != -1) {
		common = common_option(c);
		if (common < 0)
			return show_help(main_usage);
		if (common > 0)
			continue;
		if (c == 'V') {
			printf("crashkey %s\n", CRASHKEY_VERSION);
			return EXIT_OK;
		}
		return bad_option(NULL, c, argv);
	}
	if (optind >= argc)
		return usage_error(NULL, "missing command");
	for (c = 1; c < argc; c++)
		if (!argv[c][0])
			return usage_error(NULL, "argument %d is empty", c);
	cmd = find_command(argv[optind]);
	if (!cmd)
		return usage_error(NULL, "unknown command '%s'", argv[optind]);

	luks_setup();
	/*
	 * The command sees argv from its own name on; optind 0 makes glibc
	 * start a fresh scan.
	 */
	argc -= optind;
	argv += optind;
	optind = 0;
	c = cmd->run(cmd, argc, argv);
	fflush(stdout);
	return c;
}
