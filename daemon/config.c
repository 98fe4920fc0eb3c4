/*
 * config: ZPL files through zconfig, with unknown keys refused.
 */
#include "config.h"
#include "atomicfile.h"
#include "infile.h"
#include "log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The first line of text that is not ZPL (RFC 4), and why; 0 if none is
 * found.  zconfig says which line only on stdout (CZMQ 4.2 zclock_log),
 * not to its caller: this finds it again, for "FILE:LINE: why".  It only
 * locates an error; zconfig remains the parser. */
static unsigned
s_bad_line(const char *text, const char **why)
{
	static const char namechars[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789$-_@.&+/";
	unsigned number = 0;
	int level = -1;

	for (const char *line = text; *line != '\0';) {
		size_t len = strcspn(line, "\n"), indent = strspn(line, " "), n;
		const char *p = line + indent, *end = line + len;

		number++;
		if (p < end && *p == '\t') {
			*why = "a tab in the indent (indent with 4 spaces)";
			return number;
		}
		if (p == end || *p == '#' || *p == '\r')
			goto next;      /* blank or a comment */
		if (indent % 4 != 0) {
			*why = "indent is not a multiple of 4 spaces";
			return number;
		}
		if ((int)(indent / 4) > level + 1) {
			*why = "indented more than one level below the line above";
			return number;
		}
		level = (int)(indent / 4);
		n = strspn(p, namechars);
		if (n == 0) {
			*why = "expected a name";
			return number;
		}
		p += n;
		p += strspn(p, " ");
		if (p < end && *p == '=') {
			p++;
			p += strspn(p, " ");
			if (p < end && (*p == '"' || *p == '\'')) {
				const char *close = memchr(p + 1, *p, (size_t)(end - p - 1));

				if (close == NULL) {
					*why = "a quoted value without its closing quote";
					return number;
				}
				p = close + 1;
			} else
				p += strcspn(p, " #\r\n");
			p += strspn(p, " ");
		}
		if (p < end && *p != '#' && *p != '\r') {
			*why = "unexpected text after the name or value (quote a value with spaces)";
			return number;
		}
next:
		line = *end == '\n' ? end + 1 : end;
	}
	return 0;
}

/* zconfig_str_load, naming the file's first bad line when it fails. */
static zconfig_t *
s_parse(const char *text, const char *path, char *err, size_t errlen)
{
	zconfig_t *config = zconfig_str_load(text);
	const char *why = NULL;
	unsigned line;

	if (config != NULL) {
		/* The root's name is the file's, for errors found later. */
		zconfig_set_name(config, path);
	} else if ((line = s_bad_line(text, &why)) > 0)
		snprintf(err, errlen, "%s:%u: %s (ZPL, RFC 4)", path, line, why);
	else
		snprintf(err, errlen, "%s: not a valid ZPL file (see RFC 4: 4-space indents, "
		         "name = value)", path);
	return config;
}

/* The line of the nth (from 1) place keypath is set in config's file. */
static unsigned
s_line(zconfig_t *config, const char *keypath, unsigned nth)
{
	const char *file = config != NULL ? zconfig_name(config) : NULL;
	char line[1024], *names[16] = { NULL }, path[512];
	unsigned number = 0, found = 0;
	FILE *fp;

	if (file == NULL || (fp = fopen(file, "r")) == NULL)
		return 0;
	while (found == 0 && fgets(line, sizeof line, fp) != NULL) {
		size_t indent = strspn(line, " "), depth = indent / 4, n;
		char *name = line + indent;

		number++;
		n = strcspn(name, " =#\r\n");
		if (n == 0 || depth >= sizeof names / sizeof names[0])
			continue;       /* blank, a comment, or deeper than any key */
		name[n] = '\0';
		free(names[depth]);
		names[depth] = strdup(name);
		path[0] = '\0';
		for (size_t d = 0; d <= depth && names[d] != NULL; d++)
			snprintf(path + strlen(path), sizeof path - strlen(path), "%s%s", d ? "/" : "",
			         names[d]);
		if (strcmp(path, keypath) == 0 && --nth == 0)
			found = number;
	}
	for (size_t d = 0; d < sizeof names / sizeof names[0]; d++)
		free(names[d]);
	fclose(fp);
	return found;
}

unsigned
tf_config_line(zconfig_t *config, const char *keypath)
{
	return s_line(config, keypath, 1);
}

void
tf_config_where(zconfig_t *config, const char *why, char *out, size_t outlen)
{
	const char *file = config != NULL ? zconfig_name(config) : "configuration";
	size_t n = strspn(why, "abcdefghijklmnopqrstuvwxyz0123456789_/");
	char keypath[256];
	unsigned line = 0;

	/* Errors about a key begin with its path, "section/key: ...". */
	if (n > 0 && n < sizeof keypath && why[n] == ':') {
		memcpy(keypath, why, n);
		keypath[n] = '\0';
		line = tf_config_line(config, keypath);
	}
	if (line > 0)
		snprintf(out, outlen, "%s:%u: %s", file, line, why);
	else
		snprintf(out, outlen, "%s: %s", file, why);
}

void
tf_config_warn(zconfig_t *config, const char *fmt, ...)
{
	char why[1100], where[1400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	tf_config_where(config, why, where, sizeof where);
	log_warnx("%s", where);
}

zconfig_t *
tf_zpl_load(const char *path, size_t max, char *err, size_t errlen)
{
	zconfig_t *config;
	char why[512], *text;
	size_t len;

	/* A link is fine (an admin's choice), a FIFO or device is not: it
	 * would block the read, at start or at a SIGHUP. */
	text = tf_infile_read(AT_FDCWD, path, max, TF_INFILE_FOLLOW, &len, NULL, why, sizeof why);
	if (text == NULL) {
		snprintf(err, errlen, "%s: %s", path, why);
		return NULL;
	}
	config = s_parse(text, path, err, errlen);
	free(text);
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
			snprintf(err, errlen, "%s:%u: unknown section \"%s\" (expected \"%s\")", path,
			         tf_config_line(config, zconfig_name(section)), zconfig_name(section),
			         root);
			goto fail;
		}
	section = zconfig_locate(config, root);
	if (section == NULL) {
		snprintf(err, errlen, "%s: no \"%s\" section", path, root);
		goto fail;
	}
	for (item = zconfig_child(section); item != NULL; item = zconfig_next(item)) {
		bool known = false;

		/* zconfig keeps both and answers with the first: refuse. */
		for (zconfig_t *earlier = zconfig_child(section); earlier != item;
		     earlier = zconfig_next(earlier))
			if (strcmp(zconfig_name(earlier), zconfig_name(item)) == 0) {
				char keypath[256];

				snprintf(keypath, sizeof keypath, "%s/%s", root, zconfig_name(item));
				snprintf(err, errlen, "%s:%u: \"%s\" given twice (first on line %u)",
				         path, s_line(config, keypath, 2), keypath,
				         s_line(config, keypath, 1));
				goto fail;
			}
		for (const char *const *k = keys; *k != NULL; k++)
			if (strcmp(zconfig_name(item), *k) == 0)
				known = true;
		if (!known) {
			char keypath[256];

			snprintf(keypath, sizeof keypath, "%s/%s", root, zconfig_name(item));
			snprintf(err, errlen, "%s:%u: unknown key \"%s\"", path,
			         tf_config_line(config, keypath), keypath);
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
	char err[1024], *text = NULL;
	int rc;

	if (asprintf(&text, "%s\n", line) < 0)
		return -1;
	rc = tf_atomicfile_write(path, text, strlen(text), 0644, 0, err, sizeof err);
	free(text);
	return rc;
}

zconfig_t *
tf_zpl_parse(const char *text, const char *path, char *err, size_t errlen)
{
	assert(text != NULL && path != NULL);
	return s_parse(text, path, err, errlen);
}
