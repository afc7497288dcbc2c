/* Native scanner for Claude Code transcripts: the hot loop of podium.usage.ingest.
 *
 * scan_claude() reads a file from an offset with pread (GIL released), finds complete lines
 * containing the needle (memmem), validates each such line as strict JSON + UTF-8 and pulls out
 * only the fields Podium keeps, producing the same row tuple as
 * ClaudeCodeAdapter.parse_line(...).as_row(...).
 *
 * It never decides an error and never guesses: any line it does not fully understand (invalid
 * JSON or UTF-8, escapes inside a field it extracts, a non-integer token count, a duplicate key,
 * an unusual timestamp, very deep nesting, huge numbers ...) comes back as (offset, bytes) and
 * the Python parser handles it, so malformed-line counts and edge cases stay in one place. The
 * invariant the tests check: whatever this accepts, orjson + parse_line accepts with the same
 * result.
 */
#define _GNU_SOURCE /* memmem, memrchr */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_DEPTH 256
#define ESCAPE "\\u00" /* + '2'..'7': a \u escape of a printable ASCII character */
#define PREFETCH_THREADS 4 /* at most; Prefetcher(threads=...) picks how many */

enum { T_NONE = 0, T_STR, T_STRESC, T_INT, T_NUM, T_TRUE, T_FALSE, T_NULL, T_OBJ, T_ARR };

enum {
    F_TS, F_SESSION, F_CWD, F_REQ, F_SIDE, F_COST, F_MSG,          /* top level */
    F_MID, F_MODEL, F_USAGE,                                       /* message */
    F_IN, F_OUT, F_CC, F_CR, F_SPLIT, F_SPEED,                     /* usage */
    F_5M, F_1H,                                                    /* usage.cache_creation */
    NF
};

enum { L_TOP, L_MSG, L_USAGE, L_SPLIT, L_OTHER };

typedef struct {
    const unsigned char *s; /* string contents (without quotes) or number text */
    Py_ssize_t n;
    int t;
    long long iv;
} Val;

typedef struct {
    const unsigned char *p, *end;
    Val v[NF];
} Parser;

/* The numbers a row may carry: podium.usage.adapters.base decides them and hands them over
 * with set_bounds() at import. Until then nothing is in range, so every usage line goes to
 * Python. A value outside them is never guessed at here: its line goes to Python, which counts
 * it as out of range. */
static long long B_TOKENS_MAX = -1, B_TS_MIN = 0, B_TS_MAX = 0;
static int B_COST_DIGITS = 0; /* costUSD taken here only below 10^B_COST_DIGITS, non-negative */

/* bytes that end the fast path inside a string: quote, backslash, control, non-ASCII */
static unsigned char STR_SPECIAL[256];

static void init_tables(void) {
    for (int c = 0; c < 256; c++)
        STR_SPECIAL[c] = (c < 0x20 || c == '"' || c == '\\' || c >= 0x80);
}

static inline void skip_ws(Parser *ps) {
    const unsigned char *p = ps->p, *end = ps->end;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    ps->p = p;
}

/* length of a valid UTF-8 sequence (RFC 3629: no overlongs, no surrogates) or 0 */
static inline int utf8_len(const unsigned char *p, const unsigned char *end) {
    unsigned c = p[0];
    if (c < 0xC2) return 0;
    if (c < 0xE0) return (end - p >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c < 0xF0) {
        if (end - p < 3) return 0;
        unsigned c1 = p[1];
        if ((c1 & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && c1 < 0xA0) return 0;
        if (c == 0xED && c1 >= 0xA0) return 0;
        return 3;
    }
    if (c < 0xF5) {
        if (end - p < 4) return 0;
        unsigned c1 = p[1];
        if ((c1 & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
        if (c == 0xF0 && c1 < 0x90) return 0;
        if (c == 0xF4 && c1 >= 0x90) return 0;
        return 4;
    }
    return 0;
}

static inline int hex4(const unsigned char *p) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    return v;
}

/* first byte at or after p that is special inside a string (or end) */
static inline const unsigned char *skip_plain(const unsigned char *p, const unsigned char *end) {
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)p);
        /* signed compare: control bytes and bytes >= 0x80 (negative) are both < 0x20 */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                                 _mm_cmplt_epi8(x, space));
        int mask = _mm_movemask_epi8(m);
        if (mask) return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    while (p < end && !STR_SPECIAL[*p]) p++;
    return p;
}

/* at the opening quote; on success ps->p is past the closing quote */
static int parse_string(Parser *ps, Val *out) {
    const unsigned char *p = ps->p + 1, *end = ps->end;
    const unsigned char *start = p;
    int esc = 0;
    for (;;) {
        p = skip_plain(p, end);
        if (p >= end) return -1;
        unsigned c = *p;
        if (c == '"') break;
        if (c == '\\') {
            esc = 1;
            if (end - p < 2) return -1;
            c = p[1];
            if (c == 'u') {
                if (end - p < 6) return -1;
                int cp = hex4(p + 2);
                if (cp < 0) return -1;
                if (cp >= 0xDC00 && cp <= 0xDFFF) return -1; /* lone low surrogate */
                if (cp >= 0xD800 && cp <= 0xDBFF) {          /* must be a pair */
                    if (end - p < 12 || p[6] != '\\' || p[7] != 'u') return -1;
                    int lo = hex4(p + 8);
                    if (lo < 0xDC00 || lo > 0xDFFF) return -1;
                    p += 12;
                } else {
                    p += 6;
                }
                continue;
            }
            switch (c) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                p += 2;
                continue;
            default:
                return -1;
            }
        }
        if (c < 0x20) return -1;
        int n = utf8_len(p, end);
        if (!n) return -1;
        p += n;
    }
    if (out) {
        out->s = start;
        out->n = p - start;
        out->t = esc ? T_STRESC : T_STR;
    }
    ps->p = p + 1;
    return 0;
}

