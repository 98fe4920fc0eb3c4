/*
 * config: ZPL configuration files (CZMQ's zconfig, RFC 4) with the checks
 * zconfig leaves to us: the expected root section, no unknown keys (a typo
 * must not silently become a default), and bounded numbers.
 */
#ifndef TF_CONFIG_H
#define TF_CONFIG_H

#include <czmq.h>
#include <stddef.h>

/* Load path and check that its only top-level section is root and that
 * root holds only the given keys (NULL-terminated).  Returns the owned
 * config or NULL with the reason in err. */
zconfig_t *tf_config_load(const char *path, const char *root, const char *const *keys,
                          char *err, size_t errlen);
/* Parse a ZPL file of at most max bytes.  NULL if it cannot be read, is
 * larger, is not a regular file (a FIFO: infile.h; a link to one is
 * followed), or is not ZPL (why in err, as "PATH:LINE: why" for a bad line).
 * The root's name is set to path.  (zconfig_load itself leaks on a
 * syntax error in CZMQ 4.2: the file is read here and parsed from memory.) */
#define TF_CONFIG_FILE_MAX (1024 * 1024)  /* bytes in a configuration file */

zconfig_t *tf_zpl_load(const char *path, size_t max, char *err, size_t errlen);
/* The same for text already read (a key file read by infile.h); path
 * names it in errors. */
zconfig_t *tf_zpl_parse(const char *text, const char *path, char *err, size_t errlen);

/* The line of config's file (its root's name, set by tf_zpl_load) where
 * keypath ("section/key", "section/rules/key") is set; 0 if not found. */
unsigned tf_config_line(zconfig_t *config, const char *keypath);
/* why as "FILE:LINE: why" when it begins with the path of a key set in the
 * file ("section/key: ..."), else "FILE: why". */
void tf_config_where(zconfig_t *config, const char *why, char *out, size_t outlen);

/* Log (warning) the configuration error the format makes, as
 * tf_config_where puts it: "FILE:LINE: section/key: ...". */
void tf_config_warn(zconfig_t *config, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* root/key's value, or dflt when absent (config may be NULL). */
const char *tf_config_str(zconfig_t *config, const char *root, const char *key,
                          const char *dflt);
/* root/key as an integer in [min, max]; dflt when absent.  0 or -1 with err. */
int tf_config_int(zconfig_t *config, const char *root, const char *key, long dflt,
                  long min, long max, long *out, char *err, size_t errlen);
/* Parse a whole decimal number in [min, max]; 0 or -1. */
int tf_parse_long(const char *text, long min, long max, long *out);

/* Write line and a newline to path whole and durably (atomicfile.h), so a
 * reader never sees half of it (the endpoint or address a daemon bound,
 * for whoever waits for it).  0, or -1 with errno. */
int tf_write_line_file(const char *path, const char *line);

#endif
