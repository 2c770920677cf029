/*
 * Probe for issue 24's next step (not part of the engine): the weight gradient of a stride-1, pad-1,
 * 3x3 convolution computed by a kernel that reads the input's shifted windows in place, against which
 * scripts/benchConvWeightGradient.ts times the engine's onnxruntime forms. Nothing here is loaded by
 * the extension or the backend.
 *
 *   dW[o][c][i][j] = sum over n, y, x of g[n][o][y][x] * xpad[n][c][y + i][x + j]
 *
 * Per example: the input is copied once, zero-padded and channels-last, to XT [(H+2)(W+2)][C], and the
 * cotangent to GT [H(W+2)][O] with zeros in the two padding columns of each row, so that each tap
 * (i, j) is one product GT^T . XT shifted by i(W+2) + j rows: no patches. The products run in AVX-512
 * register tiles (MR rows of O by 16·NV columns of C), accumulated over the examples; T threads take
 * contiguous ranges of the batch and their partial sums are added at the end.
 *
 *   gcc -O3 -march=native -pthread -o /tmp/conv-dw scripts/probes/convWeightGradient.c -lm
 *   /tmp/conv-dw C O H [threads=2] [rounds=15] [batch=128]
 *
 * Prints one JSON line: the median and least milliseconds per call over the rounds (packing, products
 * and the threads' reduction included), GFLOP/s at the median, and the largest difference from a
 * float64 sum on 20 random entries relative to the largest of them. C must be a multiple of 16 and O of
 * the tile's rows (8, or 4 when C is a multiple of 64); the probe exits 2 naming the shape otherwise.
 */
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  int C, O, H, W, n0, n1;
  const float *x, *g;
  float *dw; /* [9][O][C], this thread's partial sum */
} Job;

/* One register tile: d[MR][16 NV] += sum over q < L of GT[q][0..MR) outer XT[q + off][0..16 NV). */
#define TILE(MR, NV)                                                                                  \
  static void tile_##MR##_##NV(const float *GT, const float *XT, int L, int O, int C, int off, float *d) { \
    __m512 acc[MR][NV];                                                                               \
    for (int a = 0; a < MR; a++)                                                                      \
      for (int b = 0; b < NV; b++) acc[a][b] = _mm512_loadu_ps(d + (size_t)a * C + 16 * b);           \
    const float *xq = XT + (size_t)off * C;                                                           \
    for (int q = 0; q < L; q++) {                                                                     \
      __m512 xb[NV];                                                                                  \
      for (int b = 0; b < NV; b++) xb[b] = _mm512_loadu_ps(xq + (size_t)q * C + 16 * b);              \
      const float *gq = GT + (size_t)q * O;                                                           \
      for (int a = 0; a < MR; a++) {                                                                  \
        __m512 ga = _mm512_set1_ps(gq[a]);                                                            \
        for (int b = 0; b < NV; b++) acc[a][b] = _mm512_fmadd_ps(ga, xb[b], acc[a][b]);               \
      }                                                                                               \
    }                                                                                                 \
    for (int a = 0; a < MR; a++)                                                                      \
      for (int b = 0; b < NV; b++) _mm512_storeu_ps(d + (size_t)a * C + 16 * b, acc[a][b]);           \
  }
TILE(8, 1)
TILE(8, 2)
TILE(4, 4)

static int tileColumns(int C) { return C % 64 == 0 ? 4 : C % 32 == 0 ? 2 : 1; }
static int tileRows(int C) { return tileColumns(C) == 4 ? 4 : 8; }

/* aligned_alloc wants a size that is a multiple of the alignment. */
static float *floats64(size_t n) {
  float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  return p;
}

static void *work(void *arg) {
  const Job *jb = arg;
  const int C = jb->C, O = jb->O, H = jb->H, W = jb->W, Wp = W + 2, Hp = H + 2;
  const int L = H * Wp, XR = Hp * Wp + 2;
  const int NV = tileColumns(C), MR = tileRows(C);
  float *XT = floats64((size_t)XR * C);
  float *GT = floats64((size_t)L * O);
  memset(jb->dw, 0, sizeof(float) * 9 * (size_t)O * C);
  memset(XT, 0, sizeof(float) * (size_t)XR * C);
  memset(GT, 0, sizeof(float) * (size_t)L * O);
  for (int n = jb->n0; n < jb->n1; n++) {
    const float *xn = jb->x + (size_t)n * C * H * W, *gn = jb->g + (size_t)n * O * H * W;
    for (int c = 0; c < C; c++)
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) XT[((size_t)(y + 1) * Wp + x + 1) * C + c] = xn[((size_t)c * H + y) * W + x];
    for (int o = 0; o < O; o++)
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) GT[((size_t)y * Wp + x) * O + o] = gn[((size_t)o * H + y) * W + x];
    for (int t = 0; t < 9; t++) {
      const int off = (t / 3) * Wp + t % 3;
      float *d = jb->dw + (size_t)t * O * C;
      for (int c0 = 0; c0 < C; c0 += 16 * NV)
        for (int o0 = 0; o0 < O; o0 += MR) {
          float *dt = d + (size_t)o0 * C + c0;
          if (NV == 4) tile_4_4(GT + o0, XT + c0, L, O, C, off, dt);
          else if (NV == 2) tile_8_2(GT + o0, XT + c0, L, O, C, off, dt);
          else tile_8_1(GT + o0, XT + c0, L, O, C, off, dt);
        }
    }
  }
  free(XT);
  free(GT);
  return NULL;
}

