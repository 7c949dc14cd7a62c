// `vdpasim uapi [summary]` and `vdpasim uapi header [--profile P]`.

import { parseArgs } from 'node:util';
import { generateCHeader, summarizeUapi } from '../../lib/uapi/index.js';
import { packageVersion } from '../../lib/package_root.js';
import { DEFAULT_UAPI_PROFILE, UAPI_PROFILES, type UapiProfile, isUapiProfile } from '../../uapi/index.js';
import { type CommandIo, UsageError } from './io.js';

export const UAPI_USAGE = `Usage: vdpasim uapi [summary] [--profile P]
       vdpasim uapi header [--profile P]
Profiles: ${UAPI_PROFILES.join(', ')} (default ${DEFAULT_UAPI_PROFILE}).`;

export function profileOf(value: string | undefined): UapiProfile {
  const p = value ?? DEFAULT_UAPI_PROFILE;
  if (!isUapiProfile(p)) throw new UsageError(`unknown profile '${p}' (known: ${UAPI_PROFILES.join(', ')})`);
  return p;
}

export function uapiCommand(args: string[], io: CommandIo): number {
  const { values, positionals } = parseArgs({
    args,
    options: { profile: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(`${UAPI_USAGE}\n`);
    return 0;
  }
  const [what = 'summary', ...rest] = positionals;
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`);
  const profile = profileOf(values.profile);
  if (what === 'summary') {
    io.out(summarizeUapi(profile));
    return 0;
  }
  if (what === 'header') {
    io.out(generateCHeader({ profile, version: packageVersion() }));
    return 0;
  }
  throw new UsageError(`unknown uapi command '${what}'`);
}
