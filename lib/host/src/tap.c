/*
 * A tap interface as vhost_net_test.c opens one: /dev/net/tun, TUNSETIFF with
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, TUNSETVNETHDRSZ, TUNSETOFFLOAD; non-blocking, close-on-exec.
 * And the read side of a tap backend: every ready frame in one call (the tun fd reads one frame
 * per read(), and crossing into C once per frame costs as much as the read itself).
 */
#include "addon.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static napi_value failure(napi_env env, int err, const char *op)
{
	napi_value r, s;

	napi_create_object(env, &r);
	napi_set_named_property(env, r, "errno", vh_int(env, err));
	napi_create_string_utf8(env, op, NAPI_AUTO_LENGTH, &s);
	napi_set_named_property(env, r, "op", s);
	return r;
}

/*
 * tapOpen(name, flags, vnetHdrSize, offload) -> { fd, name } | { errno, op }
 * name may be "" (the kernel picks tapN) or contain %d. vnetHdrSize <= 0 skips TUNSETVNETHDRSZ;
 * offload < 0 skips TUNSETOFFLOAD. `op` names the step that failed.
 */
static napi_value js_tap_open(napi_env env, napi_callback_info info)
{
	napi_value argv[4], r, s;
	char name[64];
	int32_t flags, hdr, offload;
	struct ifreq ifr;
	int fd, err;

	if (vh_get_args(env, info, 4, 4, argv) || vh_string(env, argv[0], "name", name, sizeof(name)) ||
	    vh_int32(env, argv[1], "flags", &flags) || vh_int32(env, argv[2], "vnetHdrSize", &hdr) ||
	    vh_int32(env, argv[3], "offload", &offload))
		return NULL;
	if (strlen(name) >= IFNAMSIZ)
		return failure(env, EINVAL, "IFNAMSIZ");
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return failure(env, errno, "open /dev/net/tun");
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name));
	ifr.ifr_flags = (short)flags;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = errno;
		close(fd);
		return failure(env, err, "TUNSETIFF");
	}
	if (hdr > 0 && ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		err = errno;
		close(fd);
		return failure(env, err, "TUNSETVNETHDRSZ");
	}
	if (offload >= 0 && ioctl(fd, TUNSETOFFLOAD, (unsigned long)offload) < 0) {
		err = errno;
		close(fd);
		return failure(env, err, "TUNSETOFFLOAD");
	}
	napi_create_object(env, &r);
	napi_set_named_property(env, r, "fd", vh_int(env, fd));
	napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &s);
	napi_set_named_property(env, r, "name", s);
	return r;
}

/*
 * tapReadFrames(fd, buffer, spans, maxFrames, frameRoom) -> frames read | -errno
 * Reads frames back to back into buffer, each at a multiple of 64 bytes, while fewer than
 * maxFrames (and fewer than spans.length / 2) were read and at least frameRoom bytes remain (room
 * for the largest frame: tun cuts what does not fit); spans[2i], spans[2i+1] get the i-th
 * frame's offset and length. Ends at EAGAIN or another error: the frames read so far, or -errno
 * if none was.
 */
#define TAP_FRAME_ALIGN 64
static napi_value js_tap_read_frames(napi_env env, napi_callback_info info)
{
	napi_value argv[5], ab;
	int32_t fd, max, room, *spans, n = 0;
	void *data, *spans_data;
	size_t len, off = 0, count, spans_off;
	napi_typedarray_type type;

	if (vh_get_args(env, info, 5, 5, argv) || vh_int32(env, argv[0], "fd", &fd) ||
	    vh_bytes(env, argv[1], "buffer", &data, &len) || vh_int32(env, argv[3], "maxFrames", &max) ||
	    vh_int32(env, argv[4], "frameRoom", &room))
		return NULL;
	if (napi_get_typedarray_info(env, argv[2], &type, &count, &spans_data, &ab, &spans_off) != napi_ok ||
	    type != napi_int32_array)
		return vh_throw_type(env, "vdpa_host: spans must be an Int32Array");
	if (room <= 0)
		return vh_throw_type(env, "vdpa_host: frameRoom must be positive");
	spans = spans_data;
	if (max < 0)
		max = 0;
	if ((size_t)max > count / 2)
		max = (int32_t)(count / 2);
	while (n < max && len - off >= (size_t)room) {
		/* The raw syscall: glibc's read() is a cancellation point and brackets the syscall with
		 * pthread async-cancel calls, ~15 ns a frame here, for a non-blocking fd that never waits. */
		ssize_t r = syscall(SYS_read, fd, (char *)data + off, (size_t)room);

		if (r < 0)
			return vh_int(env, n ? n : -errno);
		spans[2 * n] = (int32_t)off;
		spans[2 * n + 1] = (int32_t)r;
		n++;
		off += ((size_t)r + TAP_FRAME_ALIGN - 1) & ~(size_t)(TAP_FRAME_ALIGN - 1);
	}
	return vh_int(env, n);
}

void vh_register_tap(napi_env env, napi_value exports)
{
	vh_set_fn(env, exports, "tapOpen", js_tap_open);
	vh_set_fn(env, exports, "tapReadFrames", js_tap_read_frames);
	vh_set_int(env, exports, "IFF_TAP", IFF_TAP);
	vh_set_int(env, exports, "IFF_NO_PI", IFF_NO_PI);
	vh_set_int(env, exports, "IFF_VNET_HDR", IFF_VNET_HDR);
	vh_set_int(env, exports, "IFNAMSIZ", IFNAMSIZ);
}
