/*
 * Unit tests for identity (keys and certificates), enrolment (the
 * collector's table of them), signatures over envelopes, and the hash
 * chain's link function.
 */
#include "testutil.h"

#include "chain.h"
#include "enrolment.h"
#include "envelope.h"
#include "identity.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	char dir[64];
} fixture_t;

static int
s_setup(void **state)
{
	fixture_t *fx = calloc(1, sizeof *fx);

	snprintf(fx->dir, sizeof fx->dir, "/tmp/tf-identity.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	*state = fx;
	return 0;
}

static int
s_teardown(void **state)
{
	fixture_t *fx = *state;
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static tf_identity_t *
s_make(const fixture_t *fx, tf_role_t role, const char *name, const char *township)
{
	char err[512];
	tf_identity_t *id = tf_identity_generate(role, name, township, err, sizeof err);

	if (id == NULL)
		fail_msg("generate: %s", err);
	if (tf_identity_save(id, fx->dir, err, sizeof err) != 0)
		fail_msg("save: %s", err);
	return id;
}

static void
test_save_load_round_trip(void **state)
{
	fixture_t *fx = *state;
	tf_identity_t *made = s_make(fx, TF_ROLE_AGENT, "qiaotou", "630121100000"), *loaded;
	char path[128], err[512];
	tf_peer_t peer;
	struct stat st;
	uint8_t sig[TF_SIGNATURE_LEN];
	const uint8_t data[] = "payload bytes";

	snprintf(path, sizeof path, "%s/qiaotou.cert_secret", fx->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	loaded = tf_identity_load(path, err, sizeof err);
	if (loaded == NULL)
		fail_msg("load: %s", err);
	assert_int_equal(tf_identity_peer(loaded)->role, TF_ROLE_AGENT);
	assert_string_equal(tf_identity_peer(loaded)->name, "qiaotou");
	assert_string_equal(tf_identity_peer(loaded)->township, "630121100000");
	assert_string_equal(tf_identity_peer(loaded)->curve_public,
	                    tf_identity_peer(made)->curve_public);
	/* The public certificate says the same, and holds no secret. */
	snprintf(path, sizeof path, "%s/qiaotou.cert", fx->dir);
	assert_int_equal(tf_peer_load(path, &peer, err, sizeof err), 0);
	assert_memory_equal(peer.sign_public, tf_identity_peer(made)->sign_public, 32);
	assert_string_equal(peer.curve_public, tf_identity_peer(made)->curve_public);
	{
		char text[4096] = "";
		FILE *fp = fopen(path, "r");
		size_t n = fread(text, 1, sizeof text - 1, fp);
		fclose(fp);
		text[n] = '\0';
		assert_null(strstr(text, "secret"));
		assert_null(strstr(text, "sign-seed"));
	}
	/* What the loaded identity signs, the public half verifies. */
	tf_identity_sign(loaded, data, sizeof data, sig);
	assert_true(tf_signature_valid(peer.sign_public, data, sizeof data, sig, sizeof sig));
	tf_identity_destroy(&made);
	tf_identity_destroy(&loaded);
	assert_null(loaded);
}

static void
test_no_overwrite(void **state)
{
	fixture_t *fx = *state;
	tf_identity_t *first = s_make(fx, TF_ROLE_IMPORTER, "county", NULL), *second;
	char err[512];

	second = tf_identity_generate(TF_ROLE_IMPORTER, "county", NULL, err, sizeof err);
	assert_non_null(second);
	assert_int_equal(tf_identity_save(second, fx->dir, err, sizeof err), -1);
	assert_contains(err, "never overwritten");
	tf_identity_destroy(&first);
	tf_identity_destroy(&second);
}

/* A link planted where the secret key will go (dangling, so no look sees
 * a file there) is not written through: the save fails, and nothing is
 * created where it points, nor is a public half left behind. */
static void
test_save_through_no_link(void **state)
{
	fixture_t *fx = *state;
	tf_identity_t *id;
	char link[128], victim[128], public_path[128], err[512];

	snprintf(victim, sizeof victim, "%s/victim", fx->dir);
	snprintf(link, sizeof link, "%s/planted.cert_secret", fx->dir);
	snprintf(public_path, sizeof public_path, "%s/planted.cert", fx->dir);
	assert_int_equal(symlink(victim, link), 0);
	id = tf_identity_generate(TF_ROLE_IMPORTER, "planted", NULL, err, sizeof err);
	assert_non_null(id);
	assert_int_equal(tf_identity_save(id, fx->dir, err, sizeof err), -1);
	assert_contains(err, "planted.cert_secret");
	assert_int_equal(access(victim, F_OK), -1);
	assert_int_equal(access(public_path, F_OK), -1);
	tf_identity_destroy(&id);
}

static void
test_generate_refuses(void **state)
{
	char err[512];

	(void)state;
	/* An agent needs a township code, and a township's, not a unit's. */
	assert_null(tf_identity_generate(TF_ROLE_AGENT, "a", NULL, err, sizeof err));
	assert_null(tf_identity_generate(TF_ROLE_AGENT, "a", "630121100201", err, sizeof err));
	assert_contains(err, "township");
	assert_null(tf_identity_generate(TF_ROLE_AGENT, "a", "6301211", err, sizeof err));
	/* Only agents name a township; names are agent ids. */
	assert_null(tf_identity_generate(TF_ROLE_IMPORTER, "a", "630121100000", err, sizeof err));
	assert_null(tf_identity_generate(TF_ROLE_AGENT, "has space", "630121100000", err, sizeof err));
	assert_null(tf_identity_generate(TF_ROLE_AGENT, "", "630121100000", err, sizeof err));
}

static void
test_load_refuses(void **state)
{
	fixture_t *fx = *state;
	tf_identity_t *id = s_make(fx, TF_ROLE_AGENT, "b", "630121100000");
	char path[128], err[512];

	/* The public file is not a secret one. */
	snprintf(path, sizeof path, "%s/b.cert", fx->dir);
	chmod(path, 0600);
	assert_null(tf_identity_load(path, err, sizeof err));
	assert_contains(err, "secret");
	/* A secret file others may read is refused. */
	snprintf(path, sizeof path, "%s/b.cert_secret", fx->dir);
	chmod(path, 0640);
	assert_null(tf_identity_load(path, err, sizeof err));
	assert_contains(err, "owner only");
	/* Nor is a file that is not there. */
	snprintf(path, sizeof path, "%s/nobody.cert_secret", fx->dir);
	assert_null(tf_identity_load(path, err, sizeof err));
	tf_identity_destroy(&id);
}

/* Key files are judged on the descriptor read (no check-then-open race):
 * a link to a sound key is refused, as is a key open to group or others,
 * or a FIFO (which once blocked the reader), each saying why; public
 * certificates are not read through a link either. */
static void
test_key_files_judged_on_descriptor(void **state)
{
	fixture_t *fx = *state;
	tf_identity_t *id = s_make(fx, TF_ROLE_AGENT, "k", "630121100000"), *loaded;
	char path[128], link[128], err[512];
	tf_peer_t peer;

	alarm(20);              /* a reader blocked on the FIFO fails the test */
	snprintf(path, sizeof path, "%s/k.cert_secret", fx->dir);
	snprintf(link, sizeof link, "%s/link.cert_secret", fx->dir);
	assert_int_equal(symlink(path, link), 0);
	assert_null(tf_identity_load(link, err, sizeof err));
	assert_contains(err, "link.cert_secret: a symbolic link");
	/* Group-readable, then world-readable: refused, the mode named. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_null(tf_identity_load(path, err, sizeof err));
	assert_contains(err, "open to group or others (mode 0640)");
	assert_int_equal(chmod(path, 0604), 0);
	assert_null(tf_identity_load(path, err, sizeof err));
	assert_contains(err, "open to group or others (mode 0604)");
	assert_int_equal(chmod(path, 0600), 0);
	loaded = tf_identity_load(path, err, sizeof err);
	assert_non_null(loaded);
	tf_identity_destroy(&loaded);
	snprintf(path, sizeof path, "%s/fifo.cert_secret", fx->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_null(tf_identity_load(path, err, sizeof err));
	assert_contains(err, "fifo.cert_secret: a FIFO");
	/* A public certificate: through a link, or writable by anyone, no. */
	snprintf(path, sizeof path, "%s/k.cert", fx->dir);
	snprintf(link, sizeof link, "%s/link.cert", fx->dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(tf_peer_load(link, &peer, err, sizeof err), -1);
	assert_contains(err, "link.cert: a symbolic link");
	assert_int_equal(chmod(path, 0646), 0);
	assert_int_equal(tf_peer_load(path, &peer, err, sizeof err), -1);
	assert_contains(err, "writable by others");
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(tf_peer_load(path, &peer, err, sizeof err), 0);
	alarm(0);
	tf_identity_destroy(&id);
}

static void
test_enrolment(void **state)
{
	fixture_t *fx = *state;
	tf_identity_t *a = s_make(fx, TF_ROLE_AGENT, "a", "630121100000");
	tf_identity_t *b = s_make(fx, TF_ROLE_AGENT, "b", "630121101000");
	tf_identity_t *i = s_make(fx, TF_ROLE_IMPORTER, "imp", NULL);
	tf_identity_t *c = s_make(fx, TF_ROLE_COLLECTOR, "col", NULL);
	tf_enrolment_t *e;
	char err[512], path[256], copy0[256];
	const tf_peer_t *p;

	e = tf_enrolment_load(fx->dir, err, sizeof err);
	if (e == NULL)
		fail_msg("%s", err);
	assert_int_equal(tf_enrolment_count(e, TF_ROLE_AGENT), 2);
	assert_int_equal(tf_enrolment_count(e, TF_ROLE_IMPORTER), 1);
	/* A collector's certificate admits no one. */
	assert_null(tf_enrolment_by_key(e, tf_identity_peer(c)->curve_public));
	p = tf_enrolment_by_key(e, tf_identity_peer(b)->curve_public);
	assert_non_null(p);
	assert_string_equal(p->name, "b");
	assert_string_equal(p->township, "630121101000");
	assert_ptr_equal(tf_enrolment_by_name(e, "a"),
	                 tf_enrolment_by_key(e, tf_identity_peer(a)->curve_public));
	assert_null(tf_enrolment_by_name(e, "z"));
	assert_null(tf_enrolment_by_key(e, NULL));
	tf_enrolment_destroy(&e);

	/* Revoked: the certificate's file is gone. */
	snprintf(path, sizeof path, "%s/a.cert", fx->dir);
	assert_int_equal(unlink(path), 0);
	e = tf_enrolment_load(fx->dir, err, sizeof err);
	assert_non_null(e);
	assert_null(tf_enrolment_by_key(e, tf_identity_peer(a)->curve_public));
	tf_enrolment_destroy(&e);

	/* One bad certificate fails the whole load, naming the file. */
	snprintf(path, sizeof path, "%s/broken.cert", fx->dir);
	FILE *fp = fopen(path, "w");
	fputs("metadata\n    role = \"agent\"\n", fp);
	fclose(fp);
	assert_null(tf_enrolment_load(fx->dir, err, sizeof err));
	assert_contains(err, "broken.cert");
	unlink(path);

	/* A FIFO among the certificates fails the load at once (a reload
	 * read it blocking, and the collector stopped), and so does a link. */
	alarm(20);
	snprintf(path, sizeof path, "%s/fifo.cert", fx->dir);
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_null(tf_enrolment_load(fx->dir, err, sizeof err));
	assert_contains(err, "fifo.cert: a FIFO");
	alarm(0);
	unlink(path);
	snprintf(path, sizeof path, "%s/link.cert", fx->dir);
	snprintf(copy0, sizeof copy0, "%s/b.cert", fx->dir);
	assert_int_equal(symlink(copy0, path), 0);
	assert_null(tf_enrolment_load(fx->dir, err, sizeof err));
	assert_contains(err, "link.cert: a symbolic link");
	unlink(path);

	/* Two certificates with the same name are refused. */
	snprintf(path, sizeof path, "%s/b.cert", fx->dir);
	char copy[640];
	snprintf(copy, sizeof copy, "cp %s %s/b2.cert", path, fx->dir);
	assert_int_equal(system(copy), 0);
	assert_null(tf_enrolment_load(fx->dir, err, sizeof err));
	assert_contains(err, "two certificates");

	tf_identity_destroy(&a);
	tf_identity_destroy(&b);
	tf_identity_destroy(&i);
	tf_identity_destroy(&c);
}

static void
test_signed_envelope(void **state)
{
	fixture_t *fx = *state;
	tf_identity_t *a = s_make(fx, TF_ROLE_AGENT, "a", "630121100000");
	tf_identity_t *b = s_make(fx, TF_ROLE_AGENT, "b", "630121101000");
	Tallyfeed__Heartbeat hb = TALLYFEED__HEARTBEAT__INIT;
	uint8_t id[TF_MESSAGE_ID_LEN];
	tf_envelope_t *env;
	tf_check_t why;
	zframe_t *frame;

	hb.software_version = "t";
	tf_message_id_new(id);
	frame = tf_envelope_build("a", 1, id, 1510992000123,
	                          TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_HEARTBEAT, &hb.base, a);
	env = tf_envelope_decode(zframe_data(frame), zframe_size(frame), &why, NULL);
	assert_non_null(env);
	assert_int_equal(env->signature.len, TF_SIGNATURE_LEN);
	/* Good under a's key, not under b's. */
	assert_true(tf_envelope_signature_valid(env, tf_identity_peer(a)->sign_public));
	assert_false(tf_envelope_signature_valid(env, tf_identity_peer(b)->sign_public));
	/* One flipped payload bit, or a cut signature, fails. */
	env->payload.data[0] ^= 1;
	assert_false(tf_envelope_signature_valid(env, tf_identity_peer(a)->sign_public));
	env->payload.data[0] ^= 1;
	env->signature.len = 63;
	assert_false(tf_envelope_signature_valid(env, tf_identity_peer(a)->sign_public));
	env->signature.len = 0;
	assert_false(tf_envelope_signature_valid(env, tf_identity_peer(a)->sign_public));
	env->signature.len = TF_SIGNATURE_LEN;
	assert_true(tf_envelope_signature_valid(env, tf_identity_peer(a)->sign_public));
	tf_envelope_destroy(&env);
	zframe_destroy(&frame);
	tf_identity_destroy(&a);
	tf_identity_destroy(&b);
}

static void
test_created_time_bounds(void **state)
{
	Tallyfeed__Heartbeat hb = TALLYFEED__HEARTBEAT__INIT;
	const int64_t times[] = { TF_CREATED_MIN_MS - 1, TF_CREATED_MIN_MS, TF_CREATED_MAX_MS - 1,
		                  TF_CREATED_MAX_MS, -1 };
	const bool good[] = { false, true, true, false, false };

	(void)state;
	hb.software_version = "t";
	for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
		uint8_t id[TF_MESSAGE_ID_LEN];
		tf_envelope_t *env;
		tf_check_t why;
		zframe_t *frame;

		tf_message_id_new(id);
		frame = tf_envelope_build("a", 1, id, times[i],
		                          TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_HEARTBEAT, &hb.base, NULL);
		env = tf_envelope_decode(zframe_data(frame), zframe_size(frame), &why, NULL);
		assert_int_equal(env != NULL, good[i]);
		if (!good[i])
			assert_int_equal(why.reason, TALLYFEED__REASON__REASON_BAD_DATE);
		tf_envelope_destroy(&env);
		zframe_destroy(&frame);
	}
}

static void
test_chain_link(void **state)
{
	uint8_t zero[TF_HASH_LEN] = { 0 }, entry[TF_HASH_LEN], h1[TF_HASH_LEN], h2[TF_HASH_LEN];
	uint8_t other[TF_HASH_LEN], expect[TF_HASH_LEN];
	uint8_t buf[17 + 32 + 8 + 1 + 32 + 8 + 4];

	(void)state;
	memset(entry, 0xab, sizeof entry);
	tf_chain_link_hash(zero, 1, TF_CHAIN_MESSAGE, entry, 1510992000123, 0, h1);
	/* The documented bytes, assembled here by hand. */
	memcpy(buf, "tallyfeed-chain-1", 17);
	memset(buf + 17, 0, 32);
	memcpy(buf + 49, "\0\0\0\0\0\0\0\1", 8);
	buf[57] = 'M';
	memset(buf + 58, 0xab, 32);
	{
		uint64_t ms = 1510992000123ULL;
		for (int i = 7; i >= 0; i--, ms >>= 8)
			buf[90 + i] = (uint8_t)ms;
	}
	memset(buf + 98, 0, 4);
	crypto_hash_sha256(expect, buf, sizeof buf);
	assert_memory_equal(h1, expect, TF_HASH_LEN);
	/* Every input moves the hash. */
	tf_chain_link_hash(h1, 2, TF_CHAIN_MESSAGE, entry, 1510992000123, 0, h2);
	assert_memory_not_equal(h1, h2, TF_HASH_LEN);
	tf_chain_link_hash(zero, 2, TF_CHAIN_MESSAGE, entry, 1510992000123, 0, other);
	assert_memory_not_equal(h1, other, TF_HASH_LEN);
	tf_chain_link_hash(zero, 1, TF_CHAIN_QUARANTINE, entry, 1510992000123, 0, other);
	assert_memory_not_equal(h1, other, TF_HASH_LEN);
	tf_chain_link_hash(zero, 1, TF_CHAIN_MESSAGE, entry, 1510992000124, 0, other);
	assert_memory_not_equal(h1, other, TF_HASH_LEN);
	tf_chain_link_hash(zero, 1, TF_CHAIN_MESSAGE, entry, 1510992000123, 13, other);
	assert_memory_not_equal(h1, other, TF_HASH_LEN);
}

/* A collector's signed chain head: the bytes of chain.h, under its key;
 * any field changed, or another key, fails. */
static void
test_chain_head_signature(void **state)
{
	char err[256];
	tf_identity_t *c = tf_identity_generate(TF_ROLE_COLLECTOR, "county", NULL, err, sizeof err);
	tf_identity_t *o = tf_identity_generate(TF_ROLE_COLLECTOR, "other", NULL, err, sizeof err);
	const uint8_t *key;
	uint8_t hash[TF_HASH_LEN], sig[TF_SIGNATURE_LEN], want[TF_SIGNATURE_LEN];
	uint8_t bytes[sizeof TF_HEAD_CONTEXT + 4 + 6 + 8 + TF_HASH_LEN + 8], *p = bytes;
	char long_name[TF_CHAIN_NAME_MAX + 2];

	(void)state;
	assert_non_null(c);
	assert_non_null(o);
	key = tf_identity_peer(c)->sign_public;
	memset(hash, 0x3c, sizeof hash);
	assert_int_equal(tf_chain_head_sign(c, "630121", 42, hash, 1510000000000, sig), 0);
	assert_true(tf_chain_head_valid(key, "630121", 42, hash, 1510000000000, sig, sizeof sig));
	/* The documented bytes, signed by hand, give the same signature. */
	memcpy(p, TF_HEAD_CONTEXT, sizeof TF_HEAD_CONTEXT);
	p += sizeof TF_HEAD_CONTEXT;
	memcpy(p, "\0\0\0\006630121", 10);
	p += 10;
	memcpy(p, "\0\0\0\0\0\0\0\x2a", 8);
	p += 8;
	memcpy(p, hash, sizeof hash);
	p += sizeof hash;
	memcpy(p, "\0\0\x01\x5f\x93\x03\x7c\0", 8);
	p += 8;
	assert_int_equal(p - bytes, sizeof bytes);
	tf_identity_sign(c, bytes, sizeof bytes, want);
	assert_memory_equal(sig, want, sizeof sig);       /* Ed25519 is deterministic */

	assert_false(tf_chain_head_valid(key, "630122", 42, hash, 1510000000000, sig, sizeof sig));
	assert_false(tf_chain_head_valid(key, "630121", 43, hash, 1510000000000, sig, sizeof sig));
	assert_false(tf_chain_head_valid(key, "630121", 42, hash, 1510000000001, sig, sizeof sig));
	hash[31] ^= 1;
	assert_false(tf_chain_head_valid(key, "630121", 42, hash, 1510000000000, sig, sizeof sig));
	hash[31] ^= 1;
	assert_false(tf_chain_head_valid(tf_identity_peer(o)->sign_public, "630121", 42, hash,
	                                 1510000000000, sig, sizeof sig));
	assert_false(tf_chain_head_valid(key, "630121", 42, hash, 1510000000000, sig, 63));
	memset(long_name, 'c', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	assert_int_equal(tf_chain_head_sign(c, long_name, 1, hash, 1, sig), -1);
	tf_identity_destroy(&c);
	tf_identity_destroy(&o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_save_load_round_trip, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_no_overwrite, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_save_through_no_link, s_setup, s_teardown),
		cmocka_unit_test(test_generate_refuses),
		cmocka_unit_test_setup_teardown(test_load_refuses, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_key_files_judged_on_descriptor, s_setup,
		                                s_teardown),
		cmocka_unit_test_setup_teardown(test_enrolment, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_signed_envelope, s_setup, s_teardown),
		cmocka_unit_test(test_created_time_bounds),
		cmocka_unit_test(test_chain_link),
		cmocka_unit_test(test_chain_head_signature),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
