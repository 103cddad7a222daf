/* Test-only LD_PRELOAD library: reads of one file (EIO_PATH) fail with EIO inside the byte
 * range [EIO_START, EIO_END), as a scratched disc does; EIO_DELAY_US slows every read of
 * that file, so a test can kill a run half-way; EIO_LOG names a file each failed read is
 * appended to (its offset, one a line), so a test can count the reads of the bad area.
 * Built by tests/test_data_discs.py. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);
typedef ssize_t (*read_fn)(int, void *, size_t);

static int watched(int fd) {
    const char *want = getenv("EIO_PATH");
    char link[64], path[4096];
    if (!want) return 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0) return 0;
    path[n] = 0;
    return strcmp(path, want) == 0;
}

static void log_failure(off_t off) {
    const char *log = getenv("EIO_LOG");
    FILE *f = log ? fopen(log, "a") : NULL;
    if (f) {
        fprintf(f, "%lld\n", (long long)off);
        fclose(f);
    }
}

/* How many bytes from `off` may be read (count), 0 meaning: fail with EIO. */
static size_t allowed(off_t off, size_t count) {
    const char *s = getenv("EIO_START"), *e = getenv("EIO_END"), *d = getenv("EIO_DELAY_US");
    if (d) usleep((useconds_t)atol(d));
    if (!s || !e) return count;
    off_t start = atoll(s), end = atoll(e);
    if (off >= start && off < end) return 0;
    if (off < start && off + (off_t)count > start) return (size_t)(start - off);
    return count;
}

ssize_t pread64(int fd, void *buf, size_t count, off_t off) {
    static pread_fn real;
    if (!real) real = (pread_fn)dlsym(RTLD_NEXT, "pread64");
    if (watched(fd)) {
        size_t ok = allowed(off, count);
        if (!ok) { log_failure(off); errno = EIO; return -1; }
        count = ok;
    }
    return real(fd, buf, count, off);
}

ssize_t pread(int fd, void *buf, size_t count, off_t off) { return pread64(fd, buf, count, off); }

ssize_t read(int fd, void *buf, size_t count) {
    static read_fn real;
    if (!real) real = (read_fn)dlsym(RTLD_NEXT, "read");
    if (watched(fd)) {
        off_t off = lseek(fd, 0, SEEK_CUR);
        size_t ok = allowed(off, count);
        if (!ok) { log_failure(off); errno = EIO; return -1; }
        count = ok;
    }
    return real(fd, buf, count);
}
