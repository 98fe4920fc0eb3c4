/*
 * budget: a ceiling on the memory a protobuf-c decode may take.  A frame's
 * size says little about what unpacking it costs: every unknown field
 * becomes a record and a malloc of its own, every empty repeated element a
 * struct, so 256 KiB of wire can take tens of MiB of heap.  A budget hands
 * protobuf-c an allocator (ProtobufCAllocator) that counts each allocation
 * as malloc's chunk for it, and returns NULL once the count would pass the
 * limit: the unpack then fails and frees what it had taken.
 *
 * A budget may have a parent (a batch's budget over its messages'): an
 * allocation is charged to both and refused if either would pass its
 * limit.  Frees go straight to free(): a message unpacked within a budget
 * is freed with the NULL (system) allocator like any other, and the count
 * is of what the decodes took, which for an unpack is its peak.
 */
#ifndef TF_BUDGET_H
#define TF_BUDGET_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct _tf_budget_t tf_budget_t;

/* A budget of limit bytes (> 0), charged also to parent (borrowed; NULL:
 * none).  NULL if out of memory. */
tf_budget_t *tf_budget_new(size_t limit, tf_budget_t *parent);
void tf_budget_destroy(tf_budget_t **self_p);

/* The allocator to pass to __unpack (valid while the budget lives). */
ProtobufCAllocator *tf_budget_allocator(tf_budget_t *self);

/* Charge bytes held outside protobuf-c (a frame as received); false, and
 * nothing charged, if that would pass the limit (or the parent's). */
bool tf_budget_charge(tf_budget_t *self, size_t bytes);

/* Bytes charged so far, and the limit. */
size_t tf_budget_used(const tf_budget_t *self);
size_t tf_budget_limit(const tf_budget_t *self);
/* Bytes that may still be charged (the lesser of self's and the parent's). */
size_t tf_budget_left(const tf_budget_t *self);
/* True once an allocation or a charge was refused (since the last reset). */
bool tf_budget_exceeded(const tf_budget_t *self);

/* Start counting again from 0 (what it had charged to the parent stays
 * there: reset the parent when what it counted is freed). */
void tf_budget_reset(tf_budget_t *self);

/* What malloc takes for a request of size bytes (glibc: 8 bytes of header,
 * 16-byte alignment, 32 at least), which is what a budget counts. */
size_t tf_budget_cost(size_t size);

#endif
