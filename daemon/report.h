/*
 * report: the township staff's result file (JSON, documented in
 * deploy/examples/README.md) to and from the wire's ResultReport.
 *
 * Parsing is strict: unknown keys, wrong types, negative or oversized
 * numbers and bad enum words are refused with the JSON path of the field,
 * so a typo never turns into a silent zero.
 */
#ifndef TF_REPORT_H
#define TF_REPORT_H

#include <stddef.h>

#include "tallyfeed.pb-c.h"

typedef Tallyfeed__ResultReport tf_report_t;

#define TF_REPORT_FILE_MAX (1024 * 1024)   /* bytes in one result file */
#define TF_YEAR_MIN 1900                    /* birth years, when given, lie in */
#define TF_YEAR_MAX 2100                    /*   [TF_YEAR_MIN, TF_YEAR_MAX] */

/* Parse a result from JSON text.  Returns an owned report (free with
 * tf_report_destroy) or NULL with "path: reason" in err. */
tf_report_t *tf_report_from_json(const char *text, size_t len, char *err, size_t errlen);
/* Read and parse a result file; err names the file. */
tf_report_t *tf_report_from_file(const char *path, char *err, size_t errlen);
/* The report as JSON in the same format, pretty-printed if indent > 0.
 * Caller frees the string with free(). NULL on out of memory. */
char *tf_report_to_json(const tf_report_t *report, int indent);

/* Decode a serialized ResultReport (owned; NULL if malformed). */
tf_report_t *tf_report_unpack(const uint8_t *data, size_t len);
/* Free a report from any of the functions above; sets *report_p to NULL. */
void tf_report_destroy(tf_report_t **report_p);

/* The words used in the JSON format, also used by the console and the SQL. */
const char *tf_committee_word(Tallyfeed__Committee committee);
/* The committee's Chinese name (村民委员会, 居民委员会, 党支部委员会), or
 * 该委员会 ("the committee") for a value that names none. */
const char *tf_committee_name_zh(Tallyfeed__Committee committee);
const char *tf_position_word(Tallyfeed__Position position);
/* A position's Chinese name in a committee (a Party branch has 书记 and
 * 副书记, the others 主任 and 副主任; 委员 in all), or 未定职位 for a value
 * that names none. */
const char *tf_position_name_zh(Tallyfeed__Committee committee, Tallyfeed__Position position);

#endif
