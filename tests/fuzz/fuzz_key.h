/*
 * fuzz_key: the fuzzing agent's Ed25519 key, shared by the seed generator
 * and the fuzz target.  It is fixed, not generated, so that the seed
 * corpus, the fuzzer and every saved reproducer agree on which signatures
 * verify, in any build on any machine.  It is public by design: it signs
 * nothing real and no collector enrols it.
 */
#ifndef TF_FUZZ_KEY_H
#define TF_FUZZ_KEY_H

/* The 32-byte Ed25519 seed (crypto_sign_seed_keypair), without its NUL. */
#define TF_FUZZ_SIGN_SEED "tallyfeed fuzzing key, not real!"
_Static_assert(sizeof TF_FUZZ_SIGN_SEED == 32 + 1, "an Ed25519 seed is 32 bytes");

/* Enrolment as the fuzz target models it: an agent id "agent-" followed by
 * a township's 12-digit code is an agent of that township, holding the key
 * above.  Any other agent id is not enrolled. */
#define TF_FUZZ_AGENT_PREFIX "agent-"

/* The seed corpus's acks carry receipts signed with the same key in the
 * name of this collector. */
#define TF_FUZZ_COLLECTOR "collector-seed"

#endif
