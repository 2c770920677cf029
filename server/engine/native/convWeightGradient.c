/*
 * The weight gradient of a stride-1 convolution, as a Node-API addon (built by scripts/buildNative.mjs,
 * loaded by server/engine/nativeKernels.ts).
 *
 *   dW[o][c][i][j] = sum over n, y < OH, x < OW of g[n][o][y][x] * xpad[n][c][y + i][x + j]
 *
 * x [N][C][H][W] and g [N][O][OH][OW] are float32 NCHW; xpad is x with padTop/padLeft/padBottom/padRight
 * zeros around it: Hp = H + pt + pb, Wp = W + pl + pr, OH = Hp - kh + 1, OW = Wp - kw + 1. dW is written
 * [O][C][kh][kw], ONNX's weight layout.
 *
 * Per example the input is copied once, zero-padded and channels-last, to XT [Hp·Wp + kw - 1][Cp], and
 * the cotangent to GT [OH·Wp][Op] with zeros in the columns x >= OW of each row (Cp, Op: C and O rounded
 * up to the tile, the extra channels zero). Tap (i, j) is then one product GTᵀ·XT with XT shifted down by
 * i·Wp + j rows: no patches; the rows it reads past a row's end meet GT's zero columns. Register tiles
 * (MR rows of O by VEC floats of C) accumulate into DT [kh·kw][Op][Cp] over the examples; threads take
 * contiguous ranges of the batch, each with its own DT, summed into dW at the end.
 *
 * The tiles are written with GCC vector extensions in three widths, one picked on first use: AVX-512F
 * (16 lanes) and AVX2 + FMA (8 lanes) on x86-64, and a generic 4-lane path (SSE2, NEON or scalar code;
 * the only one elsewhere). GROWTH_LAB_NATIVE_ISA=avx2|generic picks a narrower path, for tests.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADDON_VERSION 1
#define MAX_THREADS 64
#define ALIGN 64 /* bytes: scratch arrays start on cache lines */

/* ---- register tiles ------------------------------------------------------------------------- */

/* d[a][0..VEC) (rows cp apart) += sum over q < rows of gt[q·op + a] · xt[q·cp + 0..VEC), a < MR. */
typedef void (*TileFn)(const float *gt, const float *xt, size_t rows, size_t op, size_t cp, float *d);

#define DEFINE_TILE(PATH, TARGET, V, VU, MR, NV)                                                         \
  static TARGET void tile_##PATH##_##MR##x##NV(const float *gt, const float *xt, size_t rows, size_t op, \
                                               size_t cp, float *d) {                                    \
    enum { LANES = sizeof(V) / sizeof(float) };                                                          \
    V acc[MR][NV];                                                                                       \
    for (size_t a = 0; a < MR; a++)                                                                      \
      for (size_t b = 0; b < NV; b++) acc[a][b] = *(const VU *)(d + a * cp + b * LANES);                 \
    for (size_t q = 0; q < rows; q++) {                                                                  \
      const float *xq = xt + q * cp, *gq = gt + q * op;                                                  \
      V xb[NV];                                                                                          \
      for (size_t b = 0; b < NV; b++) xb[b] = *(const VU *)(xq + b * LANES);                             \
      for (size_t a = 0; a < MR; a++)                                                                    \
        for (size_t b = 0; b < NV; b++) acc[a][b] += gq[a] * xb[b];                                      \
    }                                                                                                    \
    for (size_t a = 0; a < MR; a++)                                                                      \
      for (size_t b = 0; b < NV; b++) *(VU *)(d + a * cp + b * LANES) = acc[a][b];                       \
  }

/* Accumulators (aligned) and the loads' and stores' view of float arrays (any float, may alias). */
typedef float v4 __attribute__((vector_size(16)));
typedef float v4u __attribute__((vector_size(16), aligned(4), may_alias));

DEFINE_TILE(generic, , v4, v4u, 4, 1)
DEFINE_TILE(generic, , v4, v4u, 4, 2)

#ifdef __x86_64__
typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));
typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4), may_alias));

