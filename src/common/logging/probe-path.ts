/** Probes (load balancers, Kubernetes) and Prometheus call these every few seconds: logged at debug only, never traced. */
export const PROBE_PATH = /^\/(health(\/(live|ready))?|metrics)(\?|$)/;
