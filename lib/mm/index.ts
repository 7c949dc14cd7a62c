// Process memory: address spaces of VMAs, memfd-like files, host physical frames for PA mode,
// user-access helpers and long-term pinning.
export * from './address_space.js';
export * from './gup.js';
export * from './iomem.js';
export * from './mem_object.js';
export * from './page.js';
export * from './phys.js';
export * from './uaccess.js';