DEFINE_TILE(avx2, __attribute__((target("avx2,fma"))), v8, v8u, 8, 1)
DEFINE_TILE(avx2, __attribute__((target("avx2,fma"))), v8, v8u, 4, 2)
DEFINE_TILE(avx512f, __attribute__((target("avx512f"))), v16, v16u, 8, 1)
DEFINE_TILE(avx512f, __attribute__((target("avx512f"))), v16, v16u, 8, 2)
DEFINE_TILE(avx512f, __attribute__((target("avx512f"))), v16, v16u, 4, 4)
#endif

/* An instruction-set path: its vector width and its tiles for NV = 1, 2 and 4 vectors of C. */
typedef struct {
  const char *name;
  size_t lanes;
  TileFn tile[3];
  size_t mr[3];
} Path;

static const Path PATHS[] = {
#ifdef __x86_64__
    {"avx512f", 16, {tile_avx512f_8x1, tile_avx512f_8x2, tile_avx512f_4x4}, {8, 8, 4}},
    {"avx2", 8, {tile_avx2_8x1, tile_avx2_4x2, NULL}, {8, 4, 0}},
#endif
    {"generic", 4, {tile_generic_4x1, tile_generic_4x2, NULL}, {4, 4, 0}},
};
#define PATH_COUNT (sizeof(PATHS) / sizeof(PATHS[0]))

static const Path *chosenPath = &PATHS[PATH_COUNT - 1];
static pthread_once_t choosePathOnce = PTHREAD_ONCE_INIT;

