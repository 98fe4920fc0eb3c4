/*
 * test_registry: the division registry — the shipped Qinghai registry loads
 * with the counts its README gives, unit codes map to committee types at
 * every boundary, and a registry the hierarchy cannot place is refused with
 * file:line and the reason.
 */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "registry.h"

/* Set from argv[1] when given, else the source tree's copy. */
static const char *s_qinghai_dir = TF_QINGHAI_DIR;

static int
s_load_qinghai(void **state)
{
	tf_registry_t *reg = tf_registry_new();
	char err[1024] = "";

	if (reg == NULL)
		return -1;
	if (tf_registry_load_dir(reg, s_qinghai_dir, err, sizeof err) != 0) {
		print_error("could not load %s: %s\n", s_qinghai_dir, err);
		tf_registry_destroy(&reg);
		return -1;
	}
	*state = reg;
	return 0;
}

static int
s_free_qinghai(void **state)
{
	tf_registry_t *reg = *state;

	tf_registry_destroy(&reg);
	assert_null(reg);
	return 0;
}

/* ---- the shipped Qinghai registry ---- */

static void
test_code_prefix_len_names_the_area(void **state)
{
	(void)state;
	assert_int_equal(tf_code_prefix_len("630000000000"), 2);     /* 青海省 */
	assert_int_equal(tf_code_prefix_len("632600000000"), 4);     /* 果洛州 */
	assert_int_equal(tf_code_prefix_len("632621000000"), 6);     /* 玛沁县 */
	assert_int_equal(tf_code_prefix_len("632621101000"), 9);     /* 拉加镇 */
	assert_int_equal(tf_code_prefix_len("632621101001"), 12);    /* a unit */
	assert_int_equal(tf_code_prefix_len("630121100201"), 12);
	assert_int_equal(tf_code_prefix_len("630100000000"), 4);     /* 西宁市 */
}

static void
test_qinghai_level_counts(void **state)
{
	const tf_registry_t *reg = *state;

	assert_int_equal(tf_registry_size(reg, TF_LEVEL_PREFECTURE), 8);
	assert_int_equal(tf_registry_size(reg, TF_LEVEL_COUNTY), 45);
	assert_int_equal(tf_registry_size(reg, TF_LEVEL_TOWNSHIP), 422);
	assert_int_equal(tf_registry_size(reg, TF_LEVEL_UNIT), 4716);
	assert_string_equal(tf_registry_province(reg), "63");
}

static void
test_qinghai_unit_kinds(void **state)
{
	const tf_registry_t *reg = *state;
	size_t count[TF_UNIT_VILLAGE_LIKE + 1] = { 0 };

	for (size_t i = 0; i < tf_registry_size(reg, TF_LEVEL_UNIT); i++)
		count[tf_unit_kind_of(tf_registry_at(reg, TF_LEVEL_UNIT, i)->code)]++;
	assert_int_equal(count[TF_UNIT_UNKNOWN], 0);
	assert_int_equal(count[TF_UNIT_RESIDENTS], 536);
	assert_int_equal(count[TF_UNIT_VILLAGERS], 4145);
	assert_int_equal(count[TF_UNIT_COMMUNITY_LIKE], 10);
	assert_int_equal(count[TF_UNIT_VILLAGE_LIKE], 25);
}

/* The README's per-prefecture table, walking parents up from each row. */
static void
test_qinghai_per_prefecture(void **state)
{
	static const struct {
		const char *code;
		size_t counties, townships, units;
	} expect[] = {
		{ "630100000000", 7, 80, 1100 },
		{ "630200000000", 6, 98, 1665 },
		{ "632200000000", 4, 32, 255 },
		{ "632300000000", 4, 33, 299 },
		{ "632500000000", 5, 40, 487 },
		{ "632600000000", 6, 44, 208 },
		{ "632700000000", 6, 49, 313 },
		{ "632800000000", 7, 46, 389 },
	};
	const tf_registry_t *reg = *state;

	for (size_t e = 0; e < sizeof expect / sizeof expect[0]; e++) {
		size_t counties = 0, townships = 0, units = 0;

		for (size_t i = 0; i < tf_registry_size(reg, TF_LEVEL_COUNTY); i++)
			if (strcmp(tf_registry_at(reg, TF_LEVEL_COUNTY, i)->parent, expect[e].code) == 0)
				counties++;
		for (size_t i = 0; i < tf_registry_size(reg, TF_LEVEL_TOWNSHIP); i++) {
			const tf_area_t *t = tf_registry_at(reg, TF_LEVEL_TOWNSHIP, i);
			const tf_area_t *c = tf_registry_find(reg, TF_LEVEL_COUNTY, t->parent);
			assert_non_null(c);
			if (strcmp(c->parent, expect[e].code) == 0)
				townships++;
		}
		for (size_t i = 0; i < tf_registry_size(reg, TF_LEVEL_UNIT); i++) {
			const tf_area_t *u = tf_registry_at(reg, TF_LEVEL_UNIT, i);
			const tf_area_t *t = tf_registry_find(reg, TF_LEVEL_TOWNSHIP, u->parent);
			const tf_area_t *c;
			assert_non_null(t);
			c = tf_registry_find(reg, TF_LEVEL_COUNTY, t->parent);
			assert_non_null(c);
			if (strcmp(c->parent, expect[e].code) == 0)
				units++;
		}
		assert_int_equal(counties, expect[e].counties);
		assert_int_equal(townships, expect[e].townships);
		assert_int_equal(units, expect[e].units);
	}
}

