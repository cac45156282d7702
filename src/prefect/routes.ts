/**
 * Routes outside the limits API that Prefect's client calls on its own. Before its first POST,
 * PATCH or DELETE, each Prefect client asks `GET /api/csrf-token?client=<uuid>`; Prefect's server
 * answers 422 "CSRF protection is disabled." when it has none, and the client then turns CSRF off
 * without retrying (`client/base.py`). edge-gcl has no CSRF tokens (it takes no cookies), so it
 * answers the same, without auth, as Prefect's server does.
 */

import { GclError } from "../protocol/errors";
import type { App } from "../routes/define";

/** Prefect's text, matched by its client (`"CSRF protection is disabled." in response.text`). */
export const CSRF_DISABLED = "CSRF protection is disabled.";

export function prefectRoutes(app: App): void {
  app.get("/api/csrf-token", () => {
    throw new GclError("invalid_request", CSRF_DISABLED);
  });
}
