/*
 * cmd_experiment.c - `trainer experiment`: the lab's runs (a preset, experiment.h), each
 * an independent `trainer train` process started from this very executable, N at a
 * time, then the report (cmd_report.c). With --emit-jobs the same runs become a file of
 * shell commands, one per line, for GNU parallel or a Slurm job array.
 *
 * Running again in the same directory keeps what is done: completed (and diverged)
 * runs are kept, runs with a checkpoint are continued with --resume, the rest are
 * trained again over whatever they left. The parts are in experiment_impl.h.
 *
 * One experiment at a time in a directory (dir_lock.h): the experiment directory is
 * locked for the life of this process, and each run directory by its own trainer.
 */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>

#include "experiment_impl.h"
#include "trainer/dir_lock.h"
#include "trainer/fs.h"

int cli_cmd_experiment(cli_options *o)
{
	struct exp_plan *p = calloc(1, sizeof(*p));
	char logs[PATH_MAX + 8];
	double t0 = tr_now_seconds();
	tr_dir_lock lock;
	tr_error err;
	int rc, code;

	tr_error_clear(&err);
	tr_dir_lock_init(&lock);
	if (!p) {
		tr_fail(&err, TR_ERR_INTERNAL, "out of host memory");
		return cli_report_error(&err);
	}
	if ((rc = exp_make_plan(o, p, &err)))
		goto out_error;
	if (o->emit_jobs[0]) {
		rc = exp_emit_jobs(p, o, &err);
		goto out_error;
	}
	snprintf(logs, sizeof(logs), "%s/logs", p->out);
	if ((rc = tr_dir_lock_probe(&lock, p->out, "--out", &err)) ||
	    (rc = exp_check_out_dir(p, o, &err)) || (rc = exp_decide_actions(p, o, &err)) ||
	    (rc = tr_mkdir_p(logs, &err)) ||
	    (rc = tr_dir_lock_take(&lock, p->out, "--out", &err)) ||
	    /* Again under the lock: another experiment may have finished here meanwhile. */
	    (rc = exp_decide_actions(p, o, &err)) || (rc = exp_write_marker(p, o, &err)))
		goto out_error;
	if (!o->quiet) {
		char threads[32];

		if (p->threads)
			snprintf(threads, sizeof(threads), "%d", p->threads);
		printf("experiment: preset %s, %zu runs of %ld iterations", p->preset->name,
		       p->n_jobs, p->cfg.iters);
		if (p->n_seeds > 1)
			printf(" (%zu configurations x %zu seeds)", p->n_configs, p->n_seeds);
		printf(", %d at a time on %s (threads per run: %s) -> %s/\n", o->jobs, o->device,
		       p->threads ? threads : "all cores", p->out);
		fflush(stdout);
	}
	exp_run_jobs(p, o);
	code = exp_summarise(p, o, tr_now_seconds() - t0);
	if (code == TR_ERR_INTERRUPTED) {
		free(p);
		tr_dir_lock_release(&lock);
		return code;
	}
	rc = cli_build_report(p->out, o->quiet);
	free(p);
	tr_dir_lock_release(&lock);
	return code ? code : rc;

out_error:
	free(p);
	tr_dir_lock_release(&lock);
	return rc ? cli_report_error(&err) : TR_OK;
}
