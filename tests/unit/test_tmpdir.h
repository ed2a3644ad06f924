/* test_tmpdir.h: the one temporary-directory helper of the unit tests.
 * test_tmpdir_create makes a fresh private directory under /tmp;
 * test_tmpdir_remove deletes it and everything below it with nftw (no
 * shell, no system(), symbolic links are removed, never followed).
 * Header only: each unit test is a single-file program. */
#ifndef VEILLE_TEST_TMPDIR_H
#define VEILLE_TEST_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Creates /tmp/<PREFIX>XXXXXX (mode 0700) and writes its path into DIR
 * (CAP bytes, owned by the caller). Returns 0, or -1 if the path does not
 * fit or mkdtemp fails. */
static inline int
test_tmpdir_create (char *dir, size_t cap, const char *prefix)
{
    int n = snprintf (dir, cap, "/tmp/%sXXXXXX", prefix);
    if (n < 0 || (size_t) n >= cap)
        return -1;
    return mkdtemp (dir) ? 0 : -1;
}

/* nftw callback: removes one entry (children come first, FTW_DEPTH). */
static inline int
test_tmpdir_rm_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st; (void) flag; (void) ftw;
    return remove (path);
}

/* Removes DIR and its whole tree. Returns 0, or -1 on the first entry that
 * cannot be removed (the walk stops there). */
static inline int
test_tmpdir_remove (const char *dir)
{
    return nftw (dir, test_tmpdir_rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

#endif
