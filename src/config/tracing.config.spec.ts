import { tracingConfig } from './tracing.config';
import { namespaceUnderEnv } from '../../test/support/config-namespace';

const { configWith, problemsWith } = namespaceUnderEnv(tracingConfig);

describe('tracingConfig', () => {
  it('is off by default (also set but empty), and keeps every trace once on', () => {
    expect(configWith({})).toEqual({ exporterUrl: undefined, ratio: 1 });
    expect(configWith({ USERS_OTEL_EXPORTER_URL: '' })).toEqual({ exporterUrl: undefined, ratio: 1 });
    expect(configWith({ USERS_OTEL_EXPORTER_URL: 'http://jaeger:4318/v1/traces', USERS_TRACE_RATIO: '0.25' })).toEqual({ exporterUrl: 'http://jaeger:4318/v1/traces', ratio: 0.25 });
    expect(configWith({ USERS_TRACE_RATIO: '0' }).ratio).toBe(0);
  });

  it('refuses what cannot work, naming the variable', () => {
    expect(problemsWith({ USERS_OTEL_EXPORTER_URL: 'jaeger:4318' })).toEqual([expect.stringMatching(/^USERS_OTEL_EXPORTER_URL must be an http\(s\) URL/)]);
    expect(problemsWith({ USERS_TRACE_RATIO: '1.5' })).toEqual([expect.stringMatching(/^USERS_TRACE_RATIO must be a number from 0 to 1/)]);
    expect(problemsWith({ USERS_TRACE_RATIO: 'half' })).toEqual([expect.stringMatching(/^USERS_TRACE_RATIO must be a number from 0 to 1/)]);
  });
});
