/* setns(2) for the calling thread: how a tap is created inside a named network namespace. */
#define _GNU_SOURCE
#include "addon.h"

#include <sched.h>

/* setns(fd, nstype) -> 0 | -errno */
static napi_value js_setns(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	int32_t fd, nstype;

	if (vh_get_args(env, info, 2, 2, argv) || vh_int32(env, argv[0], "fd", &fd) ||
	    vh_int32(env, argv[1], "nstype", &nstype))
		return NULL;
	return vh_result(env, setns(fd, nstype));
}

void vh_register_netns(napi_env env, napi_value exports)
{
	vh_set_fn(env, exports, "setns", js_setns);
	vh_set_int(env, exports, "CLONE_NEWNET", CLONE_NEWNET);
}
