/*
 * mmap into an ArrayBuffer whose bytes are the mapping: JS sees the memory, and the address is
 * a real user address (for IOTLB UPDATEs to a real /dev/vhost-vdpa-N). munmap() detaches the
 * ArrayBuffer first, so JS can never touch an unmapped page; a mapping JS drops without
 * munmap() is unmapped by the garbage collector.
 */
#define _GNU_SOURCE
#include "addon.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

struct mapping {
	void *addr;
	size_t len;
	int live;
	struct mapping *next;
};

/* Live mappings, so munmap() can find the mapping behind an ArrayBuffer. */
static struct mapping *mappings;

static void unlink_mapping(struct mapping *m)
{
	struct mapping **p;

	for (p = &mappings; *p; p = &(*p)->next) {
		if (*p == m) {
			*p = m->next;
			return;
		}
	}
}

static void finalize(napi_env env, void *data, void *hint)
{
	struct mapping *m = hint;

	(void)env;
	(void)data;
	if (m->live)
		munmap(m->addr, m->len);
	unlink_mapping(m);
	free(m);
}

/* mmap(length, prot, flags, fd, offset) -> { addr: bigint, buffer: ArrayBuffer } | -errno */
static napi_value js_mmap(napi_env env, napi_callback_info info)
{
	napi_value argv[5], result, buffer;
	uint64_t len, off;
	int32_t prot, flags, fd;
	struct mapping *m;
	void *addr;

	if (vh_get_args(env, info, 5, 5, argv) || vh_uint64(env, argv[0], "length", &len) ||
	    vh_int32(env, argv[1], "prot", &prot) || vh_int32(env, argv[2], "flags", &flags) ||
	    vh_int32(env, argv[3], "fd", &fd) || vh_uint64(env, argv[4], "offset", &off))
		return NULL;
	if (len == 0)
		return vh_int(env, -EINVAL);
	addr = mmap(NULL, len, prot, flags, fd, (off_t)off);
	if (addr == MAP_FAILED)
		return vh_int(env, -errno);
	m = calloc(1, sizeof(*m));
	if (!m) {
		munmap(addr, len);
		return vh_int(env, -ENOMEM);
	}
	m->addr = addr;
	m->len = len;
	m->live = 1;
	m->next = mappings;
	mappings = m;
	if (napi_create_external_arraybuffer(env, addr, len, finalize, m, &buffer) != napi_ok) {
		munmap(addr, len);
		unlink_mapping(m);
		free(m);
		vh_throw_last(env, "napi_create_external_arraybuffer");
		return NULL;
	}
	NAPI_CALL(env, napi_create_object(env, &result));
	napi_set_named_property(env, result, "addr", vh_bigint(env, (uint64_t)(uintptr_t)addr));
	napi_set_named_property(env, result, "buffer", buffer);
	return result;
}

/* munmap(buffer) -> 0 | -errno; -EINVAL if the ArrayBuffer is not a live mapping. */
static napi_value js_munmap(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct mapping *m;
	void *data;
	size_t len;
	bool is;

	if (vh_get_args(env, info, 1, 1, argv))
		return NULL;
	if (napi_is_arraybuffer(env, argv[0], &is) != napi_ok || !is)
		return vh_throw_type(env, "vdpa_host: munmap takes the ArrayBuffer mmap returned");
	napi_get_arraybuffer_info(env, argv[0], &data, &len);
	for (m = mappings; m; m = m->next)
		if (m->live && m->addr == data && m->len == len)
			break;
	if (!m)
		return vh_int(env, -EINVAL);
	NAPI_CALL(env, napi_detach_arraybuffer(env, argv[0]));
	m->live = 0;
	return vh_result(env, munmap(m->addr, m->len));
}

void vh_register_mem(napi_env env, napi_value exports)
{
	vh_set_fn(env, exports, "mmap", js_mmap);
	vh_set_fn(env, exports, "munmap", js_munmap);
	vh_set_int(env, exports, "PROT_NONE", PROT_NONE);
	vh_set_int(env, exports, "PROT_READ", PROT_READ);
	vh_set_int(env, exports, "PROT_WRITE", PROT_WRITE);
	vh_set_int(env, exports, "MAP_SHARED", MAP_SHARED);
	vh_set_int(env, exports, "MAP_PRIVATE", MAP_PRIVATE);
	vh_set_int(env, exports, "MAP_ANONYMOUS", MAP_ANONYMOUS);
	vh_set_int(env, exports, "MAP_HUGETLB", MAP_HUGETLB);
	vh_set_int(env, exports, "MAP_POPULATE", MAP_POPULATE);
	vh_set_int(env, exports, "MAP_LOCKED", MAP_LOCKED);
}
