/*
 * registry: the division registry of one province, loaded from CSV, or of
 * every province in the database, built row by row; every row checked
 * against its parent.
 */
#include "registry.h"
#include "utf8.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES 1024     /* a registry CSV line longer than this is refused */

/* Digits of a code that identify the area at each level; the rest are zero. */
static const size_t s_prefix_len[TF_LEVEL_COUNT] = { 4, 6, 9, 12 };
static const char *s_level_name[TF_LEVEL_COUNT] = {
	"prefecture", "county", "township", "unit"
};
static const char *s_level_file[TF_LEVEL_COUNT] = {
	"prefectures.csv", "counties.csv", "townships.csv", "villages.csv"
};

struct _tf_registry_t {
	tf_area_t *areas[TF_LEVEL_COUNT];
	size_t size[TF_LEVEL_COUNT];
	size_t capacity[TF_LEVEL_COUNT];
	zhashx_t *index[TF_LEVEL_COUNT];   /* code -> index + 1, as a pointer-sized int */
	char province[3];
};

bool
tf_code_valid(const char *code)
{
	size_t i;

	for (i = 0; i < TF_CODE_LEN; i++)
		if (code[i] < '0' || code[i] > '9')
			return false;
	return code[i] == '\0';
}

tf_unit_kind_t
tf_unit_kind_of(const char *code)
{
	int last;

	if (!tf_code_valid(code))
		return TF_UNIT_UNKNOWN;
	last = atoi(code + 9);
	if (last >= 1 && last <= 199)
		return TF_UNIT_RESIDENTS;
	if (last >= 200 && last <= 399)
		return TF_UNIT_VILLAGERS;
	if (last >= 400 && last <= 499)
		return TF_UNIT_COMMUNITY_LIKE;
	if (last >= 500 && last <= 599)
		return TF_UNIT_VILLAGE_LIKE;
	return TF_UNIT_UNKNOWN;
}

const char *
tf_unit_kind_name(tf_unit_kind_t kind)
{
	switch (kind) {
	case TF_UNIT_RESIDENTS:
		return "residents";
	case TF_UNIT_VILLAGERS:
		return "villagers";
	case TF_UNIT_COMMUNITY_LIKE:
		return "community_like";
	case TF_UNIT_VILLAGE_LIKE:
		return "village_like";
	case TF_UNIT_UNKNOWN:
		break;
	}
	return "unknown";
}

tf_registry_t *
tf_registry_new(void)
{
	tf_registry_t *self = calloc(1, sizeof *self);

	if (self == NULL)
		return NULL;
	for (int level = 0; level < TF_LEVEL_COUNT; level++) {
		self->index[level] = zhashx_new();
		if (self->index[level] == NULL) {
			tf_registry_destroy(&self);
			return NULL;
		}
		/* Values are small integers, not owned pointers. */
		zhashx_set_destructor(self->index[level], NULL);
		zhashx_set_duplicator(self->index[level], NULL);
	}
	return self;
}

void
tf_registry_destroy(tf_registry_t **self_p)
{
	tf_registry_t *self;

	assert(self_p != NULL);
	self = *self_p;
	if (self == NULL)
		return;
	for (int level = 0; level < TF_LEVEL_COUNT; level++) {
		free(self->areas[level]);
		zhashx_destroy(&self->index[level]);
	}
	free(self);
	*self_p = NULL;
}

size_t
tf_registry_size(const tf_registry_t *self, tf_level_t level)
{
	assert(self != NULL && level < TF_LEVEL_COUNT);
	return self->size[level];
}

const tf_area_t *
tf_registry_at(const tf_registry_t *self, tf_level_t level, size_t i)
{
	assert(self != NULL && level < TF_LEVEL_COUNT && i < self->size[level]);
	return &self->areas[level][i];
}

const tf_area_t *
tf_registry_find(const tf_registry_t *self, tf_level_t level, const char *code)
{
	uintptr_t slot;

	assert(self != NULL && level < TF_LEVEL_COUNT && code != NULL);
	slot = (uintptr_t)zhashx_lookup(self->index[level], code);
	return slot == 0 ? NULL : &self->areas[level][slot - 1];
}

const char *
tf_registry_province(const tf_registry_t *self)
{
	return self->province;
}

/* True if code has only zeros after its level's identifying digits. */
static bool
s_zero_tail(const char *code, tf_level_t level)
{
	for (size_t i = s_prefix_len[level]; i < TF_CODE_LEN; i++)
		if (code[i] != '0')
			return false;
	return true;
}