static int parse_number(Parser *ps, Val *out) {
    const unsigned char *p = ps->p, *end = ps->end, *start = p;
    int neg = 0, is_int = 1;
    if (*p == '-') { neg = 1; p++; }
    if (p >= end) return -1;
    const unsigned char *digits = p;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') { while (p < end && *p >= '0' && *p <= '9') p++; }
    else return -1;
    Py_ssize_t ndigits = p - digits;
    if (p < end && *p == '.') {
        is_int = 0;
        p++;
        if (!(p < end && *p >= '0' && *p <= '9')) return -1;
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        is_int = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        const unsigned char *e = p;
        if (!(p < end && *p >= '0' && *p <= '9')) return -1;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p - e > 2) return -1; /* leave overflow/underflow questions to Python */
    }
    if (ndigits > 18) return -1; /* beyond int64 territory: Python decides */
    if (out) {
        out->s = start;
        out->n = p - start;
        out->t = is_int ? T_INT : T_NUM;
        if (is_int) {
            long long v = 0;
            for (const unsigned char *q = digits; q < digits + ndigits; q++) v = v * 10 + (*q - '0');
            out->iv = neg ? -v : v;
        }
    }
    ps->p = p;
    return 0;
}

static int parse_value(Parser *ps, Val *out, int depth, int level);

#define KEY_IS(lit) (klen == (Py_ssize_t)(sizeof(lit) - 1) && memcmp(k, lit, sizeof(lit) - 1) == 0)

static int field_for(int level, const unsigned char *k, Py_ssize_t klen, int *child) {
    *child = L_OTHER;
    switch (level) {
    case L_TOP:
        if (KEY_IS("timestamp")) return F_TS;
        if (KEY_IS("sessionId")) return F_SESSION;
        if (KEY_IS("cwd")) return F_CWD;
        if (KEY_IS("requestId")) return F_REQ;
        if (KEY_IS("isSidechain")) return F_SIDE;
        if (KEY_IS("costUSD")) return F_COST;
        if (KEY_IS("message")) { *child = L_MSG; return F_MSG; }
        return -1;
    case L_MSG:
        if (KEY_IS("id")) return F_MID;
        if (KEY_IS("model")) return F_MODEL;
        if (KEY_IS("usage")) { *child = L_USAGE; return F_USAGE; }
        return -1;
    case L_USAGE:
        if (KEY_IS("input_tokens")) return F_IN;
        if (KEY_IS("output_tokens")) return F_OUT;
        if (KEY_IS("cache_creation_input_tokens")) return F_CC;
        if (KEY_IS("cache_read_input_tokens")) return F_CR;
        if (KEY_IS("cache_creation")) { *child = L_SPLIT; return F_SPLIT; }
        if (KEY_IS("speed")) return F_SPEED;
        return -1;
    case L_SPLIT:
        if (KEY_IS("ephemeral_5m_input_tokens")) return F_5M;
        if (KEY_IS("ephemeral_1h_input_tokens")) return F_1H;
        return -1;
    default:
        return -1;
    }
}

/* at '{' */
static int parse_object(Parser *ps, int depth, int level) {
    if (depth > MAX_DEPTH) return -1;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') { ps->p++; return 0; }
    for (;;) {
        if (ps->p >= ps->end || *ps->p != '"') return -1;
        Val key;
        if (parse_string(ps, &key) < 0) return -1;
        int fi = -1, child = L_OTHER;
        if (level != L_OTHER) {
            if (key.t == T_STRESC) return -1; /* an escaped key might spell a field we track */
            fi = field_for(level, key.s, key.n, &child);
        }
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') return -1;
        ps->p++;
        skip_ws(ps);
        if (fi >= 0) {
            if (ps->v[fi].t != T_NONE) return -1; /* duplicate key: Python decides which wins */
            if (parse_value(ps, &ps->v[fi], depth + 1, child) < 0) return -1;
        } else {
            if (parse_value(ps, NULL, depth + 1, L_OTHER) < 0) return -1;
        }
        skip_ws(ps);
        if (ps->p >= ps->end) return -1;
        if (*ps->p == ',') { ps->p++; skip_ws(ps); continue; }
        if (*ps->p == '}') { ps->p++; return 0; }
        return -1;
    }
}

static int parse_array(Parser *ps, int depth) {
    if (depth > MAX_DEPTH) return -1;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') { ps->p++; return 0; }
    for (;;) {
        if (parse_value(ps, NULL, depth + 1, L_OTHER) < 0) return -1;
        skip_ws(ps);
        if (ps->p >= ps->end) return -1;
        if (*ps->p == ',') { ps->p++; skip_ws(ps); continue; }
        if (*ps->p == ']') { ps->p++; return 0; }
        return -1;
    }
}

static inline int literal(Parser *ps, const char *lit, Py_ssize_t n) {
    if (ps->end - ps->p < n || memcmp(ps->p, lit, n) != 0) return -1;
    ps->p += n;
    return 0;
}

static int parse_value(Parser *ps, Val *out, int depth, int level) {
    if (ps->p >= ps->end) return -1;
    unsigned c = *ps->p;
    int t;
    switch (c) {
    case '"':
        return parse_string(ps, out);
    case '{':
        if (parse_object(ps, depth, level) < 0) return -1;
        t = T_OBJ;
        break;
    case '[':
        if (parse_array(ps, depth) < 0) return -1;
        t = T_ARR;
        break;
    case 't':
        if (literal(ps, "true", 4) < 0) return -1;
        t = T_TRUE;
        break;
    case 'f':
        if (literal(ps, "false", 5) < 0) return -1;
        t = T_FALSE;
        break;
    case 'n':
        if (literal(ps, "null", 4) < 0) return -1;
        t = T_NULL;
        break;
    default:
        return parse_number(ps, out);
    }
    if (out) out->t = t;
    return 0;
}

/* ---- semantics of ClaudeCodeAdapter.parse_line ---------------------------------------------- */

enum { R_ROW, R_SKIP, R_FALLBACK };

static int days_in_month(int y, int m) {
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return d[m - 1];
}

