/* commands.h - the subcommands of the trainer executable. Each returns an exit code
 * (a tr_status) after printing its own messages. */
#ifndef TRAINER_CLI_COMMANDS_H
#define TRAINER_CLI_COMMANDS_H

#include "options.h"

/* Print "trainer: <message>" (and a hint for usage errors) on stderr; return status. */
int cli_report_error(const tr_error *err);

/* trainer [train] [options]: one training run. */
int cli_cmd_train(cli_options *o);

/* trainer experiment [options]: the lab's runs as separate processes, then the report. */
int cli_cmd_experiment(cli_options *o);

/* trainer report DIR: report.md and report.json from the run directories in DIR. */
int cli_cmd_report(cli_options *o);

/* trainer bench [options]: the training step's speed per backend, with its bounds. */
int cli_cmd_bench(cli_options *o);

/* trainer tune [--device cl:N]: search CLBlast's GEMM parameters, cache the best. */
int cli_cmd_tune(cli_options *o);

/* trainer verify [options]: every op and a trajectory on a device against cpu-ref. */
int cli_cmd_verify(cli_options *o);

/* Build the report of DIR (under its heading, the preset line from DIR/experiment.json
 * where there is one); prints where it is. Returns 0, or an exit code after printing
 * why (4 when figures are missing). */
int cli_build_report(const char *dir, bool quiet);

/* The directory with the gnuplot scripts: $TRAINER_PLOTS_DIR, else the installed
 * share/trainer/plots next to the executable, else the source tree's plots/. */
void cli_plots_dir(char *buf, size_t cap);

#endif /* TRAINER_CLI_COMMANDS_H */
