/*
 * cl_sources.h - the OpenCL C sources of the cl/ folder, embedded into the binary at build
 * time by cmake/embed_cl.cmake (which generates the definitions below).
 */
#ifndef TRAINER_CL_SOURCES_H
#define TRAINER_CL_SOURCES_H

#include <stddef.h>

struct tr_cl_source {
	const char *name;   /* file name, e.g. "reduce.cl" */
	const char *source; /* its text, NUL-terminated */
};

/* Every .cl file of cl/, in name order, then a { NULL, NULL } terminator. */
extern const struct tr_cl_source tr_cl_sources[];
extern const size_t tr_cl_n_sources; /* entries before the terminator */

#endif /* TRAINER_CL_SOURCES_H */
