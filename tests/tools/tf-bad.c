/*
 * tf-bad: the bad-input corpus (tests/badinput/README.md).  A table of
 * named messages an honest agent never sends -- truncated, mistyped,
 * oversized, unsigned, forged, dishonest in their arithmetic, replayed --
 * each with the verdict and reason code the protocol promises for it
 * (proto/tallyfeed.proto) and what the collector keeps of it.  The cases
 * go over one CURVE connection, one at a time, each Ack compared with the
 * promise; tests/integration/badinput.sh then looks in the database.
 *
 *   tf-bad --list                      the table as TSV: name, verdict,
 *                                      reason, what is kept, description
 *   tf-bad [--record FILE] ENDPOINT KEY SERVER_CERT [OTHER_KEY]
 *                                      send every case as the agent of KEY
 *                                      (a NAME.cert_secret); OTHER_KEY, a
 *                                      second enrolled agent, forges; FILE
 *                                      gets one TSV row per case for SQL
 *   tf-bad --burst N DIR ENDPOINT KEY SERVER_CERT
 *                                      N sound reports back to back (the
 *                                      rate limit), each frame saved as
 *                                      DIR/burst-I.bin to send again
 *   tf-bad --flood N KIND ENDPOINT KEY SERVER_CERT
 *                                      N frames of KIND, each distinct, 32
 *                                      in flight; prints one line per
 *                                      verdict and reason with its count
 *   tf-bad --flood-bundle N KIND FILE KEY
 *                                      the same N frames as a bundle of
 *                                      KEY's agent, for `tallyfeed import`
 *
 * Flood kinds, each as costly to decode as a frame can be:
 *   unknown     a 256 KiB envelope of 2-byte unknown fields (field 15)
 *   candidates  a signed report of 256 KiB of empty candidates
 *   repeated    a signed report of 256 KiB of empty seats entries
 *   noid        a sound report in an envelope without a message id
 *   bad         a sound report, about 1 KiB, whose signature is zeros
 *   text        text for a log line or a terminal: a newline, ESC [2J, a
 *               bell, U+202E in turn in the unit code, a candidate's name,
 *               the envelope's agent id and a heartbeat's version
 *   mixed       unknown, candidates, repeated and noid in turn
 *
 * Prints "ok NAME VERDICT REASON" or "FAIL NAME expected ... got ..." per
 * case; exits 1 if any case failed.
 *
 * The reports are about township 630121100000 (桥头镇, where the example
 * files live).  A bad report takes revision 100 + its case number, so that
 * one a collector wrongly accepts stores a row of its own and cannot make
 * a later case fail for the wrong reason.
 */
#include "bundle.h"
#include "envelope.h"
#include "identity.h"
#include "report.h"
#include "rules.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACK_TIMEOUT_MS 10000
#define UNIT "630121100201"             /* 元树尔村委会, a village of 桥头镇 */
#define RESIDENTS_UNIT "630121100001"   /* 人民路南居委会, a community of 桥头镇 */
#define OTHER_TOWNSHIP_UNIT "630121101201"      /* 上毛佰胜村委会, of 城关镇 */
#define BAD_REVISION_BASE 100
#define FIX_CANDIDATES (TF_CANDIDATES_MAX + 1)
#define BURST_MAX 9

/* Short names for the generated enums. */
#define HEAD TALLYFEED__POSITION__POSITION_HEAD
#define DEPUTY TALLYFEED__POSITION__POSITION_DEPUTY
#define MEMBER TALLYFEED__POSITION__POSITION_MEMBER
#define NO_POSITION TALLYFEED__POSITION__POSITION_UNSPECIFIED
#define MALE TALLYFEED__GENDER__GENDER_MALE
#define FEMALE TALLYFEED__GENDER__GENDER_FEMALE
#define PRIMARY TALLYFEED__EDUCATION__EDUCATION_PRIMARY
#define JUNIOR TALLYFEED__EDUCATION__EDUCATION_JUNIOR_SECONDARY
#define SENIOR TALLYFEED__EDUCATION__EDUCATION_SENIOR_SECONDARY
#define COLLEGE TALLYFEED__EDUCATION__EDUCATION_JUNIOR_COLLEGE
#define T_REPORT TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_RESULT_REPORT
#define T_HEARTBEAT TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_HEARTBEAT

/* One candidate of a fixture. */
typedef struct {
	const char *id, *name;
	Tallyfeed__Position position;
	unsigned votes;
	bool elected;
	Tallyfeed__Gender gender;
	const char *ethnicity;
	unsigned birth_year;
	Tallyfeed__Education education;
	bool party_member;
} person_t;

/* deploy/examples/villagers.json: a sound villagers' committee, round 1. */
static const person_t s_villagers_people[] = {
	{ "C01", "马永福", HEAD, 612, true, MALE, "回族", 1971, SENIOR, true },
	{ "C02", "李国栋", HEAD, 370, false, MALE, "汉族", 1968, JUNIOR, false },
	{ "C03", "祁秀英", DEPUTY, 540, true, FEMALE, "土族", 1980, COLLEGE, true },
	{ "C04", "韩德明", DEPUTY, 401, false, MALE, "回族", 1975, JUNIOR, false },
	{ "C05", "张玉兰", MEMBER, 720, true, FEMALE, "汉族", 1984, SENIOR, false },
	{ "C06", "马海军", MEMBER, 650, true, MALE, "回族", 1990, COLLEGE, true },
	{ "C07", "鲁成才", MEMBER, 560, true, MALE, "土族", 1966, JUNIOR, false },
	{ "C08", "赵红梅", MEMBER, 300, false, FEMALE, "汉族", 1987, SENIOR, false },
	{ "C09", "冶福林", MEMBER, 210, false, MALE, "回族", 1959, PRIMARY, false },
};

/* deploy/examples/party_branch.json: a sound Party branch election. */
static const person_t s_party_people[] = {
	{ "C01", "马永福", HEAD, 29, true, MALE, "回族", 1971, SENIOR, true },
	{ "C02", "祁秀英", MEMBER, 27, true, FEMALE, "土族", 1980, COLLEGE, true },
	{ "C03", "马海军", MEMBER, 24, true, MALE, "回族", 1990, COLLEGE, true },
	{ "C04", "冶生荣", MEMBER, 10, false, MALE, "土族", 1962, PRIMARY, true },
};

/* A report and the storage it points into: cases change fields in place. */
typedef struct {
	tf_report_t r;
	Tallyfeed__Seats seat[4];       /* one spare, for a bad entry */
	Tallyfeed__Seats *seats[4];
	Tallyfeed__Candidate cand[FIX_CANDIDATES];
	Tallyfeed__Candidate *cands[FIX_CANDIDATES];
	char ids[FIX_CANDIDATES][12];
	uint8_t photo[32];
} fixture_t;

typedef struct {
	zsock_t *dealer;
	tf_identity_t *me;
	tf_identity_t *other;           /* NULL: the cases that need it are skipped */
	uint64_t next_sequence;
	uint64_t replay_sequence;       /* of the stored report the replay case reuses */
	int number;                     /* the case being built, from 1 */
	fixture_t fix;
	uint8_t id[TF_MESSAGE_ID_LEN + 1];      /* message id of the envelope built last */
	size_t id_len;
} ctx_t;

/* An envelope as an honest agent builds it, for a case to spoil. */
typedef struct {
	Tallyfeed__Envelope env;
	uint8_t id[TF_MESSAGE_ID_LEN + 1];
	uint8_t sig[TF_SIGNATURE_LEN];
	uint8_t *payload;               /* owned */
} draft_t;

/* Kinds of flood frame (see the banner), also cases of the corpus. */
typedef enum { FLOOD_UNKNOWN, FLOOD_CANDIDATES, FLOOD_REPEATED, FLOOD_NOID, FLOOD_BAD,
	       FLOOD_TEXT, FLOOD_MIXED } flood_t;

static zframe_t *s_flood_frame(ctx_t *ctx, flood_t kind, int i);

/* ---- reports ---- */

static void
s_seats(fixture_t *f, unsigned head, unsigned deputy, unsigned member)
{
	const unsigned counts[3] = { head, deputy, member };

	f->r.n_seats = 0;
	for (int i = 0; i < 3; i++) {
		Tallyfeed__Seats *s = &f->seat[f->r.n_seats];

		if (counts[i] == 0)
			continue;
		tallyfeed__seats__init(s);
		s->position = (Tallyfeed__Position)(i + 1);
		s->count = counts[i];
		f->seats[f->r.n_seats++] = s;
	}
	f->r.seats = f->seats;
}

static Tallyfeed__Candidate *
s_add(fixture_t *f, const person_t *p)
{
	Tallyfeed__Candidate *c = &f->cand[f->r.n_candidates];

	tallyfeed__candidate__init(c);
	c->candidate_id = (char *)p->id;
	c->name = (char *)p->name;
	c->position = p->position;
	c->votes_for = p->votes;
	c->elected = p->elected;
	c->position_won = p->elected ? p->position : NO_POSITION;
	c->gender = p->gender;
	c->ethnicity = (char *)p->ethnicity;
	c->birth_year = p->birth_year;
	c->education = p->education;
	c->party_member = p->party_member;
	f->cands[f->r.n_candidates++] = c;
	f->r.candidates = f->cands;
	return c;
}

/* A photo hash of its own per unit and revision, so that sound reports
 * raise no "photo reused" flag. */
static void
s_photo(fixture_t *f)
{
	char seed[64];

	snprintf(seed, sizeof seed, "sheet %s %u %u", f->r.unit_code, f->r.round, f->r.revision);
	crypto_hash_sha256(f->photo, (const uint8_t *)seed, strlen(seed));
	f->r.sheet_photo_sha256.data = f->photo;
	f->r.sheet_photo_sha256.len = sizeof f->photo;
}