static long long days_from_civil(long long y, unsigned m, unsigned d) {
    y -= m <= 2;
    const long long era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static inline int dig(const unsigned char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* `YYYY-MM-DDTHH:MM:SS[.mmm](Z|+00:00)` → ms since epoch; anything else is left to Python */
static int parse_ts(const unsigned char *s, Py_ssize_t n, long long *ms) {
    int y, mo, d, h, mi, sec, frac = 0;
    if (n < 20) return -1;
    if (dig(s, 4, &y) || s[4] != '-' || dig(s + 5, 2, &mo) || s[7] != '-' || dig(s + 8, 2, &d) ||
        s[10] != 'T' || dig(s + 11, 2, &h) || s[13] != ':' || dig(s + 14, 2, &mi) ||
        s[16] != ':' || dig(s + 17, 2, &sec))
        return -1;
    Py_ssize_t i = 19;
    if (s[i] == '.') {
        if (n < i + 4 || dig(s + i + 1, 3, &frac)) return -1;
        i += 4;
    }
    if (!(n - i == 1 && s[i] == 'Z') && !(n - i == 6 && memcmp(s + i, "+00:00", 6) == 0))
        return -1;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 59)
        return -1;
    *ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL + frac;
    return 0;
}

static inline int tokens_ok(const Val *v) {
    return v->t != T_INT || (v->iv >= 0 && v->iv <= B_TOKENS_MAX);
}

/* a costUSD number this side may convert: at most 63 bytes (build_row's buffer), no sign, at
 * most B_COST_DIGITS integer digits, no positive exponent; the rest is Python's to read */
static int cost_ok(const Val *v) {
    if (v->n > 63 || v->n < 1 || v->s[0] == '-') return 0;
    Py_ssize_t i = 0;
    while (i < v->n && v->s[i] >= '0' && v->s[i] <= '9') i++;
    if (i > B_COST_DIGITS) return 0;
    for (; i < v->n; i++)
        if (v->s[i] == 'e' || v->s[i] == 'E') return i + 1 < v->n && v->s[i + 1] == '-';
    return 1;
}

/* the tokens fields: absent → 0 where allowed, integers only (else Python decides) */
static inline int token(const Val *v, int required, long long *out) {
    if (v->t == T_NONE && !required) { *out = 0; return 0; }
    if (v->t != T_INT) return -1;
    *out = v->iv;
    return 0;
}

static int classify(Parser *ps, long long *ts) {
    Val *v = ps->v;
    if (v[F_MSG].t != T_OBJ || v[F_USAGE].t != T_OBJ) return R_SKIP;
    if (v[F_MODEL].t == T_STRESC) return R_FALLBACK;
    if (v[F_MODEL].t == T_STR && v[F_MODEL].n == 11 && memcmp(v[F_MODEL].s, "<synthetic>", 11) == 0)
        return R_SKIP;
    if (v[F_TS].t != T_STR || parse_ts(v[F_TS].s, v[F_TS].n, ts) < 0) return R_FALLBACK;
    if (*ts < B_TS_MIN || *ts >= B_TS_MAX) return R_FALLBACK;
    /* build_row converts the cost text in a 64-byte buffer: longer numbers (however many
     * digits a writer chose) are Python's to read, never cut short */
    if ((v[F_COST].t == T_INT || v[F_COST].t == T_NUM) && !cost_ok(&v[F_COST])) return R_FALLBACK;
    if (v[F_IN].t != T_INT || v[F_OUT].t != T_INT) return R_FALLBACK;
    if ((v[F_CC].t != T_NONE && v[F_CC].t != T_INT) || (v[F_CR].t != T_NONE && v[F_CR].t != T_INT))
        return R_FALLBACK;
    if (!tokens_ok(&v[F_IN]) || !tokens_ok(&v[F_OUT]) || !tokens_ok(&v[F_CC]) ||
        !tokens_ok(&v[F_CR]))
        return R_FALLBACK;
    if (v[F_SPLIT].t == T_OBJ) {
        for (int f = F_5M; f <= F_1H; f++)
            if ((v[f].t != T_NONE && v[f].t != T_NULL && v[f].t != T_INT) || !tokens_ok(&v[f]))
                return R_FALLBACK;
    }
    if (!(v[F_MID].t == T_STR && v[F_MID].n > 0) && v[F_REQ].t != T_NONE &&
        v[F_REQ].t != T_NULL && v[F_REQ].t != T_STR)
        return R_FALLBACK; /* kept raw then: only strings are handled here */
    if (v[F_MID].t == T_STRESC || v[F_REQ].t == T_STRESC || v[F_SESSION].t == T_STRESC ||
        v[F_CWD].t == T_STRESC || v[F_SPEED].t == T_STRESC)
        return R_FALLBACK;
    return R_ROW;
}

/* ---- building Python objects ---------------------------------------------------------------- */

static PyObject *str_or_none(const Val *v) {
    if (v->t == T_STR) return PyUnicode_DecodeUTF8((const char *)v->s, v->n, NULL);
    Py_RETURN_NONE;
}

static PyObject *nonempty_or_none(const Val *v) {
    if (v->t == T_STR && v->n > 0) return PyUnicode_DecodeUTF8((const char *)v->s, v->n, NULL);
    Py_RETURN_NONE;
}

typedef struct {
    PyObject *file_id, *project, *adapter, *session_fallback, *path;
} FileCtx;

/* the row tuple of UsageEntry.as_row(file_id, adapter); NULL on a Python error */
static PyObject *build_row(Parser *ps, long long ts, long long line_offset, const FileCtx *fc) {
    Val *v = ps->v;
    long long in = v[F_IN].iv, out = v[F_OUT].iv, cc = 0, cr = 0;
    token(&v[F_CC], 0, &cc);
    token(&v[F_CR], 0, &cr);
    PyObject *row = PyTuple_New(20);
    if (!row) return NULL;
    PyObject *session, *mid, *req, *key = NULL;
    session = nonempty_or_none(&v[F_SESSION]);
    if (session == Py_None) { Py_DECREF(session); Py_INCREF(fc->session_fallback); session = fc->session_fallback; }
    mid = nonempty_or_none(&v[F_MID]);
    req = nonempty_or_none(&v[F_REQ]);
    if (!session || !mid || !req) goto fail_parts;
    if (mid == Py_None) {
        /* parse_line keeps the raw requestId when there is no message id ("" included) */
        Py_DECREF(req);
        req = str_or_none(&v[F_REQ]);
        if (!req) goto fail_parts;
        key = PyUnicode_FromFormat("@%U:%lld", fc->path, line_offset);
    } else if (req != Py_None) {
        key = PyUnicode_FromFormat("%U:%U", mid, req);
    } else {
        PyObject *ts_raw = PyUnicode_DecodeUTF8((const char *)v[F_TS].s, v[F_TS].n, NULL);
        if (ts_raw) {
            key = PyUnicode_FromFormat("%U:~%U:%U", mid, session, ts_raw);
            Py_DECREF(ts_raw);
        }
    }
    if (!key) goto fail_parts;
    PyObject *c5m, *c1h;
    if (v[F_SPLIT].t == T_OBJ) {
        c5m = PyLong_FromLongLong(v[F_5M].t == T_INT ? v[F_5M].iv : 0);
        c1h = PyLong_FromLongLong(v[F_1H].t == T_INT ? v[F_1H].iv : 0);
    } else {
        c5m = Py_None; Py_INCREF(c5m);
        c1h = Py_None; Py_INCREF(c1h);
    }
    PyObject *cost;
    if (v[F_COST].t == T_INT || v[F_COST].t == T_NUM) {
        char buf[64];
        Py_ssize_t n = v[F_COST].n < 63 ? v[F_COST].n : 63;
        memcpy(buf, v[F_COST].s, n);
        buf[n] = 0;
        double d = PyOS_string_to_double(buf, NULL, NULL);
        cost = (d == -1.0 && PyErr_Occurred()) ? NULL : PyFloat_FromDouble(d);
    } else {
        cost = Py_None; Py_INCREF(cost);
    }
    Py_INCREF(fc->file_id);
    Py_INCREF(fc->project);
    Py_INCREF(fc->adapter);
    PyTuple_SET_ITEM(row, 0, key);
    PyTuple_SET_ITEM(row, 1, fc->file_id);
    PyTuple_SET_ITEM(row, 2, PyLong_FromLongLong(ts));
    PyTuple_SET_ITEM(row, 3, session);
    PyTuple_SET_ITEM(row, 4, str_or_none(&v[F_CWD]));
    PyTuple_SET_ITEM(row, 5, fc->project);
    PyTuple_SET_ITEM(row, 6, str_or_none(&v[F_MODEL]));
    PyTuple_SET_ITEM(row, 7, PyLong_FromLongLong(in));
    PyTuple_SET_ITEM(row, 8, PyLong_FromLongLong(out));
    PyTuple_SET_ITEM(row, 9, PyLong_FromLongLong(cc));
    PyTuple_SET_ITEM(row, 10, PyLong_FromLongLong(cr));
    PyTuple_SET_ITEM(row, 11, c5m);
    PyTuple_SET_ITEM(row, 12, c1h);
    PyTuple_SET_ITEM(row, 13, PyLong_FromLongLong(in + out + cc + cr));
    PyTuple_SET_ITEM(row, 14, mid);
    PyTuple_SET_ITEM(row, 15, req);
    PyTuple_SET_ITEM(row, 16, cost);
    PyTuple_SET_ITEM(row, 17, str_or_none(&v[F_SPEED]));
    PyTuple_SET_ITEM(row, 18, fc->adapter);
    PyTuple_SET_ITEM(row, 19, PyLong_FromLong(v[F_SIDE].t == T_TRUE));
    for (int i = 0; i < 20; i++)
        if (!PyTuple_GET_ITEM(row, i)) { Py_DECREF(row); return NULL; }
    return row;
fail_parts:
    Py_XDECREF(session);
    Py_XDECREF(mid);
    Py_XDECREF(req);
    Py_DECREF(row);
    return NULL;
}

/* ---- the file loop -------------------------------------------------------------------------- */

typedef struct {
    int kind;
    long long offset;     /* absolute offset of the line's first byte */
    Py_ssize_t start, len; /* the line within the buffer (without the newline) */
    long long ts;
    Val v[NF];
} Hit;

typedef struct {
    Hit *items;
    Py_ssize_t n, cap;
} Hits;

static int hits_push(Hits *h) {
    if (h->n == h->cap) {
        Py_ssize_t cap = h->cap ? h->cap * 2 : 256;
        Hit *items = realloc(h->items, cap * sizeof(Hit));
        if (!items) return -1;
        h->items = items;
        h->cap = cap;
    }
    h->n++;
    return 0;
}

static inline int is_escape(const unsigned char *p) {
    return p[0] == '\\' && p[1] == 'u' && p[2] == '0' && p[3] == '0' && p[4] >= '2' && p[4] <= '7';
}

/* the first \u escape of a printable ASCII character (\u0020-\u007f) in hay[0:n) starting
 * before `limit`, or NULL */
static const unsigned char *find_escape(const unsigned char *hay, Py_ssize_t n,
                                        const unsigned char *limit) {
    const unsigned char *p = hay, *end = hay + n;
    while (p < limit) {
        const unsigned char *e = memmem(p, end - p, ESCAPE, 4);
        if (!e || e >= limit) return NULL;
        if (e + 4 < end && e[4] >= '2' && e[4] <= '7') return e;
        p = e + 1;
    }
    return NULL;
}

/* Where the next line to parse is found in hay[0:n): the needle, or a \u escape of a printable
 * ASCII character, whichever comes first (NULL: neither). With SSE2 both are looked for in one
 * pass: candidates are positions where two bytes of the needle match (its second and its third
 * from last: for "usage", `u` and `g`), or a backslash before a `u`. */
static const unsigned char *find_candidate(const unsigned char *hay, Py_ssize_t n,
                                           const unsigned char *needle, Py_ssize_t k) {
    Py_ssize_t i = 0;
#ifdef __SSE2__
    if (k >= 5) {
        /* two bytes inside the key, away from its quotes (quotes are everywhere in JSON) */
        const Py_ssize_t fa = 1, fb = k - 3;
        const Py_ssize_t span = k > 5 ? k : 5; /* bytes a candidate is checked over */
        const __m128i na = _mm_set1_epi8((char)needle[fa]), nb = _mm_set1_epi8((char)needle[fb]);
        const __m128i bslash = _mm_set1_epi8('\\'), u = _mm_set1_epi8('u');
        for (; i + 16 + span <= n; i += 16) {
            const unsigned char *q = hay + i;
            const __m128i second = _mm_loadu_si128((const __m128i *)(q + fa)); /* fa == 1 */
            __m128i m1 = _mm_and_si128(
                _mm_cmpeq_epi8(second, na),
                _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(q + fb)), nb));
            __m128i m2 = _mm_and_si128(
                _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)q), bslash),
                _mm_cmpeq_epi8(second, u));
            int mask = _mm_movemask_epi8(_mm_or_si128(m1, m2));
            while (mask) {
                const unsigned char *p = q + __builtin_ctz(mask);
                if (memcmp(p, needle, k) == 0 || is_escape(p)) return p;
                mask &= mask - 1;
            }
        }
    }
