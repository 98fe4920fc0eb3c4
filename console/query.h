/*
 * query: the provincial office's questions, as SQL, asked the same way by
 * the `tallyfeed` command and by tallyfeed-web.  Every figure comes from
 * the functions and views of deploy/sql, computed from the stored rows at
 * the moment of asking; nothing here sums or counts by itself.
 *
 * Each question checks its arguments first (a level is one of four words,
 * a code is 12 digits and names something) and says what is wrong in err,
 * so the console can print it and the web can send it back as JSON.
 */
#ifndef TF_QUERY_H
#define TF_QUERY_H

#include "enrolment.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

typedef enum {
	QUERY_OK,
	QUERY_BAD_ARGUMENT,     /* a level or code that is not one */
	QUERY_NOT_FOUND,        /* a well-formed code that names nothing */
	QUERY_FAILED            /* the database did not answer */
} query_status_t;

/* The per-area reports: tallyfeed.totals, .progress, .composition. */
typedef enum { REPORT_TOTALS, REPORT_PROGRESS, REPORT_COMPOSITION } query_report_t;

/* The lists of units inside an area (under may be NULL: the province). */
typedef enum {
	LIST_OUTSTANDING,       /* units and committees with no round 1 stored */
	LIST_RUNOFFS,           /* where a runoff is owed */
	LIST_FLAGS,             /* current results the rules flagged */
	LIST_UNITS              /* every unit and committee with its state */
} query_list_t;

/* "province", "prefecture", "county", "township": 0; otherwise -1. */
int query_level_valid(const char *level);

/* Does an area or unit have this code?  QUERY_OK, QUERY_BAD_ARGUMENT (not
 * 12 digits), QUERY_NOT_FOUND or QUERY_FAILED, with why in err. */
query_status_t query_check_code(PGconn *conn, const char *code, char *err, size_t errlen);
/* The form of a question's arguments, before any database is asked: level
 * (or NULL) one of the levels, code (or NULL) 12 digits.  QUERY_OK, or
 * QUERY_BAD_ARGUMENT with why in err. */
query_status_t query_check_form(const char *level, const char *code, char *err, size_t errlen);

/* The report per area of level, only inside under (may be NULL). */
query_status_t query_area_report(PGconn *conn, query_report_t report, const char *level,
                                 const char *under, PGresult **out, char *err, size_t errlen);

/* The units of a list inside under (may be NULL). */
query_status_t query_unit_list(PGconn *conn, query_list_t list, const char *under,
                               PGresult **out, char *err, size_t errlen);

/* Each township of county (NULL: all) with its agent's state, silent ones
 * first: silent when no heartbeat for silent_after_s seconds, or never. */
#define QUERY_CONNECTED_S 90    /* "connected": a heartbeat within this (3 default intervals) */
query_status_t query_township_status(PGconn *conn, const char *county, long silent_after_s,
                                     PGresult **out, char *err, size_t errlen);

/* Where code (an area or a unit) sits: one row per level from the province
 * down to it (depth, code, name, level). */
query_status_t query_area_path(PGconn *conn, const char *code, PGresult **out,
                               char *err, size_t errlen);

/* Every revision of every round of a unit's results, oldest first, with
 * each signature checked against enrolment (NULL: reported as stored). */
query_status_t query_unit_history(PGconn *conn, const char *code,
                                  const tf_enrolment_t *enrolment, PGresult **out,
                                  char *err, size_t errlen);

/* Is column col of res a boolean? */
int query_column_boolean(const PGresult *res, int col);
/* Is column col of res a number (right-aligned in a table, a number in JSON)? */
int query_column_numeric(const PGresult *res, int col);

/* A result set as a JSON array of objects, one per row, keyed by column
 * name: numbers as numbers, booleans as booleans, NULL as null. */
json_t *query_rows_json(PGresult *res);

#endif
