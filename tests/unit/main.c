// The unit test runner: every CUnit suite, one per module. Exits non-zero
// on any failure. Run from the repository root (suites read schemas/).
// `unit_tests SUITE...` runs only the named suites.
#include "suites.h"

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

static void (*const s_registers[])(void) = {
    test_ids_register,        test_utf8_register,        test_msg_register,
    test_codec_register,      test_json_register,        test_yaml_register,
    test_schema_register,     test_validate_register,    test_expr_register,
    test_rules_register,      test_route_register,       test_lists_register,
    test_store_register,      test_store_ops_register,   test_store_dedup_register,
    test_store_runs_register, test_store_lists_register, test_store_id_register,
    test_store_disc_register, test_retain_register,      test_mpw_register,
    test_textdiff_register,   test_sink_register,        test_inbox_restart_register,
    test_rejects_register,    test_metrics_register,     test_csv_register,
    test_map_register,        test_deliver_register,     test_config_register,
    test_dir_register,
};

int
main(int argc, char **argv)
{
    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 2;
    }
    for (size_t i = 0; i < sizeof s_registers / sizeof s_registers[0]; i++) {
        s_registers[i]();
    }
    CU_basic_set_mode(CU_BRM_NORMAL);
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            CU_pSuite suite = CU_get_suite(argv[i]);
            if (!suite) {
                fprintf(stderr, "unit_tests: no suite '%s'\n", argv[i]);
                CU_cleanup_registry();
                return 2;
            }
            CU_basic_run_suite(suite);
        }
    } else {
        CU_basic_run_tests();
    }
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    unsigned ran = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (ran == 0) {
        fprintf(stderr, "unit_tests: no test ran\n");
        return 1;
    }
    return failed ? 1 : 0;
}
