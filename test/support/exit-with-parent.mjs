/**
 * Preloaded (`--import`) into every changegate process the simulator's driver starts: when the test
 * process that started it dies without stopping it (a killed jest worker, Ctrl-C on a bench), the
 * child is re-parented and this stops it (SIGTERM: changegate's own graceful shutdown), so no
 * changegate is left running, holding a port and a database, after its test is gone.
 * Test support only: the app's code knows nothing of it.
 */
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, "SIGTERM");
}, 500).unref();