/* Every loaded row points at a loaded parent whose prefix it carries. */
static void
test_qinghai_parents_and_prefixes(void **state)
{
	static const size_t prefix[] = { 4, 6, 9 };
	const tf_registry_t *reg = *state;

	for (size_t i = 0; i < tf_registry_size(reg, TF_LEVEL_PREFECTURE); i++) {
		const tf_area_t *p = tf_registry_at(reg, TF_LEVEL_PREFECTURE, i);
		assert_string_equal(p->parent, "");
		assert_true(tf_code_valid(p->code));
		assert_ptr_equal(tf_registry_find(reg, TF_LEVEL_PREFECTURE, p->code), p);
	}
	for (int level = TF_LEVEL_COUNTY; level <= TF_LEVEL_UNIT; level++)
		for (size_t i = 0; i < tf_registry_size(reg, (tf_level_t)level); i++) {
			const tf_area_t *a = tf_registry_at(reg, (tf_level_t)level, i);
			assert_ptr_equal(tf_registry_find(reg, (tf_level_t)level, a->code), a);
			assert_non_null(tf_registry_find(reg, (tf_level_t)(level - 1), a->parent));
			assert_memory_equal(a->code, a->parent, prefix[level - 1]);
			assert_true(a->name[0] != '\0');
		}
}

static void
test_qinghai_lookups(void **state)
{
	const tf_registry_t *reg = *state;
	const tf_area_t *a;

	a = tf_registry_find(reg, TF_LEVEL_PREFECTURE, "630100000000");
	assert_non_null(a);
	assert_string_equal(a->name, "西宁市");
	assert_string_equal(a->parent, "");

	a = tf_registry_find(reg, TF_LEVEL_COUNTY, "630121000000");
	assert_non_null(a);
	assert_string_equal(a->name, "大通回族土族自治县");
	assert_string_equal(a->parent, "630100000000");

	a = tf_registry_find(reg, TF_LEVEL_COUNTY, "632857000000");   /* the 行委 */
	assert_non_null(a);
	assert_string_equal(a->name, "大柴旦行政委员会");

	a = tf_registry_find(reg, TF_LEVEL_TOWNSHIP, "630102001000");
	assert_non_null(a);
	assert_string_equal(a->name, "东关大街街道");
	assert_string_equal(a->parent, "630102000000");

	a = tf_registry_find(reg, TF_LEVEL_UNIT, "630102001001");
	assert_non_null(a);
	assert_string_equal(a->name, "北关社区居民委员会");
	assert_string_equal(a->parent, "630102001000");
	assert_string_equal(a->urban_rural, "111");

	a = tf_registry_find(reg, TF_LEVEL_UNIT, "630121101201");
	assert_non_null(a);
	assert_string_equal(a->name, "上毛佰胜村委会");
	assert_string_equal(a->urban_rural, "122");
	assert_int_equal(tf_unit_kind_of(a->code), TF_UNIT_VILLAGERS);

	/* Load order is file order. */
	a = tf_registry_at(reg, TF_LEVEL_UNIT, 0);
	assert_string_equal(a->code, "630102001001");
	a = tf_registry_at(reg, TF_LEVEL_PREFECTURE, 7);
	assert_string_equal(a->code, "632800000000");

	/* A code is found only at its own level. */
	assert_null(tf_registry_find(reg, TF_LEVEL_TOWNSHIP, "630102001001"));
	assert_null(tf_registry_find(reg, TF_LEVEL_UNIT, "630102001000"));
	assert_null(tf_registry_find(reg, TF_LEVEL_COUNTY, "630100000000"));
	/* Not there: the left-out 市辖区, a made-up unit, junk. */
	assert_null(tf_registry_find(reg, TF_LEVEL_COUNTY, "630101000000"));
	assert_null(tf_registry_find(reg, TF_LEVEL_UNIT, "630102001399"));
	assert_null(tf_registry_find(reg, TF_LEVEL_UNIT, ""));
	assert_null(tf_registry_find(reg, TF_LEVEL_UNIT, "63010200100"));
	assert_null(tf_registry_find(reg, TF_LEVEL_UNIT, "6301020010011"));
}

