/*
 * clblast_params.h - overriding CLBlast's parameters, and getting CLBlast's own back
 * (clblast_params.c says why every override must go through here).
 */
#ifndef TRAINER_CLBLAST_PARAMS_H
#define TRAINER_CLBLAST_PARAMS_H

#include <CL/cl.h>
#include <stddef.h>

/* CLBlastOverrideParameters for single precision, recording CLBlast's own values of
 * that (device, kernel) first. `kernel` and `names` must be string constants (they are
 * kept). Returns a CLBlastStatusCode. */
int tr_clblast_override(cl_device_id dev, const char *kernel, size_t n,
			const char *const *names, const size_t *values);

/* CLBlast's own values of these parameters for dev, whether or not they have been
 * overridden since. Returns a CLBlastStatusCode. */
int tr_clblast_original(cl_device_id dev, const char *kernel, size_t n,
			const char *const *names, size_t *values);

/* Put CLBlast's own values back wherever they were overridden (the last backend
 * closing). */
void tr_clblast_restore_all(void);

#endif /* TRAINER_CLBLAST_PARAMS_H */
