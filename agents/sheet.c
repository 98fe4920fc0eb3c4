/*
 * sheet: the posting sheet of an accepted result (see sheet.h).
 */
#include "sheet.h"
#include "atomicfile.h"
#include "config.h"
#include "envelope.h"
#include "log.h"
#include "posting.h"
#include "receipt.h"
#include "report.h"

#include <getopt.h>
#include <qrencode.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK_URL_MAX 512       /* bytes of agent/check_url */
#define QUIET_ZONE 4            /* modules of white around the code, as ISO/IEC 18004 asks */
#define BEIJING_OFFSET_S (8 * 3600)

/* The sheet's only style, inline: the page loads nothing. */
static const char s_style[] =
    "@page{size:A4;margin:18mm}"
    "body{font-family:\"WenQuanYi Zen Hei\",\"Noto Sans CJK SC\",\"Microsoft YaHei\",sans-serif;"
    "color:#000;max-width:180mm;margin:0 auto}"
    "h1{font-size:22pt;text-align:center;margin:0 0 2mm}"
    "h2{font-size:18pt;text-align:center;margin:0 0 4mm}"
    ".where{text-align:center;font-size:12pt;margin:0 0 6mm}"
    "table{border-collapse:collapse;width:100%;margin:0 0 5mm;font-size:12pt}"
    "th,td{border:1px solid #000;padding:1.5mm 2mm;text-align:left}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".check{display:flex;gap:6mm;align-items:center;margin-top:6mm}"
    ".qr{width:45mm;height:45mm;flex:none}"
    ".small{font-size:8pt;word-break:break-all;color:#333}"
    "@media screen{body{margin:8mm auto}}";

const char *
sheet_content_policy(void)
{
	static char policy[128];
	uint8_t digest[crypto_hash_sha256_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];

	if (policy[0] == '\0') {
		crypto_hash_sha256(digest, (const uint8_t *)s_style, sizeof s_style - 1);
		sodium_bin2base64(b64, sizeof b64, digest, sizeof digest, sodium_base64_VARIANT_ORIGINAL);
		snprintf(policy, sizeof policy, "default-src 'none'; style-src 'sha256-%s'; "
		         "frame-ancestors 'none'", b64);
	}
	return policy;
}

bool
sheet_check_url_valid(const char *url)
{
	size_t len = strlen(url);

	if (len > CHECK_URL_MAX
	    || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0))
		return false;
	for (const char *p = url; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("\"'<>?#\\`", *p) != NULL)
			return false;
	return true;
}

/* What a sheet is drawn from. */
typedef struct {
	zframe_t *envelope;
	tf_envelope_t *env;
	tf_report_t *report;
	tf_receipt_fields_t receipt;
	tf_posting_t posting;
} posted_t;

static void
s_posted_clear(posted_t *p)
{
	tf_report_destroy(&p->report);
	tf_envelope_destroy(&p->env);
	zframe_destroy(&p->envelope);
}

/* Read message sequence's envelope and receipt, and what its QR code
 * carries.  0, 1 (no sheet) or -1, with why. */
static int
s_posted(spool_t *spool, int64_t sequence, posted_t *p, char *why, size_t whylen)
{
	uint8_t digest[TF_HASH_LEN];
	tf_check_t check;
	int rc;

	memset(p, 0, sizeof *p);
	rc = spool_posted(spool, sequence, &p->envelope, &p->receipt, why, whylen);
	if (rc != 0)
		return rc;
	/* The spool's own bytes, which it signed; still read within bounds. */
	p->env = tf_envelope_decode(zframe_data(p->envelope), zframe_size(p->envelope), &check, NULL);
	if (p->env == NULL || (p->report = tf_envelope_report(p->env, NULL, &check)) == NULL) {
		snprintf(why, whylen, "message %lld's envelope does not read: %s", (long long)sequence,
		         check.detail);
		return -1;
	}
	crypto_hash_sha256(digest, p->env->payload.data, p->env->payload.len);
	if (tf_posting_of(p->report, digest, p->receipt.signature, &p->posting) != 0) {
		snprintf(why, whylen, "message %lld has more candidates than a sheet carries, or no sound unit code",
		         (long long)sequence);
		return -1;
	}
	return 0;
}