size_t
tf_code_prefix_len(const char *code)
{
	assert(tf_code_valid(code));
	if (strspn(code + 2, "0") == TF_CODE_LEN - 2)
		return 2;                       /* the province */
	for (int level = 0; level < TF_LEVEL_COUNT; level++)
		if (s_zero_tail(code, (tf_level_t)level))
			return s_prefix_len[level];
	return TF_CODE_LEN;                     /* not reached: a unit's tail is empty */
}

int
tf_registry_add(tf_registry_t *self, tf_level_t level, const char *code,
                const char *name, const char *parent, const char *urban_rural,
                char *err, size_t errlen)
{
	const char *what = s_level_name[level];
	tf_area_t *area;

	assert(self != NULL && level < TF_LEVEL_COUNT && code != NULL && name != NULL);
	if (!tf_code_valid(code)) {
		snprintf(err, errlen, "%s code \"%.20s\" is not 12 digits", what, code);
		return -1;
	}
	if (!s_zero_tail(code, level)) {
		snprintf(err, errlen, "%s code %s must end in %zu zeros", what, code,
		         TF_CODE_LEN - s_prefix_len[level]);
		return -1;
	}
	if (level == TF_LEVEL_UNIT && tf_unit_kind_of(code) == TF_UNIT_UNKNOWN) {
		snprintf(err, errlen, "unit %s: last three digits %s map to no committee type "
		         "(001-199 residents, 200-399 villagers, 400-499 community-like, "
		         "500-599 village-like)", code, code + 9);
		return -1;
	}
	/* Rows of several provinces may share one registry (the database's,
	 * which holds every province loaded into it); a CSV directory holds
	 * one province (s_load_file checks). */
	if (self->province[0] == '\0')
		memcpy(self->province, code, 2);
	if (zhashx_lookup(self->index[level], code) != NULL) {
		snprintf(err, errlen, "%s %s appears twice", what, code);
		return -1;
	}
	if (name[0] == '\0' || strlen(name) > TF_NAME_MAX
	    || !tf_utf8_valid(name, strlen(name))) {
		snprintf(err, errlen, "%s %s: name is empty, longer than %d bytes or not UTF-8",
		         what, code, TF_NAME_MAX);
		return -1;
	}
	if (level != TF_LEVEL_PREFECTURE) {
		size_t plen = s_prefix_len[level - 1];

		if (parent == NULL || zhashx_lookup(self->index[level - 1], parent) == NULL) {
			snprintf(err, errlen, "%s %s: parent %s %s is not in the registry",
			         what, code, s_level_name[level - 1], parent ? parent : "(none)");
			return -1;
		}
		if (strncmp(code, parent, plen) != 0) {
			snprintf(err, errlen, "%s %s does not start with its parent's prefix %.*s",
			         what, code, (int)plen, parent);
			return -1;
		}
	}
	if (level == TF_LEVEL_UNIT && urban_rural != NULL
	    && (strlen(urban_rural) != 3 || strspn(urban_rural, "0123456789") != 3)) {
		snprintf(err, errlen, "unit %s: urban-rural code \"%.10s\" is not 3 digits",
		         code, urban_rural);
		return -1;
	}

	if (self->size[level] == self->capacity[level]) {
		size_t cap = self->capacity[level] ? self->capacity[level] * 2 : 64;
		tf_area_t *grown = realloc(self->areas[level], cap * sizeof *grown);
		if (grown == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		self->areas[level] = grown;
		self->capacity[level] = cap;
	}
	area = &self->areas[level][self->size[level]];
	memset(area, 0, sizeof *area);
	memcpy(area->code, code, TF_CODE_LEN);
	strcpy(area->name, name);
	if (parent != NULL && level != TF_LEVEL_PREFECTURE)
		memcpy(area->parent, parent, TF_CODE_LEN);
	if (urban_rural != NULL && level == TF_LEVEL_UNIT)
		memcpy(area->urban_rural, urban_rural, 3);
	self->size[level]++;
	zhashx_insert(self->index[level], area->code, (void *)(uintptr_t)self->size[level]);
	return 0;
}

/* Split a CSV line (no quoting allowed) into exactly want fields. */
static int
s_split(char *line, char **fields, int want)
{
	int n = 0;
	char *p = line;

	for (;;) {
		char *comma = strchr(p, ',');
		if (n == want)
			return -1;
		fields[n++] = p;
		if (comma == NULL)
			break;
		*comma = '\0';
		p = comma + 1;
	}
	return n == want ? 0 : -1;
}

static int
s_load_file(tf_registry_t *self, const char *dir, tf_level_t level, const char *header,
            int columns, char *err, size_t errlen)
{
	const char *file = s_level_file[level];
	char path[4096], line[LINE_MAX_BYTES + 2], reason[512];
	FILE *fp = NULL;
	int rc = -1;
	unsigned lineno = 0;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	fp = fopen(path, "r");
	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	while (fgets(line, sizeof line, fp) != NULL) {
		char *fields[4] = { NULL, NULL, NULL, NULL };
		size_t len = strlen(line);

		lineno++;
		if (len > 0 && line[len - 1] != '\n' && !feof(fp)) {
			snprintf(err, errlen, "%s:%u: line longer than %d bytes", path, lineno,
			         LINE_MAX_BYTES);
			goto out;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (lineno == 1) {
			/* A UTF-8 byte-order mark from a spreadsheet is harmless; skip it. */
			char *text = strncmp(line, "\xef\xbb\xbf", 3) == 0 ? line + 3 : line;
			if (strcmp(text, header) != 0) {
				snprintf(err, errlen, "%s:1: header must be \"%s\"", path, header);
				goto out;
			}
			continue;
		}
		if (line[0] == '\0')
			continue;
		if (strchr(line, '"') != NULL) {
			snprintf(err, errlen, "%s:%u: quotes are not allowed in registry files",
			         path, lineno);
			goto out;
		}
		if (s_split(line, fields, columns) != 0) {
			snprintf(err, errlen, "%s:%u: expected %d comma-separated fields (%s)",
			         path, lineno, columns, header);
			goto out;
		}
		if (tf_registry_add(self, level, fields[0], fields[1],
		                    columns > 2 ? fields[2] : NULL,
		                    columns > 3 ? fields[3] : NULL, reason, sizeof reason) != 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, reason);
			goto out;
		}
		self->areas[level][self->size[level] - 1].line = lineno;
		if (memcmp(fields[0], self->province, 2) != 0) {
			snprintf(err, errlen, "%s:%u: %s %s is not in province %s like the rows "
			         "before it (a directory holds one province)", path, lineno,
			         s_level_name[level], fields[0], self->province);
			goto out;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (self->size[level] == 0) {
		snprintf(err, errlen, "%s: no rows", path);
		goto out;
	}
	rc = 0;
out:
	if (fp != NULL)
		fclose(fp);
	return rc;
}

/* Every county needs a township and every township a unit, or the
 * province's "expected" figures would silently omit it. */
static int
s_check_children(tf_registry_t *self, const char *dir, tf_level_t level, char *err,
                 size_t errlen)
{
	zhashx_t *seen = zhashx_new();
	int rc = 0;

	if (seen == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	zhashx_set_destructor(seen, NULL);
	zhashx_set_duplicator(seen, NULL);
	for (size_t i = 0; i < self->size[level + 1]; i++)
		zhashx_update(seen, self->areas[level + 1][i].parent, (void *)1);
	for (size_t i = 0; i < self->size[level]; i++)
		if (zhashx_lookup(seen, self->areas[level][i].code) == NULL) {
			snprintf(err, errlen, "%s/%s:%u: %s %s %s has no %s in %s", dir,
			         s_level_file[level], self->areas[level][i].line, s_level_name[level],
			         self->areas[level][i].code, self->areas[level][i].name,
			         s_level_name[level + 1], s_level_file[level + 1]);
			rc = -1;
			break;
		}
	zhashx_destroy(&seen);
	return rc;
}

int
tf_registry_load_dir(tf_registry_t *self, const char *dir, char *err, size_t errlen)
{
	assert(self != NULL && dir != NULL);
	if (s_load_file(self, dir, TF_LEVEL_PREFECTURE, "code,name", 2, err, errlen) != 0
	    || s_load_file(self, dir, TF_LEVEL_COUNTY, "code,name,prefecture_code", 3, err,
	                   errlen) != 0
	    || s_load_file(self, dir, TF_LEVEL_TOWNSHIP, "code,name,county_code", 3, err,
	                   errlen) != 0
	    || s_load_file(self, dir, TF_LEVEL_UNIT, "code,name,township_code,urban_rural_code", 4,
	                   err, errlen) != 0)
		return -1;
	for (int level = TF_LEVEL_PREFECTURE; level < TF_LEVEL_UNIT; level++)
		if (s_check_children(self, dir, (tf_level_t)level, err, errlen) != 0)
			return -1;
	return 0;
}
