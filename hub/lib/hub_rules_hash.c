// The canonical content of a YAML document, for the rule-set version: the
// same rules give the same hash whatever their comments, formatting, key
// order, anchors and aliases.
#include "hub_rules_int.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_DEPTH 64
#define S_MAX_NODES 1000000 // aliases can make a small file a large tree

typedef struct {
    crypto_hash_sha256_state *st;
    const hub_yaml_t *doc;
    size_t budget;
} s_hasher_t;

static void
s_put(s_hasher_t *h, char tag, const char *s, size_t len)
{
    unsigned char head[9] = {(unsigned char) tag};
    for (int i = 0; i < 8; i++) {
        head[1 + i] = (unsigned char) (len >> (56 - 8 * i));
    }
    crypto_hash_sha256_update(h->st, head, sizeof head);
    if (s) {
        crypto_hash_sha256_update(h->st, (const unsigned char *) s, len);
    }
}

typedef struct {
    const char *key;
    int value;
} s_pair_t;

static int
s_pair_cmp(const void *a, const void *b)
{
    return strcmp(((const s_pair_t *) a)->key, ((const s_pair_t *) b)->key);
}

static void
s_node(s_hasher_t *h, int node, unsigned depth);

static void
s_map(s_hasher_t *h, int node, unsigned depth)
{
    size_t n = hub_yaml_len(h->doc, node);
    s_pair_t *pairs = malloc(sizeof *pairs * (n ? n : 1));
    if (!pairs) {
        s_put(h, '!', NULL, 0);
        return;
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = hub_yaml_str(h->doc, hub_yaml_key(h->doc, node, i), NULL);
        if (k && strncmp(k, "x-", 2) == 0) {
            continue; // anchors' holders: their content counts where it is used
        }
        pairs[kept++] = (s_pair_t){k ? k : "", hub_yaml_value(h->doc, node, i)};
    }
    n = kept;
    qsort(pairs, n, sizeof *pairs, s_pair_cmp);
    s_put(h, 'M', NULL, n);
    for (size_t i = 0; i < n; i++) {
        s_put(h, 'K', pairs[i].key, strlen(pairs[i].key));
        s_node(h, pairs[i].value, depth + 1);
    }
    free(pairs);
}

static void
s_node(s_hasher_t *h, int node, unsigned depth)
{
    if (depth > S_MAX_DEPTH || h->budget == 0) {
        s_put(h, '!', NULL, 0);
        return;
    }
    h->budget--;
    size_t len;
    const char *s;
    switch (hub_yaml_kind(h->doc, node)) {
    case HUB_YAML_SCALAR:
        s = hub_yaml_str(h->doc, node, &len);
        s_put(h, 'S', s, len);
        break;
    case HUB_YAML_SEQ:
        s_put(h, 'L', NULL, hub_yaml_len(h->doc, node));
        for (size_t i = 0; i < hub_yaml_len(h->doc, node); i++) {
            s_node(h, hub_yaml_item(h->doc, node, i), depth + 1);
        }
        break;
    case HUB_YAML_MAP:
        s_map(h, node, depth);
        break;
    case HUB_YAML_NONE:
        s_put(h, 'N', NULL, 0);
        break;
    }
}

void
hub_rules_hash_doc(void *st, const hub_yaml_t *doc)
{
    s_hasher_t h = {st, doc, S_MAX_NODES};
    s_put(&h, 'D', NULL, 0);
    s_node(&h, hub_yaml_root(doc), 0);
}