/* The example villagers' committee result, for unit and revision. */
static fixture_t *
s_villagers_of(ctx_t *ctx, const char *unit, unsigned revision)
{
	fixture_t *f = &ctx->fix;

	memset(f, 0, sizeof *f);
	tallyfeed__result_report__init(&f->r);
	f->r.unit_code = (char *)unit;
	f->r.committee = TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS;
	f->r.round = 1;
	f->r.revision = revision;
	f->r.held_on = (char *)"2017-11-12";
	f->r.registered = 1180;
	f->r.took_part = 1003;
	f->r.proxy_votes = 23;
	f->r.ballots_issued = 1003;
	f->r.ballots_returned = 1001;
	f->r.ballots_valid = 990;
	f->r.ballots_invalid = 11;
	f->r.ballot_mode = TALLYFEED__BALLOT_MODE__BALLOT_MODE_COMBINED;
	s_seats(f, 1, 1, 3);
	for (size_t i = 0; i < sizeof s_villagers_people / sizeof s_villagers_people[0]; i++)
		s_add(f, &s_villagers_people[i]);
	f->r.announced_on_site = true;
	s_photo(f);
	return f;
}

/* The villagers' example under this bad case's own revision. */
static fixture_t *
s_villagers(ctx_t *ctx)
{
	return s_villagers_of(ctx, UNIT, BAD_REVISION_BASE + (unsigned)ctx->number);
}

/* The Party branch example under this bad case's own revision. */
static fixture_t *
s_party_branch(ctx_t *ctx)
{
	fixture_t *f = &ctx->fix;

	memset(f, 0, sizeof *f);
	tallyfeed__result_report__init(&f->r);
	f->r.unit_code = (char *)UNIT;
	f->r.committee = TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH;
	f->r.round = 1;
	f->r.revision = BAD_REVISION_BASE + (unsigned)ctx->number;
	f->r.held_on = (char *)"2017-10-28";
	f->r.registered = 38;
	f->r.excused = 2;
	f->r.took_part = 33;
	f->r.ballots_issued = 33;
	f->r.ballots_returned = 33;
	f->r.ballots_valid = 32;
	f->r.ballots_invalid = 1;
	f->r.ballot_mode = TALLYFEED__BALLOT_MODE__BALLOT_MODE_COMBINED;
	s_seats(f, 1, 0, 2);
	for (size_t i = 0; i < sizeof s_party_people / sizeof s_party_people[0]; i++)
		s_add(f, &s_party_people[i]);
	f->r.announced_on_site = true;
	s_photo(f);
	return f;
}

/* A sound runoff (round 2) of the villagers' committee of unit: two
 * candidates for member seats, both above a third of the ballots. */
static fixture_t *
s_runoff(ctx_t *ctx, const char *unit, unsigned member_seats)
{
	static const person_t runoff[] = {
		{ "C07", "鲁成才", MEMBER, 560, true, MALE, "土族", 1966, JUNIOR, false },
		{ "C08", "赵红梅", MEMBER, 320, false, FEMALE, "汉族", 1987, SENIOR, false },
	};
	fixture_t *f = s_villagers_of(ctx, unit, 1);

	f->r.round = 2;
	f->r.held_on = (char *)"2017-11-19";
	f->r.took_part = 900;
	f->r.proxy_votes = 0;
	f->r.ballots_issued = 900;
	f->r.ballots_returned = 900;
	f->r.ballots_valid = 890;
	f->r.ballots_invalid = 10;
	s_seats(f, 0, 0, member_seats);
	f->r.n_candidates = 0;
	for (size_t i = 0; i < 2; i++)
		s_add(f, &runoff[i])->elected = runoff[i].elected || member_seats > 1;
	for (size_t i = 0; i < f->r.n_candidates; i++)
		f->cand[i].position_won = f->cand[i].elected ? MEMBER : NO_POSITION;
	s_photo(f);
	return f;
}

static Tallyfeed__Candidate *
s_cand(fixture_t *f, const char *id)
{
	for (size_t i = 0; i < f->r.n_candidates; i++)
		if (strcmp(f->cand[i].candidate_id, id) == 0)
			return &f->cand[i];
	abort();        /* a case names a candidate its fixture does not have */
}

/* ---- envelopes ---- */

/* Serialize any message; caller frees.  NULL on out of memory. */
static uint8_t *
s_pack(const ProtobufCMessage *message, size_t *len)
{
	uint8_t *bytes;

	*len = protobuf_c_message_get_packed_size(message);
	bytes = malloc(*len ? *len : 1);
	if (bytes != NULL)
		protobuf_c_message_pack(message, bytes);
	return bytes;
}

/* Sign the draft as it stands (protocol 2: the whole envelope). */
static void
s_draft_sign(draft_t *d, const tf_identity_t *signer)
{
	if (tf_envelope_sign(&d->env, signer, d->sig) != 0)
		abort();        /* out of memory in a test tool */
}

/* Protocol 1: only the payload signed, as agents did before protocol 2. */
static void
s_draft_sign_v1(draft_t *d, const tf_identity_t *signer)
{
	d->env.protocol_version = TF_PROTOCOL_VERSION_1;
	tf_identity_sign(signer, d->env.payload.data, d->env.payload.len, d->sig);
	d->env.signature.data = d->sig;
	d->env.signature.len = TF_SIGNATURE_LEN;
}

/* Protocol 2, this agent, the next sequence number, a fresh message id,
 * the payload (copied) signed by this agent. */
static int
s_draft_bytes(ctx_t *ctx, draft_t *d, Tallyfeed__PayloadType type, const uint8_t *bytes,
              size_t len)
{
	memset(d, 0, sizeof *d);
	tallyfeed__envelope__init(&d->env);
	d->payload = malloc(len ? len : 1);
	if (d->payload == NULL)
		return -1;
	if (len > 0)
		memcpy(d->payload, bytes, len);
	tf_message_id_new(d->id);
	d->env.protocol_version = TF_PROTOCOL_VERSION;
	d->env.agent_id = (char *)tf_identity_peer(ctx->me)->name;
	d->env.sequence = ctx->next_sequence++;
	d->env.message_id.data = d->id;
	d->env.message_id.len = TF_MESSAGE_ID_LEN;
	d->env.created_unix_ms = tf_now_ms();
	d->env.payload_type = type;
	d->env.payload.data = d->payload;
	d->env.payload.len = len;
	s_draft_sign(d, ctx->me);
	return 0;
}

static int
s_draft(ctx_t *ctx, draft_t *d, Tallyfeed__PayloadType type, const ProtobufCMessage *payload)
{
	size_t len;
	uint8_t *bytes = s_pack(payload, &len);
	int rc;

	if (bytes == NULL)
		return -1;
	rc = s_draft_bytes(ctx, d, type, bytes, len);
	free(bytes);
	return rc;
}

/* The envelope as one frame; the draft's payload is freed. */
static zframe_t *
s_draft_frame(ctx_t *ctx, draft_t *d)
{
	size_t len;
	uint8_t *bytes = s_pack(&d->env.base, &len);
	zframe_t *frame = NULL;

	ctx->id_len = d->env.message_id.len <= sizeof ctx->id ? d->env.message_id.len : 0;
	memcpy(ctx->id, d->env.message_id.data, ctx->id_len);
	if (bytes != NULL)
		frame = zframe_new(bytes, len);
	free(bytes);
	free(d->payload);
	d->payload = NULL;
	return frame;
}

static zmsg_t *
s_msg(zframe_t *frame)
{
	zmsg_t *msg;

	if (frame == NULL)
		return NULL;
	msg = zmsg_new();
	zmsg_append(msg, &frame);
	return msg;
}

static zmsg_t *
s_draft_msg(ctx_t *ctx, draft_t *d)
{
	return s_msg(s_draft_frame(ctx, d));
}

/* A report as an honest agent sends it. */
static zmsg_t *
s_report_msg(ctx_t *ctx, const fixture_t *f)
{
	draft_t d;

	if (s_draft(ctx, &d, T_REPORT, &f->r.base) != 0)
		return NULL;
	return s_draft_msg(ctx, &d);
}

/* A frame with bytes appended (a field the message does not otherwise have). */
static zframe_t *
s_frame_append(zframe_t **frame_p, const void *more, size_t len)
{
	zframe_t *frame = *frame_p, *longer;

	if (frame == NULL)
		return NULL;
	longer = zframe_new(NULL, zframe_size(frame) + len);
	if (longer != NULL) {
		memcpy(zframe_data(longer), zframe_data(frame), zframe_size(frame));
		memcpy(zframe_data(longer) + zframe_size(frame), more, len);
	}
	zframe_destroy(frame_p);
	return longer;
}

/* A report's bytes with raw protobuf appended, signed as they stand. */
static zmsg_t *
s_report_plus(ctx_t *ctx, const fixture_t *f, const void *more, size_t more_len)
{
	size_t len;
	uint8_t *bytes = s_pack(&f->r.base, &len), *all;
	draft_t d;
	int rc;

	if (bytes == NULL)
		return NULL;
	all = malloc(len + more_len);
	if (all == NULL) {
		free(bytes);
		return NULL;
	}
	memcpy(all, bytes, len);
	memcpy(all + len, more, more_len);
	rc = s_draft_bytes(ctx, &d, T_REPORT, all, len + more_len);
	free(bytes);
	free(all);
	return rc == 0 ? s_draft_msg(ctx, &d) : NULL;
}

/* ---- the cases: the frame level ---- */

static zmsg_t *
c_empty_frame(ctx_t *ctx)
{
	(void)ctx;
	return s_msg(zframe_new_empty());
}

static zmsg_t *
c_garbage(ctx_t *ctx)
{
	uint8_t junk[300];

	(void)ctx;
	/* Deterministic junk: an over-long varint tag, then noise. */
	memset(junk, 0xff, 11);
	for (size_t i = 11; i < sizeof junk; i++)
		junk[i] = (uint8_t)(i * 151 + 7);
	return s_msg(zframe_new(junk, sizeof junk));
}

static zmsg_t *
c_text_line(ctx_t *ctx)
{
	static const char text[] = "630121100201,villagers,1,1,1180,1003\n";

	(void)ctx;
	return s_msg(zframe_new(text, strlen(text)));
}

static zmsg_t *
c_truncated_envelope(ctx_t *ctx)
{
	zmsg_t *msg = s_report_msg(ctx, s_villagers(ctx));
	zframe_t *whole, *half;

	if (msg == NULL)
		return NULL;
	/* Half of it ends inside the payload: its length says more follows. */
	whole = zmsg_pop(msg);
	half = zframe_new(zframe_data(whole), zframe_size(whole) / 2);
	zframe_destroy(&whole);
	zmsg_destroy(&msg);
	return s_msg(half);
}

static zmsg_t *
c_two_frames(ctx_t *ctx)
{
	zmsg_t *msg = s_report_msg(ctx, s_villagers(ctx));

	if (msg != NULL)
		zmsg_addstr(msg, "and one more frame");
	return msg;
}

