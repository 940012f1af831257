/*
 * cpu.c - the fast CPU backend: GEMMs through CBLAS (OpenBLAS), everything else in
 * simple loops the compiler vectorises (built with -fno-math-errno so that sqrtf
 * does; check with -fopt-info-vec).
 *
 * Threads. OpenBLAS runs the GEMMs on its own threads, which keep spinning for a
 * while after each GEMM. The small loops of the step (bias + ReLU, ReLU backward,
 * bias gradients, softmax: at most a few hundred KiB each) run on the calling thread:
 * forking for them costs more than they take. The two loops over every parameter
 * (the Adam update, the sum of squares) are split over a team of helper threads that
 * SLEEP between jobs (a condition variable), never spin: with as many threads as
 * cores, OpenMP's helpers (libgomp spins for milliseconds after each parallel region)
 * took the cores away from the next GEMM and made the step several times slower.
 * --threads N sets both OpenBLAS's thread count and the team's (0 = all cores).
 *
 * Memory. Each OpenBLAS thread allocates a 128 MiB buffer when it starts, and the
 * calling thread one at its first GEMM; OpenBLAS 0.3.21 retries a failed allocation
 * forever. Under an address-space limit (ulimit -v) a process then spun for ever, and
 * hung at exit joining that thread, whatever it was doing (even `--version` or
 * `--device cpu-ref`, since OpenBLAS starts its threads in its library constructor).
 * So OpenBLAS must start no thread at load (see "Before main" below), and this backend
 * starts them at its first GEMM, once the network is allocated, after checking that
 * their buffers fit (openblas_reserve): if they do not, the GEMM fails with "out of
 * host memory" (exit code 1) instead of hanging.
 *
 * Buffers are 64-byte aligned host arrays.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "backend/host_buffer.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

/*
 * Before main. OpenBLAS sizes the thread pool it starts in its constructor from the
 * CPUs the process may run on. A function in the executable's .preinit_array runs
 * before every library's constructor: it lets the process run on one CPU while the
 * libraries initialise, and a constructor of the executable (run after the libraries')
 * gives the CPUs back. OpenBLAS then starts no thread at load; openblas_set_num_threads
 * starts them later. (The .preinit_array exists in executables only, so this file must
 * be linked into the executable, as the static library trainer_core is.)
 */
static cpu_set_t cpus_at_start;
static bool cpus_narrowed;

static void narrow_cpus_before_libraries(int argc, char **argv, char **envp)
{
	cpu_set_t one;
	int cpu;

	(void)argc, (void)argv, (void)envp;
	if (sched_getaffinity(0, sizeof(cpus_at_start), &cpus_at_start) != 0 ||
	    CPU_COUNT(&cpus_at_start) <= 1)
		return;
	for (cpu = 0; !CPU_ISSET(cpu, &cpus_at_start); cpu++)
		;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	cpus_narrowed = sched_setaffinity(0, sizeof(one), &one) == 0;
}

__attribute__((section(".preinit_array"), used))
static void (*const narrow_cpus_entry)(int, char **, char **) = narrow_cpus_before_libraries;

__attribute__((constructor))
static void restore_cpus_after_libraries(void)
{
	if (cpus_narrowed)
		sched_setaffinity(0, sizeof(cpus_at_start), &cpus_at_start);
	cpus_narrowed = false;
}

/*
 * Subnormal numbers. Late in a long run many gradients, and so Adam's second moments
 * (v = beta2 v + (1 - beta2) g^2), fall below FLT_MIN; x86 cores take a microcode
 * assist of ~100 cycles for every operation on such a number, which made the step of
 * the lab's run many times slower towards its end. Every op of this backend therefore
 * runs with the SSE flags flush-to-zero and denormals-are-zero set on the threads doing
 * the work (restored afterwards on the caller's thread, so that other code in the
 * process, cpu-ref included, keeps IEEE semantics). Values below 1.2e-38 become 0:
 * far below anything the results depend on.
 */
#if defined(__SSE2__)
#include <xmmintrin.h>
#define MXCSR_FTZ_DAZ 0x8040u

static unsigned fp_flush_enter(void)
{
	unsigned old = _mm_getcsr();

	_mm_setcsr(old | MXCSR_FTZ_DAZ);
	return old;
}

static void fp_flush_leave(unsigned old)
{
	_mm_setcsr(old);
}
#else
static unsigned fp_flush_enter(void)
{
	return 0;
}

