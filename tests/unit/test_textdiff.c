// hub_textdiff: the unified diffs `hubctl rules diff` prints. Exact output
// for the cases a reader relies on (context, hunk ranges, added and
// removed files, a last line without a newline), and for random texts: the
// diff applied to the old text gives the new one, and it is a shortest one
// (it keeps a longest common subsequence of lines).
#include "hub_error.h"
#include "hub_textdiff.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The diff of A and B (C strings) with 3 lines of context, as a C string
// (caller frees); *CHANGED gets what hub_textdiff said.
static char *
s_diff(const char *a, const char *b, bool *changed)
{
    hub_buf_t out = HUB_BUF_INIT;
    CU_ASSERT_EQUAL(hub_textdiff(a, strlen(a), b, strlen(b), 3, "a/f", "b/f", &out, changed),
                    HUB_OK);
    char *s = strndup(out.data ? (const char *) out.data : "", out.len);
    hub_buf_free(&out);
    return s;
}

static void
test_equal_texts_give_no_diff(void)
{
    bool changed = true;
    char *d = s_diff("one\ntwo\n", "one\ntwo\n", &changed);
    CU_ASSERT_FALSE(changed);
    CU_ASSERT_STRING_EQUAL(d, "");
    free(d);
    d = s_diff("", "", &changed);
    CU_ASSERT_FALSE(changed);
    free(d);
}

static void
test_a_changed_line_shows_with_three_lines_of_context(void)
{
    bool changed = false;
    char *d = s_diff("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n", &changed);
    CU_ASSERT_TRUE(changed);
    CU_ASSERT_STRING_EQUAL(d, "--- a/f\n+++ b/f\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n"
                              " 7\n 8\n");
    free(d);
}

static void
test_an_added_file_counts_from_line_zero(void)
{
    char *d = s_diff("", "x\ny\n", NULL);
    CU_ASSERT_STRING_EQUAL(d, "--- a/f\n+++ b/f\n@@ -0,0 +1,2 @@\n+x\n+y\n");
    free(d);
    d = s_diff("x\n", "", NULL);
    CU_ASSERT_STRING_EQUAL(d, "--- a/f\n+++ b/f\n@@ -1 +0,0 @@\n-x\n");
    free(d);
}

static void
test_a_last_line_without_newline_is_marked(void)
{
    char *d = s_diff("a\nb", "a\nb\n", NULL);
    CU_ASSERT_STRING_EQUAL(d, "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n"
                              "\\ No newline at end of file\n+b\n");
    free(d);
}

static void
test_an_insertion_at_the_start_and_a_deletion_at_the_end(void)
{
    char *d = s_diff("b\nc\nd\n", "a\nb\nc\n", NULL);
    CU_ASSERT_STRING_EQUAL(d, "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n+a\n b\n c\n-d\n");
    free(d);
}

// N numbered lines, line K (1-based) replaced by "x" when K is in CHANGE.
static char *
s_lines(int n, const int *change, size_t nchange)
{
    hub_buf_t b = HUB_BUF_INIT;
    for (int k = 1; k <= n; k++) {
        bool x = false;
        for (size_t i = 0; i < nchange; i++) {
            x = x || change[i] == k;
        }
        hub_buf_printf(&b, x ? "x%d\n" : "%d\n", k);
    }
    char *s = strndup((const char *) b.data, b.len);
    hub_buf_free(&b);
    return s;
}

static size_t
s_count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(s, what); p; p = strstr(p + 1, what)) {
        n++;
    }
    return n;
}