#endif
    /* the rest (all of it without SSE2): the needle, then an escape only before it */
    const unsigned char *hit = i < n ? memmem(hay + i, n - i, needle, k) : NULL;
    const unsigned char *esc = find_escape(hay + i, n - i, hit ? hit : hay + n);
    return esc ? esc : hit;
}

/* scan buf[0:len) (complete lines); no Python calls, runs without the GIL.
 * A line is parsed when it holds the needle or a \u escape of an ASCII character: a key can
 * be spelled with escapes ("us\u0061ge"), and those are the only spellings of an ASCII key
 * without its literal bytes, so no line that parses to usage is passed over. */
static int scan_region(const unsigned char *buf, Py_ssize_t len, long long base,
                       const unsigned char *needle, Py_ssize_t nlen, Hits *hits) {
    Py_ssize_t pos = 0;
    while (pos < len) {
        const unsigned char *hit = find_candidate(buf + pos, len - pos, needle, nlen);
        if (!hit) break;
        const unsigned char *ls = memrchr(buf + pos, '\n', hit - (buf + pos));
        ls = ls ? ls + 1 : buf + pos;
        const unsigned char *le = memchr(hit, '\n', (buf + len) - hit);
        if (!le) le = buf + len;
        if (hits_push(hits) < 0) return -1;
        Hit *h = &hits->items[hits->n - 1];
        memset(h, 0, sizeof(Hit));
        h->offset = base + (ls - buf);
        h->start = ls - buf;
        h->len = le - ls;
        Parser ps;
        memset(&ps, 0, sizeof(ps));
        ps.p = ls;
        ps.end = le;
        skip_ws(&ps);
        int ok = ps.p < ps.end && *ps.p == '{' && parse_object(&ps, 0, L_TOP) == 0;
        if (ok) {
            skip_ws(&ps);
            ok = ps.p == ps.end;
        }
        if (!ok) {
            h->kind = R_FALLBACK;
        } else {
            h->kind = classify(&ps, &h->ts);
            memcpy(h->v, ps.v, sizeof(ps.v));
        }
        pos = (le - buf) + 1;
    }
    return 0;
}

