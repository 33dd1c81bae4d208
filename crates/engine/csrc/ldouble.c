/*
 * Flint's C shim for the floating-point behaviour that must match redis-server bit for bit:
 *
 *   - `long double` (x87 80-bit extended precision on x86-64) parsing with strtold, addition and
 *     "%.17Lf" formatting, as used by Redis's INCRBYFLOAT / HINCRBYFLOAT;
 *   - double parsing with strtod under Redis's string2d acceptance rules.
 *
 * Rust has no `long double` type, so values cross the FFI boundary as opaque 16-byte blobs
 * (FLINT_LD_SIZE) that only this file interprets; they are always copied with memcpy, so the
 * Rust side's buffers need no particular alignment. Nothing here keeps state or allocates.
 */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Size of the opaque blob that carries one long double across the FFI boundary. */
#define FLINT_LD_SIZE 16

/* Redis's MAX_LONG_DOUBLE_CHARS: string2ld rejects inputs of this length or more. */
#define FLINT_MAX_LONG_DOUBLE_CHARS (5 * 1024)

_Static_assert(sizeof(long double) <= FLINT_LD_SIZE, "long double does not fit the FFI blob");

static long double ld_load(const unsigned char *src) {
    long double v;
    memcpy(&v, src, sizeof v);
    return v;
}

static void ld_store(unsigned char *dst, long double v) {
    memset(dst, 0, FLINT_LD_SIZE);
    memcpy(dst, &v, sizeof v);
}

/*
 * Redis string2ld: parse s[0..len) (not NUL-terminated, may contain NULs) as a long double.
 * Rejects empty input, len >= 5120, a leading isspace() byte, anything strtold does not consume
 * entirely (so any NUL byte fails), overflow to +-inf, underflow to zero, and NaN.
 * On success stores the value in out[0..16) and returns 1; otherwise returns 0.
 */
int flint_ld_parse(const unsigned char *s, size_t len, unsigned char *out) {
    char buf[FLINT_MAX_LONG_DOUBLE_CHARS];
    char *eptr = NULL;
    long double value;

    if (s == NULL || out == NULL) return 0;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';

    errno = 0;
    value = strtold(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || eptr == NULL || eptr[0] != '\0' ||
        (size_t)(eptr - buf) != len ||
        (errno == ERANGE && (isinf(value) || value == 0)) ||
        errno == EINVAL ||
        isnan(value))
        return 0;

    ld_store(out, value);
    return 1;
}

/* Stores (long double)v in out[0..16). Exact for every 64-bit integer. */
void flint_ld_from_i64(long long v, unsigned char *out) {
    if (out == NULL) return;
    ld_store(out, (long double)v);
}

/* out = a + b, in long double arithmetic. */
void flint_ld_add(const unsigned char *a, const unsigned char *b, unsigned char *out) {
    if (a == NULL || b == NULL || out == NULL) return;
    ld_store(out, ld_load(a) + ld_load(b));
}

/* 0: finite, 1: +inf, 2: -inf, 3: NaN. */
int flint_ld_classify(const unsigned char *a) {
    long double v;
    if (a == NULL) return 3;
    v = ld_load(a);
    if (isnan(v)) return 3;
    if (isinf(v)) return v > 0 ? 1 : 2;
    return 0;
}

/*
 * snprintf(buf, len, "%.17Lf", value): returns what snprintf returns (the full length the output
 * needs, which is >= len when it was truncated), or -1 on error.
 */
int flint_ld_format_fixed17(const unsigned char *a, char *buf, size_t len) {
    if (a == NULL || buf == NULL || len == 0) return -1;
    return snprintf(buf, len, "%.17Lf", ld_load(a));
}

/*
 * Redis string2d on a buffer whose byte s[len] is NUL (the caller guarantees it, and that no NUL
 * occurs before it). Rejects empty input, a leading isspace() byte, anything strtod does not
 * consume entirely, overflow to +-HUGE_VAL, underflow to zero, and NaN. Stores the value in *out
 * and returns 1 on success; returns 0 otherwise.
 */
int flint_string2d(const char *s, size_t len, double *out) {
    char *eptr = NULL;
    double value;

    if (s == NULL || out == NULL || len == 0) return 0;
    errno = 0;
    value = strtod(s, &eptr);
    if (isspace((unsigned char)s[0]) || eptr == NULL ||
        (size_t)(eptr - s) != len ||
        (errno == ERANGE &&
            (value == HUGE_VAL || value == -HUGE_VAL || fpclassify(value) == FP_ZERO)) ||
        isnan(value))
        return 0;
    *out = value;
    return 1;
}
