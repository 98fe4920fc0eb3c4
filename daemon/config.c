/*
 * config: ZPL files through zconfig, with unknown keys refused.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

zconfig_t *
tf_zpl_load(const char *path, size_t max, char *err, size_t errlen)
{
	zconfig_t *config = NULL;
	char *text = NULL;
	size_t len;
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	text = malloc(max + 1);
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	len = fread(text, 1, max + 1, fp);
	if (ferror(fp) || len > max) {
		snprintf(err, errlen, "%s: unreadable, or larger than %zu bytes", path, max);
		goto out;
	}
	text[len] = '\0';
	config = zconfig_str_load(text);
	if (config == NULL)
		snprintf(err, errlen, "%s: not a valid ZPL file (see RFC 4: 4-space indents, "
		         "name = value)", path);
out:
	free(text);
	fclose(fp);
	return config;
}

zconfig_t *
tf_config_load(const char *path, const char *root, const char *const *keys, char *err,
               size_t errlen)
{
	zconfig_t *config = NULL, *section, *item;

	assert(path != NULL && root != NULL && keys != NULL);
	config = tf_zpl_load(path, TF_CONFIG_FILE_MAX, err, errlen);
	if (config == NULL)
		return NULL;
	for (section = zconfig_child(config); section != NULL; section = zconfig_next(section))
		if (strcmp(zconfig_name(section), root) != 0) {
			snprintf(err, errlen, "%s: unknown section \"%s\" (expected \"%s\")", path,
			         zconfig_name(section), root);
			goto fail;
		}
	section = zconfig_locate(config, root);
	if (section == NULL) {
		snprintf(err, errlen, "%s: no \"%s\" section", path, root);
		goto fail;
	}
	for (item = zconfig_child(section); item != NULL; item = zconfig_next(item)) {
		bool known = false;
		for (const char *const *k = keys; *k != NULL; k++)
			if (strcmp(zconfig_name(item), *k) == 0)
				known = true;
		if (!known) {
			snprintf(err, errlen, "%s: unknown key \"%s/%s\"", path, root,
			         zconfig_name(item));
			goto fail;
		}
	}
	return config;
fail:
	zconfig_destroy(&config);
	return NULL;
}

const char *
tf_config_str(zconfig_t *config, const char *root, const char *key, const char *dflt)
{
	char path[256];

	if (config == NULL)
		return dflt;
	snprintf(path, sizeof path, "%s/%s", root, key);
	return zconfig_get(config, path, dflt);
}

int
tf_parse_long(const char *text, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
tf_config_int(zconfig_t *config, const char *root, const char *key, long dflt, long min,
              long max, long *out, char *err, size_t errlen)
{
	const char *text = tf_config_str(config, root, key, NULL);

	if (text == NULL) {
		*out = dflt;
		return 0;
	}
	if (tf_parse_long(text, min, max, out) != 0) {
		snprintf(err, errlen, "%s/%s: \"%s\" is not a whole number from %ld to %ld",
		         root, key, text, min, max);
		return -1;
	}
	return 0;
}

int
tf_write_line_file(const char *path, const char *line)
{
	char tmp[4096];
	FILE *fp;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fp = fopen(tmp, "w");
	if (fp == NULL)
		return -1;
	fprintf(fp, "%s\n", line);
	if (fclose(fp) != 0 || rename(tmp, path) != 0)
		return -1;
	return 0;
}