/* turn one region's hits into Python items appended to `items` */
static int emit(PyObject *items, const unsigned char *buf, Hits *hits, const FileCtx *fc) {
    for (Py_ssize_t i = 0; i < hits->n; i++) {
        Hit *h = &hits->items[i];
        PyObject *item = NULL;
        if (h->kind == R_SKIP) continue;
        if (h->kind == R_ROW) {
            Parser ps;
            memcpy(ps.v, h->v, sizeof(ps.v));
            item = build_row(&ps, h->ts, h->offset, fc);
        } else {
            const unsigned char *line = buf + h->start;
            Py_ssize_t n = h->len;
            if (n && line[n - 1] == '\r') n--;
            item = Py_BuildValue("(Ly#)", h->offset, (const char *)line, n);
        }
        if (!item) return -1;
        int rc = PyList_Append(items, item);
        Py_DECREF(item);
        if (rc < 0) return -1;
    }
    hits->n = 0;
    return 0;
}

/* ---- the read loop, shared by scan_claude (caller's thread) and the Prefetcher's thread ---- */

typedef struct {
    long long offset, limit, max_line, chunk_size;
    long long end; /* never read at or past this offset (< 0: until EOF) */
    const unsigned char *needle;
    Py_ssize_t nlen;
} ScanArgs;

/* Called with each region of complete lines, buf[from:end), already scanned into `hits`. It
 * may take ownership of the buffer (sets *buf = NULL: the loop continues in a new one) and of
 * hits->items (resets *hits). Returns -1 on failure (a Python error is set when `gil`). */
typedef int (*region_fn)(void *ctx, unsigned char **buf, Py_ssize_t from, Py_ssize_t end,
                         Py_ssize_t filled, Hits *hits);

typedef struct {
    long long new_offset, oversized;
    int eof;
    int err; /* errno of a failed read (no Python error set) */
} LoopOut;

/* Read complete lines from a->offset until EOF or until at least a->limit bytes were consumed.
 * With `gil` the caller holds the GIL, which is released around reads and scans; without it
 * (a plain thread) nothing here touches Python. Returns 0, or -1 on failure: with `gil` a
 * Python error is set; without, out->err holds ENOMEM or the sink failed. */
static int read_loop(int fd, const ScanArgs *a, int gil, region_fn sink, void *ctx, LoopOut *out) {
    long long offset = a->offset, limit = a->limit, max_line = a->max_line;
    /* never more than max_line + 1 bytes: a longer line can't complete in the buffer, so it
     * always takes the skip path and is counted once as oversized */
    Py_ssize_t cap = (Py_ssize_t)(a->chunk_size < max_line + 1 ? a->chunk_size : max_line + 1);
    unsigned char *buf = malloc(cap);
    Hits hits = {NULL, 0, 0};
    memset(out, 0, sizeof(*out));
    if (!buf) {
        if (gil) PyErr_NoMemory(); else out->err = ENOMEM;
        return -1;
    }
    long long bufpos = offset;  /* file offset of buf[0] */
    Py_ssize_t have = 0;        /* bytes in buf */
    long long skip_start = 0;   /* where the oversized line being skipped began */
    int eof = 0, skipping = 0, fail = 0;
    while (!eof && (skipping || bufpos - offset < limit)) {
        ssize_t n;
        Py_ssize_t want = cap - have;
        if (a->end >= 0) { /* the size the caller saw: a file that keeps growing can't hold us */
            long long room = a->end - (bufpos + have);
            if (room <= 0) { eof = 1; break; }
            if (room < want) want = (Py_ssize_t)room;
        }
        PyThreadState *ts = gil ? PyEval_SaveThread() : NULL;
        do {
            n = pread(fd, buf + have, want, bufpos + have);
        } while (n < 0 && errno == EINTR);
        int read_errno = errno;
        if (gil) PyEval_RestoreThread(ts);
        if (n < 0) { out->err = read_errno; break; }
        if (n == 0) { eof = 1; break; }
        Py_ssize_t filled = have + n;
        Py_ssize_t from = 0;
        if (skipping) { /* inside an oversized line: drop bytes until its newline */
            const unsigned char *nl = memchr(buf + have, '\n', n);
            if (!nl) { bufpos += filled; have = 0; continue; }
            skipping = 0;
            out->oversized++;
            from = nl - buf + 1;
        }
        /* buf[from:have] is a pending partial line: only the new bytes can hold a newline */
        Py_ssize_t fresh = have > from ? have : from;
        const unsigned char *last = memrchr(buf + fresh, '\n', filled - fresh);
        if (!last) {
            Py_ssize_t pending = filled - from;
            memmove(buf, buf + from, pending);
            bufpos += from;
            have = pending;
            if (have == cap) {
                if (have > max_line) { /* too long to keep: skip it, streaming */
                    skipping = 1;
                    skip_start = bufpos;
                    bufpos += have;
                    have = 0;
                } else {
                    Py_ssize_t ncap = cap * 2;
                    if (ncap > max_line + 1) ncap = (Py_ssize_t)max_line + 1;
                    if (ncap <= cap) ncap = cap + 1;
                    unsigned char *nb = realloc(buf, ncap);
                    if (!nb) {
                        if (gil) PyErr_NoMemory(); else out->err = ENOMEM;
                        fail = 1;
                        break;
                    }
                    buf = nb;
                    cap = ncap;
                }
            }
            continue;
        }
        Py_ssize_t end = last - buf + 1;
        int rc;
        ts = gil ? PyEval_SaveThread() : NULL;
        rc = scan_region(buf + from, end - from, bufpos + from, a->needle, a->nlen, &hits);
        if (gil) PyEval_RestoreThread(ts);
        if (rc < 0) {
            if (gil) PyErr_NoMemory(); else out->err = ENOMEM;
            fail = 1;
            break;
        }
        unsigned char *held = buf;
        if (sink(ctx, &buf, from, end, filled, &hits) < 0) { fail = 1; break; }
        Py_ssize_t rest = filled - end;
        if (!buf) { /* the sink kept the buffer: carry the partial line over to a new one */
            buf = malloc(cap);
            if (!buf) {
                if (gil) PyErr_NoMemory(); else out->err = ENOMEM;
                fail = 1;
                break;
            }
            memcpy(buf, held + end, rest);
        } else {
            memmove(buf, buf + end, rest);
        }
        bufpos += end;
        have = rest;
    }
    free(buf);
    free(hits.items);
    if (fail) return -1;
    /* an oversized line still being skipped at EOF stays unconsumed (it may yet grow) */
    out->new_offset = skipping ? skip_start : bufpos;
    out->eof = eof;
    return 0;
}

