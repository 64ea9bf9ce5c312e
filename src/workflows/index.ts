// Every workflow the worker registers (this module is what the bundle is built from).
export { reportPeriodWorkflow } from './report-period-workflow.js';
export { scheduledReportWorkflow } from './scheduled-report-workflow.js';
export { backfillReportsWorkflow, backfillProgressQuery } from './backfill-reports-workflow.js';
export { watchPeriodsWorkflow } from './watch-periods-workflow.js';
export { checkDriftWorkflow } from './check-drift-workflow.js';
