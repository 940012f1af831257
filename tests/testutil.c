/* testutil.c - see testutil.h. */
#include "testutil.h"

#include "trainer/verify.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int test_passed;
int test_failed;

int test_finish(void)
{
	printf("%d passed, %d failed\n", test_passed, test_failed);
	return (test_failed == 0 && test_passed > 0) ? 0 : 1;
}

double test_nmse(const float *ref, const float *got, size_t n)
{
	return tr_verify_nmse(ref, got, n);
}

const char *test_tmpdir(const char *tag)
{
	static char path[1024];
	const char *base = getenv("TMPDIR");
	char cmd[1200];

	if (!base || !*base)
		base = "/tmp";
	snprintf(path, sizeof(path), "%s/trainer-test-%s-%ld", base, tag, (long)getpid());
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0 || mkdir(path, 0700) != 0) {
		fprintf(stderr, "cannot create scratch directory %s\n", path);
		exit(1);
	}
	return path;
}

const char *test_data_dir(void)
{
	static char path[1024];
	const char *env = getenv("TRAINER_DATA_DIR");
	char probe[1100];
	struct stat st;

	if (env && *env)
		snprintf(path, sizeof(path), "%s", env);
	else
		snprintf(path, sizeof(path), "%s/data/mnist", TRAINER_SOURCE_DIR);
	snprintf(probe, sizeof(probe), "%s/train-images-idx3-ubyte", path);
	if (stat(probe, &st) != 0) {
		fprintf(stderr, "MNIST not found in %s: run data/fetch.sh first\n", path);
		return NULL;
	}
	return path;
}

const char *test_device(void)
{
	const char *env = getenv("TRAINER_TEST_DEVICE");

	return env && *env ? env : "cl:0";
}
