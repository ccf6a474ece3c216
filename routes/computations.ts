// /api/v1/computations: run, get, rename, delete, results, result URLs and cloud-workstation
// data assets. Each route only declares its schema and its contract (its action in the policy's
// terms, whether it changes something at Code Ocean, may be retried or shared, and which of its
// values are confidential); authorization, audit and forwarding are shared and read the contract.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { routeContract } from '../src/contract/route-contract.js'
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
    config: { contract: routeContract({ operation: 'runCapsule', action: 'run', resource: 'body: capsule_id | pipeline_id', mutates: true, sensitive: ['body.parameters'], mounts: 'body.data_assets' }) },
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
    config: { contract: routeContract({ operation: 'getComputation', action: 'read', resource: 'path: computation_id', retries: true, coalesces: true }) },
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
    config: { contract: routeContract({ operation: 'renameComputation', action: 'rename', resource: 'path: computation_id', mutates: true, sensitive: ['query.name'] }) },
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
    config: { contract: routeContract({ operation: 'deleteComputation', action: 'delete', resource: 'path: computation_id', mutates: true }) },
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
    config: { contract: routeContract({ operation: 'listComputationResults', action: 'read', resource: 'path: computation_id', retries: true, sensitive: ['body.path'] }) },
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
    config: { contract: routeContract({ operation: 'getResultFileUrls', action: 'read', resource: 'path: computation_id', retries: true, sensitive: ['query.path'] }) },
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
    config: { contract: routeContract({ operation: 'getResultFileDownloadUrl', action: 'read', resource: 'path: computation_id', retries: true, sensitive: ['query.path'] }) },
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
    config: { contract: routeContract({ operation: 'attachComputationDataAssets', action: 'attach', resource: 'path: computation_id', mutates: true, mounts: 'body' }) },
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
    config: { contract: routeContract({ operation: 'detachComputationDataAssets', action: 'attach', resource: 'path: computation_id', mutates: true }) },
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
