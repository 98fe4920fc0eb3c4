/*
 * enrolment: the collector's table of trusted certificates (see enrolment.h).
 */
#include "enrolment.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <string.h>

struct _tf_enrolment_t {
	tf_peer_t *peers;
	size_t count;
	zhashx_t *by_key;       /* Z85 key -> peer (borrowed) */
	zhashx_t *by_name;      /* name -> peer (borrowed) */
};

static bool
s_is_cert_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 && strcmp(name + len - 5, ".cert") == 0;
}

void
tf_enrolment_destroy(tf_enrolment_t **self_p)
{
	tf_enrolment_t *self;

	assert(self_p != NULL);
	self = *self_p;
	if (self == NULL)
		return;
	zhashx_destroy(&self->by_key);
	zhashx_destroy(&self->by_name);
	free(self->peers);
	free(self);
	*self_p = NULL;
}

/* The certificates of dir: the collectors' alone, or all others. */
static tf_enrolment_t *
s_load(const char *dir, bool collectors, char *err, size_t errlen)
{
	tf_enrolment_t *self = calloc(1, sizeof *self);
	size_t capacity = 0;
	DIR *d = NULL;
	struct dirent *de;

	assert(dir != NULL);
	if (self == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	self->by_key = zhashx_new();
	self->by_name = zhashx_new();
	if (self->by_key == NULL || self->by_name == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* The peers array is filled first and indexed after, so that growing
	 * it never leaves a dangling pointer in the hashes. */
	d = opendir(dir);
	if (d == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	while ((de = readdir(d)) != NULL) {
		char path[4096];

		if (!s_is_cert_name(de->d_name))
			continue;
		if (self->count == capacity) {
			size_t grown = capacity ? capacity * 2 : 64;
			tf_peer_t *peers = realloc(self->peers, grown * sizeof *peers);
			if (peers == NULL) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			self->peers = peers;
			capacity = grown;
		}
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (tf_peer_load(path, &self->peers[self->count], err, errlen) != 0)
			goto fail;
		/* A collector's certificate admits no one; the collectors'
		 * table holds theirs alone. */
		if ((self->peers[self->count].role == TF_ROLE_COLLECTOR) != collectors)
			continue;
		self->count++;
	}
	for (size_t i = 0; i < self->count; i++) {
		tf_peer_t *peer = &self->peers[i];

		if (zhashx_insert(self->by_key, peer->curve_public, peer) != 0) {
			snprintf(err, errlen, "%s: two certificates hold the CURVE key of \"%s\"", dir,
			         peer->name);
			goto fail;
		}
		if (zhashx_insert(self->by_name, peer->name, peer) != 0) {
			snprintf(err, errlen, "%s: two certificates are named \"%s\"", dir, peer->name);
			goto fail;
		}
	}
	closedir(d);
	return self;
fail:
	if (d != NULL)
		closedir(d);
	tf_enrolment_destroy(&self);
	return NULL;
}

tf_enrolment_t *
tf_enrolment_load(const char *dir, char *err, size_t errlen)
{
	return s_load(dir, false, err, errlen);
}

tf_enrolment_t *
tf_enrolment_load_collectors(const char *dir, char *err, size_t errlen)
{
	return s_load(dir, true, err, errlen);
}

size_t
tf_enrolment_size(const tf_enrolment_t *self)
{
	assert(self != NULL);
	return self->count;
}

const tf_peer_t *
tf_enrolment_at(const tf_enrolment_t *self, size_t i)
{
	assert(self != NULL && i < self->count);
	return &self->peers[i];
}

const tf_peer_t *
tf_enrolment_by_key(const tf_enrolment_t *self, const char *curve_public)
{
	assert(self != NULL);
	return curve_public != NULL ? zhashx_lookup(self->by_key, curve_public) : NULL;
}

const tf_peer_t *
tf_enrolment_by_name(const tf_enrolment_t *self, const char *name)
{
	assert(self != NULL);
	return name != NULL ? zhashx_lookup(self->by_name, name) : NULL;
}

size_t
tf_enrolment_count(const tf_enrolment_t *self, tf_role_t role)
{
	size_t n = 0;

	assert(self != NULL);
	for (size_t i = 0; i < self->count; i++)
		if (self->peers[i].role == role)
			n++;
	return n;
}