/* ---- codes and kinds, no registry needed ---- */

static void
test_unit_kind_boundaries(void **state)
{
	static const struct {
		const char *code;
		tf_unit_kind_t kind;
	} cases[] = {
		{ "630102001000", TF_UNIT_UNKNOWN },
		{ "630102001001", TF_UNIT_RESIDENTS },
		{ "630102001100", TF_UNIT_RESIDENTS },
		{ "630102001199", TF_UNIT_RESIDENTS },
		{ "630102001200", TF_UNIT_VILLAGERS },
		{ "630102001399", TF_UNIT_VILLAGERS },
		{ "630102001400", TF_UNIT_COMMUNITY_LIKE },
		{ "630102001499", TF_UNIT_COMMUNITY_LIKE },
		{ "630102001500", TF_UNIT_VILLAGE_LIKE },
		{ "630102001599", TF_UNIT_VILLAGE_LIKE },
		{ "630102001600", TF_UNIT_UNKNOWN },
		{ "630102001650", TF_UNIT_UNKNOWN },
		{ "630102001999", TF_UNIT_UNKNOWN },
		/* Not 12 digits: never a kind, whatever the last three say. */
		{ "", TF_UNIT_UNKNOWN },
		{ "201", TF_UNIT_UNKNOWN },
		{ "63010200120", TF_UNIT_UNKNOWN },     /* 11 digits */
		{ "6301020012010", TF_UNIT_UNKNOWN },   /* 13 digits */
		{ "63010200120a", TF_UNIT_UNKNOWN },
		{ "630102001a01", TF_UNIT_UNKNOWN },
		{ "63010200 201", TF_UNIT_UNKNOWN },
		{ "630102001+01", TF_UNIT_UNKNOWN },
		{ "630102001-01", TF_UNIT_UNKNOWN },
		{ "630102001 21", TF_UNIT_UNKNOWN },
		{ "６３0102001201", TF_UNIT_UNKNOWN },  /* fullwidth digits */
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tf_unit_kind_t got = tf_unit_kind_of(cases[i].code);
		if (got != cases[i].kind) {
			print_error("tf_unit_kind_of(\"%s\") = %s, expected %s\n", cases[i].code,
			            tf_unit_kind_name(got), tf_unit_kind_name(cases[i].kind));
			fail();
		}
	}
}

static void
test_unit_kind_names(void **state)
{
	(void)state;
	assert_string_equal(tf_unit_kind_name(TF_UNIT_UNKNOWN), "unknown");
	assert_string_equal(tf_unit_kind_name(TF_UNIT_RESIDENTS), "residents");
	assert_string_equal(tf_unit_kind_name(TF_UNIT_VILLAGERS), "villagers");
	assert_string_equal(tf_unit_kind_name(TF_UNIT_COMMUNITY_LIKE), "community_like");
	assert_string_equal(tf_unit_kind_name(TF_UNIT_VILLAGE_LIKE), "village_like");
	assert_string_equal(tf_unit_kind_name((tf_unit_kind_t)42), "unknown");
}

static void
test_code_valid(void **state)
{
	(void)state;
	assert_true(tf_code_valid("630102001001"));
	assert_true(tf_code_valid("000000000000"));
	assert_false(tf_code_valid(""));
	assert_false(tf_code_valid("63010200100"));
	assert_false(tf_code_valid("6301020010011"));
	assert_false(tf_code_valid("63010200100x"));
	assert_false(tf_code_valid(" 63010200100"));
	assert_false(tf_code_valid("630102001001\n"));
}

/* ---- tf_registry_add, row by row ---- */

static void
test_add_builds_and_checks(void **state)
{
	tf_registry_t *reg = tf_registry_new();
	char err[512];

	(void)state;
	assert_non_null(reg);
	assert_string_equal(tf_registry_province(reg), "");
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_PREFECTURE, "630100000000", "西宁市",
	                                 NULL, NULL, err, sizeof err), 0);
	assert_string_equal(tf_registry_province(reg), "63");
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_COUNTY, "630102000000", "城东区",
	                                 "630100000000", NULL, err, sizeof err), 0);
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_TOWNSHIP, "630102001000", "东关大街街道",
	                                 "630102000000", NULL, err, sizeof err), 0);
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_UNIT, "630102001001", "北关社区",
	                                 "630102001000", "111", err, sizeof err), 0);
	/* Row by row (the database's registry) another province is taken, a
	 * county of it under its own prefecture, not under another's; the
	 * province named stays the first row's. */
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_PREFECTURE, "640100000000", "银川市",
	                                 NULL, NULL, err, sizeof err), 0);
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_COUNTY, "640104000000", "兴庆区",
	                                 "640100000000", NULL, err, sizeof err), 0);
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_COUNTY, "640105000000", "西夏区",
	                                 "630100000000", NULL, err, sizeof err), -1);
	assert_contains(err, "prefix");
	assert_string_equal(tf_registry_province(reg), "63");
	assert_non_null(tf_registry_find(reg, TF_LEVEL_COUNTY, "640104000000"));
	/* A unit whose parent is missing is refused, whatever the prefix. */
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_UNIT, "630102002001", "x",
	                                 "630102002000", "111", err, sizeof err), -1);
	assert_contains(err, "not in the registry");
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_UNIT, "630102001002", "x",
	                                 NULL, "111", err, sizeof err), -1);
	assert_contains(err, "(none)");
	/* A bad urban-rural code. */
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_UNIT, "630102001002", "x",
	                                 "630102001000", "11", err, sizeof err), -1);
	assert_contains(err, "urban-rural");
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_UNIT, "630102001002", "x",
	                                 "630102001000", "1a1", err, sizeof err), -1);
	assert_contains(err, "urban-rural");
	/* Nothing refused was kept. */
	assert_int_equal(tf_registry_size(reg, TF_LEVEL_PREFECTURE), 2);
	assert_int_equal(tf_registry_size(reg, TF_LEVEL_COUNTY), 2);
	assert_int_equal(tf_registry_size(reg, TF_LEVEL_UNIT), 1);
	assert_null(tf_registry_find(reg, TF_LEVEL_UNIT, "630102001002"));
	tf_registry_destroy(&reg);
	assert_null(reg);
	tf_registry_destroy(&reg);      /* safe on NULL */
}

/* Many rows at one level, so the area array grows and moves: every code
 * must still be found and point at its own row. */
static void
test_add_many_rows_survive_growth(void **state)
{
	tf_registry_t *reg = tf_registry_new();
	char err[512], code[16], name[32];

	(void)state;
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_PREFECTURE, "630100000000", "西宁市",
	                                 NULL, NULL, err, sizeof err), 0);
	assert_int_equal(tf_registry_add(reg, TF_LEVEL_COUNTY, "630102000000", "城东区",
	                                 "630100000000", NULL, err, sizeof err), 0);
	for (int t = 1; t <= 300; t++) {
		snprintf(code, sizeof code, "630102%03d000", t);
		snprintf(name, sizeof name, "township %d", t);
		assert_int_equal(tf_registry_add(reg, TF_LEVEL_TOWNSHIP, code, name,
		                                 "630102000000", NULL, err, sizeof err), 0);
	}
	assert_int_equal(tf_registry_size(reg, TF_LEVEL_TOWNSHIP), 300);
	for (int t = 1; t <= 300; t++) {
		const tf_area_t *a;
		snprintf(code, sizeof code, "630102%03d000", t);
		snprintf(name, sizeof name, "township %d", t);
		a = tf_registry_find(reg, TF_LEVEL_TOWNSHIP, code);
		assert_non_null(a);
		assert_string_equal(a->code, code);
		assert_string_equal(a->name, name);
	}
	tf_registry_destroy(&reg);
}

/* ---- registries on disk, good and bad ---- */

