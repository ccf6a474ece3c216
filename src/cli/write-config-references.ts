// `npm run generate:config`: writes .env.example from the configuration schema and
// schemas/policy.schema.json from the policy file's schema.
import { writeFile } from 'node:fs/promises'
import { ENV_EXAMPLE_PATH, renderEnvExample } from '../config-example.js'
import { POLICY_SCHEMA_PATH, renderPolicyJsonSchema } from '../policy/policy-json-schema.js'

await writeFile(ENV_EXAMPLE_PATH, renderEnvExample())
await writeFile(POLICY_SCHEMA_PATH, renderPolicyJsonSchema())
process.stdout.write(`wrote ${ENV_EXAMPLE_PATH} and ${POLICY_SCHEMA_PATH}\n`)
