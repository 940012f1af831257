/*
 * clblast_defaults.h - CLBlast's own GEMM parameters for a device (C++-only in CLBlast
 * 1.5, made callable from C by clblast_defaults.cpp). Plain C, for both languages.
 */
#ifndef TRAINER_CLBLAST_DEFAULTS_H
#define TRAINER_CLBLAST_DEFAULTS_H

#include <CL/cl.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CLBlast's current single-precision parameters of `kernel` ("XgemmDirect", "Xgemm",
 * "GemmRoutine") for dev: its database's, as long as nothing was overridden for that
 * kernel in this process. values[i] gets the parameter names[i]. Returns a
 * CLBlastStatusCode (0 on success; CLBlastMissingOverrideParameter when a name is not
 * one of the kernel's). */
int tr_clblast_retrieve(cl_device_id dev, const char *kernel, size_t n,
			const char *const *names, size_t *values);

#ifdef __cplusplus
}
#endif

#endif /* TRAINER_CLBLAST_DEFAULTS_H */
