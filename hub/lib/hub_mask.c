#include "hub_mask.h"

#include "hub_ids.h"
#include "hub_utf8.h"

#include <sodium.h>
#include <string.h>

static const char *const s_names[HUB_MASK_COUNT] = {"none", "partial",  "hash",
                                                    "year", "age_band", "drop"};

const char *
hub_mask_name(hub_mask_t m)
{
    return (unsigned) m < HUB_MASK_COUNT ? s_names[m] : "?";
}

int
hub_mask_parse(const char *s)
{
    for (int i = 0; s && i < HUB_MASK_COUNT; i++) {
        if (strcmp(s, s_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

static bool
s_stringish(hub_ftype_t t)
{
    return t != HUB_FT_INT && t != HUB_FT_BOOL && t != HUB_FT_MONEY && t != HUB_FT_LIST;
}

bool
hub_mask_applies(hub_mask_t m, hub_ftype_t t)
{
    switch (m) {
    case HUB_MASK_NONE:
    case HUB_MASK_DROP:
        return true;
    case HUB_MASK_PARTIAL:
        return t == HUB_FT_CITIZEN_ID || t == HUB_FT_PHONE || t == HUB_FT_STUDENT_NO ||
               t == HUB_FT_NAME || t == HUB_FT_STRING || t == HUB_FT_DISABILITY_NO;
    case HUB_MASK_HASH:
        return s_stringish(t);
    case HUB_MASK_YEAR:
    case HUB_MASK_AGE_BAND:
        return t == HUB_FT_DATE;
    case HUB_MASK_COUNT:
        break;
    }
    return false;
}

// Keeps the first KEEP_HEAD and last KEEP_TAIL code points; stars between.
static size_t
s_partial(const char *v, size_t len, size_t head, size_t tail, char *out)
{
    size_t n = hub_utf8_count(v, len);
    if (n <= head + tail) { // too short to show anything safely
        head = n > 1 ? 1 : 0;
        tail = 0;
    }
    size_t w = 0, i = 0, cp = 0;
    while (i < len && w + 5 < HUB_MASK_OUT_MAX) {
        size_t k;
        hub_utf8_decode(v + i, len - i, &k);
        if (cp < head || cp >= n - tail) {
            memcpy(out + w, v + i, k);
            w += k;
        } else {
            out[w++] = '*';
        }
        i += k;
        cp++;
    }
    out[w] = '\0';
    return w;
}

static size_t
s_hash(const char *v, size_t len, const uint8_t key[HUB_MASK_KEY_SIZE], char *out)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, HUB_MASK_KEY_SIZE);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *) v, len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "h:", 2);
    sodium_bin2hex(out + 2, 33, mac, 16); // 128 bits: a pseudonym, not a proof
    return 34;
}

static size_t
s_age_band(const char *v, size_t len, const char *event_date, char *out)
{
    int y, m, d, ey, em, ed;
    if (!event_date || hub_date_check(v, len, &y, &m, &d) ||
        hub_date_check(event_date, strlen(event_date), &ey, &em, &ed)) {
        memcpy(out, "*", 2);
        return 1;
    }
    int age = ey - y - (em < m || (em == m && ed < d));
    if (age < 0) {
        age = 0;
    }
    int lo = age / 5 * 5;
    int n = age >= 80 ? snprintf(out, HUB_MASK_OUT_MAX, "80+")
                      : snprintf(out, HUB_MASK_OUT_MAX, "%d-%d", lo, lo + 4);
    return (size_t) n;
}

size_t
hub_mask_apply(hub_mask_t m, hub_ftype_t t, const char *v, size_t len,
               const uint8_t key[HUB_MASK_KEY_SIZE], const char *event_date, char *out)
{
    switch (m) {
    case HUB_MASK_PARTIAL:
        if (t == HUB_FT_CITIZEN_ID) {
            return s_partial(v, len, 6, 4, out);
        }
        if (t == HUB_FT_STUDENT_NO) {
            return s_partial(v, len, 7, 4, out);
        }
        if (t == HUB_FT_DISABILITY_NO) { // area code, then category and grade
            return s_partial(v, len, 6, 2, out);
        }
        return t == HUB_FT_PHONE ? s_partial(v, len, 3, 4, out) : s_partial(v, len, 1, 1, out);
    case HUB_MASK_HASH:
        return s_hash(v, len, key, out);
    case HUB_MASK_YEAR:
        if (len >= 4) {
            memcpy(out, v, 4);
            out[4] = '\0';
            return 4;
        }
        break;
    case HUB_MASK_AGE_BAND:
        return s_age_band(v, len, event_date, out);
    default:
        break;
    }
    memcpy(out, "*", 2);
    return 1;
}
