// hub_config: hub.yaml's 'security' key (curve or plain; plain only with a
// listen address on this machine, refused at file:line:column otherwise),
// the address test behind it, and the PLAIN token derivation against
// vectors computed independently (Python's hashlib):
//   hashlib.blake2b(b"hub plain token v1\0" + endpoint, key=sk,
//                   digest_size=32).hexdigest()
#include "hub_config.h"
#include "hub_error.h"
#include "suites.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char s_dir[64];

static int
s_init(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/hub-test-config-XXXXXX");
    return mkdtemp(s_dir) ? 0 : 1;
}

static int
s_cleanup(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/hub.yaml", s_dir);
    unlink(path);
    return rmdir(s_dir);
}

// Writes TEXT as the temporary hub.yaml and loads it into *CFG; the
// diagnostics go to DIAG.
static int
s_load(const char *text, hub_config_t *cfg, hub_diag_t *diag)
{
    char path[128];
    snprintf(path, sizeof path, "%s/hub.yaml", s_dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    return hub_config_load(cfg, s_dir, diag);
}

// The first diagnostic's "where" ends with hub.yaml:LINE:COL, its reason is
// REASON and its text holds TEXT.
static void
s_expect_diag(hub_diag_t *diag, const char *at, const char *reason, const char *text)
{
    CU_ASSERT_FATAL(hub_diag_count(diag) >= 1);
    const hub_diag_entry_t *e = hub_diag_at(diag, 0);
    size_t wl = strlen(e->where), al = strlen(at);
    CU_ASSERT(wl >= al && strcmp(e->where + wl - al, at) == 0);
    CU_ASSERT_STRING_EQUAL(e->reason, reason);
    CU_ASSERT_PTR_NOT_NULL(strstr(e->text, text));
    if (wl < al || strcmp(e->where + wl - al, at) != 0 || !strstr(e->text, text)) {
        fprintf(stderr, "\n  got %s: %s [%s]\n", e->where, e->text, e->reason);
    }
}

static void
test_security_is_curve_unless_hub_yaml_says_plain(void)
{
    hub_config_t cfg;
    hub_diag_t *diag = hub_diag_new();
    CU_ASSERT_EQUAL_FATAL(s_load("listen: tcp://0.0.0.0:7400\n", &cfg, diag), HUB_OK);
    CU_ASSERT_EQUAL(cfg.security, HUB_SECURITY_CURVE);
    hub_config_free(&cfg);
    CU_ASSERT_EQUAL_FATAL(s_load("security: curve\nlisten: tcp://0.0.0.0:7400\n", &cfg, diag),
                          HUB_OK);
    CU_ASSERT_EQUAL(cfg.security, HUB_SECURITY_CURVE);
    hub_config_free(&cfg);
    CU_ASSERT_EQUAL_FATAL(s_load("security: plain\nlisten: tcp://127.0.0.1:7400\n", &cfg, diag),
                          HUB_OK);
    CU_ASSERT_EQUAL(cfg.security, HUB_SECURITY_PLAIN);
    hub_config_free(&cfg);
    // No listen: the default, tcp://127.0.0.1:7400, is loopback.
    CU_ASSERT_EQUAL_FATAL(s_load("security: plain\n", &cfg, diag), HUB_OK);
    CU_ASSERT_EQUAL(cfg.security, HUB_SECURITY_PLAIN);
    hub_config_free(&cfg);
    CU_ASSERT_EQUAL_FATAL(s_load("listen: ipc:///run/hub/hub.sock\nsecurity: plain\n", &cfg, diag),
                          HUB_OK);
    CU_ASSERT_EQUAL(cfg.security, HUB_SECURITY_PLAIN);
    hub_config_free(&cfg);
    CU_ASSERT_EQUAL(hub_diag_count(diag), 0);
    hub_diag_destroy(&diag);
}

static void
test_plain_with_a_network_listen_is_refused_where_it_is_said(void)
{
    hub_config_t cfg;
    hub_diag_t *diag = hub_diag_new();
    CU_ASSERT_EQUAL(s_load("listen: tcp://0.0.0.0:7400\nsecurity: plain\n", &cfg, diag),
                    HUB_ECONFIG);
    s_expect_diag(diag, "hub.yaml:2:11", "plain_not_local", "not 'tcp://0.0.0.0:7400'");
    s_expect_diag(diag, "hub.yaml:2:11", "plain_not_local", "sends each endpoint's token in clear");
    hub_diag_reset(diag);
    CU_ASSERT_EQUAL(s_load("security:   plain\nlisten: tcp://10.1.2.3:7400\n", &cfg, diag),
                    HUB_ECONFIG);
    s_expect_diag(diag, "hub.yaml:1:13", "plain_not_local", "benchmarks and local development");
    hub_diag_reset(diag);
    CU_ASSERT_EQUAL(s_load("security: plain\nlisten: tcp://*:7400\n", &cfg, diag), HUB_ECONFIG);
    s_expect_diag(diag, "hub.yaml:1:11", "plain_not_local", "'tcp://*:7400'");
    hub_diag_destroy(&diag);
}

static void
test_an_unknown_security_word_is_an_error_with_a_suggestion(void)
{
    hub_config_t cfg;
    hub_diag_t *diag = hub_diag_new();
    CU_ASSERT_EQUAL(s_load("schemas: ../schemas\nsecurity: crve\n", &cfg, diag), HUB_ECONFIG);
    s_expect_diag(diag, "hub.yaml:2:11", "bad_value",
                  "'security' must be curve or plain, not 'crve' (did you mean 'curve'?)");
    hub_diag_reset(diag);
    CU_ASSERT_EQUAL(s_load("security: none\n", &cfg, diag), HUB_ECONFIG);
    s_expect_diag(diag, "hub.yaml:1:11", "bad_value", "must be curve or plain, not 'none'");
    hub_diag_reset(diag);
    CU_ASSERT_EQUAL(s_load("security: [plain]\n", &cfg, diag), HUB_ECONFIG);
    s_expect_diag(diag, "hub.yaml:1:11", "wrong_type", "'security' must be a single value");
    hub_diag_reset(diag);
    CU_ASSERT_EQUAL(s_load("securty: plain\n", &cfg, diag), HUB_ECONFIG);
    s_expect_diag(diag, "hub.yaml:1:1", "unknown_key", "did you mean 'security'");
    hub_diag_destroy(&diag);
}

static void
test_only_addresses_on_this_machine_are_local(void)
{
    static const struct {
        const char *address;
        bool local;
    } cases[] = {
        {"tcp://127.0.0.1:7400", true},
        {"tcp://127.0.0.1:*", true},
        {"tcp://localhost:1", true},
        {"tcp://[::1]:7400", true},
        {"ipc:///var/lib/hub/hub.sock", true},
        {"ipc://hub.sock", true},
        {"ipc://", false},
        {"tcp://0.0.0.0:7400", false},
        {"tcp://*:7400", false},
        {"tcp://10.0.0.1:7400", false},
        {"tcp://127.0.0.1", false},
        {"tcp://127.0.0.1:", false},
        {"tcp://127.0.0.1:123456", false},
        {"tcp://127.0.0.1:7400;10.0.0.1:1", false},
        {"tcp://127.0.0.1.example.org:7400", false},
        {"tcp://localhost.example.org:1", false},
        {"tcp://[::]:7400", false},
        {"tcp://[::1]", false},
        {"TCP://127.0.0.1:7400", false},
        {"ws://127.0.0.1:7400", false},
        {"inproc://hub", false},
        {"", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool got = hub_config_is_local(cases[i].address);
        CU_ASSERT_EQUAL(got, cases[i].local);
        if (got != cases[i].local) {
            fprintf(stderr, "\n  %s: got %d\n", cases[i].address, got);
        }
    }
}

static void
test_tokens_match_an_independent_blake2b(void)
{
    uint8_t sk[32];
    char token[65];
    for (int i = 0; i < 32; i++) {
        sk[i] = (uint8_t) i;
    }
    CU_ASSERT_EQUAL(hub_config_plain_token(sk, "education@513431", token), HUB_OK);
    CU_ASSERT_STRING_EQUAL(token,
                           "1d08b927d47d250fa0679ae9d4c026f2d33ea1a376319bbd95863653c3b93c68");
    CU_ASSERT_EQUAL(hub_config_plain_token(sk, "", token), HUB_OK);
    CU_ASSERT_STRING_EQUAL(token,
                           "c7572482147d51420c821ab54cfdb72c530a2edd8a917eb4e754a7bf427c6fbc");
    memset(sk, 0xff, sizeof sk);
    CU_ASSERT_EQUAL(hub_config_plain_token(sk, "health@513400", token), HUB_OK);
    CU_ASSERT_STRING_EQUAL(token,
                           "c7fee5bfc4d79f66bf1fe972d121e0f435c9ec3347a934c10a00c7bc6f02fd6c");
}

static void
test_a_token_belongs_to_one_endpoint_and_one_hub_key(void)
{
    uint8_t sk[32] = {0};
    char a[65], b[65], c[65];
    CU_ASSERT_EQUAL(hub_config_plain_token(sk, "education@513400", a), HUB_OK);
    CU_ASSERT_EQUAL(hub_config_plain_token(sk, "education@513401", b), HUB_OK);
    sk[31] = 1;
    CU_ASSERT_EQUAL(hub_config_plain_token(sk, "education@513400", c), HUB_OK);
    CU_ASSERT_EQUAL(strlen(a), 64);
    CU_ASSERT_EQUAL(strspn(a, "0123456789abcdef"), 64);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    CU_ASSERT_STRING_NOT_EQUAL(a, c);
}

// writer_inline_max: 64 unless said; 0 (every batch to the writer thread)
// and up to 65536 taken; below 0 or above, refused where it is said.
static void
test_writer_inline_max_takes_0_to_65536(void)
{
    hub_config_t cfg;
    hub_diag_t *diag = hub_diag_new();
    CU_ASSERT_EQUAL_FATAL(s_load("batch_max: 512\n", &cfg, diag), HUB_OK);
    CU_ASSERT_EQUAL(cfg.writer_inline_max, 64);
    hub_config_free(&cfg);
    CU_ASSERT_EQUAL_FATAL(s_load("writer_inline_max: 0\n", &cfg, diag), HUB_OK);
    CU_ASSERT_EQUAL(cfg.writer_inline_max, 0);
    hub_config_free(&cfg);
    CU_ASSERT_EQUAL_FATAL(s_load("writer_inline_max: 65536\n", &cfg, diag), HUB_OK);
    CU_ASSERT_EQUAL(cfg.writer_inline_max, 65536);
    hub_config_free(&cfg);
    CU_ASSERT_EQUAL(hub_diag_count(diag), 0);
    CU_ASSERT_EQUAL(s_load("batch_max: 8\nwriter_inline_max: -1\n", &cfg, diag), HUB_ECONFIG);
    s_expect_diag(diag, "hub.yaml:2:20", "bad_value",
                  "'writer_inline_max' must be between 0 and 65536");
    hub_diag_reset(diag);
    CU_ASSERT_EQUAL(s_load("writer_inline_max: 65537\n", &cfg, diag), HUB_ECONFIG);
    s_expect_diag(diag, "hub.yaml:1:20", "bad_value", "between 0 and 65536");
    hub_diag_reset(diag);
    // The positive settings still refuse 0.
    CU_ASSERT_EQUAL(s_load("batch_max: 0\n", &cfg, diag), HUB_ECONFIG);
    s_expect_diag(diag, "hub.yaml:1:12", "bad_value", "'batch_max' must be between 1 and 65536");
    hub_diag_destroy(&diag);
}

// store_drop_behind: 256 MiB unless said; 0 (never drop) and up to 1 TiB
// taken; below 0 refused where it is said.
static void
test_store_drop_behind_is_256_mib_unless_said(void)
{
    hub_config_t cfg;
    hub_diag_t *diag = hub_diag_new();
    CU_ASSERT_EQUAL_FATAL(s_load("batch_max: 512\n", &cfg, diag), HUB_OK);
    CU_ASSERT_EQUAL(cfg.store_drop_behind, (size_t) 256 << 20);
    hub_config_free(&cfg);
    CU_ASSERT_EQUAL_FATAL(s_load("store_drop_behind: 0\n", &cfg, diag), HUB_OK);
    CU_ASSERT_EQUAL(cfg.store_drop_behind, 0);
    hub_config_free(&cfg);
    CU_ASSERT_EQUAL_FATAL(s_load("store_drop_behind: 67108864\n", &cfg, diag), HUB_OK);
    CU_ASSERT_EQUAL(cfg.store_drop_behind, (size_t) 64 << 20);
    hub_config_free(&cfg);
    CU_ASSERT_EQUAL_FATAL(s_load("store_drop_behind: 1073741824\n", &cfg, diag), HUB_OK);
    CU_ASSERT_EQUAL(cfg.store_drop_behind, (size_t) 1 << 30);
    hub_config_free(&cfg);
    CU_ASSERT_EQUAL(hub_diag_count(diag), 0);
    CU_ASSERT_EQUAL(s_load("store_drop_behind: -1\n", &cfg, diag), HUB_ECONFIG);
    s_expect_diag(diag, "hub.yaml:1:20", "bad_value", "'store_drop_behind' must be between 0");
    hub_diag_destroy(&diag);
}

// The subject index's run size and fan-in: 65,536 and 16 unless said;
// outside 16..2^24 and 2..64 refused where it is said.
static void
test_store_index_settings_have_defaults_and_bounds(void)
{
    hub_config_t cfg;
    hub_diag_t *diag = hub_diag_new();
    CU_ASSERT_EQUAL_FATAL(s_load("batch_max: 512\n", &cfg, diag), HUB_OK);
    CU_ASSERT_EQUAL(cfg.store_index_run, 65536);
    CU_ASSERT_EQUAL(cfg.store_index_fanin, 16);
    hub_config_free(&cfg);
    CU_ASSERT_EQUAL_FATAL(s_load("store_index_run: 64\nstore_index_fanin: 4\n", &cfg, diag),
                          HUB_OK);
    CU_ASSERT_EQUAL(cfg.store_index_run, 64);
    CU_ASSERT_EQUAL(cfg.store_index_fanin, 4);
    hub_config_free(&cfg);
    CU_ASSERT_EQUAL(hub_diag_count(diag), 0);
    CU_ASSERT_EQUAL(s_load("store_index_run: 15\n", &cfg, diag), HUB_ECONFIG);
    s_expect_diag(diag, "hub.yaml:1:18", "bad_value", "'store_index_run' must be between 16");
    hub_diag_destroy(&diag);
    diag = hub_diag_new();
    CU_ASSERT_EQUAL(s_load("store_index_fanin: 65\n", &cfg, diag), HUB_ECONFIG);
    s_expect_diag(diag, "hub.yaml:1:20", "bad_value", "'store_index_fanin' must be between 2");
    hub_diag_destroy(&diag);
}

void
test_config_register(void)
{
    CU_pSuite s = CU_add_suite("config", s_init, s_cleanup);
    CU_add_test(s, "security is curve unless hub.yaml says plain",
                test_security_is_curve_unless_hub_yaml_says_plain);
    CU_add_test(s, "plain with a network listen is refused where it is said",
                test_plain_with_a_network_listen_is_refused_where_it_is_said);
    CU_add_test(s, "an unknown security word is an error with a suggestion",
                test_an_unknown_security_word_is_an_error_with_a_suggestion);
    CU_add_test(s, "only addresses on this machine are local",
                test_only_addresses_on_this_machine_are_local);
    CU_add_test(s, "tokens match an independent BLAKE2b", test_tokens_match_an_independent_blake2b);
    CU_add_test(s, "writer_inline_max takes 0 to 65536", test_writer_inline_max_takes_0_to_65536);
    CU_add_test(s, "store_drop_behind is 256 MiB unless said",
                test_store_drop_behind_is_256_mib_unless_said);
    CU_add_test(s, "store_index_run and store_index_fanin have defaults and bounds",
                test_store_index_settings_have_defaults_and_bounds);
    CU_add_test(s, "a token belongs to one endpoint and one hub key",
                test_a_token_belongs_to_one_endpoint_and_one_hub_key);
}
