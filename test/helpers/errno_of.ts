// The errno name a client call failed with, or 'ok'.
import { VhostError } from '../../lib/vhost_vdpa/index.js';

export function errOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof VhostError) return e.code;
    throw e;
  }
}