static zmsg_t *
c_oversize_frame(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);
	size_t blob = TF_MESSAGE_MAX;
	zmsg_t *msg = NULL;

	/* A well-formed, signed report that carries an unknown field big
	 * enough to make the frame exactly one byte over the ceiling. */
	for (int tries = 0; tries < 4; tries++) {
		uint8_t *more = calloc(1, blob + 8), *p = more;
		size_t n = blob, size;

		if (more == NULL)
			return NULL;
		*p++ = 0xa2;    /* field 100, length-delimited: 100 << 3 | 2 = 0x322 */
		*p++ = 0x06;
		while (n >= 0x80) {
			*p++ = (uint8_t)(n | 0x80);
			n >>= 7;
		}
		*p++ = (uint8_t)n;
		memset(p, 'x', blob);
		zmsg_destroy(&msg);
		msg = s_report_plus(ctx, f, more, (size_t)(p - more) + blob);
		free(more);
		if (msg == NULL)
			return NULL;
		size = zframe_size(zmsg_first(msg));
		if (size == TF_MESSAGE_MAX + 1)
			break;
		blob = blob + TF_MESSAGE_MAX + 1 - size;
	}
	return msg;
}

/* As costly to decode as 256 KiB can be: refused for what decoding takes. */
static zmsg_t *c_unknown_fields_flood(ctx_t *ctx) { return s_msg(s_flood_frame(ctx, FLOOD_UNKNOWN, ctx->number)); }
static zmsg_t *c_empty_candidates_flood(ctx_t *ctx) { return s_msg(s_flood_frame(ctx, FLOOD_CANDIDATES, ctx->number)); }
static zmsg_t *c_empty_seats_flood(ctx_t *ctx) { return s_msg(s_flood_frame(ctx, FLOOD_REPEATED, ctx->number)); }

static zmsg_t *
c_wrong_wire_type(ctx_t *ctx)
{
	static const uint8_t id_as_varint[] = { 0x20, 0x01 };  /* field 4, varint 1 */
	zframe_t *frame;
	draft_t d;

	if (s_draft(ctx, &d, T_REPORT, &s_villagers(ctx)->r.base) != 0)
		return NULL;
	d.env.message_id.len = 0;       /* packed without it, then added as a number */
	frame = s_draft_frame(ctx, &d);
	return s_msg(s_frame_append(&frame, id_as_varint, sizeof id_as_varint));
}

static zmsg_t *
c_sequence_over_int64(ctx_t *ctx)
{
	draft_t d;

	if (s_draft(ctx, &d, T_REPORT, &s_villagers(ctx)->r.base) != 0)
		return NULL;
	d.env.sequence = (uint64_t)INT64_MAX + 1;
	return s_draft_msg(ctx, &d);
}

/* ---- the envelope's fields ---- */

typedef enum {
	ENV_VERSION_3, ENV_VERSION_0, ENV_ID_15, ENV_ID_17, ENV_AGENT_EMPTY, ENV_AGENT_LONG,
	ENV_AGENT_BLANK, ENV_TYPE_0, ENV_TYPE_3
} env_spoil_t;

static zmsg_t *
s_envelope_spoiled(ctx_t *ctx, env_spoil_t what)
{
	draft_t d;
	char long_id[TF_AGENT_ID_MAX + 2];

	if (s_draft(ctx, &d, T_REPORT, &s_villagers(ctx)->r.base) != 0)
		return NULL;
	switch (what) {
	case ENV_VERSION_3:
		d.env.protocol_version = 3;
		break;
	case ENV_VERSION_0:
		d.env.protocol_version = 0;
		break;
	case ENV_ID_15:
		d.env.message_id.len = 15;
		break;
	case ENV_ID_17:
		d.env.message_id.len = 17;
		break;
	case ENV_AGENT_EMPTY:
		d.env.agent_id = (char *)"";
		break;
	case ENV_AGENT_LONG:
		memset(long_id, 'a', TF_AGENT_ID_MAX + 1);
		long_id[TF_AGENT_ID_MAX + 1] = '\0';
		d.env.agent_id = long_id;
		break;
	case ENV_AGENT_BLANK:
		d.env.agent_id = (char *)"tf send";
		break;
	case ENV_TYPE_0:
		d.env.payload_type = TALLYFEED__PAYLOAD_TYPE__PAYLOAD_TYPE_UNSPECIFIED;
		break;
	case ENV_TYPE_3:
		d.env.payload_type = (Tallyfeed__PayloadType)3;
		break;
	}
	return s_draft_msg(ctx, &d);
}

static zmsg_t *c_version_3(ctx_t *ctx) { return s_envelope_spoiled(ctx, ENV_VERSION_3); }
static zmsg_t *c_version_0(ctx_t *ctx) { return s_envelope_spoiled(ctx, ENV_VERSION_0); }
static zmsg_t *c_message_id_15(ctx_t *ctx) { return s_envelope_spoiled(ctx, ENV_ID_15); }
static zmsg_t *c_message_id_17(ctx_t *ctx) { return s_envelope_spoiled(ctx, ENV_ID_17); }
static zmsg_t *c_agent_id_empty(ctx_t *ctx) { return s_envelope_spoiled(ctx, ENV_AGENT_EMPTY); }
static zmsg_t *c_agent_id_too_long(ctx_t *ctx) { return s_envelope_spoiled(ctx, ENV_AGENT_LONG); }
static zmsg_t *c_agent_id_blank(ctx_t *ctx) { return s_envelope_spoiled(ctx, ENV_AGENT_BLANK); }
static zmsg_t *c_payload_type_0(ctx_t *ctx) { return s_envelope_spoiled(ctx, ENV_TYPE_0); }
static zmsg_t *c_payload_type_3(ctx_t *ctx) { return s_envelope_spoiled(ctx, ENV_TYPE_3); }

static zmsg_t *
c_agent_id_other(ctx_t *ctx)
{
	draft_t d;

	if (s_draft(ctx, &d, T_REPORT, &s_villagers(ctx)->r.base) != 0)
		return NULL;
	d.env.agent_id = (char *)tf_identity_peer(ctx->other)->name;
	s_draft_sign(&d, ctx->other);
	return s_draft_msg(ctx, &d);
}

static zmsg_t *
c_agent_id_unknown(ctx_t *ctx)
{
	draft_t d;

	if (s_draft(ctx, &d, T_REPORT, &s_villagers(ctx)->r.base) != 0)
		return NULL;
	d.env.agent_id = (char *)"nobody-enrolled";
	return s_draft_msg(ctx, &d);
}

/* ---- the signature ---- */

typedef enum {
	SIG_NONE, SIG_63, SIG_ZEROS, SIG_OTHER_KEY, SIG_ALTERED, SIG_OTHER_REPORT, SIG_V1,
	SIG_REWRAPPED
} sig_spoil_t;

static zmsg_t *
s_signature_spoiled(ctx_t *ctx, sig_spoil_t what)
{
	draft_t d;
	fixture_t *f = s_villagers(ctx);

	if (s_draft(ctx, &d, T_REPORT, &f->r.base) != 0)
		return NULL;
	switch (what) {
	case SIG_NONE:
		d.env.signature.len = 0;
		break;
	case SIG_63:
		d.env.signature.len = TF_SIGNATURE_LEN - 1;
		break;
	case SIG_ZEROS:
		memset(d.sig, 0, sizeof d.sig);
		break;
	case SIG_OTHER_KEY:
		s_draft_sign(&d, ctx->other);
		break;
	case SIG_ALTERED: {
		/* C02's votes_for (field 4) 370 -> 371 after signing: the low
		 * byte of its varint, 0xf2 0x02, goes up by one. */
		uint8_t *p = d.payload;
		size_t i;
		for (i = 0; i + 2 < d.env.payload.len; i++)
			if (p[i] == 0x20 && p[i + 1] == ((370 & 0x7f) | 0x80) && p[i + 2] == (370 >> 7))
				break;
		if (i + 2 >= d.env.payload.len) {
			free(d.payload);
			return NULL;
		}
		p[i + 1]++;
		break;
	}
	case SIG_OTHER_REPORT: {
		/* A genuine signature, but of another report of this agent. */
		draft_t other;
		f->r.revision++;
		if (s_draft(ctx, &other, T_REPORT, &f->r.base) != 0) {
			free(d.payload);
			return NULL;
		}
		memcpy(d.sig, other.sig, sizeof d.sig);
		free(other.payload);
		break;
	}
	case SIG_V1:
		s_draft_sign_v1(&d, ctx->me);
		break;
	case SIG_REWRAPPED:
		/* The agent's genuine signature, the envelope re-wrapped around
		 * its payload with a new message id, sequence and time. */
		tf_message_id_new(d.id);
		d.env.sequence = ctx->next_sequence++;
		d.env.created_unix_ms += 1000;
		break;
	}
	return s_draft_msg(ctx, &d);
}

static zmsg_t *c_unsigned(ctx_t *ctx) { return s_signature_spoiled(ctx, SIG_NONE); }
static zmsg_t *c_signature_63_bytes(ctx_t *ctx) { return s_signature_spoiled(ctx, SIG_63); }
static zmsg_t *c_signature_zeros(ctx_t *ctx) { return s_signature_spoiled(ctx, SIG_ZEROS); }
static zmsg_t *c_signed_by_other_agent(ctx_t *ctx) { return s_signature_spoiled(ctx, SIG_OTHER_KEY); }
static zmsg_t *c_altered_after_signing(ctx_t *ctx) { return s_signature_spoiled(ctx, SIG_ALTERED); }
static zmsg_t *c_signature_of_other_report(ctx_t *ctx) { return s_signature_spoiled(ctx, SIG_OTHER_REPORT); }
static zmsg_t *c_protocol_1(ctx_t *ctx) { return s_signature_spoiled(ctx, SIG_V1); }
static zmsg_t *c_rewrapped(ctx_t *ctx) { return s_signature_spoiled(ctx, SIG_REWRAPPED); }

/* ---- the payload ---- */