static double nowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int byValue(const void *a, const void *b) {
  double u = *(const double *)a, v = *(const double *)b;
  return (u > v) - (u < v);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s C O H [threads=2] [rounds=15] [batch=128]\n", argv[0]);
    return 2;
  }
  const int C = atoi(argv[1]), O = atoi(argv[2]), H = atoi(argv[3]), W = H;
  const int T = argc > 4 ? atoi(argv[4]) : 2, R = argc > 5 ? atoi(argv[5]) : 15, N = argc > 6 ? atoi(argv[6]) : 128;
  if (C <= 0 || O <= 0 || H <= 0 || C % 16 || O % tileRows(C) || T < 1 || T > 64 || R < 1 || R > 1000 || N < T) {
    fprintf(stderr, "unsupported shape C=%d O=%d H=%d threads=%d rounds=%d batch=%d (C a multiple of 16, O of %d)\n", C, O, H, T, R, N,
            C > 0 ? tileRows(C) : 8);
    return 2;
  }
  const size_t nx = (size_t)N * C * H * W, ng = (size_t)N * O * H * W, nw = (size_t)O * C * 9;
  float *x = malloc(nx * 4), *g = malloc(ng * 4), *part = malloc((size_t)T * nw * 4), *dw = malloc(nw * 4);
  double *ms = malloc(sizeof(double) * R);
  if (!x || !g || !part || !dw || !ms) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  srand(1);
  for (size_t i = 0; i < nx; i++) x[i] = rand() / (float)RAND_MAX - 0.5f;
  for (size_t i = 0; i < ng; i++) g[i] = rand() / (float)RAND_MAX - 0.5f;
  for (int r = 0; r < R; r++) {
    const double t0 = nowMs();
    pthread_t th[64];
    Job jobs[64];
    for (int k = 0; k < T; k++) {
      jobs[k] = (Job){C, O, H, W, N * k / T, N * (k + 1) / T, x, g, part + (size_t)k * nw};
      pthread_create(&th[k], NULL, work, &jobs[k]);
    }
    for (int k = 0; k < T; k++) pthread_join(th[k], NULL);
    for (int t = 0; t < 9; t++)
      for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++) {
          float s = 0;
          for (int k = 0; k < T; k++) s += part[(size_t)k * nw + ((size_t)t * O + o) * C + c];
          dw[((size_t)o * C + c) * 9 + t] = s;
        }
    ms[r] = nowMs() - t0;
  }
  double maxErr = 0, maxAbs = 0;
  for (int s = 0; s < 20; s++) {
    const int o = rand() % O, c = rand() % C, t = rand() % 9, i = t / 3 - 1, j = t % 3 - 1;
    double ref = 0;
    for (int n = 0; n < N; n++)
      for (int y = 0; y < H; y++)
        for (int xx = 0; xx < W; xx++) {
          const int yy = y + i, xq = xx + j;
          if (yy < 0 || yy >= H || xq < 0 || xq >= W) continue;
          ref += (double)g[(((size_t)n * O + o) * H + y) * W + xx] * x[(((size_t)n * C + c) * H + yy) * W + xq];
        }
    maxErr = fmax(maxErr, fabs(ref - dw[((size_t)o * C + c) * 9 + t]));
    maxAbs = fmax(maxAbs, fabs(ref));
  }
  qsort(ms, R, sizeof(double), byValue);
  const double gflop = 2.0 * N * O * C * 9 * H * W / 1e9;
  printf("{\"C\":%d,\"O\":%d,\"H\":%d,\"batch\":%d,\"threads\":%d,\"rounds\":%d,\"medianMs\":%.3f,\"minMs\":%.3f,\"gflops\":%.1f,\"maxRelErr\":%.2e}\n",
         C, O, H, N, T, R, ms[R / 2], ms[0], gflop / ms[R / 2] * 1e3, maxErr / maxAbs);
  return 0;
}
