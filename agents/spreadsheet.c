/*
 * spreadsheet: the CSV template and the filled-in file (see spreadsheet.h).
 *
 * Reading is libcsv's (strict mode: a stray quote is an error, not a
 * guess); the bytes are turned into UTF-8 first, by glibc's iconv, which
 * is also what says whether they are UTF-8 at all.  Writing is by hand:
 * the template's cells need quoting only where they hold a comma, a quote
 * or a line break, and libcsv's writer quotes every cell, which doubles
 * the noise for anyone reading the file as text and gains nothing.
 */
#include "spreadsheet.h"
#include "infile.h"
#include "log.h"
#include "utf8.h"

#include <assert.h>
#include <csv.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CELL_MAX 1024           /* bytes in one cell: the longest sound one is a header's hint */
#define COLUMNS_MAX 64          /* cells in a row (the template has 34) */
#define ROWS_MAX 100000         /* rows in a file */
#define CHUNK 65536             /* bytes given to libcsv at a time, so a refusal stops it soon */
#define TEMPLATE_CANDIDATE_ROWS 8       /* empty candidate rows under each election */
#define REVISION_MAX 1000000    /* as the JSON reader and the rules bound it */
#define SHOWN_MAX 48            /* bytes of a refused cell quoted in its refusal */

static const char s_bom[] = "\xef\xbb\xbf";

/* The columns.  The order is the template's. */
typedef enum {
	F_UNIT, F_NAME, F_COMMITTEE, F_ROUND, F_HELD_ON, F_REGISTERED, F_EXCUSED, F_TOOK_PART,
	F_PROXY, F_ISSUED, F_RETURNED, F_VALID, F_INVALID, F_MODE, F_SEATS_HEAD, F_SEATS_DEPUTY,
	F_SEATS_MEMBER, F_PHOTO, F_ANNOUNCED,
	F_CAND_ID, F_CAND_NAME, F_POSITION, F_VOTES_FOR, F_VOTES_AGAINST, F_VOTES_ABSTAIN,
	F_ELECTED, F_GENDER, F_ETHNICITY, F_BIRTH_YEAR, F_EDUCATION, F_PARTY_MEMBER, F_REELECTED,
	F_CONCURRENT, F_CROSS,
	F_COUNT
} field_t;

#define F_FIRST_CANDIDATE F_CAND_ID

static const struct {
	const char *zh;         /* the header's name */
	const char *hint;       /* written after it in the template */
	const char *en;         /* the JSON format's key, also accepted */
	bool required;          /* the header must have this column */
} s_fields[F_COUNT] = {
	[F_UNIT] = { "单位代码", "", "unit", true },
	[F_NAME] = { "单位名称", "", "unit_name", false },
	[F_COMMITTEE] = { "委员会", "（村民委员会/居民委员会/党支部委员会）", "committee", true },
	[F_ROUND] = { "轮次", "（1选举/2另行选举/3重新选举）", "round", true },
	[F_HELD_ON] = { "选举日期", "（年-月-日）", "held_on", false },
	[F_REGISTERED] = { "登记选民数", "（党支部：应到会党员数）", "registered", true },
	[F_EXCUSED] = { "请假人数", "（党支部）", "excused", false },
	[F_TOOK_PART] = { "参加投票人数", "（党支部：实到会党员数）", "took_part", true },
	[F_PROXY] = { "委托投票数", "", "proxy_votes", false },
	[F_ISSUED] = { "发出选票数", "", "issued", true },
	[F_RETURNED] = { "收回选票数", "", "returned", true },
	[F_VALID] = { "有效票数", "", "valid", true },
	[F_INVALID] = { "无效票数", "", "invalid", true },
	[F_MODE] = { "选票方式", "（合并选票/分职位选票）", "ballot_mode", true },
	[F_SEATS_HEAD] = { "主任/书记职数", "", "seats_head", false },
	[F_SEATS_DEPUTY] = { "副主任/副书记职数", "", "seats_deputy", false },
	[F_SEATS_MEMBER] = { "委员职数", "", "seats_member", false },
	[F_PHOTO] = { "结果照片SHA256", "", "sheet_photo_sha256", false },
	[F_ANNOUNCED] = { "当场公布", "（是/否）", "announced_on_site", false },
	[F_CAND_ID] = { "候选人编号", "", "id", true },
	[F_CAND_NAME] = { "候选人姓名", "", "name", true },
	[F_POSITION] = { "参选职务", "（主任/副主任/委员；书记/副书记/委员）", "position", true },
	[F_VOTES_FOR] = { "得票数", "（党支部：赞成票）", "votes_for", true },
	[F_VOTES_AGAINST] = { "反对票", "", "votes_against", false },
	[F_VOTES_ABSTAIN] = { "弃权票", "", "votes_abstain", false },
	[F_ELECTED] = { "是否当选", "（是/否）", "elected", true },
	[F_GENDER] = { "性别", "（男/女）", "gender", true },
	[F_ETHNICITY] = { "民族", "", "ethnicity", true },
	[F_BIRTH_YEAR] = { "出生年份", "", "birth_year", true },
	[F_EDUCATION] = { "文化程度", "（小学/初中/高中/大专/本科/研究生）", "education", true },
	[F_PARTY_MEMBER] = { "党员", "（是/否）", "party_member", false },
	[F_REELECTED] = { "连任", "（是/否）", "reelected", false },
	[F_CONCURRENT] = { "一肩挑", "（是/否）", "concurrent_head", false },
	[F_CROSS] = { "交叉任职", "（是/否）", "cross_serving", false },
};

/* A word of an enumeration: its value, and for positions which
 * committees it belongs to.  The first word of a value is the one the
 * template writes. */
#define FOR_MASS 1              /* villagers' and residents' committees */
#define FOR_PARTY 2             /* Party branch */
#define FOR_ALL 3

typedef struct {
	const char *word;
	int value;
	int committees;
} word_t;

static const word_t s_committee_words[] = {
	{ "村民委员会", TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS, FOR_ALL },
	{ "居民委员会", TALLYFEED__COMMITTEE__COMMITTEE_RESIDENTS, FOR_ALL },
	{ "党支部委员会", TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH, FOR_ALL },
	{ "村委会", TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS, FOR_ALL },
	{ "居委会", TALLYFEED__COMMITTEE__COMMITTEE_RESIDENTS, FOR_ALL },
	{ "党支部", TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH, FOR_ALL },
	{ "党总支", TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH, FOR_ALL },
	{ "党总支委员会", TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH, FOR_ALL },
	{ "villagers", TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS, FOR_ALL },
	{ "residents", TALLYFEED__COMMITTEE__COMMITTEE_RESIDENTS, FOR_ALL },
	{ "party_branch", TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH, FOR_ALL },
	{ NULL, 0, 0 }
};

/* 书记 on a villagers' committee is a row under the wrong election:
 * refused, not mapped. */
static const word_t s_position_words[] = {
	{ "主任", TALLYFEED__POSITION__POSITION_HEAD, FOR_MASS },
	{ "副主任", TALLYFEED__POSITION__POSITION_DEPUTY, FOR_MASS },
	{ "委员", TALLYFEED__POSITION__POSITION_MEMBER, FOR_ALL },
	{ "书记", TALLYFEED__POSITION__POSITION_HEAD, FOR_PARTY },
	{ "副书记", TALLYFEED__POSITION__POSITION_DEPUTY, FOR_PARTY },
	{ "head", TALLYFEED__POSITION__POSITION_HEAD, FOR_ALL },
	{ "deputy", TALLYFEED__POSITION__POSITION_DEPUTY, FOR_ALL },
	{ "member", TALLYFEED__POSITION__POSITION_MEMBER, FOR_ALL },
	{ NULL, 0, 0 }
};

static const word_t s_mode_words[] = {
	{ "合并选票", TALLYFEED__BALLOT_MODE__BALLOT_MODE_COMBINED, FOR_ALL },
	{ "分职位选票", TALLYFEED__BALLOT_MODE__BALLOT_MODE_PER_POSITION, FOR_ALL },
	{ "combined", TALLYFEED__BALLOT_MODE__BALLOT_MODE_COMBINED, FOR_ALL },
	{ "per_position", TALLYFEED__BALLOT_MODE__BALLOT_MODE_PER_POSITION, FOR_ALL },
	{ NULL, 0, 0 }
};

