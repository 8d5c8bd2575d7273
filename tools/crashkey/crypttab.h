/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /etc/crypttab, as far as unlock needs it: the name the system gives each
 * LUKS volume under /dev/mapper, and where a volume keeps a detached header.
 * Lines are "name source [keyfile [options]]" (crypttab(5)); the key file
 * only tells whether the volume is asked for at boot, as do the options
 * noauto, swap and tmp; of the others only header= counts.
 */
#ifndef CRASHKEY_CRYPTTAB_H
#define CRASHKEY_CRYPTTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "luks.h"
#include "names.h"

#define CRYPTTAB_DEFAULT	"/etc/crypttab"

struct crypttab_entry {
	char *name;		/* the mapper name */
	char *source;		/* as written: UUID=, PARTUUID=, LABEL= or a path */
	char *header;		/* header= (a detached LUKS header), or NULL */
	/* None of noauto, swap, tmp: systemd opens it at each boot. */
	bool opened_at_boot;
	/* And it has no key file: systemd asks for its passphrase. */
	bool asked_at_boot;
	unsigned int line;
	/* Found by crypttab_resolve(), anew for each probe of the devices: */
	char *device;		/* the source's device, canonical; NULL: not there */
	dev_t rdev;		/* its device number; 0 if not a block device */
	/* Read once it can be: a header does not change while unlock runs. */
	char header_uuid[UUID_BUF_LEN];	/* "" while unread */
	int header_err;		/* -errno of the last attempt to read it */
};

struct crypttab {
	const char *path;
	struct crypttab_entry *v;
	size_t n;
};

/*
 * Reads @path into @tab, which stays valid as long as @path does. A line
 * that is not a valid entry is reported as a warning (path:line) and
 * skipped. A missing file is an empty table unless @must_exist. 0, or
 * -errno after reporting the error.
 */
int crypttab_read(const char *path, bool must_exist, struct crypttab *tab);
void crypttab_free(struct crypttab *tab);

/*
 * Looks up each entry's source among the devices @devs's scan probed, and
 * reads the UUID of each detached header not read yet.
 */
void crypttab_resolve(struct crypttab *tab, struct luks_devlist *devs);

/*
 * The first entry (in file order) for the volume with LUKS UUID @uuid: one
 * whose detached header has that UUID, or one whose source is block device
 * @device (NULL if none was found). NULL if there is none; *@second is the
 * next one, which should not be there.
 */
const struct crypttab_entry *
crypttab_find(const struct crypttab *tab, const char *uuid,
	      const char *device, const struct crypttab_entry **second);

/* Warns about each detached header that could not be read. */
void crypttab_report_headers(const struct crypttab *tab);

#endif
