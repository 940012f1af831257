/* cmd_tune.c - `trainer tune` (placeholder). */
#include "commands.h"

int cli_cmd_tune(cli_options *o)
{
	tr_error err;

	tr_fail(&err, TR_ERR_USAGE, "tune: not implemented yet");
	return cli_report_error(&err);
}
