/*
 * simgen: one unit's simulated two-committee election.
 *
 * The Party branch votes first, then the villagers' or residents'
 * committee (先支部后村委), out of one pool of people per unit, so that the
 * same person can stand for both: that is where 一肩挑 (concurrent_head)
 * and 交叉任职 (cross_serving) come from, and why both committees are
 * always simulated together even when only one is written out.
 *
 * Votes are planned so that the intended winners pass the threshold and
 * the others do not, except in a few planned ties and shortfalls that leave
 * seats for a runoff; but who is elected is always what tf_rules_decide
 * says, never a rule of our own.
 *
 * Only integer arithmetic on our own PRNG: floating point through libm
 * (log, exp) can differ in the last bit between libc versions, and one bit
 * is enough to change a rounded vote count.
 */
#include "simgen.h"
#include "rules.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PERSONS_MAX 64          /* people on one unit's two ballots */
#define PLAN_MAX 40             /* candidates on one ballot (9 seats need at most 15) */
#define POS_COUNT 4             /* indexed by Tallyfeed__Position; 0 unused */
#define YEAR 2017
#define DAY_LAST 91             /* 2017-10-01 + 91 = 2017-12-31 */

enum { MASS = 0, PARTY = 1 };

/* gen_t.concurrent before a person is chosen. */
enum { NO_ONE = -1, TO_PICK = -2 };

/* Disruptions of one position in round 1, so that runoffs happen. */
enum { PLAN_NORMAL, PLAN_SHORT, PLAN_TIE };

struct _sim_unit_t {
	char code[TF_CODE_LEN + 1];
	Tallyfeed__Committee mass;
	tf_report_t *reports[2][2];     /* [MASS or PARTY][round - 1] */
};

/* Ethnic groups in Qinghai with a share worth simulating. */
enum { ETH_HAN, ETH_TIBETAN, ETH_HUI, ETH_TU, ETH_SALAR, ETH_MONGOL, ETH_COUNT };
static const char *s_eth_names[ETH_COUNT] = {
	"汉族", "藏族", "回族", "土族", "撒拉族", "蒙古族"
};

/* Rough shares (per cent) by area, for plausibility, not census figures:
 * the autonomous counties and prefectures carry their names for a reason.
 * The first entry whose prefix matches the unit code applies. */
static const struct {
	const char *prefix;
	unsigned weights[ETH_COUNT];    /* 汉 藏 回 土 撒拉 蒙古 */
} s_eth_areas[] = {
	{ "630102", { 45, 2, 50, 1, 1, 1 } },   /* 城东区 */
	{ "630106", { 72, 7, 17, 3, 0, 1 } },   /* 湟中区 */
	{ "630121", { 55, 3, 30, 11, 0, 1 } },  /* 大通回族土族自治县 */
	{ "630123", { 86, 7, 5, 1, 0, 1 } },    /* 湟源县 */
	{ "630202", { 82, 10, 5, 3, 0, 0 } },   /* 乐都区 */
	{ "630203", { 65, 10, 22, 3, 0, 0 } },  /* 平安区 */
	{ "630222", { 45, 1, 36, 17, 1, 0 } },  /* 民和回族土族自治县 */
	{ "630223", { 64, 7, 4, 24, 0, 1 } },   /* 互助土族自治县 */
	{ "630224", { 24, 25, 50, 0, 1, 0 } },  /* 化隆回族自治县 */
	{ "630225", { 8, 25, 4, 0, 63, 0 } },   /* 循化撒拉族自治县 */
	{ "632221", { 52, 10, 36, 2, 0, 0 } },  /* 门源回族自治县 */
	{ "632222", { 40, 40, 16, 2, 0, 2 } },  /* 祁连县 */
	{ "632223", { 50, 30, 15, 2, 0, 3 } },  /* 海晏县 */
	{ "632224", { 25, 65, 8, 1, 0, 1 } },   /* 刚察县 */
	{ "632301", { 12, 73, 7, 8, 0, 0 } },   /* 同仁市 */
	{ "632322", { 25, 65, 10, 0, 0, 0 } },  /* 尖扎县 */
	{ "632324", { 3, 8, 1, 0, 0, 88 } },    /* 河南蒙古族自治县 */
	{ "632521", { 40, 48, 10, 1, 0, 1 } },  /* 共和县 */
	{ "632523", { 55, 35, 8, 2, 0, 0 } },   /* 贵德县 */
	{ "632801", { 70, 12, 12, 1, 0, 5 } },  /* 格尔木市 */
	{ "632802", { 65, 10, 10, 1, 0, 14 } }, /* 德令哈市 */
	{ "632821", { 60, 15, 8, 1, 0, 16 } },  /* 乌兰县 */
	{ "632822", { 45, 35, 8, 1, 0, 11 } },  /* 都兰县 */
	{ "632823", { 15, 70, 3, 0, 0, 12 } },  /* 天峻县 */
	{ "6301", { 80, 3, 15, 1, 0, 1 } },     /* 西宁市 */
	{ "6302", { 60, 8, 20, 8, 4, 0 } },     /* 海东市 */
	{ "6322", { 45, 30, 20, 2, 0, 3 } },    /* 海北州 */
	{ "6323", { 5, 92, 2, 1, 0, 0 } },      /* 黄南州 */
	{ "6325", { 28, 63, 8, 1, 0, 0 } },     /* 海南州 */
	{ "6326", { 4, 94, 2, 0, 0, 0 } },      /* 果洛州 */
	{ "6327", { 2, 97, 1, 0, 0, 0 } },      /* 玉树州 */
	{ "6328", { 60, 18, 10, 1, 0, 11 } },   /* 海西州 */
	{ "", { 50, 25, 15, 4, 3, 3 } },        /* the province */
};

/* Name parts.  Hui, Salar and Tu people mostly carry Han-style names with
 * their own typical surnames; Tibetan names have no surname. */
