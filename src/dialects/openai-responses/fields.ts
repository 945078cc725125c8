// Small checks of a Responses request's JSON, each failing with a 400 that names the parameter by its path.
import { errors, type GatewayError } from '../../shared/errors.js';
import type { JsonObject } from '../../translate/canonical.js';

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

export function invalid(path: string, expected: string, value: unknown): GatewayError {
  return errors.invalidParam(path, `Invalid '${path}': expected ${expected}, got ${describe(value)}.`);
}

export function requireObject(value: unknown, path: string): JsonObject {
  if (value === undefined) throw errors.missingParam(path);
  if (!isObject(value)) throw invalid(path, 'an object', value);
  return value;
}

export function requireString(obj: JsonObject, key: string, path: string): string {
  const value = obj[key];
  if (value === undefined || value === null) throw errors.missingParam(path);
  if (typeof value !== 'string') throw invalid(path, 'a string', value);
  return value;
}

export function optionalString(obj: JsonObject, key: string, path: string): string | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(path, 'a string', value);
  return value;
}

export function optionalNumber(obj: JsonObject, key: string, path: string): number | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(path, 'a number', value);
  return value;
}

export function optionalInteger(obj: JsonObject, key: string, path: string, minimum: number): number | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(path, 'an integer', value);
  if (value < minimum) throw errors.invalidParam(path, `Invalid '${path}': must be at least ${minimum}, got ${value}.`);
  return value;
}

export function optionalBoolean(obj: JsonObject, key: string, path: string): boolean | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalid(path, 'a boolean', value);
  return value;
}

export function optionalArray(obj: JsonObject, key: string, path: string): unknown[] | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalid(path, 'an array', value);
  return value;
}

export function optionalObject(obj: JsonObject, key: string, path: string): JsonObject | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalid(path, 'an object', value);
  return value;
}
