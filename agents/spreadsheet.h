/*
 * spreadsheet: the township staff's spreadsheet route.  The agent writes
 * a CSV template of its township's units (tf_spreadsheet_template) that
 * WPS or Excel fills in; the filled-in file is read back
 * (tf_spreadsheet_read), every election in it checked with the
 * collector's rules (tf_spreadsheet_check) and queued in the spool, all
 * of a file or none of it (tf_spreadsheet_queue).
 *
 * The layout, for staff in deploy/examples/README.md: one header row in
 * Chinese (a header's words in （…） are a hint, not part of its name;
 * the JSON format's English keys are accepted too, in any order); then
 * for each unit and committee an election row (单位代码 filled, the
 * election's figures), followed by one row per candidate (单位代码
 * empty, the candidate's cells).  An election row with no figures and no
 * candidates is a unit not yet elected: skipped and counted, never an
 * error.  Enumerations are Chinese words (村民委员会, 主任, 男, 是, …) or
 * the JSON format's English words.
 *
 * Files come from Excel and WPS on Chinese Windows: UTF-8 with or without
 * a byte-order mark, or GB18030 (Excel's "CSV (逗号分隔)" writes GBK, a
 * subset), converted with iconv; the template is UTF-8 with a BOM, which
 * Excel needs to read UTF-8 at all.  A unit code is written grouped,
 * "63 01 21 100 201": a cell with spaces is text to Excel and WPS, which
 * would show a bare 12-digit number as 6.30121E+11 and save it so; a code
 * that arrives in that form is refused with a hint.
 *
 * Every input is bounded before it is kept: the file
 * (TF_SPREADSHEET_FILE_MAX), a cell, the columns and rows, the candidates
 * of an election; a refusal names FILE:ROW:COLUMN, the row as the
 * spreadsheet numbers it (the header is row 1) and the column by its
 * letter and header.
 */
#ifndef TF_SPREADSHEET_H
#define TF_SPREADSHEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forwarder.h"
#include "registry.h"
#include "report.h"
#include "rules.h"
#include "spool.h"

/* Bytes in one spreadsheet file: a township's elections, however large
 * the township (the template of Qinghai's largest, 46 units,
 * is 47 KB; filled in, some 150 KB). */
#define TF_SPREADSHEET_FILE_MAX (4 * 1024 * 1024)
/* Refusals kept for people to read; the rest are counted. */
#define TF_SPREADSHEET_ERRORS_MAX 100

typedef struct _tf_spreadsheet_t tf_spreadsheet_t;

/* The template for township's units in registry: CSV, UTF-8 with a BOM,
 * CRLF.  One election row per unit and committee it can have (its
 * villagers' or residents' committee by its code, a Party branch for
 * every unit), each followed by empty candidate rows.  Returns the owned
 * text (free it) with *len, the election rows in *elections and the
 * units left out in *skipped (a code that maps to no committee type);
 * NULL with err if the township has no units in the registry. */
char *tf_spreadsheet_template(const tf_registry_t *registry, const char *township, size_t *len,
                              size_t *elections, size_t *skipped, char *err, size_t errlen);

/* Parse a file's bytes; name is how refusals name it.  Returns an owned
 * spreadsheet, whose refusals (tf_spreadsheet_errors) say what could not
 * be read; NULL only out of memory. */
tf_spreadsheet_t *tf_spreadsheet_parse(const char *name, const char *data, size_t len);
/* Read path (a regular file, not a link, at most TF_SPREADSHEET_FILE_MAX
 * bytes: judged on its descriptor, infile.h) and parse it; a file that
 * cannot be read is one refusal.  NULL only out of memory. */
tf_spreadsheet_t *tf_spreadsheet_read(const char *path);
void tf_spreadsheet_destroy(tf_spreadsheet_t **self_p);

/* The encoding the file was read in: "UTF-8", "UTF-8 with BOM",
 * "GB18030", or NULL if it was not read as text. */
const char *tf_spreadsheet_encoding(const tf_spreadsheet_t *self);
/* Election rows skipped because they were left blank. */
size_t tf_spreadsheet_blank(const tf_spreadsheet_t *self);

/* The elections with figures, in file order: the report (borrowed; its
 * revision is 1 until tf_spreadsheet_queue numbers it) and its row. */
size_t tf_spreadsheet_size(const tf_spreadsheet_t *self);
const tf_report_t *tf_spreadsheet_report(const tf_spreadsheet_t *self, size_t i);
unsigned tf_spreadsheet_row(const tf_spreadsheet_t *self, size_t i);

/* Refusals, each "FILE:ROW:COLUMN: reason" (or "FILE:ROW: reason",
 * "FILE: reason"), at most TF_SPREADSHEET_ERRORS_MAX of them kept;
 * tf_spreadsheet_refused counts them all. */
size_t tf_spreadsheet_errors(const tf_spreadsheet_t *self);
const char *tf_spreadsheet_error(const tf_spreadsheet_t *self, size_t i);
size_t tf_spreadsheet_refused(const tf_spreadsheet_t *self);

/* Check every election with the rules, as the collector will (registry
 * and township as tf_rules_check takes them); a refusal is added at the
 * row and column it concerns.  Returns tf_spreadsheet_refused. */
size_t tf_spreadsheet_check(tf_spreadsheet_t *self, const tf_rules_config_t *rules,
                            const tf_registry_t *registry, const char *township);

/* What tf_spreadsheet_queue did with election i. */
typedef struct {
	int64_t sequence;       /* the spool's message */
	unsigned revision;      /* the revision it was given */
	bool existed;           /* queued before with the same content: nothing new */
} tf_spreadsheet_queued_t;

/* Queue every election of a spreadsheet with no refusals (a caller's
 * bug otherwise) in one spool batch: all of them are on disk when it
 * returns 0, none when it returns -1 (with err).  The agent numbers the
 * revisions: an election whose (unit, committee, round) is not in the
 * spool is revision 1; one whose latest queued revision holds the same
 * figures, and was not rejected, keeps that revision (and is that
 * message); any other is the latest revision + 1.  Each report is
 * checked again as numbered and signed.  queued[i] says what became of
 * election i (tf_spreadsheet_size entries). */
int tf_spreadsheet_queue(tf_spreadsheet_t *self, spool_t *spool, const forwarder_config_t *config,
                         tf_spreadsheet_queued_t *queued, char *err, size_t errlen);

#endif