static const word_t s_gender_words[] = {
	{ "男", TALLYFEED__GENDER__GENDER_MALE, FOR_ALL },
	{ "女", TALLYFEED__GENDER__GENDER_FEMALE, FOR_ALL },
	{ "male", TALLYFEED__GENDER__GENDER_MALE, FOR_ALL },
	{ "female", TALLYFEED__GENDER__GENDER_FEMALE, FOR_ALL },
	{ NULL, 0, 0 }
};

static const word_t s_education_words[] = {
	{ "小学", TALLYFEED__EDUCATION__EDUCATION_PRIMARY, FOR_ALL },
	{ "初中", TALLYFEED__EDUCATION__EDUCATION_JUNIOR_SECONDARY, FOR_ALL },
	{ "高中", TALLYFEED__EDUCATION__EDUCATION_SENIOR_SECONDARY, FOR_ALL },
	{ "中专", TALLYFEED__EDUCATION__EDUCATION_SENIOR_SECONDARY, FOR_ALL },
	{ "大专", TALLYFEED__EDUCATION__EDUCATION_JUNIOR_COLLEGE, FOR_ALL },
	{ "本科", TALLYFEED__EDUCATION__EDUCATION_BACHELOR, FOR_ALL },
	{ "研究生", TALLYFEED__EDUCATION__EDUCATION_POSTGRADUATE, FOR_ALL },
	{ "primary", TALLYFEED__EDUCATION__EDUCATION_PRIMARY, FOR_ALL },
	{ "junior_secondary", TALLYFEED__EDUCATION__EDUCATION_JUNIOR_SECONDARY, FOR_ALL },
	{ "senior_secondary", TALLYFEED__EDUCATION__EDUCATION_SENIOR_SECONDARY, FOR_ALL },
	{ "junior_college", TALLYFEED__EDUCATION__EDUCATION_JUNIOR_COLLEGE, FOR_ALL },
	{ "bachelor", TALLYFEED__EDUCATION__EDUCATION_BACHELOR, FOR_ALL },
	{ "postgraduate", TALLYFEED__EDUCATION__EDUCATION_POSTGRADUATE, FOR_ALL },
	{ NULL, 0, 0 }
};

static const word_t s_yes_no_words[] = {
	{ "是", 1, FOR_ALL }, { "否", 0, FOR_ALL },
	{ "yes", 1, FOR_ALL }, { "no", 0, FOR_ALL },
	{ "true", 1, FOR_ALL }, { "false", 0, FOR_ALL },
	{ NULL, 0, 0 }
};

/* One election being read: its report and where its rows are.  Refusals
 * of an election row are held back (pending) until the election is known
 * to be filled in: a unit left blank is skipped, whatever its prefilled
 * cells became in the spreadsheet program. */
typedef struct {
	tf_report_t *report;    /* owned */
	unsigned row;
	unsigned cand_rows[TF_CANDIDATES_MAX];
	bool refused;           /* a cell of it was refused: not checked, not queued */
	bool filled;            /* it has a figure or a candidate */
	zlist_t *pending;       /* refusals of its row while it looked blank (char *, owned) */
} election_t;

/* A cell of the row being read. */
typedef struct {
	char *text;             /* owned, NUL-terminated, trimmed */
	size_t len;
	bool nul;               /* held a NUL byte */
} cell_t;

struct _tf_spreadsheet_t {
	char *name;
	const char *encoding;
	zlist_t *errors;        /* char *, owned, at most TF_SPREADSHEET_ERRORS_MAX */
	size_t refused;
	size_t blank;
	election_t **elections;
	size_t nelections, capacity;
	/* While parsing. */
	struct csv_parser parser;
	bool stop;              /* nothing more is read */
	unsigned row;           /* the spreadsheet's number of the row being read */
	int last_end;           /* the character that ended the last row (CRLF is one end) */
	size_t fields;          /* cells libcsv gave for the row being read */
	cell_t cells[COLUMNS_MAX];
	bool wide;              /* the row being read has too many cells: said */
	bool header_read;
	int column_of[F_COUNT]; /* the column of each field, -1 if absent */
	int field_of[COLUMNS_MAX]; /* the field of each column, -1 for none */
	size_t ncolumns;        /* the header's cells */
	election_t *current;    /* the election the next candidate row belongs to */
};

/* ---- refusals ---- */

static void
s_letter(size_t column, char *out, size_t len)
{
	char rev[8];
	size_t n = 0;

	column++;
	while (column > 0 && n < sizeof rev) {
		rev[n++] = (char)('A' + (column - 1) % 26);
		column = (column - 1) / 26;
	}
	for (size_t i = 0; i < n && i + 1 < len; i++)
		out[i] = rev[n - 1 - i];
	out[n < len ? n : len - 1] = '\0';
}

/* A refusal, formatted: "FILE:ROW:COLUMN: reason".  row 0: the file;
 * column < 0: the row.  Returned owned, for s_keep or an election's
 * pending list; NULL out of memory. */
static char *
s_vformat(const tf_spreadsheet_t *self, unsigned row, int column, const char *fmt, va_list ap)
{
	char where[160] = "", reason[768], *line = NULL;

	vsnprintf(reason, sizeof reason, fmt, ap);
	if (row != 0 && column >= 0) {
		char letter[8];
		int field = column < COLUMNS_MAX ? self->field_of[column] : -1;

		s_letter((size_t)column, letter, sizeof letter);
		if (field >= 0)
			snprintf(where, sizeof where, ":%u:%s(%s)", row, letter, s_fields[field].zh);
		else
			snprintf(where, sizeof where, ":%u:%s", row, letter);
	} else if (row != 0)
		snprintf(where, sizeof where, ":%u", row);
	if (asprintf(&line, "%s%s: %s", self->name, where, reason) < 0)
		return NULL;
	return line;
}

static void
s_keep(tf_spreadsheet_t *self, char *line)
{
	self->refused++;
	if (line != NULL && zlist_size(self->errors) < TF_SPREADSHEET_ERRORS_MAX
	    && zlist_append(self->errors, line) == 0)
		return;
	free(line);
}

