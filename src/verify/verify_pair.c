/*
 * verify_pair.c - the same host data on cpu-ref and on the device under test, and
 * the measures that compare what comes back (see verify_impl.h).
 */
#include "verify_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void vfill_uniform(tr_vctx *v, float *x, size_t n, float lo, float hi)
{
	size_t i;

	for (i = 0; i < n; i++)
		x[i] = lo + (hi - lo) * tr_prng_uniform(&v->rng);
}

double tr_verify_nmse(const float *ref, const float *got, size_t n)
{
	double num = 0.0, den = 0.0;
	size_t i;

	for (i = 0; i < n; i++) {
		double a = ref[i], b = got[i];

		if (!isfinite(a) || !isfinite(b))
			return INFINITY;
		num += (a - b) * (a - b);
		den += a * a;
	}
	return den > 0.0 ? num / den : num;
}

double vrel(double ref, double got)
{
	if (!isfinite(ref) || !isfinite(got))
		return INFINITY;
	return fabs(ref - got) / fmax(fabs(ref), 1e-30);
}

int vfail_oom(tr_vctx *v, tr_verify_check *c)
{
	vcheck_fail(c, "out of host memory");
	return tr_fail(v->err, TR_ERR_INTERNAL, "verify: %s: out of host memory", c->op);
}

int vpair_new(tr_vctx *v, tr_verify_check *c, const float *host, size_t n, vpair *p)
{
	int rc;

	p->r = p->d = NULL;
	p->n = n;
	rc = vcall(v, c, "allocating a buffer", tr_backend_alloc(v->ref, n, "verify", &p->r),
		   tr_backend_alloc(v->dut, n, "verify", &p->d));
	if (rc == TR_OK && host)
		rc = vcall(v, c, "upload", tr_backend_upload(v->ref, tr_at(p->r, 0), host, n),
			   tr_backend_upload(v->dut, tr_at(p->d, 0), host, n));
	return rc;
}

int vpair_random(tr_vctx *v, tr_verify_check *c, size_t n, float lo, float hi,
		 vpair *p)
{
	float *h = malloc(n * sizeof(float));
	int rc;

	p->r = p->d = NULL;
	if (!h)
		return vfail_oom(v, c);
	vfill_uniform(v, h, n, lo, hi);
	rc = vpair_new(v, c, h, n, p);
	free(h);
	return rc;
}

int vpair_labels(tr_vctx *v, tr_verify_check *c, size_t n, size_t classes, vpair *p)
{
	float *h = malloc(n * sizeof(float));
	size_t i;
	int rc;

	p->r = p->d = NULL;
	if (!h)
		return vfail_oom(v, c);
	for (i = 0; i < n; i++)
		h[i] = (float)tr_prng_below(&v->rng, classes);
	rc = vpair_new(v, c, h, n, p);
	free(h);
	return rc;
}

void vpair_free(tr_vctx *v, vpair *p)
{
	tr_backend_buf_free(v->ref, p->r);
	tr_backend_buf_free(v->dut, p->d);
	p->r = p->d = NULL;
}

int vpair_download(tr_vctx *v, tr_verify_check *c, const vpair *p, size_t off, size_t n,
		   float *r, float *d)
{
	return vcall(v, c, "download", tr_backend_download(v->ref, tr_at(p->r, off), r, n),
		     tr_backend_download(v->dut, tr_at(p->d, off), d, n));
}

int vpair_nmse(tr_vctx *v, tr_verify_check *c, const vpair *p, size_t off, size_t n,
	       double *e)
{
	float *r = malloc(n * sizeof(float)), *d = malloc(n * sizeof(float));
	int rc;

	if (!r || !d) {
		free(r);
		free(d);
		return vfail_oom(v, c);
	}
	rc = vpair_download(v, c, p, off, n, r, d);
	if (rc == TR_OK)
		*e = tr_verify_nmse(r, d, n);
	free(r);
	free(d);
	return rc;
}

int vpair_read1(tr_vctx *v, tr_verify_check *c, const vpair *p, size_t off, double *r,
		double *d)
{
	float a = NAN, b = NAN;
	int rc = vpair_download(v, c, p, off, 1, &a, &b);

	*r = a;
	*d = b;
	return rc;
}
