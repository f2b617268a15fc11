// Imported first by tests that call handlers: the functions' JSON logs and metrics are for
// CloudWatch and would fill the test report. The logger reads this when its module loads.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

export {};
