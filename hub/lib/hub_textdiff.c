// hub_textdiff: a unified line diff (hub_textdiff.h). Lines are hashed
// once so the LCS table compares mostly integers; the common first and
// last lines are cut off before the table is built.
#include "hub_textdiff.h"

#include "hub_error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p; // the line's first byte
    size_t len;    // its bytes, the '\n' included when it has one
    uint64_t hash; // FNV-1a of those bytes
} diff_line_t;

typedef struct {
    diff_line_t *a, *b; // the two texts' lines
    size_t na, nb;
    char *ops; // the edit script: '=' (both), '-' (a only), '+' (b only)
    size_t nops;
} diff_t;

// The lines of TEXT into *OUT (malloc'd) and *N.
static int
s_split(const char *text, size_t len, diff_line_t **out, size_t *n)
{
    size_t count = 0;
    for (size_t i = 0; i < len; i++) {
        count += text[i] == '\n';
    }
    count += len && text[len - 1] != '\n';
    *out = malloc((count ? count : 1) * sizeof **out);
    *n = 0;
    if (!*out) {
        return HUB_ENOMEM;
    }
    size_t start = 0;
    while (start < len) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t) (nl - text) + 1 : len;
        uint64_t h = 14695981039346656037ull;
        for (size_t i = start; i < end; i++) {
            h = (h ^ (uint8_t) text[i]) * 1099511628211ull;
        }
        (*out)[(*n)++] = (diff_line_t){text + start, end - start, h};
        start = end;
    }
    return HUB_OK;
}

static bool
s_eq(const diff_line_t *x, const diff_line_t *y)
{
    return x->hash == y->hash && x->len == y->len && memcmp(x->p, y->p, x->len) == 0;
}

static void
s_push(diff_t *d, char op, size_t count)
{
    memset(d->ops + d->nops, op, count);
    d->nops += count;
}

// The LCS of the N lines at A and the M at B, by a table of suffix
// lengths, written as an edit script. False when out of memory.
static bool
s_lcs(diff_t *d, const diff_line_t *a, size_t n, const diff_line_t *b, size_t m)
{
    size_t w = m + 1;
    uint32_t *t = calloc((n + 1) * w, sizeof *t);
    if (!t) {
        return false;
    }
    for (size_t i = n; i-- > 0;) {
        for (size_t j = m; j-- > 0;) {
            uint32_t down = t[(i + 1) * w + j], right = t[i * w + j + 1];
            t[i * w + j] =
                s_eq(&a[i], &b[j]) ? t[(i + 1) * w + j + 1] + 1 : (down >= right ? down : right);
        }
    }
    size_t i = 0, j = 0;
    while (i < n && j < m) {
        if (s_eq(&a[i], &b[j])) {
            d->ops[d->nops++] = '=';
            i++, j++;
        } else if (t[(i + 1) * w + j] >= t[i * w + j + 1]) {
            d->ops[d->nops++] = '-';
            i++;
        } else {
            d->ops[d->nops++] = '+';
            j++;
        }
    }
    s_push(d, '-', n - i);
    s_push(d, '+', m - j);
    free(t);
    return true;
}

static int
s_script(diff_t *d)
{
    d->ops = malloc(d->na + d->nb + 1);
    if (!d->ops) {
        return HUB_ENOMEM;
    }
    size_t pre = 0, suf = 0;
    while (pre < d->na && pre < d->nb && s_eq(&d->a[pre], &d->b[pre])) {
        pre++;
    }
    while (suf < d->na - pre && suf < d->nb - pre &&
           s_eq(&d->a[d->na - 1 - suf], &d->b[d->nb - 1 - suf])) {
        suf++;
    }
    size_t n = d->na - pre - suf, m = d->nb - pre - suf;
    s_push(d, '=', pre);
    bool fits = n && m && n + 1 <= HUB_TEXTDIFF_MAX_CELLS / (m + 1);
    if (!fits || !s_lcs(d, d->a + pre, n, d->b + pre, m)) {
        if (fits) {
            return HUB_ENOMEM;
        }
        s_push(d, '-', n); // one side empty, or too large for the table
        s_push(d, '+', m);
    }
    s_push(d, '=', suf);
    return HUB_OK;
}

