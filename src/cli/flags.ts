// Flags several commands share.
import { Flags } from '@oclif/core';

/** Skips the confirmation of a destructive or wide-reaching change (scripts must pass it). */
export const yesFlag = Flags.boolean({ char: 'y', summary: 'Do not ask for confirmation (needed in scripts).' });
