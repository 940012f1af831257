/*
 * report_gnuplot.c - running gnuplot for the report's figures: finding it and the
 * scripts, passing variables with -e, and keeping up to one gnuplot per core at work
 * (report_impl.h).
 */
#include "report_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

bool rp_plotter_open(rp_plotter *pl, const tr_report_options *opts)
{
	char script[RP_PATH_MAX];
	const char *prog = opts->gnuplot ? opts->gnuplot : "gnuplot";

	pl->plots_dir = opts->plots_dir;
	if (!tr_find_program(prog, pl->gnuplot, sizeof(pl->gnuplot))) {
		snprintf(pl->out->note, sizeof(pl->out->note),
			 "gnuplot was not found (%s): no plots or weight pictures were drawn. "
			 "Install it (Debian: apt-get install gnuplot-nox) and run "
			 "'trainer report DIR' again", prog);
		return false;
	}
	rp_path(script, sizeof(script), "%s/run_curves.gp", pl->plots_dir ? pl->plots_dir : ".");
	if (!pl->plots_dir || access(script, R_OK) != 0) {
		snprintf(pl->out->note, sizeof(pl->out->note),
			 "the gnuplot scripts were not found (%.300s): no plots were drawn. Set "
			 "TRAINER_PLOTS_DIR to the trainer's plots/ directory and run "
			 "'trainer report DIR' again", pl->plots_dir ? script : "no plots directory");
		return false;
	}
	return true;
}

/* ---- gnuplot's -e string ---- */

void rp_var_add(rp_vars *v, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(v->s + v->len, sizeof(v->s) - v->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(v->s) - v->len)
		v->overflow = true;
	else
		v->len += (size_t)n;
}

void rp_var_str(rp_vars *v, const char *name, const char *value)
{
	const char *p;

	rp_var_add(v, "%s='", name);
	for (p = value; *p; p++)
		rp_var_add(v, *p == '\'' ? "''" : "%c", *p);
	rp_var_add(v, "'; ");
}

void rp_var_num(rp_vars *v, const char *name, double x)
{
	rp_var_add(v, "%s=%.9g; ", name, x);
}

/* Wait for job k and record what it drew. */
static void finish_job(rp_plotter *pl, size_t k)
{
	rp_plot_job *j = &pl->jobs[k];
	struct stat st;
	int status = 0;
	pid_t got;

	/* Only a signal handler's interruption is waited through: any other error (no
	 * such child) counts as a figure not drawn, never as a wait without end. */
	while ((got = waitpid(j->pid, &status, 0)) < 0 && errno == EINTR)
		;
	*j->drawn = got == j->pid && tr_exit_code(status) == 0 && stat(j->png, &st) == 0 &&
		    st.st_size > 0;
	if (*j->drawn)
		pl->out->n_figures++;
	else
		pl->out->n_figures_failed++;
	memmove(&pl->jobs[k], &pl->jobs[k + 1], (pl->n_jobs - k - 1) * sizeof(pl->jobs[0]));
	pl->n_jobs--;
}

void rp_gnuplot_wait(rp_plotter *pl)
{
	while (pl->n_jobs)
		finish_job(pl, 0);
}

void rp_gnuplot(rp_plotter *pl, const char *script, rp_vars *v, const char *out,
		bool *drawn)
{
	char path[RP_PATH_MAX];
	rp_plot_job *j;
	char *argv[5];
	tr_error err;
	FILE *log;

	*drawn = false;
	rp_var_str(v, "plotdir", pl->plots_dir);
	rp_path(path, sizeof(path), "%s/%s", pl->plots_dir, script);
	if (v->overflow)
		goto out_failed;
	if ((log = fopen(pl->log, "a"))) {
		fprintf(log, "== %s: gnuplot -e \"%s\" %s\n", out, v->s, path);
		fclose(log);
	}
	if (pl->n_jobs >= pl->max_jobs)
		finish_job(pl, 0);
	j = &pl->jobs[pl->n_jobs];
	rp_path(j->png, sizeof(j->png), "%s/%s.png", pl->dir, out);
	j->drawn = drawn;
	argv[0] = pl->gnuplot;
	argv[1] = "-e";
	argv[2] = v->s;
	argv[3] = path;
	argv[4] = NULL;
	if (tr_spawn(argv, pl->dir, pl->log, false, &j->pid, &err) != TR_OK)
		goto out_failed;
	pl->n_jobs++;
	return;
out_failed:
	pl->out->n_figures_failed++;
}

