/**
 * The Worker entry: the HTTP app plus the Durable Object classes wrangler binds by name.
 */

import { createApp } from "./app";

export { CatalogObject } from "./objects/catalog-object";
export { LeaseDirectory } from "./objects/lease-directory";
export { LimitObject } from "./objects/limit-object";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
