// Computations: the run request, the Computation object and the result, URL and data-asset
// shapes, field for field as Code Ocean's API and its official SDK define them.
// Requests are strict (additionalProperties: false); responses allow fields added later.
import { Type, type Static } from '@sinclair/typebox'
import { NAME_PATTERN, OptionalNullable, Uuid, ref } from './common.js'

const NO_CONTROL_CHARACTERS = '^[^\\u0000-\\u001f\\u007f]*$'

/**
 * Bounds on the lists a request carries: far above what a real run sends (a pipeline of many
 * processes, hundreds of parameters), and low enough that no body makes validating or auditing
 * it costly. docs/api.md lists them.
 */
export const LIST_LIMITS = {
  /** Ordered or named parameters, of a run or of one pipeline process. */
  parameters: 1000,
  /** Processes of a pipeline run. */
  processes: 500,
  /** Data assets mounted by a run, attached or detached. */
  dataAssets: 1000
} as const

/** The longest parameter value accepted, in characters. */
export const MAX_PARAMETER_VALUE_LENGTH = 65_536

/** A path inside a computation's results: relative (no leading `/`), no backslash, no `..` segment. */
export const ResultPath = (description: string, minLength: number): ReturnType<typeof Type.String> => Type.String({
  minLength,
  maxLength: 4096,
  pattern: '^(?!/)(?!.*(?:^|/)\\.\\.(?:/|$))[^\\u0000-\\u001f\\u007f\\\\]*$',
  description
})

const ParameterValue = (description: string): ReturnType<typeof Type.String> =>
  Type.String({ maxLength: MAX_PARAMETER_VALUE_LENGTH, description })

// ── Requests ────────────────────────────────────────────────────────────────────────────

export const DataAssetsRunParam = Type.Object({
  id: Uuid('The data asset to mount.'),
  mount: OptionalNullable(Type.String({ maxLength: 1024, pattern: NO_CONTROL_CHARACTERS, description: 'Mount folder under /data; defaults to the data asset\'s own.' }))
}, { $id: 'DataAssetsRunParam', additionalProperties: false })
export type DataAssetsRunParam = Static<typeof DataAssetsRunParam>

export const NamedRunParam = Type.Object({
  param_name: Type.String({ minLength: 1, maxLength: 1024, description: 'The parameter\'s internal name.' }),
  value: ParameterValue('The value; always a string.')
}, { $id: 'NamedRunParam', additionalProperties: false })
export type NamedRunParam = Static<typeof NamedRunParam>

export const PipelineProcessParams = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 1024, description: 'The process name, as in main.nf.' }),
  parameters: OptionalNullable(Type.Array(ParameterValue('A parameter value.'), { maxItems: LIST_LIMITS.parameters, description: 'Ordered parameter values.' })),
  named_parameters: OptionalNullable(Type.Array(ref(NamedRunParam), { maxItems: LIST_LIMITS.parameters, description: 'Parameters by name.' }))
}, { $id: 'PipelineProcessParams', additionalProperties: false })
export type PipelineProcessParams = Static<typeof PipelineProcessParams>