/* A minimal sound registry; each bad-registry test replaces one file. */
#define PREFECTURES "code,name\n630100000000,西宁市\n"
#define COUNTIES    "code,name,prefecture_code\n630102000000,城东区,630100000000\n"
#define TOWNSHIPS   "code,name,county_code\n630102001000,东关大街街道,630102000000\n"
#define VILLAGES    "code,name,township_code,urban_rural_code\n" \
                    "630102001001,北关社区居民委员会,630102001000,111\n" \
                    "630102001201,某村村委会,630102001000,220\n"
#define VILLAGES_HEADER "code,name,township_code,urban_rural_code\n"

typedef struct {
	char dir[64];
	char err[1024];
	int rc;
	size_t units;
} disk_t;

static void
s_write(const char *dir, const char *file, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	assert_int_equal(fclose(fp), 0);
}

static void
s_remove_dir(const char *dir)
{
	static const char *files[] = {
		"prefectures.csv", "counties.csv", "townships.csv", "villages.csv"
	};
	char path[256];

	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		if (unlink(path) != 0 && errno != ENOENT)
			fail_msg("could not remove %s", path);
	}
	assert_int_equal(rmdir(dir), 0);
}

/* Write the four files (NULL: leave that file out) to a fresh temporary
 * directory, load them, remove them again. */
static void
s_load_files(disk_t *d, const char *prefectures, const char *counties, const char *townships,
             const char *villages)
{
	tf_registry_t *reg = tf_registry_new();
	const char *tmp = getenv("TMPDIR");

	assert_non_null(reg);
	snprintf(d->dir, sizeof d->dir, "%s/tf-registry-XXXXXX",
	         tmp != NULL && strlen(tmp) < 32 ? tmp : "/tmp");
	assert_non_null(mkdtemp(d->dir));
	if (prefectures != NULL)
		s_write(d->dir, "prefectures.csv", prefectures);
	if (counties != NULL)
		s_write(d->dir, "counties.csv", counties);
	if (townships != NULL)
		s_write(d->dir, "townships.csv", townships);
	if (villages != NULL)
		s_write(d->dir, "villages.csv", villages);
	d->err[0] = '\0';
	d->rc = tf_registry_load_dir(reg, d->dir, d->err, sizeof d->err);
	d->units = tf_registry_size(reg, TF_LEVEL_UNIT);
	tf_registry_destroy(&reg);
	s_remove_dir(d->dir);
}

/* Expect the load to fail with "<dir>/<where>: " and reason in the error. */
#define assert_refused(d, where, reason)                                         \
	do {                                                                     \
		char at_[128];                                                   \
		if ((d)->rc == 0) {                                              \
			print_error("registry loaded; expected \"%s\"\n", (where)); \
			fail();                                                  \
		}                                                                \
		snprintf(at_, sizeof at_, "%s/%s: ", (d)->dir, (where));         \
		assert_starts_with((d)->err, at_);                               \
		assert_contains((d)->err, (reason));                             \
	} while (0)

static void
test_disk_minimal_registry_loads(void **state)
{
	disk_t d;

	(void)state;
	s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS, VILLAGES);
	if (d.rc != 0)
		fail_msg("minimal registry refused: %s", d.err);
	assert_int_equal(d.units, 2);
}

/* A spreadsheet's byte-order mark, CRLF line ends and blank lines are harmless. */
static void
test_disk_bom_crlf_blank_lines_accepted(void **state)
{
	disk_t d;

	(void)state;
	s_load_files(&d, "\xef\xbb\xbf" "code,name\r\n630100000000,西宁市\r\n\r\n", COUNTIES,
	             TOWNSHIPS, VILLAGES_HEADER "\n630102001001,北关社区,630102001000,111\n\n");
	if (d.rc != 0)
		fail_msg("refused: %s", d.err);
	assert_int_equal(d.units, 1);
}

static void
test_disk_wrong_header(void **state)
{
	disk_t d;

	(void)state;
	s_load_files(&d, "code;name\n630100000000;西宁市\n", COUNTIES, TOWNSHIPS, VILLAGES);
	assert_refused(&d, "prefectures.csv:1", "header must be \"code,name\"");
	s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS,
	             "code,name,township_code\n630102001001,北关社区,630102001000\n");
	assert_refused(&d, "villages.csv:1", "header");
	/* An empty file has no header either. */
	s_load_files(&d, PREFECTURES, "", TOWNSHIPS, VILLAGES);
	assert_int_equal(d.rc, -1);
	assert_contains(d.err, "counties.csv");
}