static zmsg_t *
c_truncated_payload(ctx_t *ctx)
{
	size_t len;
	uint8_t *bytes = s_pack(&s_villagers(ctx)->r.base, &len);
	draft_t d;
	int rc;

	if (bytes == NULL)
		return NULL;
	/* The last field is announced_on_site: its tag stays, its value goes. */
	rc = s_draft_bytes(ctx, &d, T_REPORT, bytes, len - 1);
	free(bytes);
	return rc == 0 ? s_draft_msg(ctx, &d) : NULL;
}

static zmsg_t *
c_report_wrong_wire_type(ctx_t *ctx)
{
	static const uint8_t round_as_text[] = { 0x1a, 0x01, '2' };    /* field 3, bytes */

	return s_report_plus(ctx, s_villagers(ctx), round_as_text, sizeof round_as_text);
}

static zmsg_t *
c_empty_payload(ctx_t *ctx)
{
	draft_t d;

	if (s_draft_bytes(ctx, &d, T_REPORT, NULL, 0) != 0)
		return NULL;
	return s_draft_msg(ctx, &d);
}

static zmsg_t *
s_heartbeat(ctx_t *ctx, Tallyfeed__PayloadType type, const char *version)
{
	Tallyfeed__Heartbeat hb = TALLYFEED__HEARTBEAT__INIT;
	draft_t d;

	hb.spool_depth = 3;
	hb.oldest_pending_age_s = 40;
	hb.last_acked_sequence = 41;
	hb.software_version = (char *)version;
	hb.uptime_s = 3600;
	if (s_draft(ctx, &d, type, &hb.base) != 0)
		return NULL;
	return s_draft_msg(ctx, &d);
}

static zmsg_t *
c_heartbeat_as_report(ctx_t *ctx)
{
	return s_heartbeat(ctx, T_REPORT, "tf-bad");
}

static zmsg_t *
c_report_as_heartbeat(ctx_t *ctx)
{
	draft_t d;

	if (s_draft(ctx, &d, T_HEARTBEAT, &s_villagers(ctx)->r.base) != 0)
		return NULL;
	return s_draft_msg(ctx, &d);
}

static zmsg_t *
c_heartbeat_garbage(ctx_t *ctx)
{
	static const uint8_t junk[] = { 0x08, 0xff, 0xff, 0xff };       /* a varint cut short */
	draft_t d;

	if (s_draft_bytes(ctx, &d, T_HEARTBEAT, junk, sizeof junk) != 0)
		return NULL;
	return s_draft_msg(ctx, &d);
}

static zmsg_t *
c_heartbeat_control_char(ctx_t *ctx)
{
	return s_heartbeat(ctx, T_HEARTBEAT, "1.0\x1b[2J");
}

static zmsg_t *
c_heartbeat_version_too_long(ctx_t *ctx)
{
	return s_heartbeat(ctx, T_HEARTBEAT, "tallyfeed-agent 1.0.0-rc1+build.4711");
}

/* ---- the report's shape ---- */