/* ---- scan_claude: one call, one file, in the caller's thread -------------------------------- */

typedef struct {
    PyObject *items;
    const FileCtx *fc;
} EmitCtx;

static int emit_sink(void *ctx, unsigned char **buf, Py_ssize_t from, Py_ssize_t end,
                     Py_ssize_t filled, Hits *hits) {
    EmitCtx *ec = ctx;
    (void)end; (void)filled;
    return emit(ec->items, *buf + from, hits, ec->fc);
}

PyDoc_STRVAR(scan_claude_doc,
"scan_claude(fd, offset, limit, max_line, chunk_size, needle, file_id, project, adapter,\n"
"            session_fallback, path, end=-1) -> (items, new_offset, oversized, eof)\n\n"
"Read complete lines from `offset` until EOF (or offset `end` when >= 0) or until at least\n"
"`limit` bytes were consumed.\n"
"items holds, in line order, a row tuple (UsageEntry.as_row) per usage line understood here\n"
"and an (offset, line_bytes) pair per line the Python parser must decide. new_offset is just\n"
"past the last complete line consumed; a half-written last line is left for the next call.");

static PyObject *scan_claude(PyObject *Py_UNUSED(self), PyObject *args) {
    int fd;
    ScanArgs a;
    const char *needle;
    FileCtx fc;
    a.end = -1;
    if (!PyArg_ParseTuple(args, "iLLLLy#OOOUU|L", &fd, &a.offset, &a.limit, &a.max_line,
                          &a.chunk_size, &needle, &a.nlen, &fc.file_id, &fc.project, &fc.adapter,
                          &fc.session_fallback, &fc.path, &a.end))
        return NULL;
    /* limit < 1 would return without consuming anything and without EOF: a caller looping
     * until EOF would spin */
    if (a.nlen <= 0 || a.chunk_size < 16 || a.max_line < 1 || a.offset < 0 || a.limit < 1) {
        PyErr_SetString(PyExc_ValueError, "bad scan_claude arguments");
        return NULL;
    }
    a.needle = (const unsigned char *)needle;
    PyObject *items = PyList_New(0);
    if (!items) return NULL;
    EmitCtx ec = {items, &fc};
    LoopOut out;
    if (read_loop(fd, &a, 1, emit_sink, &ec, &out) < 0) { Py_DECREF(items); return NULL; }
    if (out.err) {
        Py_DECREF(items);
        errno = out.err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return Py_BuildValue("(NLLO)", items, out.new_offset, out.oversized,
                         out.eof ? Py_True : Py_False);
}

/* ---- Prefetcher: scans the next files on a plain thread while Python handles this one ------- */

typedef struct Region {
    unsigned char *owned;        /* the read buffer, kept alive for the hits' pointers */
    const unsigned char *base;   /* where the region's lines start in it */
    Hits hits;
    struct Region *next;
} Region;

typedef struct {
    Region *head, *tail;
    LoopOut out;
    size_t held;    /* bytes this job keeps in memory until it is emitted */
    int failed;     /* out of memory in the thread */
    int done;
} JobResult;

typedef struct {
    PyObject_HEAD
    Py_ssize_t njobs, next;
    char **paths;
    ScanArgs *args;
    unsigned char *needle;
    JobResult *results;
    size_t held, max_held;
    int stop, started;        /* started: how many threads run */
    Py_ssize_t next_job;      /* the next job a thread claims */
    pthread_t threads[PREFETCH_THREADS];
    pthread_mutex_t mu;
    pthread_cond_t cv;
} Prefetcher;

static void free_regions(JobResult *r) {
    Region *g = r->head;
    while (g) {
        Region *nx = g->next;
        free(g->owned);
        free(g->hits.items);
        free(g);
        g = nx;
    }
    r->head = r->tail = NULL;
}

/* Keep a region's hits for the consumer: the usage lines alone are copied into one small
 * buffer (their values re-pointed into it), so the read buffer is reused for the next region
 * instead of being handed over (big per-file allocations cost page faults on both threads). */
static int keep_sink(void *ctx, unsigned char **buf, Py_ssize_t from, Py_ssize_t end,
                     Py_ssize_t filled, Hits *hits) {
    JobResult *r = ctx;
    (void)end; (void)filled;
    Py_ssize_t kept = 0, total = 0;
    for (Py_ssize_t i = 0; i < hits->n; i++) {
        if (hits->items[i].kind == R_SKIP) continue;
        kept++;
        total += hits->items[i].len;
    }
    if (kept == 0) { hits->n = 0; return 0; }
    Region *g = malloc(sizeof(Region));
    Hit *items = malloc((size_t)kept * sizeof(Hit));
    unsigned char *copy = malloc(total ? (size_t)total : 1);
    if (!g || !items || !copy) {
        free(g); free(items); free(copy);
        r->out.err = ENOMEM;
        return -1;
    }
    const unsigned char *base = *buf + from;
    Py_ssize_t at = 0, k = 0;
    for (Py_ssize_t i = 0; i < hits->n; i++) {
        Hit *h = &hits->items[i];
        if (h->kind == R_SKIP) continue;
        Hit *c = &items[k++];
        *c = *h;
        const unsigned char *line = base + h->start;
        memcpy(copy + at, line, h->len);
        for (int f = 0; f < NF; f++)
            if (c->v[f].s) c->v[f].s = copy + at + (c->v[f].s - line);
        c->start = at;
        at += h->len;
    }
    g->owned = copy;
    g->base = copy;
    g->hits.items = items;
    g->hits.n = g->hits.cap = kept;
    g->next = NULL;
    hits->n = 0;
    if (r->tail) r->tail->next = g; else r->head = g;
    r->tail = g;
    r->held += (size_t)total + (size_t)kept * sizeof(Hit) + sizeof(Region);
    return 0;
}

/* Each thread claims the next file in order. Past the window (max_held bytes kept and not yet
 * returned by next()) a thread waits, unless its file is one next() is waiting for or about to
 * ask for: the files are returned in order, so those must never wait for later ones. */
static void *prefetch_main(void *arg) {
    Prefetcher *pf = arg;
    for (;;) {
        pthread_mutex_lock(&pf->mu);
        while (!pf->stop && pf->held > pf->max_held && pf->next_job > pf->next)
            pthread_cond_wait(&pf->cv, &pf->mu);
        int stop = pf->stop;
        Py_ssize_t i = pf->next_job;
        if (!stop && i < pf->njobs) pf->next_job++;
        pthread_mutex_unlock(&pf->mu);
        if (stop || i >= pf->njobs) break;
        JobResult *r = &pf->results[i];
        /* never block on a FIFO, never read a device: regular files only (Python checked, but
         * the path may have been replaced since) */
        int fd = open(pf->paths[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        struct stat st;
        if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
            close(fd);
            fd = -1;
            errno = EINVAL;
        }
        if (fd < 0) {
            r->out.err = errno;
        } else {
            if (read_loop(fd, &pf->args[i], 0, keep_sink, r, &r->out) < 0) r->failed = 1;
            close(fd);
        }
        pthread_mutex_lock(&pf->mu);
        r->done = 1;
        pf->held += r->held;
        pthread_cond_broadcast(&pf->cv);
        pthread_mutex_unlock(&pf->mu);
    }
    return NULL;
}

static void Prefetcher_dealloc(Prefetcher *pf) {
    if (pf->started) {
        pthread_mutex_lock(&pf->mu);
        pf->stop = 1;
        pthread_cond_broadcast(&pf->cv);
        pthread_mutex_unlock(&pf->mu);
        Py_BEGIN_ALLOW_THREADS
        for (int t = 0; t < pf->started; t++) pthread_join(pf->threads[t], NULL);
        Py_END_ALLOW_THREADS
    }
    if (pf->results)
        for (Py_ssize_t i = 0; i < pf->njobs; i++) free_regions(&pf->results[i]);
    if (pf->paths)
        for (Py_ssize_t i = 0; i < pf->njobs; i++) free(pf->paths[i]);
    free(pf->paths);
    free(pf->args);
    free(pf->results);
    free(pf->needle);
    if (pf->started) {
        pthread_mutex_destroy(&pf->mu);
        pthread_cond_destroy(&pf->cv);
    }
    Py_TYPE(pf)->tp_free((PyObject *)pf);
}

static PyObject *Prefetcher_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    PyObject *paths, *offsets, *ends = NULL;
    long long limit, max_line, chunk_size, max_held;
    const char *needle;
    Py_ssize_t nlen;
    int nthreads = 1;
    static char *kwlist[] = {"paths", "offsets", "limit", "max_line", "chunk_size", "needle",
                             "max_held", "threads", "ends", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O!LLLy#L|iO", kwlist, &PyList_Type, &paths,
                                     &PyList_Type, &offsets, &limit, &max_line, &chunk_size,
                                     &needle, &nlen, &max_held, &nthreads, &ends))
        return NULL;
    if (ends == Py_None) ends = NULL;
    if (ends && !PyList_Check(ends)) {
        PyErr_SetString(PyExc_TypeError, "ends must be a list or None");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(paths);
    if (nthreads < 1 || nthreads > PREFETCH_THREADS) {
        PyErr_SetString(PyExc_ValueError, "threads must be between 1 and 4");
        return NULL;
    }
    if (PyList_GET_SIZE(offsets) != n || (ends && PyList_GET_SIZE(ends) != n) || nlen <= 0 ||
        chunk_size < 16 || max_line < 1 || max_held < 0 || limit < 1) {
        PyErr_SetString(PyExc_ValueError, "bad Prefetcher arguments");
        return NULL;
    }
    Prefetcher *pf = (Prefetcher *)type->tp_alloc(type, 0);
    if (!pf) return NULL;
    pf->njobs = n;
    pf->max_held = (size_t)max_held;
    pf->paths = calloc(n ? n : 1, sizeof(char *));
    pf->args = calloc(n ? n : 1, sizeof(ScanArgs));
    pf->results = calloc(n ? n : 1, sizeof(JobResult));
    pf->needle = malloc(nlen);
    if (!pf->paths || !pf->args || !pf->results || !pf->needle) {
        Py_DECREF(pf);
        return PyErr_NoMemory();
    }
    memcpy(pf->needle, needle, nlen);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *encoded = NULL;
        if (!PyUnicode_FSConverter(PyList_GET_ITEM(paths, i), &encoded)) { Py_DECREF(pf); return NULL; }
        pf->paths[i] = strdup(PyBytes_AS_STRING(encoded));
        Py_DECREF(encoded);
        long long off = PyLong_AsLongLong(PyList_GET_ITEM(offsets, i));
        if (off == -1 && PyErr_Occurred()) { Py_DECREF(pf); return NULL; }
        if (!pf->paths[i]) { Py_DECREF(pf); return PyErr_NoMemory(); }
        if (off < 0) { Py_DECREF(pf); PyErr_SetString(PyExc_ValueError, "negative offset"); return NULL; }
        long long end = -1;
        if (ends) {
            end = PyLong_AsLongLong(PyList_GET_ITEM(ends, i));
            if (end == -1 && PyErr_Occurred()) { Py_DECREF(pf); return NULL; }
        }
        ScanArgs *a = &pf->args[i];
        a->offset = off;
        a->end = end;
        a->limit = limit;
        a->max_line = max_line;
        a->chunk_size = chunk_size;
        a->needle = pf->needle;
        a->nlen = nlen;
    }
    if (pthread_mutex_init(&pf->mu, NULL) != 0 || pthread_cond_init(&pf->cv, NULL) != 0) {
        Py_DECREF(pf);
        return PyErr_NoMemory();
    }
    for (int t = 0; t < nthreads; t++) {
        int rc = pthread_create(&pf->threads[t], NULL, prefetch_main, pf);
        if (rc != 0) {
            if (pf->started) break; /* fewer threads: still correct */
            pthread_mutex_destroy(&pf->mu);
            pthread_cond_destroy(&pf->cv);
            Py_DECREF(pf);
            errno = rc;
            return PyErr_SetFromErrno(PyExc_OSError);
        }
        pf->started++;
    }
    return (PyObject *)pf;
}

