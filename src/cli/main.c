/*
 * main.c - the trainer executable's front end: picks the subcommand, parses options,
 * and turns errors into messages and exit codes (docs/ERRORS.md lists them).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "trainer/backend.h"

struct command {
	const char *name;
	unsigned mode;
	int (*run)(cli_options *o);
	const char *summary;
};

static const struct command commands[] = {
	{ "train", CLI_TRAIN, cli_cmd_train, "train one network (the default command)" },
	{ "experiment", CLI_EXPERIMENT, cli_cmd_experiment,
	  "the lab's runs (--preset), then DIR/report.md (docs/EXPERIMENT.md)" },
	{ "report", CLI_REPORT, cli_cmd_report,
	  "trainer report DIR: rebuild DIR/report.md from the run directories in DIR" },
	{ "bench", CLI_BENCH, cli_cmd_bench,
	  "ms per training step per backend, with its bounds (docs/PERFORMANCE.md)" },
	{ "tune", CLI_TUNE, cli_cmd_tune,
	  "tune CLBlast's GEMM kernels for an OpenCL device; cached, used from then on" },
	{ "verify", CLI_VERIFY, cli_cmd_verify,
	  "check that a device computes what the reference does (every op, a trajectory)" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

int cli_report_error(const tr_error *err)
{
	fprintf(stderr, "trainer: %s\n", err->msg[0] ? err->msg : tr_status_name(err->status));
	if (err->status == TR_ERR_USAGE)
		fprintf(stderr, "(run 'trainer --help' for the options)\n");
	return err->status;
}

static void print_help(const struct command *cmd)
{
	size_t i;

	printf("trainer %s - train an MLP on MNIST on an OpenCL device or the CPU,\n"
	       "reproducing the learning-rate and L2 lab (see README.md).\n\n",
	       TRAINER_VERSION);
	printf("usage: trainer [COMMAND] [OPTIONS]\n\ncommands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		printf("  %-12s %s\n", commands[i].name, commands[i].summary);
	printf("\noptions of '%s':\n", cmd->name);
	cli_print_options(stdout, cmd->mode);
	printf("\nexit codes: 0 ok, 1 internal error, 2 usage, 3 bad input file, "
	       "4 cannot write output,\n5 device error, 6 diverged, 7 interrupted, "
	       "8 verification failed (see docs/ERRORS.md)\n");
}

static int list_devices(void)
{
	static char buf[16384];

	tr_backend_list_devices(buf, sizeof(buf));
	printf("backends built: %s\n\n%s", tr_backend_compiled(), buf);
	return 0;
}

int main(int argc, char **argv)
{
	const struct command *cmd = &commands[0];
	cli_options o;
	tr_error err;
	int first = 1;
	size_t i;

	if (argc > 1 && strncmp(argv[1], "--", 2) != 0) {
		cmd = NULL;
		for (i = 0; i < N_COMMANDS; i++)
			if (!strcmp(argv[1], commands[i].name))
				cmd = &commands[i];
		if (!cmd) {
			fprintf(stderr, "trainer: unknown command '%s' (see trainer --help)\n",
				argv[1]);
			return TR_ERR_USAGE;
		}
		first = 2;
	}
	/* Past a file-size limit (ulimit -f) write() must fail with EFBIG, which the
	 * atomic writer reports as exit code 4, instead of SIGXFSZ killing the run. */
	signal(SIGXFSZ, SIG_IGN);
	/* A closed pipe on the output (`trainer ... 2>&1 | head -1`) must not kill a run:
	 * writes to it fail (EPIPE) and the progress output stops (progress.c). */
	signal(SIGPIPE, SIG_IGN);
	/* Children are waited for (the runs of an experiment, gnuplot): a SIGCHLD ignored
	 * by whoever started us would have them reaped unseen. */
	signal(SIGCHLD, SIG_DFL);
	cli_options_default(&o);
	tr_error_clear(&err);
	/* `trainer report DIR`: the experiment directory comes before any option. */
	if (cmd->mode == CLI_REPORT && first < argc && strncmp(argv[first], "--", 2) != 0)
		snprintf(o.out_dir, sizeof(o.out_dir), "%s", argv[first++]);
	if (cli_parse(argc, argv, first, cmd->mode, &o, &err) != TR_OK)
		return cli_report_error(&err);
	if (o.help) {
		print_help(cmd);
		return 0;
	}
	if (o.version) {
		printf("trainer %s (backends: %s)\n", TRAINER_VERSION, tr_backend_compiled());
		return 0;
	}
	if (o.list_devices)
		return list_devices();
	return cmd->run(&o);
}
