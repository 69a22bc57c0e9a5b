// hub_dir: directories made durable. Making a file or a directory writes
// an entry into the directory that holds it, and that entry is on the
// disk only once that directory is fsynced: until then a power cut may
// take the new file or directory away with all that was fsynced inside it
// (the data's own fsync does not cover its name). For the store, the
// adapters' outboxes and the sinks' inboxes (docs/STORE.md, "Writing:
// batches and durability"). Plain functions, any thread; errors leave
// errno as the failing call set it, for the caller's diagnostic.
#ifndef HUB_DIR_H
#define HUB_DIR_H

#include <stdbool.h>
#include <sys/types.h>

// Fsyncs directory PATH: the entries made in it so far (new files and
// directories, renames) survive a power cut. A file system that cannot
// sync a directory at all (EINVAL) counts as done: it has nothing better.
// Errors: HUB_EIO, errno saying why (ENOENT: no such path, ENOTDIR: not a
// directory, EACCES, EIO).
int
hub_dir_sync(const char *path);

// Makes directory PATH with MODE (as mkdir(2), one level) and, when it is
// new, fsyncs the directory holding it ("." for a name without a slash),
// so that it survives a power cut. A directory already there is HUB_OK.
// *CREATED (may be NULL) says whether PATH was made now: true with an
// error means made, but not durable. Errors: HUB_EIO, errno saying why
// (EEXIST: PATH is there but not a directory; ENOENT: its parent is
// missing), HUB_ENOMEM.
int
hub_dir_make(const char *path, mode_t mode, bool *created);

#endif