static void fp_flush_leave(unsigned old)
{
	(void)old;
}
#endif

/* GEMMs below this many multiply-adds (m n k) run on one OpenBLAS thread: they take
 * tens of microseconds, and when other processes keep the cores busy, waiting for a
 * second thread to be scheduled cost milliseconds each (a 784-32-10 step: 16 ms with
 * two threads, 0.07 ms with one, on this machine under load). */
#define SMALL_GEMM 4194304.0

/* Below this many elements a loop over the parameters runs on one thread. */
#define PAR_MIN 65536

/* Blocks of the sum of squares: partial sums per block, added in block order, so the
 * result does not depend on the thread count. */
#define SUMSQ_BLOCK 65536

/* A job for the team: fn(arg, part, parts) for part = 0 .. parts-1, part 0 on the
 * caller's thread. */
typedef void (*team_fn)(void *arg, int part, int parts);

struct team {
	pthread_t *tid;
	int n_helpers;        /* threads started besides the caller */
	pthread_mutex_t mu;
	pthread_cond_t wake;  /* a new job (gen changed) or quit */
	pthread_cond_t done;  /* pending reached 0 */
	unsigned long gen;    /* job counter */
	int pending;          /* helpers still working on the current job */
	bool quit;
	team_fn fn;
	void *arg;
};

struct helper_arg {
	struct team *team;
	int part;
};

struct cpu_ctx {
	int threads;
	bool blas_started;    /* OpenBLAS's threads started (openblas_reserve) */
	struct team team;
	struct helper_arg *args;
};

/* What OpenBLAS (0.3.21, x86-64 builds; BUFFER_SIZE in its common_x86_64.h) takes
 * per thread: its GEMM buffer, and for a thread it starts, the thread's stack and the
 * malloc arena glibc creates for it (64 MiB of address space). */
#define BLAS_BUFFER ((size_t)128 << 20)
#define THREAD_EXTRA (((size_t)8 + 64) << 20)
#define RESERVE_MARGIN ((size_t)16 << 20)

static size_t blas_need(int threads)
{
	return (size_t)threads * BLAS_BUFFER + (size_t)(threads - 1) * THREAD_EXTRA +
	       RESERVE_MARGIN;
}

/* Can the process map `bytes` more (address-space limit, overcommit)? Probed with a
 * mapping that is never touched, as OpenBLAS's buffer is allocated. */
static bool can_map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return false;
	munmap(p, bytes);
	return true;
}

/* Before the first GEMM: check that OpenBLAS's buffers fit, then start its threads
 * (none were started at load). */
static int openblas_reserve(tr_backend *be, struct cpu_ctx *ctx)
{
	struct rlimit as;
	char limit[96] = "";

	if (ctx->blas_started)
		return TR_OK;
	if (!can_map(blas_need(ctx->threads))) {
		if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY)
			snprintf(limit, sizeof(limit), " (the address-space limit, ulimit -v, is "
				 "%llu MiB)", (unsigned long long)(as.rlim_cur >> 20));
		if (ctx->threads > 1 && can_map(blas_need(1)))
			return tr_fail(&be->err, TR_ERR_INTERNAL, "cpu: out of host memory: "
				       "OpenBLAS needs %zu MiB more address space for its buffers "
				       "with %d threads, which the process cannot have%s: raise the "
				       "limit, or pass --threads 1 (%zu MiB)",
				       blas_need(ctx->threads) >> 20, ctx->threads, limit,
				       blas_need(1) >> 20);
		return tr_fail(&be->err, TR_ERR_INTERNAL, "cpu: out of host memory: OpenBLAS "
			       "needs %zu MiB more address space for its buffer, which the "
			       "process cannot have%s: raise the limit, or use a smaller network",
			       blas_need(1) >> 20, limit);
	}
	openblas_set_num_threads(ctx->threads);
	ctx->blas_started = true;
	return TR_OK;
}