PyDoc_STRVAR(Prefetcher_next_doc,
"next(file_id, project, adapter, session_fallback, path) -> (items, new_offset, oversized, eof)\n\n"
"The next file's result, as scan_claude would return it for the same offset and limit; waits\n"
"(GIL released) while the thread is still on it. Raises OSError when the file could not be\n"
"opened or read, IndexError past the last file.");

static PyObject *Prefetcher_next(Prefetcher *pf, PyObject *args) {
    FileCtx fc;
    if (!PyArg_ParseTuple(args, "OOOUU", &fc.file_id, &fc.project, &fc.adapter,
                          &fc.session_fallback, &fc.path))
        return NULL;
    /* Claim the next file under the lock: two Python threads calling next() at once (each
     * releases the GIL while it waits) must never get the same file. */
    JobResult *r = NULL;
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&pf->mu);
    if (pf->next < pf->njobs) {
        r = &pf->results[pf->next];
        pf->next++; /* the threads' window test reads it */
        pthread_cond_broadcast(&pf->cv);
        while (!r->done) pthread_cond_wait(&pf->cv, &pf->mu);
    }
    pthread_mutex_unlock(&pf->mu);
    Py_END_ALLOW_THREADS
    if (!r) {
        PyErr_SetString(PyExc_IndexError, "no more files");
        return NULL;
    }
    PyObject *items = NULL;
    if (r->failed && r->out.err == ENOMEM) {
        PyErr_NoMemory();
    } else if (r->out.err) {
        errno = r->out.err;
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, fc.path);
    } else if ((items = PyList_New(0)) != NULL) {
        for (Region *g = r->head; g; g = g->next) {
            if (emit(items, g->base, &g->hits, &fc) < 0) { Py_CLEAR(items); break; }
        }
    }
    free_regions(r);
    pthread_mutex_lock(&pf->mu);
    pf->held -= r->held;
    r->held = 0;
    pthread_cond_broadcast(&pf->cv);
    pthread_mutex_unlock(&pf->mu);
    if (!items) return NULL;
    return Py_BuildValue("(NLLO)", items, r->out.new_offset, r->out.oversized,
                         r->out.eof ? Py_True : Py_False);
}

