// fuzz_jsonl: the JSON Lines record reader (hub_jsonl) on arbitrary bytes:
// one line of the medical-insurance platform's export and the member paths
// a mapping reads from it.
//
// Input: a member path ("a.b.0.c"), a newline, then the line. Each input:
//   1. parses; a failure says where ("column N: ...") and leaves no record
//      (every path then has no value);
//   2. reads the given path twice: the same text both times, NUL-terminated
//      at its length, valid UTF-8;
//   3. reads every member of the object (and every item of an array member)
//      by its own path, and checks the text against the value: a string as
//      it is, an integer in decimal, a real that reads back as itself, true
//      or false, an array as its items joined by HUBC_JSONL_ITEM_SEP; no
//      value for null, an object or an array holding one.
#include "fuzz_util.h"
#include "hub_buf.h"
#include "hub_jsonl.h"
#include "hub_utf8.h"

#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_MAX_MEMBERS 256

// The text hubc_jsonl_get gives for scalar V, or false for no value.
static bool
s_expect_scalar(const json_t *v, hub_buf_t *out)
{
    char tmp[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        hub_buf_append(out, json_string_value(v), json_string_length(v));
        return true;
    case JSON_INTEGER:
        snprintf(tmp, sizeof tmp, "%lld", (long long) json_integer_value(v));
        hub_buf_puts(out, tmp);
        return true;
    case JSON_TRUE:
        hub_buf_puts(out, "true");
        return true;
    case JSON_FALSE:
        hub_buf_puts(out, "false");
        return true;
    default:
        return false;
    }
}

// A real's text must read back as the same double.
static void
s_check_real(double want, const char *s, size_t n)
{
    char *end;
    double got = strtod(s, &end);
    if (end != s + n || got != want) {
        fu_fail("real %.17g came out as '%s'", want, s);
    }
}

// Checks the text at PATH against V.
static void
s_check_member(hubc_jsonl_t *rec, const char *path, const json_t *v)
{
    const char *s = NULL;
    size_t n = 0;
    bool got = hubc_jsonl_get(rec, path, &s, &n);
    if (got && (s[n] != '\0' || !hub_utf8_valid(s, n, NULL))) {
        fu_fail("'%s': text not NUL-terminated or not UTF-8", path);
    }
    if (json_is_real(v)) {
        if (!got) {
            fu_fail("'%s': a real without text", path);
        }
        if (isfinite(json_real_value(v))) {
            s_check_real(json_real_value(v), s, n);
        }
        return;
    }
    hub_buf_t want = HUB_BUF_INIT;
    bool ok = true, reals = false; // reals in an array are checked by their item paths
    if (json_is_array(v)) {
        for (size_t i = 0; ok && i < json_array_size(v); i++) {
            const json_t *item = json_array_get(v, i);
            if (i) {
                hub_buf_append(&want, "\x1f", 1);
            }
            reals = reals || json_is_real(item);
            ok = json_is_real(item) || s_expect_scalar(item, &want);
        }
    } else {
        ok = s_expect_scalar(v, &want);
    }
    if (ok != got) {
        fu_fail("'%s': %s a value, but the reader says %s", path, ok ? "has" : "has no",
                got ? "it has" : "it has none");
    }
    if (ok && !reals && (n != want.len || (n && memcmp(s, want.data, n) != 0))) {
        fu_fail("'%s': text differs from the value", path);
    }
    hub_buf_free(&want);
}

// Every member whose name can be a path segment (no '.', not too long).
static void
s_check_members(hubc_jsonl_t *rec, const json_t *root)
{
    const char *key;
    json_t *v;
    size_t seen = 0;
    json_object_foreach((json_t *) root, key, v)
    {
        if (seen++ >= S_MAX_MEMBERS || strchr(key, '.') || strlen(key) >= 200) {
            continue;
        }
        s_check_member(rec, key, v);
        for (size_t i = 0; json_is_array(v) && i < json_array_size(v) && i < 8; i++) {
            char path[256];
            snprintf(path, sizeof path, "%s.%zu", key, i);
            s_check_member(rec, path, json_array_get(v, i));
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t plen = nl ? (size_t) (nl - data) : 0;
    char *path = fu_need(malloc(plen + 1));
    memcpy(path, data, plen);
    path[plen] = '\0';
    size_t llen = nl ? size - plen - 1 : size;
    char *line = fu_need(malloc(llen ? llen : 1)); // exact size: ASan sees overreads
    memcpy(line, nl ? nl + 1 : data, llen);

    hubc_jsonl_t *rec = fu_need(hubc_jsonl_new());
    char detail[128];
    memset(detail, 'x', sizeof detail);
    int rc = hubc_jsonl_parse(rec, line, llen, detail, sizeof detail);
    const char *s = NULL;
    size_t n = 0;
    if (rc != HUB_OK) {
        if (rc != HUB_EDECODE || strncmp(detail, "column ", 7) != 0 ||
            !memchr(detail, '\0', sizeof detail)) {
            fu_fail("a refused line gives %s, detail '%.40s'", hub_error_name(rc), detail);
        }
        if (hubc_jsonl_get(rec, path, &s, &n)) {
            fu_fail("a refused line still has values");
        }
    } else {
        bool got = hubc_jsonl_get(rec, path, &s, &n);
        char *first = got ? fu_need(strndup(s, n)) : NULL;
        size_t first_n = n;
        if (hubc_jsonl_get(rec, path, &s, &n) != got ||
            (got && (n != first_n || memcmp(s, first, n) != 0 || s[n] != '\0'))) {
            fu_fail("path '%s' reads differently twice", path);
        }
        free(first);
        json_t *root = json_loadb(line, llen, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(root)) {
            fu_fail("the reader took a line jansson does not parse as an object");
        }
        s_check_members(rec, root);
        json_decref(root);
    }
    hubc_jsonl_destroy(&rec);
    free(line);
    free(path);
    return 0;
}
