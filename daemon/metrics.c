/*
 * metrics: Prometheus text exposition (see metrics.h).
 */
#include "metrics.h"
#include "http.h"

#include <assert.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define METRIC_BOUNDS_MAX 32            /* buckets in one histogram */

typedef struct family family_t;

struct tf_metric {
	family_t *family;
	char *labels;                   /* "" when none */
	_Atomic uint64_t count;         /* counter; histogram: observations */
	_Atomic double value;           /* gauge; histogram: sum */
	_Atomic uint64_t *buckets;      /* histogram: per bound, not cumulative */
	tf_metric_t *next;
};

struct family {
	char *name;
	char *help;
	tf_metric_kind_t kind;
	double bounds[METRIC_BOUNDS_MAX];
	size_t nbounds;
	tf_metric_t *series, **last;
	family_t *next;
};

struct tf_metrics {
	family_t *families, **last;
	_Atomic int64_t alive_s;        /* monotonic seconds, the main loop's last turn */
	const tf_metric_t *ready;       /* for /readyz, or NULL */
	const char *not_ready_why;
	const tf_metric_t *not_ready_above;     /* /readyz fails while above 0, or NULL */
	const char *above_why;  /* printf format, one %f */
};

static int64_t
s_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

tf_metrics_t *
tf_metrics_new(void)
{
	tf_metrics_t *self = calloc(1, sizeof *self);

	if (self != NULL) {
		self->last = &self->families;
		atomic_init(&self->alive_s, s_mono_s());
	}
	return self;
}

void
tf_metrics_destroy(tf_metrics_t **self_p)
{
	tf_metrics_t *self;

	assert(self_p != NULL);
	if ((self = *self_p) == NULL)
		return;
	for (family_t *f = self->families, *fnext; f != NULL; f = fnext) {
		fnext = f->next;
		for (tf_metric_t *m = f->series, *mnext; m != NULL; m = mnext) {
			mnext = m->next;
			free(m->labels);
			free((void *)m->buckets);
			free(m);
		}
		free(f->name);
		free(f->help);
		free(f);
	}
	free(self);
	*self_p = NULL;
}

static family_t *
s_family(tf_metrics_t *self, tf_metric_kind_t kind, const char *name, const char *help,
         const double *bounds, size_t nbounds)
{
	family_t *f;

	for (f = self->families; f != NULL; f = f->next)
		if (strcmp(f->name, name) == 0) {
			/* One family, one kind and one set of buckets. */
			assert(f->kind == kind && f->nbounds == nbounds);
			return f;
		}
	assert(nbounds <= METRIC_BOUNDS_MAX);
	if ((f = calloc(1, sizeof *f)) == NULL)
		return NULL;
	f->name = strdup(name);
	f->help = strdup(help);
	if (f->name == NULL || f->help == NULL) {
		free(f->name);
		free(f->help);
		free(f);
		return NULL;
	}
	f->kind = kind;
	for (size_t i = 0; i < nbounds; i++) {
		assert(i == 0 || bounds[i] > bounds[i - 1]);
		f->bounds[i] = bounds[i];
	}
	f->nbounds = nbounds;
	f->last = &f->series;
	*self->last = f;
	self->last = &f->next;
	return f;
}

tf_metric_t *
tf_metrics_declare(tf_metrics_t *self, tf_metric_kind_t kind, const char *name,
                   const char *help, const char *labels, const double *bounds, size_t nbounds)
{
	family_t *f = s_family(self, kind, name, help, bounds, nbounds);
	tf_metric_t *m;

	assert(kind == TF_HISTOGRAM || nbounds == 0);
	if (f == NULL || (m = calloc(1, sizeof *m)) == NULL)
		return NULL;
	m->family = f;
	m->labels = strdup(labels != NULL ? labels : "");
	if (kind == TF_HISTOGRAM)
		m->buckets = calloc(nbounds + 1, sizeof *m->buckets);
	if (m->labels == NULL || (kind == TF_HISTOGRAM && m->buckets == NULL)) {
		free(m->labels);
		free((void *)m->buckets);
		free(m);
		return NULL;
	}
	atomic_init(&m->count, 0);
	atomic_init(&m->value, 0.0);
	*f->last = m;
	f->last = &m->next;
	return m;
}