static const char *s_han_surnames[] = {
	"王", "李", "张", "刘", "陈", "杨", "赵", "马", "韩", "祁", "孙", "朱", "胡",
	"郭", "何", "高", "罗", "郑", "谢", "宋", "许", "冯", "曹", "田", "董", "袁",
	"蒋", "余", "于", "杜", "魏", "苏", "吕", "丁", "任", "卢", "姚", "钟", "石",
	"贾", "付", "白", "孟", "秦", "侯", "薛", "闫", "段", "雷", "史", "贺", "郝",
	"乔", "汪", "鲁", "晁", "铁", "衣", "星", "保"
};
static const char *s_hui_surnames[] = {
	"马", "马", "马", "马", "韩", "冶", "沙", "白", "喇", "米", "何", "苏", "穆",
	"海", "杨", "丁", "哈", "撒", "妥", "周"
};
static const char *s_salar_surnames[] = {
	"韩", "韩", "韩", "马", "马", "沈", "何", "陕", "冶", "韩"
};
static const char *s_tu_surnames[] = {
	"李", "祁", "吕", "鲁", "董", "星", "胡", "汪", "秦", "乔", "邓", "安", "席"
};
static const char *s_male_given[] = {
	"国", "建", "军", "明", "永", "海", "强", "伟", "平", "东", "文", "志", "成",
	"福", "生", "德", "林", "忠", "华", "春", "学", "宝", "龙", "祥", "清", "金",
	"发", "荣", "勇", "刚", "俊", "斌", "鹏", "辉", "峰", "涛", "杰", "云", "山",
	"新", "元", "兴", "贵", "全", "万", "青", "玉", "有", "录", "存", "进", "占",
	"仁", "义", "奎", "彪", "胜", "军", "才", "世"
};
static const char *s_female_given[] = {
	"秀", "英", "兰", "芳", "梅", "玲", "霞", "燕", "红", "丽", "娟", "敏", "艳",
	"琴", "花", "桂", "凤", "珍", "莲", "萍", "静", "慧", "娜", "婷", "雪", "月",
	"菊", "翠", "春", "香", "玉", "晶"
};
static const char *s_tibetan_parts[] = {
	"才让", "扎西", "多杰", "旦增", "索南", "更登", "尼玛", "桑杰", "加措", "南加",
	"公保", "拉旦", "仁青", "华旦", "东主", "万玛", "完德", "夏吾", "久美", "洛桑",
	"格桑", "昂秀", "周加", "贡却", "先巴", "才旦", "坚措", "三木", "当周", "闹日"
};
static const char *s_tibetan_female[] = {
	"卓玛", "拉毛", "措毛", "才吉", "卓嘎", "央金", "德吉", "吉毛", "拉姆", "娘吉",
	"卓么", "曲珍", "措吉", "拉毛草", "才让草", "央措"
};
static const char *s_mongol_male[] = {
	"巴特尔", "那日松", "额尔敦", "宝音", "达来", "乌力吉", "格日勒", "布和",
	"朝鲁", "苏和", "巴图", "孟克", "吉日嘎拉", "阿拉坦", "哈斯", "特古斯"
};
static const char *s_mongol_female[] = {
	"其其格", "萨仁", "乌云", "斯琴", "托娅", "高娃", "其木格", "娜仁", "图雅",
	"格日乐", "塔娜", "阿拉坦其其格"
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* One person on the unit's ballots; the id is the same on both. */
typedef struct {
	char id[24];
	char name[TF_NAME_MAX + 1];
	Tallyfeed__Gender gender;
	int ethnicity;
	uint32_t birth_year;
	Tallyfeed__Education education;
	bool party_member;
	bool reelected;
	bool on_party_ballot;
	bool party_head;                /* stood for Party secretary */
	bool on_mass_ballot;
} person_t;

/* What is being generated for one unit. */
typedef struct {
	sim_unit_t *unit;
	const unsigned *eth_weights;
	int majority;                   /* the unit's main ethnic group */
	unsigned majority_pm;           /* its share of candidates, per mille */
	person_t persons[PERSONS_MAX];
	size_t npersons;
	int concurrent;                 /* person planned for 一肩挑, or NO_ONE / TO_PICK */
	tf_rules_config_t config;
	unsigned revision;
} gen_t;

/* One line of a ballot while it is planned. */
typedef struct {
	size_t person;
	Tallyfeed__Position position;
	bool winner;                    /* planned to pass */
	uint32_t votes;
	uint32_t against;
	uint32_t abstain;
} plan_t;

/* One ballot while it is planned. */
typedef struct {
	uint32_t registered, excused, took_part, proxy;
	uint32_t issued, returned, valid, invalid;
	Tallyfeed__BallotMode mode;
	uint32_t seats[POS_COUNT];
	plan_t plan[PLAN_MAX];
	size_t n;
} ballot_t;

/* ---- PRNG ---- */

static uint64_t
s_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
sim_rng_seed(sim_rng_t *rng, uint64_t seed, const char *salt, uint64_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;     /* FNV-1a of the salt */

	assert(rng != NULL && salt != NULL);
	for (const unsigned char *p = (const unsigned char *)salt; *p != '\0'; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	rng->state = s_mix(seed ^ s_mix(h ^ s_mix(n + 1)));
}

uint64_t
sim_rng_next(sim_rng_t *rng)
{
	rng->state += 0x9e3779b97f4a7c15ULL;
	return s_mix(rng->state);
}

uint32_t
sim_rng_below(sim_rng_t *rng, uint32_t n)
{
	/* Reject the top sliver so that x % n is unbiased. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;

	assert(n > 0);
	do
		x = sim_rng_next(rng);
	while (x >= limit);
	return (uint32_t)(x % n);
}

uint32_t
sim_rng_range(sim_rng_t *rng, uint32_t lo, uint32_t hi)
{
	assert(lo <= hi && hi - lo < UINT32_MAX);
	return lo + sim_rng_below(rng, hi - lo + 1);
}

bool
sim_rng_chance(sim_rng_t *rng, uint32_t per_mille)
{
	return sim_rng_below(rng, 1000) < per_mille;
}

/* x times a per-mille factor drawn from lo..hi. */
static uint32_t
s_scale(sim_rng_t *rng, uint32_t x, uint32_t lo_pm, uint32_t hi_pm)
{
	return (uint32_t)((uint64_t)x * sim_rng_range(rng, lo_pm, hi_pm) / 1000);
}

static size_t
s_pick(sim_rng_t *rng, const unsigned *weights, size_t n)
{
	unsigned total = 0, r;

	for (size_t i = 0; i < n; i++)
		total += weights[i];
	assert(total > 0);
	r = sim_rng_below(rng, total);
	for (size_t i = 0; i < n; i++) {
		if (r < weights[i])
			return i;
		r -= weights[i];
	}
	return n - 1;
}

/* Log-uniform-ish: a bucket by weight (buckets roughly doubling), then
 * uniform inside it. */
static uint32_t
s_size(sim_rng_t *rng, const uint32_t *edges, const unsigned *weights, size_t nbuckets)
{
	size_t b = s_pick(rng, weights, nbuckets);

	return sim_rng_range(rng, edges[b], edges[b + 1]);
}

/* ---- memory: a simulator that cannot allocate has nothing useful to do ---- */

static void *
s_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL) {
		fprintf(stderr, "tallyfeed-sim: out of memory\n");
		exit(1);
	}
	return p;
}

static char *
s_xstrdup(const char *s)
{
	char *p = s_xcalloc(strlen(s) + 1, 1);

	memcpy(p, s, strlen(s));
	return p;
}

/* ---- people ---- */

static const char *
s_any(sim_rng_t *rng, const char *const *words, size_t n)
{
	return words[sim_rng_below(rng, (uint32_t)n)];
}

static void
s_han_style(sim_rng_t *rng, const char *const *surnames, size_t nsurnames, bool female,
            char *buf, size_t len)
{
	const char *const *given = female ? s_female_given : s_male_given;
	size_t ngiven = female ? N(s_female_given) : N(s_male_given);

	if (sim_rng_chance(rng, 700))
		snprintf(buf, len, "%s%s%s", s_any(rng, surnames, nsurnames),
		         s_any(rng, given, ngiven), s_any(rng, given, ngiven));
	else
		snprintf(buf, len, "%s%s", s_any(rng, surnames, nsurnames),
		         s_any(rng, given, ngiven));
}

static void
s_tibetan_style(sim_rng_t *rng, bool female, char *buf, size_t len)
{
	if (female && sim_rng_chance(rng, 500))
		snprintf(buf, len, "%s", s_any(rng, s_tibetan_female, N(s_tibetan_female)));
	else if (female)
		snprintf(buf, len, "%s%s", s_any(rng, s_tibetan_parts, N(s_tibetan_parts)),
		         s_any(rng, s_tibetan_female, N(s_tibetan_female)));
	else if (sim_rng_chance(rng, 300))
		snprintf(buf, len, "%s", s_any(rng, s_tibetan_parts, N(s_tibetan_parts)));
	else
		snprintf(buf, len, "%s%s", s_any(rng, s_tibetan_parts, N(s_tibetan_parts)),
		         s_any(rng, s_tibetan_parts, N(s_tibetan_parts)));
}

static void
s_name(sim_rng_t *rng, int eth, bool female, char *buf, size_t len)
{
	switch (eth) {
	case ETH_TIBETAN:
		s_tibetan_style(rng, female, buf, len);
		break;
	case ETH_MONGOL:
		/* Many Qinghai Mongols carry Tibetan names. */
		if (sim_rng_chance(rng, 400))
			s_tibetan_style(rng, female, buf, len);
		else if (female)
			snprintf(buf, len, "%s", s_any(rng, s_mongol_female, N(s_mongol_female)));
		else
			snprintf(buf, len, "%s", s_any(rng, s_mongol_male, N(s_mongol_male)));
		break;
	case ETH_HUI:
		s_han_style(rng, s_hui_surnames, N(s_hui_surnames), female, buf, len);
		break;
	case ETH_SALAR:
		s_han_style(rng, s_salar_surnames, N(s_salar_surnames), female, buf, len);
		break;
	case ETH_TU:
		if (sim_rng_chance(rng, 200))
			s_tibetan_style(rng, female, buf, len);
		else
			s_han_style(rng, s_tu_surnames, N(s_tu_surnames), female, buf, len);
		break;
	default:
		s_han_style(rng, s_han_surnames, N(s_han_surnames), female, buf, len);
		break;
	}
}

static bool
s_name_taken(const gen_t *g, const char *name)
{
	for (size_t i = 0; i < g->npersons; i++)
		if (strcmp(g->persons[i].name, name) == 0)
			return true;
	return false;
}

/* Born 1955-1999, most in the 1960s and 1970s; nobody younger than 18 in
 * late 2017. */
static uint32_t
s_birth_year(sim_rng_t *rng)
{
	if (sim_rng_chance(rng, 60))
		return sim_rng_range(rng, 1955, 1999);
	return 1955 + (sim_rng_range(rng, 0, 44) + sim_rng_range(rng, 0, 44)
	               + sim_rng_range(rng, 0, 30)) / 3;
}

/* Younger people went to school longer; Party branch candidates a little more. */
static Tallyfeed__Education
s_education(sim_rng_t *rng, uint32_t born, bool party)
{
	static const unsigned old[] = { 250, 450, 220, 70, 10, 0 };
	static const unsigned mid[] = { 100, 440, 290, 130, 40, 0 };
	static const unsigned young[] = { 30, 290, 300, 220, 150, 10 };
	const unsigned *w = born < 1970 ? old : born < 1985 ? mid : young;
	size_t level = s_pick(rng, w, 6);

	if (party && level < 4 && sim_rng_chance(rng, 250))
		level++;
	return (Tallyfeed__Education)(TALLYFEED__EDUCATION__EDUCATION_PRIMARY + level);
}

/* A new person in the unit's pool; female_pm is the chance of a woman,
 * 1000 to insist. */
static size_t
s_person_new(gen_t *g, sim_rng_t *rng, unsigned female_pm, unsigned party_pm)
{
	person_t *p;

	assert(g->npersons < PERSONS_MAX);
	p = &g->persons[g->npersons];
	memset(p, 0, sizeof *p);
	snprintf(p->id, sizeof p->id, "C%02zu", g->npersons + 1);
	p->gender = sim_rng_chance(rng, female_pm) ? TALLYFEED__GENDER__GENDER_FEMALE
	                                           : TALLYFEED__GENDER__GENDER_MALE;
	p->ethnicity = sim_rng_chance(rng, g->majority_pm)
	               ? g->majority : (int)s_pick(rng, g->eth_weights, ETH_COUNT);
	/* A repeated name in one village happens, but rarely on one ballot. */
	for (int tries = 0; tries < 8; tries++) {
		s_name(rng, p->ethnicity, p->gender == TALLYFEED__GENDER__GENDER_FEMALE,
		       p->name, sizeof p->name);
		if (!s_name_taken(g, p->name))
			break;
	}
	p->birth_year = s_birth_year(rng);
	p->party_member = sim_rng_chance(rng, party_pm);
	p->education = s_education(rng, p->birth_year, p->party_member);
	p->reelected = sim_rng_chance(rng, 420);
	return g->npersons++;
}

/* Someone already on the Party branch ballot who could also stand for the
 * mass committee, or -1.  Never a Party secretary candidate: the one who
 * also stands for head of the mass committee is planned (g->concurrent). */
static int
s_person_reuse(gen_t *g, sim_rng_t *rng, bool female)
{
	size_t found[PERSONS_MAX], n = 0;

	for (size_t i = 0; i < g->npersons; i++) {
		const person_t *p = &g->persons[i];
		if (p->on_party_ballot && !p->party_head && !p->on_mass_ballot
		    && (!female || p->gender == TALLYFEED__GENDER__GENDER_FEMALE))
			found[n++] = i;
	}
	return n == 0 ? -1 : (int)found[sim_rng_below(rng, (uint32_t)n)];
}

/* ---- one ballot ---- */

static void
s_date(unsigned day, char *buf, size_t len)
{
	static const unsigned month_days[] = { 31, 30, 31 };   /* October to December */
	unsigned month = 10;

	if (day > DAY_LAST)
		day = DAY_LAST;
	for (int i = 0; i < 3 && day >= month_days[i]; i++) {
		day -= month_days[i];
		month++;
	}
	snprintf(buf, len, "%d-%02u-%02u", YEAR, month, day + 1);
}

/* Candidates beyond the seats (差额): 20-50 % more, at least one. */
static uint32_t
s_extra(sim_rng_t *rng, uint32_t seats)
{
	uint32_t extra = (seats * sim_rng_range(rng, 20, 50) + 99) / 100;

	return extra < 1 ? 1 : extra;
}

static void
s_electorate_mass(sim_rng_t *rng, tf_unit_kind_t kind, ballot_t *b)
{
	static const uint32_t village_edges[] = { 40, 120, 400, 1000, 2000, 3500 };
	static const unsigned village_weights[] = { 15, 30, 30, 17, 8 };
	static const uint32_t community_edges[] = { 300, 1000, 3000, 6000 };
	static const unsigned community_weights[] = { 25, 45, 30 };
	static const uint32_t small_edges[] = { 30, 150, 600 };
	static const unsigned small_weights[] = { 50, 50 };
	uint32_t half;

	switch (kind) {
	case TF_UNIT_VILLAGERS:
		b->registered = s_size(rng, village_edges, village_weights, N(village_weights));
		break;
	case TF_UNIT_RESIDENTS:
		b->registered = s_size(rng, community_edges, community_weights,
		                       N(community_weights));
		break;
	default:                        /* farms, parks, virtual communities */
		b->registered = s_size(rng, small_edges, small_weights, N(small_weights));
		break;
	}
	half = b->registered / 2;
	if (sim_rng_chance(rng, 10)) {
		/* An invalid election: no more than half turned out. */
		b->took_part = s_scale(rng, b->registered, 300, 500);
		if (b->took_part > half)
			b->took_part = half;
	} else {
		b->took_part = sim_rng_chance(rng, 30) ? s_scale(rng, b->registered, 550, 700)
		                                       : s_scale(rng, b->registered, 700, 950);
		if (b->took_part <= half)
			b->took_part = half + 1;
	}
	b->proxy = sim_rng_chance(rng, 300) ? 0 : s_scale(rng, b->took_part, 0, 40);
}

static void
s_electorate_party(sim_rng_t *rng, ballot_t *b)
{
	static const uint32_t edges[] = { 10, 20, 40, 80, 120 };
	static const unsigned weights[] = { 30, 35, 25, 10 };
	uint32_t should, enough;

	b->registered = s_size(rng, edges, weights, N(weights));
	b->excused = sim_rng_range(rng, 0, 3);
	should = b->registered - b->excused;
	enough = should * 4 / 5 + 1;    /* present > 4/5 of those who should attend */
	if (sim_rng_chance(rng, 10)) {
		b->took_part = should * 4 / 5 - sim_rng_range(rng, 0, 2);
	} else if (should <= 20 && sim_rng_chance(rng, 40)) {
		b->took_part = should;
	} else {
		b->took_part = s_scale(rng, should, 850, 985);
		if (b->took_part < enough)
			b->took_part = enough;
	}
	b->proxy = 0;
}

/* Ballots: one per voter, a few not put back, a few spoilt. */
static void
s_ballots(sim_rng_t *rng, ballot_t *b, bool party)
{
	b->issued = b->took_part;
	b->returned = b->issued;
	if (b->returned > 0 && sim_rng_chance(rng, party ? 80 : 300))
		b->returned -= sim_rng_range(rng, 1, 1 + b->returned / 200);
	if (party)
		b->invalid = sim_rng_chance(rng, 150) ? sim_rng_range(rng, 1, 2) : 0;
	else
		b->invalid = sim_rng_chance(rng, 200) ? 0 : s_scale(rng, b->returned, 0, 30);
	if (b->invalid > b->returned)
		b->invalid = b->returned;
	b->valid = b->returned - b->invalid;
	b->mode = sim_rng_chance(rng, party ? 900 : 800) ? TALLYFEED__BALLOT_MODE__BALLOT_MODE_COMBINED
	                                                 : TALLYFEED__BALLOT_MODE__BALLOT_MODE_PER_POSITION;
}

/* Seats: villagers' committee 3, 5 or 7 (odd in Qinghai), residents' 5-9,
 * Party branch 3, 5 or 7; one head, a few deputies, the rest members. */
static void
s_seats(sim_rng_t *rng, ballot_t *b, Tallyfeed__Committee committee)
{
	uint32_t total, deputy;

	if (committee == TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH) {
		if (b->registered < 30)
			total = sim_rng_chance(rng, 850) ? 3 : 5;
		else if (b->registered < 80)
			total = sim_rng_chance(rng, 700) ? 5 : sim_rng_chance(rng, 660) ? 3 : 7;
		else
			total = sim_rng_chance(rng, 500) ? 5 : 7;
		deputy = sim_rng_chance(rng, total == 3 ? 250 : 500) ? 1 : 0;
	} else if (committee == TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS) {
		if (b->registered < 300)
			total = sim_rng_chance(rng, 850) ? 3 : 5;
		else if (b->registered < 1500)
			total = sim_rng_chance(rng, 650) ? 5 : sim_rng_chance(rng, 700) ? 3 : 7;
		else
			total = sim_rng_chance(rng, 500) ? 5 : 7;
		if (total == 3)
			deputy = sim_rng_chance(rng, 400) ? 1 : 0;
		else if (total == 5)
			deputy = sim_rng_chance(rng, 600) ? 1 : sim_rng_chance(rng, 500) ? 0 : 2;
		else
			deputy = sim_rng_range(rng, 1, 2);
	} else {
		if (b->registered < 1500)
			total = sim_rng_chance(rng, 700) ? 5 : sim_rng_range(rng, 6, 7);
		else if (b->registered < 4000)
			total = sim_rng_range(rng, 5, 7);
		else
			total = sim_rng_range(rng, 7, 9);
		deputy = sim_rng_range(rng, 1, 2);
	}
	b->seats[TALLYFEED__POSITION__POSITION_HEAD] = 1;
	b->seats[TALLYFEED__POSITION__POSITION_DEPUTY] = deputy;
	b->seats[TALLYFEED__POSITION__POSITION_MEMBER] = total - 1 - deputy;
}

static void
s_plan_add(ballot_t *b, size_t person, Tallyfeed__Position position, bool winner)
{
	assert(b->n < PLAN_MAX);
	b->plan[b->n].person = person;
	b->plan[b->n].position = position;
	b->plan[b->n].winner = winner;
	b->n++;
}

/* Who stands for what on a round-1 ballot.  Per position the planned
 * winners come first; the order is shuffled after voting. */
static void
s_plan_candidates(gen_t *g, sim_rng_t *rng, ballot_t *b, bool party)
{
	/* Most villagers' committees reserve a seat for a woman (妇女委员). */
	bool woman_seat = !party && sim_rng_chance(rng, 930);

	for (int pos = TALLYFEED__POSITION__POSITION_HEAD; pos <= TALLYFEED__POSITION__POSITION_MEMBER; pos++) {
		uint32_t seats = b->seats[pos], count;
		bool head = pos == TALLYFEED__POSITION__POSITION_HEAD;

		if (seats == 0)
			continue;
		count = seats + s_extra(rng, seats);
		for (uint32_t k = 0; k < count; k++) {
			bool winner = k < seats;
			int who = -1;

			if (party) {
				if (head && k == 0 && g->concurrent == TO_PICK)
					g->concurrent = (int)s_person_new(g, rng, 100, 1000);
				who = head && k == 0 && g->concurrent >= 0
				      ? g->concurrent : (int)s_person_new(g, rng, head ? 100 : 200, 1000);
				g->persons[who].on_party_ballot = true;
				g->persons[who].party_head = head;
			} else if (head && k == 0 && g->concurrent >= 0) {
				who = g->concurrent;
			} else if (!head && woman_seat && pos == TALLYFEED__POSITION__POSITION_MEMBER && k == 0) {
				if (sim_rng_chance(rng, 400))
					who = s_person_reuse(g, rng, true);
				if (who < 0)
					who = (int)s_person_new(g, rng, 1000, 300);
			} else {
				if (sim_rng_chance(rng, winner ? 350 : 150))
					who = s_person_reuse(g, rng, false);
				if (who < 0)
					who = (int)s_person_new(g, rng, head ? 80 : 220, head ? 750 : 400);
			}
			if (!party)
				g->persons[who].on_mass_ballot = true;
			s_plan_add(b, (size_t)who, (Tallyfeed__Position)pos, winner);
		}
	}
}

static uint64_t
s_sum(const uint32_t *votes, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += votes[i];
	return sum;
}

/* Losers share what the winners left of valid x seats, each below cap. */
static void
s_votes_losers(sim_rng_t *rng, uint32_t *votes, size_t n, uint32_t cap, uint64_t left,
               uint32_t scale)
{
	uint64_t sum;

	for (size_t i = 0; i < n; i++) {
		votes[i] = s_scale(rng, scale, 50, 450);
		if (votes[i] > cap)
			votes[i] = cap;
	}
	sum = s_sum(votes, n);
	if (sum > left) {
		/* Not every voter marks every line. */
		uint64_t fit = left * sim_rng_range(rng, 800, 980) / 1000;
		for (size_t i = 0; i < n; i++)
			votes[i] = (uint32_t)(votes[i] * fit / sum);
	}
}

/* Votes for one position where passing means at least need votes (round 1,
 * and every Party branch round).  votes[0..seats) are the planned winners.
 * PLAN_SHORT drops the last fallers of them below need; PLAN_TIE ties the
 * last winner with the best loser, which fills neither seat.  -1 if the
 * plan does not fit in valid x seats (the caller then plans normally). */
static int
s_votes_threshold(sim_rng_t *rng, uint32_t *votes, size_t n, uint32_t seats, uint32_t need,
                  uint32_t valid, bool party, int kind, uint32_t fallers)
{
	uint64_t budget = (uint64_t)valid * seats, used;
	uint32_t lowest = valid, tie = 0;
	size_t first_loser = seats;

	assert(n > seats && seats > 0);
	if (need > valid) {
		/* Too few ballots for anyone to pass (a tiny or invalid election). */
		for (size_t i = 0; i < n; i++)
			votes[i] = (uint32_t)(budget / n * sim_rng_range(rng, 300, 950) / 1000);
		return 0;
	}
	if (kind == PLAN_TIE) {
		if (seats < 2)
			return -1;
		tie = sim_rng_range(rng, need, need + (valid - need) / 4);
		if (tie >= valid)
			return -1;
	}
	for (size_t k = 0; k < seats; k++) {
		uint32_t lo = party ? need + (valid - need) * 2 / 5 : need;
		uint32_t hi = need + (uint32_t)((uint64_t)(valid - need) * (party ? 100 : 85) / 100);

		if (kind == PLAN_TIE && k == seats - 1)
			votes[k] = tie;
		else if (kind == PLAN_TIE)
			votes[k] = sim_rng_range(rng, lo > tie ? lo : tie + 1, hi > tie ? hi : tie + 1);
		else if (kind == PLAN_SHORT && k >= seats - fallers)
			votes[k] = sim_rng_range(rng, need * 7 / 10, need - 1 > need * 7 / 10
			                                             ? need - 1 : need * 7 / 10);
		else
			votes[k] = sim_rng_range(rng, lo, hi);
		if (votes[k] < lowest)
			lowest = votes[k];
	}
	if (kind == PLAN_TIE) {
		votes[seats] = tie;
		first_loser = seats + 1;
	}
	used = s_sum(votes, first_loser);
	if (used > budget)
		return -1;
	/* Losers stay below the threshold and below every planned winner, so
	 * that whoever falls short is also the best of the rest for a runoff. */
	s_votes_losers(rng, votes + first_loser, n - first_loser,
	               (need - 1 < lowest ? need - 1 : lowest - (lowest > 0)),
	               budget - used, need * 2);
	return 0;
}

/* Runoff (round 2) of the mass committee: the most votes win, with at
 * least a third of the ballots returned.  The winners come first. */
static void
s_votes_runoff(sim_rng_t *rng, uint32_t *votes, size_t n, uint32_t seats, uint32_t returned,
               uint32_t valid)
{
	uint64_t budget = (uint64_t)valid * seats;
	uint32_t need = (returned + 2) / 3, lowest = valid;
	uint32_t lo = valid * 45 / 100, hi = valid * 85 / 100;

	if (lo < need)
		lo = need;
	if (lo < 1)
		lo = 1;
	if (hi < lo)
		hi = lo;
	for (size_t k = 0; k < seats; k++) {
		votes[k] = sim_rng_range(rng, lo, hi);
		if (votes[k] < lowest)
			lowest = votes[k];
	}
	s_votes_losers(rng, votes + seats, n - seats, lowest - (lowest > 0),
	               budget - s_sum(votes, seats), valid);
}

/* Party ballots have for, against and abstain. */
static void
s_votes_against(sim_rng_t *rng, ballot_t *b)
{
	for (size_t i = 0; i < b->n; i++) {
		uint32_t rest = b->valid - b->plan[i].votes;

		b->plan[i].against = s_scale(rng, rest, 300, 900);
		b->plan[i].abstain = s_scale(rng, rest - b->plan[i].against, 0, 600);
	}
}

/* Ballot order: by position, otherwise random (the real order is by
 * surname strokes, which says nothing about the result). */
static void
s_shuffle(sim_rng_t *rng, ballot_t *b)
{
	size_t start = 0;

	while (start < b->n) {
		size_t end = start;
		while (end < b->n && b->plan[end].position == b->plan[start].position)
			end++;
		for (size_t i = end - 1; i > start; i--) {
			size_t j = start + sim_rng_below(rng, (uint32_t)(i - start + 1));
			plan_t t = b->plan[i];
			b->plan[i] = b->plan[j];
			b->plan[j] = t;
		}
		start = end;
	}
}

/* Votes for every position of a ballot; round 2 of a mass committee uses
 * the runoff rule, everything else the threshold. */
static void
s_votes(sim_rng_t *rng, ballot_t *b, bool party, unsigned round, int disrupt_pos, int kind,
        uint32_t fallers)
{
	for (int pos = TALLYFEED__POSITION__POSITION_HEAD; pos <= TALLYFEED__POSITION__POSITION_MEMBER; pos++) {
		uint32_t votes[PLAN_MAX];
		size_t idx[PLAN_MAX], n = 0, seats = b->seats[pos];

		if (seats == 0)
			continue;
		/* Planned winners first, as s_plan_candidates and s_runoff lay them out. */
		for (size_t i = 0; i < b->n; i++)
			if ((int)b->plan[i].position == pos && b->plan[i].winner)
				idx[n++] = i;
		for (size_t i = 0; i < b->n; i++)
			if ((int)b->plan[i].position == pos && !b->plan[i].winner)
				idx[n++] = i;
		assert(n > seats);
		if (round == 2 && !party)
			s_votes_runoff(rng, votes, n, (uint32_t)seats, b->returned, b->valid);
		else if (pos != disrupt_pos
		         || s_votes_threshold(rng, votes, n, (uint32_t)seats, b->took_part / 2 + 1,
		                              b->valid, party, kind, fallers) != 0)
			s_votes_threshold(rng, votes, n, (uint32_t)seats, b->took_part / 2 + 1,
			                  b->valid, party, PLAN_NORMAL, 0);
		for (size_t i = 0; i < n; i++)
			b->plan[idx[i]].votes = votes[i];
	}
	if (party)
		s_votes_against(rng, b);
	s_shuffle(rng, b);
}

static Tallyfeed__Candidate *
s_candidate_new(const person_t *p, const plan_t *line)
{
	Tallyfeed__Candidate *c = s_xcalloc(1, sizeof *c);

	tallyfeed__candidate__init(c);
	c->candidate_id = s_xstrdup(p->id);
	c->name = s_xstrdup(p->name);
	c->position = line->position;
	c->votes_for = line->votes;
	c->votes_against = line->against;
	c->votes_abstain = line->abstain;
	c->gender = p->gender;
	c->ethnicity = s_xstrdup(s_eth_names[p->ethnicity]);
	c->birth_year = p->birth_year;
	c->education = p->education;
	c->party_member = p->party_member;
	c->reelected = p->reelected;
	return c;
}

/* The report of a planned ballot, before anyone is marked elected. */
static tf_report_t *
s_report_new(const gen_t *g, sim_rng_t *rng, const ballot_t *b, Tallyfeed__Committee committee,
             unsigned round, unsigned day)
{
	tf_report_t *r = s_xcalloc(1, sizeof *r);
	char date[32];

	tallyfeed__result_report__init(r);
	r->unit_code = s_xstrdup(g->unit->code);
	r->committee = committee;
	r->round = round;
	r->revision = g->revision;
	s_date(day, date, sizeof date);
	r->held_on = s_xstrdup(date);
	r->registered = b->registered;
	r->excused = b->excused;
	r->took_part = b->took_part;
	r->proxy_votes = b->proxy;
	r->ballots_issued = b->issued;
	r->ballots_returned = b->returned;
	r->ballots_valid = b->valid;
	r->ballots_invalid = b->invalid;
	r->ballot_mode = b->mode;
	r->seats = s_xcalloc(POS_COUNT, sizeof *r->seats);
	for (int pos = TALLYFEED__POSITION__POSITION_HEAD; pos <= TALLYFEED__POSITION__POSITION_MEMBER; pos++) {
		Tallyfeed__Seats *s;

		if (b->seats[pos] == 0)
			continue;
		s = s_xcalloc(1, sizeof *s);
		tallyfeed__seats__init(s);
		s->position = (Tallyfeed__Position)pos;
		s->count = b->seats[pos];
		r->seats[r->n_seats++] = s;
	}
	r->candidates = s_xcalloc(b->n, sizeof *r->candidates);
	for (size_t i = 0; i < b->n; i++)
		r->candidates[r->n_candidates++] = s_candidate_new(&g->persons[b->plan[i].person],
		                                                   &b->plan[i]);
	/* Stands in for the hash of a photo: distinct per report, like photos. */
	r->sheet_photo_sha256.data = s_xcalloc(32, 1);
	r->sheet_photo_sha256.len = 32;
	for (size_t i = 0; i < 32; i += 8) {
		uint64_t x = sim_rng_next(rng);
		for (size_t j = 0; j < 8; j++)
			r->sheet_photo_sha256.data[i + j] = (uint8_t)(x >> (8 * j));
	}
	r->announced_on_site = true;
	return r;
}

/* Mark who is elected, as the rules say.  True if the election is valid
 * and left seats for a runoff. */
static bool
s_decide(const gen_t *g, tf_report_t *r)
{
	bool elected[TF_CANDIDATES_MAX], valid;
	unsigned seats = 0, filled = 0;

	assert(r->n_candidates <= TF_CANDIDATES_MAX);
	tf_rules_decide(&g->config, r, elected, &valid);
	for (size_t i = 0; i < r->n_seats; i++)
		seats += r->seats[i]->count;
	for (size_t i = 0; i < r->n_candidates; i++) {
		Tallyfeed__Candidate *c = r->candidates[i];

		c->elected = elected[i];
		c->position_won = elected[i] ? c->position : TALLYFEED__POSITION__POSITION_UNSPECIFIED;
		filled += elected[i];
	}
	return valid && filled < seats;
}

/* Every candidate id on the unit's ballots comes from its pool. */
static size_t
s_person_of(const gen_t *g, const char *id)
{
	size_t i = 0;

	while (i < g->npersons && strcmp(g->persons[i].id, id) != 0)
		i++;
	assert(i < g->npersons);
	return i;
}

/* The runoff (另行选举) for the seats round 1 left: the best of those not
 * elected stand again, on the same day or within a week. */
static tf_report_t *
s_runoff(gen_t *g, sim_rng_t *rng, const tf_report_t *r1, bool party, unsigned day)
{
	ballot_t b;
	uint32_t should;

	memset(&b, 0, sizeof b);
	b.registered = r1->registered;
	b.excused = r1->excused;
	should = b.registered - b.excused;
	if (party) {
		uint32_t enough = should * 4 / 5 + 1;
		b.took_part = r1->took_part - sim_rng_range(rng, 0, 2);
		if (b.took_part < enough)
			b.took_part = enough;
	} else {
		b.took_part = s_scale(rng, r1->took_part, 800, 1000);
		if (b.took_part <= should / 2)
			b.took_part = should / 2 + 1;
		b.proxy = sim_rng_chance(rng, 300) ? 0 : s_scale(rng, b.took_part, 0, 40);
	}
	s_ballots(rng, &b, party);
	for (int pos = TALLYFEED__POSITION__POSITION_HEAD; pos <= TALLYFEED__POSITION__POSITION_MEMBER; pos++) {
		const Tallyfeed__Candidate *rest[PLAN_MAX];
		uint32_t seats = 0, won = 0, count;
		size_t n = 0;

		for (size_t i = 0; i < r1->n_seats; i++)
			if ((int)r1->seats[i]->position == pos)
				seats = r1->seats[i]->count;
		for (size_t i = 0; i < r1->n_candidates; i++) {
			const Tallyfeed__Candidate *c = r1->candidates[i];
			if ((int)c->position != pos)
				continue;
			if (c->elected) {
				won++;
				continue;
			}
			/* Insertion by round-1 votes, most first; ties keep ballot order. */
			size_t at = n;
			while (at > 0 && rest[at - 1]->votes_for < c->votes_for) {
				rest[at] = rest[at - 1];
				at--;
			}
			rest[at] = c;
			n++;
		}
		if (won >= seats)
			continue;
		b.seats[pos] = seats - won;
		count = b.seats[pos] + s_extra(rng, b.seats[pos]);
		if (count > n)
			count = (uint32_t)n;
		/* Usually round 1's best do best again, not always. */
		if (sim_rng_chance(rng, 250))
			for (size_t i = count - 1; i > 0; i--) {
				size_t j = sim_rng_below(rng, (uint32_t)i + 1);
				const Tallyfeed__Candidate *t = rest[i];
				rest[i] = rest[j];
				rest[j] = t;
			}
		for (uint32_t k = 0; k < count; k++)
			s_plan_add(&b, s_person_of(g, rest[k]->candidate_id), (Tallyfeed__Position)pos,
			           k < b.seats[pos]);
	}
	s_votes(rng, &b, party, 2, 0, PLAN_NORMAL, 0);
	return s_report_new(g, rng, &b, r1->committee, 2, day);
}

/* One committee: round 1 and, if it left seats, the runoff. */
static void
s_committee(gen_t *g, sim_rng_t *rng, int which, unsigned day)
{
	Tallyfeed__Committee committee = which == PARTY
	                                 ? TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH : g->unit->mass;
	bool party = which == PARTY;
	int disrupt_pos = 0, kind = PLAN_NORMAL;
	uint32_t fallers = 0;
	ballot_t b;

	memset(&b, 0, sizeof b);
	if (party)
		s_electorate_party(rng, &b);
	else
		s_electorate_mass(rng, tf_unit_kind_of(g->unit->code), &b);
	s_ballots(rng, &b, party);
	s_seats(rng, &b, committee);
	s_plan_candidates(g, rng, &b, party);
	/* A few elections leave a seat open: a tie at the last seat, or too few
	 * votes.  Never the head where 一肩挑 is planned. */
	if (sim_rng_chance(rng, party ? 15 : 30)) {
		int first = g->concurrent >= 0 ? TALLYFEED__POSITION__POSITION_DEPUTY
		                               : TALLYFEED__POSITION__POSITION_HEAD;
		int choices[POS_COUNT], n = 0;

		for (int pos = first; pos <= TALLYFEED__POSITION__POSITION_MEMBER; pos++)
			if (b.seats[pos] > 0)
				choices[n++] = pos;
		if (n > 0) {
			disrupt_pos = choices[sim_rng_below(rng, (uint32_t)n)];
			if (b.seats[disrupt_pos] >= 2 && sim_rng_chance(rng, 500))
				kind = PLAN_TIE;
			else {
				kind = PLAN_SHORT;
				fallers = sim_rng_chance(rng, 800) ? 1
				          : sim_rng_range(rng, 1, b.seats[disrupt_pos]);
			}
		}
	}
	s_votes(rng, &b, party, 1, disrupt_pos, kind, fallers);
	g->unit->reports[which][0] = s_report_new(g, rng, &b, committee, 1, day);
	if (s_decide(g, g->unit->reports[which][0])) {
		unsigned later = sim_rng_chance(rng, 700) ? 0 : sim_rng_range(rng, 1, 7);

		g->unit->reports[which][1] = s_runoff(g, rng, g->unit->reports[which][0], party,
		                                      day + later);
		s_decide(g, g->unit->reports[which][1]);
	}
}

/* 一肩挑 and 交叉任职 follow from who was elected to what, in any round. */
static void
s_composition_flags(gen_t *g)
{
	bool head[2][PERSONS_MAX], any[2][PERSONS_MAX];

	memset(head, 0, sizeof head);
	memset(any, 0, sizeof any);
	for (int which = 0; which < 2; which++)
		for (int round = 0; round < 2; round++) {
			const tf_report_t *r = g->unit->reports[which][round];
			for (size_t i = 0; r != NULL && i < r->n_candidates; i++) {
				const Tallyfeed__Candidate *c = r->candidates[i];
				size_t p;
				if (!c->elected)
					continue;
				p = s_person_of(g, c->candidate_id);
				any[which][p] = true;
				if (c->position_won == TALLYFEED__POSITION__POSITION_HEAD)
					head[which][p] = true;
			}
		}
	for (int which = 0; which < 2; which++)
		for (int round = 0; round < 2; round++) {
			tf_report_t *r = g->unit->reports[which][round];
			for (size_t i = 0; r != NULL && i < r->n_candidates; i++) {
				Tallyfeed__Candidate *c = r->candidates[i];
				size_t p;
				if (!c->elected)
					continue;
				p = s_person_of(g, c->candidate_id);
				c->cross_serving = any[MASS][p] && any[PARTY][p];
				c->concurrent_head = c->position_won == TALLYFEED__POSITION__POSITION_HEAD
				                     && head[MASS][p] && head[PARTY][p];
			}
		}
}

sim_unit_t *
sim_unit_new(const tf_area_t *unit, uint64_t seed, unsigned revision)
{
	tf_unit_kind_t kind;
	sim_rng_t rng, town, party_rng, mass_rng;
	unsigned party_day, mass_day;
	gen_t *g;
	sim_unit_t *self;

	assert(unit != NULL && revision > 0);
	kind = tf_unit_kind_of(unit->code);
	assert(kind != TF_UNIT_UNKNOWN);        /* the registry refuses those */
	self = s_xcalloc(1, sizeof *self);
	memcpy(self->code, unit->code, sizeof self->code);
	self->mass = kind == TF_UNIT_VILLAGERS || kind == TF_UNIT_VILLAGE_LIKE
	             ? TALLYFEED__COMMITTEE__COMMITTEE_VILLAGERS
	             : TALLYFEED__COMMITTEE__COMMITTEE_RESIDENTS;

	/* The pool of people is big; keep it only while generating. */
	g = s_xcalloc(1, sizeof *g);
	g->unit = self;
	g->revision = revision;
	tf_rules_config_default(&g->config);
	sim_rng_seed(&rng, seed, unit->code, 0);
	sim_rng_seed(&town, seed, unit->parent, 0);
	for (size_t i = 0; i < N(s_eth_areas); i++)
		if (strncmp(unit->code, s_eth_areas[i].prefix, strlen(s_eth_areas[i].prefix)) == 0) {
			g->eth_weights = s_eth_areas[i].weights;
			break;
		}
	g->majority = (int)s_pick(&rng, g->eth_weights, ETH_COUNT);
	/* Villages are mostly of one group; towns are mixed. */
	g->majority_pm = kind == TF_UNIT_VILLAGERS ? 800 : 550;
	/* 一肩挑 in about 40 % of units; the Party branch picks the person. */
	g->concurrent = sim_rng_chance(&rng, 400) ? TO_PICK : NO_ONE;

	/* A township runs its units' elections within a couple of weeks; the
	 * Party branch first, the mass committee some weeks later. */
	party_day = sim_rng_range(&town, 7, 55) + sim_rng_range(&rng, 0, 9);
	mass_day = party_day + sim_rng_range(&rng, 7, 25);

	sim_rng_seed(&party_rng, seed, unit->code, 1 + PARTY);
	sim_rng_seed(&mass_rng, seed, unit->code, 1 + MASS);
	s_committee(g, &party_rng, PARTY, party_day);
	s_committee(g, &mass_rng, MASS, mass_day);
	s_composition_flags(g);
	free(g);
	return self;
}

void
sim_unit_destroy(sim_unit_t **self_p)
{
	sim_unit_t *self;

	assert(self_p != NULL);
	self = *self_p;
	if (self == NULL)
		return;
	for (int which = 0; which < 2; which++)
		for (int round = 0; round < 2; round++)
			tf_report_destroy(&self->reports[which][round]);
	free(self);
	*self_p = NULL;
}

Tallyfeed__Committee
sim_unit_mass_committee(const sim_unit_t *self)
{
	assert(self != NULL);
	return self->mass;
}

tf_report_t *
sim_unit_report(sim_unit_t *self, Tallyfeed__Committee committee, unsigned round)
{
	assert(self != NULL);
	if (round < 1 || round > 2)
		return NULL;
	if (committee == TALLYFEED__COMMITTEE__COMMITTEE_PARTY_BRANCH)
		return self->reports[PARTY][round - 1];
	if (committee == self->mass)
		return self->reports[MASS][round - 1];
	return NULL;
}
