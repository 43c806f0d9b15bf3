// What bin/run.js runs: oclif over the bundled commands (dist/bundle/main.js, built by
// scripts/bundle.mjs). `dir` is bin/run.js's URL, from which oclif finds package.json.
import { execute, settings } from '@oclif/core';

export async function main(dir: string): Promise<void> {
  // The installed entry always runs the compiled code, whatever NODE_ENV says (oclif would look
  // for TypeScript sources under NODE_ENV=test or development; bin/dev.js is for that).
  settings.enableAutoTranspile = false;
  await execute({ dir });
}
