// SPDX-License-Identifier: GPL-2.0
/*
 * Canonical UUIDs and key descriptions.
 *
 * The kernel accepts only canonical lowercase UUIDs as configfs item names,
 * and in the capture kernel the only link between a restored key and its
 * volume is the UUID at the end of the key's description, so every UUID that
 * crashkey handles goes through here.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <uuid/uuid.h>

#include "names.h"

/* Canonical is what libuuid writes back; uuid_parse() takes either case. */
bool uuid_is_canonical(const char *s)
{
	char back[UUID_BUF_LEN];
	uuid_t bin;

	if (uuid_parse(s, bin) != 0)
		return false;
	uuid_unparse_lower(bin, back);
	return strcmp(s, back) == 0;
}

bool uuid_canonical(const char *in, char out[UUID_BUF_LEN])
{
	uuid_t bin;

	if (strncasecmp(in, "UUID=", 5) == 0)
		in += 5;
	if (uuid_parse(in, bin) != 0)
		return false;
	uuid_unparse_lower(bin, out);
	return true;
}

void desc_default(const char *uuid, char out[KEY_DESC_MAX_LEN + 1])
{
	snprintf(out, KEY_DESC_MAX_LEN + 1, "%s%s", DESC_DEFAULT_PREFIX, uuid);
}

/* Last occurrence of @needle in @hay, or NULL. */
static const char *last_strstr(const char *hay, const char *needle)
{
	const char *found = NULL, *p = hay;

	while ((p = strstr(p, needle)) != NULL) {
		found = p;
		p++;
	}
	return found;
}

bool desc_uuid(const char *desc, char out[UUID_BUF_LEN])
{
	const char *marker = last_strstr(desc, DESC_UUID_MARKER);

	if (!marker)
		return false;
	marker += strlen(DESC_UUID_MARKER);
	if (!uuid_is_canonical(marker))
		return false;
	memcpy(out, marker, UUID_BUF_LEN);
	return true;
}

const char *desc_check(const char *desc, const char *uuid)
{
	char named[UUID_BUF_LEN];
	const char *colon = strchr(desc, ':');
	size_t i, len = strlen(desc);

	if (len == 0 || len > KEY_DESC_MAX_LEN)
		return "a key description has 1 to 255 characters";
	for (i = 0; i < len; i++) {
		/* The kernel ends a written description at a newline. */
		if (!isprint((unsigned char)desc[i]))
			return "a key description may hold printable ASCII only";
	}
	/* The kernel's logon key type refuses descriptions without one. */
	if (!colon || colon == desc)
		return "a logon key description needs a \"prefix:\" before the rest";
	if (!desc_uuid(desc, named))
		return "the description must end in \"vk-<UUID>\" with the volume's lowercase UUID";
	if (strcmp(named, uuid) != 0)
		return "the description ends in the UUID of another volume";
	return NULL;
}
