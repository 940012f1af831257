/*
 * batcher.c - batch indices in the order of TensorFlow 1's DataSet.next_batch.
 *
 * An epoch is one pass over perm. The first epoch is started (and shuffled) by
 * tr_batcher_init; a new epoch is started lazily, only when a batch needs an example
 * beyond the end of the current one, so a batch that ends exactly at an epoch's end
 * does not shuffle yet. A batch that crosses the end takes the rest of the old epoch,
 * then the start of the freshly shuffled one (and, when batch > n, as many whole
 * epochs as it needs). Without shuffling perm stays the identity, so batch k holds
 * examples (k*B + j) mod N.
 */
#include "trainer/data.h"

#include <stdlib.h>
#include <string.h>

/* Fisher-Yates, from the top: for i = n-1 down to 1, swap i with j in [0, i]. */
static void shuffle(uint32_t *perm, size_t n, tr_prng *prng)
{
	size_t i;

	for (i = n - 1; i >= 1; i--) {
		size_t j = (size_t)tr_prng_below(prng, (uint64_t)i + 1);
		uint32_t t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
}

static void start_epoch(tr_batcher *b)
{
	if (b->shuffle)
		shuffle(b->perm, b->n, &b->prng);
	b->cursor = 0;
	b->epoch++;
}

int tr_batcher_init(tr_batcher *b, size_t n, size_t batch, bool shuffle_each_epoch,
		    uint64_t seed, tr_error *err)
{
	size_t i;

	memset(b, 0, sizeof(*b));
	if (n == 0)
		return tr_fail(err, TR_ERR_USAGE, "cannot draw batches from an empty set of "
			       "examples: check --val-size and the data files");
	if (n > UINT32_MAX)
		return tr_fail(err, TR_ERR_USAGE, "%zu examples is more than the batcher's "
			       "limit of %u", n, (unsigned)UINT32_MAX);
	if (batch == 0)
		return tr_fail(err, TR_ERR_USAGE, "batch size is 0: pass --batch N with N >= 1");
	b->perm = malloc(n * sizeof(*b->perm));
	if (!b->perm)
		return tr_fail(err, TR_ERR_INTERNAL, "out of memory for a batch order of %zu "
			       "examples", n);
	for (i = 0; i < n; i++)
		b->perm[i] = (uint32_t)i;
	b->n = n;
	b->batch = batch;
	b->shuffle = shuffle_each_epoch;
	tr_prng_seed(&b->prng, seed);
	start_epoch(b);
	return TR_OK;
}

void tr_batcher_next(tr_batcher *b, uint32_t *idx)
{
	size_t filled = 0;

	while (filled < b->batch) {
		size_t take;

		if (b->cursor == b->n)
			start_epoch(b);
		take = b->n - b->cursor;
		if (take > b->batch - filled)
			take = b->batch - filled;
		memcpy(idx + filled, b->perm + b->cursor, take * sizeof(*idx));
		b->cursor += take;
		filled += take;
	}
}

void tr_batcher_free(tr_batcher *b)
{
	if (!b)
		return;
	free(b->perm);
	memset(b, 0, sizeof(*b));
}
