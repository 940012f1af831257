/*
 * experiment_cmdline.c - each run of an experiment as a `trainer train` command line:
 * every option explicit, so that the same line runs the same run from a job file, a
 * Slurm array or this executable (experiment_impl.h).
 */
#include "experiment_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void arg(struct exp_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void arg(struct exp_args *a, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (a->n >= EXP_MAX_ARGS) {
		a->overflow = true;
		return;
	}
	va_start(ap, fmt);
	len = vsnprintf(a->mem + a->used, sizeof(a->mem) - a->used, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(a->mem) - a->used) {
		a->overflow = true;
		return;
	}
	a->v[a->n++] = a->mem + a->used;
	a->v[a->n] = NULL;
	a->used += (size_t)len + 1;
}

/* An option and its value: "--name" "value". */
static void opt(struct exp_args *a, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void opt(struct exp_args *a, const char *name, const char *fmt, ...)
{
	char value[PATH_MAX + TR_EXP_NAME_MAX + 16];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(value, sizeof(value), fmt, ap) >= (int)sizeof(value))
		a->overflow = true;
	va_end(ap);
	arg(a, "--%s", name);
	arg(a, "%s", value);
}

/* The shortest decimal that reads back as exactly x. */
static void opt_num(struct exp_args *a, const char *name, double x)
{
	char buf[40];

	snprintf(buf, sizeof(buf), "%.15g", x);
	if (strtod(buf, NULL) != x)
		snprintf(buf, sizeof(buf), "%.17g", x);
	opt(a, name, "%s", buf);
}

/* Where the run goes and how: options a resumed run may take, then the rest. */
void exp_job_args(const struct exp_plan *p, const cli_options *o, struct exp_job *j)
{
	const tr_train_config *c = &p->cfg;
	struct exp_args *a = &j->args;
	char layers[256];

	memset(a, 0, sizeof(*a));
	arg(a, "%s", p->exe);
	arg(a, "train");
	if (j->action == TR_EXP_RESUME)
		opt(a, "resume", "%s", j->dir);
	opt(a, "device", "%s", o->device);
	opt(a, "threads", "%d", p->threads);
	opt(a, "data", "%s", p->data);
	opt(a, "iters", "%ld", c->iters);
	if (cli_given(o, "checkpoint-every"))
		opt(a, "checkpoint-every", "%s", o->checkpoint_every.text);
	if (j->action != TR_EXP_RESUME) {
		tr_layout_format(&c->layout, layers, sizeof(layers));
		opt(a, "val-size", "%zu", o->val_size);
		opt(a, "layers", "%s", layers);
		opt(a, "init", "%s", tr_init_name(c->init));
		opt(a, "seed", "%llu", (unsigned long long)j->run.seed);
		opt_num(a, "lr", j->run.lr);
		opt_num(a, "l2", j->run.l2);
		opt(a, "l2-scope", "%s", c->l2_scope == TR_L2_ALL ? "all" : "weights");
		opt(a, "batch", "%zu", c->batch);
		opt(a, "eval-every", "%ld", c->eval_every);
		if (!c->shuffle)
			arg(a, "--no-shuffle");
		opt(a, "out", "%s", j->dir);
		if (j->action == TR_EXP_RERUN)
			arg(a, "--force");
	}
	arg(a, "--quiet");
}

int exp_shell_line(const struct exp_args *a, char *buf, size_t cap, tr_error *err)
{
	char q[CLI_PATH_MAX * 2];
	size_t len = 0;
	int i, rc;

	buf[0] = '\0';
	for (i = 0; i < a->n; i++) {
		if ((rc = tr_shell_quote(a->v[i], q, sizeof(q), err)))
			return rc;
		if (len + strlen(q) + 2 > cap)
			return tr_fail(err, TR_ERR_USAGE, "command line too long for a job file");
		len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? " " : "", q);
	}
	return TR_OK;
}
