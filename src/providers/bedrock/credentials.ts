// Where a Bedrock provider's AWS credentials and region come from: its config, else the environment.
import type { ProviderConfig } from '../../config/types.js';
import { GatewayError } from '../../shared/errors.js';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * The provider's static keys when it has them (with its own session token only: an environment token
 * belongs to the environment's keys), else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
 * Read per request, so rotated environment credentials are picked up.
 */
export function credentialsOf(provider: ProviderConfig, env: NodeJS.ProcessEnv = process.env): AwsCredentials {
  if (provider.aws_access_key_id && provider.aws_secret_access_key) {
    return withToken(provider.aws_access_key_id, provider.aws_secret_access_key, provider.aws_session_token);
  }
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return withToken(env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN);
  }
  throw new GatewayError(
    500,
    `Provider '${provider.name}' (bedrock) has no AWS credentials: set aws_access_key_id and aws_secret_access_key on it, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the gateway's environment.`,
    { type: 'server_error', code: 'provider_credentials_missing' },
  );
}

function withToken(accessKeyId: string, secretAccessKey: string, sessionToken: string | undefined): AwsCredentials {
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
}

const regionInHost = /^bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com/;

/** The signing region: the provider's, the environment's, or the one its base URL names. */
export function regionOf(provider: ProviderConfig, env: NodeJS.ProcessEnv = process.env): string {
  const region = provider.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || hostRegion(provider.base_url);
  if (region) return region;
  throw new GatewayError(
    500,
    `Provider '${provider.name}' (bedrock) has no AWS region: set region on it, or AWS_REGION in the gateway's environment.`,
    { type: 'server_error', code: 'provider_region_missing' },
  );
}

function hostRegion(baseUrl: string | undefined): string | undefined {
  if (!baseUrl) return undefined;
  try {
    return regionInHost.exec(new URL(baseUrl).hostname)?.[1];
  } catch {
    return undefined;
  }
}