static void *helper_main(void *p)
{
	struct helper_arg *h = p;
	struct team *t = h->team;
	unsigned long seen = 0;

	fp_flush_enter(); /* for good: the helpers run nothing but this backend's loops */
	pthread_mutex_lock(&t->mu);
	for (;;) {
		team_fn fn;
		void *arg;

		while (t->gen == seen && !t->quit)
			pthread_cond_wait(&t->wake, &t->mu);
		if (t->quit)
			break;
		seen = t->gen;
		fn = t->fn;
		arg = t->arg;
		pthread_mutex_unlock(&t->mu);
		fn(arg, h->part, t->n_helpers + 1);
		pthread_mutex_lock(&t->mu);
		if (--t->pending == 0)
			pthread_cond_signal(&t->done);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

/* Run fn on every part, the caller's thread taking part 0; returns when all are done. */
static void team_run(struct team *t, team_fn fn, void *arg)
{
	if (t->n_helpers == 0) {
		fn(arg, 0, 1);
		return;
	}
	pthread_mutex_lock(&t->mu);
	t->fn = fn;
	t->arg = arg;
	t->pending = t->n_helpers;
	t->gen++;
	pthread_cond_broadcast(&t->wake);
	pthread_mutex_unlock(&t->mu);
	fn(arg, 0, t->n_helpers + 1);
	pthread_mutex_lock(&t->mu);
	while (t->pending > 0)
		pthread_cond_wait(&t->done, &t->mu);
	pthread_mutex_unlock(&t->mu);
}

/* Start up to `helpers` threads; fewer if the system refuses (the work is split over
 * those there are, so that is slower, never wrong). */
static void team_start(struct cpu_ctx *ctx, int helpers)
{
	struct team *t = &ctx->team;
	int i;

	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->wake, NULL);
	pthread_cond_init(&t->done, NULL);
	if (helpers <= 0)
		return;
	t->tid = calloc((size_t)helpers, sizeof(*t->tid));
	ctx->args = calloc((size_t)helpers, sizeof(*ctx->args));
	if (!t->tid || !ctx->args)
		return;
	for (i = 0; i < helpers; i++) {
		ctx->args[i].team = t;
		ctx->args[i].part = i + 1;
		if (pthread_create(&t->tid[i], NULL, helper_main, &ctx->args[i]) != 0)
			break;
		t->n_helpers++;
	}
}

static void team_stop(struct cpu_ctx *ctx)
{
	struct team *t = &ctx->team;
	int i;

	pthread_mutex_lock(&t->mu);
	t->quit = true;
	pthread_cond_broadcast(&t->wake);
	pthread_mutex_unlock(&t->mu);
	for (i = 0; i < t->n_helpers; i++)
		pthread_join(t->tid[i], NULL);
	free(t->tid);
	free(ctx->args);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->wake);
	pthread_cond_destroy(&t->done);
}

/* [*lo, *hi): part `part` of `parts` of [0, n), boundaries on multiples of 16 floats
 * (64 bytes, a cache line). */
static void split_range(size_t n, int part, int parts, size_t *lo, size_t *hi)
{
	size_t per = (n / (size_t)parts + 15) & ~(size_t)15;

	*lo = per * (size_t)part < n ? per * (size_t)part : n;
	*hi = *lo + per < n && part + 1 < parts ? *lo + per : n;
}

static int cpu_gemm(tr_backend *be, bool ta, bool tb, size_t m, size_t n, size_t k,
		    float alpha, tr_view a, size_t lda, tr_view b, size_t ldb,
		    float beta, tr_view c, size_t ldc)
{
	struct cpu_ctx *ctx = be->context;
	bool one = ctx->threads > 1 && (double)m * (double)n * (double)k < SMALL_GEMM;
	unsigned csr;

	if (openblas_reserve(be, ctx) != TR_OK)
		return be->err.status;
	csr = fp_flush_enter();

	if (one)
		openblas_set_num_threads(1);
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
		    tb ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n, (blasint)k,
		    alpha, tr_host_at(a), (blasint)lda, tr_host_at(b), (blasint)ldb, beta, tr_host_at(c),
		    (blasint)ldc);
	if (one)
		openblas_set_num_threads(ctx->threads);
	fp_flush_leave(csr);
	return TR_OK;
}

static int cpu_bias_act(tr_backend *be, tr_view y, tr_view bias, size_t rows,
			size_t cols, bool relu)
{
	float *Y = tr_host_at(y);
	const float *b = tr_host_at(bias);
	long r;
	unsigned csr = fp_flush_enter();

	for (r = 0; r < (long)rows; r++) {
		float *row = Y + (size_t)r * cols;
		size_t c;

		if (relu) {
			for (c = 0; c < cols; c++) {
				float z = row[c] + b[c];

				row[c] = z > 0.0f ? z : 0.0f;
			}
		} else {
			for (c = 0; c < cols; c++)
				row[c] += b[c];
		}
	}
	fp_flush_leave(csr);
	return TR_OK;
}

