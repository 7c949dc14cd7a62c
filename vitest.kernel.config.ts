// The contract suite against a real kernel, run inside the kernel lab's VM (read-only root):
// only the kernel runner, caches in /tmp.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  cacheDir: '/tmp/vdpa-model-vite',
  test: {
    include: ['test/contract/kernel.test.ts'],
    pool: 'forks',
    reporters: ['verbose'],
  },
});
