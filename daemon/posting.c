/*
 * posting: a posting sheet's check query, built and read (see posting.h).
 */
#include "posting.h"

#include <assert.h>
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUMBER_MAX 1000000000UL         /* what a figure or an ordinal may be, read */

static const char *const s_labels[TF_POSTING_FIGURES + 1] = {
	"登记选民数", "请假人数", "参加投票人数", "委托投票数",
	"发出选票数", "收回选票数", "有效票数", "无效票数", "候选人得票及当选"
};
/* A Party branch counts members, and has no proxies. */
static const char *const s_party_labels[TF_POSTING_FIGURES + 1] = {
	"应到会党员数", "请假党员数", "实到会党员数", "委托投票数",
	"发出选票数", "收回选票数", "有效票数", "无效票数", "候选人得票及当选"
};

const char *
tf_posting_label(Tallyfeed__Committee committee, int i)
{
	assert(i >= 0 && i <= TF_POSTING_FIGURES);
	return committee == TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH ? s_party_labels[i]
	                                                               : s_labels[i];
}

static void
s_figures(const tf_report_t *r, uint32_t out[TF_POSTING_FIGURES])
{
	out[0] = r->registered;
	out[1] = r->excused;
	out[2] = r->took_part;
	out[3] = r->proxy_votes;
	out[4] = r->ballots_issued;
	out[5] = r->ballots_returned;
	out[6] = r->ballots_valid;
	out[7] = r->ballots_invalid;
}

int
tf_posting_of(const tf_report_t *report, const uint8_t payload_sha256[TF_HASH_LEN],
              const uint8_t signature[TF_SIGNATURE_LEN], tf_posting_t *out)
{
	assert(report != NULL && out != NULL);
	memset(out, 0, sizeof *out);
	if (report->n_candidates > TF_POSTING_CANDIDATES_MAX || report->unit_code == NULL
	    || !tf_code_valid(report->unit_code))
		return -1;
	memcpy(out->unit, report->unit_code, TF_CODE_LEN + 1);
	out->committee = report->committee;
	out->round = report->round;
	out->revision = report->revision;
	memcpy(out->payload_sha256, payload_sha256, TF_HASH_LEN);
	memcpy(out->signature, signature, TF_SIGNATURE_LEN);
	s_figures(report, out->figures);
	out->candidates = report->n_candidates;
	for (size_t i = 0; i < report->n_candidates; i++) {
		out->votes[i] = report->candidates[i]->votes_for;
		out->elected[i] = report->candidates[i]->elected;
	}
	return 0;
}

/* Append to out at *used; false once it does not fit. */
static bool
s_put(char *out, size_t outlen, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool
s_put(char *out, size_t outlen, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= outlen)
		return false;
	va_start(ap, fmt);
	n = vsnprintf(out + *used, outlen - *used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= outlen - *used)
		return false;
	*used += (size_t)n;
	return true;
}

