/*
 * LD_PRELOAD shim that lets Debian's libserialport 0.1.1 drive a pty, so
 * tests exercise the real libserialport path against appcore-sim.
 * libserialport looks a port up under /sys/class/tty (lstat, readlink),
 * which has no entry for /dev/pts/N, and sp_open() fails on TIOCMGET,
 * which a pty does not implement.  Only those calls, only for ptys, are
 * answered here; everything else goes to libc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define SYS_TTY "/sys/class/tty/"

/* /sys/class/tty/NAME where /dev/NAME is (a link to) a pty slave. */
static int
is_pts_sysfs(const char *path)
{
	char dev[512], real[4096];

	if (strncmp(path, SYS_TTY, sizeof(SYS_TTY) - 1) != 0)
		return 0;
	snprintf(dev, sizeof(dev), "/dev/%s", path + sizeof(SYS_TTY) - 1);
	return realpath(dev, real) != NULL &&
	    strncmp(real, "/dev/pts/", 9) == 0;
}

static void
fake_link(struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFLNK | 0777;
}

int
lstat(const char *path, struct stat *st)
{
	static int (*real)(const char *, struct stat *);

	if (is_pts_sysfs(path)) {
		fake_link(st);
		return 0;
	}
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "lstat");
	return real(path, st);
}

/* What Debian's libserialport 0.1.1 actually links against. */
int __lxstat(int ver, const char *path, struct stat *st);

int
__lxstat(int ver, const char *path, struct stat *st)
{
	static int (*real)(int, const char *, struct stat *);

	if (is_pts_sysfs(path)) {
		fake_link(st);
		return 0;
	}
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "__lxstat");
	return real(ver, path, st);
}

ssize_t
readlink(const char *path, char *buf, size_t len)
{
	static ssize_t (*real)(const char *, char *, size_t);
	int n;

	if (is_pts_sysfs(path)) {
		n = snprintf(buf, len, "../../devices/virtual/tty/%s",
		    path + sizeof(SYS_TTY) - 1);
		return n < 0 || (size_t)n >= len ? (errno = ENAMETOOLONG, -1) : n;
	}
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "readlink");
	return real(path, buf, len);
}

int
ioctl(int fd, unsigned long req, ...)
{
	static int (*real)(int, unsigned long, ...);
	struct stat st;
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if ((req == TIOCMGET || req == TIOCMSET || req == TIOCMBIS ||
	    req == TIOCMBIC) && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) &&
	    major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143) {
		if (req == TIOCMGET)
			*(int *)arg = TIOCM_DTR | TIOCM_RTS | TIOCM_CTS |
			    TIOCM_DSR | TIOCM_CD;
		return 0;
	}
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "ioctl");
	return real(fd, req, arg);
}
