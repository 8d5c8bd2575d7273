/* SPDX-License-Identifier: GPL-2.0 */
/* The commands of crashkey; each returns the process exit code. */
#ifndef CRASHKEY_COMMANDS_H
#define CRASHKEY_COMMANDS_H

#include <stdbool.h>

#include "secret.h"

/* Exit codes, documented in crashkey(8); guest scripts rely on them. */
enum {
	EXIT_OK		= 0,	/* done */
	EXIT_FAILED	= 1,	/* the operation failed */
	EXIT_USAGE	= 2,	/* bad command line */
	EXIT_PARTIAL	= 3,	/* unlock: some volumes were not unlocked */
	EXIT_NOTHING	= 4,	/* unlock: no volume keys were handed over */
	EXIT_CHECKS	= 5,	/* status --check: a check failed */
};

struct add_args {
	const char *target;		/* DEVICE, image file or UUID */
	enum pass_source source;
	const char *key_file;		/* with PASS_FILE */
	const char *description;	/* NULL: the default description */
	const char *vk_keyring;		/* the volume key's user key, or NULL */
	bool token;			/* through a LUKS2 token */
	int token_id;			/* -1: any token */
	const char *token_type;		/* NULL: any type */
};

struct unlock_args {
	bool no_restore;	/* use only keys already in @u */
	bool dry_run;		/* check keys, activate and drop nothing */
	const char *crypttab;	/* NULL: CRYPTTAB_DEFAULT, which may be missing */
	unsigned int wait;	/* seconds to wait for missing devices */
};

int cmd_add(const struct add_args *args);
int cmd_remove(const char *target);
int cmd_list(void);
/* With @check, exits EXIT_CHECKS when one of its checks failed. */
int cmd_status(bool check);
int cmd_unlock(const struct unlock_args *args);

#endif
