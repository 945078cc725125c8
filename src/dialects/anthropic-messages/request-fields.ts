// Small checks of an Anthropic request's JSON, each failing with a 400 that names the parameter by its path.
import { errors } from '../../shared/errors.js';
import type { JsonObject } from '../../translate/canonical.js';

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

export function requireObject(value: unknown, path: string): JsonObject {
  if (value === undefined) throw errors.missingParam(path);
  if (!isObject(value)) throw errors.invalidParam(path, `${path}: expected an object, got ${describe(value)}.`);
  return value;
}

export function requireString(obj: JsonObject, key: string, path: string): string {
  const value = obj[key];
  if (value === undefined) throw errors.missingParam(path);
  if (typeof value !== 'string') throw errors.invalidParam(path, `${path}: expected a string, got ${describe(value)}.`);
  return value;
}

export function optionalString(obj: JsonObject, key: string, path: string): string | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw errors.invalidParam(path, `${path}: expected a string, got ${describe(value)}.`);
  return value;
}

export function optionalNumber(obj: JsonObject, key: string, path: string): number | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw errors.invalidParam(path, `${path}: expected a number, got ${describe(value)}.`);
  return value;
}

export function optionalInteger(obj: JsonObject, key: string, path: string, minimum: number): number | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw errors.invalidParam(path, `${path}: expected an integer, got ${describe(value)}.`);
  if (value < minimum) throw errors.invalidParam(path, `${path}: must be at least ${minimum}, got ${value}.`);
  return value;
}

export function optionalBoolean(obj: JsonObject, key: string, path: string): boolean | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw errors.invalidParam(path, `${path}: expected a boolean, got ${describe(value)}.`);
  return value;
}

export function requireArray(obj: JsonObject, key: string, path: string): unknown[] {
  const value = obj[key];
  if (value === undefined) throw errors.missingParam(path);
  if (!Array.isArray(value)) throw errors.invalidParam(path, `${path}: expected an array, got ${describe(value)}.`);
  return value;
}

export function unsupported(path: string, what: string): never {
  throw errors.invalidParam(path, `${path}: ${what} is not supported by this gateway's Anthropic Messages endpoint.`);
}
