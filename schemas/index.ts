// Every schema with an $id, registered once with Fastify (and so named in the OpenAPI document).
import type { TSchema } from '@sinclair/typebox'
import { AuditEvent, AuditEventPage } from './audit.js'
import { ErrorBody } from './common.js'
import { Liveness, Readiness } from './health.js'
import {
  Computation, ComputationEndStatus, ComputationList, ComputationState, DataAssetAttachList,
  DataAssetAttachParams, DataAssetAttachResults, DataAssetAttachResultsList, DataAssetDetachList,
  DataAssetsRunParam, DownloadFileURL, FileURLs, Folder, FolderItem, InputDataAsset, ListFolderParams,
  NamedRunParam, Param, PipelineProcess, PipelineProcessParams, RunParams
} from './computations.js'

export const namedSchemas: ReadonlyArray<TSchema & { $id: string }> = [
  ErrorBody,
  DataAssetsRunParam, NamedRunParam, PipelineProcessParams, RunParams, ListFolderParams,
  DataAssetAttachParams, DataAssetAttachList, DataAssetDetachList,
  InputDataAsset, Param, PipelineProcess, ComputationState, ComputationEndStatus, Computation,
  ComputationList, FolderItem, Folder, FileURLs, DownloadFileURL, DataAssetAttachResults,
  DataAssetAttachResultsList, AuditEvent, AuditEventPage, Liveness, Readiness
] as Array<TSchema & { $id: string }>
