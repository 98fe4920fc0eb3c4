/*
 * registry: the division registry of a province (or of several: the
 * database may hold any number) — prefectures, counties,
 * townships and units (villages and communities) with their 12-digit
 * statistical codes.  Loaded from the CSV form shipped in
 * deploy/registry/<province>/ (see its README) or built unit by unit from
 * the database.  Every row is checked on the way in; a row the hierarchy
 * cannot place is refused with file:line and the reason, never skipped.
 */
#ifndef TF_REGISTRY_H
#define TF_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#define TF_CODE_LEN 12          /* digits in a statistical division code */
#define TF_NAME_MAX 64          /* bytes of UTF-8 in a division name */

typedef enum {
	TF_LEVEL_PREFECTURE,
	TF_LEVEL_COUNTY,
	TF_LEVEL_TOWNSHIP,
	TF_LEVEL_UNIT,
	TF_LEVEL_COUNT
} tf_level_t;

/* What a unit is, from the last three digits of its code (NBS coding rule). */
typedef enum {
	TF_UNIT_UNKNOWN = 0,        /* 000, 600-999: no committee type maps */
	TF_UNIT_RESIDENTS,          /* 001-199 居民委员会 */
	TF_UNIT_VILLAGERS,          /* 200-399 村民委员会 */
	TF_UNIT_COMMUNITY_LIKE,     /* 400-499 类似居民委员会 */
	TF_UNIT_VILLAGE_LIKE        /* 500-599 类似村民委员会 */
} tf_unit_kind_t;

typedef struct {
	char code[TF_CODE_LEN + 1];
	char name[TF_NAME_MAX + 1];
	char parent[TF_CODE_LEN + 1];   /* empty for a prefecture */
	char urban_rural[4];            /* units only: 3-digit urban-rural code */
	unsigned line;                  /* line in its CSV file; 0 if not loaded from one */
} tf_area_t;

typedef struct _tf_registry_t tf_registry_t;

/* Kind of a unit from its code; TF_UNIT_UNKNOWN if code is not 12 digits or maps to nothing. */
tf_unit_kind_t tf_unit_kind_of(const char *code);
/* Stable lowercase name of a kind: "residents", "villagers", ... */
const char *tf_unit_kind_name(tf_unit_kind_t kind);
/* True if code is exactly 12 ASCII digits. */
bool tf_code_valid(const char *code);
/* How many leading digits of a valid code name its area, the rest being
 * zeros: 2 for the province (630000000000), 4 a prefecture, 6 a county,
 * 9 a township, 12 a unit.  A code shares them with everything inside it. */
size_t tf_code_prefix_len(const char *code);

/* Empty registry; caller owns it. */
tf_registry_t *tf_registry_new(void);
void tf_registry_destroy(tf_registry_t **self_p);

/* Load prefectures.csv, counties.csv, townships.csv and villages.csv from
 * dir.  0 on success; -1 with "file:line: reason" in err otherwise. */
int tf_registry_load_dir(tf_registry_t *self, const char *dir, char *err, size_t errlen);

/* Add one area at a level, checking code, name and parent.  0 or -1 with reason in err. */
int tf_registry_add(tf_registry_t *self, tf_level_t level, const char *code,
                    const char *name, const char *parent, const char *urban_rural,
                    char *err, size_t errlen);

/* Number of areas at a level, and the i-th one in load order. */
size_t tf_registry_size(const tf_registry_t *self, tf_level_t level);
const tf_area_t *tf_registry_at(const tf_registry_t *self, tf_level_t level, size_t i);
/* The area with that code at that level, or NULL. */
const tf_area_t *tf_registry_find(const tf_registry_t *self, tf_level_t level, const char *code);
/* Two-digit province code of the first row ("63"), or "" when empty.  A
 * registry loaded from a directory holds that one province; one built row
 * by row (from the database) may hold several. */
const char *tf_registry_province(const tf_registry_t *self);

#endif
