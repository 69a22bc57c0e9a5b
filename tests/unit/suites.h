// Every unit suite's registration function. main.c calls each in turn.
#ifndef HUB_TEST_SUITES_H
#define HUB_TEST_SUITES_H

void test_ids_register(void);
void test_utf8_register(void);
void test_msg_register(void);
void test_codec_register(void);
void test_json_register(void);
void test_yaml_register(void);
void test_schema_register(void);
void test_validate_register(void);
void test_expr_register(void);
void test_rules_register(void);
void test_route_register(void);
void test_store_register(void);
void test_store_ops_register(void);
void test_store_id_register(void);
void test_store_disc_register(void);
void test_store_dedup_register(void);
void test_store_runs_register(void);
void test_retain_register(void);
void test_mpw_register(void);
void test_textdiff_register(void);
void test_sink_register(void);
void test_inbox_restart_register(void);
void test_rejects_register(void);
void test_metrics_register(void);
void test_csv_register(void);
void test_map_register(void);
void test_config_register(void);
void test_deliver_register(void);
void test_lists_register(void);
void test_store_lists_register(void);
void test_dir_register(void);

#endif
