// Tools over the uAPI declarations: the C header generator and the summary.
export * from './c_header.js';
export * from './summary.js';
