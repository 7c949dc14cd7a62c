/*
 * Readiness of a real fd delivered to a JS callback through libuv (uv_poll_t on the Node event
 * loop): no busy loop, no thread-pool thread blocked in read().
 */
#include "addon.h"

#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

struct poller;

/* What the JS handle holds: it outlives the poller, so a second stop is harmless. */
struct box {
	struct poller *p;
};

struct poller {
	uv_poll_t handle;
	napi_env env;
	napi_ref callback;
	napi_async_context async;
	struct box *box;
	int stopped;
};

static void on_close(uv_handle_t *h)
{
	struct poller *p = h->data;

	napi_delete_reference(p->env, p->callback);
	napi_async_destroy(p->env, p->async);
	free(p);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct poller *p = h->data;
	napi_env env = p->env;
	napi_handle_scope scope;
	napi_value cb, recv, argv[2];

	if (p->stopped)
		return;
	napi_open_handle_scope(env, &scope);
	napi_get_reference_value(env, p->callback, &cb);
	napi_get_global(env, &recv);
	argv[0] = vh_int(env, status);
	argv[1] = vh_int(env, events);
	if (napi_make_callback(env, p->async, recv, cb, 2, argv, NULL) == napi_pending_exception) {
		napi_value err;

		napi_get_and_clear_last_exception(env, &err);
		napi_fatal_exception(env, err);
	}
	napi_close_handle_scope(env, scope);
}

/* JS dropped the handle: polling goes on (the callback is still referenced) until pollStop. */
static void finalize_box(napi_env env, void *data, void *hint)
{
	struct box *b = data;

	(void)env;
	(void)hint;
	if (b->p)
		b->p->box = NULL;
	free(b);
}

/*
 * pollStart(fd, events, callback(status, events)) -> handle
 * events: POLL_READABLE | POLL_WRITABLE. status < 0 is a libuv error (-errno).
 * Throws if libuv refuses the fd (for example a regular file).
 */
static napi_value js_poll_start(napi_env env, napi_callback_info info)
{
	napi_value argv[3], handle, name;
	int32_t fd, events;
	napi_valuetype t;
	struct poller *p;
	uv_loop_t *loop;
	int r;

	if (vh_get_args(env, info, 3, 3, argv) || vh_int32(env, argv[0], "fd", &fd) ||
	    vh_int32(env, argv[1], "events", &events))
		return NULL;
	napi_typeof(env, argv[2], &t);
	if (t != napi_function)
		return vh_throw_type(env, "vdpa_host: callback must be a function");
	NAPI_CALL(env, napi_get_uv_event_loop(env, &loop));
	p = calloc(1, sizeof(*p));
	if (!p) {
		napi_throw_error(env, "ENOMEM", "vdpa_host: pollStart: out of memory");
		return NULL;
	}
	r = uv_poll_init(loop, &p->handle, fd);
	if (r < 0) {
		char msg[128];

		free(p);
		snprintf(msg, sizeof(msg), "vdpa_host: cannot poll fd %d: %s", fd, uv_strerror(r));
		napi_throw_error(env, uv_err_name(r), msg);
		return NULL;
	}
	p->handle.data = p;
	p->env = env;
	napi_create_reference(env, argv[2], 1, &p->callback);
	napi_create_string_utf8(env, "vdpa_host.poll", NAPI_AUTO_LENGTH, &name);
	napi_async_init(env, NULL, name, &p->async);
	r = uv_poll_start(&p->handle, events, on_poll);
	if (r < 0) {
		char msg[128];

		p->stopped = 1;
		uv_close((uv_handle_t *)&p->handle, on_close);
		snprintf(msg, sizeof(msg), "vdpa_host: cannot poll fd %d: %s", fd, uv_strerror(r));
		napi_throw_error(env, uv_err_name(r), msg);
		return NULL;
	}
	p->box = calloc(1, sizeof(*p->box));
	if (!p->box || napi_create_external(env, p->box, finalize_box, NULL, &handle) != napi_ok) {
		free(p->box);
		p->box = NULL;
		p->stopped = 1;
		uv_poll_stop(&p->handle);
		uv_close((uv_handle_t *)&p->handle, on_close);
		napi_throw_error(env, "ENOMEM", "vdpa_host: pollStart: out of memory");
		return NULL;
	}
	p->box->p = p;
	return handle;
}

/* The box behind a handle from pollStart; NULL after throwing. */
static struct box *box_of(napi_env env, napi_value v)
{
	napi_valuetype t;
	void *data = NULL;

	napi_typeof(env, v, &t);
	if (t != napi_external || napi_get_value_external(env, v, &data) != napi_ok || !data) {
		vh_throw_type(env, "vdpa_host: expected a handle from pollStart");
		return NULL;
	}
	return data;
}

/* pollStop(handle): stops and frees the poller; a second stop is a no-op. */
static napi_value js_poll_stop(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct box *b;
	struct poller *p;

	if (vh_get_args(env, info, 1, 1, argv) || !(b = box_of(env, argv[0])))
		return NULL;
	p = b->p;
	if (p) {
		b->p = NULL;
		p->box = NULL;
		p->stopped = 1;
		uv_poll_stop(&p->handle);
		uv_close((uv_handle_t *)&p->handle, on_close);
	}
	return vh_int(env, 0);
}

/* pollRef(handle, keep): whether an active poller keeps the process alive (default true). */
static napi_value js_poll_ref(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct box *b;
	struct poller *p;
	bool keep;

	if (vh_get_args(env, info, 2, 2, argv) || !(b = box_of(env, argv[0])))
		return NULL;
	if (napi_get_value_bool(env, argv[1], &keep) != napi_ok)
		return vh_throw_type(env, "vdpa_host: pollRef takes a boolean");
	p = b->p;
	if (p) {
		if (keep)
			uv_ref((uv_handle_t *)&p->handle);
		else
			uv_unref((uv_handle_t *)&p->handle);
	}
	return vh_int(env, 0);
}

void vh_register_poll(napi_env env, napi_value exports)
{
	vh_set_fn(env, exports, "pollStart", js_poll_start);
	vh_set_fn(env, exports, "pollStop", js_poll_stop);
	vh_set_fn(env, exports, "pollRef", js_poll_ref);
	vh_set_int(env, exports, "POLL_READABLE", UV_READABLE);
	vh_set_int(env, exports, "POLL_WRITABLE", UV_WRITABLE);
}
