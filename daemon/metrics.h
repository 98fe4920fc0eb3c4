/*
 * metrics: counters, gauges and histograms, exposed in Prometheus' text
 * format (version 0.0.4).  Debian packages no C client for Prometheus,
 * and the format is a page of text: it is written here.
 *
 * The daemon declares every series at start, before the HTTP thread
 * begins reading (so the set never changes under a reader), then updates
 * values from its own thread; values are C11 atomics, so a scrape needs
 * no lock and never holds the daemon up.
 *
 * Names follow Prometheus' conventions: tallyfeed_<daemon>_<what>_<unit>,
 * counters end in _total, times are in seconds.
 */
#ifndef TF_METRICS_H
#define TF_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct tf_metrics tf_metrics_t;
typedef struct tf_metric tf_metric_t;

typedef enum { TF_COUNTER, TF_GAUGE, TF_HISTOGRAM } tf_metric_kind_t;

tf_metrics_t *tf_metrics_new(void);
void tf_metrics_destroy(tf_metrics_t **self_p);

/* Declare one series of family name: kind and help are the family's (the
 * same for each of its series); labels is its label set as written in the
 * exposition ('reason="BAD_SIGNATURE"'), or NULL.  A histogram takes its
 * upper bounds, ascending (+Inf is added).  The series is owned by self. */
tf_metric_t *tf_metrics_declare(tf_metrics_t *self, tf_metric_kind_t kind, const char *name,
                                const char *help, const char *labels,
                                const double *bounds, size_t nbounds);

/* Counter: add n.  Gauge: set, or add (may be negative).  Histogram: one
 * observation.  Any thread. */
void tf_metric_add(tf_metric_t *metric, uint64_t n);
void tf_metric_set(tf_metric_t *metric, double value);
void tf_metric_gauge_add(tf_metric_t *metric, double delta);
void tf_metric_observe(tf_metric_t *metric, double value);
/* A counter's or gauge's value now (for tests and logs). */
double tf_metric_value(const tf_metric_t *metric);

/* The main loop says it is still turning (each time round); /healthz
 * fails once it has not for TF_METRICS_STUCK_S. */
#define TF_METRICS_STUCK_S 30
void tf_metrics_alive(tf_metrics_t *self);

/* Serve GET /metrics (the exposition), /healthz (200 while the main loop
 * turns) and /readyz (200 while ready, a gauge >= 1, e.g. the database is
 * up; NULL: whenever alive) on listen (see http.h).  NULL with err. */
struct tf_http;
struct tf_http *tf_metrics_serve(tf_metrics_t *self, const char *listen,
                                 const tf_metric_t *ready, const char *not_ready_why,
                                 char *err, size_t errlen);

/* /readyz also fails while gauge (borrowed) is above 0, saying why_format
 * with its value (one %f).  Call before tf_metrics_serve. */
void tf_metrics_not_ready_above(tf_metrics_t *self, const tf_metric_t *gauge,
                                const char *why_format);

/* The whole exposition, malloc'ed, NUL-terminated; NULL if out of memory. */
char *tf_metrics_render(const tf_metrics_t *self, size_t *length);

#endif
