/** Validates robustness reports against the shipped JSON schema with ajv (strict mode). */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { reportSchemaPath } from '../../lib/robustness/report.js';

const ajv = new Ajv({ allErrors: true, strict: true });
const validate = ajv.compile(JSON.parse(readFileSync(reportSchemaPath, 'utf8')) as object);

/** The schema errors of a report as text, or '' when it is valid. Goes through JSON as report.json does. */
export function reportErrors(report: unknown): string {
  return validate(JSON.parse(JSON.stringify(report))) ? '' : ajv.errorsText(validate.errors, { separator: '\n' });
}