void
tf_metric_add(tf_metric_t *metric, uint64_t n)
{
	assert(metric->family->kind == TF_COUNTER);
	atomic_fetch_add_explicit(&metric->count, n, memory_order_relaxed);
}

void
tf_metric_set(tf_metric_t *metric, double value)
{
	assert(metric->family->kind == TF_GAUGE);
	atomic_store_explicit(&metric->value, value, memory_order_relaxed);
}

static void
s_add_double(_Atomic double *target, double delta)
{
	double old = atomic_load_explicit(target, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(target, &old, old + delta,
	                                              memory_order_relaxed, memory_order_relaxed))
		;
}

void
tf_metric_gauge_add(tf_metric_t *metric, double delta)
{
	assert(metric->family->kind == TF_GAUGE);
	s_add_double(&metric->value, delta);
}

void
tf_metric_observe(tf_metric_t *metric, double value)
{
	family_t *f = metric->family;
	size_t i;

	assert(f->kind == TF_HISTOGRAM);
	for (i = 0; i < f->nbounds && value > f->bounds[i]; i++)
		;
	atomic_fetch_add_explicit(&metric->buckets[i], 1, memory_order_relaxed);
	s_add_double(&metric->value, value);
	atomic_fetch_add_explicit(&metric->count, 1, memory_order_relaxed);
}

double
tf_metric_value(const tf_metric_t *metric)
{
	if (metric->family->kind == TF_GAUGE)
		return atomic_load_explicit(&metric->value, memory_order_relaxed);
	return (double)atomic_load_explicit(&metric->count, memory_order_relaxed);
}

/* A number as Prometheus reads it: integers without a decimal point,
 * others with enough digits to round-trip, and +Inf. */
static const char *
s_number(char *buf, size_t len, double v)
{
	if (isinf(v))
		snprintf(buf, len, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (isnan(v))
		snprintf(buf, len, "NaN");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, len, "%.0f", v);
	else if (snprintf(buf, len, "%.15g", v) > 0 && strtod(buf, NULL) == v)
		;               /* the shortest that reads back the same, mostly */
	else
		snprintf(buf, len, "%.17g", v);
	return buf;
}

/* name{labels,extra} — with the braces only if there is a label. */
static void
s_series_name(FILE *out, const char *name, const char *suffix, const char *labels,
              const char *extra)
{
	bool any = labels[0] != '\0' || extra != NULL;

	fprintf(out, "%s%s", name, suffix);
	if (any)
		fprintf(out, "{%s%s%s}", labels, labels[0] != '\0' && extra != NULL ? "," : "",
		        extra != NULL ? extra : "");
	fputc(' ', out);
}

static void
s_render_histogram(FILE *out, const family_t *f, const tf_metric_t *m)
{
	uint64_t cumulative = 0;
	char le[48], number[32];

	for (size_t i = 0; i <= f->nbounds; i++) {
		cumulative += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
		if (i < f->nbounds)
			snprintf(le, sizeof le, "le=\"%s\"", s_number(number, sizeof number, f->bounds[i]));
		else
			snprintf(le, sizeof le, "le=\"+Inf\"");
		s_series_name(out, f->name, "_bucket", m->labels, le);
		fprintf(out, "%llu\n", (unsigned long long)cumulative);
	}
	s_series_name(out, f->name, "_sum", m->labels, NULL);
	fprintf(out, "%s\n", s_number(number, sizeof number,
	                              atomic_load_explicit(&m->value, memory_order_relaxed)));
	s_series_name(out, f->name, "_count", m->labels, NULL);
	/* _count is the +Inf bucket's total, so a scrape racing an
	 * observation still shows the two agreeing. */
	fprintf(out, "%llu\n", (unsigned long long)cumulative);
}

