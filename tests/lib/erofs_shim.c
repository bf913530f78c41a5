/* LD_PRELOAD shim for integration_readonly.py: makes one file system
 * read-only under a running process.
 *
 * Linux refuses to remount a file system read-only while a process holds a
 * file on it open for writing (EBUSY), and an ext4 that goes read-only by
 * itself on an error cannot be made writable again without unmounting, so
 * "the database's file system becomes read-only under the daemon and
 * writable again later" cannot be produced with mount(8). While the file
 * named by PINWATCH_TEST_EROFS_FLAG exists, this shim answers what the
 * kernel answers on a read-only file system for every call that would
 * modify a file on the file system holding PINWATCH_TEST_EROFS_DIR: EROFS
 * from open for writing or creating, access(W_OK), write, pwrite,
 * ftruncate, fallocate, unlink, mkdir, rmdir, fchmod and fchown. Reads, locks and existing
 * mappings go on working, as they do on a read-only mount.
 */
#undef _FILE_OFFSET_BITS /* define open and open64 both, as libc does */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static dev_t target_dev;
static int target_state; /* 0 unknown, 1 known, -1 not configured */

static bool active(void)
{
	const char *flag = getenv("PINWATCH_TEST_EROFS_FLAG");
	const char *dir = getenv("PINWATCH_TEST_EROFS_DIR");
	struct stat st;
	if (!flag || !dir)
		return false;
	if (target_state == 0) {
		/* a plain syscall: no recursion into our own wrappers */
		if (stat(dir, &st) == 0) {
			target_dev = st.st_dev;
			target_state = 1;
		} else {
			target_state = -1;
		}
	}
	return target_state == 1 && stat(flag, &st) == 0;
}

static bool fd_on_target(int fd)
{
	struct stat st;
	return active() && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == target_dev;
}

static bool path_on_target(const char *path)
{
	struct stat st;
	char buf[4096];
	if (!active() || !path)
		return false;
	if (stat(path, &st) == 0)
		return st.st_dev == target_dev;
	/* a file to be created: its directory decides */
	snprintf(buf, sizeof(buf), "%s", path);
	return stat(dirname(buf), &st) == 0 && st.st_dev == target_dev;
}

/* the build hides symbols by default; these must interpose */
#define SHIM __attribute__((visibility("default")))

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

static int refuse(void)
{
	errno = EROFS;
	return -1;
}

static bool writes(int flags)
{
	return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0;
}

SHIM int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
	va_end(ap);
	if (writes(flags) && path_on_target(path))
		return refuse();
	return REAL(open)(path, flags, mode);
}

SHIM int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
	va_end(ap);
	if (writes(flags) && path_on_target(path))
		return refuse();
	return REAL(open64)(path, flags, mode);
}

SHIM int access(const char *path, int mode)
{
	if ((mode & W_OK) && path_on_target(path))
		return refuse();
	return REAL(access)(path, mode);
}

SHIM ssize_t write(int fd, const void *buf, size_t n)
{
	if (fd_on_target(fd))
		return refuse();
	return REAL(write)(fd, buf, n);
}

SHIM ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (fd_on_target(fd))
		return refuse();
	return REAL(pwrite)(fd, buf, n, off);
}

SHIM ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	if (fd_on_target(fd))
		return refuse();
	return REAL(pwrite64)(fd, buf, n, off);
}

SHIM int ftruncate(int fd, off_t len)
{
	if (fd_on_target(fd))
		return refuse();
	return REAL(ftruncate)(fd, len);
}

SHIM int ftruncate64(int fd, off64_t len)
{
	if (fd_on_target(fd))
		return refuse();
	return REAL(ftruncate64)(fd, len);
}

SHIM int fallocate(int fd, int mode, off_t off, off_t len)
{
	if (fd_on_target(fd))
		return refuse();
	return REAL(fallocate)(fd, mode, off, len);
}

SHIM int fchmod(int fd, mode_t mode)
{
	if (fd_on_target(fd))
		return refuse();
	return REAL(fchmod)(fd, mode);
}

SHIM int fchown(int fd, uid_t uid, gid_t gid)
{
	if (fd_on_target(fd))
		return refuse();
	return REAL(fchown)(fd, uid, gid);
}

SHIM int unlink(const char *path)
{
	if (path_on_target(path))
		return refuse();
	return REAL(unlink)(path);
}

SHIM int mkdir(const char *path, mode_t mode)
{
	if (path_on_target(path))
		return refuse();
	return REAL(mkdir)(path, mode);
}

SHIM int rmdir(const char *path)
{
	if (path_on_target(path))
		return refuse();
	return REAL(rmdir)(path);
}