static bool cpuRuns(const Path *p) {
#ifdef __x86_64__
  __builtin_cpu_init();
  if (strcmp(p->name, "avx512f") == 0) return __builtin_cpu_supports("avx512f");
  if (strcmp(p->name, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return strcmp(p->name, "generic") == 0;
}

/* The widest path this CPU runs, or the one GROWTH_LAB_NATIVE_ISA names when the CPU runs it. */
static void choosePath(void) {
  size_t best = PATH_COUNT - 1;
  for (size_t k = 0; k < PATH_COUNT; k++)
    if (cpuRuns(&PATHS[k])) {
      best = k;
      break;
    }
  const char *wanted = getenv("GROWTH_LAB_NATIVE_ISA");
  for (size_t k = best; wanted && k < PATH_COUNT; k++)
    if (strcmp(PATHS[k].name, wanted) == 0 && cpuRuns(&PATHS[k])) best = k;
  chosenPath = &PATHS[best];
}

/* ---- the kernel ------------------------------------------------------------------------------ */

typedef struct {
  size_t n, c, h, w, o, kh, kw, pt, pl;
  size_t hp, wp, oh, ow, taps;
  size_t cp, op;                                      /* C and O rounded up to the tile */
  size_t xtFloats, gtFloats, dtFloats, threadFloats; /* one thread's scratch, each a multiple of ALIGN */
  TileFn tile;
  size_t mr, vec; /* the tile's rows of O and floats of C */
  const float *x, *g;
} Plan;

typedef struct {
  const Plan *p;
  size_t n0, n1;
  float *scratch; /* XT, GT, DT */
} Job;

static size_t roundUp(size_t v, size_t m) { return (v + m - 1) / m * m; }

static bool mulOk(size_t a, size_t b, size_t *r) { return !__builtin_mul_overflow(a, b, r); }

/* XT[(y + pt)·Wp + x + pl][c] = x[n][c][y][x]; the padding stays zero. */
static void packInput(const Plan *p, const float *xn, float *xt) {
  for (size_t c = 0; c < p->c; c++)
    for (size_t y = 0; y < p->h; y++) {
      const float *src = xn + (c * p->h + y) * p->w;
      float *dst = xt + ((y + p->pt) * p->wp + p->pl) * p->cp + c;
      for (size_t x = 0; x < p->w; x++) dst[x * p->cp] = src[x];
    }
}

/* GT[y·Wp + x][o] = g[n][o][y][x]; columns x >= OW stay zero. */
static void packCotangent(const Plan *p, const float *gn, float *gt) {
  for (size_t o = 0; o < p->o; o++)
    for (size_t y = 0; y < p->oh; y++) {
      const float *src = gn + (o * p->oh + y) * p->ow;
      float *dst = gt + y * p->wp * p->op + o;
      for (size_t x = 0; x < p->ow; x++) dst[x * p->op] = src[x];
    }
}

/* DT[t] += GTᵀ · (XT shifted by tap t's i·Wp + j rows), tile by tile. */
static void products(const Plan *p, const float *gt, const float *xt, float *dt) {
  const size_t rows = p->oh * p->wp;
  for (size_t t = 0; t < p->taps; t++) {
    const float *xs = xt + ((t / p->kw) * p->wp + t % p->kw) * p->cp;
    float *d = dt + t * p->op * p->cp;
    for (size_t c0 = 0; c0 < p->cp; c0 += p->vec)
      for (size_t o0 = 0; o0 < p->op; o0 += p->mr) p->tile(gt + o0, xs + c0, rows, p->op, p->cp, d + o0 * p->cp + c0);
  }
}

static void *work(void *arg) {
  const Job *jb = arg;
  const Plan *p = jb->p;
  float *xt = jb->scratch, *gt = xt + p->xtFloats, *dt = gt + p->gtFloats;
  memset(jb->scratch, 0, p->threadFloats * sizeof(float));
  for (size_t n = jb->n0; n < jb->n1; n++) {
    packInput(p, p->x + n * p->c * p->h * p->w, xt);
    packCotangent(p, p->g + n * p->o * p->oh * p->ow, gt);
    products(p, gt, xt, dt);
  }
  return NULL;
}

/* out[o][c][t] = sum over the threads' DT[t][o][c]. */
static void reduce(const Plan *p, const float *scratch, size_t threads, float *out) {
  const size_t dtAt = p->xtFloats + p->gtFloats;
  for (size_t o = 0; o < p->o; o++)
    for (size_t t = 0; t < p->taps; t++) {
      float *row = out + o * p->c * p->taps + t;
      const float *first = scratch + dtAt + (t * p->op + o) * p->cp;
      for (size_t c = 0; c < p->c; c++) row[c * p->taps] = first[c];
      for (size_t k = 1; k < threads; k++) {
        const float *dk = first + k * p->threadFloats;
        for (size_t c = 0; c < p->c; c++) row[c * p->taps] += dk[c];
      }
    }
}

/* Runs the plan on `threads` threads (the caller is the first); a thread that cannot start runs inline. */
static void run(const Plan *p, size_t threads, float *scratch, float *out) {
  Job jobs[MAX_THREADS];
  pthread_t ids[MAX_THREADS];
  bool started[MAX_THREADS] = {false};
  for (size_t k = 0; k < threads; k++) jobs[k] = (Job){p, p->n * k / threads, p->n * (k + 1) / threads, scratch + k * p->threadFloats};
  for (size_t k = 1; k < threads; k++) started[k] = pthread_create(&ids[k], NULL, work, &jobs[k]) == 0;
  work(&jobs[0]);
  for (size_t k = 1; k < threads; k++) {
    if (started[k])
      pthread_join(ids[k], NULL);
    else
      work(&jobs[k]);
  }
  reduce(p, scratch, threads, out);
}

/* Tile and scratch sizes for the path: the widest tile whose columns divide Cp; false when a size overflows. */
static bool planLayout(Plan *p, const Path *path) {
  p->cp = roundUp(p->c, path->lanes);
  size_t v = 0; /* the tile of NV = 2^v vectors */
  for (size_t k = 2; k > 0 && !v; k--)
    if (path->tile[k] && (p->cp / path->lanes) % ((size_t)1 << k) == 0) v = k;
  p->tile = path->tile[v];
  p->mr = path->mr[v];
  p->vec = path->lanes << v;
  p->op = roundUp(p->o, p->mr);
  const size_t perLine = ALIGN / sizeof(float);
  size_t xtRows, gtRows, dt;
  if (!mulOk(p->hp, p->wp, &xtRows) || !mulOk(xtRows + p->kw - 1, p->cp, &p->xtFloats)) return false;
  if (!mulOk(p->oh, p->wp, &gtRows) || !mulOk(gtRows, p->op, &p->gtFloats)) return false;
  if (!mulOk(p->taps, p->op, &dt) || !mulOk(dt, p->cp, &p->dtFloats)) return false;
  p->xtFloats = roundUp(p->xtFloats, perLine);
  p->gtFloats = roundUp(p->gtFloats, perLine);
  p->dtFloats = roundUp(p->dtFloats, perLine);
  return !__builtin_add_overflow(p->xtFloats, p->gtFloats, &p->threadFloats) &&
         !__builtin_add_overflow(p->threadFloats, p->dtFloats, &p->threadFloats);
}

/* ---- Node-API binding ------------------------------------------------------------------------ */

enum ErrorKind { PLAIN_ERROR, TYPE_ERROR, RANGE_ERROR };

static napi_value fail(napi_env env, enum ErrorKind kind, const char *format, ...) {
  char message[320];
  va_list args;
  va_start(args, format);
  int n = snprintf(message, sizeof message, "convWeightGradient: ");
  vsnprintf(message + n, sizeof message - (size_t)n, format, args);
  va_end(args);
  if (kind == TYPE_ERROR)
    napi_throw_type_error(env, NULL, message);
  else if (kind == RANGE_ERROR)
    napi_throw_range_error(env, NULL, message);
  else
    napi_throw_error(env, NULL, message);
  return NULL;
}

/* Throws the failed Node-API call's error unless one is pending already. */
static napi_value failNapi(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return NULL;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  return fail(env, PLAIN_ERROR, "Node-API call failed: %s", info && info->error_message ? info->error_message : "unknown");
}

#define CHECK(call)                              \
  do {                                           \
    if ((call) != napi_ok) return failNapi(env); \
  } while (0)

static const char *typedArrayName(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: return "a typed array";
  }
}

/* What a value is, for messages: its typed array's class, "Array", or its typeof. */
static const char *describe(napi_env env, napi_value v) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type t;
    if (napi_get_typedarray_info(env, v, &t, NULL, NULL, NULL, NULL) == napi_ok) return typedArrayName(t);
  }
  if (napi_is_array(env, v, &is) == napi_ok && is) return "Array";
  napi_valuetype vt;
  if (napi_typeof(env, v, &vt) != napi_ok) return "unknown";
  static const char *const names[] = {"undefined", "null",   "boolean",  "number",   "string",
                                      "symbol",    "object", "function", "external", "bigint"};
  return (size_t)vt < sizeof names / sizeof names[0] ? names[vt] : "unknown";
}