static void
test_changes_six_lines_apart_share_a_hunk_seven_do_not(void)
{
    int near[] = {5, 12}, far[] = {5, 13};
    char *a = s_lines(30, NULL, 0), *b = s_lines(30, near, 2), *c = s_lines(30, far, 2);
    char *d = s_diff(a, b, NULL);
    CU_ASSERT_EQUAL(s_count(d, "@@ -"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "@@ -2,14 +2,14 @@\n"));
    free(d);
    d = s_diff(a, c, NULL);
    CU_ASSERT_EQUAL(s_count(d, "@@ -"), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "@@ -2,7 +2,7 @@\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "@@ -10,7 +10,7 @@\n"));
    free(d);
    free(a);
    free(b);
    free(c);
}

// ---- applying a diff, to check random cases

// The line of TEXT starting at *P (with its '\n'), appended to OUT.
static void
s_take(const char **p, hub_buf_t *out)
{
    const char *nl = strchr(*p, '\n');
    size_t n = nl ? (size_t) (nl - *p) + 1 : strlen(*p);
    if (out) {
        hub_buf_append(out, *p, n);
    }
    *p += n;
}

// Applies unified diff D to text A; the result as a C string.
static char *
s_apply(const char *a, const char *d)
{
    hub_buf_t out = HUB_BUF_INIT;
    const char *pa = a, *pd = d;
    long line = 1; // the next line of A
    char last = 0;
    s_take(&pd, NULL); // the two header lines
    s_take(&pd, NULL);
    while (*pd) {
        long start, n = 1;
        if (sscanf(pd, "@@ -%ld,%ld", &start, &n) >= 1) {
            start += n == 0; // "-l,0": the hunk comes after line l
            for (; line < start; line++) {
                s_take(&pa, &out);
            }
        } else if (*pd == ' ' || *pd == '-') {
            s_take(&pa, *pd == ' ' ? &out : NULL);
            line++;
        } else if (*pd == '+') {
            const char *body = pd + 1;
            s_take(&body, &out);
        } else if (*pd == '\\' && last == '+') {
            out.len--; // the added line has no newline
        }
        last = *pd;
        s_take(&pd, NULL);
    }
    while (*pa) {
        s_take(&pa, &out);
    }
    char *s = strndup(out.data ? (const char *) out.data : "", out.len);
    hub_buf_free(&out);
    return s;
}

// The lines diff D shows removed or added.
static size_t
s_edits(const char *d)
{
    size_t n = 0;
    const char *p = d;
    s_take(&p, NULL);
    s_take(&p, NULL);
    while (*p) {
        n += *p == '-' || *p == '+';
        s_take(&p, NULL);
    }
    return n;
}

// The length of a longest common subsequence of the lines of A and B.
static size_t
s_lcs(char **la, size_t na, char **lb, size_t nb)
{
    size_t *t = calloc((na + 1) * (nb + 1), sizeof *t);
    for (size_t i = 1; i <= na; i++) {
        for (size_t j = 1; j <= nb; j++) {
            size_t up = t[(i - 1) * (nb + 1) + j], left = t[i * (nb + 1) + j - 1];
            t[i * (nb + 1) + j] = strcmp(la[i - 1], lb[j - 1]) == 0
                                      ? t[(i - 1) * (nb + 1) + j - 1] + 1
                                      : (up > left ? up : left);
        }
    }
    size_t n = t[na * (nb + 1) + nb];
    free(t);
    return n;
}

// A random text of up to 40 lines over a small alphabet (so lines repeat),
// its lines into LINES; sometimes without a last newline.
static char *
s_random(uint64_t *seed, char **lines, size_t *n)
{
    hub_buf_t b = HUB_BUF_INIT;
    *n = tu_rand(seed) % 40;
    for (size_t i = 0; i < *n; i++) {
        char l[8];
        snprintf(l, sizeof l, "%c", (char) ('a' + tu_rand(seed) % 6));
        lines[i] = strdup(l);
        hub_buf_printf(&b, "%s\n", l);
    }
    if (*n && tu_rand(seed) % 5 == 0) {
        b.len--;
    }
    char *s = strndup(b.data ? (const char *) b.data : "", b.len);
    hub_buf_free(&b);
    return s;
}

static void
test_random_diffs_apply_and_are_shortest(void)
{
    uint64_t seed = 0x5eed;
    for (int round = 0; round < 500; round++) {
        char *la[40], *lb[40];
        size_t na, nb;
        char *a = s_random(&seed, la, &na), *b = s_random(&seed, lb, &nb);
        bool changed;
        char *d = s_diff(a, b, &changed);
        char *back = s_apply(a, d);
        CU_ASSERT_STRING_EQUAL(back, b);
        CU_ASSERT_EQUAL(changed, strcmp(a, b) != 0);
        // Only the lines outside an LCS are shown removed or added (a last
        // line that gained or lost its newline counts as a different line).
        bool nl_a = !*a || a[strlen(a) - 1] == '\n', nl_b = !*b || b[strlen(b) - 1] == '\n';
        if (nl_a && nl_b) {
            CU_ASSERT_EQUAL(s_edits(d), na + nb - 2 * s_lcs(la, na, lb, nb));
        }
        for (size_t i = 0; i < na; i++) {
            free(la[i]);
        }
        for (size_t i = 0; i < nb; i++) {
            free(lb[i]);
        }
        free(a);
        free(b);
        free(d);
        free(back);
    }
}

static void
test_a_middle_too_large_for_the_table_is_still_a_correct_diff(void)
{
    hub_buf_t a = HUB_BUF_INIT, b = HUB_BUF_INIT;
    for (int i = 0; i < 2100; i++) {
        hub_buf_printf(&a, "old %d\n", i);
        hub_buf_printf(&b, "new %d\n", i);
    }
    hub_buf_puts(&a, "");
    hub_buf_puts(&b, "");
    char *d = s_diff(hub_buf_cstr(&a), hub_buf_cstr(&b), NULL);
    char *back = s_apply(hub_buf_cstr(&a), d);
    CU_ASSERT_STRING_EQUAL(back, hub_buf_cstr(&b));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "@@ -1,2100 +1,2100 @@\n"));
    free(d);
    free(back);
    hub_buf_free(&a);
    hub_buf_free(&b);
}

void
test_textdiff_register(void)
{
    CU_pSuite s = CU_add_suite("textdiff", NULL, NULL);
    CU_add_test(s, "equal texts give no diff", test_equal_texts_give_no_diff);
    CU_add_test(s, "a changed line shows with three lines of context",
                test_a_changed_line_shows_with_three_lines_of_context);
    CU_add_test(s, "an added file counts from line zero", test_an_added_file_counts_from_line_zero);
    CU_add_test(s, "a last line without newline is marked",
                test_a_last_line_without_newline_is_marked);
    CU_add_test(s, "an insertion at the start and a deletion at the end",
                test_an_insertion_at_the_start_and_a_deletion_at_the_end);
    CU_add_test(s, "changes six lines apart share a hunk, seven do not",
                test_changes_six_lines_apart_share_a_hunk_seven_do_not);
    CU_add_test(s, "random diffs apply and are shortest", test_random_diffs_apply_and_are_shortest);
    CU_add_test(s, "a middle too large for the table is still a correct diff",
                test_a_middle_too_large_for_the_table_is_still_a_correct_diff);
}
