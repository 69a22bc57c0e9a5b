// Helpers shared by the unit suites.
#ifndef HUB_TESTUTIL_H
#define HUB_TESTUTIL_H

#include "hub_buf.h"
#include "hub_config.h"
#include "hub_depts.h"
#include "hub_msg.h"
#include "hub_route.h"
#include "hub_rules.h"
#include "hub_schema.h"
#include "hub_store.h"

#include <stdbool.h>
#include <stdint.h>

// A valid student.enrolment_change (the dropout of scenario 1) with a
// 15-field body and subject. Resets MSG first.
void
tu_dropout(hub_msg_t *msg);

// A suite's temporary directory with numbered directories in it (a
// file-local static, zeroed; not thread-safe).
typedef struct {
    char root[64]; // /tmp/hub-test-NAME-XXXXXX, made by tu_tmp_init()
    int ndirs;     // directories named in it so far
    char dir[128]; // the one tu_tmp_dir() named last
} tu_tmp_t;

// Makes T's root for suite NAME. Returns 0, else nonzero (a suite init's).
int
tu_tmp_init(tu_tmp_t *t, const char *name);

// Removes T's root and all in it. Returns nonzero when it could not.
int
tu_tmp_cleanup(tu_tmp_t *t);

// A fresh path ROOT/<WHAT><n> (not created): T->dir.
const char *
tu_tmp_dir(tu_tmp_t *t, const char *what);

// Reads tests/data/messages/NAME (JSON, up to 64 KiB) into MSG; a test
// failure (fatal) when it cannot. Not thread-safe (one static buffer).
void
tu_load_msg(hub_msg_t *msg, const char *name);

// A deterministic pseudo-random message from SEED: random keys, kinds,
// lengths (including multi-byte UTF-8 and 4-byte characters) and lists.
void
tu_random_msg(hub_msg_t *msg, uint64_t seed);

// The shipped schema set, loaded once per process from ./schemas.
const hub_schemas_t *
tu_schemas(void);

// xorshift64* step.
uint64_t
tu_rand(uint64_t *state);

// A store suite's fixture: a temporary directory for its stores, and the
// shipped configuration, departments and rules with a route, a message
// and an encoding buffer to ingest with. One per suite (a file-local
// static, zeroed); not thread-safe.
typedef struct {
    char root[64]; // the suite's temporary directory
    int ndirs;     // stores named in it so far
    char dir[128]; // the store directory tu_store_dir() named last
    hub_config_t cfg;
    hub_depts_t *depts;
    hub_rules_t *rules;
    hub_route_t *route;
    hub_msg_t *msg; // empty: the suite fills it
    hub_buf_t enc;
    bool events; // tu_store_ingest() passes the event a one-event type reports, as hubd does
} tu_store_fix_t;

// Makes F's directory, /tmp/hub-test-NAME-XXXXXX, and loads ./config
// against tu_schemas(), printing the diagnostics when anything fails or
// has errors. Returns 0, else nonzero (as a CUnit suite's init does).
int
tu_store_init(tu_store_fix_t *f, const char *name);

// Removes F's directory and frees everything tu_store_init() made.
// Returns nonzero when the directory could not be removed.
int
tu_store_cleanup(tu_store_fix_t *f);

// A fresh store directory (not created) under F's root: F->dir.
const char *
tu_store_dir(tu_store_fix_t *f);

// Routes F->msg with KEY (a fatal CUnit failure when it does not route),
// encodes it into F->enc and ingests it into the open batch of ST: from
// its envelope's source, with its id and type, about citizen CID (NULL:
// none), under rule-set VERSION, received at NOW (ms); with F->events,
// as the event its schema's one_event_per field names (hub_schemas_event(),
// else as no event). Returns hub_store_ingest()'s code; *RES gets its
// result.
int
tu_store_ingest(tu_store_fix_t *f, hub_store_t *st, const uint8_t key[32], const char *cid,
                const char *version, uint64_t now, hub_store_result_t *res);

// The last sequence number of DB in ST (UINT64_MAX, with a CUnit failure,
// when it cannot be read).
uint64_t
tu_store_last(hub_store_t *st, hub_store_seqdb_t db);

#endif
