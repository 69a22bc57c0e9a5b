#include "hub_jsonl.h"

#include "hub_buf.h"
#include "hub_error.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SEGMENT_MAX 256 // bytes of one member name in a path

struct hubc_jsonl {
    json_t *root;
    hub_buf_t text; // the last value asked for
};

hubc_jsonl_t *
hubc_jsonl_new(void)
{
    return calloc(1, sizeof(hubc_jsonl_t));
}

void
hubc_jsonl_destroy(hubc_jsonl_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    json_decref((*self_p)->root);
    hub_buf_free(&(*self_p)->text);
    free(*self_p);
    *self_p = NULL;
}

int
hubc_jsonl_parse(hubc_jsonl_t *self, const char *line, size_t len, char *detail, size_t detail_size)
{
    json_decref(self->root);
    self->root = NULL;
    json_error_t err;
    json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        snprintf(detail, detail_size, "column %d: %s", err.column > 0 ? err.column : 1, err.text);
        return HUB_EDECODE;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(detail, detail_size, "column 1: a line must hold a JSON object {...}");
        return HUB_EDECODE;
    }
    self->root = root;
    if (detail_size) {
        detail[0] = '\0';
    }
    return HUB_OK;
}

// The member or array item named by the segment of LEN bytes at SEG.
static json_t *
s_step(json_t *node, const char *seg, size_t len)
{
    if (json_is_object(node)) {
        char name[S_SEGMENT_MAX];
        if (len >= sizeof name) {
            return NULL;
        }
        memcpy(name, seg, len);
        name[len] = '\0';
        return json_object_get(node, name);
    }
    if (!json_is_array(node) || len == 0 || len > 9) {
        return NULL;
    }
    size_t index = 0;
    for (size_t i = 0; i < len; i++) {
        if (seg[i] < '0' || seg[i] > '9') {
            return NULL;
        }
        index = index * 10 + (size_t) (seg[i] - '0');
    }
    return json_array_get(node, index);
}

// Writes into TMP (SIZE bytes) the shortest form of V, plain ("%.*f") or in
// exponent form ("%.*g"), that reads back exactly; false when none with up
// to 17 digits after the point does (only plain: "%.17g" always does).
static bool
s_shortest(char *tmp, size_t size, bool plain, double v)
{
    for (int prec = plain ? 0 : 1; prec <= 17; prec++) {
        snprintf(tmp, size, plain ? "%.*f" : "%.*g", prec, v);
        if (strtod(tmp, NULL) == v) {
            return true;
        }
    }
    return false;
}

// Appends the shortest decimal form of V that reads back exactly: plain
// decimals ("1740", "2875.4"), as a department wrote them; from 1e15 on
// (a float that large is a mangled ID, not an amount) the exponent form,
// so that hub_cid_normalize still sees the scientific notation. A value so
// small that 17 decimals do not hold it (1e-20) takes the exponent form
// too: written plain it would read back as 0.
static int
s_real(hub_buf_t *out, double v)
{
    char tmp[64];
    if (!isfinite(v)) {
        return hub_buf_puts(out, "nan");
    }
    if (!(fabs(v) < 1e15 && s_shortest(tmp, sizeof tmp, true, v))) {
        s_shortest(tmp, sizeof tmp, false, v);
    }
    return hub_buf_puts(out, tmp);
}

// Appends scalar V as text; false when V is not a scalar with a value.
static bool
s_scalar(hub_buf_t *out, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return hub_buf_append(out, json_string_value(v), json_string_length(v)) == HUB_OK;
    case JSON_INTEGER:
        return hub_buf_printf(out, "%lld", (long long) json_integer_value(v)) == HUB_OK;
    case JSON_REAL:
        return s_real(out, json_real_value(v)) == HUB_OK;
    case JSON_TRUE:
        return hub_buf_puts(out, "true") == HUB_OK;
    case JSON_FALSE:
        return hub_buf_puts(out, "false") == HUB_OK;
    default:
        return false;
    }
}

bool
hubc_jsonl_get(hubc_jsonl_t *self, const char *path, const char **s, size_t *len)
{
    json_t *node = self->root;
    for (const char *seg = path; node && seg;) {
        const char *dot = strchr(seg, '.');
        node = s_step(node, seg, dot ? (size_t) (dot - seg) : strlen(seg));
        seg = dot ? dot + 1 : NULL;
    }
    self->text.len = 0;
    bool ok = node != NULL;
    if (ok && json_is_array(node)) {
        for (size_t i = 0; ok && i < json_array_size(node); i++) {
            ok = (i == 0 || hub_buf_append(&self->text, "\x1f", 1) == HUB_OK) &&
                 s_scalar(&self->text, json_array_get(node, i));
        }
    } else if (ok) {
        ok = s_scalar(&self->text, node);
    }
    const char *t = ok ? hub_buf_cstr(&self->text) : NULL;
    if (!t) {
        return false;
    }
    *s = t;
    *len = self->text.len;
    return true;
}
