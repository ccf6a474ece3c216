// How URLs are matched to routes: one set of options for the app and for the Swagger UI it
// serves (plugins/swagger-ui-on-demand.ts), so both take the same URL to the same place.
export const ROUTER_OPTIONS = {
  // The SDK sends `DELETE …/data_assets/`; a domain configured with a trailing slash makes `//api/v1/`.
  ignoreTrailingSlash: true,
  ignoreDuplicateSlashes: true,
  maxParamLength: 200
} as const
