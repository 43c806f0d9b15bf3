// Flags that say how a lab command reaches a running lab router over its API.
import { Flags } from '@oclif/core';

export const labConnectionFlags = {
  'router-host': Flags.string({ summary: 'Lab router address (default: from the running lab router, else 127.0.0.1).' }),
  'router-port': Flags.integer({ summary: 'Lab router API port (default: from the running lab router).', min: 1, max: 65535 }),
  'api-user': Flags.string({ summary: 'API user.', default: 'admin' }),
  'api-password': Flags.string({ summary: "API user's password (default: from the lab router's state file).", env: 'ISPCTL_LAB_API_PASSWORD' }),
  'state-file': Flags.string({ summary: 'State file of the lab router (default: lab/router.json in the data directory).' }),
};
