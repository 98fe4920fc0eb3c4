/*
 * simgen: one unit's simulated "two committees" election — its Party branch
 * and its villagers' or residents' committee, round 1 and, where round 1
 * left seats unfilled, the runoff — as result reports whose elected flags
 * come from tf_rules_decide.  Used by tallyfeed-sim (sim.c).
 */
#ifndef TF_SIMGEN_H
#define TF_SIMGEN_H

#include <stdbool.h>
#include <stdint.h>

#include "registry.h"
#include "report.h"

/* A small PRNG of our own (splitmix64).  rand() and random() differ between
 * libc versions and share hidden global state; the simulator promises the
 * same bytes for the same seed on every machine, so it carries its own. */
typedef struct {
	uint64_t state;
} sim_rng_t;

/* Seed a stream from the run's seed, a text salt (a code, a word) and a
 * number, so that every unit and committee draws from its own stream. */
void sim_rng_seed(sim_rng_t *rng, uint64_t seed, const char *salt, uint64_t n);
uint64_t sim_rng_next(sim_rng_t *rng);
/* Uniform in 0..n-1; n > 0. */
uint32_t sim_rng_below(sim_rng_t *rng, uint32_t n);
/* Uniform in lo..hi inclusive; lo <= hi. */
uint32_t sim_rng_range(sim_rng_t *rng, uint32_t lo, uint32_t hi);
/* True with probability per_mille / 1000. */
bool sim_rng_chance(sim_rng_t *rng, uint32_t per_mille);

typedef struct _sim_unit_t sim_unit_t;

/* Simulate both committees of a registry unit.  The result depends only on
 * the unit's code, its township's code, seed and revision.  Caller owns it.
 * Exits the program if memory runs out (a simulator has nothing better to do). */
sim_unit_t *sim_unit_new(const tf_area_t *unit, uint64_t seed, unsigned revision);
void sim_unit_destroy(sim_unit_t **self_p);

/* The unit's mass committee: VILLAGERS or RESIDENTS, from its code. */
Tallyfeed__Committee sim_unit_mass_committee(const sim_unit_t *self);
/* The report of that committee and round (1 or 2), or NULL if there is
 * none (no runoff, or not this unit's committee).  Owned by the unit; the
 * caller may change it in place (to corrupt it on purpose). */
tf_report_t *sim_unit_report(sim_unit_t *self, Tallyfeed__Committee committee, unsigned round);

#endif
