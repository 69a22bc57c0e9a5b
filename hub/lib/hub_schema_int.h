// Private to hub_schema*.c: the schema loader (hub_schema.c) and the
// one-event option (hub_schema_event.c).
#ifndef HUB_SCHEMA_INT_H
#define HUB_SCHEMA_INT_H

#include "hub_schema.h"

#include <stdbool.h>

// Reads ROOT's `one_event_per` (or the older `one_event_per_subject`)
// into S->event_field. Their form is always checked; the field they name
// only when FIELDS_OK (S's subject and body loaded without error, so a
// broken field is not reported twice). Reports into DIAG at the option's
// value: both options given, a field S does not declare (with the nearest
// it does), an optional one, one whose value is not a string. Errors:
// HUB_ECONFIG, HUB_ENOMEM.
int
hub_schema_event_parse(const hub_yaml_t *doc, int root, bool fields_ok, hub_schema_t *s,
                       hub_diag_t *diag);

#endif
