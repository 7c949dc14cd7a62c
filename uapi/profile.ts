// uAPI profiles: which kernel's headers an item belongs to.
// Not a kernel file: the kernel has one header per release; the model carries several at once.

/**
 * Profiles whose uAPI the model knows. `upstream` is the newest mainline (~6.17);
 * `proposal-lm-log` is upstream plus the device dirty-log proposal (docs/proposals/lm-log.md).
 */
export const UAPI_PROFILES = ['upstream', 'linux-6.1', 'proposal-lm-log'] as const;
export type UapiProfile = (typeof UAPI_PROFILES)[number];

export const DEFAULT_UAPI_PROFILE: UapiProfile = 'upstream';

/**
 * Where an item exists. `undefined` means every profile; otherwise the list of profiles
 * that have it (a later profile derived from another names its base in `PROFILE_LINEAGE`).
 */
export type Availability = readonly UapiProfile[] | undefined;

export const UPSTREAM_ONLY: Availability = ['upstream'];
export const LINUX_6_1_ONLY: Availability = ['linux-6.1'];
/** NOT UPSTREAM: items of the device dirty-log proposal. */
export const PROPOSAL_LM_LOG_ONLY: Availability = ['proposal-lm-log'];

/** A profile and the profiles it inherits items from, nearest first. */
export const PROFILE_LINEAGE: Record<UapiProfile, readonly UapiProfile[]> = {
  upstream: ['upstream'],
  'linux-6.1': ['linux-6.1'],
  'proposal-lm-log': ['proposal-lm-log', 'upstream'],
};

export function isUapiProfile(name: string): name is UapiProfile {
  return (UAPI_PROFILES as readonly string[]).includes(name);
}

export function availableIn(availability: Availability, profile: UapiProfile): boolean {
  if (availability === undefined) return true;
  return PROFILE_LINEAGE[profile].some((p) => availability.includes(p));
}