static void
test_disk_missing_parent(void **state)
{
	disk_t d;

	(void)state;
	s_load_files(&d, PREFECTURES,
	             "code,name,prefecture_code\n630102000000,城东区,630100000000\n"
	             "632221000000,门源回族自治县,632200000000\n",
	             TOWNSHIPS, VILLAGES);
	assert_refused(&d, "counties.csv:3", "parent prefecture 632200000000 is not in the registry");
	s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS,
	             VILLAGES_HEADER "630102001001,北关社区,630102001000,111\n"
	             "630102002001,某社区,630102002000,111\n");
	assert_refused(&d, "villages.csv:3", "parent township 630102002000 is not in the registry");
	/* An empty parent field is no parent. */
	s_load_files(&d, PREFECTURES, COUNTIES, "code,name,county_code\n630102001000,东关大街街道,\n",
	             VILLAGES);
	assert_refused(&d, "townships.csv:2", "not in the registry");
}

static void
test_disk_code_outside_parent_prefix(void **state)
{
	disk_t d;

	(void)state;
	/* 630103 (城中区) under 630102's... the parent exists but is another county. */
	s_load_files(&d, PREFECTURES,
	             "code,name,prefecture_code\n630102000000,城东区,630100000000\n"
	             "630103000000,城中区,630100000000\n",
	             "code,name,county_code\n630102001000,东关大街街道,630102000000\n"
	             "630103001000,人民街街道,630102000000\n",
	             VILLAGES);
	assert_refused(&d, "townships.csv:3", "does not start with its parent's prefix 630102");
	s_load_files(&d, "code,name\n630100000000,西宁市\n630200000000,海东市\n",
	             "code,name,prefecture_code\n630202000000,乐都区,630100000000\n",
	             TOWNSHIPS, VILLAGES);
	assert_refused(&d, "counties.csv:2", "prefix 6301");
	s_load_files(&d, PREFECTURES, COUNTIES,
	             "code,name,county_code\n630102001000,东关大街街道,630102000000\n"
	             "630102002000,清真巷街道,630102000000\n",
	             VILLAGES_HEADER "630102001001,北关社区,630102001000,111\n"
	             "630102002001,某社区,630102001000,111\n");
	assert_refused(&d, "villages.csv:3", "prefix 630102001");
}

static void
test_disk_duplicate_code(void **state)
{
	disk_t d;

	(void)state;
	s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS,
	             VILLAGES_HEADER "630102001001,北关社区,630102001000,111\n"
	             "630102001201,某村,630102001000,220\n"
	             "630102001001,北关社区二,630102001000,111\n");
	assert_refused(&d, "villages.csv:4", "630102001001 appears twice");
	s_load_files(&d, "code,name\n630100000000,西宁市\n630100000000,西宁市\n", COUNTIES,
	             TOWNSHIPS, VILLAGES);
	assert_refused(&d, "prefectures.csv:3", "appears twice");
}

static void
test_disk_unit_suffix_maps_to_nothing(void **state)
{
	static const char *suffixes[] = { "000", "600", "650", "999" };
	disk_t d;

	(void)state;
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		char villages[256], reason[64];

		snprintf(villages, sizeof villages,
		         VILLAGES_HEADER "630102001001,北关社区,630102001000,111\n"
		         "630102001%s,某单位,630102001000,220\n", suffixes[i]);
		s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS, villages);
		snprintf(reason, sizeof reason, "last three digits %s map to no committee type",
		         suffixes[i]);
		assert_refused(&d, "villages.csv:3", reason);
	}
}

static void
test_disk_code_not_12_digits(void **state)
{
	disk_t d;

	(void)state;
	s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS,
	             VILLAGES_HEADER "63010200100,北关社区,630102001000,111\n");
	assert_refused(&d, "villages.csv:2", "is not 12 digits");
	s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS,
	             VILLAGES_HEADER "6301020010011,北关社区,630102001000,111\n");
	assert_refused(&d, "villages.csv:2", "is not 12 digits");
	s_load_files(&d, PREFECTURES,
	             "code,name,prefecture_code\n63010200000O,城东区,630100000000\n",
	             TOWNSHIPS, VILLAGES);
	assert_refused(&d, "counties.csv:2", "is not 12 digits");
	s_load_files(&d, "code,name\n 630100000000,西宁市\n", COUNTIES, TOWNSHIPS, VILLAGES);
	assert_refused(&d, "prefectures.csv:2", "is not 12 digits");
}

