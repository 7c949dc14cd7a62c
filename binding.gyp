{
  "targets": [
    {
      "target_name": "vdpa_host",
      "sources": [
        "lib/host/src/addon.c",
        "lib/host/src/eventfd.c",
        "lib/host/src/fd.c",
        "lib/host/src/mem.c",
        "lib/host/src/netns.c",
        "lib/host/src/poll.c",
        "lib/host/src/tap.c"
      ],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
