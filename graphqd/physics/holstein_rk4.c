/* Classical RK4 for the Ehrenfest equations of the semiclassical Holstein model, one run at a time.

       dQ_i/dt = P_i / m,   dP_i/dt = g (Re rho_ii - 1/2) - K Q_i,
       drho_ij/dt = i g (Q_i - Q_j) rho_ij + i t ((A rho)_ij - conj((A rho)_ji)),

   with (A rho)_ij = sum_s w_is rho_{nb_is, j} over the neighbour slots of site i (A symmetric,
   rho Hermitian, so rho A = (A rho)^dagger). Source: Ning, Yang, Chern, arXiv 2412.06631, Eqs. (2)-(4);
   the same equations and RK4 as graphqd.physics.holstein._rk4_step, in the same floating-point
   form: the derivative of a Hermitian rho is exactly Hermitian, so rho stays exactly Hermitian.

   Compiled on first use by graphqd.physics.holstein_kernel (cc -O2 -ffp-contract=off) and called
   through ctypes; the torch code stays the reference and the path for GPUs. Complex numbers are
   (re, im) pairs of doubles, the layout of torch's complex128. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t n, z;
    const int64_t *nb;   /* (n, z) neighbour of site i in slot s */
    const double *w;     /* (n, z) bond weight of that slot (0 on an open edge) */
    double hopping, g, stiffness, mass;
} Chain;

#define TILE 32  /* (i, j) and (j, i) tiles of a: both stay in cache on long chains */

/* d = f(Q, P, rho); a = scratch (n*n complex). */
static void derivative(const Chain *c, const double *Q, const double *P, const double *rho,
                       double *dQ, double *dP, double *drho, double *a) {
    const int64_t n = c->n, z = c->z;
    for (int64_t i = 0; i < n; i++) {
        double *ai = a + 2 * i * n;
        memset(ai, 0, sizeof(double) * 2 * n);
        for (int64_t s = 0; s < z; s++) {
            const double w = c->w[i * z + s];
            if (w == 0.0) continue;
            const double *rk = rho + 2 * c->nb[i * z + s] * n;
            for (int64_t j = 0; j < 2 * n; j++) ai[j] += w * rk[j];
        }
    }
    for (int64_t i0 = 0; i0 < n; i0 += TILE) {
        for (int64_t j0 = 0; j0 < n; j0 += TILE) {
            for (int64_t i = i0; i < i0 + TILE && i < n; i++) {
                for (int64_t j = j0; j < j0 + TILE && j < n; j++) {
                    const double qd = c->g * (Q[i] - Q[j]);
                    const double re = rho[2 * (i * n + j)], im = rho[2 * (i * n + j) + 1];
                    /* i*qd*rho = (-qd*im, qd*re);
                       i*t*(a_ij - conj(a_ji)) = (-t*(Im a_ij + Im a_ji), t*(Re a_ij - Re a_ji)) */
                    const double dre = a[2 * (i * n + j) + 1] + a[2 * (j * n + i) + 1];
                    const double dim = a[2 * (i * n + j)] - a[2 * (j * n + i)];
                    drho[2 * (i * n + j)] = -qd * im - c->hopping * dre;
                    drho[2 * (i * n + j) + 1] = qd * re + c->hopping * dim;
                }
            }
        }
    }
    for (int64_t i = 0; i < n; i++) {
        dQ[i] = P[i] / c->mass;
        dP[i] = c->g * (rho[2 * (i * n + i)] - 0.5) - c->stiffness * Q[i];
    }
}

/* Advance each run b by steps[b] RK4 steps of length h, in place.
   y: (batch, 2n + 2n^2) doubles per run: Q (n), P (n), rho (n*n complex). Returns 0, or -1 if out of memory. */
int holstein_rk4(int64_t batch, int64_t n, int64_t z, const int64_t *nb, const double *w,
                 double hopping, double g, double stiffness, double mass, double h,
                 const int64_t *steps, double *y) {
    const Chain c = {n, z, nb, w, hopping, g, stiffness, mass};
    const int64_t m = 2 * n + 2 * n * n;
    double *buf = malloc(sizeof(double) * (3 * m + 2 * n * n));
    if (buf == NULL) return -1;
    double *k = buf, *tmp = buf + m, *acc = buf + 2 * m, *a = buf + 3 * m;
#define F(src) derivative(&c, (src), (src) + n, (src) + 2 * n, k, k + n, k + 2 * n, a)
    for (int64_t b = 0; b < batch; b++) {
        double *yb = y + b * m;
        for (int64_t step = 0; step < steps[b]; step++) {
            /* acc = ((k1 + 2 k2) + 2 k3) + k4 in the order of the torch code; y += h/6 acc */
            F(yb);
            for (int64_t j = 0; j < m; j++) { acc[j] = k[j]; tmp[j] = yb[j] + (h / 2) * k[j]; }
            F(tmp);
            for (int64_t j = 0; j < m; j++) { acc[j] += 2.0 * k[j]; tmp[j] = yb[j] + (h / 2) * k[j]; }
            F(tmp);
            for (int64_t j = 0; j < m; j++) { acc[j] += 2.0 * k[j]; tmp[j] = yb[j] + h * k[j]; }
            F(tmp);
            for (int64_t j = 0; j < m; j++) yb[j] += (h / 6) * (acc[j] + k[j]);
        }
    }
#undef F
    free(buf);
    return 0;
}
