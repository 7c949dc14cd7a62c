/* eventfd(2): create, read (the counter, zeroed) and write (added to the counter). */
#include "addon.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* eventfd(initval, flags) -> fd | -errno */
static napi_value js_eventfd(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	uint32_t init;
	int32_t flags;

	if (vh_get_args(env, info, 2, 2, argv) || vh_uint32(env, argv[0], "initval", &init) ||
	    vh_int32(env, argv[1], "flags", &flags))
		return NULL;
	return vh_result(env, eventfd(init, flags));
}

/* eventfdRead(fd) -> bigint counter | -errno (e.g. -EAGAIN when zero and non-blocking) */
static napi_value js_eventfd_read(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	int32_t fd;
	uint64_t v;
	ssize_t n;

	if (vh_get_args(env, info, 1, 1, argv) || vh_int32(env, argv[0], "fd", &fd))
		return NULL;
	n = read(fd, &v, sizeof(v));
	if (n < 0)
		return vh_int(env, -errno);
	if (n != sizeof(v))
		return vh_int(env, -EIO);
	return vh_bigint(env, v);
}

/* eventfdWrite(fd, value) -> 0 | -errno (-EAGAIN on overflow when non-blocking, -EINVAL for ~0) */
static napi_value js_eventfd_write(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	int32_t fd;
	uint64_t v;
	ssize_t n;

	if (vh_get_args(env, info, 2, 2, argv) || vh_int32(env, argv[0], "fd", &fd) ||
	    vh_uint64(env, argv[1], "value", &v))
		return NULL;
	n = write(fd, &v, sizeof(v));
	return vh_int(env, n < 0 ? -errno : 0);
}

void vh_register_eventfd(napi_env env, napi_value exports)
{
	vh_set_fn(env, exports, "eventfd", js_eventfd);
	vh_set_fn(env, exports, "eventfdRead", js_eventfd_read);
	vh_set_fn(env, exports, "eventfdWrite", js_eventfd_write);
	vh_set_int(env, exports, "EFD_CLOEXEC", EFD_CLOEXEC);
	vh_set_int(env, exports, "EFD_NONBLOCK", EFD_NONBLOCK);
	vh_set_int(env, exports, "EFD_SEMAPHORE", EFD_SEMAPHORE);
}