int
tf_posting_query(const tf_posting_t *p, char *out, size_t outlen)
{
	char digest[2 * TF_HASH_LEN + 1], sig[sodium_base64_ENCODED_LEN(TF_SIGNATURE_LEN,
	                                            sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	size_t used = 0;
	bool ok;

	sodium_bin2hex(digest, sizeof digest, p->payload_sha256, TF_HASH_LEN);
	sodium_bin2base64(sig, sizeof sig, p->signature, TF_SIGNATURE_LEN,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	ok = s_put(out, outlen, &used, "u=%s&c=%s&r=%u&v=%u&d=%s&s=%s&f=", p->unit,
	           tf_committee_word(p->committee), p->round, p->revision, digest, sig);
	for (int i = 0; ok && i < TF_POSTING_FIGURES; i++)
		ok = s_put(out, outlen, &used, "%s%u", i ? "." : "", p->figures[i]);
	ok = ok && s_put(out, outlen, &used, "_");
	for (size_t i = 0; ok && i < p->candidates; i++)
		ok = s_put(out, outlen, &used, "%s%u%s", i ? "." : "", p->votes[i],
		           p->elected[i] ? "e" : "");
	return ok ? 0 : -1;
}

/* A decimal number of at most 10 digits within [min, NUMBER_MAX], ending
 * at one of the characters in ends; *end set past it.  -1 if not. */
static int
s_number(const char *p, const char **end, unsigned long min, unsigned long *out)
{
	unsigned long v = 0;
	const char *q = p;

	while (*q >= '0' && *q <= '9' && q - p < 10)
		v = v * 10 + (unsigned long)(*q++ - '0');
	if (q == p || (*q >= '0' && *q <= '9') || v < min || v > NUMBER_MAX)
		return -1;
	*end = q;
	*out = v;
	return 0;
}

static int
s_whole_number(const char *text, size_t len, unsigned long min, unsigned long *out)
{
	const char *end;

	return s_number(text, &end, min, out) == 0 && (size_t)(end - text) == len ? 0 : -1;
}

static int
s_parse_figures(const char *text, size_t len, tf_posting_t *out, char *why, size_t whylen)
{
	const char *p = text, *stop = text + len, *end;
	unsigned long v;

	for (int i = 0; i < TF_POSTING_FIGURES; i++) {
		if (s_number(p, &end, 0, &v) != 0 || end >= stop
		    || *end != (i + 1 < TF_POSTING_FIGURES ? '.' : '_')) {
			snprintf(why, whylen, "the figures (f) are not %d numbers and \"_\"",
			         TF_POSTING_FIGURES);
			return -1;
		}
		out->figures[i] = (uint32_t)v;
		p = end + 1;
	}
	out->candidates = 0;
	while (p < stop) {
		if (out->candidates == TF_POSTING_CANDIDATES_MAX) {
			snprintf(why, whylen, "more than %d candidates", TF_POSTING_CANDIDATES_MAX);
			return -1;
		}
		if (s_number(p, &end, 0, &v) != 0 || end > stop) {
			snprintf(why, whylen, "candidate %zu's votes (f) are not a number",
			         out->candidates + 1);
			return -1;
		}
		out->votes[out->candidates] = (uint32_t)v;
		out->elected[out->candidates] = end < stop && *end == 'e';
		if (out->elected[out->candidates])
			end++;
		out->candidates++;
		if (end == stop)
			break;
		if (*end != '.' || end + 1 == stop) {
			snprintf(why, whylen, "the candidates' votes (f) are not numbers joined by \".\"");
			return -1;
		}
		p = end + 1;
	}
	return 0;
}

int
tf_posting_parse(const char *query, tf_posting_t *out, char *why, size_t whylen)
{
	enum { U, C, R, V, D, S, F, PARAMS };
	static const char names[PARAMS] = { 'u', 'c', 'r', 'v', 'd', 's', 'f' };
	const char *value[PARAMS] = { 0 };
	size_t length[PARAMS] = { 0 };
	const char *q = strchr(query, '?'), *p;
	unsigned long n;
	size_t siglen;

	memset(out, 0, sizeof *out);
	q = q != NULL ? q + 1 : query;
	if (strlen(q) > TF_POSTING_QUERY_MAX) {
		snprintf(why, whylen, "longer than %d bytes", TF_POSTING_QUERY_MAX);
		return -1;
	}
	/* name=value pairs joined by "&"; a name met twice is refused (which
	 * one would count?); names not known are passed over. */
	for (p = q; *p != '\0' && *p != '#';) {
		size_t len = strcspn(p, "&#");
		const char *eq = memchr(p, '=', len);

		if (eq != NULL && eq - p == 1)
			for (int i = 0; i < PARAMS; i++)
				if (p[0] == names[i]) {
					if (value[i] != NULL) {
						snprintf(why, whylen, "\"%c\" given twice", names[i]);
						return -1;
					}
					value[i] = eq + 1;
					length[i] = len - 2;
				}
		p += len;
		if (*p == '&')
			p++;
	}
	for (int i = 0; i < PARAMS; i++)
		if (value[i] == NULL) {
			snprintf(why, whylen, "\"%c\" is missing", names[i]);
			return -1;
		}
	if (length[U] != TF_CODE_LEN || strspn(value[U], "0123456789") < TF_CODE_LEN) {
		snprintf(why, whylen, "the unit (u) is not a 12-digit code");
		return -1;
	}
	memcpy(out->unit, value[U], TF_CODE_LEN);
	out->unit[TF_CODE_LEN] = '\0';
	for (int c = TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS;
	     c <= TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH; c++) {
		const char *word = tf_committee_word((Tallyfeed__Committee)c);

		if (strlen(word) == length[C] && memcmp(word, value[C], length[C]) == 0)
			out->committee = (Tallyfeed__Committee)c;
	}
	if (out->committee == TALLYFEED__COMMITTEE__COMMITTEE_UNSPECIFIED) {
		snprintf(why, whylen, "the committee (c) is not villagers, residents or party_branch");
		return -1;
	}
	/* The rules' bounds: a round or revision no collector stores. */
	if (s_whole_number(value[R], length[R], 1, &n) != 0 || n > TF_ROUND_MAX) {
		snprintf(why, whylen, "the round (r) is not a number from 1 to %d", TF_ROUND_MAX);
		return -1;
	}
	out->round = (unsigned)n;
	if (s_whole_number(value[V], length[V], 1, &n) != 0 || n > TF_REVISION_MAX) {
		snprintf(why, whylen, "the revision (v) is not a number from 1 to %d",
		         TF_REVISION_MAX);
		return -1;
	}
	out->revision = (unsigned)n;
	if (length[D] != 2 * TF_HASH_LEN
	    || sodium_hex2bin(out->payload_sha256, TF_HASH_LEN, value[D], length[D], NULL, NULL,
	                      NULL) != 0) {
		snprintf(why, whylen, "the digest (d) is not 64 hex digits");
		return -1;
	}
	if (sodium_base642bin(out->signature, TF_SIGNATURE_LEN, value[S], length[S], NULL, &siglen,
	                      NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0
	    || siglen != TF_SIGNATURE_LEN) {
		snprintf(why, whylen, "the signature (s) is not 64 bytes of URL-safe base64");
		return -1;
	}
	return s_parse_figures(value[F], length[F], out, why, whylen);
}

unsigned
tf_posting_differs(const tf_posting_t *p, const tf_report_t *report)
{
	uint32_t figures[TF_POSTING_FIGURES];
	unsigned bits = 0;

	s_figures(report, figures);
	for (int i = 0; i < TF_POSTING_FIGURES; i++)
		if (figures[i] != p->figures[i])
			bits |= 1u << i;
	if (report->n_candidates != p->candidates)
		return bits | TF_POSTING_CANDIDATES_DIFFER;
	for (size_t i = 0; i < p->candidates; i++)
		if (report->candidates[i]->votes_for != p->votes[i]
		    || report->candidates[i]->elected != p->elected[i])
			return bits | TF_POSTING_CANDIDATES_DIFFER;
	return bits;
}