static void
s_refuse(tf_spreadsheet_t *self, unsigned row, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
s_refuse(tf_spreadsheet_t *self, unsigned row, int column, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	s_keep(self, s_vformat(self, row, column, fmt, ap));
	va_end(ap);
}

/* A refusal of election e's cells (field's column in e's row, or a
 * candidate's row): held back while e looks blank. */
static void
s_refuse_in(tf_spreadsheet_t *self, election_t *e, unsigned row, field_t field,
            const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
s_refuse_in(tf_spreadsheet_t *self, election_t *e, unsigned row, field_t field,
            const char *fmt, ...)
{
	va_list ap;
	char *line;

	va_start(ap, fmt);
	line = s_vformat(self, row, self->column_of[field], fmt, ap);
	va_end(ap);
	e->refused = true;
	if (e->filled) {
		s_keep(self, line);
		return;
	}
	if (line == NULL || zlist_append(e->pending, line) != 0) {
		free(line);
		self->refused++;        /* counted, if it cannot be kept */
	}
}

/* e has figures: what was held back of it is a refusal after all. */
static void
s_filled(tf_spreadsheet_t *self, election_t *e)
{
	char *line;

	if (e->filled)
		return;
	e->filled = true;
	while ((line = zlist_pop(e->pending)) != NULL)
		s_keep(self, line);
}

/* The cell's text, escaped and cut, for a refusal. */
static void
s_shown(const char *text, char *out, size_t len)
{
	char cut[SHOWN_MAX + 1];

	tf_text_bound(cut, sizeof cut, text);
	tf_text_escape(out, len, cut, strlen(cut));
}

/* ---- encodings ---- */

/* in[0..len) from the encoding from into UTF-8, owned and NUL-terminated
 * (NULs inside are kept: the cells say where they are).  NULL with where
 * the first byte that is not from is in err ("line 2, byte 7"), or out
 * of memory. */
static char *
s_convert(const char *from, const char *in, size_t len, size_t *outlen, char *err,
          size_t errlen)
{
	/* GB18030 takes at most 3/2 bytes of UTF-8 per byte; UTF-8 1. */
	size_t size = len + len / 2 + 4, inleft = len, outleft = size - 1;
	char *out = malloc(size), *ip = (char *)in, *op = out;
	iconv_t cd;

	if (out == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cd = iconv_open("UTF-8", from);
	if (cd == (iconv_t)-1) {
		snprintf(err, errlen, "iconv from %s: %s", from, strerror(errno));
		free(out);
		return NULL;
	}
	if (iconv(cd, &ip, &inleft, &op, &outleft) == (size_t)-1) {
		size_t at = len - inleft;
		unsigned line = 1;

		for (size_t i = 0; i < at; i++)
			if (in[i] == '\n')
				line++;
		snprintf(err, errlen, "line %u, byte %zu", line, at + 1);
		iconv_close(cd);
		free(out);
		return NULL;
	}
	iconv_close(cd);
	*op = '\0';
	*outlen = (size_t)(op - out);
	return out;
}

/* The file's bytes as UTF-8 (owned), with self->encoding set; NULL with
 * a refusal of the file. */
static char *
s_decode(tf_spreadsheet_t *self, const char *data, size_t len, size_t *outlen)
{
	char err[256], err2[256];
	char *text;

	if (len >= 2 && ((data[0] == '\xff' && data[1] == '\xfe')
	                 || (data[0] == '\xfe' && data[1] == '\xff'))) {
		s_refuse(self, 0, -1, "UTF-16 text (Excel's \"Unicode text\"): save the sheet as "
		         "\"CSV UTF-8 (逗号分隔)\" or \"CSV (逗号分隔)\" instead");
		return NULL;
	}
	if (len >= 3 && memcmp(data, s_bom, 3) == 0) {
		if ((text = s_convert("UTF-8", data + 3, len - 3, outlen, err, sizeof err)) == NULL)
			s_refuse(self, 0, -1, "it begins as UTF-8 (a byte-order mark) but is not UTF-8 "
			         "at %s", err);
		self->encoding = "UTF-8 with BOM";
		return text;
	}
	if ((text = s_convert("UTF-8", data, len, outlen, err, sizeof err)) != NULL) {
		self->encoding = "UTF-8";
		return text;
	}
	if ((text = s_convert("GB18030", data, len, outlen, err2, sizeof err2)) == NULL) {
		s_refuse(self, 0, -1, "neither UTF-8 text (not at %s) nor GB18030 (not at %s): "
		         "save the sheet as CSV", err, err2);
		return NULL;
	}
	self->encoding = "GB18030";
	/* A GB18030 byte-order mark (84 31 95 33) is U+FEFF now. */
	if (*outlen >= 3 && memcmp(text, s_bom, 3) == 0) {
		memmove(text, text + 3, *outlen - 3 + 1);
		*outlen -= 3;
	}
	return text;
}

/* ---- cells ---- */

/* Drop spaces at both ends: ASCII (libcsv keeps them in quoted cells),
 * the ideographic space U+3000 and no-break space U+00A0 (a Chinese input
 * method and Excel type them). */
static void
s_trim(char *s, size_t *len)
{
	size_t start = 0, end = *len;

	for (;;) {
		if (start < end && (s[start] == ' ' || s[start] == '\t'))
			start++;
		else if (end - start >= 3 && memcmp(s + start, "\xe3\x80\x80", 3) == 0)
			start += 3;
		else if (end - start >= 2 && memcmp(s + start, "\xc2\xa0", 2) == 0)
			start += 2;
		else
			break;
	}
	for (;;) {
		if (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t'))
			end--;
		else if (end - start >= 3 && memcmp(s + end - 3, "\xe3\x80\x80", 3) == 0)
			end -= 3;
		else if (end - start >= 2 && memcmp(s + end - 2, "\xc2\xa0", 2) == 0)
			end -= 2;
		else
			break;
	}
	memmove(s, s + start, end - start);
	s[end - start] = '\0';
	*len = end - start;
}

/* The cell of field in the row being read ("" if the column is absent). */
static const cell_t *
s_cell(const tf_spreadsheet_t *self, field_t field)
{
	static const cell_t empty = { (char *)"", 0, false };
	int column = self->column_of[field];

	if (column < 0 || (size_t)column >= self->fields || self->cells[column].text == NULL)
		return &empty;
	return &self->cells[column];
}

static bool
s_empty(const tf_spreadsheet_t *self, field_t field)
{
	return s_cell(self, field)->len == 0;
}

/* Digits only: full-width ones (０-９, from a Chinese input method) made
 * ASCII, and thousands separators dropped where they group by three
 * (Excel writes 1,180 for a cell formatted so).  0, or -1 if what is left
 * is not digits. */
static int
s_digits(const char *s, char *out, size_t outlen)
{
	size_t n = 0, group = 0;
	bool grouped = false;

	for (const char *p = s; *p != '\0';) {
		char c;

		if ((unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbc
		    && (unsigned char)p[2] >= 0x90 && (unsigned char)p[2] <= 0x99) {
			c = (char)('0' + ((unsigned char)p[2] - 0x90));
			p += 3;
		} else
			c = *p++;
		if (c == ',') {
			if (n == 0 || (grouped && group != 3) || (!grouped && n > 3))
				return -1;
			grouped = true;
			group = 0;
			continue;
		}
		if (c < '0' || c > '9' || n + 1 >= outlen)
			return -1;
		out[n++] = c;
		group++;
	}
	if (n == 0 || (grouped && group != 3))
		return -1;
	out[n] = '\0';
	return 0;
}

/* A whole number in [0, max] into *out; blank is 0, or refused if required. */
static int
s_number(tf_spreadsheet_t *self, election_t *e, field_t field, bool required,
         unsigned long max, uint32_t *out)
{
	const cell_t *cell = s_cell(self, field);
	char digits[32], shown[4 * SHOWN_MAX + 1];
	unsigned long long n = 0;

	*out = 0;
	if (cell->len == 0) {
		if (required)
			s_refuse_in(self, e, self->row, field, "missing");
		return required ? -1 : 0;
	}
	s_shown(cell->text, shown, sizeof shown);
	if (cell->text[0] == '-') {
		s_refuse_in(self, e, self->row, field, "\"%s\": must not be negative", shown);
		return -1;
	}
	if (s_digits(cell->text, digits, sizeof digits) != 0) {
		s_refuse_in(self, e, self->row, field, "\"%s\" is not a whole number", shown);
		return -1;
	}
	for (const char *p = digits; *p != '\0' && n <= max; p++)
		n = n * 10 + (unsigned)(*p - '0');
	if (n > max) {
		s_refuse_in(self, e, self->row, field, "%s is too large (at most %lu)", shown, max);
		return -1;
	}
	*out = (uint32_t)n;
	return 0;
}

/* A word of words that committees may use, into *out; blank is 0, or
 * refused if required. */
static int
s_word(tf_spreadsheet_t *self, election_t *e, field_t field, bool required,
       const word_t *words, int committees, int *out)
{
	const cell_t *cell = s_cell(self, field);
	char choices[512] = "", shown[4 * SHOWN_MAX + 1];

	*out = 0;
	if (cell->len == 0) {
		if (required)
			s_refuse_in(self, e, self->row, field, "missing");
		return required ? -1 : 0;
	}
	for (const word_t *w = words; w->word != NULL; w++)
		if ((w->committees & committees) != 0 && strcasecmp(cell->text, w->word) == 0) {
			*out = w->value;
			return 0;
		}
	for (const word_t *w = words; w->word != NULL; w++)
		if ((w->committees & committees) != 0) {
			size_t used = strlen(choices);
			snprintf(choices + used, sizeof choices - used, "%s%s", used ? ", " : "", w->word);
		}
	s_shown(cell->text, shown, sizeof shown);
	s_refuse_in(self, e, self->row, field, "\"%s\": expected one of %s", shown, choices);
	return -1;
}

static int
s_yes_no(tf_spreadsheet_t *self, election_t *e, field_t field, bool required,
         protobuf_c_boolean *out)
{
	int value = 0, rc = s_word(self, e, field, required, s_yes_no_words, FOR_ALL, &value);

	*out = value != 0;
	return rc;
}

/* Text of at most max bytes (printable ASCII only if ascii), owned into
 * *out; blank leaves *out NULL, or is refused if required. */
static int
s_text(tf_spreadsheet_t *self, election_t *e, field_t field, bool required, size_t max,
       bool ascii, char **out)
{
	const cell_t *cell = s_cell(self, field);

	if (cell->len == 0) {
		if (required)
			s_refuse_in(self, e, self->row, field, "missing");
		return required ? -1 : 0;
	}
	if (cell->len > max) {
		s_refuse_in(self, e, self->row, field, "longer than %zu bytes", max);
		return -1;
	}
	if (!tf_utf8_valid(cell->text, cell->len)) {
		s_refuse_in(self, e, self->row, field, "holds a line break or a control character");
		return -1;
	}
	if (ascii)
		for (size_t i = 0; i < cell->len; i++)
			if ((unsigned char)cell->text[i] > 0x7e) {
				s_refuse_in(self, e, self->row, field, "letters and digits only (ASCII, "
				            "as C01), never a national ID number");
				return -1;
			}
	*out = strdup(cell->text);
	if (*out == NULL) {
		s_refuse_in(self, e, self->row, field, "out of memory");
		return -1;
	}
	return 0;
}

/* The unit code: 12 digits, written grouped by the template ("63 01 21
 * 100 201"; spaces dropped) or bare. */
static int
s_unit(tf_spreadsheet_t *self, election_t *e)
{
	const cell_t *cell = s_cell(self, F_UNIT);
	char code[TF_CODE_LEN + 1], shown[4 * SHOWN_MAX + 1];
	size_t n = 0;
	const char *p;

	s_shown(cell->text, shown, sizeof shown);
	/* 6.30121E+11: the spreadsheet program took the code for a number
	 * and kept six digits of it. */
	p = cell->text;
	if (strspn(p, "0123456789") >= 1 && strpbrk(p, "Ee") != NULL
	    && strspn(p, "0123456789.Ee+") == cell->len) {
		s_refuse_in(self, e, self->row, F_UNIT, "\"%s\" is a number in scientific notation: "
		            "the spreadsheet program took the unit code for a number and lost its "
		            "digits.  Copy the code from the template (written \"63 01 21 100 201\", "
		            "with spaces, which keeps it text), or format the column as text "
		            "(设置单元格格式 → 文本) and type the 12 digits again", shown);
		return -1;
	}
	for (p = cell->text; *p != '\0'; p++) {
		if (*p == ' ')
			continue;
		if (*p < '0' || *p > '9' || n == TF_CODE_LEN) {
			n = 0;
			break;
		}
		code[n++] = *p;
	}
	if (n != TF_CODE_LEN) {
		s_refuse_in(self, e, self->row, F_UNIT, "\"%s\" is not a 12-digit unit code", shown);
		return -1;
	}
	code[n] = '\0';
	if ((e->report->unit_code = strdup(code)) == NULL) {
		s_refuse_in(self, e, self->row, F_UNIT, "out of memory");
		return -1;
	}
	return 0;
}

/* The date of the vote, as staff or Excel write it (2017-11-12,
 * 2017/11/12, 2017.11.12, 2017年11月12日), as YYYY-MM-DD; the rules
 * check that it is a date. */
static int
s_date(tf_spreadsheet_t *self, election_t *e)
{
	const cell_t *cell = s_cell(self, F_HELD_ON);
	char shown[4 * SHOWN_MAX + 1], rest[8] = "";
	int y, m, d, n = 0;

	if (cell->len == 0)
		return 0;
	if ((sscanf(cell->text, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 && (size_t)n == cell->len)
	    || (sscanf(cell->text, "%4d/%2d/%2d%n", &y, &m, &d, &n) == 3 && (size_t)n == cell->len)
	    || (sscanf(cell->text, "%4d.%2d.%2d%n", &y, &m, &d, &n) == 3 && (size_t)n == cell->len)
	    || (sscanf(cell->text, "%4d年%2d月%2d%7s", &y, &m, &d, rest) == 4
	        && strcmp(rest, "日") == 0)) {
		if (strspn(cell->text, "0123456789") == 4 && y > 0 && m > 0 && d > 0 && m <= 12
		    && d <= 31 && asprintf(&e->report->held_on, "%04d-%02d-%02d", y, m, d) > 0)
			return 0;
		e->report->held_on = NULL;
	}
	s_shown(cell->text, shown, sizeof shown);
	s_refuse_in(self, e, self->row, F_HELD_ON, "\"%s\" is not a date (write 2017-11-12)", shown);
	return -1;
}

static int
s_photo(tf_spreadsheet_t *self, election_t *e)
{
	const cell_t *cell = s_cell(self, F_PHOTO);
	uint8_t *hash;
	size_t bin_len = 0;

	if (cell->len == 0)
		return 0;
	hash = malloc(32);
	if (hash == NULL || cell->len != 64
	    || sodium_hex2bin(hash, 32, cell->text, cell->len, NULL, &bin_len, NULL) != 0
	    || bin_len != 32) {
		free(hash);
		s_refuse_in(self, e, self->row, F_PHOTO, "expected 64 hexadecimal digits");
		return -1;
	}
	e->report->sheet_photo_sha256.data = hash;
	e->report->sheet_photo_sha256.len = 32;
	return 0;
}

/* ---- rows ---- */

static election_t *
s_election_new(unsigned row)
{
	election_t *e = calloc(1, sizeof *e);

	if (e == NULL)
		return NULL;
	e->row = row;
	e->report = malloc(sizeof *e->report);
	e->pending = zlist_new();
	if (e->report == NULL || e->pending == NULL) {
		free(e->report);
		zlist_destroy(&e->pending);
		free(e);
		return NULL;
	}
	tallyfeed__result_report__init(e->report);
	e->report->revision = 1;        /* numbered by tf_spreadsheet_queue */
	e->report->candidates = calloc(TF_CANDIDATES_MAX, sizeof *e->report->candidates);
	e->report->seats = calloc(3, sizeof *e->report->seats);
	if (e->report->candidates == NULL || e->report->seats == NULL) {
		tf_report_destroy(&e->report);
		zlist_destroy(&e->pending);
		free(e);
		return NULL;
	}
	return e;
}

static void
s_election_destroy(election_t **e_p)
{
	election_t *e = *e_p;
	char *line;

	if (e == NULL)
		return;
	tf_report_destroy(&e->report);
	while ((line = zlist_pop(e->pending)) != NULL)
		free(line);
	zlist_destroy(&e->pending);
	free(e);
	*e_p = NULL;
}

/* The election read last is complete: a blank one is counted and dropped
 * (with what was held back of it). */
static void
s_election_end(tf_spreadsheet_t *self)
{
	election_t *e;

	if (self->nelections == 0 || (e = self->elections[self->nelections - 1]) == NULL
	    || e->filled)
		return;
	self->blank++;
	s_election_destroy(&self->elections[--self->nelections]);
	self->current = NULL;
}

static int
s_seats(tf_spreadsheet_t *self, election_t *e)
{
	static const struct {
		field_t field;
		Tallyfeed__Position position;
	} seats[] = {
		{ F_SEATS_HEAD, TALLYFEED__POSITION__POSITION_HEAD },
		{ F_SEATS_DEPUTY, TALLYFEED__POSITION__POSITION_DEPUTY },
		{ F_SEATS_MEMBER, TALLYFEED__POSITION__POSITION_MEMBER },
	};
	tf_report_t *r = e->report;
	int rc = 0;

	for (size_t i = 0; i < sizeof seats / sizeof seats[0]; i++) {
		uint32_t count;
		Tallyfeed__Seats *s;

		if (s_number(self, e, seats[i].field, false, 100, &count) != 0) {
			rc = -1;
			continue;
		}
		if (count == 0)
			continue;
		if ((s = malloc(sizeof *s)) == NULL) {
			s_refuse_in(self, e, self->row, seats[i].field, "out of memory");
			return -1;
		}
		tallyfeed__seats__init(s);
		s->position = seats[i].position;
		s->count = count;
		r->seats[r->n_seats++] = s;
	}
	if (rc == 0 && r->n_seats == 0) {
		s_refuse_in(self, e, self->row, F_SEATS_HEAD, "no seats: give the seats of this "
		            "round in %s, %s or %s", s_fields[F_SEATS_HEAD].zh,
		            s_fields[F_SEATS_DEPUTY].zh, s_fields[F_SEATS_MEMBER].zh);
		rc = -1;
	}
	return rc;
}

/* The row being read starts an election. */
static void
s_election_row(tf_spreadsheet_t *self)
{
	election_t *e;
	tf_report_t *r;
	int word;

	s_election_end(self);
	self->current = NULL;
	if (self->nelections == self->capacity) {
		size_t more = self->capacity ? 2 * self->capacity : 64;
		election_t **grown = realloc(self->elections, more * sizeof *grown);

		if (grown == NULL) {
			s_refuse(self, self->row, -1, "out of memory");
			self->stop = true;
			return;
		}
		self->elections = grown;
		self->capacity = more;
	}
	if ((e = s_election_new(self->row)) == NULL) {
		s_refuse(self, self->row, -1, "out of memory");
		self->stop = true;
		return;
	}
	self->elections[self->nelections++] = e;
	self->current = e;
	r = e->report;
	/* Filled in if any cell but the template's own (code, name, committee,
	 * round) is. */
	for (int f = F_HELD_ON; f < F_COUNT; f++)
		if (!s_empty(self, (field_t)f))
			s_filled(self, e);
	/* A layout mistake: said alone, not with every cell the row lacks. */
	for (int f = F_FIRST_CANDIDATE; f < F_COUNT; f++)
		if (!s_empty(self, (field_t)f)) {
			s_refuse_in(self, e, self->row, (field_t)f, "a candidate's cell on an election "
			            "row: put each candidate on a row of its own below the election, "
			            "with %s empty", s_fields[F_UNIT].zh);
			return;
		}
	s_unit(self, e);
	if (s_word(self, e, F_COMMITTEE, true, s_committee_words, FOR_ALL, &word) == 0)
		r->committee = (Tallyfeed__Committee)word;
	s_number(self, e, F_ROUND, true, 100, &r->round);
	s_date(self, e);
	s_number(self, e, F_REGISTERED, true, TF_COUNT_MAX, &r->registered);
	s_number(self, e, F_EXCUSED, false, TF_COUNT_MAX, &r->excused);
	s_number(self, e, F_TOOK_PART, true, TF_COUNT_MAX, &r->took_part);
	s_number(self, e, F_PROXY, false, TF_COUNT_MAX, &r->proxy_votes);
	s_number(self, e, F_ISSUED, true, TF_COUNT_MAX, &r->ballots_issued);
	s_number(self, e, F_RETURNED, true, TF_COUNT_MAX, &r->ballots_returned);
	s_number(self, e, F_VALID, true, TF_COUNT_MAX, &r->ballots_valid);
	s_number(self, e, F_INVALID, true, TF_COUNT_MAX, &r->ballots_invalid);
	if (s_word(self, e, F_MODE, true, s_mode_words, FOR_ALL, &word) == 0)
		r->ballot_mode = (Tallyfeed__BallotMode)word;
	s_seats(self, e);
	s_photo(self, e);
	s_yes_no(self, e, F_ANNOUNCED, false, &r->announced_on_site);
}

/* The row being read is a candidate of the current election. */
static void
s_candidate_row(tf_spreadsheet_t *self)
{
	election_t *e = self->current;
	Tallyfeed__Candidate *c;
	tf_report_t *r;
	int word, committees = FOR_ALL;

	if (e == NULL) {
		int first = 0;

		while ((size_t)first < self->fields && self->cells[first].len == 0)
			first++;
		s_refuse(self, self->row, first, "a row without %s before any election row (an "
		         "election's row has its %s; its candidates' rows follow it)",
		         s_fields[F_UNIT].zh, s_fields[F_UNIT].zh);
		return;
	}
	s_filled(self, e);
	for (int f = F_COMMITTEE; f < F_FIRST_CANDIDATE; f++)
		if (!s_empty(self, (field_t)f)) {
			s_refuse_in(self, e, self->row, (field_t)f, "an election's cell on a candidate "
			            "row: the election's figures go on its own row (the row with %s)",
			            s_fields[F_UNIT].zh);
			return;
		}
	r = e->report;
	if (r->n_candidates == TF_CANDIDATES_MAX) {
		s_refuse_in(self, e, self->row, F_CAND_ID, "more than %d candidates for the "
		            "election of row %u", TF_CANDIDATES_MAX, e->row);
		return;
	}
	if ((c = malloc(sizeof *c)) == NULL) {
		s_refuse_in(self, e, self->row, F_CAND_ID, "out of memory");
		return;
	}
	tallyfeed__candidate__init(c);
	e->cand_rows[r->n_candidates] = self->row;
	r->candidates[r->n_candidates++] = c;
	if (s_text(self, e, F_CAND_ID, true, 32, true, &c->candidate_id) == 0)
		for (size_t i = 0; i + 1 < r->n_candidates; i++)
			if (r->candidates[i]->candidate_id != NULL
			    && strcmp(r->candidates[i]->candidate_id, c->candidate_id) == 0) {
				s_refuse_in(self, e, self->row, F_CAND_ID, "the same %s as row %u",
				            s_fields[F_CAND_ID].zh, e->cand_rows[i]);
				break;
			}
	s_text(self, e, F_CAND_NAME, true, 64, false, &c->name);
	if (r->committee == TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH)
		committees = FOR_PARTY;
	else if (r->committee != TALLYFEED__COMMITTEE__COMMITTEE_UNSPECIFIED)
		committees = FOR_MASS;
	if (s_word(self, e, F_POSITION, true, s_position_words, committees, &word) == 0)
		c->position = (Tallyfeed__Position)word;
	s_number(self, e, F_VOTES_FOR, true, TF_COUNT_MAX, &c->votes_for);
	s_number(self, e, F_VOTES_AGAINST, false, TF_COUNT_MAX, &c->votes_against);
	s_number(self, e, F_VOTES_ABSTAIN, false, TF_COUNT_MAX, &c->votes_abstain);
	if (s_yes_no(self, e, F_ELECTED, true, &c->elected) == 0 && c->elected)
		c->position_won = c->position;     /* the rules insist they are the same */
	/* What is counted of those elected is required of them (as in JSON). */
	if (s_word(self, e, F_GENDER, c->elected, s_gender_words, FOR_ALL, &word) == 0)
		c->gender = (Tallyfeed__Gender)word;
	s_text(self, e, F_ETHNICITY, c->elected, 32, false, &c->ethnicity);
	if (s_number(self, e, F_BIRTH_YEAR, c->elected, TF_YEAR_MAX, &c->birth_year) == 0
	    && c->birth_year != 0 && c->birth_year < TF_YEAR_MIN)
		s_refuse_in(self, e, self->row, F_BIRTH_YEAR, "%u: must be between %d and %d",
		            c->birth_year, TF_YEAR_MIN, TF_YEAR_MAX);
	if (s_word(self, e, F_EDUCATION, c->elected, s_education_words, FOR_ALL, &word) == 0)
		c->education = (Tallyfeed__Education)word;
	s_yes_no(self, e, F_PARTY_MEMBER, false, &c->party_member);
	s_yes_no(self, e, F_REELECTED, false, &c->reelected);
	s_yes_no(self, e, F_CONCURRENT, false, &c->concurrent_head);
	s_yes_no(self, e, F_CROSS, false, &c->cross_serving);
}

/* The header's name for a cell: before a hint in （…） or (…). */
static int
s_header_field(const char *text)
{
	char name[CELL_MAX + 1];
	size_t len;
	char *hint;

	snprintf(name, sizeof name, "%s", text);
	if ((hint = strstr(name, "（")) != NULL)
		*hint = '\0';
	if ((hint = strchr(name, '(')) != NULL)
		*hint = '\0';
	len = strlen(name);
	s_trim(name, &len);
	for (int f = 0; f < F_COUNT; f++)
		if (strcmp(name, s_fields[f].zh) == 0 || strcasecmp(name, s_fields[f].en) == 0)
			return f;
	return -1;
}

static void
s_header_row(tf_spreadsheet_t *self)
{
	bool sound = true;

	self->header_read = true;
	self->ncolumns = self->fields < COLUMNS_MAX ? self->fields : COLUMNS_MAX;
	for (size_t col = 0; col < self->ncolumns; col++) {
		const cell_t *cell = &self->cells[col];
		char shown[4 * SHOWN_MAX + 1];
		int field;

		if (cell->len == 0)
			continue;       /* a column without a header must stay empty */
		field = s_header_field(cell->text);
		s_shown(cell->text, shown, sizeof shown);
		if (field < 0) {
			s_refuse(self, 1, (int)col, "unknown column \"%s\" (the template's headers, or "
			         "the JSON format's keys)", shown);
			sound = false;
		} else if (self->column_of[field] >= 0) {
			char letter[8];

			s_letter((size_t)self->column_of[field], letter, sizeof letter);
			s_refuse(self, 1, (int)col, "\"%s\" again (column %s is %s)", shown, letter,
			         s_fields[field].zh);
			sound = false;
		} else {
			self->column_of[field] = (int)col;
			self->field_of[col] = field;
		}
	}
	for (int f = 0; f < F_COUNT; f++)
		if (s_fields[f].required && self->column_of[f] < 0) {
			s_refuse(self, 1, -1, "no column %s (%s)", s_fields[f].zh, s_fields[f].en);
			sound = false;
		}
	if (!sound)
		self->stop = true;      /* the rows cannot be read without their columns */
}

static void
s_data_row(tf_spreadsheet_t *self)
{
	bool content = false;

	for (size_t col = 0; col < self->fields && col < COLUMNS_MAX; col++) {
		const cell_t *cell = &self->cells[col];

		if (cell->nul) {
			s_refuse(self, self->row, (int)col, "a NUL byte: this is not a text file "
			         "(save the sheet as CSV)");
			return;
		}
		if (cell->len == 0 || (int)col == self->column_of[F_NAME])
			continue;
		if (col >= self->ncolumns || self->field_of[col] < 0) {
			s_refuse(self, self->row, (int)col, "a cell in a column without a header");
			return;
		}
		content = true;
	}
	/* Nothing but the unit's name (the template writes it on candidate
	 * rows, to show whose they are): an empty row. */
	if (!content)
		return;
	if (!s_empty(self, F_UNIT))
		s_election_row(self);
	else
		s_candidate_row(self);
}

/* libcsv: a cell of the row being read. */
static void
s_on_cell(void *data, size_t len, void *arg)
{
	tf_spreadsheet_t *self = arg;
	size_t col = self->fields++;
	cell_t *cell;

	if (self->stop)
		return;
	if (col >= COLUMNS_MAX) {
		if (!self->wide)
			s_refuse(self, self->row, -1, "more than %d columns", COLUMNS_MAX);
		self->wide = true;
		return;
	}
	cell = &self->cells[col];
	/* libcsv's buffer is bounded (s_bounded_realloc): len <= CELL_MAX. */
	assert(len <= CELL_MAX);
	cell->text = malloc(len + 1);
	if (cell->text == NULL) {
		s_refuse(self, self->row, (int)col, "out of memory");
		self->stop = true;
		return;
	}
	if (len > 0)
		memcpy(cell->text, data, len);
	cell->text[len] = '\0';
	cell->nul = memchr(cell->text, '\0', len) != NULL;
	cell->len = len;
	s_trim(cell->text, &cell->len);
}

static void
s_clear_cells(tf_spreadsheet_t *self)
{
	for (size_t i = 0; i < COLUMNS_MAX; i++) {
		free(self->cells[i].text);
		self->cells[i].text = NULL;
		self->cells[i].len = 0;
		self->cells[i].nul = false;
	}
	self->fields = 0;
	self->wide = false;
}

/* libcsv: the end of a row (c: the character that ended it, -1 at the
 * end of the file).  Every line ending is reported (CSV_REPALL_NL), so a
 * blank line is a row, as the spreadsheet numbers them; the LF of a CRLF
 * is not another row. */
static void
s_on_row(int c, void *arg)
{
	tf_spreadsheet_t *self = arg;
	int last = self->last_end;

	self->last_end = c;
	if (c == '\n' && last == '\r' && self->fields == 0)
		return;
	if (self->wide && !self->header_read)
		self->stop = true;      /* no columns to read the rows by */
	if (!self->stop && !self->wide && self->fields > 0) {
		if (!self->header_read)
			s_header_row(self);
		else
			s_data_row(self);
	}
	s_clear_cells(self);
	if (++self->row > ROWS_MAX && !self->stop) {
		s_refuse(self, self->row, -1, "more than %d rows", ROWS_MAX);
		self->stop = true;
	}
}

/* libcsv's buffer for a cell, held to CELL_MAX bytes: a longer cell
 * fails as out of memory, which s_parse_text names. */
static void *
s_bounded_realloc(void *p, size_t size)
{
	return size > CELL_MAX ? NULL : realloc(p, size);
}

static void
s_parse_text(tf_spreadsheet_t *self, const char *text, size_t len)
{
	size_t done = 0;

	if (csv_init(&self->parser, CSV_STRICT | CSV_REPALL_NL | CSV_STRICT_FINI) != 0) {
		s_refuse(self, 0, -1, "out of memory");
		return;
	}
	csv_set_realloc_func(&self->parser, s_bounded_realloc);
	while (done < len && !self->stop) {
		size_t n = len - done < CHUNK ? len - done : CHUNK;

		if (csv_parse(&self->parser, text + done, n, s_on_cell, s_on_row, self) != n) {
			int error = csv_error(&self->parser);

			if (error == CSV_ENOMEM && self->parser.entry_pos >= CELL_MAX)
				s_refuse(self, self->row, (int)self->fields, "a cell longer than %d bytes",
				         CELL_MAX);
			else if (error == CSV_EPARSE)
				s_refuse(self, self->row, (int)self->fields, "a quote (\") inside a cell "
				         "that does not begin with one, or after a quoted cell's closing "
				         "quote: quote the whole cell and write a quote in it twice (\"\")");
			else
				s_refuse(self, self->row, (int)self->fields, "%s", csv_strerror(error));
			self->stop = true;
			break;
		}
		done += n;
	}
	if (!self->stop && csv_fini(&self->parser, s_on_cell, s_on_row, self) != 0)
		s_refuse(self, self->row, (int)self->fields, "a quoted cell that is never closed "
		         "(a quote (\") missing at its end)");
	csv_free(&self->parser);
	s_clear_cells(self);
	if (!self->header_read && self->refused == 0)
		s_refuse(self, 0, -1, "empty: no header row");
	if (!self->stop)
		s_election_end(self);
}

/* Two filled-in elections of one (unit, committee, round) would compete
 * for one revision: the second is refused. */
static void
s_no_repeats(tf_spreadsheet_t *self)
{
	zhashx_t *seen = zhashx_new();

	if (seen == NULL) {
		s_refuse(self, 0, -1, "out of memory");
		return;
	}
	zhashx_set_destructor(seen, NULL);
	zhashx_set_duplicator(seen, NULL);
	for (size_t i = 0; i < self->nelections; i++) {
		election_t *e = self->elections[i];
		const tf_report_t *r = e->report;
		char key[64];
		void *row;

		if (e->refused)
			continue;
		snprintf(key, sizeof key, "%s/%d/%u", r->unit_code, (int)r->committee, r->round);
		if ((row = zhashx_lookup(seen, key)) != NULL) {
			s_refuse(self, e->row, self->column_of[F_UNIT], "the same unit, committee and "
			         "round as row %u: one row per election (a correction replaces the "
			         "figures of that row)", (unsigned)(uintptr_t)row);
			e->refused = true;
		} else
			zhashx_insert(seen, key, (void *)(uintptr_t)e->row);
	}
	zhashx_destroy(&seen);
}

static tf_spreadsheet_t *
s_new(const char *name)
{
	tf_spreadsheet_t *self = calloc(1, sizeof *self);

	if (self == NULL)
		return NULL;
	self->name = tf_text_escape_dup(name);
	self->errors = zlist_new();
	if (self->name == NULL || self->errors == NULL) {
		tf_spreadsheet_destroy(&self);
		return NULL;
	}
	self->row = 1;
	for (int f = 0; f < F_COUNT; f++)
		self->column_of[f] = -1;
	for (int c = 0; c < COLUMNS_MAX; c++)
		self->field_of[c] = -1;
	return self;
}

static void
s_parse_bytes(tf_spreadsheet_t *self, const char *data, size_t len)
{
	size_t textlen = 0;
	char *text;

	if (len > TF_SPREADSHEET_FILE_MAX) {
		s_refuse(self, 0, -1, "larger than %d bytes", TF_SPREADSHEET_FILE_MAX);
		return;
	}
	if ((text = s_decode(self, data, len, &textlen)) == NULL)
		return;
	s_parse_text(self, text, textlen);
	free(text);
	s_no_repeats(self);
}

tf_spreadsheet_t *
tf_spreadsheet_parse(const char *name, const char *data, size_t len)
{
	tf_spreadsheet_t *self;

	assert(name != NULL && (data != NULL || len == 0));
	if ((self = s_new(name)) != NULL)
		s_parse_bytes(self, data != NULL ? data : "", len);
	return self;
}

tf_spreadsheet_t *
tf_spreadsheet_read(const char *path)
{
	tf_spreadsheet_t *self;
	char why[512];
	size_t len;
	char *data;

	assert(path != NULL);
	if ((self = s_new(path)) == NULL)
		return NULL;
	data = tf_infile_read(AT_FDCWD, path, TF_SPREADSHEET_FILE_MAX, 0, &len, NULL, why,
	                      sizeof why);
	if (data == NULL) {
		s_refuse(self, 0, -1, "not read: %s", why);
		return self;
	}
	s_parse_bytes(self, data, len);
	free(data);
	return self;
}

void
tf_spreadsheet_destroy(tf_spreadsheet_t **self_p)
{
	tf_spreadsheet_t *self;
	char *line;

	assert(self_p != NULL);
	self = *self_p;
	if (self == NULL)
		return;
	for (size_t i = 0; i < self->nelections; i++)
		s_election_destroy(&self->elections[i]);
	free(self->elections);
	while (self->errors != NULL && (line = zlist_pop(self->errors)) != NULL)
		free(line);
	zlist_destroy(&self->errors);
	free(self->name);
	free(self);
	*self_p = NULL;
}

const char *
tf_spreadsheet_encoding(const tf_spreadsheet_t *self)
{
	assert(self != NULL);
	return self->encoding;
}

size_t
tf_spreadsheet_blank(const tf_spreadsheet_t *self)
{
	assert(self != NULL);
	return self->blank;
}

size_t
tf_spreadsheet_size(const tf_spreadsheet_t *self)
{
	assert(self != NULL);
	return self->nelections;
}

const tf_report_t *
tf_spreadsheet_report(const tf_spreadsheet_t *self, size_t i)
{
	assert(self != NULL && i < self->nelections);
	return self->elections[i]->report;
}

unsigned
tf_spreadsheet_row(const tf_spreadsheet_t *self, size_t i)
{
	assert(self != NULL && i < self->nelections);
	return self->elections[i]->row;
}

size_t
tf_spreadsheet_errors(const tf_spreadsheet_t *self)
{
	assert(self != NULL);
	return zlist_size(self->errors);
}

const char *
tf_spreadsheet_error(const tf_spreadsheet_t *self, size_t i)
{
	const char *line;
	size_t n = 0;

	assert(self != NULL && i < zlist_size(self->errors));
	for (line = zlist_first(self->errors); line != NULL && n < i; line = zlist_next(self->errors))
		n++;
	return line;
}

size_t
tf_spreadsheet_refused(const tf_spreadsheet_t *self)
{
	assert(self != NULL);
	return self->refused;
}

/* ---- the rules' verdicts, at their cells ---- */

/* The cell a rule's refusal concerns: the field, and the candidate
 * (index into the report, or -1 for the election row).  The rules name a
 * candidate by id in their detail ("candidate C05 ..."). */
static field_t
s_verdict_field(const tf_check_t *check, const tf_report_t *r, int *candidate)
{
	const char *d = check->detail;

	*candidate = -1;
	for (size_t i = 0; i < r->n_candidates; i++) {
		const char *id = r->candidates[i]->candidate_id, *at;
		char mark[48];

		snprintf(mark, sizeof mark, "candidate %s", id);
		/* strchr finds the NUL too: the id may end the detail. */
		if ((at = strstr(d, mark)) != NULL && strchr(" :(", at[strlen(mark)]) != NULL) {
			*candidate = (int)i;
			break;
		}
	}
	switch (check->reason) {
	case TALLYFEED__REASON__REASON_UNKNOWN_UNIT:
	case TALLYFEED__REASON__REASON_UNIT_TYPE_UNKNOWN:
	case TALLYFEED__REASON__REASON_OUTSIDE_TOWNSHIP:
		return F_UNIT;
	case TALLYFEED__REASON__REASON_COMMITTEE_MISMATCH:
		return F_COMMITTEE;
	case TALLYFEED__REASON__REASON_BAD_ROUND:
		return F_ROUND;
	case TALLYFEED__REASON__REASON_BAD_DATE:
		return *candidate >= 0 ? F_BIRTH_YEAR : F_HELD_ON;
	case TALLYFEED__REASON__REASON_BAD_PHOTO_HASH:
		return F_PHOTO;
	case TALLYFEED__REASON__REASON_BALLOT_SUM:
	case TALLYFEED__REASON__REASON_RETURNED_OVER_ISSUED:
		return F_RETURNED;
	case TALLYFEED__REASON__REASON_TURNOUT_OVER_REGISTERED:
		return strncmp(d, "excused", 7) == 0 ? F_EXCUSED : F_TOOK_PART;
	case TALLYFEED__REASON__REASON_PROXY_IN_PARTY:
		return F_PROXY;
	case TALLYFEED__REASON__REASON_VOTES_OVER_VALID:
		return F_VOTES_FOR;
	case TALLYFEED__REASON__REASON_POSITION_VOTES_OVER:
		if (strncmp(d, "deputy", 6) == 0)
			return F_SEATS_DEPUTY;
		return strncmp(d, "member", 6) == 0 ? F_SEATS_MEMBER : F_SEATS_HEAD;
	case TALLYFEED__REASON__REASON_ELECTED_MISMATCH:
		return F_ELECTED;
	case TALLYFEED__REASON__REASON_BAD_SEATS:
		return *candidate >= 0 ? F_POSITION : F_SEATS_HEAD;
	case TALLYFEED__REASON__REASON_DUPLICATE_CANDIDATE:
	case TALLYFEED__REASON__REASON_TOO_MANY_CANDIDATES:
		return F_CAND_ID;
	case TALLYFEED__REASON__REASON_MISSING_FIELD:
		if (strstr(d, "registered") != NULL)
			return F_REGISTERED;
		if (strstr(d, "excused") != NULL)
			return F_EXCUSED;
		return *candidate >= 0 ? F_GENDER : F_UNIT;
	default:
		return *candidate >= 0 ? F_CAND_ID : F_UNIT;
	}
}

size_t
tf_spreadsheet_check(tf_spreadsheet_t *self, const tf_rules_config_t *rules,
                     const tf_registry_t *registry, const char *township)
{
	assert(self != NULL && rules != NULL);
	for (size_t i = 0; i < self->nelections; i++) {
		election_t *e = self->elections[i];
		tf_check_t check;
		field_t field;
		int candidate;

		if (e->refused)
			continue;
		if (tf_rules_check(rules, e->report, registry, township, &check) == 0)
			continue;
		field = s_verdict_field(&check, e->report, &candidate);
		s_refuse(self, candidate >= 0 ? e->cand_rows[candidate] : e->row,
		         self->column_of[field], "%s: %s", tf_reason_name(check.reason),
		         check.detail);
		e->refused = true;
	}
	return self->refused;
}

/* ---- queueing ---- */

/* The revision election e is queued as (see tf_spreadsheet_queue), with
 * e's report numbered so and its content hash in digest.  0, or -1 with err. */
static int
s_number_revision(spool_t *spool, election_t *e, uint8_t digest[32], char *err, size_t errlen)
{
	tf_report_t *r = e->report;
	uint8_t latest_sha[32];
	spool_state_t state = SPOOL_PENDING;
	unsigned latest;

	if (spool_latest_revision(spool, r->unit_code, tf_committee_word(r->committee), r->round,
	                          &latest, latest_sha, &state) != 0) {
		snprintf(err, errlen, "spool: could not read the revisions queued");
		return -1;
	}
	r->revision = latest;
	if (latest == 0)
		r->revision = 1;
	else {
		if (spool_content_sha256(r, digest) != 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		/* The same figures as the latest: that message, unless it was
		 * refused (then the figures go again, as the next revision: the
		 * reason may have been the moment's, REVISION_EXISTS say). */
		if (memcmp(digest, latest_sha, 32) != 0 || state == SPOOL_REJECTED)
			r->revision = latest + 1;
	}
	if (r->revision > REVISION_MAX) {
		snprintf(err, errlen, "row %u: revision %u is past the last one (%d)", e->row,
		         r->revision, REVISION_MAX);
		return -1;
	}
	if (spool_content_sha256(r, digest) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int
tf_spreadsheet_queue(tf_spreadsheet_t *self, spool_t *spool, const forwarder_config_t *config,
                     tf_spreadsheet_queued_t *queued, char *err, size_t errlen)
{
	int rc = -1;

	assert(self != NULL && spool != NULL && config != NULL);
	assert(queued != NULL || self->nelections == 0);
	assert(self->refused == 0);
	/* One batch: the revisions read are the ones written (the batch holds
	 * the spool's write lock), and a failure stores none of the file. */
	if (spool_batch_begin(spool) != 0) {
		snprintf(err, errlen, "spool is busy or unwritable");
		return -1;
	}
	for (size_t i = 0; i < self->nelections; i++) {
		election_t *e = self->elections[i];
		uint8_t digest[32], message_id[TF_MESSAGE_ID_LEN];
		char source[4200], why[512];
		tf_check_t check;

		if (s_number_revision(spool, e, digest, why, sizeof why) != 0) {
			snprintf(err, errlen, "%s:%u: %s", self->name, e->row, why);
			goto out;
		}
		/* What is signed is what was checked: the report as numbered. */
		if (tf_rules_check(&config->rules, e->report, config->registry, config->township,
		                   &check) != 0) {
			snprintf(err, errlen, "%s:%u: %s: %s", self->name, e->row,
			         tf_reason_name(check.reason), check.detail);
			goto out;
		}
		snprintf(source, sizeof source, "%s:%u", self->name, e->row);
		queued[i].revision = e->report->revision;
		if (spool_enqueue(spool, config->agent_id, config->identity, e->report, source, digest,
		                  &queued[i].sequence, message_id, &queued[i].existed, why,
		                  sizeof why) != 0) {
			snprintf(err, errlen, "%s:%u: %s", self->name, e->row, why);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0) {
		spool_batch_abort(spool);
		return -1;
	}
	if (spool_batch_commit(spool) != 0) {
		snprintf(err, errlen, "spool: the file's results could not be committed; none is "
		         "queued");
		return -1;
	}
	return 0;
}

/* ---- the template ---- */

/* One cell, quoted only if it must be (RFC 4180), and its separator. */
static void
s_put(FILE *fp, const char *text, bool last)
{
	if (strpbrk(text, ",\"\r\n") == NULL)
		fputs(text, fp);
	else {
		fputc('"', fp);
		for (const char *p = text; *p != '\0'; p++) {
			if (*p == '"')
				fputc('"', fp);
			fputc(*p, fp);
		}
		fputc('"', fp);
	}
	fputs(last ? "\r\n" : ",", fp);
}

/* "63 01 21 100 201": the code as the template writes it, text to every
 * spreadsheet program (a bare 12-digit number becomes 6.30121E+11), and
 * grouped as the code is built (province, prefecture, county, township,
 * unit). */
static void
s_grouped(const char *code, char *out, size_t len)
{
	snprintf(out, len, "%.2s %.2s %.2s %.3s %.3s", code, code + 2, code + 4, code + 6, code + 9);
}

static void
s_template_row(FILE *fp, const char *const cells[F_COUNT])
{
	for (int f = 0; f < F_COUNT; f++)
		s_put(fp, cells[f] != NULL ? cells[f] : "", f + 1 == F_COUNT);
}

char *
tf_spreadsheet_template(const tf_registry_t *registry, const char *township, size_t *len,
                        size_t *elections, size_t *skipped, char *err, size_t errlen)
{
	char *text = NULL, headers[F_COUNT][160];
	const char *cells[F_COUNT];
	size_t units = 0;
	FILE *fp;

	assert(registry != NULL && township != NULL && len != NULL && elections != NULL);
	assert(skipped != NULL);
	*len = *elections = *skipped = 0;
	fp = open_memstream(&text, len);
	if (fp == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* Excel reads a CSV file as UTF-8 only when it begins with a BOM. */
	fputs(s_bom, fp);
	for (int f = 0; f < F_COUNT; f++) {
		snprintf(headers[f], sizeof headers[f], "%s%s", s_fields[f].zh, s_fields[f].hint);
		cells[f] = headers[f];
	}
	s_template_row(fp, cells);
	for (size_t i = 0; i < tf_registry_size(registry, TF_LEVEL_UNIT); i++) {
		const tf_area_t *unit = tf_registry_at(registry, TF_LEVEL_UNIT, i);
		tf_unit_kind_t kind = tf_unit_kind_of(unit->code);
		Tallyfeed__Committee committees[2];
		char code[32];
		int n = 0;

		if (strcmp(unit->parent, township) != 0)
			continue;
		units++;
		/* As the rules decide (rules.c s_check_unit): the code's last
		 * three digits give the mass committee; every unit may have a
		 * Party branch; a code that maps to no type has neither. */
		if (kind == TF_UNIT_VILLAGERS || kind == TF_UNIT_VILLAGE_LIKE)
			committees[n++] = TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS;
		else if (kind == TF_UNIT_RESIDENTS || kind == TF_UNIT_COMMUNITY_LIKE)
			committees[n++] = TALLYFEED__COMMITTEE__COMMITTEE_RESIDENTS;
		else {
			log_warnx("template: unit %s (%s): its code maps to no committee type; left out",
			          unit->code, unit->name);
			(*skipped)++;
			continue;
		}
		committees[n++] = TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH;
		s_grouped(unit->code, code, sizeof code);
		for (int k = 0; k < n; k++) {
			memset(cells, 0, sizeof cells);
			cells[F_UNIT] = code;
			cells[F_NAME] = unit->name;
			for (const word_t *w = s_committee_words; w->word != NULL; w++)
				if (w->value == (int)committees[k]) {
					cells[F_COMMITTEE] = w->word;
					break;
				}
			cells[F_ROUND] = "1";
			s_template_row(fp, cells);
			memset(cells, 0, sizeof cells);
			cells[F_NAME] = unit->name;
			for (int c = 0; c < TEMPLATE_CANDIDATE_ROWS; c++)
				s_template_row(fp, cells);
			(*elections)++;
		}
	}
	if (fclose(fp) != 0) {
		free(text);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (units == 0) {
		free(text);
		snprintf(err, errlen, "township %s has no units in the registry", township);
		return NULL;
	}
	return text;
}
