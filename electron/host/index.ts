// The headless host (HTTP + WebSocket on 127.0.0.1) and the security headers it shares with Electron.
export { startHost } from './host-server';
export type { HostOptions, RunningHost } from './host-server';
export { contentSecurityPolicy, SECURITY_HEADERS } from './csp';
export { readStaticFile, rendererDistFolder } from './static-files';
export { printAddressesOnDemand } from './addresses';
