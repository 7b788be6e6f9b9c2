import type { FastifySchemaValidationError } from 'fastify/types/schema';

/**
 * fastify's schema errors, made specific: the field path with dots and, for enums, the
 * allowed values ("querystring.granularity must be one of minute, hour, day").
 */
export function formatValidationErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const messages = errors.map((e) => {
    const path = `${dataVar}${e.instancePath.replace(/\//g, '.')}`;
    const params = e.params as { allowedValues?: unknown[]; missingProperty?: string };
    if (e.keyword === 'enum' && Array.isArray(params.allowedValues))
      return `${path} must be one of ${params.allowedValues.join(', ')}`;
    if (e.keyword === 'required' && params.missingProperty) return `${path}.${params.missingProperty} is required`;
    return `${path} ${e.message ?? 'is invalid'}`;
  });
  return new Error(messages.join('; '));
}
