/* open/close/ioctl/read/write/pread/pwrite on real file descriptors. */
#define _GNU_SOURCE
#include "addon.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* open(path, flags[, mode]) -> fd | -errno */
static napi_value js_open(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	char path[PATH_MAX];
	int32_t flags;
	uint32_t mode = 0;

	if (vh_get_args(env, info, 3, 2, argv) || vh_string(env, argv[0], "path", path, sizeof(path)) ||
	    vh_int32(env, argv[1], "flags", &flags))
		return NULL;
	if (!vh_is_nullish(env, argv[2]) && vh_uint32(env, argv[2], "mode", &mode))
		return NULL;
	return vh_result(env, open(path, flags, (mode_t)mode));
}

/* close(fd) -> 0 | -errno */
static napi_value js_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	int32_t fd;

	if (vh_get_args(env, info, 1, 1, argv) || vh_int32(env, argv[0], "fd", &fd))
		return NULL;
	return vh_result(env, close(fd));
}

/*
 * ioctl(fd, request, arg) -> result | -errno
 * arg is a Buffer/TypedArray/ArrayBuffer (its memory is passed, and filled by _IOR requests)
 * or an integer passed as the unsigned long argument, as in C.
 */
static napi_value js_ioctl(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	int32_t fd;
	uint32_t request;
	napi_valuetype t;
	unsigned long arg = 0;

	if (vh_get_args(env, info, 3, 2, argv) || vh_int32(env, argv[0], "fd", &fd) ||
	    vh_uint32(env, argv[1], "request", &request))
		return NULL;
	napi_typeof(env, argv[2], &t);
	if (t == napi_number || t == napi_bigint) {
		uint64_t v;

		if (vh_uint64(env, argv[2], "arg", &v))
			return NULL;
		arg = (unsigned long)v;
	} else if (t != napi_undefined) {
		void *data;
		size_t len;

		if (vh_bytes(env, argv[2], "arg", &data, &len))
			return NULL;
		arg = (unsigned long)data;
	}
	return vh_result(env, ioctl(fd, (unsigned long)request, arg));
}

/* The [offset, offset+length) window of a byte argument, checked. */
static int window(napi_env env, napi_value *argv, void **data, size_t *len)
{
	uint64_t off = 0, n;

	if (vh_bytes(env, argv[0], "buffer", data, len))
		return -1;
	if (!vh_is_nullish(env, argv[1]) && vh_uint64(env, argv[1], "offset", &off))
		return -1;
	n = *len - (off < *len ? off : *len);
	if (!vh_is_nullish(env, argv[2]) && vh_uint64(env, argv[2], "length", &n))
		return -1;
	if (off > *len || n > *len - off) {
		vh_throw_type(env, "vdpa_host: offset/length outside the buffer");
		return -1;
	}
	*data = (char *)*data + off;
	*len = n;
	return 0;
}

typedef ssize_t (*rw_fn)(int fd, void *buf, size_t len);
typedef ssize_t (*prw_fn)(int fd, void *buf, size_t len, off_t pos);

static ssize_t do_read(int fd, void *buf, size_t len)
{
	return read(fd, buf, len);
}
static ssize_t do_write(int fd, void *buf, size_t len)
{
	return write(fd, buf, len);
}
static ssize_t do_pread(int fd, void *buf, size_t len, off_t pos)
{
	return pread(fd, buf, len, pos);
}
static ssize_t do_pwrite(int fd, void *buf, size_t len, off_t pos)
{
	return pwrite(fd, buf, len, pos);
}

/* (fd, buffer[, offset[, length]]) -> bytes | -errno */
static napi_value rw(napi_env env, napi_callback_info info, rw_fn op)
{
	napi_value argv[4];
	int32_t fd;
	void *data;
	size_t len;

	if (vh_get_args(env, info, 4, 2, argv) || vh_int32(env, argv[0], "fd", &fd) || window(env, argv + 1, &data, &len))
		return NULL;
	return vh_result(env, op(fd, data, len));
}

/* (fd, buffer, position) -> bytes | -errno */
static napi_value prw(napi_env env, napi_callback_info info, prw_fn op)
{
	napi_value argv[3];
	int32_t fd;
	int64_t pos;
	void *data;
	size_t len;

	if (vh_get_args(env, info, 3, 3, argv) || vh_int32(env, argv[0], "fd", &fd) ||
	    vh_bytes(env, argv[1], "buffer", &data, &len) || vh_int64(env, argv[2], "position", &pos))
		return NULL;
	return vh_result(env, op(fd, data, len, (off_t)pos));
}

static napi_value js_read(napi_env env, napi_callback_info info)
{
	return rw(env, info, do_read);
}
static napi_value js_write(napi_env env, napi_callback_info info)
{
	return rw(env, info, do_write);
}
static napi_value js_pread(napi_env env, napi_callback_info info)
{
	return prw(env, info, do_pread);
}
static napi_value js_pwrite(napi_env env, napi_callback_info info)
{
	return prw(env, info, do_pwrite);
}

void vh_register_fd(napi_env env, napi_value exports)
{
	vh_set_fn(env, exports, "open", js_open);
	vh_set_fn(env, exports, "close", js_close);
	vh_set_fn(env, exports, "ioctl", js_ioctl);
	vh_set_fn(env, exports, "read", js_read);
	vh_set_fn(env, exports, "write", js_write);
	vh_set_fn(env, exports, "pread", js_pread);
	vh_set_fn(env, exports, "pwrite", js_pwrite);
	vh_set_int(env, exports, "O_RDONLY", O_RDONLY);
	vh_set_int(env, exports, "O_WRONLY", O_WRONLY);
	vh_set_int(env, exports, "O_RDWR", O_RDWR);
	vh_set_int(env, exports, "O_NONBLOCK", O_NONBLOCK);
	vh_set_int(env, exports, "O_CLOEXEC", O_CLOEXEC);
}
