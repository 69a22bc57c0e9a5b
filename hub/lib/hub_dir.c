#include "hub_dir.h"

#include "hub_error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
hub_dir_sync(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return HUB_EIO;
    }
    int rc = fsync(fd) == 0 || errno == EINVAL ? HUB_OK : HUB_EIO;
    int err = errno;
    close(fd);
    errno = err;
    return rc;
}

// The directory holding PATH, malloc'd: "a/b" -> "a", "a/b/" -> "a",
// "/a" -> "/", "a" -> ".". NULL when out of memory.
static char *
s_parent(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') { // trailing slashes
        n--;
    }
    while (n > 0 && path[n - 1] != '/') { // the last name
        n--;
    }
    while (n > 1 && path[n - 1] == '/') { // the slashes before it
        n--;
    }
    return n ? strndup(path, n) : strdup(".");
}

int
hub_dir_make(const char *path, mode_t mode, bool *created)
{
    struct stat st;
    if (created) {
        *created = false;
    }
    if (mkdir(path, mode) != 0) {
        int err = errno;
        if (err == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            return HUB_OK;
        }
        errno = err;
        return HUB_EIO;
    }
    if (created) {
        *created = true;
    }
    char *parent = s_parent(path);
    if (!parent) {
        return HUB_ENOMEM;
    }
    int rc = hub_dir_sync(parent);
    int err = errno;
    free(parent);
    errno = err;
    return rc;
}
