// hub_error: the hub's error codes. Every fallible function in the hub's
// libraries returns an int: HUB_OK or one of these. A code never changes
// meaning; a retired code stays retired. docs/ERRORS.md gives each one's
// cause and remedy.
#ifndef HUB_ERROR_H
#define HUB_ERROR_H

enum {
    HUB_OK = 0,
    HUB_ENOMEM = 1,    // out of memory
    HUB_EIO = 2,       // a file or device could not be read or written
    HUB_EINVAL = 3,    // a bad argument from the caller (usage error)
    HUB_ECONFIG = 4,   // a configuration, schema or code table is broken
    HUB_EDECODE = 5,   // bytes on the wire or in a file are not a valid message
    HUB_ELIMIT = 6,    // a size, depth or count limit was exceeded
    HUB_EINVALID = 7,  // a message is well-formed but breaks its schema
    HUB_ENOTFOUND = 8, // the thing asked for does not exist
    HUB_EEXIST = 9,    // the thing to create exists already
    HUB_EFULL = 10,    // the store's map is full (grow the map or free space)
};

// The short stable name of CODE ("HUB_EDECODE"), for logs and JSON output.
// Never NULL; unknown codes give "HUB_E?".
const char *
hub_error_name(int code);

// One sentence describing CODE. Never NULL.
const char *
hub_strerror(int code);

#endif
