// hub_dir on real directories: a directory is synced and made; the
// errors (a missing path, a file, a missing parent) come back as HUB_EIO
// with errno saying which; a name without a slash is made in ".".
#include "hub_dir.h"
#include "hub_error.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static tu_tmp_t s_f;

static int
s_init(void)
{
    return tu_tmp_init(&s_f, "dir");
}

static int
s_cleanup(void)
{
    return tu_tmp_cleanup(&s_f);
}

static bool
s_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void
test_a_directory_is_synced(void)
{
    CU_ASSERT_EQUAL(hub_dir_sync(s_f.root), HUB_OK);
    CU_ASSERT_EQUAL(hub_dir_sync("."), HUB_OK);
}

static void
test_syncing_a_missing_path_or_a_file_is_an_error_errno_names(void)
{
    char path[256], file[256];
    snprintf(path, sizeof path, "%s/missing", s_f.root);
    errno = 0;
    CU_ASSERT_EQUAL(hub_dir_sync(path), HUB_EIO);
    CU_ASSERT_EQUAL(errno, ENOENT);
    snprintf(path, sizeof path, "%s/missing/below", s_f.root);
    CU_ASSERT_EQUAL(hub_dir_sync(path), HUB_EIO);
    CU_ASSERT_EQUAL(errno, ENOENT);
    snprintf(file, sizeof file, "%s/file", s_f.root);
    FILE *f = fopen(file, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fclose(f);
    CU_ASSERT_EQUAL(hub_dir_sync(file), HUB_EIO);
    CU_ASSERT_EQUAL(errno, ENOTDIR);
}

static void
test_a_new_directory_is_made_and_says_so(void)
{
    bool created = false;
    const char *dir = tu_tmp_dir(&s_f, "new");
    CU_ASSERT_EQUAL(hub_dir_make(dir, 0700, &created), HUB_OK);
    CU_ASSERT_TRUE(created);
    CU_ASSERT_TRUE(s_is_dir(dir));
    struct stat st;
    CU_ASSERT_EQUAL(stat(dir, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
    // There already: fine, and not made now.
    CU_ASSERT_EQUAL(hub_dir_make(dir, 0700, &created), HUB_OK);
    CU_ASSERT_FALSE(created);
    CU_ASSERT_EQUAL(hub_dir_make(dir, 0700, NULL), HUB_OK);
    // A trailing slash names the same directory; its parent is the root.
    char slashed[256];
    snprintf(slashed, sizeof slashed, "%s/", tu_tmp_dir(&s_f, "new"));
    CU_ASSERT_EQUAL(hub_dir_make(slashed, 0750, &created), HUB_OK);
    CU_ASSERT_TRUE(created);
    CU_ASSERT_TRUE(s_is_dir(slashed));
}

static void
test_making_below_a_missing_parent_or_over_a_file_is_an_error(void)
{
    bool created = true;
    char path[256];
    snprintf(path, sizeof path, "%s/absent/child", s_f.root);
    errno = 0;
    CU_ASSERT_EQUAL(hub_dir_make(path, 0700, &created), HUB_EIO);
    CU_ASSERT_EQUAL(errno, ENOENT);
    CU_ASSERT_FALSE(created);
    CU_ASSERT_FALSE(s_is_dir(path));
    snprintf(path, sizeof path, "%s/plain", s_f.root);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fclose(f);
    created = true;
    CU_ASSERT_EQUAL(hub_dir_make(path, 0700, &created), HUB_EIO);
    CU_ASSERT_EQUAL(errno, EEXIST);
    CU_ASSERT_FALSE(created);
}

static void
test_a_name_without_a_slash_is_made_in_the_current_directory(void)
{
    int here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CU_ASSERT_FATAL(here >= 0);
    CU_ASSERT_FATAL(chdir(s_f.root) == 0);
    bool created = false;
    int rc = hub_dir_make("plainname", 0700, &created);
    bool made = s_is_dir("plainname");
    CU_ASSERT_FATAL(fchdir(here) == 0);
    close(here);
    CU_ASSERT_EQUAL(rc, HUB_OK);
    CU_ASSERT_TRUE(created);
    CU_ASSERT_TRUE(made);
}

void
test_dir_register(void)
{
    CU_pSuite s = CU_add_suite("dir", s_init, s_cleanup);
    CU_add_test(s, "a directory is synced", test_a_directory_is_synced);
    CU_add_test(s, "syncing a missing path or a file is an error errno names",
                test_syncing_a_missing_path_or_a_file_is_an_error_errno_names);
    CU_add_test(s, "a new directory is made and says so", test_a_new_directory_is_made_and_says_so);
    CU_add_test(s, "making below a missing parent or over a file is an error",
                test_making_below_a_missing_parent_or_over_a_file_is_an_error);
    CU_add_test(s, "a name without a slash is made in the current directory",
                test_a_name_without_a_slash_is_made_in_the_current_directory);
}