// The end of the hunk whose first change is at C: changes closer than
// 2 * CONTEXT unchanged lines share a hunk.
static size_t
s_hunk_end(const diff_t *d, size_t c, unsigned context)
{
    size_t j = c;
    for (;;) {
        while (j < d->nops && d->ops[j] != '=') {
            j++;
        }
        size_t run = 0;
        while (j + run < d->nops && d->ops[j + run] == '=') {
            run++;
        }
        if (j + run < d->nops && run <= 2 * (size_t) context) {
            j += run;
            continue;
        }
        return j + (run < context ? run : context);
    }
}

// A hunk's range: "l" for one line, else "l,n" (l is the line before
// when n is 0, as diff writes it).
static int
s_range(hub_buf_t *out, const char *sign, size_t start, size_t count)
{
    if (count == 1) {
        return hub_buf_printf(out, "%s%zu", sign, start + 1);
    }
    return hub_buf_printf(out, "%s%zu,%zu", sign, count ? start + 1 : start, count);
}

// Writes ops [FROM, TO) as one hunk; AI and BI are the lines before FROM.
static int
s_hunk(const diff_t *d, size_t from, size_t to, size_t ai, size_t bi, hub_buf_t *out)
{
    size_t na = 0, nb = 0;
    for (size_t k = from; k < to; k++) {
        na += d->ops[k] != '+';
        nb += d->ops[k] != '-';
    }
    int rc = s_range(out, "@@ -", ai, na);
    rc = rc ? rc : s_range(out, " +", bi, nb);
    rc = rc ? rc : hub_buf_puts(out, " @@\n");
    for (size_t k = from; k < to && !rc; k++) {
        const diff_line_t *l = d->ops[k] == '+' ? &d->b[bi++] : &d->a[ai++];
        bi += d->ops[k] == '=';
        char sign = d->ops[k] == '=' ? ' ' : d->ops[k];
        rc = hub_buf_append(out, &sign, 1);
        rc = rc ? rc : hub_buf_append(out, l->p, l->len);
        if (!rc && (l->len == 0 || l->p[l->len - 1] != '\n')) {
            rc = hub_buf_puts(out, "\n\\ No newline at end of file\n");
        }
    }
    return rc;
}

static int
s_hunks(const diff_t *d, unsigned context, hub_buf_t *out)
{
    size_t k = 0, ai = 0, bi = 0, pos = 0;
    int rc = HUB_OK;
    while (!rc) {
        size_t c = k;
        while (c < d->nops && d->ops[c] == '=') {
            c++;
        }
        if (c == d->nops) {
            break;
        }
        size_t start = c - (c - k < context ? c - k : context);
        size_t end = s_hunk_end(d, c, context);
        for (; pos < start; pos++) {
            ai += d->ops[pos] != '+';
            bi += d->ops[pos] != '-';
        }
        rc = s_hunk(d, start, end, ai, bi, out);
        k = end;
    }
    return rc;
}

int
hub_textdiff(const char *a, size_t alen, const char *b, size_t blen, unsigned context,
             const char *from, const char *to, hub_buf_t *out, bool *changed)
{
    diff_t d = {0};
    int rc = s_split(a, alen, &d.a, &d.na);
    rc = rc ? rc : s_split(b, blen, &d.b, &d.nb);
    rc = rc ? rc : s_script(&d);
    bool differ = false;
    for (size_t k = 0; !rc && k < d.nops && !differ; k++) {
        differ = d.ops[k] != '=';
    }
    if (!rc && differ) {
        rc = hub_buf_printf(out, "--- %s\n+++ %s\n", from, to);
        rc = rc ? rc : s_hunks(&d, context, out);
    }
    if (changed) {
        *changed = differ;
    }
    free(d.a);
    free(d.b);
    free(d.ops);
    return rc;
}
