#!/usr/bin/env node
// vdpasim: the developer's tool for the vdpa-model simulated host.
import { vdpasimMain } from './commands/vdpasim.js';

process.exitCode = await vdpasimMain(process.argv.slice(2));