static int
s_url(const posted_t *p, const char *check_url, char *out, size_t outlen, char *why,
      size_t whylen)
{
	size_t n;

	if (!sheet_check_url_valid(check_url)) {
		snprintf(why, whylen, "the check page's address (agent/check_url) must be an http:// or "
		         "https:// URL of printable characters without a query, at most %d bytes",
		         CHECK_URL_MAX);
		return -1;
	}
	n = (size_t)snprintf(out, outlen, "%s?", check_url);
	if (n >= outlen || tf_posting_query(&p->posting, out + n, outlen - n) != 0) {
		snprintf(why, whylen, "the check URL is longer than %zu bytes", outlen);
		return -1;
	}
	return 0;
}

int
sheet_check_url(spool_t *spool, int64_t sequence, const char *check_url, char *out,
                size_t outlen, char *why, size_t whylen)
{
	posted_t p;
	int rc;

	rc = s_posted(spool, sequence, &p, why, whylen);
	if (rc == 0)
		rc = s_url(&p, check_url, out, outlen, why, whylen);
	s_posted_clear(&p);
	return rc;
}

/* Text into HTML, escaped. */
static void
s_text(FILE *fp, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		switch (*s) {
		case '<': fputs("&lt;", fp); break;
		case '>': fputs("&gt;", fp); break;
		case '&': fputs("&amp;", fp); break;
		case '"': fputs("&quot;", fp); break;
		case '\'': fputs("&#39;", fp); break;
		default: fputc(*s, fp);
		}
}

/* The QR code of url as an SVG of one path, a unit per module. */
static int
s_qr(FILE *fp, const char *url)
{
	QRcode *qr = QRcode_encodeString8bit(url, 0, QR_ECLEVEL_M);
	int side;

	if (qr == NULL)
		return -1;
	side = qr->width + 2 * QUIET_ZONE;
	fprintf(fp, "<svg class=\"qr\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	        "shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"核对二维码\">"
	        "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
	        side, side, side, side);
	for (int y = 0; y < qr->width; y++)
		for (int x = 0; x < qr->width; x++)
			if (qr->data[y * qr->width + x] & 1)
				fprintf(fp, "M%d %dh1v1h-1z", x + QUIET_ZONE, y + QUIET_ZONE);
	fputs("\"/></svg>", fp);
	QRcode_free(qr);
	return 0;
}

/* A time as the township reads it: Beijing time, to the second. */
static void
s_beijing(int64_t ms, char out[40])
{
	time_t t = (time_t)(ms / 1000) + BEIJING_OFFSET_S;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL
	    || strftime(out, 40, "%Y年%m月%d日 %H:%M:%S", &tm) == 0)
		snprintf(out, 40, "?");
}



static void
s_figures(FILE *fp, const posted_t *p)
{
	const tf_report_t *r = p->report;

	fputs("<table class=\"figures\"><tbody>", fp);
	for (int i = 0; i < TF_POSTING_FIGURES; i++) {
		/* Only a Party branch excuses members; it never votes by proxy. */
		if ((i == 1 && r->committee != TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH)
		    || (i == 3 && r->committee == TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH))
			continue;
		fprintf(fp, "<tr><th>%s</th><td class=\"n\" data-figure=\"%d\">%u</td></tr>",
		        tf_posting_label(r->committee, i), i, p->posting.figures[i]);
	}
	fputs("</tbody></table>", fp);
}

static void
s_candidates(FILE *fp, const posted_t *p)
{
	const tf_report_t *r = p->report;

	fputs("<table class=\"candidates\"><thead><tr><th>候选人</th><th>所选职务</th>"
	      "<th>得票数</th><th>当选</th></tr></thead><tbody>", fp);
	for (size_t i = 0; i < r->n_candidates; i++) {
		const Tallyfeed__Candidate *c = r->candidates[i];

		fputs("<tr><td>", fp);
		s_text(fp, c->name);
		fprintf(fp, "</td><td>%s</td><td class=\"n\">%u</td><td>%s%s</td></tr>",
		        tf_position_name_zh(r->committee, c->position), c->votes_for,
		        c->elected ? "当选 " : "", c->elected
		        ? tf_position_name_zh(r->committee, c->position_won) : "");
	}
	fputs("</tbody></table>", fp);
}