static void
test_disk_quote_char(void **state)
{
	disk_t d;

	(void)state;
	s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS,
	             VILLAGES_HEADER "630102001001,北关社区,630102001000,111\n"
	             "630102001201,\"某村,一组\",630102001000,220\n");
	assert_refused(&d, "villages.csv:3", "quotes are not allowed");
	s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS,
	             VILLAGES_HEADER "630102001001,北关\"社区,630102001000,111\n");
	assert_refused(&d, "villages.csv:2", "quotes are not allowed");
}

static void
test_disk_wrong_field_count(void **state)
{
	disk_t d;

	(void)state;
	s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS,
	             VILLAGES_HEADER "630102001001,北关社区,630102001000,111,extra\n");
	assert_refused(&d, "villages.csv:2", "expected 4 comma-separated fields");
	s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS,
	             VILLAGES_HEADER "630102001001,北关社区,630102001000,111,\n");
	assert_refused(&d, "villages.csv:2", "expected 4 comma-separated fields");
	s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS,
	             VILLAGES_HEADER "630102001001,北关社区,630102001000\n");
	assert_refused(&d, "villages.csv:2", "expected 4 comma-separated fields");
	s_load_files(&d, "code,name\n630100000000,西宁,市\n", COUNTIES, TOWNSHIPS, VILLAGES);
	assert_refused(&d, "prefectures.csv:2", "expected 2 comma-separated fields");
}

static void
test_disk_bad_name(void **state)
{
	disk_t d;
	char villages[512], name[80];

	(void)state;
	s_load_files(&d, PREFECTURES, COUNTIES, "code,name,county_code\n630102001000,,630102000000\n",
	             VILLAGES);
	assert_refused(&d, "townships.csv:2", "name is empty");
	/* 64 bytes of name is the most: 21 CJK characters (63 bytes) and one more byte. */
	strcpy(name, "");
	for (int i = 0; i < 21; i++)
		strcat(name, "村");
	strcat(name, "a");
	snprintf(villages, sizeof villages, VILLAGES_HEADER "630102001201,%s,630102001000,220\n", name);
	s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS, villages);
	if (d.rc != 0)
		fail_msg("64-byte name refused: %s", d.err);
	strcat(name, "b");
	snprintf(villages, sizeof villages, VILLAGES_HEADER "630102001201,%s,630102001000,220\n", name);
	s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS, villages);
	assert_refused(&d, "villages.csv:2", "longer than 64 bytes");
	/* Not UTF-8 (a GBK-encoded 村 is 0xB4 0xE5). */
	s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS,
	             VILLAGES_HEADER "630102001201,\xb4\xe5,630102001000,220\n");
	assert_refused(&d, "villages.csv:2", "not UTF-8");
}

static void
test_disk_bad_urban_rural(void **state)
{
	disk_t d;

	(void)state;
	s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS,
	             VILLAGES_HEADER "630102001001,北关社区,630102001000,1110\n");
	assert_refused(&d, "villages.csv:2", "urban-rural code");
	s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS,
	             VILLAGES_HEADER "630102001001,北关社区,630102001000,\n");
	assert_refused(&d, "villages.csv:2", "urban-rural code");
}

/* A township (or county) without children would silently drop out of the
 * province's "expected" figures; it is refused, at the row that names it. */
static void
test_disk_township_without_units(void **state)
{
	disk_t d;

	(void)state;
	s_load_files(&d, PREFECTURES, COUNTIES,
	             "code,name,county_code\n630102001000,东关大街街道,630102000000\n"
	             "630102002000,清真巷街道,630102000000\n",
	             VILLAGES);
	assert_int_equal(d.rc, -1);
	assert_contains(d.err, "630102002000");
	assert_contains(d.err, "has no unit");
	assert_refused(&d, "townships.csv:3", "has no unit");
}

static void
test_disk_county_without_townships(void **state)
{
	disk_t d;

	(void)state;
	s_load_files(&d, PREFECTURES,
	             "code,name,prefecture_code\n630102000000,城东区,630100000000\n"
	             "630103000000,城中区,630100000000\n",
	             TOWNSHIPS, VILLAGES);
	assert_int_equal(d.rc, -1);
	assert_contains(d.err, "630103000000");
	assert_contains(d.err, "has no township");
	assert_refused(&d, "counties.csv:3", "has no township");
}