static PyMethodDef Prefetcher_methods[] = {
    {"next", (PyCFunction)Prefetcher_next, METH_VARARGS, Prefetcher_next_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(Prefetcher_doc,
"Prefetcher(paths, offsets, limit, max_line, chunk_size, needle, max_held, threads=1,\n"
"           ends=None)\n\n"
"Scans the given files in order on its own threads (no GIL: reading and parsing only), at most\n"
"about max_held bytes ahead of what next() has returned; next() turns each file's result into\n"
"Python items in this thread, in file order. Dropping it stops the threads. Only regular files\n"
"are read (anything else: OSError EINVAL from next()); `ends` bounds each file like\n"
"scan_claude's `end`.");

static PyTypeObject PrefetcherType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "podium.usage._scan.Prefetcher",
    .tp_basicsize = sizeof(Prefetcher),
    .tp_dealloc = (destructor)Prefetcher_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = Prefetcher_doc,
    .tp_methods = Prefetcher_methods,
    .tp_new = Prefetcher_new,
};

PyDoc_STRVAR(set_bounds_doc,
"set_bounds(tokens_max, ts_min_ms, ts_max_ms, cost_digits)\n\n"
"The numbers a row built here may carry: 0 <= tokens <= tokens_max, ts_min_ms <= ts <\n"
"ts_max_ms, 0 <= costUSD < 10**cost_digits. Anything else goes to Python. Call before any scan.");

static PyObject *set_bounds(PyObject *Py_UNUSED(self), PyObject *args) {
    long long tokens_max, ts_min, ts_max;
    int cost_digits;
    if (!PyArg_ParseTuple(args, "LLLi", &tokens_max, &ts_min, &ts_max, &cost_digits)) return NULL;
    if (tokens_max < 0 || tokens_max > (1LL << 60) || ts_min > ts_max || cost_digits < 0 ||
        cost_digits > 15) {
        PyErr_SetString(PyExc_ValueError, "bad bounds");
        return NULL;
    }
    B_TOKENS_MAX = tokens_max;
    B_TS_MIN = ts_min;
    B_TS_MAX = ts_max;
    B_COST_DIGITS = cost_digits;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"scan_claude", scan_claude, METH_VARARGS, scan_claude_doc},
    {"set_bounds", set_bounds, METH_VARARGS, set_bounds_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "podium.usage._scan",
    "Native line scanner for Claude Code transcripts (see scan_claude).", -1, methods,
};

PyMODINIT_FUNC PyInit__scan(void) {
    init_tables();
    if (PyType_Ready(&PrefetcherType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&PrefetcherType);
    if (PyModule_AddObject(m, "Prefetcher", (PyObject *)&PrefetcherType) < 0) {
        Py_DECREF(&PrefetcherType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
