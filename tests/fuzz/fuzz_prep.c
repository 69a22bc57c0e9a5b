// fuzz_prep: hub_store_apply() on arbitrary bytes taken as the prepared
// form of a message (hub_store_prep.c). hubd hands it only what
// hub_store_prepare() wrote, but apply is a public entry point that reads
// strings and lengths out of the bytes, so it must refuse what is not a
// prepared message without reading past it, and leave the store sound.
//
// Once per process: a store in a temporary directory (removed at exit).
// Each input goes into a batch of its own, which is then dropped (the store
// never grows): begin, apply, abort. Invariants:
//   - the outcome is HUB_OK or a refusal (HUB_EINVAL: not a prepared
//     message; HUB_ELIMIT, HUB_EFULL, HUB_EIO, HUB_ENOMEM from the store);
//   - an accepted message names a log sequence, and says how many
//     deliveries it wrote (the seeds: 0 to 3, and never more than the
//     bytes could hold);
//   - after the abort, a new batch begins.
// The corpus seeds are hub_store_prepare()'s output for the example
// messages of tests/data/messages, routed by the shipped rules; those of
// one-event types (seed-person.death, seed-death_valid, seed-person.birth)
// carry their event key, and so do seed-birth_health (a certificate that
// names no child: config/tests/messages/birth.json) and seed-birth_police
// (the police's registration of that birth, the same event: applied after
// it, it is same_event). The byte that says which keys follow was a
// has_subject byte (0 or 1) before event keys; inputs found then with
// another value there (read as 1) have it rewritten to 1, so they take the
// same path as before.
#include "fuzz_util.h"
#include "hub_store.h"

#include <stdint.h>
#include <unistd.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
    char dir[64];
    hub_store_t *store;
} s;

static void
s_cleanup(void)
{
    hub_store_destroy(&s.store);
    if (s.dir[0]) {
        char path[128];
        snprintf(path, sizeof path, "%s/data.mdb", s.dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/lock.mdb", s.dir);
        unlink(path);
        rmdir(s.dir);
    }
}

static hub_store_t *
s_store(void)
{
    static const uint8_t key[32] = {7};
    if (!s.store) {
        snprintf(s.dir, sizeof s.dir, "/tmp/hub-fuzz-prep-XXXXXX");
        if (!mkdtemp(s.dir) || hub_store_open(&s.store, s.dir, 64u << 20, 0, key, NULL)) {
            fu_fail("cannot open a store in %s", s.dir);
        }
        atexit(s_cleanup);
    }
    return s.store;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hub_store_t *st = s_store();
    if (hub_store_begin(st) != HUB_OK) {
        fu_fail("begin: %s", hub_store_last_error(st));
    }
    hub_store_result_t res = {0};
    int rc = hub_store_apply(st, data, size, &res);
    if (rc != HUB_OK && rc != HUB_EINVAL && rc != HUB_ELIMIT && rc != HUB_EFULL && rc != HUB_EIO &&
        rc != HUB_ENOMEM) {
        fu_fail("apply returned %s", hub_error_name(rc));
    }
    // A delivery takes at least 3 NULs, a 32-byte key and two lengths.
    if (rc == HUB_OK && (res.log_seq == 0 || res.deliveries > size / (3 + 32 + 8))) {
        fu_fail("apply accepted: log_seq %llu, %zu deliveries from %zu bytes",
                (unsigned long long) res.log_seq, res.deliveries, size);
    }
    hub_store_abort(st);
    if (hub_store_begin(st) != HUB_OK) {
        fu_fail("begin after abort: %s", hub_store_last_error(st));
    }
    hub_store_abort(st);
    return 0;
}
