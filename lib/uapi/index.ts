// Tools over the uAPI declarations: the C header generator, the summary and value names.
export * from './c_header.js';
export * from './names.js';
export * from './summary.js';
