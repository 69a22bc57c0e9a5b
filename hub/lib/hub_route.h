// hub_route: the routing decision for one message: which endpoints it
// reaches, under which rules, and exactly what each receives (docs/RULES.md,
// "How a message is routed"). Used by hubd on ingest and by
// `hubctl rules test` for dry runs, so both decide the same way.
//
// When several rules release the same message to the same endpoint, the
// endpoint gets ONE delivery holding the union of their fields. Each field
// is attributed to one rule: the first rule (in rule-set order) that
// releases it with the least masking. A derived message (e.g. an
// alert.poverty_risk made from a hospitalisation) is a delivery of its own.
//
// A route object is reusable and owns the messages it hands out; they stay
// valid until the next hub_route_run() or destroy. One thread per object.
#ifndef HUB_ROUTE_H
#define HUB_ROUTE_H

#include "hub_depts.h"
#include "hub_mask.h"
#include "hub_msg.h"
#include "hub_rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HUB_ROUTE_MAX_DELIVERIES 64 // endpoints one message can reach
#define HUB_ROUTE_MAX_FIELDS 128    // fields one delivery can carry

typedef struct {
    const char *path;       // released field in the delivered message
    const hub_rule_t *rule; // the rule that released it
    hub_mask_t mask;        // the masking applied (HUB_MASK_DROP: not delivered)
    bool present;           // disclosed: in the delivered message (not dropped, and
                            // the message it comes from has it); set by the run
} hub_release_t;

typedef struct {
    const hub_endpoint_t *endpoint;
    const hub_msg_t *msg;           // what the endpoint receives
    const hub_rule_t *const *rules; // the rules that released it, in rule-set order
    size_t nrules;
    const hub_release_t *fields; // one per released field
    size_t nfields;
    const hub_schema_t *derived; // the derived type, or NULL when forwarded
} hub_delivery_t;

// What happened to each candidate rule, for dry runs and --explain.
typedef struct {
    const hub_rule_t *rule;
    bool matched;   // the condition held (or there is none)
    char note[160]; // why not, or what a recipient resolved to (with explain)
} hub_route_trace_t;

typedef struct hub_route hub_route_t;

hub_route_t *
hub_route_new(void);

// With EXPLAIN, each trace entry gets a sentence (its note); without it
// (the default, the daemon's case) no text is formatted on the hot path.
void
hub_route_set_explain(hub_route_t *self, bool explain);

// Where listed() asks for membership (docs/RULES.md, "Lists"); LISTS is
// copied, its CTX must outlive the runs. NULL (the default): nothing is
// listed, so rules that need a list do not match.
void
hub_route_set_lists(hub_route_t *self, const hub_expr_lookup_t *lists);

void
hub_route_destroy(hub_route_t **self_p);

// Routes MSG (valid, its source the authenticated identity) under RULES.
// KEY is the hub's hash key (for `hash` masking). Errors: HUB_ENOMEM;
// HUB_ELIMIT (more than HUB_ROUTE_MAX_DELIVERIES endpoints or
// HUB_ROUTE_MAX_FIELDS fields in one delivery). A derived message that
// does not come out valid (a source field it needs is absent) is skipped:
// its problems go to DIAG (may be NULL), the trace notes it, the rest of
// the routing goes on.
int
hub_route_run(hub_route_t *self, const hub_rules_t *rules, const hub_depts_t *depts,
              const hub_schemas_t *schemas, const hub_msg_t *msg,
              const uint8_t key[HUB_MASK_KEY_SIZE], hub_diag_t *diag);

size_t
hub_route_count(const hub_route_t *self);

// hub_rules_serial() of the set the last hub_route_run() used (0 before
// the first): the deliveries' rule and path pointers belong to that set.
uint64_t
hub_route_rules_serial(const hub_route_t *self);
const hub_delivery_t *
hub_route_at(const hub_route_t *self, size_t i);

size_t
hub_route_trace_count(const hub_route_t *self);
const hub_route_trace_t *
hub_route_trace_at(const hub_route_t *self, size_t i);

#endif