export const RunParams = Type.Object({
  capsule_id: OptionalNullable(Uuid('The capsule to run. Exactly one of capsule_id and pipeline_id.')),
  pipeline_id: OptionalNullable(Uuid('The pipeline to run. Exactly one of capsule_id and pipeline_id.')),
  version: OptionalNullable(Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'The release version to run.' })),
  resume_run_id: OptionalNullable(Uuid('A previous pipeline computation to resume from.')),
  nextflow_profile: OptionalNullable(Type.String({ maxLength: 1024, pattern: NO_CONTROL_CHARACTERS, description: 'The Nextflow profile (pipelines).' })),
  data_assets: OptionalNullable(Type.Array(ref(DataAssetsRunParam), { maxItems: LIST_LIMITS.dataAssets, description: 'Data assets to mount.' })),
  parameters: OptionalNullable(Type.Array(ParameterValue('A parameter value.'), { maxItems: LIST_LIMITS.parameters, description: 'Ordered parameter values; empty strings are placeholders.' })),
  named_parameters: OptionalNullable(Type.Array(ref(NamedRunParam), { maxItems: LIST_LIMITS.parameters, description: 'Parameters by name.' })),
  processes: OptionalNullable(Type.Array(ref(PipelineProcessParams), { maxItems: LIST_LIMITS.processes, description: 'Per-process parameters (pipelines).' }))
}, {
  $id: 'RunParams',
  additionalProperties: false,
  description: 'What to run. Every optional field may be null. Unknown fields whose value is null are ignored; any other unknown field is rejected.',
  examples: [
    {
      capsule_id: '8a3a4e2c-6c8f-4a8e-9c4b-6f4d3b2a1c0e',
      data_assets: [{ id: '44ec16c3-cb5a-45f5-93d1-cba8be800c24', mount: 'Reference' }],
      parameters: ['75', '1', 'HS25', 'SingleEnded', '', '']
    },
    {
      capsule_id: '8a3a4e2c-6c8f-4a8e-9c4b-6f4d3b2a1c0e',
      named_parameters: [{ param_name: 'threshold', value: '0.5' }, { param_name: 'mode', value: 'fast' }]
    },
    {
      pipeline_id: '0e1d2c3b-4a59-4687-9a8b-7c6d5e4f3a2b',
      data_assets: [{ id: '44ec16c3-cb5a-45f5-93d1-cba8be800c24', mount: 'Reference' }],
      processes: [{ name: 'capsule_align_reads_1', named_parameters: [{ param_name: 'min_quality', value: '30' }] }]
    }
  ]
})
export type RunParams = Static<typeof RunParams>

export const ListFolderParams = Type.Object({
  path: ResultPath('A folder inside the results; "" is the results root.', 0)
}, { $id: 'ListFolderParams', additionalProperties: false, examples: [{ path: '' }, { path: 'figures' }] })
export type ListFolderParams = Static<typeof ListFolderParams>

export const DataAssetAttachParams = Type.Object({
  id: Uuid('The data asset to attach.'),
  mount: OptionalNullable(Type.String({ maxLength: 1024, pattern: NO_CONTROL_CHARACTERS, description: 'Mount folder under /data.' }))
}, { $id: 'DataAssetAttachParams', additionalProperties: false })
export type DataAssetAttachParams = Static<typeof DataAssetAttachParams>

export const DataAssetAttachList = Type.Array(ref(DataAssetAttachParams), {
  $id: 'DataAssetAttachList', minItems: 1, maxItems: LIST_LIMITS.dataAssets, description: 'Data assets to attach to a cloud workstation.'
})

export const DataAssetDetachList = Type.Array(Uuid('A data asset to detach.'), {
  $id: 'DataAssetDetachList', minItems: 1, maxItems: LIST_LIMITS.dataAssets, description: 'Ids of the data assets to detach from a cloud workstation.'
})

// ── Responses (additional properties allowed: they pass through unchanged) ─────────────────

export const InputDataAsset = Type.Object({
  id: Type.String(),
  mount: Type.Optional(Type.String())
}, { $id: 'InputDataAsset', additionalProperties: true })

export const Param = Type.Object({
  name: Type.Optional(Type.String({ description: 'The label.' })),
  param_name: Type.Optional(Type.String({ description: 'The internal name.' })),
  value: Type.Optional(Type.String())
}, { $id: 'Param', additionalProperties: true })

export const PipelineProcess = Type.Object({
  name: Type.String({ description: 'The process name, as in main.nf.' }),
  capsule_id: Type.String(),
  version: Type.Optional(Type.Integer({ description: 'The release version of the capsule.' })),
  public: Type.Optional(Type.Boolean({ description: 'A Code Ocean public app.' })),
  parameters: Type.Optional(Type.Array(ref(Param)))
}, { $id: 'PipelineProcess', additionalProperties: true })

