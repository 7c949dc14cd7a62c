import { describe, expect, it } from 'vitest';
import {
  LINUX_6_1_ONLY,
  UPSTREAM_ONLY,
  availableIn,
  isUapiProfile,
  virtioBlkConfig,
  virtioBlkConfig61,
  UAPI_HEADERS,
} from '../../uapi/index.js';

describe('uAPI profiles', () => {
  it('an item without availability is in every profile', () => {
    expect(availableIn(undefined, 'linux-6.1')).toBe(true);
    expect(availableIn(undefined, 'upstream')).toBe(true);
  });

  it('upstream-only and 6.1-only items stay in their profile', () => {
    expect(availableIn(UPSTREAM_ONLY, 'linux-6.1')).toBe(false);
    expect(availableIn(UPSTREAM_ONLY, 'upstream')).toBe(true);
    expect(availableIn(LINUX_6_1_ONLY, 'upstream')).toBe(false);
  });

  it('knows its profile names', () => {
    expect(isUapiProfile('linux-6.1')).toBe(true);
    expect(isUapiProfile('linux-6.2')).toBe(false);
  });

  it('virtio_blk_config is 72 bytes with the 6.1 header and 96 upstream', () => {
    expect(virtioBlkConfig61.size).toBe(72);
    expect(virtioBlkConfig.size).toBe(96);
    const blk = UAPI_HEADERS.find((h) => h.file === 'linux/virtio_blk.h');
    const configs = blk?.items.filter((i) => i.kind === 'struct' && i.layout.name === 'virtio_blk_config');
    expect(configs?.length).toBe(2);
  });
});