char *
tf_metrics_render(const tf_metrics_t *self, size_t *length)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	char *text = NULL, number[32];
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	if (out == NULL)
		return NULL;
	for (const family_t *f = self->families; f != NULL; f = f->next) {
		fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
		        types[f->kind]);
		for (const tf_metric_t *m = f->series; m != NULL; m = m->next) {
			switch (f->kind) {
			case TF_COUNTER:
				s_series_name(out, f->name, "", m->labels, NULL);
				fprintf(out, "%llu\n", (unsigned long long)atomic_load_explicit(
				                           &m->count, memory_order_relaxed));
				break;
			case TF_GAUGE:
				s_series_name(out, f->name, "", m->labels, NULL);
				fprintf(out, "%s\n", s_number(number, sizeof number,
				        atomic_load_explicit(&m->value, memory_order_relaxed)));
				break;
			case TF_HISTOGRAM:
				s_render_histogram(out, f, m);
				break;
			}
		}
	}
	if (fclose(out) != 0) {
		free(text);
		return NULL;
	}
	if (length != NULL)
		*length = size;
	return text;
}

void
tf_metrics_alive(tf_metrics_t *self)
{
	atomic_store_explicit(&self->alive_s, s_mono_s(), memory_order_relaxed);
}

static void
s_serve(void *arg, const tf_http_request_t *request, tf_http_reply_t *reply)
{
	static const char text[] = "text/plain; charset=utf-8";
	tf_metrics_t *self = arg;
	const char *path = tf_http_path(request);
	int64_t stuck = s_mono_s() - atomic_load_explicit(&self->alive_s, memory_order_relaxed);
	char line[160];

	if (strcmp(path, "/metrics") == 0) {
		size_t length;
		char *body = tf_metrics_render(self, &length);

		if (body == NULL) {
			tf_http_reply_text(reply, 500, text, "out of memory\n");
			return;
		}
		reply->status = 200;
		reply->content_type = "text/plain; version=0.0.4; charset=utf-8";
		reply->body = body;
		reply->length = length;
		reply->body_static = false;
	} else if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0) {
		bool ready = path[1] == 'r';

		if (stuck > TF_METRICS_STUCK_S) {
			snprintf(line, sizeof line, "not alive: the main loop has not turned for %lld s\n",
			         (long long)stuck);
			tf_http_reply_text(reply, 503, text, line);
		} else if (ready && self->ready != NULL && tf_metric_value(self->ready) < 1)
			tf_http_reply_text(reply, 503, text, self->not_ready_why);
		else if (ready && self->not_ready_above != NULL
		         && tf_metric_value(self->not_ready_above) > 0) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
			snprintf(line, sizeof line, self->above_why,
			         tf_metric_value(self->not_ready_above));
#pragma GCC diagnostic pop
			tf_http_reply_text(reply, 503, text, line);
		}
		else
			tf_http_reply_text(reply, 200, text, ready ? "ready\n" : "ok\n");
	} else
		tf_http_reply_text(reply, 404, text, "not found: /metrics, /healthz, /readyz\n");
}

void
tf_metrics_not_ready_above(tf_metrics_t *self, const tf_metric_t *gauge, const char *why_format)
{
	self->not_ready_above = gauge;
	self->above_why = why_format;
}

tf_http_t *
tf_metrics_serve(tf_metrics_t *self, const char *listen, const tf_metric_t *ready,
                 const char *not_ready_why, char *err, size_t errlen)
{
	self->ready = ready;
	self->not_ready_why = not_ready_why != NULL ? not_ready_why : "not ready\n";
	return tf_http_new(listen, s_serve, self, err, errlen);
}
