// How `ispctl lab dial|hangup|sessions` reach a lab router running in another process: over the
// RouterOS API, with the address from the flags or the runtime file, and the password from the
// flags or the lab's state file.

import { IspctlError, notFound } from '../core/errors.js';
import { RouterOSClient, RouterOSConnectError, RouterOSLoginError, RouterOSTrapError } from '../core/routeros/index.js';
import { defaultLabStateFile, readRuntimeFile, readSavedApiPassword, runtimeFileFor } from './lab-config.js';
import { errors } from '../core/error-catalogue.js';

export interface LabConnectOptions {
  dataDir: string;
  stateFile?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  timeoutMs?: number;
}

export interface LabConnection {
  client: RouterOSClient;
  host: string;
  port: number;
  user: string;
}

/** Connect to a running lab router; IspctlErrors that say what to do when it fails. */
export async function connectToLab(o: LabConnectOptions): Promise<LabConnection> {
  const stateFile = o.stateFile ?? defaultLabStateFile(o.dataDir);
  let host = o.host ?? '127.0.0.1';
  let port = o.port;
  const user = o.user ?? 'admin';
  if (port === undefined) {
    const runtimeFile = runtimeFileFor(stateFile);
    const running = await readRuntimeFile(runtimeFile);
    if (!running) {
      throw notFound('LAB_NOT_RUNNING', `No running lab router found (no live ${runtimeFile}).`, [
        'Start one with: ispctl lab start',
        'Or point at one with --router-port (and --api-password)',
      ]);
    }
    host = o.host ?? running.host;
    port = running.port;
  }
  const password = o.password ?? (await readSavedApiPassword(stateFile, user)) ?? '';
  try {
    const client = await RouterOSClient.connect({ host, port, user, password, timeoutMs: o.timeoutMs ?? 30_000, connectTimeoutMs: 5000 });
    return { client, host, port, user };
  } catch (e) {
    if (e instanceof RouterOSLoginError) {
      throw new IspctlError('LAB_LOGIN_FAILED', `The lab router at ${host}:${port} refused the login as ${user}.`, {
        kind: 'failure',
        cause: e,
        suggestions: ['Pass the password shown by `ispctl lab start` with --api-password', 'Or pass the same --state-file as `ispctl lab start`'],
      });
    }
    if (e instanceof RouterOSConnectError) {
      throw new IspctlError('LAB_UNREACHABLE', `Cannot reach the lab router at ${host}:${port}: ${e.message}`, {
        kind: 'failure',
        cause: e,
        suggestions: ['Is `ispctl lab start` still running?', 'Check --router-port'],
      });
    }
    throw e;
  }
}

/** Turn a trap from a `/lab/...` command into an IspctlError (a router without the lab NAS, a refusal, ...). */
export function labTrapError(e: unknown, what: string): unknown {
  if (!(e instanceof RouterOSTrapError)) return e;
  if (/no such command/.test(e.message)) {
    return new IspctlError('LAB_NOT_A_LAB_ROUTER', `The router does not know ${e.command}: it is not an ispctl lab router with its NAS.`, {
      kind: 'failure',
      cause: e,
      suggestions: ['Dial against the router started by `ispctl lab start`'],
    });
  }
  if (e.attributes['reason'] !== undefined) {
    return errors.labDialRejected(e.message, { reason: e.attributes['reason'] }, e);
  }
  if (e.message === 'no such item') return notFound('LAB_NO_SUCH_SESSION', `${what}: no such session.`, ['List sessions with: ispctl lab sessions']);
  return new IspctlError('LAB_COMMAND_FAILED', `${what}: ${e.message}`, { kind: e.category === 1 ? 'invalid' : 'failure', cause: e });
}