/* The data and length of a typed array of `type`; false (TypeError thrown) when v is something else. */
static bool typedArray(napi_env env, napi_value v, napi_typedarray_type type, const char *name, void **data, size_t *length) {
  bool is = false;
  napi_typedarray_type t;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is || napi_get_typedarray_info(env, v, &t, length, data, NULL, NULL) != napi_ok ||
      t != type) {
    const char *expected = typedArrayName(type);
    fail(env, TYPE_ERROR, "%s must be %s %s, got %s", name, expected[0] == 'I' ? "an" : "a", expected, describe(env, v));
    return false;
  }
  return true;
}

static const char *const DIM_NAMES[] = {"N", "C", "H", "W", "O", "kh", "kw", "padTop", "padLeft", "padBottom", "padRight"};
#define DIM_COUNT 11

/* convWeightGradient(x, g, dims, threads, out): see the header comment; dims [N, C, H, W, O, kh, kw, pt, pl, pb, pr]. */
static napi_value ConvWeightGradient(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 5) return fail(env, TYPE_ERROR, "expected 5 arguments (x, g, dims, threads, out), got %zu", argc);

  void *xData, *gData, *dimsData, *outData;
  size_t xLength, gLength, dimsLength, outLength;
  if (!typedArray(env, argv[0], napi_float32_array, "x", &xData, &xLength) ||
      !typedArray(env, argv[1], napi_float32_array, "g", &gData, &gLength) ||
      !typedArray(env, argv[2], napi_int32_array, "dims", &dimsData, &dimsLength) ||
      !typedArray(env, argv[4], napi_float32_array, "out", &outData, &outLength))
    return NULL;
  if (dimsLength != DIM_COUNT)
    return fail(env, RANGE_ERROR, "dims must hold %d values [N, C, H, W, O, kh, kw, padTop, padLeft, padBottom, padRight], got %zu",
                DIM_COUNT, dimsLength);
  const int32_t *dims = dimsData;
  for (int k = 0; k < DIM_COUNT; k++) {
    const int32_t least = k < 7 ? 1 : 0;
    if (dims[k] < least) return fail(env, RANGE_ERROR, "dims[%d] (%s) must be >= %d, got %d", k, DIM_NAMES[k], least, dims[k]);
  }

  napi_valuetype threadsType;
  CHECK(napi_typeof(env, argv[3], &threadsType));
  if (threadsType != napi_number) return fail(env, TYPE_ERROR, "threads must be a number, got %s", describe(env, argv[3]));
  double threadsValue;
  CHECK(napi_get_value_double(env, argv[3], &threadsValue));
  if (!(threadsValue >= 1 && threadsValue <= MAX_THREADS) || threadsValue != (double)(int)threadsValue)
    return fail(env, RANGE_ERROR, "threads must be an integer from 1 to %d, got %g", MAX_THREADS, threadsValue);

  Plan p = {0};
  p.n = (size_t)dims[0], p.c = (size_t)dims[1], p.h = (size_t)dims[2], p.w = (size_t)dims[3], p.o = (size_t)dims[4];
  p.kh = (size_t)dims[5], p.kw = (size_t)dims[6], p.pt = (size_t)dims[7], p.pl = (size_t)dims[8];
  p.hp = p.h + p.pt + (size_t)dims[9], p.wp = p.w + p.pl + (size_t)dims[10];
  if (p.hp < p.kh)
    return fail(env, RANGE_ERROR, "output height H + padTop + padBottom - kh + 1 = %lld must be >= 1",
                (long long)p.hp - (long long)p.kh + 1);
  if (p.wp < p.kw)
    return fail(env, RANGE_ERROR, "output width W + padLeft + padRight - kw + 1 = %lld must be >= 1",
                (long long)p.wp - (long long)p.kw + 1);
  p.oh = p.hp - p.kh + 1, p.ow = p.wp - p.kw + 1, p.taps = p.kh * p.kw;

  size_t nx, ng, nw, a, b;
  if (!mulOk(p.n, p.c, &a) || !mulOk(p.h, p.w, &b) || !mulOk(a, b, &nx) || !mulOk(p.n, p.o, &a) || !mulOk(p.oh, p.ow, &b) ||
      !mulOk(a, b, &ng) || !mulOk(p.o, p.c, &a) || !mulOk(a, p.taps, &nw))
    return fail(env, RANGE_ERROR, "dims give tensors too large to index");
  if (xLength != nx)
    return fail(env, RANGE_ERROR, "x has length %zu, expected N*C*H*W = %zu*%zu*%zu*%zu = %zu", xLength, p.n, p.c, p.h, p.w, nx);
  if (gLength != ng)
    return fail(env, RANGE_ERROR, "g has length %zu, expected N*O*OH*OW = %zu*%zu*%zu*%zu = %zu", gLength, p.n, p.o, p.oh, p.ow, ng);
  if (outLength != nw)
    return fail(env, RANGE_ERROR, "out has length %zu, expected O*C*kh*kw = %zu*%zu*%zu*%zu = %zu", outLength, p.o, p.c, p.kh, p.kw, nw);

  pthread_once(&choosePathOnce, choosePath);
  size_t threads = (size_t)threadsValue < p.n ? (size_t)threadsValue : p.n, bytes;
  if (!planLayout(&p, chosenPath) || !mulOk(p.threadFloats, threads * sizeof(float), &bytes))
    return fail(env, PLAIN_ERROR, "out of memory: the scratch for these dims overflows size_t");
  float *scratch = aligned_alloc(ALIGN, bytes); /* a multiple of ALIGN: every part is */
  if (!scratch)
    return fail(env, PLAIN_ERROR, "out of memory: %.1f MiB of scratch for %zu thread(s) could not be allocated",
                (double)bytes / 1048576.0, threads);
  p.x = xData, p.g = gData;
  run(&p, threads, scratch, outData);
  free(scratch);
  return NULL;
}

static napi_value Isa(napi_env env, napi_callback_info info) {
  (void)info;
  pthread_once(&choosePathOnce, choosePath);
  napi_value name;
  CHECK(napi_create_string_utf8(env, chosenPath->name, NAPI_AUTO_LENGTH, &name));
  return name;
}

NAPI_MODULE_INIT() {
  napi_value version;
  CHECK(napi_create_int32(env, ADDON_VERSION, &version));
  const napi_property_descriptor properties[] = {
      {"convWeightGradient", NULL, ConvWeightGradient, NULL, NULL, NULL, napi_enumerable, NULL},
      {"isa", NULL, Isa, NULL, NULL, NULL, napi_enumerable, NULL},
      {"version", NULL, NULL, NULL, NULL, version, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  return exports;
}