static void
test_disk_code_not_ending_in_zeros(void **state)
{
	disk_t d;

	(void)state;
	s_load_files(&d, PREFECTURES,
	             "code,name,prefecture_code\n630102000001,城东区,630100000000\n",
	             TOWNSHIPS, VILLAGES);
	assert_refused(&d, "counties.csv:2", "must end in 6 zeros");
	s_load_files(&d, "code,name\n630100000100,西宁市\n", COUNTIES, TOWNSHIPS, VILLAGES);
	assert_refused(&d, "prefectures.csv:2", "must end in 8 zeros");
	s_load_files(&d, PREFECTURES, COUNTIES,
	             "code,name,county_code\n630102001010,东关大街街道,630102000000\n", VILLAGES);
	assert_refused(&d, "townships.csv:2", "must end in 3 zeros");
}

static void
test_disk_other_province(void **state)
{
	disk_t d;

	(void)state;
	s_load_files(&d, "code,name\n630100000000,西宁市\n640100000000,银川市\n", COUNTIES,
	             TOWNSHIPS, VILLAGES);
	assert_refused(&d, "prefectures.csv:3", "not in province 63");
}

static void
test_disk_missing_or_empty_file(void **state)
{
	disk_t d;

	(void)state;
	s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS, NULL);
	assert_int_equal(d.rc, -1);
	assert_contains(d.err, "/villages.csv: ");
	assert_contains(d.err, strerror(ENOENT));
	s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS, VILLAGES_HEADER);
	assert_int_equal(d.rc, -1);
	assert_contains(d.err, "/villages.csv: no rows");
}

static void
test_disk_overlong_line(void **state)
{
	disk_t d;
	char villages[2048];
	int n;

	(void)state;
	n = snprintf(villages, sizeof villages, VILLAGES_HEADER "630102001001,");
	memset(villages + n, 'a', 1100);
	snprintf(villages + n + 1100, sizeof villages - (size_t)n - 1100, ",630102001000,111\n");
	s_load_files(&d, PREFECTURES, COUNTIES, TOWNSHIPS, villages);
	assert_refused(&d, "villages.csv:2", "line longer than");
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest qinghai[] = {
		cmocka_unit_test(test_code_prefix_len_names_the_area),
		cmocka_unit_test(test_qinghai_level_counts),
		cmocka_unit_test(test_qinghai_unit_kinds),
		cmocka_unit_test(test_qinghai_per_prefecture),
		cmocka_unit_test(test_qinghai_parents_and_prefixes),
		cmocka_unit_test(test_qinghai_lookups),
	};
	const struct CMUnitTest others[] = {
		cmocka_unit_test(test_unit_kind_boundaries),
		cmocka_unit_test(test_unit_kind_names),
		cmocka_unit_test(test_code_valid),
		cmocka_unit_test(test_add_builds_and_checks),
		cmocka_unit_test(test_add_many_rows_survive_growth),
		cmocka_unit_test(test_disk_minimal_registry_loads),
		cmocka_unit_test(test_disk_bom_crlf_blank_lines_accepted),
		cmocka_unit_test(test_disk_wrong_header),
		cmocka_unit_test(test_disk_missing_parent),
		cmocka_unit_test(test_disk_code_outside_parent_prefix),
		cmocka_unit_test(test_disk_duplicate_code),
		cmocka_unit_test(test_disk_unit_suffix_maps_to_nothing),
		cmocka_unit_test(test_disk_code_not_12_digits),
		cmocka_unit_test(test_disk_quote_char),
		cmocka_unit_test(test_disk_wrong_field_count),
		cmocka_unit_test(test_disk_bad_name),
		cmocka_unit_test(test_disk_bad_urban_rural),
		cmocka_unit_test(test_disk_township_without_units),
		cmocka_unit_test(test_disk_county_without_townships),
		cmocka_unit_test(test_disk_code_not_ending_in_zeros),
		cmocka_unit_test(test_disk_other_province),
		cmocka_unit_test(test_disk_missing_or_empty_file),
		cmocka_unit_test(test_disk_overlong_line),
	};
	int failed;

	if (argc > 1)
		s_qinghai_dir = argv[1];
	failed = cmocka_run_group_tests_name("qinghai registry", qinghai, s_load_qinghai,
	                                     s_free_qinghai);
	failed += cmocka_run_group_tests_name("registry rules", others, NULL, NULL);
	return failed != 0;
}
