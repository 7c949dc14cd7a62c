#!/usr/bin/env node
// vdpa: iproute2's vdpa tool against the simulated host started by `vdpasim up`.
import { processIo } from './commands/io.js';
import { vdpaCommand } from './commands/vdpa.js';

process.exitCode = vdpaCommand(process.argv.slice(2), processIo);