char *
sheet_render(spool_t *spool, int64_t sequence, const char *check_url,
             const tf_registry_t *registry, size_t *len, int *status, char *why, size_t whylen)
{
	char url[TF_POSTING_QUERY_MAX + CHECK_URL_MAX + 2], at[40], digest[2 * TF_HASH_LEN + 1];
	char id[2 * TF_MESSAGE_ID_LEN + 1];
	const tf_area_t *unit = NULL, *township = NULL;
	char *text = NULL;
	FILE *fp = NULL;
	posted_t p;

	*status = s_posted(spool, sequence, &p, why, whylen);
	if (*status != 0)
		goto out;
	*status = -1;
	if (s_url(&p, check_url, url, sizeof url, why, whylen) != 0)
		goto out;
	if ((fp = open_memstream(&text, len)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if (registry != NULL && (unit = tf_registry_find(registry, TF_LEVEL_UNIT,
	                                                 p.report->unit_code)) != NULL)
		township = tf_registry_find(registry, TF_LEVEL_TOWNSHIP, unit->parent);
	fputs("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
	      "<title>选举结果公示</title><style>", fp);
	fputs(s_style, fp);
	fputs("</style></head><body><h1>", fp);
	s_text(fp, unit != NULL ? unit->name : p.report->unit_code);
	fprintf(fp, "</h1><h2>%s选举结果公示</h2><p class=\"where\">",
	        tf_committee_name_zh(p.report->committee));
	if (township != NULL) {
		s_text(fp, township->name);
		fputs(" · ", fp);
	}
	fprintf(fp, "单位代码 <span data-unit>%s</span> · 第%u轮 · 第%u版 · 选举日期 ",
	        p.report->unit_code, p.report->round, p.report->revision);
	s_text(fp, p.report->held_on);
	fputs("</p>", fp);
	s_figures(fp, &p);
	s_candidates(fp, &p);
	s_beijing(p.receipt.at_ms, at);
	tf_message_id_hex(p.receipt.message_id, p.receipt.message_id_len, id);
	sodium_bin2hex(digest, sizeof digest, p.posting.payload_sha256, TF_HASH_LEN);
	fputs("<div class=\"check\">", fp);
	if (s_qr(fp, url) != 0) {
		snprintf(why, whylen, "the check URL does not fit a QR code");
		goto out;
	}
	fputs("<div><p>县级收集端 <b>", fp);
	s_text(fp, p.receipt.collector);
	fprintf(fp, "</b> 于 <b class=\"received\">%s</b>（北京时间）收到并签收本结果。</p>"
	        "<p>扫描二维码，可在省里的核对页面查看：省里计入的结果是否与本公示一致。</p>"
	        "<p class=\"small\">消息 %s · 数据摘要 SHA-256 %s</p>"
	        "<p class=\"small url\">", at, id, digest);
	s_text(fp, url);
	fputs("</p></div></div></body></html>\n", fp);
	if (fclose(fp) != 0) {
		fp = NULL;
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	fp = NULL;
	*status = 0;
out:
	if (fp != NULL)
		fclose(fp);
	if (*status != 0) {
		free(text);
		text = NULL;
	}
	s_posted_clear(&p);
	return text;
}

int
sheet_command(spool_t *spool, const tf_registry_t *registry, const char *check_url, int argc,
              char **argv)
{
	static const struct option options[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "check-url", required_argument, NULL, 'u' },
		{ "url-only", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 }
	};
	const char *out = NULL;
	bool url_only = false;
	char why[1024], err[1024];
	long sequence;
	size_t len;
	char *html;
	int ch, status;

	optind = 0;     /* glibc: scan this argv afresh, options anywhere */
	while ((ch = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (ch) {
		case 'o':
			out = optarg;
			break;
		case 'u':
			check_url = optarg;
			break;
		case 'U':
			url_only = true;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || tf_parse_long(argv[optind], 1, INT64_MAX, &sequence) != 0)
		goto usage;
	if (check_url == NULL) {
		log_warnx("sheet: the province's check page is not configured (agent/check_url, "
		          "or --check-url URL)");
		return 2;
	}
	if (url_only) {
		char url[TF_POSTING_QUERY_MAX + CHECK_URL_MAX + 2];

		status = sheet_check_url(spool, sequence, check_url, url, sizeof url, why, sizeof why);
		if (status != 0) {
			log_warnx("sheet: %s", why);
			return 1;
		}
		printf("%s\n", url);
		return 0;
	}
	html = sheet_render(spool, sequence, check_url, registry, &len, &status, why, sizeof why);
	if (html == NULL) {
		log_warnx("sheet: %s", why);
		return 1;
	}
	if (out == NULL)
		status = fwrite(html, 1, len, stdout) == len ? 0 : -1;
	else if ((status = tf_atomicfile_write(out, html, len, 0644, 0, err, sizeof err)) != 0)
		log_warnx("sheet: %s", err);
	free(html);
	return status == 0 ? 0 : 1;
usage:
	log_warnx("usage: sheet SEQUENCE [--out FILE.html] [--check-url URL] [--url-only]");
	return 2;
}