static int cpu_relu_backward(tr_backend *be, tr_view dy, tr_view y, size_t n)
{
	float *d = tr_host_at(dy);
	const float *Y = tr_host_at(y);
	long i;
	unsigned csr = fp_flush_enter();

	for (i = 0; i < (long)n; i++)
		d[i] = Y[i] > 0.0f ? d[i] : 0.0f;
	fp_flush_leave(csr);
	return TR_OK;
}

static int cpu_softmax_xent(tr_backend *be, tr_view logits, tr_view labels,
			    size_t rows, size_t cols, float grad_scale,
			    tr_view dlogits, tr_view loss, bool accumulate)
{
	const float *Z = tr_host_at(logits), *L = tr_host_at(labels);
	float *D = dlogits.buf ? tr_host_at(dlogits) : NULL;
	double total = 0.0;
	long r;
	unsigned csr = fp_flush_enter();

	for (r = 0; r < (long)rows; r++) {
		const float *z = Z + (size_t)r * cols;
		size_t label = (size_t)L[r], c;
		float max = z[0];
		double sum = 0.0;

		for (c = 1; c < cols; c++)
			max = z[c] > max ? z[c] : max;
		for (c = 0; c < cols; c++)
			sum += expf(z[c] - max);
		total += log(sum) - ((double)z[label] - max);
		if (!D)
			continue;
		for (c = 0; c < cols; c++) {
			float p = (float)(expf(z[c] - max) / sum);

			D[(size_t)r * cols + c] =
				grad_scale * (p - (c == label ? 1.0f : 0.0f));
		}
	}
	tr_host_store(loss, total, accumulate);
	fp_flush_leave(csr);
	return TR_OK;
}

static int cpu_bias_grad(tr_backend *be, tr_view dy, size_t rows, size_t cols,
			 tr_view db)
{
	const float *D = tr_host_at(dy);
	float *out = tr_host_at(db);
	size_t r, c;
	unsigned csr = fp_flush_enter();

	/* Row by row so the inner loop is contiguous and vectorises. */
	for (c = 0; c < cols; c++)
		out[c] = 0.0f;
	for (r = 0; r < rows; r++)
		for (c = 0; c < cols; c++)
			out[c] += D[r * cols + c];
	fp_flush_leave(csr);
	return TR_OK;
}

struct adam_job {
	float *w, *m, *v;
	const float *g;
	size_t n;
	tr_adam_params p;
};

static void adam_range(float *restrict w, float *restrict M, float *restrict V,
		       const float *restrict G, size_t n, const tr_adam_params *p)
{
	const float b1 = p->beta1, b2 = p->beta2, lr = p->lr_t, eps = p->epsilon;
	const float l2 = p->l2, c1 = 1.0f - b1, c2 = 1.0f - b2;
	size_t i;

	for (i = 0; i < n; i++) {
		float g = G[i] + l2 * w[i];
		float mi = b1 * M[i] + c1 * g;
		float vi = b2 * V[i] + c2 * g * g;

		M[i] = mi;
		V[i] = vi;
		w[i] -= lr * mi / (sqrtf(vi) + eps);
	}
}

static void adam_part(void *arg, int part, int parts)
{
	struct adam_job *j = arg;
	size_t lo, hi;

	split_range(j->n, part, parts, &lo, &hi);
	if (hi > lo)
		adam_range(j->w + lo, j->m + lo, j->v + lo, j->g + lo, hi - lo, &j->p);
}

static int cpu_adam_l2(tr_backend *be, tr_view param, tr_view grad, tr_view m,
		       tr_view v, size_t n, const tr_adam_params *p)
{
	struct cpu_ctx *ctx = be->context;
	struct adam_job j = { tr_host_at(param), tr_host_at(m), tr_host_at(v), tr_host_at(grad), n, *p };
	unsigned csr = fp_flush_enter();

	if (n < PAR_MIN)
		adam_part(&j, 0, 1);
	else
		team_run(&ctx->team, adam_part, &j);
	fp_flush_leave(csr);
	return TR_OK;
}

struct sumsq_job {
	const float *x;
	size_t n;
	double *block; /* one partial sum per SUMSQ_BLOCK elements */
};

