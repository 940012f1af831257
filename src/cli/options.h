/*
 * options.h - the command line: one table of options shared by the subcommands, strict
 * parsing of every value, and --help generated from the same table.
 *
 * Parsing never exits or prints: errors come back as TR_ERR_USAGE with one line that
 * names the option and the value.
 */
#ifndef TRAINER_CLI_OPTIONS_H
#define TRAINER_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "trainer/error.h"
#include "trainer/experiment.h"
#include "trainer/trainer.h"

/* Which subcommands accept an option (a bit mask). */
enum {
	CLI_TRAIN = 1u << 0,
	CLI_EXPERIMENT = 1u << 1,
	CLI_BENCH = 1u << 2,
	CLI_TUNE = 1u << 3,
	CLI_REPORT = 1u << 4,
	CLI_VERIFY = 1u << 5,
};

#define CLI_PATH_MAX 1024

/* The largest --seed: 2^53, so that JSON files (doubles) record every seed exactly. */
#define CLI_SEED_MAX 9007199254740992LL

/* --checkpoint-every: a number of iterations, a duration of training, or off. */
typedef struct cli_checkpoint_every {
	enum { CLI_CKPT_ITERS, CLI_CKPT_SECONDS, CLI_CKPT_OFF } kind;
	long every;                    /* iterations or seconds; 0 when off */
	char text[24];                 /* as given ("500", "5m", "off"), for child runs */
} cli_checkpoint_every;

/* Parse a --checkpoint-every value ("500", "30s", "5m", "1h", "off"). */
int cli_parse_checkpoint_every(const char *v, cli_checkpoint_every *out, tr_error *err);

typedef struct cli_options {
	/* training */
	tr_train_config cfg;
	char device[64];
	int threads;
	char data_dir[CLI_PATH_MAX];   /* empty: the default search (see cli_default_data_dir) */
	size_t val_size;
	char out_dir[CLI_PATH_MAX];    /* empty: runs/run-<date>-<time> */
	bool force;
	char init_weights[CLI_PATH_MAX];
	cli_checkpoint_every checkpoint_every;
	char resume[CLI_PATH_MAX];
	bool quiet;
	/* experiment */
	char preset[16];
	uint64_t seeds[TR_EXP_MAX_SEEDS]; /* --seeds LIST; or with seeds_count, the count */
	size_t n_seeds;                /* 0: one seed, --seed */
	bool seeds_count;              /* --seeds N: N seeds from --seed on */
	int jobs;
	char emit_jobs[CLI_PATH_MAX];
	/* bench */
	bool json;
	char backends[256];
	/* tune */
	int candidates;                /* 0: every candidate */
	/* verify */
	bool quick;                    /* small shapes, fewer steps */
	char json_path[CLI_PATH_MAX];  /* --json FILE; empty: none */
	char ops[256];                 /* --ops LIST; empty: every check */
	/* actions */
	bool help, version, list_devices;
	/* which options were given, by table index: presets only fill what was not */
	unsigned char given[64];
} cli_options;

/* Defaults for every field. */
void cli_options_default(cli_options *o);

/* Parse argv[first..argc) for subcommand `mode` (a CLI_* bit). Options not allowed
 * for mode, unknown options, missing or bad values: TR_ERR_USAGE. */
int cli_parse(int argc, char **argv, int first, unsigned mode, cli_options *o,
	      tr_error *err);

/* Was the option with this long name given on the command line? */
bool cli_given(const cli_options *o, const char *name);

/* Print the options of `mode` with their defaults to f. */
void cli_print_options(FILE *f, unsigned mode);

/* runs/<kind>-<date>-<time> (local time), the default --out. */
void cli_default_out_dir(const char *kind, char *buf, size_t cap);

/* The data directory the run will use: --data, else $TRAINER_DATA_DIR, else
 * ./data/mnist if present, else the source tree's data/mnist. */
void cli_default_data_dir(const cli_options *o, char *buf, size_t cap);

#endif /* TRAINER_CLI_OPTIONS_H */
