/* vdpa_host: the native side of vdpa-model (plain N-API, C).
 * Every syscall wrapper returns what the kernel returned, or -errno; none throws for a
 * failed syscall. Exceptions are thrown only for wrong argument types. */
#ifndef VDPA_HOST_ADDON_H
#define VDPA_HOST_ADDON_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/* Evaluates a napi call; on failure throws (if nothing is pending) and returns NULL. */
#define NAPI_CALL(env, call)                                                      \
	do {                                                                      \
		if ((call) != napi_ok) {                                          \
			vh_throw_last(env, #call);                                \
			return NULL;                                              \
		}                                                                 \
	} while (0)

void vh_throw_last(napi_env env, const char *what);
napi_value vh_throw_type(napi_env env, const char *msg);

/* Argument helpers: return 0 on success, -1 after throwing a TypeError. */
int vh_get_args(napi_env env, napi_callback_info info, size_t want, size_t min, napi_value *argv);
int vh_int32(napi_env env, napi_value v, const char *name, int32_t *out);
int vh_uint32(napi_env env, napi_value v, const char *name, uint32_t *out);
int vh_int64(napi_env env, napi_value v, const char *name, int64_t *out);
/* Accepts a number or a bigint. */
int vh_uint64(napi_env env, napi_value v, const char *name, uint64_t *out);
int vh_string(napi_env env, napi_value v, const char *name, char *buf, size_t size);
/* Data pointer and length of a Buffer, TypedArray, DataView or ArrayBuffer. */
int vh_bytes(napi_env env, napi_value v, const char *name, void **data, size_t *len);
int vh_is_nullish(napi_env env, napi_value v);

napi_value vh_int(napi_env env, int64_t v);
napi_value vh_bigint(napi_env env, uint64_t v);
/* The syscall result convention: r >= 0 stays, r < 0 becomes -errno. */
napi_value vh_result(napi_env env, int64_t r);

void vh_set_fn(napi_env env, napi_value obj, const char *name, napi_callback fn);
void vh_set_int(napi_env env, napi_value obj, const char *name, int64_t v);

void vh_register_fd(napi_env env, napi_value exports);
void vh_register_mem(napi_env env, napi_value exports);
void vh_register_eventfd(napi_env env, napi_value exports);
void vh_register_netns(napi_env env, napi_value exports);
void vh_register_poll(napi_env env, napi_value exports);
void vh_register_tap(napi_env env, napi_value exports);

#endif
