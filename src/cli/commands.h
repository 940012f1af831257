/* commands.h - the subcommands of the trainer executable. Each returns an exit code
 * (a tr_status) after printing its own messages. */
#ifndef TRAINER_CLI_COMMANDS_H
#define TRAINER_CLI_COMMANDS_H

#include "options.h"

/* Print "trainer: <message>" (and a hint for usage errors) on stderr; return status. */
int cli_report_error(const tr_error *err);

/* trainer [train] [options]: one training run. */
int cli_cmd_train(cli_options *o);

#endif /* TRAINER_CLI_COMMANDS_H */
