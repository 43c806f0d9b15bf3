// Rendering shared by the onboarding commands (review, install-script, onboard).
import { readFileSync } from 'node:fs';
import type { ChalkInstance } from 'chalk';
import { invalid } from '../core/errors.js';
import type { Review } from '../core/onboarding/review.js';

/** The review as people read it. */
export function reviewLines(r: Review, chalk: ChalkInstance): string[] {
  const lines = [
    chalk.bold(`Router ${r.router} (${r.mode} mode): RouterOS ${r.routerOs.version} on ${r.routerOs.board}, identity ${JSON.stringify(r.routerOs.identity)}`),
    r.tunnel ? `Tunnel address: ${chalk.bold(r.tunnel.addressCidr)} in ${r.tunnel.network} (hub ${r.tunnel.hubAddress})` : chalk.yellow('No WireGuard on this RouterOS: onboard with a management address (see below).'),
    `PPPoE server: ${r.pppoe.interface ? `on ${JSON.stringify(r.pppoe.interface)} (service ${JSON.stringify(r.pppoe.serviceName)})` : 'none found'}${r.pppoe.servers > 1 ? `, ${r.pppoe.servers} in all` : ''}`,
    `On the router today: ${r.existing.profiles} PPP profile(s), ${r.existing.secrets} secret(s), ${r.existing.pools.length} pool(s), ${r.existing.radiusServers.length} RADIUS server(s), ${r.existing.wireguardInterfaces.length} WireGuard interface(s)`,
    '',
    chalk.bold('The install script will:'),
    ...r.changes.map((c) => `  • ${c}`),
  ];
  if (r.warnings.length) lines.push('', ...r.warnings.map((w) => chalk.yellow(`  ! ${w}`)));
  return lines;
}

/** Reads a report from a file, or from stdin with `-`. */
export async function readReport(from: string): Promise<string> {
  if (from === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('latin1');
  }
  try {
    return readFileSync(from, 'latin1');
  } catch (err) {
    throw invalid('REPORT_UNREADABLE', `Cannot read the report file ${from}: ${(err as Error).message}.`, ['Give the file the inspect report was saved to, or - to read it from stdin']);
  }
}
