/* Test-only LD_PRELOAD library: one block device (CDROM_PATH, a loop device holding a disc
 * image) answers the Linux cdrom driver's ioctls as an optical drive does, so the drive code
 * runs against a real block device with a real disc on it. The drive's state lives in a
 * file (CDROM_STATE: "disc", "no_disc", "tray_open" or "not_ready") that every process
 * shares: the test puts a disc in or takes it out by writing it, and CDROMEJECT (what
 * util-linux eject sends first, after CDROM_LOCKDOOR) opens the tray by writing
 * "tray_open" there.
 * CDROM_DISC is the CDROM_DISC_STATUS answer (default 101, CDS_DATA_1).
 * Values are linux/cdrom.h's. Built by tests/test_drives.py. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CDROMEJECT 0x5309
#define CDROM_DRIVE_STATUS 0x5326
#define CDROM_DISC_STATUS 0x5327
#define CDROM_LOCKDOOR 0x5329
#define CDS_NO_DISC 1
#define CDS_TRAY_OPEN 2
#define CDS_DRIVE_NOT_READY 3
#define CDS_DISC_OK 4

typedef int (*ioctl_fn)(int, unsigned long, void *);

static int is_drive(int fd) {
    const char *want = getenv("CDROM_PATH");
    char link[64], path[4096];
    if (!want) return 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0) return 0;
    path[n] = 0;
    return strcmp(path, want) == 0;
}

static int state(void) {
    const char *file = getenv("CDROM_STATE");
    char buf[32] = "";
    FILE *f = file ? fopen(file, "r") : NULL;
    if (f) {
        if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
        fclose(f);
    }
    if (strncmp(buf, "disc", 4) == 0) return CDS_DISC_OK;
    if (strncmp(buf, "tray_open", 9) == 0) return CDS_TRAY_OPEN;
    if (strncmp(buf, "not_ready", 9) == 0) return CDS_DRIVE_NOT_READY;
    return CDS_NO_DISC;
}

int ioctl(int fd, unsigned long request, ...) {
    static ioctl_fn real;
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (!real) real = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
    if (is_drive(fd)) {
        if (request == CDROM_DRIVE_STATUS) return state();
        if (request == CDROM_DISC_STATUS) {
            const char *disc = getenv("CDROM_DISC");
            if (state() != CDS_DISC_OK) return CDS_NO_DISC;
            return disc ? atoi(disc) : 101;
        }
        if (request == CDROM_LOCKDOOR) return 0;  /* eject unlocks the door first */
        if (request == CDROMEJECT) {
            FILE *f = fopen(getenv("CDROM_STATE"), "w");
            if (!f) { errno = EIO; return -1; }
            fputs("tray_open\n", f);
            fclose(f);
            return 0;
        }
    }
    return real(fd, request, arg);
}