export const ComputationState = Type.Union(
  ['initializing', 'running', 'finalizing', 'completed', 'failed'].map((state) => Type.Literal(state)),
  { $id: 'ComputationState' }
)
export const ComputationEndStatus = Type.Union(
  ['succeeded', 'failed', 'stopped'].map((status) => Type.Literal(status)),
  { $id: 'ComputationEndStatus' }
)

export const Computation = Type.Object({
  id: Type.String({ description: 'The computation id (a UUID).' }),
  created: Type.Number({ description: 'Creation time, Unix seconds.' }),
  name: Type.String(),
  owner: Type.Optional(Type.String({ description: 'The owning user\'s id (platform 4.3 and later); `release` for release capsules.' })),
  owner_email: Type.Optional(Type.String()),
  run_time: Type.Integer({ description: 'Seconds run so far.' }),
  state: ref(ComputationState),
  cloud_workstation: Type.Optional(Type.Boolean()),
  data_assets: Type.Optional(Type.Array(ref(InputDataAsset))),
  parameters: Type.Optional(Type.Array(ref(Param))),
  nextflow_profile: Type.Optional(Type.String()),
  processes: Type.Optional(Type.Array(ref(PipelineProcess))),
  end_status: Type.Optional(ref(ComputationEndStatus)),
  exit_code: Type.Optional(Type.Integer({ description: 'Present once completed; 0 is success.' })),
  has_results: Type.Optional(Type.Boolean())
}, { $id: 'Computation', additionalProperties: true })
export type Computation = Static<typeof Computation>

export const ComputationList = Type.Array(ref(Computation), { $id: 'ComputationList' })

export const FolderItem = Type.Object({
  name: Type.String(),
  path: Type.String({ description: 'Relative to the results root.' }),
  type: Type.Union([Type.Literal('file'), Type.Literal('folder')]),
  size: Type.Optional(Type.Integer({ description: 'Bytes (files).' }))
}, { $id: 'FolderItem', additionalProperties: true })

export const Folder = Type.Object({
  items: Type.Array(ref(FolderItem))
}, { $id: 'Folder', additionalProperties: true })

export const FileURLs = Type.Object({
  download_url: Type.String({ description: 'A signed URL to download the file directly (no Code Ocean credential needed).' }),
  view_url: Type.String({ description: 'A signed URL to view the file in a browser.' })
}, { $id: 'FileURLs', additionalProperties: true })

export const DownloadFileURL = Type.Object({
  url: Type.String({ description: 'A signed URL to download the file directly.' })
}, { $id: 'DownloadFileURL', additionalProperties: true })

export const DataAssetAttachResults = Type.Object({
  id: Type.String(),
  mount_state: Type.Optional(Type.String()),
  job_id: Type.Optional(Type.String()),
  external: Type.Optional(Type.Boolean()),
  ready: Type.Optional(Type.Boolean()),
  mount: Type.Optional(Type.String())
}, { $id: 'DataAssetAttachResults', additionalProperties: true })

export const DataAssetAttachResultsList = Type.Array(ref(DataAssetAttachResults), { $id: 'DataAssetAttachResultsList' })

// ── Path and query parameters (inline: they become OpenAPI parameters, not components) ──────

export const ComputationIdParams = Type.Object({
  computation_id: Uuid('The computation id.')
}, { additionalProperties: false })

export const RenameQuery = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 1024, pattern: NAME_PATTERN, description: 'The new name: no control characters, no bidirectional overrides or isolates.' })
}, { additionalProperties: false })

export const ResultFileQuery = Type.Object({
  path: ResultPath('The file, relative to the results root.', 1)
}, { additionalProperties: false })

/** Headers a run may carry besides the usual ones (others are allowed and ignored). */
export const RunHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({
    minLength: 1,
    maxLength: 257,
    description: 'A unique value per intended run (e.g. a UUID), reused only to retry that run: the retry gets the first answer again. ' +
      'Keys belong to their caller and expire after IDEMPOTENCY_TTL_HOURS.'
  }))
}, { additionalProperties: true })
