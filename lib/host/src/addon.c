/* vdpa_host module init and the argument/result helpers shared by every file. */
#include "addon.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void vh_throw_last(napi_env env, const char *what)
{
	bool pending = false;
	const napi_extended_error_info *info = NULL;
	char msg[256];

	napi_is_exception_pending(env, &pending);
	if (pending)
		return;
	napi_get_last_error_info(env, &info);
	snprintf(msg, sizeof(msg), "vdpa_host: %s failed: %s", what,
		 info && info->error_message ? info->error_message : "unknown N-API error");
	napi_throw_error(env, NULL, msg);
}

napi_value vh_throw_type(napi_env env, const char *msg)
{
	napi_throw_type_error(env, NULL, msg);
	return NULL;
}

static int type_error(napi_env env, const char *name, const char *want)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "vdpa_host: %s must be %s", name, want);
	napi_throw_type_error(env, NULL, msg);
	return -1;
}

int vh_get_args(napi_env env, napi_callback_info info, size_t want, size_t min, napi_value *argv)
{
	size_t argc = want;
	napi_value undef;
	size_t i;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
		vh_throw_last(env, "napi_get_cb_info");
		return -1;
	}
	if (argc < min) {
		char msg[96];

		snprintf(msg, sizeof(msg), "vdpa_host: expected at least %zu arguments, got %zu", min, argc);
		napi_throw_type_error(env, NULL, msg);
		return -1;
	}
	napi_get_undefined(env, &undef);
	for (i = argc; i < want; i++)
		argv[i] = undef;
	return 0;
}

int vh_is_nullish(napi_env env, napi_value v)
{
	napi_valuetype t;

	napi_typeof(env, v, &t);
	return t == napi_undefined || t == napi_null;
}

int vh_int64(napi_env env, napi_value v, const char *name, int64_t *out)
{
	napi_valuetype t;
	bool lossless;

	napi_typeof(env, v, &t);
	if (t == napi_number)
		return napi_get_value_int64(env, v, out) == napi_ok ? 0 : type_error(env, name, "an integer");
	if (t == napi_bigint)
		return napi_get_value_bigint_int64(env, v, out, &lossless) == napi_ok && lossless
			       ? 0
			       : type_error(env, name, "a 64-bit integer");
	return type_error(env, name, "a number or bigint");
}

int vh_uint64(napi_env env, napi_value v, const char *name, uint64_t *out)
{
	napi_valuetype t;
	bool lossless;
	double d;

	napi_typeof(env, v, &t);
	if (t == napi_bigint)
		return napi_get_value_bigint_uint64(env, v, out, &lossless) == napi_ok && lossless
			       ? 0
			       : type_error(env, name, "an unsigned 64-bit integer");
	if (t == napi_number && napi_get_value_double(env, v, &d) == napi_ok && d >= 0 && d <= 9007199254740991.0 &&
	    d == (double)(uint64_t)d) {
		*out = (uint64_t)d;
		return 0;
	}
	return type_error(env, name, "a non-negative integer or bigint");
}

int vh_int32(napi_env env, napi_value v, const char *name, int32_t *out)
{
	int64_t x;

	if (vh_int64(env, v, name, &x))
		return -1;
	if (x < INT32_MIN || x > INT32_MAX)
		return type_error(env, name, "a 32-bit integer");
	*out = (int32_t)x;
	return 0;
}

int vh_uint32(napi_env env, napi_value v, const char *name, uint32_t *out)
{
	int64_t x;

	if (vh_int64(env, v, name, &x))
		return -1;
	if (x < 0 || x > UINT32_MAX)
		return type_error(env, name, "an unsigned 32-bit integer");
	*out = (uint32_t)x;
	return 0;
}

int vh_string(napi_env env, napi_value v, const char *name, char *buf, size_t size)
{
	size_t len = 0;

	if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok)
		return type_error(env, name, "a string");
	if (len + 1 > size)
		return type_error(env, name, "a shorter string");
	napi_get_value_string_utf8(env, v, buf, size, &len);
	return 0;
}

int vh_bytes(napi_env env, napi_value v, const char *name, void **data, size_t *len)
{
	bool is;

	if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
		napi_typedarray_type type;
		size_t length, offset;
		napi_value ab;

		napi_get_typedarray_info(env, v, &type, &length, data, &ab, &offset);
		switch (type) {
		case napi_int8_array:
		case napi_uint8_array:
		case napi_uint8_clamped_array:
			*len = length;
			break;
		case napi_int16_array:
		case napi_uint16_array:
			*len = length * 2;
			break;
		case napi_int32_array:
		case napi_uint32_array:
		case napi_float32_array:
			*len = length * 4;
			break;
		default:
			*len = length * 8;
			break;
		}
		return 0;
	}
	if (napi_is_dataview(env, v, &is) == napi_ok && is) {
		napi_value ab;
		size_t offset;

		napi_get_dataview_info(env, v, len, data, &ab, &offset);
		return 0;
	}
	if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
		napi_get_arraybuffer_info(env, v, data, len);
		return 0;
	}
	return type_error(env, name, "a Buffer, TypedArray, DataView or ArrayBuffer");
}

napi_value vh_int(napi_env env, int64_t v)
{
	napi_value r = NULL;

	napi_create_int64(env, v, &r);
	return r;
}

napi_value vh_bigint(napi_env env, uint64_t v)
{
	napi_value r = NULL;

	napi_create_bigint_uint64(env, v, &r);
	return r;
}

napi_value vh_result(napi_env env, int64_t r)
{
	return vh_int(env, r < 0 ? -errno : r);
}

void vh_set_fn(napi_env env, napi_value obj, const char *name, napi_callback fn)
{
	napi_value f;

	napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f);
	napi_set_named_property(env, obj, name, f);
}

void vh_set_int(napi_env env, napi_value obj, const char *name, int64_t v)
{
	napi_set_named_property(env, obj, name, vh_int(env, v));
}

static napi_value init(napi_env env, napi_value exports)
{
	vh_register_fd(env, exports);
	vh_register_mem(env, exports);
	vh_register_eventfd(env, exports);
	vh_register_netns(env, exports);
	vh_register_poll(env, exports);
	vh_register_tap(env, exports);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
