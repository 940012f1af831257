/* layout.c - layer sizes, the flat parameter layout, and --layers parsing. */
#include "trainer/model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYER_WIDTH 1000000

int tr_layout_init(tr_layout *lay, const size_t *sizes, size_t n_sizes, tr_error *err)
{
	size_t i, off = 0;

	memset(lay, 0, sizeof(*lay));
	if (n_sizes < 2 || n_sizes > TR_MAX_LAYERS + 1)
		return tr_fail(err, TR_ERR_USAGE,
			       "--layers: need 2 to %d sizes (input, hidden..., classes), got %zu",
			       TR_MAX_LAYERS + 1, n_sizes);
	for (i = 0; i < n_sizes; i++) {
		if (sizes[i] == 0 || sizes[i] > MAX_LAYER_WIDTH)
			return tr_fail(err, TR_ERR_USAGE,
				       "--layers: size %zu of layer %zu is out of range (1..%d)",
				       sizes[i], i, MAX_LAYER_WIDTH);
		lay->sizes[i] = sizes[i];
		if (sizes[i] > lay->max_width)
			lay->max_width = sizes[i];
	}
	lay->n_layers = n_sizes - 1;
	for (i = 0; i < lay->n_layers; i++) {
		lay->w_off[i] = off;
		off += sizes[i] * sizes[i + 1];
	}
	lay->n_weights = off;
	for (i = 0; i < lay->n_layers; i++) {
		lay->b_off[i] = off;
		off += sizes[i + 1];
	}
	lay->n_params = off;
	if (lay->n_params > ((size_t)1 << 31))
		return tr_fail(err, TR_ERR_USAGE,
			       "--layers: %zu parameters is more than this tool supports (2^31)",
			       lay->n_params);
	return TR_OK;
}

int tr_layout_parse(const char *spec, tr_layout *out, tr_error *err)
{
	size_t sizes[TR_MAX_LAYERS + 2];
	size_t n = 0;
	const char *p = spec;

	if (!spec || !*spec)
		return tr_fail(err, TR_ERR_USAGE, "--layers: empty; expected e.g. 784,1500,1000,500,10");
	for (;;) {
		char *end;
		long long v;

		if (*p < '0' || *p > '9')
			return tr_fail(err, TR_ERR_USAGE,
				       "--layers '%s': expected a comma-separated list of positive integers, e.g. 784,128,10",
				       spec);
		errno = 0;
		v = strtoll(p, &end, 10);
		if (errno || v <= 0 || v > MAX_LAYER_WIDTH)
			return tr_fail(err, TR_ERR_USAGE,
				       "--layers '%s': each size must be between 1 and %d",
				       spec, MAX_LAYER_WIDTH);
		if (n == TR_MAX_LAYERS + 1)
			return tr_fail(err, TR_ERR_USAGE,
				       "--layers '%s': at most %d sizes", spec, TR_MAX_LAYERS + 1);
		sizes[n++] = (size_t)v;
		if (*end == '\0')
			break;
		if (*end != ',')
			return tr_fail(err, TR_ERR_USAGE,
				       "--layers '%s': unexpected '%c'; expected e.g. 784,128,10",
				       spec, *end);
		p = end + 1;
	}
	return tr_layout_init(out, sizes, n, err);
}

void tr_layout_format(const tr_layout *lay, char *buf, size_t cap)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i <= lay->n_layers && len < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%zu", i ? "," : "",
					lay->sizes[i]);
}
