// Transcript replay: the kref-v2 format and its replayer.
export * from './replayer.js';
export * from './transcript.js';
