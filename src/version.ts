// The service version, shown in the OpenAPI document and the upstream User-Agent (a test keeps it equal to package.json).
export const VERSION = '0.1.0'
