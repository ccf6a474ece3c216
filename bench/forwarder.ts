// The bare forwarder to compare the proxy with: Fastify and @fastify/reply-from sending /api/v1 on
// to the simulator (BENCH_UPSTREAM) with the credential set as the proxy sets it, and nothing else.
import replyFrom from '@fastify/reply-from'
import Fastify from 'fastify'

const authorization = `Basic ${Buffer.from(`${String(process.env.BENCH_TOKEN)}:`).toString('base64')}`
const app = Fastify({ logger: false })
await app.register(replyFrom, { base: String(process.env.BENCH_UPSTREAM) })
app.all('/api/v1/*', async (request, reply) => await reply.from(request.url, {
  rewriteRequestHeaders: (_request, headers) => ({ ...headers, authorization })
}))
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
process.stdout.write(`${await app.listen({ host: '127.0.0.1', port: 0 })}\n`)
