// /api/v1/computations: run, get, rename, delete, results, result URLs and cloud-workstation
// data assets. Each route only declares its schema, its action in the policy's terms, and
// whether it changes something at Code Ocean (which makes its audit record durable before
// forwarding); authorization and forwarding are shared.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { NoContent, NoQuery, errorResponses, ref } from '../schemas/common.js'
import {
  Computation, ComputationIdParams, DataAssetAttachList, DataAssetAttachResultsList, DataAssetDetachList,
  DownloadFileURL, FileURLs, Folder, ListFolderParams, RenameQuery, ResultFileQuery, RunHeaders, RunParams
} from '../schemas/computations.js'

const tags = ['Computations']
const runErrors = errorResponses({ body: true, pathId: false, idempotent: true })
const withBody = errorResponses({ body: true, pathId: true })
const withoutBody = errorResponses({ body: false, pathId: true })

const computationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const forward = app.forwardToCodeOcean

  app.post('/computations', {
    config: { mutates: true, action: 'run' },
    schema: {
      operationId: 'runCapsule',
      summary: 'Run a capsule or a pipeline',
      description: 'Starts a computation. Set capsule_id to run a capsule or pipeline_id to run a pipeline. ' +
        'With an Idempotency-Key, a retry with the same key and body gets the first answer again (header Idempotent-Replayed: true) ' +
        'and never starts a second computation.',
      tags,
      headers: RunHeaders,
      querystring: NoQuery,
      body: ref(RunParams),
      response: { 200: ref(Computation), ...runErrors }
    }
  }, forward)

  app.get('/computations/:computation_id', {
    config: { action: 'read', retry: true, coalesce: true },
    schema: {
      operationId: 'getComputation',
      summary: 'Get a computation',
      tags,
      params: ComputationIdParams,
      querystring: NoQuery,
      response: { 200: ref(Computation), ...withoutBody }
    }
  }, forward)

  app.patch('/computations/:computation_id', {
    config: { mutates: true, action: 'rename' },
    schema: {
      operationId: 'renameComputation',
      summary: 'Rename a computation',
      description: 'The new name travels as the `name` query parameter; there is no body.',
      tags,
      params: ComputationIdParams,
      querystring: RenameQuery,
      response: { 204: NoContent, ...withoutBody }
    }
  }, forward)

  app.delete('/computations/:computation_id', {
    config: { mutates: true, action: 'delete' },
    schema: {
      operationId: 'deleteComputation',
      summary: 'Delete a computation, stopping it if it runs',
      description: 'This is also how a running computation is stopped.',
      tags,
      params: ComputationIdParams,
      querystring: NoQuery,
      response: { 204: NoContent, ...withoutBody }
    }
  }, forward)

  app.post('/computations/:computation_id/results', {
    config: { action: 'read', retry: true },
    schema: {
      operationId: 'listComputationResults',
      summary: 'List one folder of a computation\'s results',
      tags,
      params: ComputationIdParams,
      querystring: NoQuery,
      body: ref(ListFolderParams),
      response: { 200: ref(Folder), ...withBody }
    }
  }, forward)

  app.get('/computations/:computation_id/results/urls', {
    config: { action: 'read', retry: true },
    schema: {
      operationId: 'getResultFileUrls',
      summary: 'Get signed URLs to download or view a result file',
      tags,
      params: ComputationIdParams,
      querystring: ResultFileQuery,
      response: { 200: ref(FileURLs), ...withoutBody }
    }
  }, forward)

  app.get('/computations/:computation_id/results/download_url', {
    config: { action: 'read', retry: true },
    schema: {
      operationId: 'getResultFileDownloadUrl',
      summary: 'Get a signed URL to download a result file (deprecated)',
      description: 'Deprecated by Code Ocean since platform 4.0: use getResultFileUrls.',
      deprecated: true,
      tags,
      params: ComputationIdParams,
      querystring: ResultFileQuery,
      response: { 200: ref(DownloadFileURL), ...withoutBody }
    }
  }, forward)

  app.post('/computations/:computation_id/data_assets', {
    config: { mutates: true, action: 'attach' },
    schema: {
      operationId: 'attachComputationDataAssets',
      summary: 'Attach data assets to a cloud workstation',
      tags,
      params: ComputationIdParams,
      querystring: NoQuery,
      body: ref(DataAssetAttachList),
      response: { 200: ref(DataAssetAttachResultsList), ...withBody }
    }
  }, forward)

  // The trailing slash is how the SDK sends it; it is forwarded the same way.
  app.delete('/computations/:computation_id/data_assets/', {
    config: { mutates: true, action: 'attach' },
    schema: {
      operationId: 'detachComputationDataAssets',
      summary: 'Detach data assets from a cloud workstation',
      tags,
      params: ComputationIdParams,
      querystring: NoQuery,
      body: ref(DataAssetDetachList),
      response: { 204: NoContent, ...withBody }
    }
  }, forward)
}

export default computationRoutes
