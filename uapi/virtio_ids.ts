// Models: include/uapi/linux/virtio_ids.h (identical in Linux 6.1 and upstream ~6.17)
// Deviations: none.

import { consts, defineHeader } from './header_spec.js';

/** virtio net */
export const VIRTIO_ID_NET = 1;
/** virtio block */
export const VIRTIO_ID_BLOCK = 2;
/** virtio console */
export const VIRTIO_ID_CONSOLE = 3;
/** virtio rng */
export const VIRTIO_ID_RNG = 4;
/** virtio balloon */
export const VIRTIO_ID_BALLOON = 5;
/** virtio ioMemory */
export const VIRTIO_ID_IOMEM = 6;
/** virtio remote processor messaging */
export const VIRTIO_ID_RPMSG = 7;
/** virtio scsi */
export const VIRTIO_ID_SCSI = 8;
/** 9p virtio console */
export const VIRTIO_ID_9P = 9;
/** virtio WLAN MAC */
export const VIRTIO_ID_MAC80211_WLAN = 10;
/** virtio remoteproc serial link */
export const VIRTIO_ID_RPROC_SERIAL = 11;
/** Virtio caif */
export const VIRTIO_ID_CAIF = 12;
/** virtio memory balloon */
export const VIRTIO_ID_MEMORY_BALLOON = 13;
/** virtio GPU */
export const VIRTIO_ID_GPU = 16;
/** virtio clock/timer */
export const VIRTIO_ID_CLOCK = 17;
/** virtio input */
export const VIRTIO_ID_INPUT = 18;
/** virtio vsock transport */
export const VIRTIO_ID_VSOCK = 19;
/** virtio crypto */
export const VIRTIO_ID_CRYPTO = 20;
/** virtio signal distribution device */
export const VIRTIO_ID_SIGNAL_DIST = 21;
/** virtio pstore device */
export const VIRTIO_ID_PSTORE = 22;
/** virtio IOMMU */
export const VIRTIO_ID_IOMMU = 23;
/** virtio mem */
export const VIRTIO_ID_MEM = 24;
/** virtio sound */
export const VIRTIO_ID_SOUND = 25;
/** virtio filesystem */
export const VIRTIO_ID_FS = 26;
/** virtio pmem */
export const VIRTIO_ID_PMEM = 27;
/** virtio rpmb */
export const VIRTIO_ID_RPMB = 28;
/** virtio mac80211-hwsim */
export const VIRTIO_ID_MAC80211_HWSIM = 29;
/** virtio video encoder */
export const VIRTIO_ID_VIDEO_ENCODER = 30;
/** virtio video decoder */
export const VIRTIO_ID_VIDEO_DECODER = 31;
/** virtio SCMI */
export const VIRTIO_ID_SCMI = 32;
/** virtio nitro secure module */
export const VIRTIO_ID_NITRO_SEC_MOD = 33;
/** virtio i2c adapter */
export const VIRTIO_ID_I2C_ADAPTER = 34;
/** virtio watchdog */
export const VIRTIO_ID_WATCHDOG = 35;
/** virtio can */
export const VIRTIO_ID_CAN = 36;
/** virtio dmabuf */
export const VIRTIO_ID_DMABUF = 37;
/** virtio parameter server */
export const VIRTIO_ID_PARAM_SERV = 38;
/** virtio audio policy */
export const VIRTIO_ID_AUDIO_POLICY = 39;
/** virtio bluetooth */
export const VIRTIO_ID_BT = 40;
/** virtio gpio */
export const VIRTIO_ID_GPIO = 41;
/** transitional virtio net */
export const VIRTIO_TRANS_ID_NET = 0x1000;
/** transitional virtio block */
export const VIRTIO_TRANS_ID_BLOCK = 0x1001;
/** transitional virtio balloon */
export const VIRTIO_TRANS_ID_BALLOON = 0x1002;
/** transitional virtio console */
export const VIRTIO_TRANS_ID_CONSOLE = 0x1003;
/** transitional virtio SCSI */
export const VIRTIO_TRANS_ID_SCSI = 0x1004;
/** transitional virtio rng */
export const VIRTIO_TRANS_ID_RNG = 0x1005;
/** transitional virtio 9p console */
export const VIRTIO_TRANS_ID_9P = 0x1009;

export const virtioIdsHeader = defineHeader('linux/virtio_ids.h', [
  consts({
    VIRTIO_ID_NET,
    VIRTIO_ID_BLOCK,
    VIRTIO_ID_CONSOLE,
    VIRTIO_ID_RNG,
    VIRTIO_ID_BALLOON,
    VIRTIO_ID_IOMEM,
    VIRTIO_ID_RPMSG,
    VIRTIO_ID_SCSI,
    VIRTIO_ID_9P,
    VIRTIO_ID_MAC80211_WLAN,
    VIRTIO_ID_RPROC_SERIAL,
    VIRTIO_ID_CAIF,
    VIRTIO_ID_MEMORY_BALLOON,
    VIRTIO_ID_GPU,
    VIRTIO_ID_CLOCK,
    VIRTIO_ID_INPUT,
    VIRTIO_ID_VSOCK,
    VIRTIO_ID_CRYPTO,
    VIRTIO_ID_SIGNAL_DIST,
    VIRTIO_ID_PSTORE,
    VIRTIO_ID_IOMMU,
    VIRTIO_ID_MEM,
    VIRTIO_ID_SOUND,
    VIRTIO_ID_FS,
    VIRTIO_ID_PMEM,
    VIRTIO_ID_RPMB,
    VIRTIO_ID_MAC80211_HWSIM,
    VIRTIO_ID_VIDEO_ENCODER,
    VIRTIO_ID_VIDEO_DECODER,
    VIRTIO_ID_SCMI,
    VIRTIO_ID_NITRO_SEC_MOD,
    VIRTIO_ID_I2C_ADAPTER,
    VIRTIO_ID_WATCHDOG,
    VIRTIO_ID_CAN,
    VIRTIO_ID_DMABUF,
    VIRTIO_ID_PARAM_SERV,
    VIRTIO_ID_AUDIO_POLICY,
    VIRTIO_ID_BT,
    VIRTIO_ID_GPIO,
  }),
  consts(
    {
      VIRTIO_TRANS_ID_NET,
      VIRTIO_TRANS_ID_BLOCK,
      VIRTIO_TRANS_ID_BALLOON,
      VIRTIO_TRANS_ID_CONSOLE,
      VIRTIO_TRANS_ID_SCSI,
      VIRTIO_TRANS_ID_RNG,
      VIRTIO_TRANS_ID_9P,
    },
    { hex: true, comment: 'Virtio Transitional IDs' },
  ),
]);
