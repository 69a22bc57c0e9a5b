// The connection to the hub and flushing the outbox through it: an
// unreachable hub is retried with a growing pause (0.5 s, 1 s, 2 s ... 8 s)
// until opts.retry_ms pass without any progress. Whatever is not
// acknowledged stays in the outbox for the next run.
#include "hubad.h"

#include "hub_error.h"

#include <string.h>
#include <time.h>

// Messages in flight: with 256 the hub's two threads were idle by turns
// (bench adapter ~21,000 records/s; 1024: ~26,000).
#define S_WINDOW 1024
#define S_PAUSE_MIN 500  // ms
#define S_PAUSE_MAX 8000 // ms

// Bounds a wait for the hub by the retry budget (at least a moment).
static int
s_wait_ms(const hubad_t *ad, int most)
{
    long budget = ad->opts.retry_ms > 500 ? ad->opts.retry_ms : 500;
    return budget < most ? (int) budget : most;
}

static int
s_connect(hubad_t *ad)
{
    if (ad->hub) {
        return HUB_OK;
    }
    hub_diag_reset(ad->diag);
    hubc_auth_t auth = {ad->cfg.security, ad->server_pub, ad->keys_dir, hubc_map_endpoint(ad->map),
                        NULL}; // hub.yaml's security
    int rc = hubc_connect_auth(&ad->hub, ad->url, &auth, s_wait_ms(ad, 5000), ad->diag);
    if (rc == HUB_OK && strcmp(hubc_department(ad->hub), hubc_map_department(ad->map)) != 0) {
        fprintf(stderr,
                "hub-adapter: the keys of %s belong to department '%s', but the mapping "
                "publishes as '%s'\n",
                hubc_map_endpoint(ad->map), hubc_department(ad->hub), hubc_map_department(ad->map));
        hubc_destroy(&ad->hub);
        ad->hub_lost = ad->failed = true;
        return HUB_ECONFIG;
    }
    return rc;
}

void
hubad_disconnect(hubad_t *ad)
{
    hubc_destroy(&ad->hub);
}

// One flush round; *PROGRESS when the hub settled anything.
static int
s_round(hubad_t *ad, bool *progress)
{
    hubc_flush_t st = {0};
    int rc = hubc_outbox_flush(ad->box, ad->hub, S_WINDOW, s_wait_ms(ad, 10000), &st);
    ad->stats.published += st.acked;
    ad->stats.duplicate += st.duplicate;
    if (st.rejected) {
        fprintf(stderr,
                "hub-adapter: the hub refused %zu message(s) for good; they are kept in "
                "the outbox's 'rejected' database\n",
                st.rejected);
        hubad_count(ad, "refused", st.rejected);
    }
    *progress = st.acked || st.duplicate || st.rejected;
    if (rc == HUB_OK && st.retry) {
        rc = HUB_EIO; // refused for now (store full ...): pause, then again
    } else if (rc != HUB_OK) {
        hubad_disconnect(ad); // no answer: the hub may have restarted
    }
    return rc;
}

int
hubad_flush(hubad_t *ad)
{
    if (!ad->box || ad->hub_lost) {
        return ad->hub_lost ? HUB_EIO : HUB_OK;
    }
    int64_t deadline = hubc_mono_ms() + ad->opts.retry_ms, pause = S_PAUSE_MIN;
    while (hubc_outbox_pending(ad->box) > 0) {
        bool progress = false;
        int rc = s_connect(ad);
        if (rc == HUB_ECONFIG) {
            return HUB_EIO;
        }
        rc = rc ? rc : s_round(ad, &progress);
        if (progress) {
            deadline = hubc_mono_ms() + ad->opts.retry_ms;
            pause = S_PAUSE_MIN;
        }
        if (rc == HUB_OK || progress) {
            continue;
        }
        if (hubc_mono_ms() >= deadline || hubad_stop) {
            if (!hubad_stop) {
                fprintf(stderr,
                        "hub-adapter: the hub at %s does not answer (%s); %zu message(s) "
                        "stay in the outbox for the next run\n",
                        ad->url,
                        hub_diag_count(ad->diag) ? hub_diag_at(ad->diag, 0)->text : "timed out",
                        hubc_outbox_pending(ad->box));
            }
            ad->hub_lost = ad->failed = true;
            return HUB_EIO;
        }
        int64_t left = deadline - hubc_mono_ms();
        hubc_sleep_ms(pause < left ? pause : left); // a signal: the loop checks hubad_stop
        pause = pause * 2 < S_PAUSE_MAX ? pause * 2 : S_PAUSE_MAX;
    }
    return HUB_OK;
}
