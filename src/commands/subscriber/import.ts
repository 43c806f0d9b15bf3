import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { IspctlError } from '../../core/errors.js';
import { IMPORT_COLUMNS, importSubscribers, type ImportRowError } from '../../core/subscribers/import.js';

export default class SubscriberImport extends BaseCommand<typeof SubscriberImport> {
  static override summary = 'Import subscribers from a CSV file; every row is checked first and nothing is written if any row is bad.';
  static override description =
    'The first line names the columns (any order, case-insensitive): ' +
    IMPORT_COLUMNS.map((c) => `${c.column}${c.required ? ' (required)' : ''}: ${c.description}`).join('; ') +
    '. Fields holding commas, quotes or line breaks go in double quotes. Every problem is reported with its row (the header is row 1), ' +
    'column and reason. Plans and routers must exist: ispctl never invents a price. Generated passwords are printed once.';
  static override examples = ['<%= config.bin %> subscriber import --file subscribers.csv --dry-run', '<%= config.bin %> subscriber import --file subscribers.csv --json'];
  static override flags = {
    file: Flags.string({ char: 'f', required: true, summary: 'CSV file to read ("-" for standard input).' }),
    'dry-run': Flags.boolean({ summary: 'Check every row and report, without writing anything.' }),
  };

  public async run() {
    const text = await this.readInputFile(this.flags.file, 'use --file - to read standard input');
    const ctx = await this.ctx();
    try {
      const report = await this.withProgress((onProgress) => importSubscribers(ctx, text, { dryRun: this.flags['dry-run'], onProgress }));
      if (report.dryRun) {
        this.say(`All ${report.rows} row${report.rows === 1 ? '' : 's'} are valid; nothing was written (dry run).`);
        this.table(report.planned, [
          { header: 'ROW', get: (r) => r.row, align: 'right' },
          { header: 'NAME', get: (r) => r.fullName },
          { header: 'USERNAME', get: (r) => r.username },
          { header: 'PLAN', get: (r) => r.plan },
          { header: 'ROUTER', get: (r) => r.router },
        ]);
      } else {
        this.say(`Imported ${report.created.length} subscriber${report.created.length === 1 ? '' : 's'}.`);
        this.table(report.created, [
          { header: 'ROW', get: (r) => r.row, align: 'right' },
          { header: 'ACCOUNT', get: (r) => r.accountNo },
          { header: 'USERNAME', get: (r) => r.username },
          { header: 'GENERATED PASSWORD (shown once)', get: (r) => r.generatedPassword ?? '' },
        ]);
      }
      const routerJobs = await this.applyNow(report.jobIds);
      return routerJobs.status === 'none' ? report : { ...report, routerJobs };
    } catch (err) {
      if (err instanceof IspctlError && err.code === 'IMPORT_INVALID' && !this.jsonEnabled()) {
        const errors = (err.details?.errors ?? []) as ImportRowError[];
        for (const e of errors) process.stderr.write(`row ${e.row} (line ${e.line}), ${e.column}: ${e.message}\n`);
      }
      throw err;
    }
  }
}