static zmsg_t *
c_unit_13_digits(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.unit_code = (char *)"6301211002010";
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_unit_11_digits(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.unit_code = (char *)"63012110020";
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_committee_0(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.committee = TALLYFEED__COMMITTEE__COMMITTEE_UNSPECIFIED;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_committee_7(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.committee = (Tallyfeed__Committee)7;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_round_0(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.round = 0;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_round_10(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.round = 10;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_revision_0(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.revision = 0;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_revision_over_ceiling(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.revision = 1000001;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_date_feb_30(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.held_on = (char *)"2017-02-30";
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_date_slashes(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.held_on = (char *)"2017/11/12";
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_photo_hash_31(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.sheet_photo_sha256.len = 31;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_ballot_mode_0(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.ballot_mode = TALLYFEED__BALLOT_MODE__BALLOT_MODE_UNSPECIFIED;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_no_candidates(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.n_candidates = 0;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_candidates_201(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	/* 201 member candidates with a vote each: nothing else wrong. */
	while (f->r.n_candidates < TF_CANDIDATES_MAX + 1) {
		size_t i = f->r.n_candidates;
		person_t p = { f->ids[i], "候选人", MEMBER, 1, false, MALE, "汉族", 1970, JUNIOR,
		               false };

		snprintf(f->ids[i], sizeof f->ids[i], "X%03zu", i);
		s_add(f, &p);
	}
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_no_seats(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.n_seats = 0;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_seats_0(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->seat[1].count = 0;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_seats_repeated(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->seat[1].position = HEAD;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_seats_position_0(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	tallyfeed__seats__init(&f->seat[f->r.n_seats]);
	f->seat[f->r.n_seats].position = NO_POSITION;
	f->seat[f->r.n_seats].count = 1;
	f->seats[f->r.n_seats] = &f->seat[f->r.n_seats];
	f->r.n_seats++;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_candidate_without_seats(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	/* No deputy seats this time, but the deputy candidates stay. */
	s_seats(f, 1, 0, 3);
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_candidate_id_missing(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	s_cand(f, "C09")->candidate_id = (char *)"";
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_candidate_id_twice(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	s_cand(f, "C09")->candidate_id = (char *)"C08";
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_candidate_id_too_long(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	s_cand(f, "C09")->candidate_id = (char *)"C09-abcdefghijklmnopqrstuvwxyz-01";
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_candidate_id_not_ascii(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	s_cand(f, "C09")->candidate_id = (char *)"候选九";
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_name_missing(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	s_cand(f, "C09")->name = (char *)"";
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_name_too_long(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	/* 22 characters of 3 bytes: 66 bytes, over the 64 allowed. */
	s_cand(f, "C09")->name = (char *)"冶福林冶福林冶福林冶福林冶福林冶福林冶福林冶";
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_name_invalid_utf8(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	s_cand(f, "C09")->name = (char *)"\xe5\x86\xb6\xe7\xa6\x8f\xc3\x28";
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_name_control_char(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	s_cand(f, "C09")->name = (char *)"冶福林\r\n赵红梅";
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_ethnicity_too_long(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	/* 11 characters of 3 bytes: 33 bytes, over the 32 allowed. */
	s_cand(f, "C05")->ethnicity = (char *)"汉族汉族汉族汉族汉族汉";
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_position_7(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	s_cand(f, "C09")->position = (Tallyfeed__Position)7;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_gender_9(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	s_cand(f, "C05")->gender = (Tallyfeed__Gender)9;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_education_12(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	s_cand(f, "C06")->education = (Tallyfeed__Education)12;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_elected_without_gender(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	s_cand(f, "C06")->gender = TALLYFEED__GENDER__GENDER_UNSPECIFIED;
	return s_report_msg(ctx, f);
}

/* ---- counts ---- */

static zmsg_t *
c_registered_0(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.registered = 0;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_registered_huge(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.registered = 2000000;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_registered_negative_varint(ctx_t *ctx)
{
	/* Field 6 (registered) = -1 as an int64 encoder writes it: ten bytes. */
	static const uint8_t minus_one[] = {
		0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
	};
	fixture_t *f = s_villagers(ctx);

	f->r.registered = 0;    /* not packed: the only registered is the -1 */
	return s_report_plus(ctx, f, minus_one, sizeof minus_one);
}

static zmsg_t *
c_votes_negative(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	s_cand(f, "C09")->votes_for = (uint32_t)-5;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_seats_huge(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->seat[2].count = TF_COUNT_MAX + 1;
	return s_report_msg(ctx, f);
}

/* ---- the unit ---- */

static zmsg_t *
s_villagers_at(ctx_t *ctx, const char *unit, Tallyfeed__Committee committee)
{
	fixture_t *f = s_villagers(ctx);

	f->r.unit_code = (char *)unit;
	f->r.committee = committee;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_unit_unknown(ctx_t *ctx)
{
	return s_villagers_at(ctx, "630121100398", TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS);
}

static zmsg_t *
c_unit_other_province(ctx_t *ctx)
{
	return s_villagers_at(ctx, "110101001201", TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS);
}

static zmsg_t *
c_unit_type_unknown(ctx_t *ctx)
{
	return s_villagers_at(ctx, "630121100701", TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS);
}

static zmsg_t *
c_unit_is_township(ctx_t *ctx)
{
	return s_villagers_at(ctx, "630121100000", TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS);
}

static zmsg_t *
c_villagers_in_community(ctx_t *ctx)
{
	return s_villagers_at(ctx, RESIDENTS_UNIT, TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS);
}

static zmsg_t *
c_residents_in_village(ctx_t *ctx)
{
	return s_villagers_at(ctx, UNIT, TALLYFEED__COMMITTEE__COMMITTEE_RESIDENTS);
}

static zmsg_t *
c_outside_township(ctx_t *ctx)
{
	return s_villagers_at(ctx, OTHER_TOWNSHIP_UNIT, TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS);
}

/* ---- the arithmetic ---- */

static zmsg_t *
c_ballot_sum(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.ballots_invalid = 12;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_returned_over_issued(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.ballots_issued = 1000;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_took_part_over_registered(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.registered = 1002;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_party_over_should_attend(ctx_t *ctx)
{
	fixture_t *f = s_party_branch(ctx);

	/* 38 should attend, 2 excused: 36 at most; 37 said to be present. */
	f->r.took_part = 37;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_party_all_excused(ctx_t *ctx)
{
	fixture_t *f = s_party_branch(ctx);

	f->r.excused = 38;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_votes_over_valid(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	s_cand(f, "C09")->votes_for = 991;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_marks_over_valid(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);
	Tallyfeed__Candidate *c = s_cand(f, "C09");

	c->votes_against = 700;
	c->votes_abstain = 81;  /* 210 + 700 + 81 = 991 marks on 990 ballots */
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_position_votes_over(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	s_cand(f, "C02")->votes_for = 400;     /* 612 + 400 > 990 x 1 head seat */
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_proxy_in_party(ctx_t *ctx)
{
	fixture_t *f = s_party_branch(ctx);

	f->r.proxy_votes = 1;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_excused_in_villagers(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	f->r.excused = 2;
	return s_report_msg(ctx, f);
}

/* ---- who is elected ---- */

static zmsg_t *
c_winner_not_marked(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);
	Tallyfeed__Candidate *c = s_cand(f, "C01");

	c->elected = false;
	c->position_won = NO_POSITION;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_loser_marked_elected(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);
	Tallyfeed__Candidate *c = s_cand(f, "C08");

	c->elected = true;
	c->position_won = MEMBER;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_position_won_wrong(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	s_cand(f, "C05")->position_won = DEPUTY;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_position_won_by_loser(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	s_cand(f, "C09")->position_won = MEMBER;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_elected_without_quorum(ctx_t *ctx)
{
	fixture_t *f = s_villagers(ctx);

	/* 1003 of 2006 voted: exactly half, no quorum, so no one is elected;
	 * the flags still elect five. */
	f->r.registered = 2006;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_party_exactly_half(ctx_t *ctx)
{
	fixture_t *f = s_party_branch(ctx);

	/* 32 present; C03 with 16 yes-votes is exactly half: not elected. */
	f->r.took_part = 32;
	f->r.ballots_issued = 32;
	f->r.ballots_returned = 32;
	f->r.ballots_valid = 31;
	s_cand(f, "C03")->votes_for = 16;
	return s_report_msg(ctx, f);
}

/* ---- what is stored already ---- */

static zmsg_t *
c_good_unknown_fields(ctx_t *ctx)
{
	/* Field 99 (text) in the report; field 99 (varint) in the envelope. */
	static const uint8_t in_report[] = { 0x9a, 0x06, 0x03, 'n', 'e', 'w' };
	static const uint8_t in_envelope[] = { 0x98, 0x06, 0x01 };
	zmsg_t *msg = s_report_plus(ctx, s_villagers_of(ctx, "630121100203", 1), in_report,
	                            sizeof in_report);
	zframe_t *frame;

	if (msg == NULL)
		return NULL;
	frame = zmsg_pop(msg);
	zmsg_destroy(&msg);
	return s_msg(s_frame_append(&frame, in_envelope, sizeof in_envelope));
}

static zmsg_t *
c_good_stored(ctx_t *ctx)
{
	ctx->replay_sequence = ctx->next_sequence;
	return s_report_msg(ctx, s_villagers_of(ctx, "630121100202", 1));
}

static zmsg_t *
c_replayed_sequence(ctx_t *ctx)
{
	fixture_t *f = s_villagers_of(ctx, "630121100204", 1);
	draft_t d;

	if (s_draft(ctx, &d, T_REPORT, &f->r.base) != 0)
		return NULL;
	d.env.sequence = ctx->replay_sequence;
	s_draft_sign(&d, ctx->me);      /* a replay its own agent signed */
	return s_draft_msg(ctx, &d);
}

static zmsg_t *
c_revision_exists(ctx_t *ctx)
{
	fixture_t *f = s_villagers_of(ctx, "630121100202", 1);

	f->r.took_part = 1010;
	f->r.ballots_issued = 1010;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_runoff_without_round1(ctx_t *ctx)
{
	return s_report_msg(ctx, s_runoff(ctx, "630121100206", 1));
}

static zmsg_t *
c_round3_without_round2(ctx_t *ctx)
{
	fixture_t *f = s_villagers_of(ctx, "630121100207", 1);

	f->r.round = 3;
	s_photo(f);
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_good_round1_tie(ctx_t *ctx)
{
	fixture_t *f = s_villagers_of(ctx, "630121100208", 1);
	Tallyfeed__Candidate *c7 = s_cand(f, "C07");

	/* C07 and C08 tie at the last member seat: neither takes it. */
	s_cand(f, "C08")->votes_for = c7->votes_for;
	c7->elected = false;
	c7->position_won = NO_POSITION;
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_runoff_more_seats(ctx_t *ctx)
{
	return s_report_msg(ctx, s_runoff(ctx, "630121100208", 2));
}

static zmsg_t *
c_good_round1_full(ctx_t *ctx)
{
	return s_report_msg(ctx, s_villagers_of(ctx, "630121100209", 1));
}

static zmsg_t *
c_runoff_after_full(ctx_t *ctx)
{
	return s_report_msg(ctx, s_runoff(ctx, "630121100209", 1));
}

static zmsg_t *
c_good_round1_invalid(ctx_t *ctx)
{
	static const unsigned votes[] = { 300, 250, 300, 200, 400, 350, 300, 200, 100 };
	fixture_t *f = s_villagers_of(ctx, "630121100210", 1);

	/* 590 of 1180 voted: exactly half, no quorum, no one elected. */
	f->r.took_part = 590;
	f->r.proxy_votes = 0;
	f->r.ballots_issued = 590;
	f->r.ballots_returned = 590;
	f->r.ballots_valid = 580;
	f->r.ballots_invalid = 10;
	for (size_t i = 0; i < f->r.n_candidates; i++) {
		f->cand[i].votes_for = votes[i];
		f->cand[i].elected = false;
		f->cand[i].position_won = NO_POSITION;
	}
	return s_report_msg(ctx, f);
}

static zmsg_t *
c_runoff_after_invalid(ctx_t *ctx)
{
	return s_report_msg(ctx, s_runoff(ctx, "630121100210", 1));
}

static zmsg_t *
c_good_final(ctx_t *ctx)
{
	return s_report_msg(ctx, s_villagers_of(ctx, UNIT, 1));
}

/* ---- the table ---- */

typedef enum {
	KEPT_QUARANTINE,        /* REJECTED, raw bytes and reason in tallyfeed.quarantine */
	KEPT_NOTHING,           /* refused: nothing of it stored anywhere */
	KEPT_RESULT             /* ACCEPTED: one row in tallyfeed.result */
} kept_t;

typedef struct {
	const char *name;
	Tallyfeed__Verdict verdict;
	int reason;
	kept_t kept;
	bool needs_other;       /* needs OTHER_KEY */
	zmsg_t *(*build)(ctx_t *ctx);
	const char *what;
} bad_case_t;

#define R(x) TALLYFEED__REASON__REASON_##x
#define BAD(n, reason, what) \
	{ #n, TALLYFEED__VERDICT__VERDICT_REJECTED, R(reason), KEPT_QUARANTINE, false, c_##n, what }
#define BAD2(n, reason, what) \
	{ #n, TALLYFEED__VERDICT__VERDICT_REJECTED, R(reason), KEPT_QUARANTINE, true, c_##n, what }
#define REFUSED(n, reason, other, what) \
	{ #n, TALLYFEED__VERDICT__VERDICT_REJECTED, R(reason), KEPT_NOTHING, other, c_##n, what }
#define DEFERRED(n, reason, what) \
	{ #n, TALLYFEED__VERDICT__VERDICT_DEFERRED, R(reason), KEPT_NOTHING, false, c_##n, what }
#define GOOD(n, what) \
	{ #n, TALLYFEED__VERDICT__VERDICT_ACCEPTED, R(NONE), KEPT_RESULT, false, c_##n, what }

static const bad_case_t s_cases[] = {
	/* The frame. */
	BAD(empty_frame, BAD_MESSAGE_ID,
	    "a zero-byte frame: proto3 reads it as an Envelope with every field at its default, "
	    "and the first field checked, message_id, is 0 bytes"),
	BAD(garbage, MALFORMED_ENVELOPE, "300 bytes of junk starting with an 11-byte varint"),
	BAD(text_line, MALFORMED_ENVELOPE, "a CSV line of figures instead of protobuf"),
	BAD(truncated_envelope, MALFORMED_ENVELOPE,
	    "a sound envelope cut in half, inside its payload"),
	BAD(two_frames, MALFORMED_ENVELOPE,
	    "a sound envelope followed by a second frame in the same ZeroMQ message"),
	BAD(oversize_frame, MESSAGE_TOO_LARGE,
	    "a signed report with a big unknown field, 256 KiB + 1 byte in all"),
	BAD(unknown_fields_flood, DECODE_TOO_LARGE,
	    "a sound report in an envelope padded to 256 KiB with 2-byte unknown fields "
	    "(field 15, varint 0): some 8 MiB once decoded"),
	BAD(empty_candidates_flood, DECODE_TOO_LARGE,
	    "a signed report followed by 256 KiB of empty candidates (3 bytes each)"),
	BAD(empty_seats_flood, DECODE_TOO_LARGE,
	    "a signed report followed by 256 KiB of empty seats entries (2 bytes each)"),
	BAD(wrong_wire_type, MALFORMED_ENVELOPE,
	    "message_id (bytes, field 4) sent as a varint"),
	BAD(sequence_over_int64, MALFORMED_ENVELOPE,
	    "sequence 2^63, beyond what the database's bigint holds (the envelope cannot be "
	    "stored as it stands, so it counts as malformed)"),
	/* The envelope's fields. */
	BAD(version_3, UNSUPPORTED_VERSION, "protocol_version 3, the first no collector speaks"),
	BAD(version_0, UNSUPPORTED_VERSION,
	    "protocol_version missing (0); the same code as any version not spoken"),
	BAD(message_id_15, BAD_MESSAGE_ID, "a message id of 15 bytes"),
	BAD(message_id_17, BAD_MESSAGE_ID, "a message id of 17 bytes; the code for any length but 16"),
	BAD(agent_id_empty, BAD_AGENT_ID, "an empty agent id"),
	BAD(agent_id_too_long, BAD_AGENT_ID,
	    "an agent id of 65 bytes; the code says empty, too long or not printable"),
	BAD(agent_id_blank, BAD_AGENT_ID, "an agent id with a space in it (\"tf send\")"),
	REFUSED(agent_id_other, AGENT_MISMATCH, true,
	        "the other enrolled agent's id, signed with its key, on this agent's connection; "
	        "an identity refusal: nothing stored"),
	REFUSED(agent_id_unknown, AGENT_MISMATCH, false,
	        "an agent id no one has; an agent speaks only as itself (UNKNOWN_AGENT is for "
	        "importers), so this too is an identity refusal"),
	BAD(payload_type_0, UNKNOWN_PAYLOAD_TYPE, "payload_type UNSPECIFIED (0)"),
	BAD(payload_type_3, UNKNOWN_PAYLOAD_TYPE,
	    "payload_type 3, which no version defines; the code for any type not known"),
	/* The signature. */
	BAD(unsigned, BAD_SIGNATURE, "a sound report with no signature"),
	BAD(signature_63_bytes, BAD_SIGNATURE, "the right signature less its last byte"),
	BAD(signature_zeros, BAD_SIGNATURE, "64 zero bytes as the signature"),
	BAD2(signed_by_other_agent, BAD_SIGNATURE,
	     "forged: this agent's id, but signed with the other enrolled agent's key"),
	BAD(altered_after_signing, BAD_SIGNATURE, "C02's votes 370 -> 371 after signing"),
	BAD(signature_of_other_report, BAD_SIGNATURE,
	    "this agent's genuine signature, but of another revision of the report"),
	BAD(protocol_1, UNSUPPORTED_VERSION,
	    "protocol 1, only the payload signed: refused unless collector/accept_protocol_1"),
	BAD(rewrapped, BAD_SIGNATURE,
	    "this agent's genuine signature, its envelope re-wrapped with a new message id, "
	    "sequence and time"),
	/* The payload. */
	BAD(truncated_payload, MALFORMED_PAYLOAD,
	    "a report less its last byte (a tag without its value), signed as it is"),
	BAD(report_wrong_wire_type, MALFORMED_PAYLOAD, "round (a varint, field 3) sent also as bytes"),
	BAD(heartbeat_as_report, MALFORMED_PAYLOAD,
	    "a Heartbeat's bytes declared as a ResultReport"),
	BAD(report_as_heartbeat, MALFORMED_PAYLOAD,
	    "a ResultReport's bytes declared as a Heartbeat"),
	BAD(heartbeat_garbage, MALFORMED_PAYLOAD, "a heartbeat whose bytes end inside a varint"),
	BAD(heartbeat_control_char, MALFORMED_PAYLOAD,
	    "a heartbeat whose software_version holds an escape sequence"),
	BAD(heartbeat_version_too_long, MALFORMED_PAYLOAD,
	    "a heartbeat whose software_version is 36 bytes (at most 32)"),
	BAD(empty_payload, MISSING_FIELD,
	    "a signed, empty report: it decodes, and unit_code, the first field checked, is missing"),
	/* The report's shape. */
	BAD(unit_13_digits, FIELD_TOO_LONG, "unit code of 13 digits"),
	BAD(unit_11_digits, UNKNOWN_UNIT,
	    "unit code of 11 digits; no registry entry can have it"),
	BAD(committee_0, MISSING_FIELD, "committee UNSPECIFIED (0)"),
	BAD(committee_7, MISSING_FIELD,
	    "committee 7, not a declared value; the rules give an enum they do not know the "
	    "code of a field missing"),
	BAD(round_0, BAD_ROUND, "round 0"),
	BAD(round_10, BAD_ROUND, "round 10, past the ceiling of 9"),
	BAD(revision_0, BAD_ROUND, "revision 0; BAD_ROUND covers round and revision"),
	BAD(revision_over_ceiling, BAD_ROUND, "revision 1,000,001, past the ceiling"),
	BAD(date_feb_30, BAD_DATE, "held on 2017-02-30"),
	BAD(date_slashes, BAD_DATE, "held on 2017/11/12"),
	BAD(photo_hash_31, BAD_PHOTO_HASH, "a sheet photo hash of 31 bytes"),
	BAD(ballot_mode_0, MISSING_FIELD, "ballot mode UNSPECIFIED (0)"),
	BAD(no_candidates, MISSING_FIELD, "no candidates at all"),
	BAD(candidates_201, TOO_MANY_CANDIDATES, "201 candidates, one over the ceiling"),
	BAD(no_seats, BAD_SEATS, "no seats entries"),
	BAD(seats_0, BAD_SEATS, "0 deputy seats"),
	BAD(seats_repeated, BAD_SEATS, "seats for the head given twice"),
	BAD(seats_position_0, BAD_SEATS, "a seats entry for position UNSPECIFIED"),
	BAD(candidate_without_seats, BAD_SEATS, "deputy candidates, but no deputy seats"),
	BAD(candidate_id_missing, MISSING_FIELD, "a candidate with an empty id"),
	BAD(candidate_id_twice, DUPLICATE_CANDIDATE, "two candidates with the id C08"),
	BAD(candidate_id_too_long, FIELD_TOO_LONG, "a candidate id of 33 bytes"),
	BAD(candidate_id_not_ascii, FIELD_TOO_LONG,
	    "a candidate id in Chinese characters (ids are ASCII); the code for a string "
	    "outside its bounds"),
	BAD(name_missing, MISSING_FIELD, "a candidate with an empty name"),
	BAD(name_too_long, FIELD_TOO_LONG, "a name of 66 bytes"),
	BAD(name_invalid_utf8, FIELD_TOO_LONG, "a name ending in the invalid UTF-8 C3 28"),
	BAD(name_control_char, FIELD_TOO_LONG, "a name with CR LF inside"),
	BAD(ethnicity_too_long, FIELD_TOO_LONG, "an ethnicity of 33 bytes"),
	BAD(position_7, MISSING_FIELD, "a candidate standing for position 7 (undeclared)"),
	BAD(gender_9, MISSING_FIELD, "an elected candidate of gender 9 (undeclared)"),
	BAD(education_12, MISSING_FIELD, "an elected candidate of education 12 (undeclared)"),
	BAD(elected_without_gender, MISSING_FIELD,
	    "an elected candidate with no gender, which the schema requires when elected"),
	/* Counts. */
	BAD(registered_0, MISSING_FIELD, "0 registered voters"),
	BAD(registered_huge, COUNT_TOO_LARGE, "2,000,000 registered in one village"),
	BAD(registered_negative_varint, COUNT_TOO_LARGE,
	    "registered = -1 as a 10-byte varint: read as 4294967295"),
	BAD(votes_negative, COUNT_TOO_LARGE, "votes for = -5 as uint32 (4294967291)"),
	BAD(seats_huge, BAD_SEATS, "1,000,001 member seats (seats have their own bound, 100)"),
	/* The unit. */
	BAD(unit_unknown, UNKNOWN_UNIT, "a well-formed village code of this township not in the registry"),
	BAD(unit_other_province, UNKNOWN_UNIT, "a Beijing code, 110101001201"),
	BAD(unit_type_unknown, UNIT_TYPE_UNKNOWN, "unit 630121100701: 701 is no committee type"),
	BAD(unit_is_township, UNIT_TYPE_UNKNOWN,
	    "the township's own code 630121100000 as the unit (000 is no committee type)"),
	BAD(villagers_in_community, COMMITTEE_MISMATCH,
	    "a villagers' committee in a residents' community (630121100001)"),
	BAD(residents_in_village, COMMITTEE_MISMATCH,
	    "a residents' committee in a village (630121100201)"),
	BAD(outside_township, OUTSIDE_TOWNSHIP,
	    "a village of 城关镇 (630121101201), not this agent's 桥头镇"),
	/* The arithmetic. */
	BAD(ballot_sum, BALLOT_SUM, "valid 990 + invalid 12 != returned 1001"),
	BAD(returned_over_issued, RETURNED_OVER_ISSUED, "1001 returned of 1000 issued"),
	BAD(took_part_over_registered, TURNOUT_OVER_REGISTERED, "1003 took part of 1002 registered"),
	BAD(party_over_should_attend, TURNOUT_OVER_REGISTERED,
	    "Party branch: 37 present of 38 less 2 excused"),
	BAD(party_all_excused, TURNOUT_OVER_REGISTERED,
	    "Party branch: all 38 excused, yet 33 present"),
	BAD(votes_over_valid, VOTES_OVER_VALID, "a candidate with 991 votes of 990 valid ballots"),
	BAD(marks_over_valid, VOTES_OVER_VALID,
	    "for + against + abstain = 991 marks on 990 valid ballots"),
	BAD(position_votes_over, POSITION_VOTES_OVER,
	    "head candidates' votes sum to 1012 for 990 ballots x 1 seat"),
	BAD(proxy_in_party, PROXY_IN_PARTY, "a Party branch election with a proxy vote"),
	BAD(excused_in_villagers, MISSING_FIELD,
	    "2 excused in a villagers' election (excused is for Party branches); the rules "
	    "have no closer code"),
	/* Who is elected. */
	BAD(winner_not_marked, ELECTED_MISMATCH, "the head with 612 of 1003 votes not marked elected"),
	BAD(loser_marked_elected, ELECTED_MISMATCH, "a member with 300 of 1003 votes marked elected"),
	BAD(position_won_wrong, ELECTED_MISMATCH,
	    "a member candidate marked as winning the deputy's seat"),
	BAD(position_won_by_loser, ELECTED_MISMATCH, "a candidate not elected with a position won"),
	BAD(elected_without_quorum, ELECTED_MISMATCH,
	    "1003 of 2006 voted (no quorum), yet the flags elect five"),
	BAD(party_exactly_half, ELECTED_MISMATCH,
	    "Party branch: 16 yes-votes of 32 present (exactly half fails) marked elected"),
	/* What is stored already. */
	GOOD(good_unknown_fields,
	     "a sound report (unit 630121100203) with unknown fields in report and envelope: "
	     "kept and ignored"),
	GOOD(good_stored, "a sound report of unit 630121100202, round 1, revision 1"),
	BAD(replayed_sequence, REPLAYED_SEQUENCE,
	    "a sound report of unit 630121100204 reusing good_stored's sequence number"),
	BAD(revision_exists, REVISION_EXISTS,
	    "unit 630121100202 round 1 revision 1 again, from a new message with other figures"),
	DEFERRED(runoff_without_round1, RUNOFF_WITHOUT_ROUND1,
	    "a sound runoff (round 2) of unit 630121100206, which has no round 1: early, not "
	    "wrong, so deferred (the agent keeps it and sends it again)"),
	DEFERRED(round3_without_round2, RUNOFF_WITHOUT_ROUND1,
	    "a re-election (round 3) of unit 630121100207 with no earlier round; the code for "
	    "any round without the one before"),
	GOOD(good_round1_tie,
	     "unit 630121100208, round 1: a tie at the last member seat leaves it unfilled"),
	BAD(runoff_more_seats, RUNOFF_SEATS,
	    "a runoff of unit 630121100208 for 2 member seats; round 1 left 1"),
	GOOD(good_round1_full, "unit 630121100209, round 1: every seat filled"),
	BAD(runoff_after_full, RUNOFF_SEATS,
	    "a runoff of unit 630121100209, whose round 1 filled every seat"),
	GOOD(good_round1_invalid, "unit 630121100210, round 1: exactly half voted, no quorum"),
	BAD(runoff_after_invalid, RUNOFF_SEATS,
	    "a runoff of unit 630121100210, whose round 1 was not a valid election"),
	GOOD(good_final, "the example report (unit 630121100201): the collector still serves"),
};

#define NCASES (sizeof s_cases / sizeof s_cases[0])

static const char *
s_kept_word(kept_t kept)
{
	return kept == KEPT_QUARANTINE ? "quarantine" : kept == KEPT_NOTHING ? "nothing" : "result";
}

static void
s_list(void)
{
	for (size_t i = 0; i < NCASES; i++)
		printf("%s\t%s\t%s\t%s\t%s\n", s_cases[i].name, tf_verdict_name(s_cases[i].verdict),
		       tf_reason_name(s_cases[i].reason), s_kept_word(s_cases[i].kept), s_cases[i].what);
}

/* ---- sending ---- */

/* The Ack for the message sent last, or NULL after timeout_ms.  An Ack
 * for another message id (a late answer to an earlier case) is skipped. */
static tf_ack_t *
s_await(ctx_t *ctx, const uint8_t *id, size_t id_len, int timeout_ms)
{
	int64_t deadline = zclock_mono() + timeout_ms;

	while (zclock_mono() < deadline) {
		zframe_t *reply;
		tf_ack_t *ack;

		zsock_set_rcvtimeo(ctx->dealer, (int)(deadline - zclock_mono()) + 1);
		reply = zframe_recv(ctx->dealer);
		if (reply == NULL)
			return NULL;
		ack = tf_ack_decode(zframe_data(reply), zframe_size(reply));
		zframe_destroy(&reply);
		if (ack == NULL)
			continue;
		if (id == NULL || ack->message_id.len == 0
		    || (ack->message_id.len == id_len && memcmp(ack->message_id.data, id, id_len) == 0))
			return ack;
		tf_ack_destroy(&ack);
	}
	return NULL;
}

static void
s_hex(const uint8_t *data, size_t len, char *out, size_t outlen)
{
	sodium_bin2hex(out, outlen, data, len);
}

/* Send one case and judge its Ack; 0 if as promised. */
static int
s_run(ctx_t *ctx, const bad_case_t *bc, FILE *record)
{
	uint8_t digest[crypto_hash_sha256_BYTES];
	char sha[2 * sizeof digest + 1], id[2 * (TF_MESSAGE_ID_LEN + 1) + 1];
	const char *verdict = "NO-ANSWER", *reason = "-";
	tf_ack_t *ack;
	zmsg_t *msg;
	size_t raw_len;
	int rc = -1;

	ctx->id_len = 0;
	msg = bc->build(ctx);
	if (msg == NULL) {
		printf("FAIL %s could not be built (out of memory?)\n", bc->name);
		return -1;
	}
	raw_len = zframe_size(zmsg_first(msg));
	crypto_hash_sha256(digest, zframe_data(zmsg_first(msg)), raw_len);
	s_hex(digest, sizeof digest, sha, sizeof sha);
	s_hex(ctx->id, ctx->id_len, id, sizeof id);
	if (zmsg_send(&msg, ctx->dealer) != 0) {
		zmsg_destroy(&msg);
		printf("FAIL %s could not be sent\n", bc->name);
		return -1;
	}
	ack = s_await(ctx, ctx->id_len > 0 ? ctx->id : NULL, ctx->id_len, ACK_TIMEOUT_MS);
	if (ack != NULL) {
		verdict = tf_verdict_name(ack->verdict);
		reason = tf_reason_name(ack->reason);
		if (ack->verdict == bc->verdict && (int)ack->reason == bc->reason)
			rc = 0;
	}
	if (rc == 0)
		printf("ok %s %s %s\n", bc->name, verdict, reason);
	else
		printf("FAIL %s expected %s %s got %s %s%s%s\n", bc->name, tf_verdict_name(bc->verdict),
		       tf_reason_name(bc->reason), verdict, reason, ack ? ": " : "",
		       ack ? ack->detail : "");
	/* name, verdict, reason name and code, kept, first frame's length and
	 * SHA-256, message id (\N: none), and the answer. */
	if (record != NULL)
		fprintf(record, "%s\t%s\t%s\t%d\t%s\t%zu\t%s\t%s\t%s\t%s\n", bc->name,
		        tf_verdict_name(bc->verdict), tf_reason_name(bc->reason), bc->reason,
		        s_kept_word(bc->kept), raw_len, sha, ctx->id_len == TF_MESSAGE_ID_LEN ? id : "\\N",
		        verdict, reason);
	tf_ack_destroy(&ack);
	return rc;
}

/* N sound reports back to back, each frame saved to DIR to be sent again. */
static int
s_burst(ctx_t *ctx, int n, const char *dir)
{
	uint8_t ids[BURST_MAX][TF_MESSAGE_ID_LEN];
	char verdicts[BURST_MAX][64];
	int answered = 0;

	for (int i = 0; i < n; i++) {
		char unit[32], path[1024];
		zframe_t *frame;
		draft_t d;
		FILE *fp;

		snprintf(unit, sizeof unit, "6301211002%02d", 11 + i);
		if (s_draft(ctx, &d, T_REPORT, &s_villagers_of(ctx, unit, 1)->r.base) != 0)
			return -1;
		frame = s_draft_frame(ctx, &d);
		if (frame == NULL)
			return -1;
		memcpy(ids[i], ctx->id, TF_MESSAGE_ID_LEN);
		snprintf(verdicts[i], sizeof verdicts[i], "NO-ANSWER");
		snprintf(path, sizeof path, "%s/burst-%d.bin", dir, i + 1);
		fp = fopen(path, "wb");
		if (fp == NULL || fwrite(zframe_data(frame), 1, zframe_size(frame), fp)
		                      != zframe_size(frame) || fclose(fp) != 0) {
			fprintf(stderr, "tf-bad: cannot write %s\n", path);
			zframe_destroy(&frame);
			return -1;
		}
		zframe_send(&frame, ctx->dealer, 0);
	}
	while (answered < n) {
		tf_ack_t *ack = s_await(ctx, NULL, 0, ACK_TIMEOUT_MS);

		if (ack == NULL)
			break;
		for (int i = 0; i < n; i++)
			if (ack->message_id.len == TF_MESSAGE_ID_LEN
			    && memcmp(ack->message_id.data, ids[i], TF_MESSAGE_ID_LEN) == 0) {
				snprintf(verdicts[i], sizeof verdicts[i], "%s %s",
				         tf_verdict_name(ack->verdict), tf_reason_name(ack->reason));
				answered++;
			}
		tf_ack_destroy(&ack);
	}
	for (int i = 0; i < n; i++)
		printf("burst-%d %s\n", i + 1, verdicts[i]);
	return answered == n ? 0 : -1;
}

/* ---- floods ---- */

static const char *const s_flood_names[] = { "unknown", "candidates", "repeated", "noid",
	                                     "bad", "text", "mixed" };

/* Each within its field's bound (a unit code is 12 bytes, a name 64, an
 * agent id 64, a version 32), so that only the characters are wrong. */
#define TEXT_UNIT "6301\n\x1b[2J\xe2\x80\xae"
#define TEXT_LINE "forged\ntallyfeed-collector: info: ok\x1b[2J\x07\xe2\x80\xae"
#define TEXT_VERSION "1.0\ntallyfeed: ok\x1b[2J\xe2\x80\xae"

/* Frame i of a text flood: the unit, a name, the agent id, a heartbeat. */
static zframe_t *
s_text_frame(ctx_t *ctx, int i)
{
	Tallyfeed__Heartbeat hb = TALLYFEED__HEARTBEAT__INIT;
	fixture_t *f = s_villagers(ctx);
	draft_t d;
	int rc;

	switch (i % 4) {
	case 0:
		f->r.unit_code = (char *)TEXT_UNIT;
		rc = s_draft(ctx, &d, T_REPORT, &f->r.base);
		break;
	case 1:
		s_cand(f, "C09")->name = (char *)TEXT_LINE;
		rc = s_draft(ctx, &d, T_REPORT, &f->r.base);
		break;
	case 2:
		rc = s_draft(ctx, &d, T_REPORT, &f->r.base);
		d.env.agent_id = (char *)TEXT_LINE;
		break;
	default:
		hb.software_version = (char *)TEXT_VERSION;
		hb.uptime_s = 1;
		rc = s_draft(ctx, &d, T_HEARTBEAT, &hb.base);
		break;
	}
	return rc == 0 ? s_draft_frame(ctx, &d) : NULL;
}

#define FLOOD_WINDOW 32
/* A flood's answers wait behind its other frames and any commit the
 * collector is slow to make (a loaded disk): a deadline, not a guess. */
#define FLOOD_ACK_TIMEOUT_MS 120000

/* A sound report's bytes followed by copies of unit until the envelope
 * around them would reach TF_MESSAGE_MAX. */
static uint8_t *
s_payload_padded(ctx_t *ctx, const uint8_t *unit, size_t unit_len, size_t *len)
{
	size_t base;
	uint8_t *sound = s_pack(&s_villagers_of(ctx, UNIT, 1)->r.base, &base), *all;
	size_t room = TF_MESSAGE_MAX - 512;   /* the envelope's own fields */

	if (sound == NULL)
		return NULL;
	all = malloc(room);
	if (all != NULL) {
		memcpy(all, sound, base);
		*len = base;
		while (*len + unit_len <= room) {
			memcpy(all + *len, unit, unit_len);
			*len += unit_len;
		}
	}
	free(sound);
	return all;
}

/* Frame i of a flood of this kind. */
static zframe_t *
s_flood_frame(ctx_t *ctx, flood_t kind, int i)
{
	static const uint8_t empty_candidate[] = { 0x82, 0x01, 0x00 };  /* field 16, length 0 */
	static const uint8_t empty_seats[] = { 0x7a, 0x00 };            /* field 15, length 0 */
	static const uint8_t unknown[] = { 0x78, 0x00 };                /* field 15, varint 0 */
	uint8_t *bytes = NULL;
	size_t len = 0;
	zframe_t *frame;
	draft_t d;

	if (kind == FLOOD_MIXED)
		kind = (flood_t)(i % 4);
	ctx->number = i;
	switch (kind) {
	case FLOOD_CANDIDATES:
	case FLOOD_REPEATED:
		bytes = kind == FLOOD_CANDIDATES
		        ? s_payload_padded(ctx, empty_candidate, sizeof empty_candidate, &len)
		        : s_payload_padded(ctx, empty_seats, sizeof empty_seats, &len);
		if (bytes == NULL || s_draft_bytes(ctx, &d, T_REPORT, bytes, len) != 0) {
			free(bytes);
			return NULL;
		}
		free(bytes);
		return s_draft_frame(ctx, &d);
	case FLOOD_NOID:
	case FLOOD_BAD:
	case FLOOD_UNKNOWN:
		if (s_draft(ctx, &d, T_REPORT, &s_villagers(ctx)->r.base) != 0)
			return NULL;
		if (kind == FLOOD_NOID)
			d.env.message_id.len = 0;
		if (kind == FLOOD_BAD)
			memset(d.sig, 0, sizeof d.sig);
		frame = s_draft_frame(ctx, &d);
		if (kind != FLOOD_UNKNOWN || frame == NULL)
			return frame;
		bytes = malloc(TF_MESSAGE_MAX);
		if (bytes == NULL) {
			zframe_destroy(&frame);
			return NULL;
		}
		for (len = 0; len + sizeof unknown <= TF_MESSAGE_MAX - zframe_size(frame);)
			for (size_t k = 0; k < sizeof unknown; k++)
				bytes[len++] = unknown[k];
		frame = s_frame_append(&frame, bytes, len);
		free(bytes);
		return frame;
	case FLOOD_TEXT:
		return s_text_frame(ctx, i);
	case FLOOD_MIXED:
		break;
	}
	return NULL;
}

static int
s_flood_kind(const char *word, flood_t *kind)
{
	for (size_t k = 0; k < sizeof s_flood_names / sizeof s_flood_names[0]; k++)
		if (strcmp(word, s_flood_names[k]) == 0) {
			*kind = (flood_t)k;
			return 0;
		}
	fprintf(stderr, "tf-bad: no flood kind %s\n", word);
	return -1;
}

/* Send n frames, FLOOD_WINDOW in flight, and count the answers (any Ack
 * answers one: some of these frames have no message id to match by). */
static int
s_flood(ctx_t *ctx, int n, flood_t kind)
{
	zhashx_t *counts = zhashx_new();
	int sent = 0, answered = 0;

	if (counts == NULL)
		return -1;
	while (answered < n) {
		tf_ack_t *ack;
		char key[128];

		while (sent < n && sent - answered < FLOOD_WINDOW) {
			zframe_t *frame = s_flood_frame(ctx, kind, sent);

			if (frame == NULL || zframe_send(&frame, ctx->dealer, 0) != 0) {
				zframe_destroy(&frame);
				fprintf(stderr, "tf-bad: could not build or send frame %d\n", sent);
				zhashx_destroy(&counts);
				return -1;
			}
			sent++;
		}
		ack = s_await(ctx, NULL, 0, FLOOD_ACK_TIMEOUT_MS);
		if (ack == NULL)
			break;
		snprintf(key, sizeof key, "%s %s", tf_verdict_name(ack->verdict),
		         tf_reason_name(ack->reason));
		zhashx_update(counts, key, (void *)((uintptr_t)zhashx_lookup(counts, key) + 1));
		answered++;
		tf_ack_destroy(&ack);
	}
	for (void *c = zhashx_first(counts); c != NULL; c = zhashx_next(counts))
		printf("flood %s %zu\n", (const char *)zhashx_cursor(counts), (size_t)(uintptr_t)c);
	printf("flood: sent=%d answered=%d\n", sent, answered);
	zhashx_destroy(&counts);
	return answered == n ? 0 : -1;
}

/* The same frames as a bundle file. */
static int
s_flood_bundle(ctx_t *ctx, int n, flood_t kind, const char *path)
{
	zlist_t *frames = zlist_new();
	char err[1024];
	int rc = -1;

	if (frames == NULL)
		return -1;
	for (int i = 0; i < n; i++) {
		zframe_t *frame = s_flood_frame(ctx, kind, i);

		if (frame == NULL)
			goto out;
		zlist_append(frames, frame);
	}
	if (tf_bundle_write(path, tf_identity_peer(ctx->me)->name, frames, err, sizeof err) != 0) {
		fprintf(stderr, "tf-bad: %s\n", err);
		goto out;
	}
	rc = 0;
out:
	for (zframe_t *f = zlist_first(frames); f != NULL; f = zlist_next(frames))
		zframe_destroy(&f);
	zlist_destroy(&frames);
	return rc;
}

static void
s_usage(void)
{
	fprintf(stderr, "usage: tf-bad --list\n"
	                "       tf-bad [--record FILE] ENDPOINT KEY SERVER_CERT [OTHER_KEY]\n"
	                "       tf-bad --burst N DIR ENDPOINT KEY SERVER_CERT\n"
	                "       tf-bad --flood N KIND ENDPOINT KEY SERVER_CERT\n"
	                "       tf-bad --flood-bundle N KIND FILE KEY\n");
}

/* --flood and --flood-bundle. */
static int
s_flood_main(int argc, char **argv)
{
	bool bundle = strcmp(argv[1], "--flood-bundle") == 0;
	ctx_t *ctx;
	tf_peer_t server;
	flood_t kind;
	char err[1024];
	int n, rc = 1;

	if (argc != (bundle ? 6 : 7)) {
		s_usage();
		return 2;
	}
	n = atoi(argv[2]);
	if (n < 1 || n > 1000000 || s_flood_kind(argv[3], &kind) != 0) {
		s_usage();
		return 2;
	}
	ctx = calloc(1, sizeof *ctx);
	if (ctx == NULL)
		return 1;
	ctx->next_sequence = (uint64_t)zclock_usecs();
	ctx->me = tf_identity_load(argv[5], err, sizeof err);
	if (ctx->me == NULL) {
		fprintf(stderr, "tf-bad: %s\n", err);
		goto out;
	}
	if (bundle) {
		rc = s_flood_bundle(ctx, n, kind, argv[4]) == 0 ? 0 : 1;
		goto out;
	}
	if (tf_peer_load(argv[6], &server, err, sizeof err) != 0) {
		fprintf(stderr, "tf-bad: %s\n", err);
		goto out;
	}
	ctx->dealer = zsock_new(ZMQ_DEALER);
	if (ctx->dealer == NULL)
		goto out;
	tf_identity_apply(ctx->me, ctx->dealer);
	zsock_set_curve_serverkey(ctx->dealer, server.curve_public);
	zsock_set_linger(ctx->dealer, 0);
	if (zsock_connect(ctx->dealer, "%s", argv[4]) != 0) {
		fprintf(stderr, "tf-bad: cannot connect to %s\n", argv[4]);
		goto out;
	}
	rc = s_flood(ctx, n, kind) == 0 ? 0 : 1;
out:
	zsock_destroy(&ctx->dealer);
	tf_identity_destroy(&ctx->me);
	free(ctx);
	return rc;
}

int
main(int argc, char **argv)
{
	ctx_t *ctx = NULL;
	tf_peer_t server;
	FILE *record = NULL;
	const char *record_path = NULL, *burst_dir = NULL;
	char err[1024];
	int burst = 0, argi = 1, failed = 0, skipped = 0, rc = 2;

	setvbuf(stdout, NULL, _IOLBF, 0);       /* a line per case, as it happens */
	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		s_list();
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "--flood") == 0 || strcmp(argv[1], "--flood-bundle") == 0))
		return s_flood_main(argc, argv);
	if (argc > 3 && strcmp(argv[1], "--record") == 0) {
		record_path = argv[2];
		argi = 3;
	} else if (argc > 4 && strcmp(argv[1], "--burst") == 0) {
		burst = atoi(argv[2]);
		burst_dir = argv[3];
		argi = 4;
		if (burst < 1 || burst > BURST_MAX) {
			fprintf(stderr, "tf-bad: --burst takes 1 to %d reports\n", BURST_MAX);
			return 2;
		}
	}
	if (argc - argi < 3 || argc - argi > (burst ? 3 : 4)) {
		s_usage();
		return 2;
	}
	rc = 1;
	ctx = calloc(1, sizeof *ctx);
	if (ctx == NULL)
		goto out;
	ctx->me = tf_identity_load(argv[argi + 1], err, sizeof err);
	if (ctx->me == NULL || tf_peer_load(argv[argi + 2], &server, err, sizeof err) != 0) {
		fprintf(stderr, "tf-bad: %s\n", err);
		goto out;
	}
	if (argc - argi == 4) {
		ctx->other = tf_identity_load(argv[argi + 3], err, sizeof err);
		if (ctx->other == NULL) {
			fprintf(stderr, "tf-bad: %s\n", err);
			goto out;
		}
	}
	if (record_path != NULL) {
		record = fopen(record_path, "w");
		if (record == NULL) {
			fprintf(stderr, "tf-bad: cannot write %s\n", record_path);
			goto out;
		}
	}
	/* Sequence numbers from the clock, like tf-send's: never stored before. */
	ctx->next_sequence = (uint64_t)zclock_usecs();
	ctx->dealer = zsock_new(ZMQ_DEALER);
	if (ctx->dealer == NULL)
		goto out;
	tf_identity_apply(ctx->me, ctx->dealer);
	zsock_set_curve_serverkey(ctx->dealer, server.curve_public);
	zsock_set_linger(ctx->dealer, 0);
	if (zsock_connect(ctx->dealer, "%s", argv[argi]) != 0) {
		fprintf(stderr, "tf-bad: cannot connect to %s\n", argv[argi]);
		goto out;
	}
	if (burst > 0) {
		rc = s_burst(ctx, burst, burst_dir) == 0 ? 0 : 1;
		goto out;
	}
	for (size_t i = 0; i < NCASES; i++) {
		ctx->number = (int)i + 1;
		if (s_cases[i].needs_other && ctx->other == NULL) {
			printf("skip %s (needs OTHER_KEY)\n", s_cases[i].name);
			skipped++;
			continue;
		}
		if (s_run(ctx, &s_cases[i], record) != 0)
			failed++;
	}
	printf("tf-bad: %zu cases, %zu passed, %d failed, %d skipped\n", NCASES,
	       NCASES - (size_t)failed - (size_t)skipped, failed, skipped);
	rc = failed == 0 ? 0 : 1;
out:
	if (record != NULL && fclose(record) != 0) {
		fprintf(stderr, "tf-bad: cannot write %s\n", record_path);
		rc = 1;
	}
	if (ctx != NULL) {
		zsock_destroy(&ctx->dealer);
		tf_identity_destroy(&ctx->me);
		tf_identity_destroy(&ctx->other);
		free(ctx);
	}
	return rc;
}
