// Preloaded (node -r) into the ispctl binary by fault tests and bench/router-stall.mjs: prints
// the process's own age when it exits, so how long it lived is measured by the process itself.
process.on('exit', () => {
  process.stderr.write(`\nexit-at-ms=${Math.round(performance.now())}\n`);
});
