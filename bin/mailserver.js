#!/usr/bin/env node
// Build output lives in dist/src (tsconfig rootDir is the repository root).
import { run } from '../dist/src/cli.js';

process.exitCode = await run(process.argv);
