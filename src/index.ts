/**
 * The Worker entry: the default export serves HTTP (`fetch`) and RPC to Workers bound to this one
 * as a service (src/rpc/entrypoint.ts); the Durable Object classes wrangler binds by name.
 */

export { CatalogObject } from "./objects/catalog-object";
export { LeaseDirectory } from "./objects/lease-directory";
export { LimitObject } from "./objects/limit-object";
export { GclEntrypoint as default } from "./rpc/entrypoint";
