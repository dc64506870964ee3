// What every HTTP server of the product (the headless host, the federation coordinator) does with
// a request target before anything else: only origin-form ("/path?query") is served. The URL
// parser is never reached with anything else, so a target like "http://[" is a 400, never a
// thrown TypeError that ends the process or becomes a 500.

/**
 * The path and query of a request target in origin-form ("/path?query"), or null for anything
 * else: absolute-form ("http://host/..."), authority-form, "*", or a target the URL parser refuses.
 * Never throws.
 */
export function parseOriginForm(target: string | undefined): URL | null {
  if (!target || target[0] !== '/' || target.length > 8192) return null;
  try {
    // Appended, not resolved against a base: "//evil/x" stays a path on this host.
    const url = new URL(`http://127.0.0.1${target}`);
    return url.host === '127.0.0.1' ? url : null;
  } catch {
    return null;
  }
}
