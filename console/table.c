/*
 * table: query results as an aligned table for a person, or CSV or JSON
 * for a program.
 */
#include "console.h"
#include "log.h"
#include "query.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

int
table_format_parse(const char *word, table_format_t *out)
{
	if (strcmp(word, "table") == 0)
		*out = TABLE_TEXT;
	else if (strcmp(word, "csv") == 0)
		*out = TABLE_CSV;
	else if (strcmp(word, "json") == 0)
		*out = TABLE_JSON;
	else {
		log_warnx("--format: \"%s\" is not table, csv or json", word);
		return -1;
	}
	return 0;
}

/* Columns a terminal uses to show s: wide CJK characters take two. */
static size_t
s_display_width(const char *s)
{
	mbstate_t state;
	size_t width = 0, len = strlen(s);

	memset(&state, 0, sizeof state);
	while (len > 0) {
		wchar_t wc;
		size_t n = mbrtowc(&wc, s, len, &state);
		int w;

		if (n == (size_t)-1 || n == (size_t)-2) {   /* not UTF-8: count bytes */
			width += len;
			break;
		}
		if (n == 0)
			break;
		w = wcwidth(wc);
		width += w > 0 ? (size_t)w : 0;
		s += n;
		len -= n;
	}
	return width;
}

static const char *
s_heading(PGresult *res, const char *const *headings, int col)
{
	return headings != NULL ? headings[col] : PQfname(res, col);
}

/* A cell as a person reads it: "-" for nothing, 是/否 for a boolean. */
static const char *
s_cell(PGresult *res, int r, int c)
{
	if (PQgetisnull(res, r, c))
		return "-";
	if (query_column_boolean(res, c))
		return PQgetvalue(res, r, c)[0] == 't' ? "是" : "否";
	return PQgetvalue(res, r, c);
}

static void
s_print_text(PGresult *res, const char *const *headings)
{
	int rows = PQntuples(res), cols = PQnfields(res);
	size_t *width = calloc((size_t)cols, sizeof *width);

	if (width == NULL)
		return;
	for (int c = 0; c < cols; c++) {
		width[c] = s_display_width(s_heading(res, headings, c));
		for (int r = 0; r < rows; r++) {
			size_t w = s_display_width(s_cell(res, r, c));
			if (w > width[c])
				width[c] = w;
		}
	}
	for (int r = -1; r < rows; r++) {
		for (int c = 0; c < cols; c++) {
			const char *v = r < 0 ? s_heading(res, headings, c) : s_cell(res, r, c);
			size_t pad = width[c] - s_display_width(v);
			bool right = r >= 0 && query_column_numeric(res, c);

			if (c > 0)
				fputs("  ", stdout);
			if (right)
				printf("%*s", (int)pad, "");
			fputs(v, stdout);
			if (!right && c + 1 < cols)
				printf("%*s", (int)pad, "");
		}
		putchar('\n');
	}
	free(width);
}

static void
s_csv_field(const char *v)
{
	if (strpbrk(v, ",\"\n\r") == NULL) {
		fputs(v, stdout);
		return;
	}
	putchar('"');
	for (; *v; v++) {
		if (*v == '"')
			putchar('"');
		putchar(*v);
	}
	putchar('"');
}

static void
s_print_csv(PGresult *res, const char *const *headings)
{
	int rows = PQntuples(res), cols = PQnfields(res);

	for (int r = -1; r < rows; r++) {
		for (int c = 0; c < cols; c++) {
			if (c > 0)
				putchar(',');
			if (r < 0)
				s_csv_field(s_heading(res, headings, c));
			else if (!PQgetisnull(res, r, c))
				s_csv_field(PQgetvalue(res, r, c));
		}
		putchar('\n');
	}
}

static void
s_print_json(PGresult *res)
{
	json_t *array = query_rows_json(res);
	char *text = NULL;

	if (array != NULL)
		text = json_dumps(array, JSON_PRESERVE_ORDER | JSON_INDENT(2) | JSON_REAL_PRECISION(6));
	if (text != NULL) {
		puts(text);
		free(text);
	}
	json_decref(array);
}

void
table_print(PGresult *res, const char *const *headings, table_format_t format)
{
	switch (format) {
	case TABLE_TEXT:
		s_print_text(res, headings);
		break;
	case TABLE_CSV:
		s_print_csv(res, headings);
		break;
	case TABLE_JSON:
		s_print_json(res);
		break;
	}
}
