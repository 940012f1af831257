/*
 * fuzz_options.c - libFuzzer target: the command-line parser (cli_parse in
 * src/cli/options.c, compiled into this target). The input, split on NUL bytes, is
 * argv[1..]; it is parsed for every subcommand mode. Must never crash or overflow a
 * buffer; a refusal must be a usage error with a message.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned modes[] = { CLI_TRAIN, CLI_EXPERIMENT, CLI_BENCH, CLI_TUNE,
					  CLI_REPORT };
	char *buf = malloc(size + 1), *argv[MAX_ARGS + 1];
	int argc = 1;
	size_t i, start = 0, m;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = "trainer";
	for (i = 0; i <= size && argc < MAX_ARGS; i++) {
		if (buf[i] == '\0') {
			argv[argc++] = buf + start; /* each argument is its own string */
			start = i + 1;
		}
	}
	argv[argc] = NULL;
	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		cli_options o;
		tr_error err;
		int rc;

		cli_options_default(&o);
		tr_error_clear(&err);
		rc = cli_parse(argc, argv, 1, modes[m], &o, &err);
		if (rc != TR_OK && (rc != TR_ERR_USAGE || err.msg[0] == '\0'))
			abort();
		if (rc == TR_OK) {
			/* What was accepted is in range and terminated. */
			if (o.cfg.batch == 0 || o.cfg.iters < 1 || o.cfg.eval_every < 1 ||
			    !(o.cfg.lr > 0) || !(o.cfg.l2 >= 0) ||
			    memchr(o.device, '\0', sizeof(o.device)) == NULL ||
			    memchr(o.out_dir, '\0', sizeof(o.out_dir)) == NULL ||
			    memchr(o.data_dir, '\0', sizeof(o.data_dir)) == NULL)
				abort();
		}
	}
	free(buf);
	return 0;
}
