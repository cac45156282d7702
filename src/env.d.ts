// Secrets and optional vars the generated `worker-configuration.d.ts` cannot know about:
// tokens are set with `wrangler secret put`, anonymous access only by `npm run dev` and tests.
interface Env {
  /** Bearer token allowed to do everything. */
  GCL_ADMIN_TOKEN?: string;
  /** Bearer token allowed to read limits and take, renew and release slots. */
  GCL_CLIENT_TOKEN?: string;
  /** `"true"` lets requests without a token through when neither token is set. */
  GCL_ALLOW_ANONYMOUS?: string;
  /**
   * Test hook of the chaos suite, never set in a deployment: the chance (0–1) that a call from the
   * coordinator to a limit object throws, before or after it takes effect.
   */
  GCL_FAULT_RATE?: string;
}
