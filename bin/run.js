#!/usr/bin/env node
import { execute, settings } from '@oclif/core';

// The installed entry always runs the compiled code, whatever NODE_ENV says (oclif would look
// for TypeScript sources under NODE_ENV=test or development; bin/dev.js is for that).
settings.enableAutoTranspile = false;
await execute({ dir: import.meta.url });
