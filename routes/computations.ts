// /api/v1/computations: run, get, rename, delete, results, result URLs and cloud-workstation
// data assets. Each route only declares its schema (and whether it changes something at Code
// Ocean, which makes its audit record durable before forwarding); forwarding is shared.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { NoContent, NoQuery, errorResponses, ref } from '../schemas/common.js'
import {
  Computation, ComputationIdParams, DataAssetAttachList, DataAssetAttachResultsList, DataAssetDetachList,
  DownloadFileURL, FileURLs, Folder, ListFolderParams, RenameQuery, ResultFileQuery, RunParams
} from '../schemas/computations.js'
import { InvalidRequest } from '../src/errors.js'

const tags = ['Computations']
const runErrors = errorResponses({ body: true, pathId: false })
const withBody = errorResponses({ body: true, pathId: true })
const withoutBody = errorResponses({ body: false, pathId: true })

/** Exactly one run target; a JSON Schema `oneOf` over nullable fields gives callers unreadable errors. */
function assertOneRunTarget (body: RunParams): void {
  const capsule = body.capsule_id != null
  const pipeline = body.pipeline_id != null
  if (capsule === pipeline) {
    throw new InvalidRequest(capsule
      ? 'body sets both capsule_id and pipeline_id: set exactly one'
      : 'body must set capsule_id (to run a capsule) or pipeline_id (to run a pipeline)')
  }
}

const computationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const forward = app.forwardToCodeOcean

  app.post('/computations', {
    config: { mutates: true },
    schema: {
      operationId: 'runCapsule',
      summary: 'Run a capsule or a pipeline',
      description: 'Starts a computation. Set capsule_id to run a capsule or pipeline_id to run a pipeline.',
      tags,
      querystring: NoQuery,
      body: ref(RunParams),
      response: { 200: ref(Computation), ...runErrors }
    }
  }, async (request, reply) => {
    assertOneRunTarget(request.body)
    return await forward(request, reply)
  })

  app.get('/computations/:computation_id', {
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
    config: { mutates: true },
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
    config: { mutates: true },
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
    config: { mutates: true },
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
    config: { mutates: true },
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