static void sumsq_part(void *arg, int part, int parts)
{
	struct sumsq_job *j = arg;
	size_t blocks = (j->n + SUMSQ_BLOCK - 1) / SUMSQ_BLOCK, lo, hi, b, i;

	split_range(blocks, part, parts, &lo, &hi);
	for (b = lo; b < hi; b++) {
		size_t end = (b + 1) * SUMSQ_BLOCK < j->n ? (b + 1) * SUMSQ_BLOCK : j->n;
		double s = 0.0;

		for (i = b * SUMSQ_BLOCK; i < end; i++)
			s += (double)j->x[i] * j->x[i];
		j->block[b] = s;
	}
}

static int cpu_sum_squares(tr_backend *be, tr_view x, size_t n, tr_view out,
			   bool accumulate)
{
	struct cpu_ctx *ctx = be->context;
	size_t blocks = (n + SUMSQ_BLOCK - 1) / SUMSQ_BLOCK, b;
	struct sumsq_job j = { tr_host_at(x), n, NULL };
	double total = 0.0;

	unsigned csr;

	j.block = malloc((blocks ? blocks : 1) * sizeof(double));
	if (!j.block)
		return tr_fail(&be->err, TR_ERR_INTERNAL, "cpu: out of host memory");
	csr = fp_flush_enter(); /* as the helpers, so that no block depends on who sums it */
	if (n < PAR_MIN)
		sumsq_part(&j, 0, 1);
	else
		team_run(&ctx->team, sumsq_part, &j);
	fp_flush_leave(csr);
	for (b = 0; b < blocks; b++)
		total += j.block[b];
	free(j.block);
	tr_host_store(out, total, accumulate);
	return TR_OK;
}

static int cpu_count_correct(tr_backend *be, tr_view logits, tr_view labels,
			     size_t rows, size_t cols, tr_view out, bool accumulate)
{
	const float *Z = tr_host_at(logits), *L = tr_host_at(labels);
	size_t r, c, correct = 0;

	for (r = 0; r < rows; r++) {
		const float *z = Z + r * cols;
		size_t best = 0;

		for (c = 1; c < cols; c++)
			if (z[c] > z[best])
				best = c;
		correct += best == (size_t)L[r];
	}
	tr_host_store(out, (double)correct, accumulate);
	return TR_OK;
}

static void cpu_free(tr_backend *be)
{
	struct cpu_ctx *ctx = be->context;

	team_stop(ctx);
	free(ctx);
	free(be);
}

static const struct tr_backend_i cpu_iface = {
	.free = cpu_free,
	.buf_alloc = tr_host_buf_alloc,
	.buf_free = tr_host_buf_free,
	.upload = tr_host_upload,
	.download = tr_host_download,
	.gather = tr_host_gather,
	.synchronize = NULL,
	.gemm = cpu_gemm,
	.bias_act = cpu_bias_act,
	.relu_backward = cpu_relu_backward,
	.softmax_xent = cpu_softmax_xent,
	.bias_grad = cpu_bias_grad,
	.adam_l2 = cpu_adam_l2,
	.sum_squares = cpu_sum_squares,
	.count_correct = cpu_count_correct,
};

static int cpu_open(const char *spec, const tr_backend_options *opts, tr_backend **out,
		    tr_error *err)
{
	struct cpu_ctx *ctx;
	tr_backend *be;
	int threads;

	if (strcmp(spec, "cpu") != 0)
		return TR_BACKEND_NOT_MINE;
	threads = opts->threads > 0 ? opts->threads : omp_get_num_procs();
	ctx = calloc(1, sizeof(*ctx));
	be = ctx ? tr_backend_new(&cpu_iface, "cpu", ctx) : NULL;
	if (!be) {
		free(ctx);
		return tr_fail(err, TR_ERR_INTERNAL, "cpu: out of host memory");
	}
	ctx->threads = threads;
	team_start(ctx, threads - 1); /* OpenBLAS's threads: at the first GEMM */
	snprintf(be->device_name, sizeof(be->device_name), "host CPU, %d thread%s (%s)",
		 threads, threads == 1 ? "" : "s", openblas_get_corename());
	snprintf(be->device_version, sizeof(be->device_version), "%s",
		 openblas_get_config());
	*out = be;
	return TR_OK;
}

static void cpu_list(char *buf, size_t cap)
{
	size_t len = strlen(buf);

	snprintf(buf + len, cap - len,
		 "cpu       host CPU through OpenBLAS (%s), %d cores\n",
		 openblas_get_corename(), omp_get_num_procs());
}

const struct tr_backend_reg tr_cpu_reg = {
	.name = "cpu",
	.open = cpu_open,
	.list = cpu_list,
	.has_gpu = NULL,
};
