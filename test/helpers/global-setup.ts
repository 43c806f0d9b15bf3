import type { TestProject } from 'vitest/node';
import { startPgCluster, type PgCluster } from './pg-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}

// Global setup runs once per project; the projects share one cluster through globalThis.
interface Shared {
  cluster?: Promise<PgCluster>;
  users: number;
}
const g = globalThis as unknown as { __ispctlPg?: Shared };

// One PostgreSQL cluster per test run. Set ISPCTL_TEST_PG_URL to use an existing server instead
// (a superuser URL; each test file creates and drops its own database there).
export async function setup(project: TestProject) {
  let url = process.env.ISPCTL_TEST_PG_URL;
  if (!url) {
    const shared = (g.__ispctlPg ??= { users: 0 });
    shared.users++;
    shared.cluster ??= startPgCluster();
    url = (await shared.cluster).url;
  }
  project.provide('pgAdminUrl', url);
}

export async function teardown() {
  const shared = g.__ispctlPg;
  if (!shared?.cluster) return;
  if (--shared.users > 0) return;
  const c = await shared.cluster;
  shared.cluster = undefined;
  c.stop();
}
