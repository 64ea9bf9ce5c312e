// Entry of the `twoway-report` command (bin/twoway-report.js loads this).
import { runCli } from './run-cli.js';

process.exitCode = await runCli(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr });
