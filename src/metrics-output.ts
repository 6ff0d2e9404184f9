/**
 * What metric output can be: its format, the CloudWatch EMF settings, a CloudWatch agent to send to.
 * Telemetry consumes these (src/telemetry.ts); `service run`'s options produce them (src/config/).
 */
import type { EmfValidation } from './record/index.js';

export const METRICS_FORMATS = ['json', 'emf'] as const;
export type MetricsFormat = (typeof METRICS_FORMATS)[number];

export interface EmfConfig {
  readonly namespace: string;
  readonly dimensions: readonly (readonly string[])[];
  readonly logGroupName: string | undefined;
  readonly validation: EmfValidation;
}

export interface MetricsEndpoint {
  readonly protocol: 'tcp' | 'udp';
  readonly host: string;
  readonly port: number;
}

/** The CloudWatch agent's default port for EMF over TCP and UDP. */
export const CLOUDWATCH_AGENT_PORT = 25888;
