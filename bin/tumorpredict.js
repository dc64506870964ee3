#!/usr/bin/env node
// Entry point of the `tumorpredict` command. The main-process code is TypeScript run through
// tsx's loader, so the checkout works without a build step (`npx tumorpredict ...`).
import { register } from 'tsx/esm/api';

register();
await import('../electron/cli/main.ts');
